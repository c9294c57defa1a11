#!/usr/bin/env bash
# vs_restic.sh DATA_DIR [OUT] — back up the same data with strata, restic and borg and compare
# wall time, throughput, repository size and peak RSS. Writes a markdown table to OUT
# (default benches/results/vs_restic.md) and to stdout.
#
# DATA_DIR is made by make-bench-data.sh (dumps-hex/, tree_v1/, tree_v2/). Scenarios:
#   (a) dumps-hex/dump_0.sql, first backup into a fresh repository
#   (d) dumps-hex/dump_1.sql into the repository from (a): the bytes the second dump adds
#   (b) tree_v1, first backup into a fresh repository
#   (c) tree_v2 into the repository from (b). Both trees are staged at ONE path (a copy of
#       tree_v1, then `rsync -a --delete` of tree_v2 over it), as a real directory that
#       changes between backups, so that restic (parent snapshot), borg (files cache) and
#       strata (parent change detection, in builds that have it) can skip unchanged files.
#
# Every scenario runs RUNS times (default 3) into fresh repositories, tools interleaved
# within a run; the table gives medians (wall: median with min–max). The inputs are read
# once before timing, so every tool reads them from the page cache (dropping the cache
# needs privileges a container may lack); what is measured is CPU and repository writes.
#
# Settings: strata `init --kdf-memory-mib 16 --kdf-iterations 2` (cheap KDF; defaults
# otherwise), restic defaults (0.14+: repository v2, compression auto), borg
# `init -e repokey-blake2` and `create --compression zstd,3`.
#
# Env: STRATA_BIN   strata binary (default: `cargo build --release -p strata-cli`, then
#                   target/release/strata); STRATA_LABEL names it in the table
#      RUNS         runs per scenario (default 3); BORG_RUNS for borg alone (default RUNS)
#      BENCH_TMPDIR where repositories and the staged tree go (default target/; needs
#                   about 5 GB free)
#      KEEP_WORK=1  keep that scratch directory (repositories, logs) for inspection
#
# Needs restic, borg, rsync, /usr/bin/time and python3; installs them with apt-get when
# missing (Debian, as root).
#
# For a quick paired timing of one scenario, run the two commands alternately (A B A B ...)
# and compare pair by pair, so that drift in machine speed cancels out, e.g.:
#   for i in 1 2 3; do
#     strata -r /tmp/s$i -q init --kdf-memory-mib 16 --kdf-iterations 2; restic -r /tmp/r$i init
#     /usr/bin/time -f 'strata %e s %M KiB' strata -r /tmp/s$i -q backup FILE
#     /usr/bin/time -f 'restic %e s %M KiB' restic -r /tmp/r$i backup -q FILE
#   done
set -euo pipefail

