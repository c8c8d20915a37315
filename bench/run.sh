#!/usr/bin/env bash
# The ps benchmark suite: ps against the tools people would use instead
# (rclone, aria2c, jq, grep, exiftool), on loopback and through a WAN lab
# (a network namespace behind a veth pair with delay and rate limits).
#
#   bash bench/run.sh            full run (make bench), under 30 minutes
#   bash bench/run.sh --quick    small data sets, one WAN profile (make bench-quick)
#   bash bench/run.sh --only http,filter --no-wan
#   bash bench/run.sh --bin DIR   use the ps tools in DIR instead of ./bin
#   bash bench/run.sh --report    only rewrite the Markdown and chart from the
#                                 last run's saved results (after editing
#                                 bench/notes.md or bench/report)
#
# Sections: http filter memory smb synology xmp meta takeout wan. A section whose
# tool is missing prints "skipped: <reason>" and the run goes on; the script
# never fails because of a missing section.
#
# Results: a full run writes docs/performance.md, docs/performance.png and
# bench/results/latest.tsv; --quick writes bench/results/quick.{md,png,tsv}
# (ignored by git) so a quick run never overwrites the published figures.
# See bench/README.md for the method and for how section scripts report.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
. bench/lib.sh

QUICK=0 WAN=1 ONLY="" KEEP=0 RUNS="" BIN="" REPORT_ONLY=0
while [ $# -gt 0 ]; do
  case $1 in
    --quick) QUICK=1 ;;
    --no-wan) WAN=0 ;;
    --only) ONLY=$2; shift ;;
    --only=*) ONLY=${1#--only=} ;;
    --runs) RUNS=$2; shift ;;
    --bin) BIN=$(cd "$2" && pwd); shift ;;
    --keep) KEEP=1 ;;
    --report) REPORT_ONLY=1 ;;
    -h | --help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench/run.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
  esac
  shift
done
want() { [ -z "$ONLY" ] || [[ ",$ONLY," == *",$1,"* ]]; }
# want_lab PART: a part of the WAN lab runs; "--only wan" alone runs all of it.
want_lab() { [ "$ONLY" = wan ] || want "$1"; }

# Sizes. The full run uses the sizes the issues name; --quick shrinks them.
if [ "$QUICK" = 1 ]; then
  RUNS=${RUNS:-2}
  HTTP_LARGE=8 HTTP_SMALL=500 FILTER_N=200000 MEMORY_N=100000
  SMB_LARGE=8 SMB_SMALL=500 SMB_LIST=2000 SYNO_FILES=20000 SYNO_FOLDERS=40
  SYNO_FETCH_FILES=2000 SYNO_FETCH_FOLDERS=10
  PROFILES="home"
else
  RUNS=${RUNS:-3}
  HTTP_LARGE=100 HTTP_SMALL=5000 FILTER_N=1000000 MEMORY_N=1000000
  SMB_LARGE=100 SMB_SMALL=5000 SMB_LIST=5000 SYNO_FILES=100000 SYNO_FOLDERS=200
  SYNO_FETCH_FILES=20000 SYNO_FETCH_FOLDERS=40 # ~1,000 files/s here: 100,000 would take 2 minutes a run
  PROFILES="lan home far"
fi
CASE_TIMEOUT=${CASE_TIMEOUT:-600}
BIN=${BIN:-$ROOT/bin}
PASSWORD=bench-$RANDOM-$RANDOM # a throwaway password for the private smbd and fake NAS

# WAN profiles: round-trip time (ms), rate, loss (%), and data sized so one
# run takes a few seconds at that rate: large files of 8 MiB, small of 64 KiB.
profile_rtt()   { case $1 in lan) echo 1 ;; home) echo 20 ;; far) echo 80 ;; esac; }
profile_rate()  { case $1 in lan) echo 1gbit ;; home) echo 100mbit ;; far) echo 50mbit ;; esac; }
profile_loss()  { case $1 in lan) echo 0 ;; home) echo 0 ;; far) echo 0.1 ;; esac; }
profile_large() { case $1 in lan) echo 40 ;; home) echo 6 ;; far) echo 4 ;; esac; }
profile_small() { case $1 in lan) echo 1000 ;; home) echo 300 ;; far) echo 150 ;; esac; }
profile_title() { case $1 in lan) echo "LAN (1 ms, 1 Gbit/s)" ;; home) echo "home broadband to NAS (20 ms, 100 Mbit/s)" ;; far) echo "far away (80 ms, 50 Mbit/s, 0.1% loss)" ;; esac; }

if [ "$QUICK" = 1 ]; then
  OUT_MD=bench/results/quick.md OUT_PNG=bench/results/quick.png OUT_TSV=bench/results/quick.tsv
else
  OUT_MD=docs/performance.md OUT_PNG=docs/performance.png OUT_TSV=bench/results/latest.tsv
fi

# ---------------------------------------------------------------------------
# Work area, servers, cleanup
# ---------------------------------------------------------------------------
pick_workdir() {
  local shm_free
  shm_free=$(df -Pk /dev/shm 2>/dev/null | awk 'NR==2 {print $4}')
  if [ -n "$shm_free" ] && [ "$shm_free" -gt $((12 * 1024 * 1024)) ]; then
    mktemp -d /dev/shm/psbench.XXXXXX
  else
    mktemp -d "${TMPDIR:-/tmp}/psbench.XXXXXX"
  fi
}
WORK=$(pick_workdir)
chmod 755 "$WORK" # nginx workers and smbd read the data sets
mkdir -p "$WORK"/{log,out,bin,data}
RESULTS=$WORK/results.tsv
: >"$RESULTS"
PIDS=()
NS="" NS_HOST_IF="" LAB_MODE="none" LAB_NOTE=""
STARTED=$(date +%s)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
  lab_down
  if [ "$KEEP" = 1 ]; then say "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'say "interrupted"; exit 130' INT TERM

