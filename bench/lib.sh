# Helpers for bench/run.sh (sourced, not run). See bench/README.md.
#
# Every measurement is one line of $RESULTS (tab-separated):
#   section profile case tool run seconds bytes items rss_kib cpu_s status note
# status is ok, fail or skip; run is "warmup", 1..N, or "-" for skips.
# bench/report turns the file into docs/performance.md and the chart.

say()  { printf '%s [bench] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
warn() { say "WARNING: $*"; }

record() { # section profile case tool run seconds bytes items rss cpu status note
  local IFS=$'\t'
  local note=${12:-}
  note=${note//$'\t'/ }
  note=${note//$'\n'/ }
  printf '%s\n' "$1	$2	$3	$4	$5	$6	$7	$8	$9	${10}	${11}	${note:0:300}" >>"$RESULTS"
}

# skip SECTION PROFILE CASE TOOL REASON: a comparison that could not run.
skip() {
  say "skipped: $1/$3 $4: $5"
  record "$1" "$2" "$3" "$4" - 0 0 0 0 0 skip "$5"
}

# free_port: a TCP port nobody listens on at the moment (on the host).
free_port() {
  local p
  for _ in $(seq 1 200); do
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return 0
    fi
  done
  return 1
}

# wait_port HOST PORT [SECONDS]: until something accepts connections there.
wait_port() {
  local i
  for i in $(seq 1 $((${3:-15} * 10))); do
    if (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  return 1
}

# start_bg NAME CMD...: start a server in the background, remember its PID
# (LAST_PID) so cleanup stops exactly it.
start_bg() {
  local name=$1
  shift
  setsid "$@" >"$WORK/log/$name.log" 2>&1 &
  LAST_PID=$!
  PIDS+=("$LAST_PID")
}

stop_pid() {
  local pid=$1 i
  kill "$pid" 2>/dev/null || return 0
  for i in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null
}

# tree_stats DIR: "files bytes" of the regular, non-hidden files under DIR
# (ps-fetch's manifest and temporary files are hidden).
tree_stats() {
  find "$1" -type f -not -name '.*' -not -name '*.part' -not -name '*.aria2' -printf '%s\n' 2>/dev/null |
    awk '{n++; s+=$1} END {printf "%d %.0f\n", n, s}'
}

median_of() { sort -g | awk '{a[NR]=$1} END {if (NR==0) print 0; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

# ---------------------------------------------------------------------------
# Comparisons. A case is declared, tools are added, then case_run measures
# them: one warm-up round, then $RUNS rounds with the tools in rotating order
# so that drift on a shared machine hits every tool alike.
#
#   case_begin SECTION PROFILE CASE ITEMS BYTES
#   case_tool  LABEL 'shell command'      (run by bash -c; $DEST and $OUT are set)
#   case_run   VERIFY_FUNCTION
#
# Before every run DEST is emptied. VERIFY_FUNCTION LABEL DEST OUT prints
# nothing when the run did the whole job, else what is wrong: a tool that
# fails or does half the work is never reported as fast.
# ---------------------------------------------------------------------------
case_begin() {
  C_SECTION=$1 C_PROFILE=$2 C_CASE=$3 C_ITEMS=$4 C_BYTES=$5
  C_LABELS=() C_CMDS=()
}

case_tool() { C_LABELS+=("$1"); C_CMDS+=("$2"); }

# run_once LABEL CMD RUN VERIFY: measure one run; returns 1 when it failed.
run_once() {
  local label=$1 cmd=$2 run=$3 verify=$4
  local dest="$WORK/dest" out="$WORK/out/$label.out" err="$WORK/out/$label.err" tf="$WORK/out/$label.time"
  rm -rf "$dest"
  mkdir -p "$dest" "$WORK/out"
  sync_caches
  local t0 t1 rc secs rss=0 cpu=0 problem
  t0=$(date +%s%N)
  if [ -x /usr/bin/time ]; then
    DEST=$dest OUT=$out /usr/bin/time -f "%M %U %S" -o "$tf" timeout -k 5 "$CASE_TIMEOUT" bash -c "$cmd" >"$out" 2>"$err" </dev/null
  else
    DEST=$dest OUT=$out timeout -k 5 "$CASE_TIMEOUT" bash -c "$cmd" >"$out" 2>"$err" </dev/null
  fi
  rc=$?
  t1=$(date +%s%N)
  secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", (b-a)/1e9}')
  if [ -s "$tf" ]; then
    read -r rss cpu < <(tail -n 1 "$tf" | awk 'NF==3 {printf "%d %.2f\n", $1, $2+$3}') || true
  fi
  rm -f "$tf"
  problem=""
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    problem="timed out after ${CASE_TIMEOUT}s"
  elif [ "$rc" -ne 0 ]; then
    problem="exit $rc: $(grep -v '^\s*$' "$err" | grep -v 'Command exited with non-zero status' | tail -n 2 | tr '\n' ' ')"
  else
    problem=$("$verify" "$label" "$dest" "$out")
  fi
  if [ -n "$problem" ]; then
    say "  $label run $run: FAILED ($problem)"
    record "$C_SECTION" "$C_PROFILE" "$C_CASE" "$label" "$run" "$secs" "$C_BYTES" "$C_ITEMS" "${rss:-0}" "${cpu:-0}" fail "$problem"
    return 1
  fi
  say "  $label run $run: ${secs}s"
  record "$C_SECTION" "$C_PROFILE" "$C_CASE" "$label" "$run" "$secs" "$C_BYTES" "$C_ITEMS" "${rss:-0}" "${cpu:-0}" ok ""
}

case_run() {
  local verify=$1 i r n=${#C_LABELS[@]}
  local -a alive=()
  say "$C_SECTION [$C_PROFILE] $C_CASE: ${C_LABELS[*]}"
  for ((i = 0; i < n; i++)); do
    if run_once "${C_LABELS[$i]}" "${C_CMDS[$i]}" warmup "$verify"; then
      alive+=("$i")
    fi
  done
  [ ${#alive[@]} -eq 0 ] && return 0
  for ((r = 1; r <= RUNS; r++)); do
    local m=${#alive[@]} k
    for ((k = 0; k < m; k++)); do
      i=${alive[$(((k + r) % m))]}
      run_once "${C_LABELS[$i]}" "${C_CMDS[$i]}" "$r" "$verify" || true
    done
  done
  rm -rf "$WORK/dest"
}

# sync_caches: the data sets live in RAM (tmpfs) or the page cache; keep
# dirty pages of the previous run from being written back during this one.
sync_caches() { sync 2>/dev/null || true; }

# Verifiers ---------------------------------------------------------------

# verify_tree: DEST must hold exactly C_ITEMS files of C_BYTES bytes.
verify_tree() {
  local got
  got=$(tree_stats "$2")
  if [ "$got" != "$C_ITEMS $C_BYTES" ]; then
    echo "expected $C_ITEMS files / $C_BYTES bytes in the output folder, found ${got/ / files \/ } bytes"
  fi
}

# verify_lines_PATTERN: OUT must hold C_ITEMS lines (matching a pattern).
verify_item_lines() {
  local got
  got=$(grep -c '"type":"item"' "$3")
  [ "$got" = "$C_ITEMS" ] || echo "expected $C_ITEMS item records, got $got"
}

verify_lines() {
  local got
  got=$(wc -l <"$3")
  [ "$got" = "$C_ITEMS" ] || echo "expected $C_ITEMS lines, got $got"
}

verify_lsjson_files() {
  local got
  got=$(grep -c '"IsDir":false' "$3")
  [ "$got" = "$C_ITEMS" ] || echo "expected $C_ITEMS files in the listing, got $got"
}

# verify_results: ps-fetch wrote C_ITEMS result records and DEST holds the files.
verify_fetch() {
  local problem
  problem=$(verify_tree "$@")
  [ -n "$problem" ] && { echo "$problem"; return; }
  local got
  got=$(grep -c '"type":"result"' "$3")
  [ "$got" = "$C_ITEMS" ] || echo "expected $C_ITEMS result records, got $got"
}

# commas 1000000 → 1,000,000 (labels people read).
commas() { printf '%s' "$1" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta'; }
