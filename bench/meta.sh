#!/usr/bin/env bash
# bench/meta.sh: ps-xmp --meta writing recovered metadata (capture time with
# zone, GPS, description, rating, album keywords, people) for ITEMS photos,
# side by side with exiftool driven the usual way: one process importing
# the same values from a JSON file (`exiftool -json=meta.json FILES`).
# Two cases, each tool once on fresh data:
#
#   sidecars      ps-xmp --meta                   vs exiftool -json=sidecars.json IMG.jpg.xmp …  (creates them)
#   into files    ps-xmp --meta --write-into-file vs exiftool -json=files.json -overwrite_original IMG.jpg …
#
#   bash bench/meta.sh                 # 10,000 items (issue 14)
#   ITEMS=1000 bash bench/meta.sh      # what make bench runs (META_ITEMS overrides it)
#
# Under bench/run.sh (PS_BENCH_* set) it appends result rows to
# $PS_BENCH_RESULTS; PS_BENCH_QUICK=1 uses 200 items. Data: small JPEGs
# (Go's image/jpeg, no EXIF) and, for ps-xmp, result records as ps-fetch
# writes them after a Takeout; the values are the same for both tools.
# ps-xmp runs -j (default: CPUs, at most 4) exiftool processes and merges
# into what is there (new sidecars start as an empty packet; in files,
# capture time and GPS are only filled in where missing), which exiftool's
# import does not; both are verified by reading a sample back.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
if [ "${PS_BENCH_QUICK:-0}" = 1 ]; then ITEMS=${ITEMS:-200}; fi
ITEMS=${ITEMS:-10000}

command -v exiftool >/dev/null || { echo "exiftool is missing: apt-get install libimage-exiftool-perl" >&2; exit 1; }
NAME=meta
. "$here/xmp-lib.sh"
mkdir -p "$work/gen"
base_jpeg "$work/gen/base.jpg"

# fresh DIR: ITEMS copies of the JPEG (copies, not links: exiftool and
# ps-xmp --write-into-file replace each file).
fresh() {
  rm -rf "$1" && mkdir -p "$1"
  perl -e 'use File::Copy; my ($src, $dir, $n) = @ARGV;
    for my $i (1 .. $n) { copy($src, sprintf("%s/IMG_%05d.jpg", $dir, $i)) or die "copy: $!" }' "$work/gen/base.jpg" "$1" "$ITEMS"
}

# records.jsonl (ps-xmp's input) and the two exiftool JSON files, with the
# same values: UTC capture time written in +02:00, GPS, description,
# every fifth a favourite, one of 50 albums, one of 7 people.
gen() { # DIR
  awk -v n="$ITEMS" -v dir="$1" -v rec="$work/gen/records.jsonl" -v side="$work/gen/sidecars.json" \
    -v files="$work/gen/files.json" -v list="$work/gen/sidecars.txt" -v flist="$work/gen/files.txt" 'BEGIN {
    printf "[" >side; printf "[" >files
    for (i = 1; i <= n; i++) {
      f = sprintf("%s/IMG_%05d.jpg", dir, i)
      y = 2015 + i % 10; mo = 1 + i % 12; d = 1 + i % 28; h = i % 22; mi = i % 60; s = (i * 7) % 60
      taken = sprintf("%04d-%02d-%02dT%02d:%02d:%02dZ", y, mo, d, h, mi, s)
      local = sprintf("%04d:%02d:%02d %02d:%02d:%02d", y, mo, d, h + 2, mi, s)
      lat = (i % 170) - 84.5; lon = (i % 350) - 174.25
      fav = (i % 5 == 0); album = sprintf("Album %02d", i % 50); person = sprintf("Person %d", i % 7)
      desc = sprintf("Photo %d & friends", i)
      printf "{\"type\":\"result\",\"source\":\"takeout:\",\"id\":\"%d\",\"path\":\"IMG_%05d.jpg\",\"name\":\"IMG_%05d.jpg\",\"size\":521,\"mtime\":\"%s\",\"taken\":\"%s\",\"media\":\"photo\",\"meta\":{\"description\":\"%s\",\"favorite\":%s,\"gps\":{\"lat\":%s,\"lon\":%s,\"alt\":12},\"albums\":[\"%s\"],\"people\":[\"%s\"],\"taken_offset\":\"+02:00\"},\"local\":\"%s\",\"status\":\"downloaded\"}\n", \
        i, i, i, taken, taken, desc, fav ? "true" : "false", lat, lon, album, person, f >rec
      common = sprintf("\"XMP-exif:DateTimeOriginal\":\"%s+02:00\",\"XMP-xmp:CreateDate\":\"%s+02:00\",\"XMP-photoshop:DateCreated\":\"%s+02:00\",\"XMP-exif:GPSLatitude\":%s,\"XMP-exif:GPSLongitude\":%s,\"XMP-exif:GPSAltitude\":12,\"XMP-dc:Description\":\"%s\",%s\"XMP-dc:Subject\":[\"%s\"],\"XMP-iptcExt:PersonInImage\":[\"%s\"]", \
        local, local, local, lat, lon, desc, fav ? "\"XMP-xmp:Rating\":5," : "", album, person)
      sep = (i < n) ? ",\n" : "]\n"
      printf "{\"SourceFile\":\"%s.xmp\",%s}%s", f, common, sep >side
      printf "{\"SourceFile\":\"%s\",%s,\"EXIF:DateTimeOriginal\":\"%s\",\"EXIF:CreateDate\":\"%s\",\"EXIF:OffsetTimeOriginal\":\"+02:00\",\"GPS:GPSLatitude\":%s,\"GPS:GPSLatitudeRef\":\"%s\",\"GPS:GPSLongitude\":%s,\"GPS:GPSLongitudeRef\":\"%s\"}%s", \
        f, common, local, local, lat < 0 ? -lat : lat, lat < 0 ? "S" : "N", lon < 0 ? -lon : lon, lon < 0 ? "W" : "E", sep >files
      print f ".xmp" >list; print f >flist
    }
  }'
}