ensure_tools() {
  local need=() c
  for c in rclone:rclone aria2c:aria2 jq:jq nginx:nginx smbd:samba smbpasswd:samba-common-bin exiftool:libimage-exiftool-perl /usr/bin/time:time; do
    command -v "${c%%:*}" >/dev/null 2>&1 || [ -x "/usr/sbin/${c%%:*}" ] || need+=("${c#*:}")
  done
  [ ${#need[@]} -eq 0 ] && return 0
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  if [ -n "$sudo" ] && ! command -v sudo >/dev/null; then
    warn "missing ${need[*]}: not root and no sudo; comparisons with them are skipped"
    return 0
  fi
  say "installing ${need[*]} (apt-get)"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null ||
    warn "apt-get install ${need[*]} failed; comparisons with them are skipped"
}

ensure_build() {
  local t missing=0
  for t in ps-auth ps-list ps-filter ps-fetch ps-xmp; do [ -x "$BIN/$t" ] || missing=1; done
  if [ "$missing" = 1 ]; then
    say "building the tools into ./bin"
    mkdir -p "$BIN" && go build -trimpath -o "$BIN/" ./cmd/... || warn "go build failed"
  fi
  go build -o "$WORK/bin/" ./bench/netlag ./bench/report || warn "building bench helpers failed"
  export RCLONE_CONFIG=$WORK/rclone.conf
  : >"$RCLONE_CONFIG"
  export PS_STATE_DIR=$WORK/state
  mkdir -p "$PS_STATE_DIR"
}

# tool_missing NAME: why a ps tool cannot be measured yet ("" when it can).
tool_missing() {
  [ -x "$BIN/$1" ] || { echo "$1 is not built"; return; }
  local help
  help=$("$BIN/$1" --help 2>&1 | tr -s ' \n' ' ')
  if [[ $help == *"not built yet"* ]]; then
    echo "$1 is not built yet (its --help says so)"
  fi
}

# has_subcommand TOOL NAME: TOOL's --help lists NAME. (The help is read whole
# first: "tool | grep -q" can fail under pipefail when grep stops early.)
has_subcommand() {
  local help
  help=$("$BIN/$1" --help 2>&1)
  grep -qw "$2" <<<"$help"
}

# ---------------------------------------------------------------------------
# Data sets (in $WORK/data/www, served by nginx and shared by smbd)
# ---------------------------------------------------------------------------
kind_size() { case $1 in large) echo $((25 * 1024 * 1024)) ;; medium) echo $((8 * 1024 * 1024)) ;; small) echo 65536 ;; esac; }

# dataset KIND N: a folder www/KIND-N of N distinct random files (hard links
# into one master set per kind, so subsets cost no space). Prints its name.
dataset() {
  local kind=$1 n=$2 size master=$WORK/data/master/$1 dir=$WORK/data/www/$1-$2 have
  size=$(kind_size "$kind")
  if [ ! -d "$dir" ]; then
    mkdir -p "$master" "$dir.tmp"
    have=$(find "$master" -type f | wc -l)
    if [ "$have" -lt "$n" ]; then # one process for all files: split cuts them
      head -c $(((n - have) * size)) /dev/urandom |
        (cd "$master" && split -b "$size" -a 5 --numeric-suffixes=$((have + 1)) --additional-suffix=.bin - f)
    fi
    seq -f "$master/f%05g.bin" 1 "$n" | xargs ln -t "$dir.tmp"
    mv "$dir.tmp" "$dir"
  fi
  echo "$1-$2"
}

# tree_dataset N: N small files in folders of 100 (for listing comparisons).
tree_dataset() {
  local n=$1 dir=$WORK/data/www/tree-$1
  if [ ! -d "$dir" ]; then
    dataset small 100 >/dev/null
    mkdir -p "$dir.tmp"
    perl -e 'my ($n, $m, $d) = @ARGV;
      for my $i (0 .. $n - 1) {
        my $sub = sprintf("%s/d%d", $d, int($i / 100));
        mkdir $sub unless -d $sub;
        link(sprintf("%s/f%05d.bin", $m, $i % 100 + 1), sprintf("%s/IMG_%05d.CR3", $sub, $i)) or die "link: $!";
      }' "$n" "$WORK/data/master/small" "$dir.tmp" && mv "$dir.tmp" "$dir"
  fi
  echo "tree-$1"
}

# ---------------------------------------------------------------------------
# Servers
# ---------------------------------------------------------------------------
# nginx_start NAME IP PORT [NETNS]: nginx with a private configuration
# serving www/ with directory listings (rclone's http backend reads them).
nginx_start() {
  local name=$1 ip=$2 port=$3 ns=${4:-} dir=$WORK/$1
  mkdir -p "$dir/tmp"
  cat >"$dir/nginx.conf" <<EOF
worker_processes 2;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
$( [ "$(id -u)" -eq 0 ] && echo "user root;" )
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  keepalive_timeout 120s;
  default_type application/octet-stream;
  client_body_temp_path $dir/tmp/body;
  proxy_temp_path $dir/tmp/proxy;
  fastcgi_temp_path $dir/tmp/fastcgi;
  uwsgi_temp_path $dir/tmp/uwsgi;
  scgi_temp_path $dir/tmp/scgi;
  server {
    listen $ip:$port;
    root $WORK/data/www;
    autoindex on;
  }
}
EOF
  start_bg "$name" ${ns:+ip netns exec "$ns"} nginx -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf"
  if ! ${ns:+ip netns exec "$ns"} bash -c "$(declare -f wait_port); wait_port $ip $port 10"; then
    warn "nginx ($name) did not start: $(tail -n 3 "$WORK/log/$name.log" "$dir/error.log" 2>/dev/null | tr '\n' ' ')"
    return 1
  fi
}

