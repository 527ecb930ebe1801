#!/usr/bin/env bash
# The one test command (README, .ci/run): installs what the suite needs on a fresh
# Debian machine, builds, and runs every uvu suite. Ends with "N passed, N failed".
# The short VM test (test/vm/upgrade-one.test.ts: packer bakes the image, one VM boots under
# systemd, an in-place upgrade under traffic drops nothing) runs beside the suites: it is mostly
# one emulated CPU waiting, ~25 min cold, and run after them it would double the wall time.
# DEBPKG_TEST_VM=0 leaves it out (quick local runs); `npm run test:vm` is the full fleet.
set -euo pipefail
cd "$(dirname "$0")/.."

vm=${DEBPKG_TEST_VM:-1}
if [ "$vm" = 1 ]; then export DEBPKG_VM_TOOLS=1; fi
bash test/setup-host.sh

# Fleet-node chroots unpack ~7,000 files each: on a tmpfs that is ~25x faster than on disk.
if [ -z "${DEBPKG_TEST_TMP:-}" ] && [ -d /dev/shm ] && ! findmnt -no OPTIONS /dev/shm 2>/dev/null | grep -qE '(^|,)(noexec|nodev)(,|$)'; then
  free_kb=$(df -Pk /dev/shm | awk 'NR==2 {print $4}')
  if [ "${free_kb:-0}" -gt $((6 * 1024 * 1024)) ]; then
    export DEBPKG_TEST_TMP=/dev/shm/debpkg-tests
    mkdir -p "$DEBPKG_TEST_TMP"
  fi
fi

# A git worktree sharing another checkout's node_modules through a symlink must not let npm ci
# empty that shared install under its other users.
if [ -L node_modules ]; then echo "node_modules is a symlink: npm ci skipped"; else npm ci --no-audit --no-fund; fi
npm run build

export NO_COLOR=1
log=$(mktemp)
vmlog=$(mktemp)
vmpid=
cleanup() { if [ -n "$vmpid" ]; then kill -TERM "$vmpid" 2>/dev/null || true; wait "$vmpid" 2>/dev/null || true; fi; rm -f "$log" "$vmlog"; }
trap cleanup EXIT
status=0
if [ "$vm" = 1 ]; then
  node dist/test/support/run-suites.js dist/test/vm 'upgrade-one\.test\.js$' >"$vmlog" 2>&1 &
  vmpid=$!
  echo "VM test started in the background (pid $vmpid); its output follows the suites"
fi
# unit first (fast feedback), then the suites that drive real dpkg/apt/lintian in chroots
for dir in dist/test/unit dist/test/integration; do
  [ -d "$dir" ] || continue
  # run-suites.js: uvu's run, and a suite that leaves a process running fails instead of hanging CI
  node dist/test/support/run-suites.js "$dir" 2>&1 | tee -a "$log" || status=1
done

if [ -n "$vmpid" ]; then
  vmstatus=0
  wait "$vmpid" || vmstatus=$?
  vmpid=
  echo "--- VM test (test/vm/upgrade-one.test.ts), exit $vmstatus ---"
  cat "$vmlog"
  cat "$vmlog" >>"$log"
  if [ "$vmstatus" -ne 0 ]; then status=1; fi
  if ! grep -qE '^\s*Total:' "$vmlog"; then echo "VM test ended without uvu's counts"; status=1; fi
fi

total=$(grep -E '^\s*Total:' "$log" | awk '{s+=$2} END {print s+0}')
passed=$(grep -E '^\s*Passed:' "$log" | awk '{s+=$2} END {print s+0}')
skipped=$(grep -E '^\s*Skipped:' "$log" | awk '{s+=$2} END {print s+0}')
failed=$((total - passed - skipped))
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
# uvu swallows an error thrown by a before hook (its suite counts 0 of N passed, exit 0): the
# counts decide too, so such a suite fails the run.
if [ "$failed" -gt 0 ]; then status=1; fi
echo "tests: ${passed} passed, ${failed} failed, ${skipped} skipped"
exit "$status"
