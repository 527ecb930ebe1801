#!/usr/bin/env bash
# Installs the peers the benchmarks compare against, only when missing (idempotent, fast when
# done). Not part of the test set-up: the test suite never runs aptly or reprepro.
set -euo pipefail
need=()
have() { command -v "$1" >/dev/null 2>&1; }
# bench:build: dpkg-deb is the peer; pigz and zstd are debpkg's engines
have dpkg-deb || need+=(dpkg)
have pigz || need+=(pigz)
have zstd || need+=(zstd)
have /usr/bin/time || need+=(time)
# bench:repo: aptly and reprepro (ingest/publish), nginx and wrk (static serving), gpg (their signing)
have aptly || need+=(aptly)
have reprepro || need+=(reprepro)
have nginx || need+=(nginx-light)
have wrk || need+=(wrk)
have gpg || need+=(gnupg)
have gpg-agent || need+=(gnupg)
bash "$(dirname "$0")/../test/support/apt-install-missing.sh" ${need[@]+"${need[@]}"}
# bench:build's nfpm peer: built from source when no nfpm is reachable; without the sources it
# needs (bench/build-nfpm.sh says which) the benchmark runs without nfpm
if ! have nfpm && [ -z "${NFPM:-}" ] && [ ! -x "$(dirname "$0")/.bin/nfpm" ]; then
  bash "$(dirname "$0")/build-nfpm.sh" || echo "setup-host: nfpm not built; bench:build compares with dpkg-deb only" >&2
fi