usage() { echo "usage: $0 DATA_DIR [OUT]" >&2; exit 2; }
[[ $# -ge 1 && $# -le 2 ]] || usage
DATA=$(cd "$1" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
OUT=${2:-$HERE/results/vs_restic.md}
RUNS=${RUNS:-3}
BORG_RUNS=${BORG_RUNS:-$RUNS}
log() { echo "[vs_restic $(date +%H:%M:%S)] $*" >&2; }

DUMP0=$DATA/dumps-hex/dump_0.sql
DUMP1=$DATA/dumps-hex/dump_1.sql
for p in "$DUMP0" "$DUMP1" "$DATA/tree_v1" "$DATA/tree_v2"; do
  [[ -e $p ]] || { echo "missing $p (run make-bench-data.sh $DATA)" >&2; exit 1; }
done

############################################################################ tools
need=()
command -v restic >/dev/null || need+=(restic)
command -v borg >/dev/null || need+=(borgbackup)
command -v rsync >/dev/null || need+=(rsync)
[[ -x /usr/bin/time ]] || need+=(time)
command -v python3 >/dev/null || need+=(python3)
if ((${#need[@]})); then
  log "installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
if [[ -z ${STRATA_BIN:-} ]]; then
  log "building strata (release)"
  (cd "$ROOT" && cargo build --release -q -p strata-cli) ||
    { echo "building strata failed; point STRATA_BIN at a built binary" >&2; exit 1; }
  STRATA_BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/strata
  STRATA_REV="$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown) (work tree)"
fi
[[ -x $STRATA_BIN ]] || { echo "STRATA_BIN=$STRATA_BIN is not executable" >&2; exit 1; }
STRATA_REV="${STRATA_LABEL:-${STRATA_REV:-$STRATA_BIN}}, $("$STRATA_BIN" --version)"

############################################################################ scratch
SCRATCH=${BENCH_TMPDIR:-${CARGO_TARGET_DIR:-$ROOT/target}}
mkdir -p "$SCRATCH"
WORK=$(mktemp -d "$SCRATCH/vs-restic.XXXXXX")
cleanup() { [[ ${KEEP_WORK:-} == 1 ]] && log "kept $WORK" || rm -rf "$WORK"; }
trap cleanup EXIT
mkdir -p "$WORK/logs"
# A private copy: a rebuild of target/release/strata during the run must not swap binaries.
cp "$STRATA_BIN" "$WORK/strata"
STRATA_BIN=$WORK/strata
# Each tool gets its own cache and config under WORK, so nothing outside is touched and no
# earlier run's cache helps a later one.
export STRATA_PASSWORD=bench-passphrase RESTIC_PASSWORD=bench-passphrase BORG_PASSPHRASE=bench-passphrase
export RESTIC_CACHE_DIR=$WORK/restic-cache BORG_BASE_DIR=$WORK/borg-base
unset STRATA_REPOSITORY STRATA_PASSWORD_FILE STRATA_PASSWORD_COMMAND RESTIC_REPOSITORY \
  RESTIC_PASSWORD_FILE RESTIC_COMPRESSION RESTIC_PACK_SIZE BORG_REPO || true
TSV=$WORK/results.tsv
LOAD_START=$(uptime)

tool_init() { # TOOL REPO
  case $1 in
    strata) "$STRATA_BIN" -r "$2" -q init --kdf-memory-mib 16 --kdf-iterations 2 ;;
    restic) restic -r "$2" init ;;
    borg) borg init -e repokey-blake2 "$2" ;;
  esac >>"$WORK/logs/init" 2>&1
}

SEQ=0
WARNINGS=()
backup_cmd() { # TOOL REPO PATH: sets CMD to the backup command line
  case $1 in
    strata) CMD=("$STRATA_BIN" -r "$2" -q backup "$3") ;;
    restic) CMD=(restic -r "$2" backup -q "$3") ;;
    borg) SEQ=$((SEQ + 1)); CMD=(borg create --compression zstd,3 "$2::s$SEQ" "$3") ;;
  esac
}

# measure SCENARIO TOOL RUN REPO PATH: one timed backup; appends a line to TSV.
measure() {
  local sc=$1 tool=$2 run=$3 repo=$4 src=$5 before=0 t0 t1 rc=0 rss size
  [[ $sc == c || $sc == d ]] && before=$(du -sb "$repo" | cut -f1)
  local lg=$WORK/logs/$sc-$tool-$run
  backup_cmd "$tool" "$repo" "$src"
  t0=$(date +%s%N)
  /usr/bin/time -v -o "$lg.time" "${CMD[@]}" >"$lg.out" 2>&1 || rc=$?
  t1=$(date +%s%N)
  # Exit 3 (strata, restic) and 1 (borg) mean "done, with warnings": keep the figure, say so.
  if [[ $rc != 0 ]]; then
    if [[ $rc == 3 && $tool != borg ]] || [[ $rc == 1 && $tool == borg ]]; then
      WARNINGS+=("($sc) $tool run $run exited $rc: $(grep -m1 -i warn "$lg.out" || tail -1 "$lg.out")")
    else
      echo "$tool backup ($sc, run $run) failed with exit $rc:" >&2
      tail -20 "$lg.out" >&2
      exit 1
    fi
  fi
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$lg.time")
  size=$(($(du -sb "$repo" | cut -f1) - before))
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$sc" "$tool" "$run" "$((t1 - t0))" "$rss" "$size" >>"$TSV"
  log "($sc) $tool run $run: $(awk -v n=$((t1 - t0)) 'BEGIN{printf "%.1f", n/1e9}') s, rss $rss KiB, repo +$size B"
}

tools_for_run() { # RUN
  echo strata restic
  (($1 <= BORG_RUNS)) && echo borg
  return 0
}

############################################################################ warm-up
log "reading the inputs once (page cache)"
cat "$DUMP0" "$DUMP1" >/dev/null
tar -C "$DATA" -cf - tree_v1 tree_v2 | cat >/dev/null
file_bytes() { find "$1" -type f -printf '%s\n' | awk '{s+=$1} END {print s+0}'; }
BYTES_A=$(stat -c %s "$DUMP0")
BYTES_D=$(stat -c %s "$DUMP1")
BYTES_B=$(file_bytes "$DATA/tree_v1")
BYTES_C=$(file_bytes "$DATA/tree_v2")
IDEAL_D=$(awk -F'\t' '$1 == "dump_1" {print $4}' "$DATA/dumps-hex/deltas.tsv" 2>/dev/null || true)