# smbd_start NAME IP PORT [NETNS]: Samba's smbd with a private smb.conf,
# its own state folders and passdb, sharing www/ as "photos" to user root.
smbd_start() {
  local name=$1 ip=$2 port=$3 ns=${4:-} dir=$WORK/$1
  local smbd=/usr/sbin/smbd
  [ -x "$smbd" ] || smbd=$(command -v smbd) || return 1
  mkdir -p "$dir"/{private,lock,state,cache,pid,ncalrpc,log}
  cat >"$dir/smb.conf" <<EOF
[global]
  server role = standalone server
  smb ports = $port
  interfaces = $ip
  bind interfaces only = yes
  private dir = $dir/private
  lock directory = $dir/lock
  state directory = $dir/state
  cache directory = $dir/cache
  pid directory = $dir/pid
  ncalrpc dir = $dir/ncalrpc
  log file = $dir/log/log.%m
  log level = 0
  passdb backend = tdbsam:$dir/private/passdb.tdb
  map to guest = never
  load printers = no
  printing = bsd
  printcap name = /dev/null
  disable spoolss = yes
  disable netbios = yes
[photos]
  path = $WORK/data/www
  read only = yes
  guest ok = no
EOF
  printf '%s\n%s\n' "$PASSWORD" "$PASSWORD" | smbpasswd -c "$dir/smb.conf" -s -a root >/dev/null 2>&1 || return 1
  start_bg "$name" ${ns:+ip netns exec "$ns"} "$smbd" --foreground --no-process-group -s "$dir/smb.conf"
  if ! ${ns:+ip netns exec "$ns"} bash -c "$(declare -f wait_port); wait_port $ip $port 15"; then
    warn "smbd ($name) did not start: $(tail -n 3 "$WORK/log/$name.log" | tr '\n' ' ')"
    return 1
  fi
}

# ---------------------------------------------------------------------------
# Sections
# ---------------------------------------------------------------------------

# http_case PROFILE HOST PORT KIND N
http_case() {
  local profile=$1 host=$2 port=$3 kind=$4 n=$5 ds base size
  ds=$(dataset "$kind" "$n")
  base=http://$host:$port/$ds/
  size=$(kind_size "$kind")
  local in=$WORK/data/$profile-$ds.jsonl urls=$WORK/data/$profile-$ds.urls
  find "$WORK/data/www/$ds" -type f -printf '%f\n' | sort |
    awk -v b="$base" -v s="$size" '{printf "{\"type\":\"item\",\"url\":\"%s%s\",\"path\":\"%s\",\"name\":\"%s\",\"size\":%d}\n", b, $1, $1, $1, s}' >"$in"
  find "$WORK/data/www/$ds" -type f -printf '%f\n' | sort | awk -v b="$base" '{print b $1}' >"$urls"
  local label
  case $kind in large | medium) label="$(commas "$n") × $((size / 1048576)) MiB" ;; small) label="$(commas "$n") × 64 KiB" ;; esac
  case_begin http "$profile" "$label" "$n" $((n * size))
  local why
  why=$(tool_missing ps-fetch)
  if [ -n "$why" ]; then skip http "$profile" "$label" "ps-fetch -j8" "$why"; else
    case_tool "ps-fetch -j8" "'$BIN/ps-fetch' -q -j8 -o \"\$DEST\" < '$in'"
  fi
  if command -v rclone >/dev/null; then
    case_tool "rclone --transfers 4" "rclone copy -q --http-url '$base' :http: \"\$DEST\" --transfers 4"
    case_tool "rclone --transfers 8" "rclone copy -q --http-url '$base' :http: \"\$DEST\" --transfers 8"
    # Context, not the bar: ps-fetch's results carry each file's sha256;
    # this is what an rclone user runs to have the same.
    case_tool "verified: rclone copy + hashsum sha256" "rclone copy -q --http-url '$base' :http: \"\$DEST\" --transfers 8 && rclone hashsum sha256 \"\$DEST\" --checkers 8 -q >/dev/null"
  else skip http "$profile" "$label" rclone "rclone is not installed"; fi
  if command -v aria2c >/dev/null; then
    case_tool "aria2c -j8" "aria2c -q -j8 --file-allocation=none --auto-file-renaming=false -d \"\$DEST\" -i '$urls'"
  else skip http "$profile" "$label" aria2c "aria2c is not installed"; fi
  case_run verify_download
}

verify_download() {
  case $1 in
    ps-*) verify_fetch "$@" ;;
    *) verify_tree "$@" ;;
  esac
}

section_http() { # PROFILE HOST PORT LARGE_N SMALL_N [KIND]
  http_case "$1" "$2" "$3" "${6:-large}" "$4"
  http_case "$1" "$2" "$3" small "$5"
}

# The filter data: FILTER_N item records shaped like ps-list's, a fifth CR3.
make_records() {
  local n=$1 out=$2
  awk -v n="$n" 'BEGIN {
    split("CR3 JPG JPG HEIC MOV JPG CR3 XMP JPG DNG", ext, " ")
    split("raw photo photo photo video photo raw sidecar photo raw", media, " ")
    for (i = 0; i < n; i++) {
      e = (i % 10) + 1
      d = int(i / 1000)
      printf "{\"type\":\"item\",\"source\":\"smb://me@nas:445/photos\",\"id\":\"2024/%04d/IMG_%07d.%s\",\"path\":\"2024/%04d/IMG_%07d.%s\",\"name\":\"IMG_%07d.%s\",\"size\":%d,\"mtime\":\"2024-%02d-%02dT%02d:%02d:%02dZ\",\"media\":\"%s\"}\n", d, i, ext[e], d, i, ext[e], i, ext[e], 1000000 + (i * 7919) % 30000000, (i % 12) + 1, (i % 28) + 1, i % 24, i % 60, (i * 7) % 60, media[e]
    }
  }' >"$out"
}

