#!/usr/bin/env bash
# make demo: a sample memory card through the whole pipeline, no NAS needed.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$PWD/bin
rm -rf demo-card demo-out
go run ./internal/demo/mksample demo-card
echo "== ps-list demo-card | ps-filter --ext CR3 --since 2024-07-02"
"$BIN/ps-list" demo-card | "$BIN/ps-filter" --ext CR3 --since 2024-07-02
if "$BIN/ps-fetch" --help 2>&1 | tr -s ' \n' ' ' | grep -q 'not built yet'; then
  echo "(ps-fetch is not built yet; the demo stops at ps-filter)"
  exit 0
fi
echo
echo "== ps-list demo-card | ps-filter --media raw,photo | ps-fetch --name date -o demo-out"
"$BIN/ps-list" demo-card | "$BIN/ps-filter" --media raw,photo | "$BIN/ps-fetch" --name date -o demo-out
echo
echo "== what landed in demo-out"
find demo-out -type f -not -name '.*' | sort
