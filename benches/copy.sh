#!/usr/bin/env bash
# copy.sh DATA_DIR [OUT] — time `strata copy` of a week of dumps (24 snapshots) from one local
# repository into another, once into a destination made with `init --copy-chunker-params` (blobs
# move as they are) and once into one with its own chunker parameters (every file re-chunked,
# deltas recomputed). Writes a markdown table to OUT (default benches/results/copy.md) and stdout.
#
# DATA_DIR is made by make-bench-data.sh (dumps-hex/dump_0.sql … dump_23.sql: a 1.08 GB pgbench
# dump, then one dump per hour of 3,000 transactions). Setup, not timed: the dumps are backed up
# in turn as `--stdin --stdin-name db.sql --set bench:week` into a source repository with the
# levels of a week — dump_0 full, every DIFF_EVERY-th (default 4th) a diff, the others incr — so
# the source holds one full, its diffs and incrs, every changed chunk a delta (at most 2 deep).
# Then, RUNS times (default 1: each run reads the whole week), for each scenario:
#   (same)  `strata init --copy-chunker-params --from-repo SRC` (not timed), then timed:
#           `strata copy --from-repo SRC` — every blob the destination lacks is read, checked and
#           sealed again; deltas stay deltas
#   (other) `strata init` (its own master key and chunker key, the same default chunk sizes; not
#           timed), then timed: `strata copy --from-repo SRC` — every changed file is read, chunked
#           and stored again, deltas against the copied parent
#   and, for each, a timed rerun (nothing to copy: lists, plans, skips).
# After each copy (not timed): `check` (`check --read-data` with QUICK=1), and the copies of the
# first and the last snapshot are dumped and compared with their dumps (cmp); any difference
# stops the script. The table gives per scenario: wall and CPU time (user + sys, from
# /usr/bin/time), peak RSS, logical MB/s (the 24 snapshots' file bytes / wall), blobs and
# plaintext bytes the copy stored (from `copy --json`), and the destination's size on disk next to
# the source's (`du -sb`, locks excluded: none are left).
#
# Settings: default `strata init` for the source and the (other) destination (default key: each
# command pays one key derivation, see `strata init --help`), passphrases from files
# (STRATA_PASSWORD_FILE, STRATA_FROM_PASSWORD_FILE). Repositories are read into the page cache
# before each timed command and every timed command starts after `sync`; strata fsyncs what it
# writes, so the copies' own writes are included.
#
# Env: STRATA_BIN    strata binary (default: target/release/strata of this checkout; this script
#                    never builds). Copied into the scratch directory first. STRATA_LABEL names it
#      RUNS          timed runs per scenario (default 1)
#      DUMPS         how many dumps make the week (default 24: dump_0 … dump_23)
#      DIFF_EVERY    every n-th snapshot is a diff (default 4; 0: none)
#      BENCH_TMPDIR  scratch parent (default target/copy-bench). Footprint at full size: the source
#                    (~1.2 GB) and one destination at a time (~1.2 GB), a staged dump, logs
#      KEEP_WORK=1   keep the scratch directory
#      BENCH_NOTE    a line of free text for the output
#      QUICK=1       smoke test: DUMPS=6 dumps, the first SLICE bytes (default 2·10^7) of each,
#                    RUNS=1, `check --read-data` after each copy; not a measurement. OUT defaults to
#                    a file in the scratch directory then.
# Needs /usr/bin/time, python3, cmp (Debian: apt-get install time python3 diffutils).
set -euo pipefail