section_filter() {
  local n=$FILTER_N in=$WORK/data/records-$FILTER_N.jsonl label expect
  [ -s "$in" ] || make_records "$n" "$in"
  expect=$(grep -c '\.CR3"' "$in")
  label="$(commas "$n") records, keep .CR3"
  case_begin filter loopback "$label" "$n" "$(stat -c %s "$in")"
  C_EXPECT=$expect
  local why
  why=$(tool_missing ps-filter)
  if [ -n "$why" ]; then skip filter loopback "$label" "ps-filter --ext CR3" "$why"; else
    case_tool "ps-filter --ext CR3" "'$BIN/ps-filter' --ext CR3 < '$in'"
  fi
  if command -v jq >/dev/null; then
    case_tool "jq select" "jq -c 'select(.type==\"item\" and (.name|ascii_upcase|endswith(\".CR3\")))' < '$in'"
  else skip filter loopback "$label" jq "jq is not installed"; fi
  case_tool "grep -F (floor)" "grep -F '.CR3\"' < '$in'"
  case_run verify_expect_lines
  C_EXPECT=""
}

verify_expect_lines() {
  local got
  got=$(wc -l <"$3")
  [ "$got" = "$C_EXPECT" ] || echo "expected $C_EXPECT records out, got $got"
}

# make_tree N DIR: N empty-but-sized (sparse) files in folders of 1,000,
# three in five CR3, for the memory run of ps-list.
make_tree() {
  perl -e 'my ($n, $d) = @ARGV;
    mkdir $d;
    for my $i (0 .. $n - 1) {
      my $sub = "$d/" . int($i / 1000);
      mkdir $sub if $i % 1000 == 0;
      my $cr3 = $i % 1000 < 600;
      my $f = sprintf("%s/IMG_%04d.%s", $sub, $i % 1000, $cr3 ? "CR3" : "JPG");
      open(my $fh, ">", $f) or die "$f: $!";
      truncate($fh, $cr3 ? 31000000 : 9000000);
      close($fh);
    }' "$1" "$2"
}

# section_memory: peak RSS of each stage of ps-list | ps-filter | ps-fetch
# --dry-run over MEMORY_N files on disk (a real folder tree, not a file of
# records), each stage under its own /usr/bin/time.
section_memory() {
  local n=$MEMORY_N tree=$WORK/data/memtree label
  label="$(commas "$n") files: ps-list | ps-filter --ext CR3 | ps-fetch --dry-run"
  if [ ! -x /usr/bin/time ]; then skip memory loopback "$label" ps "GNU time (/usr/bin/time) is missing"; return; fi
  local why
  why=$(tool_missing ps-list)
  [ -n "$why" ] && { skip memory loopback "$label" ps-list "$why"; return; }
  say "memory: making $n files under $tree"
  make_tree "$n" "$tree"
  local fetch_why
  fetch_why=$(tool_missing ps-fetch)
  local r
  for r in 1; do # peak memory needs no warm-up, and the pipeline takes a minute
    rm -rf "$WORK/dest" && mkdir -p "$WORK/dest"
    local t0 t1 secs
    t0=$(date +%s%N)
    if [ -z "$fetch_why" ]; then
      /usr/bin/time -f '%M %U %S' -o "$WORK/out/m-list" "$BIN/ps-list" "$tree" 2>"$WORK/out/m-list.err" |
        /usr/bin/time -f '%M %U %S' -o "$WORK/out/m-filter" "$BIN/ps-filter" --ext CR3 |
        /usr/bin/time -f '%M %U %S' -o "$WORK/out/m-fetch" "$BIN/ps-fetch" -q --dry-run -o "$WORK/dest" >"$WORK/out/m.out" 2>"$WORK/out/m-fetch.err"
    else
      /usr/bin/time -f '%M %U %S' -o "$WORK/out/m-list" "$BIN/ps-list" "$tree" 2>"$WORK/out/m-list.err" |
        /usr/bin/time -f '%M %U %S' -o "$WORK/out/m-filter" "$BIN/ps-filter" --ext CR3 >"$WORK/out/m.out"
    fi
    t1=$(date +%s%N)
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", (b-a)/1e9}')
    local want=$((n * 6 / 10)) got stage file rss cpu
    got=$(grep -c '"type":"\(item\|result\)"' "$WORK/out/m.out")
    for stage in list filter fetch; do
      file=$WORK/out/m-$stage
      [ -s "$file" ] || continue
      read -r rss cpu < <(tail -n 1 "$file" | awk 'NF==3 {printf "%d %.2f\n", $1, $2+$3}')
      local tool
      case $stage in list) tool="ps-list" ;; filter) tool="ps-filter --ext CR3" ;; fetch) tool="ps-fetch --dry-run" ;; esac
      if [ "$got" = "$want" ]; then
        record memory loopback "$label" "$tool" 1 "$secs" 0 "$n" "$rss" "$cpu" ok ""
        say "  $tool: peak RSS $((rss / 1024)) MiB"
      else
        record memory loopback "$label" "$tool" 1 "$secs" 0 "$n" "$rss" "$cpu" fail "expected $want records out, got $got: $(tail -n 2 "$WORK/out/m-$stage.err" 2>/dev/null | tr '\n' ' ')"
      fi
    done
    [ -n "$fetch_why" ] && skip memory loopback "$label" "ps-fetch --dry-run" "$fetch_why"
  done
  rm -rf "$tree" "$WORK/dest"
}