# check KIND FILE...: a sample read back has the description of its number.
check() {
  local kind=$1 f n got
  shift
  for f in "$@"; do
    n=$(basename "$f" | sed -E 's/^IMG_0*([0-9]+)\..*/\1/')
    got=$(exiftool -s3 -XMP-dc:Description "$f" 2>/dev/null || true)
    [ "$got" = "Photo $n & friends" ] || { echo "$kind: $f says '$got'"; return 1; }
  done
}

label="$(printf "%'d" "$ITEMS" 2>/dev/null || echo "$ITEMS") photos"
row() { # CASE TOOL SECONDS TIMEFILE STATUS NOTE
  [ -n "${PS_BENCH_RESULTS:-}" ] || return 0
  printf 'meta\tloopback\t%s\t%s\t1\t%s\t0\t%s\t%s\t%s\t%s\t%s\n' "$label, $1" "$2" "$3" "$ITEMS" "$(rss_of "$4")" "$(cpu_of "$4")" "$5" "$6" >>"$PS_BENCH_RESULTS"
}
sample() { echo "$1/IMG_00001.jpg$2" "$1/$(printf 'IMG_%05d.jpg' "$ITEMS")$2"; }
declare -A took cpu status

run_case() { # CASE: exiftool, then ps-xmp, each on fresh copies
  local c=$1 dir=$work/photos t0 t1 rc note ext=""
  [ "$c" = sidecars ] && ext=.xmp
  fresh "$dir"
  gen "$dir"
  sync
  log "$c: exiftool -json= over $ITEMS files (one process)"
  t0=$(now)
  rc=0
  if [ "$c" = sidecars ]; then
    timed "$work/gen/et.time" exiftool -q -q -json="$work/gen/sidecars.json" -@ "$work/gen/sidecars.txt" || rc=$?
  else
    timed "$work/gen/et.time" exiftool -q -q -overwrite_original -json="$work/gen/files.json" -@ "$work/gen/files.txt" || rc=$?
  fi
  t1=$(now)
  took[$c-et]=$(secs "$t0" "$t1") cpu[$c-et]=$(cpu_of "$work/gen/et.time")
  note=$(check exiftool $(sample "$dir" "$ext") || true)
  status[$c-et]=ok
  [ "$rc" -eq 0 ] && [ -z "$note" ] || status[$c-et]=fail
  row "$c" "exiftool -json= (one process)" "${took[$c-et]}" "$work/gen/et.time" "${status[$c-et]}" "${note:-}"

  fresh "$dir"
  sync
  log "$c: ps-xmp --meta over the same files"
  local -a flags=(--meta -q)
  [ "$c" = sidecars ] || flags+=(--write-into-file)
  t0=$(now)
  rc=0
  timed "$work/gen/ps.time" "$psxmp" "${flags[@]}" <"$work/gen/records.jsonl" >"$work/gen/ps.jsonl" 2>"$work/gen/ps.err" || rc=$?
  t1=$(now)
  took[$c-ps]=$(secs "$t0" "$t1") cpu[$c-ps]=$(cpu_of "$work/gen/ps.time")
  local done_n
  done_n=$(grep -c '"xmp' "$work/gen/ps.jsonl" || true)
  note=$(check ps-xmp $(sample "$dir" "$ext") || true)
  [ "$done_n" -eq "$ITEMS" ] || note="${note}ps-xmp wrote $done_n of $ITEMS; $(head -c 300 "$work/gen/ps.err")"
  status[$c-ps]=ok
  [ "$rc" -eq 0 ] && [ -z "$note" ] || status[$c-ps]=fail
  local name="ps-xmp --meta"
  [ "$c" = sidecars ] || name="ps-xmp --meta --write-into-file"
  row "$c" "$name" "${took[$c-ps]}" "$work/gen/ps.time" "${status[$c-ps]}" "${note:-}"
}

run_case sidecars
run_case "into files"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", b / a}'; }
cat <<REPORT
ps-xmp --meta benchmark: $ITEMS photos with capture time, GPS, description, rating, keywords and people; $(nproc) CPU(s), exiftool $(exiftool -ver)
  sidecars:    exiftool -json= (one process) ${took[sidecars-et]}s (CPU ${cpu[sidecars-et]}s) [${status[sidecars-et]}]
               ps-xmp --meta                 ${took[sidecars-ps]}s (CPU ${cpu[sidecars-ps]}s) [${status[sidecars-ps]}]  → $(ratio "${took[sidecars-ps]}" "${took[sidecars-et]}")× exiftool's speed
  into files:  exiftool -json= (one process) ${took[into files-et]}s (CPU ${cpu[into files-et]}s) [${status[into files-et]}]
               ps-xmp --meta --write-into-file ${took[into files-ps]}s (CPU ${cpu[into files-ps]}s) [${status[into files-ps]}]  → $(ratio "${took[into files-ps]}" "${took[into files-et]}")× exiftool's speed
REPORT
for k in "${!status[@]}"; do [ "${status[$k]}" = ok ] || exit 1; done
