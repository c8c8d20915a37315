#!/usr/bin/env bash
# bench/takeout.sh: list a generated Google Takeout of ITEMS distinct small
# photos in PARTS zip parts (default 50,000 in 5), as ps-list does it for a
# user: items per second and peak memory (max RSS).
#
#   bench/takeout.sh [ITEMS] [PARTS] [JOBS]
#
# Needs Go and GNU time (/usr/bin/time). Writes into a temporary folder,
# removed at the end; set KEEP=1 to keep it.
set -euo pipefail
cd "$(dirname "$0")/.."
ITEMS=${1:-50000}
PARTS=${2:-5}
JOBS=${3:-2}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ps-bench-takeout.XXXXXX")
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$WORK"' EXIT

go build -o "$WORK/ps-list" ./cmd/ps-list
go run ./internal/source/takeout/takeouttest/mkbench -o "$WORK/dl" -items "$ITEMS" -parts "$PARTS"
bytes=$(du -sb "$WORK/dl" | cut -f1)
echo "takeout: $ITEMS items in $PARTS zip parts, $((bytes / 1048576)) MiB" >&2

for run in 1 2 3; do
  /usr/bin/time -f '%e %M %U %S' -o "$WORK/time" "$WORK/ps-list" -q -j "$JOBS" "takeout:$WORK/dl/takeout-*.zip" >"$WORK/out.jsonl"
  read -r secs rss user sys <"$WORK/time"
  count=$(grep -c '"type":"item"' "$WORK/out.jsonl")
  if [ "$count" != "$ITEMS" ]; then
    echo "run $run: listed $count items, want $ITEMS" >&2
    exit 1
  fi
  awk -v r="$run" -v s="$secs" -v n="$count" -v m="$rss" -v u="$user" -v y="$sys" -v j="$JOBS" \
    'BEGIN { printf "run %d: %d items in %.2f s = %.0f items/s, peak RSS %.1f MiB, cpu %.2f s (-j %d)\n", r, n, s, n / s, m / 1024, u + y, j }'
done
