# Helpers for bench/xmp.sh and bench/meta.sh (sourced, not run): a scratch
# folder removed on exit, ps-xmp (built when bench/run.sh gave none), the
# test JPEG and timing. Set NAME (the section) and root before sourcing.

if [ -n "${PS_BENCH_TMP:-}" ]; then
  mkdir -p "$PS_BENCH_TMP"
  work=$(mktemp -d "$PS_BENCH_TMP/$NAME.XXXXXX")
else
  work=$(mktemp -d "${TMPDIR:-/tmp}/ps-$NAME-bench.XXXXXX")
fi
trap 'rm -rf "$work"' EXIT
log() { printf '%s [%s] %s\n' "$(date -u +%H:%M:%S)" "$NAME" "$*" >&2; }

if [ -n "${PS_BENCH_BIN:-}" ] && [ -x "$PS_BENCH_BIN/ps-xmp" ]; then
  psxmp=$PS_BENCH_BIN/ps-xmp
else
  log "building ps-xmp"
  (cd "$root" && go build -o "$work/ps-xmp" ./cmd/ps-xmp)
  psxmp=$work/ps-xmp
fi

# base_jpeg FILE: a 16x16 grey baseline JPEG (made with Go's image/jpeg).
base_jpeg() {
  base64 -d >"$1" <<'B64'
/9j/2wCEAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBkSEw8UHRofHh0aHBwgJC4nICIsIxwcKDcpLDAxNDQ0Hyc5PTgyPC4zNDIBCQkJDAsMGA0NGDIhHCEyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMv/AAAsIABAAEAEBEQD/xADSAAABBQEBAQEBAQAAAAAAAAAAAQIDBAUGBwgJCgsQAAIBAwMCBAMFBQQEAAABfQECAwAEEQUSITFBBhNRYQcicRQygZGhCCNCscEVUtHwJDNicoIJChYXGBkaJSYnKCkqNDU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6g4SFhoeIiYqSk5SVlpeYmZqio6Slpqeoqaqys7S1tre4ubrCw8TFxsfIycrS09TV1tfY2drh4uPk5ebn6Onq8fLz9PX29/j5+v/aAAgBAQAAPwAooor/2Q==
B64
}

now() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b - a) / 1e9}'; }
cpu_of() { awk 'NF==3 {printf "%.2f", $2 + $3}' "$1" 2>/dev/null || echo 0; }
rss_of() { awk 'NF==3 {print $1}' "$1" 2>/dev/null || echo 0; }
timed() { # TIMEFILE CMD...: run under GNU time when it is there
  if [ -x /usr/bin/time ]; then /usr/bin/time -f "%M %U %S" -o "$1" "${@:2}"; else : >"$1"; "${@:2}"; fi
}