# smb_cases PROFILE HOST PORT LARGE_N SMALL_N LIST_N [KIND]
section_smb() {
  local profile=$1 host=$2 port=$3 large=$4 small=$5 list=$6 kind=${7:-large}
  if ! command -v smbd >/dev/null && [ ! -x /usr/sbin/smbd ]; then
    skip smb "$profile" "all" smbd "samba is not installed"
    return
  fi
  local why=""
  why=$(tool_missing ps-list)
  if [ -z "$why" ] && ! has_subcommand ps-auth smb; then why="ps-auth has no smb subcommand yet"; fi
  if [ -z "$why" ]; then
    local st=$WORK/state-smb-$profile
    mkdir -p "$st"
    printf '%s\n' "$PASSWORD" >"$WORK/smb-password"
    if ! PS_STATE_DIR=$st "$BIN/ps-auth" smb --server "$host:$port" --share photos --user root --password-file "$WORK/smb-password" >"$WORK/out/smb-auth.out" 2>"$WORK/out/smb-auth.err"; then
      why="ps-auth smb failed: $(tail -n 2 "$WORK/out/smb-auth.err" | tr '\n' ' ')"
    fi
  fi
  export RCLONE_SMB_PASS
  RCLONE_SMB_PASS=$(rclone obscure "$PASSWORD" 2>/dev/null)
  local rc_smb="--smb-host $host --smb-port $port --smb-user root"
  local ds n label size
  for spec in "$kind $large" "small $small"; do
    set -- $spec
    ds=$(dataset "$1" "$2")
    n=$2
    size=$(kind_size "$1")
    case $1 in small) label="$(commas "$n") × 64 KiB" ;; *) label="$(commas "$n") × $((size / 1048576)) MiB" ;; esac
    case_begin smb "$profile" "$label" "$n" $((n * size))
    if [ -n "$why" ]; then skip smb "$profile" "$label" "ps-list | ps-fetch -j8" "$why"; else
      case_tool "ps-list | ps-fetch -j8" "PS_STATE_DIR='$st' '$BIN/ps-list' -q 'smb://root@$host:$port/photos/$ds' | PS_STATE_DIR='$st' '$BIN/ps-fetch' -q -j8 -o \"\$DEST\""
    fi
    if command -v rclone >/dev/null; then
      case_tool "rclone --transfers 8" "rclone copy -q :smb:photos/$ds \"\$DEST\" $rc_smb --transfers 8"
    else skip smb "$profile" "$label" rclone "rclone is not installed"; fi
    case_run verify_download
  done
  ds=$(tree_dataset "$list")
  label="list $(commas "$list") files in $((list / 100)) folders"
  case_begin smb "$profile" "$label" "$list" 0
  if [ -n "$why" ]; then skip smb "$profile" "$label" "ps-list" "$why"; else
    case_tool "ps-list" "PS_STATE_DIR='$st' '$BIN/ps-list' -q 'smb://root@$host:$port/photos/$ds'"
  fi
  command -v rclone >/dev/null && case_tool "rclone lsjson -R" "rclone lsjson -R :smb:photos/$ds $rc_smb"
  case_run verify_listing
}

verify_listing() {
  case $1 in
    rclone*) verify_lsjson_files "$@" ;;
    *) verify_item_lines "$@" ;;
  esac
}

# ---------------------------------------------------------------------------
# Synology: the fake NAS (internal/source/synology/synologytest/fakesyno).
# ---------------------------------------------------------------------------
FAKESYNO_PKG=./internal/source/synology/synologytest/fakesyno

section_synology() { # PROFILE IP PORT [NETNS]
  local profile=$1 ip=$2 port=$3 ns=${4:-}
  local label="list $(commas "$SYNO_FILES") files in $SYNO_FOLDERS folders"
  if [ ! -d "$FAKESYNO_PKG" ]; then skip synology "$profile" "$label" ps-list "the fake Synology server ($FAKESYNO_PKG) is not in the tree yet"; return; fi
  local why
  why=$(tool_missing ps-list)
  if [ -z "$why" ] && ! has_subcommand ps-auth synology; then why="ps-auth has no synology subcommand yet"; fi
  [ -n "$why" ] && { skip synology "$profile" "$label" ps-list "$why"; return; }
  [ -x "$WORK/bin/fakesyno" ] || go build -o "$WORK/bin/fakesyno" "$FAKESYNO_PKG" 2>"$WORK/log/fakesyno-build.log" ||
    { skip synology "$profile" "$label" ps-list "fakesyno does not build: $(tail -n 1 "$WORK/log/fakesyno-build.log")"; return; }
  if [ -z "$ns" ]; then
    # Loopback: the issue's listing figure (50 ms added to every request),
    # against ps-list -j 1 as the sequential lister; then list | fetch.
    label="$label, +50 ms per request"
    if syno_server "$profile-lat" "$ip" "$port" "" "$SYNO_FILES" "$SYNO_FOLDERS" 50ms; then
      case_begin synology "$profile" "$label" "$SYNO_FILES" 0
      case_tool "ps-list -j 8" "$SYNO_ENV '$BIN/ps-list' -q -j 8 --session '$SYNO_SESSION'"
      case_tool "sequential: ps-list -j 1" "$SYNO_ENV '$BIN/ps-list' -q -j 1 --session '$SYNO_SESSION'"
      case_run verify_item_lines
      stop_pid "$SYNO_PID"
    else skip synology "$profile" "$label" ps-list "$SYNO_WHY"; fi
    local port2
    port2=$(free_port)
    label="list | fetch $(commas "$SYNO_FETCH_FILES") files of 4 KiB in $SYNO_FETCH_FOLDERS folders"
    if syno_server "$profile-fetch" "$ip" "$port2" "" "$SYNO_FETCH_FILES" "$SYNO_FETCH_FOLDERS" ""; then
      case_begin synology "$profile" "$label" "$SYNO_FETCH_FILES" $((SYNO_FETCH_FILES * 4096))
      case_tool "ps-list | ps-fetch -j8" "$SYNO_ENV '$BIN/ps-list' -q --session '$SYNO_SESSION' | $SYNO_ENV '$BIN/ps-fetch' -q -j8 -o \"\$DEST\""
      case_run verify_download
      stop_pid "$SYNO_PID"
    else skip synology "$profile" "$label" "ps-list | ps-fetch -j8" "$SYNO_WHY"; fi
  else
    # WAN lab: the network adds the latency; plain http (the fake's
    # certificate names only loopback), so ps-auth needs --insecure.
    if syno_server "$profile" "$ip" "$port" "$ns" "$SYNO_FILES" "$SYNO_FOLDERS" ""; then
      case_begin synology "$profile" "$label" "$SYNO_FILES" 0
      case_tool "ps-list -j 8" "$SYNO_ENV '$BIN/ps-list' -q -j 8 --session '$SYNO_SESSION'"
      case_run verify_item_lines
      stop_pid "$SYNO_PID"
    else skip synology "$profile" "$label" ps-list "$SYNO_WHY"; fi
  fi
}