usage() { echo "usage: $0 DATA_DIR [OUT]" >&2; exit 2; }
[[ $# -ge 1 && $# -le 2 ]] || usage
DATA=$(cd "$1" && pwd -P)
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
QUICK=${QUICK:-0}
if [[ $QUICK == 1 ]]; then
  RUNS=${RUNS:-1} DUMPS=${DUMPS:-6} SLICE=${SLICE:-20000000}
else
  RUNS=${RUNS:-1} DUMPS=${DUMPS:-24} SLICE=0
fi
DIFF_EVERY=${DIFF_EVERY:-4}
log() { echo "[copy $(date +%H:%M:%S)] $*" >&2; }
die() { echo "copy.sh: $*" >&2; exit 1; }

############################################################################ inputs and tools
DUMP_FILES=()
for i in $(seq 0 $((DUMPS - 1))); do
  f=$DATA/dumps-hex/dump_$i.sql
  [[ -f $f ]] || die "missing $f (run make-bench-data.sh $DATA)"
  DUMP_FILES+=("$f")
done
for t in python3 cmp; do command -v "$t" >/dev/null || die "needs $t"; done
[[ -x /usr/bin/time ]] || die "needs /usr/bin/time (apt-get install time)"
STRATA_BIN=${STRATA_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/strata}
[[ -x $STRATA_BIN ]] || die "no strata binary at $STRATA_BIN (build it, or set STRATA_BIN)"

############################################################################ scratch
SCRATCH=${BENCH_TMPDIR:-${CARGO_TARGET_DIR:-$ROOT/target}/copy-bench}
mkdir -p "$SCRATCH"
SCRATCH=$(cd "$SCRATCH" && pwd -P)
WORK=$(mktemp -d "$SCRATCH/run.XXXXXX")
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() { if [[ ${KEEP_WORK:-} == 1 ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi; }
trap cleanup EXIT
if [[ $QUICK == 1 ]]; then OUT=${2:-$WORK/copy-quick.md}; else OUT=${2:-$HERE/results/copy.md}; fi
mkdir -p "$WORK/logs" "$WORK/in"
AVAIL=$(df -B1 --output=avail "$WORK" | tail -1)
NEED=$((QUICK == 1 ? 1000000000 : 5000000000))
((AVAIL > NEED)) || die "$WORK: $((AVAIL / 1000000)) MB free, needs about $((NEED / 1000000)) MB"
BIN_DATE=$(date -u -r "$STRATA_BIN" +%FT%TZ)
cp "$STRATA_BIN" "$WORK/strata"
S=$WORK/strata
BIN_SUM=$(sha256sum "$S" | cut -c1-12)
STRATA_REV="${STRATA_LABEL:-$STRATA_BIN} ($("$S" --version), binary sha256 $BIN_SUM…, modified $BIN_DATE)"
SCRIPT_REV=$(git -C "$ROOT" log -1 --format=%h -- benches/copy.sh 2>/dev/null || true)
[[ -z $(git -C "$ROOT" status --porcelain -- benches/copy.sh 2>/dev/null) ]] || SCRIPT_REV="${SCRIPT_REV:+$SCRIPT_REV + }uncommitted changes"
SCRIPT_REV=${SCRIPT_REV:-unknown}

echo bench-passphrase >"$WORK/pw"
unset STRATA_REPOSITORY STRATA_PASSWORD STRATA_PASSWORD_COMMAND STRATA_FROM_REPOSITORY \
  STRATA_FROM_PASSWORD STRATA_FROM_PASSWORD_COMMAND || true
export STRATA_PASSWORD_FILE=$WORK/pw STRATA_FROM_PASSWORD_FILE=$WORK/pw

TSV=$WORK/results.tsv   # key run wall_ns rss_kib cpu_s sys_s load1 blobs bytes_new dest_bytes
NOTES=$WORK/notes.txt
: >"$TSV"; : >"$NOTES"
H=$WORK/h.py
cat >"$H" <<'PY'
import json, sys
cmd = sys.argv[1]
if cmd == "id":          # id: "id" of a backup's JSON on stdin
    print(json.load(sys.stdin)["id"])
elif cmd == "copy":      # copy: `copy --json` on stdin -> "copied skipped refused mode blobs bytes_new"
    r = json.load(sys.stdin)
    t = r["total"]
    print(r["copied"], r["skipped"], r["refused"], r["mode"], t["blobs"], t["bytes_new"])
elif cmd == "map":       # map SRC_ID: the destination ID of source snapshot SRC_ID (copy --json on stdin)
    r = json.load(sys.stdin)
    print(next(s["id"] for s in r["snapshots"] if s["source"] == sys.argv[2]))
PY
py() { python3 "$H" "$@"; }
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
FS=$(findmnt -no FSTYPE -T "$WORK" 2>/dev/null || echo unknown)
warm() { find "$@" -type f -exec cat {} + >/dev/null; }   # read into the page cache
repo_bytes() { du -sb --exclude=locks "$1" | cut -f1; }

# measure KEY RUN OUT CMD...: one timed command, stdout to OUT; appends
# "key run wall_ns rss_kib cpu_s sys_s load1" (the copy columns are added by the caller)
measure() {
  local key=$1 run=$2 out=$3 t0 t1 rc=0 rss cpu sys load
  shift 3
  local lg=$WORK/logs/$key-$run
  sync
  load=$(cut -d' ' -f1 /proc/loadavg)
  t0=$(date +%s%N)
  /usr/bin/time -f '%M %U %S' -o "$lg.time" "$@" >"$out" 2>"$lg.err" || rc=$?
  t1=$(date +%s%N)
  if [[ $rc != 0 ]]; then
    echo "($key) run $run failed with exit $rc: $*" >&2
    tail -20 "$lg.err" >&2
    exit 1
  fi
  read -r rss cpu sys <<<"$(tail -1 "$lg.time" | awk '{printf "%s %.2f %.2f", $1, $2 + $3, $3}')"
  LAST="$key\t$run\t$((t1 - t0))\t$rss\t$cpu\t$sys\t$load"
  log "($key) run $run: $(awk -v n=$((t1 - t0)) 'BEGIN{printf "%.2f", n/1e9}') s, cpu $cpu s, rss $rss KiB"
}

############################################################################ the source week
if [[ $QUICK == 1 ]]; then
  log "QUICK: the first $SLICE bytes of dump_0 … dump_$((DUMPS - 1))"
  for i in "${!DUMP_FILES[@]}"; do
    head -c "$SLICE" "${DUMP_FILES[$i]}" >"$WORK/in/dump_$i.sql"
    DUMP_FILES[i]=$WORK/in/dump_$i.sql
  done
fi
SRC=$WORK/src
"$S" -r "$SRC" -q init >"$WORK/logs/init" 2>&1
SIDS=() LEVELS=() LOGICAL=0
t0=$(date +%s)
for i in "${!DUMP_FILES[@]}"; do
  level=incr
  ((i == 0)) && level=full
  ((i > 0 && DIFF_EVERY > 0 && i % DIFF_EVERY == 0)) && level="diff"
  log "(source) dump_$i as $level, not timed"
  "$S" -r "$SRC" --json -q backup --stdin --stdin-name db.sql --set bench:week --level "$level" \
    <"${DUMP_FILES[$i]}" >"$WORK/logs/backup.json" 2>"$WORK/logs/backup.err" ||
    { tail -20 "$WORK/logs/backup.err" >&2; die "backup of dump_$i failed"; }
  SIDS+=("$(py id <"$WORK/logs/backup.json")")
  LEVELS+=("$level")
  LOGICAL=$((LOGICAL + $(stat -c %s "${DUMP_FILES[$i]}")))
done
SRC_SECS=$(($(date +%s) - t0))
SRC_BYTES=$(repo_bytes "$SRC")
LAST_I=$((${#SIDS[@]} - 1))
echo "- source: ${#SIDS[@]} snapshots of one dump (set bench:week, $(printf '%s\n' "${LEVELS[@]}" | sort | uniq -c | awk '{printf "%s%s %s", (NR > 1 ? ", " : ""), $1, $2}')), $LOGICAL logical bytes, repository $SRC_BYTES bytes; backed up in $SRC_SECS s (not timed precisely)" >>"$NOTES"

############################################################################ scenarios
# scenario KEY LABEL INIT_ARGS...: RUNS × (fresh destination, timed copy, checks, timed rerun)
scenario() {
  local key=$1 label=$2 run d out
  shift 2
  for run in $(seq 1 "$RUNS"); do
    d=$WORK/dst-$key
    rm -rf "$d"
    "$S" -r "$d" -q init "$@" >>"$WORK/logs/init" 2>&1 || die "($key) init $* failed"
    warm "$SRC" "$d"
    out=$WORK/logs/$key-$run.json
    measure "$key" "$run" "$out" "$S" -r "$d" --json -q copy --from-repo "$SRC"
    read -r copied skipped refused mode blobs bytes_new <<<"$(py copy <"$out")"
    ((copied == ${#SIDS[@]} && refused == 0)) || die "($key) copied $copied of ${#SIDS[@]}, refused $refused"
    printf '%b\t%s\t%s\t%s\t%s\n' "$LAST" "$blobs" "$bytes_new" "$(repo_bytes "$d")" "$label ($mode)" >>"$TSV"
    log "($key) checking the copies (not timed)"
    if [[ $QUICK == 1 ]]; then
      "$S" -r "$d" -q check --read-data >"$WORK/logs/check" 2>&1 || { cat "$WORK/logs/check" >&2; die "($key) check --read-data failed"; }
    else
      "$S" -r "$d" -q check >"$WORK/logs/check" 2>&1 || { cat "$WORK/logs/check" >&2; die "($key) check failed"; }
    fi
    for i in 0 "$LAST_I"; do
      "$S" -r "$d" -q dump "$(py map "${SIDS[$i]}" <"$out")" /db.sql >"$WORK/restored.sql"
      cmp -s "$WORK/restored.sql" "${DUMP_FILES[$i]}" || die "($key) the copy of snapshot $i (${LEVELS[$i]}) differs from dump_$i"
      rm -f "$WORK/restored.sql"
    done
    warm "$SRC" "$d"
    measure "$key-rerun" "$run" "$WORK/logs/$key-rerun-$run.json" "$S" -r "$d" --json -q copy --from-repo "$SRC"
    read -r copied skipped refused mode blobs bytes_new <<<"$(py copy <"$WORK/logs/$key-rerun-$run.json")"
    ((copied == 0 && skipped == ${#SIDS[@]})) || die "($key) the rerun copied $copied, skipped $skipped"
    printf '%b\t%s\t%s\t%s\t%s\n' "$LAST" "$blobs" "$bytes_new" "$(repo_bytes "$d")" "$label, rerun (nothing to copy)" >>"$TSV"
    [[ ${KEEP_WORK:-} == 1 ]] || rm -rf "$d"
  done
}
scenario same "same chunker parameters (init --copy-chunker-params)" --copy-chunker-params --from-repo "$SRC"
scenario other "other chunker parameters (plain init)"
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

############################################################################ table
mkdir -p "$(dirname "$OUT")"
{
  echo "# strata copy: a week of dumps between two local repositories"
  echo
  echo "- date: $(date -u +%FT%TZ), host: $(uname -n), nproc: $(nproc), memory: $(free -g | awk '/^Mem:/ {print $2}') GiB, filesystem: $FS"
  echo "- strata: $STRATA_REV; script: benches/copy.sh ($SCRIPT_REV)"
  echo "- command: \`$([[ $QUICK == 1 ]] && echo 'QUICK=1 ')RUNS=$RUNS DUMPS=$DUMPS DIFF_EVERY=$DIFF_EVERY benches/copy.sh $DATA\`$([[ $QUICK == 1 ]] && echo " — QUICK: first $SLICE bytes of each dump; a smoke test, not a measurement")"
  echo "- runs: $RUNS per scenario, each into a fresh destination, medians; repositories read into the page cache and \`sync\` before each timed command; CPU s = user + sys (sys in parentheses); MB = 10^6 bytes; MB/s = the snapshots' logical bytes ($LOGICAL) / wall"
  echo "- load average at start: $LOAD_START; at end: $LOAD_END (1/5/15 min)"
  [[ -n ${BENCH_NOTE:-} ]] && echo "- note: $BENCH_NOTE"
  echo
  python3 - "$TSV" "$LOGICAL" "$SRC_BYTES" <<'PY'
import statistics, sys
from collections import OrderedDict
rows = OrderedDict()
for line in open(sys.argv[1]):
    key, run, ns, rss, cpu, sys_s, load, blobs, new, dest, label = line.rstrip("\n").split("\t")
    rows.setdefault(key, dict(label=label, x=[]))["x"].append(
        (int(ns) / 1e9, int(rss) / 1024, float(cpu), float(sys_s), int(blobs), int(new), int(dest)))
logical, src = int(sys.argv[2]), int(sys.argv[3])
med = statistics.median
print("| scenario | wall s (min–max) | logical MB/s | CPU s (sys) | peak RSS MiB | blobs stored | their plaintext MB | destination MB (source MB) |")
print("|---|---|---|---|---|---|---|---|")
for key, r in rows.items():
    x = r["x"]
    walls = [v[0] for v in x]
    w = med(walls)
    spread = f" ({min(walls):.2f}–{max(walls):.2f})" if len(x) > 1 else ""
    print(f"| {r['label']} | {w:.2f}{spread} | {logical / 1e6 / w:.0f} | {med([v[2] for v in x]):.2f} ({med([v[3] for v in x]):.2f}) "
          f"| {med([v[1] for v in x]):.0f} | {med([v[4] for v in x]):.0f} | {med([v[5] for v in x]) / 1e6:.1f} "
          f"| {med([v[6] for v in x]) / 1e6:.1f} ({src / 1e6:.1f}) |")
PY
  echo
  cat "$NOTES"
} >"$OUT"
cat "$OUT"
[[ $QUICK == 1 && -z ${2:-} && ${KEEP_WORK:-} != 1 ]] && log "QUICK output was in the scratch directory (removed); pass OUT to keep it"
exit 0
