#!/usr/bin/env bash
# check_vs_restic.sh DATA_DIR [OUT] — time `strata check --read-data` against
# `restic check --read-data` on repositories built from the same input, and write a markdown
# table (wall time, read throughput, peak RSS, strata/restic ratio) to OUT (default
# benches/results/check_vs_restic.md) and to stdout.
#
# DATA_DIR is made by make-bench-data.sh. The input is dumps-hex/dump_0.sql, then
# dumps-hex/dump_1.sql (two snapshots; together about 2 GiB), then tree_v1 as a third snapshot
# only if the two dumps are below INPUT_GIB. Both repositories get the same snapshots in the
# same order. Each check runs RUNS times, the two tools interleaved (strata, restic, strata,
# …) so drift in machine speed hits both; the table gives medians (wall: median with
# min–max) and peak RSS from /usr/bin/time -v. Both repositories are read once before timing,
# so the checks read them from the page cache: what is measured is CPU (decrypt, decompress,
# re-hash) and the tools' own I/O paths, not the disk.
#
# Settings: strata `init --kdf-memory-mib 16 --kdf-iterations 2` (cheap KDF; defaults
# otherwise), `-q check --read-data`; restic defaults (0.14+: repository v2, compression
# auto), `check --read-data` (restic uses a fresh temporary cache for check by default).
#
# Env: STRATA_BIN   strata binary (default: `cargo build --release -p strata-cli`, then
#                   target/release/strata); STRATA_LABEL names it in the table
#      RUNS         timed runs per tool (default 3)
#      INPUT_GIB    add tree_v1 when the dumps are below this many GiB (default 2)
#      RESTIC_ONLY=1  build and time the restic half only (for trying the script on a build
#                   whose `strata check --read-data` does not exist yet)
#      BENCH_TMPDIR where repositories go (default target/; needs about 3 GB free)
#      KEEP_WORK=1  keep that scratch directory (repositories, logs) for inspection
#
# Needs restic, /usr/bin/time and python3; installs them with apt-get when missing (Debian,
# as root). A check that exits non-zero (damage found, or the command failed) stops the run.
set -euo pipefail

