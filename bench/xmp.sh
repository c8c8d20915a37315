#!/usr/bin/env bash
# bench/xmp.sh: ps-xmp --calibrate on 10,000 RAWs and 300 edited JPGs, against
# `exiftool -j` reading the same files in one batch process (issue 6: ps-xmp
# must stay within 1.3x of it). Both are measured in the same run, on data made
# under a temporary folder that is removed afterwards.
#
#   bash bench/xmp.sh                 # 10,000 RAWs, 300 JPGs
#   RAWS=1000 JPGS=100 bash bench/xmp.sh
#
# Under bench/run.sh (PS_BENCH_* set) it also appends result rows to
# $PS_BENCH_RESULTS; PS_BENCH_QUICK=1 uses 1,000 RAWs and 100 JPGs. Each tool
# runs once (PS_BENCH_RUNS is not used): exiftool needs ~40-55 ms of CPU per
# CR3, so one full-size pass of both takes 10+ minutes even on an idle machine.
# The data generation warms the page cache for both.
#
# Data: the real Canon CR3 fixture, copied and rewritten with exiftool (one
# exiftool process for all rewrites): JPGS RAWs that the JPGs were "made from"
# (distinct capture times and shooting data) plus VARIANTS unmatched variants
# with other shooting data; the rest of the RAWs are hard links to the variants
# (exiftool and ps-xmp read every one of them as a file of its own). The JPGs
# are small JPEGs carrying a Camera Raw style, per-image exposure and white
# balance, and the capture time and serial number of their RAW.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
quick=${PS_BENCH_QUICK:-0}
if [ "$quick" = 1 ]; then RAWS=${RAWS:-1000} JPGS=${JPGS:-100}; fi
RAWS=${RAWS:-10000}
JPGS=${JPGS:-300}
VARIANTS=${VARIANTS:-50}
fixture=${FIXTURE:-$root/testdata/CanonRaw.cr3}

command -v exiftool >/dev/null || { echo "exiftool is missing: apt-get install libimage-exiftool-perl" >&2; exit 1; }
[ "$JPGS" -le "$RAWS" ] || { echo "JPGS must not exceed RAWS" >&2; exit 1; }

NAME=xmp
. "$here/xmp-lib.sh"
mkdir -p "$work/raw" "$work/jpg" "$work/gen"
base_jpeg "$work/gen/base.jpg"

# --- data -------------------------------------------------------------------
log "making $JPGS matched RAWs, $VARIANTS variants and $JPGS JPGs"
isos=(100 200 400 800 1600 3200 6400)
times=(0.004 0.008 0.0166667 0.0333333 0.0666667 0.125 0.25)
fnums=(1.8 2.8 4 5.6 8 11)
focals=(24 35 50 85 135)
args=$work/gen/args.txt
: >"$args"
for ((i = 1; i <= JPGS; i++)); do
  n=$(printf '%05d' "$i")
  cp "$fixture" "$work/raw/M_$n.CR3"
  cp "$work/gen/base.jpg" "$work/jpg/M_$n.jpg"
  sec=$((i % 60)) min=$(((i / 60) % 60))
  dto=$(printf '2024:07:01 10:%02d:%02d' "$min" "$sec")
  ss=$(printf '%02d' $((i % 100)))
  iso=${isos[$((i % 7))]} et=${times[$((i % 7))]} fn=${fnums[$((i % 6))]} fl=${focals[$((i % 5))]} fl2=$((i % 4 == 0 ? 1 : 0))
  printf '%s\n' -overwrite_original "-DateTimeOriginal=$dto" "-SubSecTimeOriginal=$ss" "-ISO=$iso" \
    "-ExposureTime=$et" "-FNumber=$fn" "-FocalLength=$fl" "-Flash#=$fl2" "$work/raw/M_$n.CR3" -execute >>"$args"
  exp=$(awk -v i="$i" 'BEGIN {printf "%+.2f", ((i * 37) % 300 - 150) / 100}')
  temp=$((4500 + (i * 53) % 2500))
  cat >"$work/gen/M_$n.xmp" <<XMP
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:crs="http://ns.adobe.com/camera-raw-settings/1.0/"
 crs:Version="15.4" crs:ProcessVersion="11.0" crs:WhiteBalance="Custom" crs:Temperature="$temp" crs:Tint="+$((i % 20))"
 crs:Exposure2012="$exp" crs:Contrast2012="+15" crs:Highlights2012="-40" crs:Clarity2012="+8" crs:Vibrance="+12"
 crs:CameraProfile="Adobe Standard" crs:HasSettings="True" crs:AlreadyApplied="True" crs:RawFileName="M_$n.CR3">
<crs:ToneCurvePV2012><rdf:Seq><rdf:li>0, 0</rdf:li><rdf:li>64, 56</rdf:li><rdf:li>192, 200</rdf:li><rdf:li>255, 255</rdf:li></rdf:Seq></crs:ToneCurvePV2012>
<crs:Look><rdf:Description crs:Name="Adobe Color" crs:Amount="1" crs:UUID="B952C231111CD8E0ECCF14B86BAA7077">
<crs:Group><rdf:Alt><rdf:li xml:lang="x-default">Profiles</rdf:li></rdf:Alt></crs:Group></rdf:Description></crs:Look>
</rdf:Description></rdf:RDF></x:xmpmeta>
XMP
  printf '%s\n' -overwrite_original "-xmp<=$work/gen/M_$n.xmp" "-DateTimeOriginal=$dto" "-SubSecTimeOriginal=$ss" \
    -SerialNumber=613040000565 "$work/jpg/M_$n.jpg" -execute >>"$args"
