#!/usr/bin/env bash
# Installs the real Debian tools the suite drives, only when missing (idempotent, fast when done).
set -euo pipefail
need=()
have() { command -v "$1" >/dev/null 2>&1; }
have dpkg-deb || need+=(dpkg)
have dpkg-gencontrol || need+=(dpkg-dev)
have lintian || need+=(lintian)
have mmdebstrap || need+=(mmdebstrap)
have xz || need+=(xz-utils)
have zstd || need+=(zstd)
have pigz || need+=(pigz)
have fakeroot || need+=(fakeroot)
have gpgv || need+=(gpgv)
have gpg || need+=(gnupg)
have gpg-agent || need+=(gnupg)
have sqv || need+=(sqv)
have ar || need+=(binutils)
# deb-signature test: debsigs' verifier for the _gpgorigin member nfpm and debpkg write
have debsig-verify || need+=(debsig-verify)
have tar || need+=(tar)
# color-node test: the agent and maintainer scripts must be POSIX sh (dash is Essential)
have checkbashisms || need+=(devscripts)
# images test: Debian's packer (1.6.6 on bookworm), ansible-core, the community.general chroot
# connection (shipped by Debian's `ansible` collection package, not by ansible-core) and ansible-lint
have packer || need+=(packer)
have ansible-playbook || need+=(ansible-core)
[ -f /usr/lib/python3/dist-packages/ansible_collections/community/general/plugins/connection/chroot.py ] || need+=(ansible)
have ansible-lint || need+=(ansible-lint)
# lb-nginx test: a real nginx (run on 127.0.0.1 from a temp dir, never /etc/nginx); wrk for LB load checks
have nginx || need+=(nginx)
have wrk || need+=(wrk)
# lb-haproxy and color-e2e tests: a real HAProxy (runtime API, dynamic servers: 2.6 on bookworm)
have haproxy || need+=(haproxy)
# metrics test: promtool check metrics (Debian package prometheus); dashboard test: Debian's chromium
have promtool || need+=(prometheus)
have chromium || need+=(chromium)
# repo server memory bound: jemalloc (repo-server/runtime.ts; the server relaunches itself with it)
dpkg -s libjemalloc2 >/dev/null 2>&1 || need+=(libjemalloc2)
# etcd-* tests: a real 3-member etcd cluster (3.4 on bookworm) on 127.0.x.y, and etcdctl
have etcd || need+=(etcd-server)
have etcdctl || need+=(etcd-client)
# etcd-tls-auth test: a CA and certificates for etcd's TLS client-certificate mode
have openssl || need+=(openssl)
# aptly-client test: Debian's packaged aptly clients (aptly-api-client, python-aptly) drive the API;
# aptly-api test: graphviz's dot renders /api/graph.svg and .png as aptly does
[ -f /usr/lib/python3/dist-packages/aptly_api/__init__.py ] || need+=(python3-aptly-api-client)
python3 -c 'import aptly.client' >/dev/null 2>&1 || need+=(python3-aptly)
have dot || need+=(graphviz)
# VM tests (npm run test:vm / test:vm:short set DEBPKG_VM_TOOLS=1; npm test does not run them):
# QEMU (software emulation is enough), qemu-img for overlays, mkfs.ext4 -d for the base disk, ssh
if [ "${DEBPKG_VM_TOOLS:-}" = 1 ]; then
  have qemu-system-x86_64 || need+=(qemu-system-x86)
  have qemu-img || need+=(qemu-utils)
  have mkfs.ext4 || need+=(e2fsprogs)
  have ssh || need+=(openssh-client)
fi
bash "$(dirname "$0")/support/apt-install-missing.sh" ${need[@]+"${need[@]}"}