# syno_server NAME IP PORT NETNS FILES FOLDERS LATENCY: start the fake NAS
# and sign in to it. Sets SYNO_PID, SYNO_SESSION (a session record file) and
# SYNO_ENV (environment the ps tools need), or SYNO_WHY on failure.
syno_server() {
  local name=$1 ip=$2 port=$3 ns=$4 files=$5 folders=$6 latency=$7
  local dir=$WORK/syno-$name log=$WORK/log/fakesyno-$name.log
  mkdir -p "$dir/state"
  local -a tls=(-ca "$dir/ca.pem")
  local insecure=""
  [ -n "$ns" ] && { tls=(-http); insecure=--insecure; }
  start_bg "fakesyno-$name" ${ns:+ip netns exec "$ns"} "$WORK/bin/fakesyno" -listen "$ip:$port" -files "$files" \
    -folders "$folders" -password "$PASSWORD" ${latency:+-latency "$latency"} "${tls[@]}"
  SYNO_PID=$LAST_PID
  local i link=""
  for i in $(seq 1 600); do
    link=$(sed -n 's/^SYNO_LINK=//p' "$log" 2>/dev/null)
    [ -n "$link" ] && break
    kill -0 "$SYNO_PID" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$link" ]; then
    SYNO_WHY="fakesyno did not start: $(tail -n 2 "$log" | tr '\n' ' ')"
    stop_pid "$SYNO_PID"
    return 1
  fi
  [ -n "$ns" ] && link=${link//127.0.0.1/$NS_IP}
  SYNO_ENV="PS_STATE_DIR='$dir/state'"
  [ -z "$ns" ] && SYNO_ENV="$SYNO_ENV SSL_CERT_FILE='$dir/ca.pem'"
  printf '%s\n' "$PASSWORD" >"$dir/password"
  SYNO_SESSION=$dir/session.jsonl
  local -a envs=(PS_STATE_DIR="$dir/state")
  [ -z "$ns" ] && envs+=(SSL_CERT_FILE="$dir/ca.pem")
  if ! env "${envs[@]}" "$BIN/ps-auth" -q synology --link "$link" \
    --password-file "$dir/password" $insecure >"$SYNO_SESSION" 2>"$dir/auth.err"; then
    SYNO_WHY="ps-auth synology failed: $(tail -n 2 "$dir/auth.err" | tr '\n' ' ')"
    stop_pid "$SYNO_PID"
    return 1
  fi
}

# ---------------------------------------------------------------------------
# Sections written by other engineers: bench/xmp.sh, bench/meta.sh,
# bench/takeout.sh. They
# get the environment below, append rows to $PS_BENCH_RESULTS in the format
# of bench/lib.sh (they may source it), and print what people should read.
# ---------------------------------------------------------------------------
section_script() { # NAME
  local name=$1 script=bench/$1.sh
  if [ ! -f "$script" ]; then skip "$name" loopback "all" "$script" "$script is not in the tree yet"; return; fi
  say "$name: running $script"
  mkdir -p "$WORK/$name" "$WORK/extra"
  # Sizes that fit the time budget (30 minutes for all, 5 with --quick):
  # xmp.sh at the issue's 10,000 RAWs takes longer than that on a small
  # machine by itself; run it alone for the full size.
  local -a args=() envs=()
  case $name in
    xmp) if [ "$QUICK" = 1 ]; then envs=(RAWS=100 JPGS=20); else envs=(RAWS="${XMP_RAWS:-1000}" JPGS="${XMP_JPGS:-300}"); fi ;;
    meta) if [ "$QUICK" = 1 ]; then envs=(ITEMS=200); else envs=(ITEMS="${META_ITEMS:-1000}"); fi ;;
    takeout) [ "$QUICK" = 1 ] && args=(5000 5) ;;
  esac
  if env "${envs[@]}" PS_BENCH_RESULTS="$RESULTS" PS_BENCH_BIN="$BIN" PS_BENCH_QUICK="$QUICK" PS_BENCH_RUNS="$RUNS" PS_BENCH_TMP="$WORK/$name" \
    timeout -k 10 "${SCRIPT_TIMEOUT:-900}" bash "$script" "${args[@]}" </dev/null >"$WORK/extra/$name.txt" 2>"$WORK/log/$name.log"; then
    say "$name: done"
  else
    local rc=$?
    warn "$script failed (exit $rc): $(tail -n 3 "$WORK/log/$name.log" | tr '\n' ' ')"
    record "$name" loopback "all" "$script" - 0 0 0 0 0 fail "exit $rc: $(tail -n 2 "$WORK/log/$name.log" | tr '\n' ' ')"
  fi
}