############################################################################ runs
STAGE=$WORK/src/tree
for run in $(seq 1 "$RUNS"); do
  tools=$(tools_for_run "$run")
  log "run $run/$RUNS: trees"
  rm -rf "$WORK/src" && mkdir -p "$STAGE"
  cp -a "$DATA/tree_v1/." "$STAGE/"
  sync
  for t in $tools; do
    tool_init "$t" "$WORK/repo-tree-$t-$run"
    measure b "$t" "$run" "$WORK/repo-tree-$t-$run" "$STAGE"
  done
  rsync -a --delete "$DATA/tree_v2/" "$STAGE/"
  sync
  for t in $tools; do
    measure c "$t" "$run" "$WORK/repo-tree-$t-$run" "$STAGE"
    rm -rf "$WORK/repo-tree-$t-$run"
  done
  log "run $run/$RUNS: dumps"
  for t in $tools; do
    tool_init "$t" "$WORK/repo-dump-$t-$run"
    measure a "$t" "$run" "$WORK/repo-dump-$t-$run" "$DUMP0"
  done
  for t in $tools; do
    measure d "$t" "$run" "$WORK/repo-dump-$t-$run" "$DUMP1"
    rm -rf "$WORK/repo-dump-$t-$run"
  done
done
LOAD_END=$(uptime)

############################################################################ table
mkdir -p "$(dirname "$OUT")"
python3 - "$TSV" >"$OUT" <<EOF
import statistics, sys
from collections import defaultdict
rows = defaultdict(list)
for line in open(sys.argv[1]):
    sc, tool, run, ns, rss, size = line.split("\t")
    rows[sc, tool].append((int(ns) / 1e9, int(rss) / 1024, int(size)))
names = {
    "a": ("(a) dumps-hex/dump_0.sql, first backup", $BYTES_A),
    "d": ("(d) dumps-hex/dump_1.sql into (a)'s repo", $BYTES_D),
    "b": ("(b) tree_v1, first backup", $BYTES_B),
    "c": ("(c) tree_v2 into (b)'s repo (same path)", $BYTES_C),
}
print("# strata vs restic vs borg")
print()
print("- date: $(date -u +%Y-%m-%dT%H:%M:%SZ), host: $(hostname), nproc: $(nproc), memory: $(free -g | awk '/^Mem:/ {print $2}') GiB")
print("- strata: $STRATA_REV; $(restic version | cut -d' ' -f1-2); $(borg --version)")
print("- runs: $RUNS (borg: $(( BORG_RUNS < RUNS ? BORG_RUNS : RUNS ))), medians; inputs in the page cache (read once before timing)")
print("- load at start: \`$(echo "$LOAD_START" | sed 's/.*load average/load average/')\`")
print("- load at end: \`$(echo "$LOAD_END" | sed 's/.*load average/load average/')\`")
print("- repo MB: total repository size (du -sb) for first backups (a, b), bytes added for (c, d);"
      " MB = 10^6 bytes; MB/s = input bytes / wall (for (c) the whole tree, though restic and borg"
      " read only changed files); ratios are strata / other (wall < 1 and MB/s > 1: strata faster)")
if "$IDEAL_D":
    print("- (d) for scale: dumps-hex/deltas.tsv counts $IDEAL_D bytes of new lines in dump_1.sql")
print()
print("| scenario | tool | wall s (min–max) | MB/s | repo MB | peak RSS MiB |")
print("|---|---|---|---|---|---|")
for sc in "adbc":
    label, nbytes = names[sc]
    med = {}
    for tool in ("strata", "restic", "borg"):
        r = rows.get((sc, tool))
        if not r:
            continue
        walls = [x[0] for x in r]
        wall = statistics.median(walls)
        rss = statistics.median(x[1] for x in r)
        size = statistics.median(x[2] for x in r)
        med[tool] = (wall, nbytes / 1e6 / wall, size, rss)
        spread = f" ({min(walls):.1f}–{max(walls):.1f})" if len(walls) > 1 else ""
        print(f"| {label} | {tool} | {wall:.1f}{spread} | {nbytes / 1e6 / wall:.0f} | {size / 1e6:.1f} | {rss:.0f} |")
        label = ""
    for other in ("restic", "borg"):
        if "strata" in med and other in med:
            s, o = med["strata"], med[other]
            ratio = lambda i: f"{s[i] / o[i]:.2f}" if o[i] else "–"
            print(f"| | strata/{other} | {ratio(0)} | {ratio(1)} | {ratio(2)} | {ratio(3)} |")
EOF
for w in "${WARNINGS[@]}"; do echo "- warning: $w" >>"$OUT"; done
cat "$OUT"
