#!/usr/bin/env bash
# Installs the Debian packages named as arguments (the callers list only what is missing), or
# says what is missing when not root. Shared by test/setup-host.sh and bench/setup-host.sh.
set -euo pipefail
[ "$#" -gt 0 ] || exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "setup-host: missing $* and not root; install them with apt-get" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "$@"