usage() { echo "usage: $0 DATA_DIR [OUT]" >&2; exit 2; }
[[ $# -ge 1 && $# -le 2 ]] || usage
DATA=$(cd "$1" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
OUT=${2:-$HERE/results/check_vs_restic.md}
RUNS=${RUNS:-3}
INPUT_GIB=${INPUT_GIB:-2}
RESTIC_ONLY=${RESTIC_ONLY:-0}
log() { echo "[check_vs_restic $(date +%H:%M:%S)] $*" >&2; }

DUMP0=$DATA/dumps-hex/dump_0.sql
DUMP1=$DATA/dumps-hex/dump_1.sql
for p in "$DUMP0" "$DUMP1"; do
  [[ -e $p ]] || { echo "missing $p (run make-bench-data.sh $DATA)" >&2; exit 1; }
done
INPUTS=("$DUMP0" "$DUMP1")
input_bytes() { du -sb --apparent-size "$@" | awk '{s+=$1} END {print s+0}'; }
if (($(input_bytes "${INPUTS[@]}") < INPUT_GIB * 1024 * 1024 * 1024)); then
  [[ -d $DATA/tree_v1 ]] || { echo "missing $DATA/tree_v1 (needed to reach $INPUT_GIB GiB)" >&2; exit 1; }
  INPUTS+=("$DATA/tree_v1")
fi
INPUT_BYTES=$(input_bytes "${INPUTS[@]}")

############################################################################ tools
need=()
command -v restic >/dev/null || need+=(restic)
[[ -x /usr/bin/time ]] || need+=(time)
command -v python3 >/dev/null || need+=(python3)
if ((${#need[@]})); then
  log "installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
TOOLS=(strata restic)
if [[ $RESTIC_ONLY == 1 ]]; then
  TOOLS=(restic)
else
  if [[ -z ${STRATA_BIN:-} ]]; then
    log "building strata (release)"
    (cd "$ROOT" && cargo build --release -q -p strata-cli) ||
      { echo "building strata failed; point STRATA_BIN at a built binary" >&2; exit 1; }
    STRATA_BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/strata
    STRATA_REV="$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown) (work tree)"
  fi
  [[ -x $STRATA_BIN ]] || { echo "STRATA_BIN=$STRATA_BIN is not executable" >&2; exit 1; }
  # The comparison needs `strata check --read-data`; say so plainly if this build lacks it.
  if ! help=$("$STRATA_BIN" check --help 2>&1) || ! grep -q -- '--read-data' <<<"$help"; then
    cat >&2 <<EOF
$STRATA_BIN has no \`check --read-data\` (\`strata check --help\` failed or does not list
--read-data), so there is nothing to compare yet. Build a strata that has it, or run
with RESTIC_ONLY=1 to time the restic half alone.
EOF
    exit 1
  fi
  STRATA_REV="${STRATA_LABEL:-${STRATA_REV:-$STRATA_BIN}}, $("$STRATA_BIN" --version)"
fi

############################################################################ scratch
SCRATCH=${BENCH_TMPDIR:-${CARGO_TARGET_DIR:-$ROOT/target}}
mkdir -p "$SCRATCH"
WORK=$(mktemp -d "$SCRATCH/check-vs-restic.XXXXXX")
cleanup() { [[ ${KEEP_WORK:-} == 1 ]] && log "kept $WORK" || rm -rf "$WORK"; }
trap cleanup EXIT
mkdir -p "$WORK/logs"
if [[ $RESTIC_ONLY != 1 ]]; then
  # A private copy: a rebuild of target/release/strata during the run must not swap binaries.
  cp "$STRATA_BIN" "$WORK/strata"
  STRATA_BIN=$WORK/strata
fi
export STRATA_PASSWORD=bench-passphrase RESTIC_PASSWORD=bench-passphrase
export RESTIC_CACHE_DIR=$WORK/restic-cache
unset STRATA_REPOSITORY STRATA_PASSWORD_FILE STRATA_PASSWORD_COMMAND RESTIC_REPOSITORY \
  RESTIC_PASSWORD_FILE RESTIC_COMPRESSION RESTIC_PACK_SIZE || true
TSV=$WORK/results.tsv
: >"$TSV"

############################################################################ repositories
declare -A REPO_BYTES
for t in "${TOOLS[@]}"; do
  repo=$WORK/repo-$t
  log "$t: building the repository from ${#INPUTS[@]} input(s), $((INPUT_BYTES / 1048576)) MiB"
  case $t in
    strata) "$STRATA_BIN" -r "$repo" -q init --kdf-memory-mib 16 --kdf-iterations 2 ;;
    restic) restic -r "$repo" init ;;
  esac >>"$WORK/logs/init" 2>&1
  for src in "${INPUTS[@]}"; do
    rc=0
    case $t in
      strata) "$STRATA_BIN" -r "$repo" -q backup "$src" ;;
      restic) restic -r "$repo" backup -q "$src" ;;
    esac >>"$WORK/logs/backup-$t" 2>&1 || rc=$?
    # Exit 3 means "committed, some source files unreadable": the repository is still fine.
    if [[ $rc != 0 && $rc != 3 ]]; then
      echo "$t backup of $src failed with exit $rc:" >&2
      tail -20 "$WORK/logs/backup-$t" >&2
      exit 1
    fi
  done
  REPO_BYTES[$t]=$(du -sb "$repo" | cut -f1)
  log "$t: repository is $((REPO_BYTES[$t] / 1048576)) MiB"
done

############################################################################ runs
log "reading the repositories once (page cache)"
for t in "${TOOLS[@]}"; do tar -C "$WORK" -cf - "repo-$t" | cat >/dev/null; done

check_cmd() { # TOOL: sets CMD
  case $1 in
    strata) CMD=("$STRATA_BIN" -r "$WORK/repo-strata" -q check --read-data) ;;
    restic) CMD=(restic -r "$WORK/repo-restic" check --read-data) ;;
  esac
}

for run in $(seq 1 "$RUNS"); do
  for t in "${TOOLS[@]}"; do
    lg=$WORK/logs/check-$t-$run
    check_cmd "$t"
    rc=0
    t0=$(date +%s%N)
    /usr/bin/time -v -o "$lg.time" "${CMD[@]}" >"$lg.out" 2>&1 || rc=$?
    t1=$(date +%s%N)
    if [[ $rc != 0 ]]; then
      echo "$t check --read-data (run $run) exited $rc on a fresh repository:" >&2
      tail -20 "$lg.out" >&2
      exit 1
    fi
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$lg.time")
    printf '%s\t%s\t%s\t%s\n' "$t" "$run" "$((t1 - t0))" "$rss" >>"$TSV"
    log "$t run $run/$RUNS: $(awk -v n=$((t1 - t0)) 'BEGIN{printf "%.1f", n/1e9}') s, rss $rss KiB"
  done
done

############################################################################ table
mkdir -p "$(dirname "$OUT")"
inputs_md=""
for src in "${INPUTS[@]}"; do inputs_md+="${inputs_md:+, }${src#"$DATA"/}"; done
python3 - "$TSV" >"$OUT" <<EOF
import statistics, sys
from collections import defaultdict
rows = defaultdict(list)
for line in open(sys.argv[1]):
    tool, run, ns, rss = line.rstrip("\n").split("\t")
    rows[tool].append((int(ns) / 1e9, int(rss) / 1024))
repo_bytes = {$(for t in "${TOOLS[@]}"; do printf '"%s": %s, ' "$t" "${REPO_BYTES[$t]}"; done)}
print("# strata check --read-data vs restic check --read-data")
print()
print("- date: $(date -u +%Y-%m-%dT%H:%M:%SZ), host: $(hostname), nproc: $(nproc), memory: $(free -g | awk '/^Mem:/ {print $2}') GiB")
print("- strata: ${STRATA_REV:-not run (RESTIC_ONLY=1)}; $(restic version | cut -d' ' -f1-2)")
print("- input: $inputs_md ($INPUT_BYTES bytes, one snapshot each, in this order)")
print("- runs: $RUNS per tool, interleaved, medians; repositories in the page cache (read once before timing)")
print("- MB = 10^6 bytes; MB/s = repository bytes / wall; ratios are strata / restic"
      " (wall < 1: strata faster)")
print()
print("| tool | repo MB | wall s (min–max) | MB/s | peak RSS MiB |")
print("|---|---|---|---|---|")
med = {}
for tool in ("strata", "restic"):
    r = rows.get(tool)
    if not r:
        continue
    walls = [x[0] for x in r]
    wall = statistics.median(walls)
    rss = statistics.median(x[1] for x in r)
    size = repo_bytes[tool]
    med[tool] = (size / 1e6, wall, size / 1e6 / wall, rss)
    spread = f" ({min(walls):.1f}–{max(walls):.1f})" if len(walls) > 1 else ""
    print(f"| {tool} | {size / 1e6:.0f} | {wall:.1f}{spread} | {size / 1e6 / wall:.0f} | {rss:.0f} |")
if "strata" in med and "restic" in med:
    s, o = med["strata"], med["restic"]
    ratio = lambda i: f"{s[i] / o[i]:.2f}" if o[i] else "–"
    print(f"| strata/restic | {ratio(0)} | {ratio(1)} | {ratio(2)} | {ratio(3)} |")
EOF
cat "$OUT"
