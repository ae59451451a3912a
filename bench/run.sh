#!/usr/bin/env bash
# Speed baselines: R, Python and (when it exists) `sclerad analyze`.
#
#   bench/run.sh [N ...]          default N: 77 10000 100000 1000000
#
# Environment:
#   REPEATS  runs per implementation and size (default 3; the median is shown)
#   TIMEOUT  seconds before a run is killed (default 600); a killed run is
#            reported as "did not finish in TIMEOUT s" and not repeated
#   IMPLS    which implementations to time (default "R Python Rust")
#
# Bundles are written with `sclerad synth --patients N --seed 1` to
# bench/data/bN (skipped when already there); outputs go to bench/out/.
# Each run is timed end to end (whole process: start-up, reading, analysis,
# writing) with /usr/bin/time -v: wall clock and maximum resident set size.
# A markdown table goes to stdout; progress goes to stderr.
set -euo pipefail

BENCH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH/.." && pwd)"
cd "$ROOT"

SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(77 10000 100000 1000000)
REPEATS="${REPEATS:-3}"
TIMEOUT="${TIMEOUT:-600}"
IMPLS="${IMPLS:-R Python Rust}"
BIN="$ROOT/target/release/sclerad"
DATA="$BENCH/data"
OUT="$BENCH/out"
mkdir -p "$DATA" "$OUT"

log() { echo "[run.sh] $*" >&2; }

if [ ! -x "$BIN" ]; then
  log "building $BIN"
  cargo build --release -p sclerad-cli >&2
fi

has_analyze=no
if "$BIN" --help 2>/dev/null | grep -Eq '^[[:space:]]+analyze([[:space:]]|$)'; then
  has_analyze=yes
fi

# generate bundles
for n in "${SIZES[@]}"; do
  if [ -f "$DATA/b$n/patients.csv" ]; then
    log "bundle b$n exists, skipped"
  else
    log "generating b$n"
    "$BIN" synth --patients "$n" --seed 1 --out "$DATA/b$n" --force >&2
  fi
done

# cmd_for IMPL N -> prints the command (one word per line)
cmd_for() {
  local impl=$1 n=$2
  case $impl in
    R)      printf '%s\n' Rscript "$BENCH/analysis.R" "$DATA/b$n" "$OUT/R-b$n.json" ;;
    Python) printf '%s\n' python3 "$BENCH/analysis.py" "$DATA/b$n" "$OUT/Python-b$n.json" ;;
    Rust)   printf '%s\n' "$BIN" analyze "$DATA/b$n" --out "$OUT/Rust-b$n" ;;
  esac
}

# wall clock "h:mm:ss" or "m:ss.cc" -> seconds
to_seconds() {
  awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; printf "%.2f", s }' <<<"$1"
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }

# measure IMPL N -> prints "wall_s<TAB>maxrss_mib<TAB>note"
measure() {
  local impl=$1 n=$2 walls=() rss=() i tf status
  mapfile -t cmd < <(cmd_for "$impl" "$n")
  for ((i = 1; i <= REPEATS; i++)); do
    tf=$(mktemp)
    log "$impl b$n run $i/$REPEATS: ${cmd[*]}"
    set +e
    /usr/bin/time -v -o "$tf" timeout -s KILL "$TIMEOUT" "${cmd[@]}" >"$OUT/$impl-b$n.log" 2>&1
    status=$?
    set -e
    if [ $status -eq 137 ] || [ $status -eq 124 ]; then
      rm -f "$tf"
      printf -- '-\t-\tdid not finish in %s s\n' "$TIMEOUT"
      return
    fi
    if [ $status -ne 0 ]; then
      rm -f "$tf"
      printf -- '-\t-\tfailed (exit %s, see bench/out/%s-b%s.log)\n' "$status" "$impl" "$n"
      return
    fi
    walls+=("$(to_seconds "$(sed -n 's/.*Elapsed (wall clock) time.*: //p' "$tf")")")
    rss+=("$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$tf")")
    rm -f "$tf"
  done
  local w r
  w=$(printf '%s\n' "${walls[@]}" | median)
  r=$(printf '%s\n' "${rss[@]}" | median)
  printf '%s\t%s\t%s\n' "$w" "$(awk -v k="$r" 'BEGIN { printf "%.0f", k / 1024 }')" \
    "runs: $(IFS=' '; echo "${walls[*]}") s"
}

echo "| implementation | patients | wall time, s (median of $REPEATS) | max RSS, MiB (median) | note |"
echo "|---|---:|---:|---:|---|"
for n in "${SIZES[@]}"; do
  for impl in $IMPLS; do
    if [ "$impl" = Rust ] && [ "$has_analyze" = no ]; then
      echo "| Rust \`sclerad analyze\` | $n | PLACEHOLDER | PLACEHOLDER | not measured: \`sclerad analyze\` does not exist in this build |"
      continue
    fi
    IFS=$'\t' read -r w r note < <(measure "$impl" "$n")
    label=$impl
    [ "$impl" = Rust ] && label="Rust \`sclerad analyze\`"
    echo "| $label | $n | $w | $r | $note |"
  done
done