# ---------------------------------------------------------------------------
# WAN lab: a network namespace behind a veth pair. Client tools stay on the
# host and talk only to the namespace's address.
# ---------------------------------------------------------------------------
lab_up() {
  command -v ip >/dev/null && command -v tc >/dev/null || { LAB_NOTE="ip or tc is missing"; return 1; }
  [ "$(id -u)" -eq 0 ] || { LAB_NOTE="not root: network namespaces need root"; return 1; }
  local octet=$((20 + $$ % 200))
  NS=psbench-$$
  NS_HOST_IF=psbh$$ NS_NS_IF=psbn$$
  NS_HOST_IP=10.213.$octet.1 NS_IP=10.213.$octet.2
  if ! { ip netns add "$NS" &&
    ip link add "$NS_HOST_IF" type veth peer name "$NS_NS_IF" &&
    ip link set "$NS_NS_IF" netns "$NS" &&
    ip addr add "$NS_HOST_IP/30" dev "$NS_HOST_IF" &&
    ip link set "$NS_HOST_IF" up &&
    ip netns exec "$NS" ip addr add "$NS_IP/30" dev "$NS_NS_IF" &&
    ip netns exec "$NS" ip link set "$NS_NS_IF" up &&
    ip netns exec "$NS" ip link set lo up; } 2>"$WORK/log/lab.err"; then
    LAB_NOTE="could not create the namespace: $(tr '\n' ' ' <"$WORK/log/lab.err")"
    return 1
  fi
  # Prefer netem (delay, rate and loss in the kernel); without it (this
  # kernel may lack sch_netem) delay comes from bench/netlag and rate
  # from tbf, and loss is not emulated.
  if tc qdisc add dev "$NS_HOST_IF" root netem delay 1ms 2>/dev/null; then
    tc qdisc del dev "$NS_HOST_IF" root
    LAB_MODE=netem
    LAB_SERVER_IP=$NS_IP
    LAB_NOTE="delay, rate and loss by tc netem on both ends of the veth pair (half the round trip each way)"
  elif tc qdisc add dev "$NS_HOST_IF" root tbf rate 1gbit burst 1mb latency 100ms 2>/dev/null; then
    tc qdisc del dev "$NS_HOST_IF" root
    LAB_MODE=netlag
    LAB_SERVER_IP=127.0.0.1
    LAB_NOTE="this kernel has no sch_netem: rate by tc tbf on both ends of the veth pair; delay by bench/netlag, a TCP relay in the namespace that holds each chunk half the round trip in each direction; packet loss is NOT emulated"
  else
    LAB_NOTE="tc can shape neither with netem nor with tbf here"
    return 1
  fi
  say "WAN lab: namespace $NS at $NS_IP ($LAB_MODE)"
}

lab_down() {
  [ -n "$NS" ] || return 0
  ip netns del "$NS" 2>/dev/null
  ip link del "$NS_HOST_IF" 2>/dev/null
  NS=""
}

# lab_shape PROFILE: set delay, rate and loss for a profile.
lab_shape() {
  local rtt rate loss half burst
  rtt=$(profile_rtt "$1") rate=$(profile_rate "$1") loss=$(profile_loss "$1")
  half=$(awk -v r="$rtt" 'BEGIN {printf "%.1fms", r / 2}')
  if [ "$LAB_MODE" = netem ]; then
    local l=""
    [ "$loss" != 0 ] && l="loss $loss%"
    tc qdisc replace dev "$NS_HOST_IF" root netem delay "$half" rate "$rate" $l limit 100000
    ip netns exec "$NS" tc qdisc replace dev "$NS_NS_IF" root netem delay "$half" rate "$rate" $l limit 100000
  else
    # A burst of at least 256 KiB: veth hands tbf 64 KiB GSO packets.
    burst=$(awk -v r="$rate" 'BEGIN {v=r+0; if (r ~ /gbit/) v*=1e9; else if (r ~ /mbit/) v*=1e6; b=v/8/100; if (b < 262144) b=262144; printf "%d", b}')
    tc qdisc replace dev "$NS_HOST_IF" root tbf rate "$rate" burst "$burst" latency 200ms
    ip netns exec "$NS" tc qdisc replace dev "$NS_NS_IF" root tbf rate "$rate" burst "$burst" latency 200ms
    [ -n "${NETLAG_PID:-}" ] && stop_pid "$NETLAG_PID"
    start_bg "netlag-$1" ip netns exec "$NS" "$WORK/bin/netlag" -delay "$half" \
      -map "$NS_IP:$LAB_HTTP_PORT=127.0.0.1:$LAB_HTTP_PORT" \
      -map "$NS_IP:$LAB_SMB_PORT=127.0.0.1:$LAB_SMB_PORT" \
      -map "$NS_IP:$LAB_SYNO_PORT=127.0.0.1:$LAB_SYNO_PORT"
    NETLAG_PID=$LAST_PID
    wait_port "$NS_IP" "$LAB_HTTP_PORT" 10 || warn "netlag did not start"
  fi
}

section_wan() {
  if ! lab_up; then
    say "skipped: WAN lab: $LAB_NOTE (only the loopback part ran)"
    record wan - "all" lab - 0 0 0 0 0 skip "$LAB_NOTE"
    lab_down
    return
  fi
  LAB_HTTP_PORT=$(free_port) LAB_SMB_PORT=$(free_port) LAB_SYNO_PORT=$(free_port)
  local http_ok=1 smb_ok=1
  nginx_start nginx-lab "$LAB_SERVER_IP" "$LAB_HTTP_PORT" "$NS" || http_ok=0
  smbd_start smbd-lab "$LAB_SERVER_IP" "$LAB_SMB_PORT" "$NS" || smb_ok=0
  local p
  for p in $PROFILES; do
    say "WAN profile $p: $(profile_title "$p")"
    lab_shape "$p"
    local lg sm
    lg=$(profile_large "$p") sm=$(profile_small "$p")
    [ "$QUICK" = 1 ] && { lg=$(((lg + 1) / 2)); sm=$((sm / 2)); }
    if want_lab http; then
      if [ "$http_ok" = 1 ]; then section_http "$p" "$NS_IP" "$LAB_HTTP_PORT" "$lg" "$sm" medium
      else skip http "$p" all nginx "nginx did not start in the namespace"; fi
    fi
    if want_lab smb; then
      if [ "$smb_ok" = 1 ]; then section_smb "$p" "$NS_IP" "$LAB_SMB_PORT" "$lg" "$sm" "$SMB_LIST" medium
      else skip smb "$p" all smbd "smbd did not start in the namespace"; fi
    fi
    want_lab synology && section_synology "$p" "$LAB_SERVER_IP" "$LAB_SYNO_PORT" "$NS"
  done
  [ -n "${NETLAG_PID:-}" ] && stop_pid "$NETLAG_PID"
}