done
for ((v = 1; v <= VARIANTS; v++)); do
  n=$(printf '%03d' "$v")
  cp "$fixture" "$work/gen/V_$n.CR3"
  iso=${isos[$((v % 7))]} et=${times[$(((v * 3) % 7))]} fn=${fnums[$(((v * 5) % 6))]} fl=${focals[$((v % 5))]}
  printf '%s\n' -overwrite_original "-DateTimeOriginal=2024:07:02 11:00:$(printf '%02d' $((v % 60)))" \
    "-ISO=$iso" "-ExposureTime=$et" "-FNumber=$fn" "-FocalLength=$fl" "$work/gen/V_$n.CR3" -execute >>"$args"
done
exiftool -q -q -@ "$args" >/dev/null
# The other RAWs: hard links to the variants (one perl process, no fork per file).
perl -e 'my ($dir, $from, $to, $nv) = @ARGV; for my $i ($from .. $to) {
  my $v = sprintf("%03d", ($i % $nv) + 1);
  link("$dir/gen/V_$v.CR3", sprintf("%s/raw/U_%05d.CR3", $dir, $i)) or die "link: $!" }' \
  "$work" $((JPGS + 1)) "$RAWS" "$VARIANTS"
have=$(find "$work/raw" -name '*.CR3' | wc -l)
[ "$have" -eq "$RAWS" ] || { echo "made $have RAWs, wanted $RAWS" >&2; exit 1; }
files=$((RAWS + JPGS))

# --- measure ------------------------------------------------------------------

sync
log "exiftool -j over $RAWS RAWs + $JPGS JPGs (one process)"
t0=$(now)
timed "$work/gen/et.time" exiftool -j -q -ext CR3 -ext JPG "$work/raw" "$work/jpg" >"$work/gen/exiftool.json"
t1=$(now)
et_s=$(secs "$t0" "$t1")
et_n=$(grep -c '"SourceFile"' "$work/gen/exiftool.json" || true)

sync
log "ps-xmp --calibrate over the same files"
t0=$(now)
ps_rc=0
timed "$work/gen/ps.time" "$psxmp" -q --raw-dir "$work/raw" --jpg-dir "$work/jpg" --calibrate >"$work/gen/ps.jsonl" 2>"$work/gen/ps.err" || ps_rc=$?
t1=$(now)
# ps-xmp is quiet under -q; its failure records and stderr say what went wrong.
if [ "$ps_rc" -ne 0 ]; then
  echo "ps-xmp exited $ps_rc" >&2
  cat "$work/gen/ps.err" >&2
  grep '"type":"failure"' "$work/gen/ps.jsonl" | head -3 >&2 || true
fi
ps_s=$(secs "$t0" "$t1")
ps_n=$(grep -c '"xmp":' "$work/gen/ps.jsonl" || true)
sidecars=$(find "$work/raw" -name '*.xmp' | wc -l)

status=ok note=""
[ "$ps_rc" -eq 0 ] || note="ps-xmp exited $ps_rc; "
if [ "$ps_n" -ne "$RAWS" ] || [ "$sidecars" -ne "$RAWS" ]; then
  status=fail note="${note}ps-xmp wrote $sidecars sidecars and $ps_n records for $RAWS RAWs"
fi
# Spot checks: a matched RAW has its JPG's exposure; an unmatched one has an estimate.
grep -q 'crs:Exposure2012=' "$work/raw/M_00001.xmp" || { status=fail note="M_00001.xmp has no exposure"; }
grep -q 'crs:Temperature=' "$work/raw/U_$(printf '%05d' "$RAWS").xmp" || { status=fail note="unmatched sidecar has no temperature"; }
et_status=ok
[ "$et_n" -eq "$files" ] || et_status=fail
ratio=$(awk -v a="$ps_s" -v b="$et_s" 'BEGIN {printf "%.2f", a / b}')

case_label="$(printf "%'d" "$RAWS" 2>/dev/null || echo "$RAWS") RAWs + $JPGS JPGs, calibrated"
if [ -n "${PS_BENCH_RESULTS:-}" ]; then
  IFS=$'\t'
  printf '%s\n' "xmp	loopback	$case_label	exiftool -j (one process)	1	$et_s	0	$files	$(rss_of "$work/gen/et.time")	$(cpu_of "$work/gen/et.time")	$et_status	" >>"$PS_BENCH_RESULTS"
  printf '%s\n' "xmp	loopback	$case_label	ps-xmp --calibrate	1	$ps_s	0	$files	$(rss_of "$work/gen/ps.time")	$(cpu_of "$work/gen/ps.time")	$status	$note" >>"$PS_BENCH_RESULTS"
  unset IFS
fi

cat <<REPORT
ps-xmp benchmark: $RAWS RAWs ($JPGS matched to edited JPGs) + $JPGS JPGs, $(nproc) CPU(s), exiftool $(exiftool -ver)
  exiftool -j, one batch process:   ${et_s}s  (CPU $(cpu_of "$work/gen/et.time")s, $et_n files read)
  ps-xmp --calibrate:               ${ps_s}s  (CPU $(cpu_of "$work/gen/ps.time")s incl. exiftool, $sidecars sidecars written)
  ratio ps-xmp / exiftool:          ${ratio}x  (target: at most 1.3x)  [$status${note:+: $note}]
REPORT
[ "$status" = ok ] && [ "$et_status" = ok ]
