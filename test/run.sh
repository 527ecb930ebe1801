#!/usr/bin/env bash
# The one test command (README, .ci/run): installs what the suite needs on a fresh
# Debian machine, builds, and runs every uvu suite. Ends with "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."

bash test/setup-host.sh

npm ci --no-audit --no-fund
npm run build

export NO_COLOR=1
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
# unit first (fast feedback), then the suites that drive real dpkg/apt/lintian in chroots
for dir in dist/test/unit dist/test/integration; do
  [ -d "$dir" ] || continue
  node node_modules/uvu/bin.js "$dir" 2>&1 | tee -a "$log" || status=1
done

total=$(grep -E '^\s*Total:' "$log" | awk '{s+=$2} END {print s+0}')
passed=$(grep -E '^\s*Passed:' "$log" | awk '{s+=$2} END {print s+0}')
skipped=$(grep -E '^\s*Skipped:' "$log" | awk '{s+=$2} END {print s+0}')
failed=$((total - passed - skipped))
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo "tests: ${passed} passed, ${failed} failed, ${skipped} skipped"
exit "$status"