# ---------------------------------------------------------------------------
# Machine facts and the report
# ---------------------------------------------------------------------------
machine_facts() {
  local f=$WORK/machine.tsv
  {
    printf 'date\t%s\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
    printf 'mode\t%s\n' "$([ "$QUICK" = 1 ] && echo quick || echo full)"
    printf 'runs\t%s timed runs after one warm-up, tools in rotating order\n' "$RUNS"
    printf 'commit\t%s\n' "$(git describe --always --dirty 2>/dev/null || echo unknown)"
    printf 'cpu\t%s × %s\n' "$(nproc)" "$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
    printf 'memory\t%s\n' "$(free -h | awk '/^Mem:/ {print $2}')"
    printf 'kernel\t%s\n' "$(uname -sr)"
    printf 'os\t%s\n' "$(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME")"
    printf 'data\t%s\n' "$(df -PT "$WORK" | awk 'NR==2 {print $2}') ($WORK)"
    printf 'ps tools\t%s (%s)\n' "$("$BIN/ps-list" --version 2>&1 | head -n 1)" "$BIN"
    printf 'go\t%s\n' "$(go version | awk '{print $3}')"
    printf 'rclone\t%s\n' "$(rclone version 2>/dev/null | head -n 1)"
    printf 'aria2c\t%s\n' "$(aria2c --version 2>/dev/null | head -n 1)"
    printf 'jq\t%s\n' "$(jq --version 2>/dev/null)"
    printf 'grep\t%s\n' "$(grep --version | head -n 1)"
    printf 'nginx\t%s\n' "$(nginx -v 2>&1)"
    printf 'smbd\t%s\n' "$( (/usr/sbin/smbd --version || smbd --version) 2>/dev/null | head -n 1)"
    printf 'exiftool\t%s\n' "$(exiftool -ver 2>/dev/null)"
    printf 'wan\t%s\n' "${LAB_NOTE:-not run}"
    printf 'load\t%s at the start, %s at the end (1, 5, 15 min load averages; other work on the machine slows every tool alike)\n' "$LOAD_START" "$(cut -d' ' -f1-3 /proc/loadavg)"
    printf 'elapsed\t%s s\n' "$(($(date +%s) - STARTED))"
  } >"$f"
}

# write_report: save the rows, the machine facts and the section scripts'
# outputs beside OUT_TSV (so --report can redo the document), then render.
write_report() {
  machine_facts
  local saved=${OUT_TSV%.tsv}
  mkdir -p bench/results "$(dirname "$OUT_MD")" "$saved.extra"
  cp "$RESULTS" "$OUT_TSV"
  cp "$WORK/machine.tsv" "$saved.machine.tsv"
  rm -f "$saved.extra"/*.txt
  cp "$WORK"/extra/*.txt "$saved.extra/" 2>/dev/null
  render_report
}

render_report() {
  local saved=${OUT_TSV%.tsv}
  if [ -x "$WORK/bin/report" ]; then
    "$WORK/bin/report" -results "$OUT_TSV" -machine "$saved.machine.tsv" -notes bench/notes.md \
      -extra "$saved.extra" -md "$OUT_MD" -png "$OUT_PNG" && say "wrote $OUT_MD, $OUT_PNG and $OUT_TSV"
  else
    warn "bench/report did not build; raw results are in $OUT_TSV"
  fi
}

main() {
  if [ "$REPORT_ONLY" = 1 ]; then
    go build -o "$WORK/bin/" ./bench/report || exit 1
    [ -s "$OUT_TSV" ] || { warn "no saved results in $OUT_TSV: run the suite first"; exit 1; }
    render_report
    return
  fi
  say "work area $WORK; mode $([ "$QUICK" = 1 ] && echo quick || echo full); $RUNS runs per comparison"
  ensure_tools
  ensure_build
  if want http || want smb; then
    if want http; then
      HTTP_PORT=$(free_port)
      if nginx_start nginx 127.0.0.1 "$HTTP_PORT"; then
        section_http loopback 127.0.0.1 "$HTTP_PORT" "$HTTP_LARGE" "$HTTP_SMALL"
      else skip http loopback all nginx "nginx did not start"; fi
    fi
    if want smb; then
      SMB_PORT=$(free_port)
      if smbd_start smbd 127.0.0.1 "$SMB_PORT"; then
        section_smb loopback 127.0.0.1 "$SMB_PORT" "$SMB_LARGE" "$SMB_SMALL" "$SMB_LIST"
      else skip smb loopback all smbd "smbd did not start"; fi
    fi
  fi
  want filter && section_filter
  want memory && section_memory
  want synology && section_synology loopback 127.0.0.1 "$(free_port)"
  want xmp && section_script xmp
  want meta && section_script meta
  want takeout && section_script takeout
  if [ "$WAN" = 1 ] && want wan; then section_wan; fi
  write_report
  say "done in $(($(date +%s) - STARTED)) s"
}

main; exit $? # on one line: bash has read it before anyone edits this file mid-run
