#!/usr/bin/env bash
# restore.sh DATA_DIR [OUT] — restore the same data with strata and restic 0.14 and compare wall
# time, throughput, CPU time and peak RSS. Writes a markdown table to OUT (default
# benches/results/restore.md) and to stdout.
#
# DATA_DIR is made by make-bench-data.sh (dumps-hex/, dumps-tpch/, tree_v1/). Each scenario backs
# its input up once into a fresh repository per tool (not timed), then times, RUNS times:
#   (a) dumps-hex/dump_0.sql (1.08 GB): `restore SNAPSHOT --target NEW_DIR`, `dump SNAPSHOT PATH >
#       file`, `dump SNAPSHOT PATH > /dev/null` (restic: `restore latest`, `dump latest PATH`)
#   (b) dumps-tpch/dump_0.sql (TPC-H SF 1, 1.24 GB): the same three; skipped with a note when
#       DATA_DIR has no complete dumps-tpch (make-bench-data.sh makes it; it pip-installs duckdb
#       into DATA_DIR/.venv)
#   (c) a delta chain: dump_0, dump_1, dump_2 of dumps-hex copied in turn to ONE staging path and
#       backed up from there, strata `backup --set bench:chain --level full`, then `--level diff`,
#       then `--level incr` (the incr's changed chunks are deltas against the diff's, which are
#       deltas against the full's: two deep; `strata stats` gives the depth), restic three plain
#       backups of the same path. Times restore and dump > /dev/null of the full (restic: first
#       snapshot) and of the incr (restic: last) and gives incr/full speed (goal: ≥ 0.9)
#   (d) tree_v1 (~1 GB, 45k files): restore
#   unlock: `strata cat config > /dev/null` (restic: `cat config`), which only opens the
#       repository and derives the key, once per run in every scenario, so that the key's share
#       of every figure can be subtracted ("MB/s less unlock").
#   reference: `cp FILE DIR/` in (a) and (b), `cp -a TREE DIR/` in (d), from the page cache into
#       a fresh directory: what writing the same files costs on this machine, no tool involved.
# Every restore and every `dump > file` is compared with its source (cmp; trees: content, types,
# symlink targets, and modes, a mode difference being a warning) and the script stops on any
# difference. Tools are interleaved within a run (strata, restic, strata, restic, ...); the table
# gives medians (wall: median with min–max), and CPU time (user + sys, from /usr/bin/time), which
# varies less than wall time on a loaded machine. Repositories and inputs are read once before
# timing (page cache) and every timed command starts after `sync`; neither tool fsyncs restored
# files, so what is measured is reading packs from the page cache, decryption, decompression,
# delta decoding and writes into the page cache (whose cost depends on the memory state: with a
# full page cache, kswapd reclaiming, writing 1 GB cost strata about twice the kernel time).
#
# Settings: strata `init` with no flags: the DEFAULT key a user gets (Argon2id, parameters in the
# output; each strata command pays one key derivation, see the unlock line), default chunker and
# compression; restic 0.14 defaults (repository v2, compression auto). Both read the passphrase
# from a file (STRATA_PASSWORD_FILE, RESTIC_PASSWORD_FILE); restic's cache is under the scratch
# directory, built by the backups.
#
# Env: STRATA_BIN    strata binary (default: target/release/strata of this checkout; this script
#                    never builds). Copied into the scratch directory first, so a rebuild during
#                    the run does not swap binaries. STRATA_LABEL names it in the output
#      RUNS          timed runs per scenario (default 3)
#      SCENARIOS     which to run (default "a b c d")
#      BENCH_TMPDIR  scratch parent (default target/restore-bench). Footprint at full size: one
#                    scenario's repositories at a time (≤ 2.1 GB), a staged dump and one restored
#                    copy (a–c: ≤ 4.5 GB); (d) with the default TREE_KEEP=1 (2 × RUNS + 1)
#                    restored trees of ~1 GB plus 0.7 GB of repositories (RUNS=3: 7.5 GB).
#                    KEEP_WORK=1 keeps the scratch directory (repositories, logs: ~5 GB more)
#      TREE_KEEP     1 (default): (d)'s restored trees stay until the end of (d), and its cp
#                    reference runs in run 1 only. On ext4 without a journal, creating files
#                    within 60 s of deleting others (360 s while their inode-table block is dirty,
#                    which new files make it) has the kernel test and skip the recently freed
#                    inodes one by one (fs/ext4/ialloc.c, recently_deleted): restoring a tree
#                    right after deleting the previous one cost 7–23× the kernel time (strata:
#                    2.4 s of sys without a recent deletion, 37–56 s after one; cp -a: 3.3 s
#                    against 23–38 s).
#                    0: delete each tree after its check (needs ~2 GB; figures then include that)
#      BENCH_NOTE    a line of free text for the output (e.g. "taken while cargo builds ran")
#      QUICK=1       smoke test (1 min 5 s on a quiet 2-core machine, 1 min 40 s under load 4):
#                    RUNS=1, the first SLICE bytes (default 10^8) of each dump,
#                    tree_v1/QUICK_TREE (default usr/share/doc) instead of tree_v1; not a
#                    measurement. OUT defaults to a file in the scratch directory then.
# Needs restic, /usr/bin/time, python3 (Debian: apt-get install restic time python3).
set -euo pipefail

usage() { echo "usage: $0 DATA_DIR [OUT]" >&2; exit 2; }
[[ $# -ge 1 && $# -le 2 ]] || usage
DATA=$(cd "$1" && pwd -P)
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
QUICK=${QUICK:-0}
if [[ $QUICK == 1 ]]; then
  RUNS=${RUNS:-1} SLICE=${SLICE:-100000000} QUICK_TREE=${QUICK_TREE:-usr/share/doc}
else
  RUNS=${RUNS:-3} SLICE=0
fi
SCENARIOS=${SCENARIOS:-a b c d}
TREE_KEEP=${TREE_KEEP:-1}
log() { echo "[restore $(date +%H:%M:%S)] $*" >&2; }
die() { echo "restore.sh: $*" >&2; exit 1; }

############################################################################ inputs and tools
HEX=("$DATA/dumps-hex/dump_0.sql" "$DATA/dumps-hex/dump_1.sql" "$DATA/dumps-hex/dump_2.sql")
TPCH=$DATA/dumps-tpch/dump_0.sql
TREE=$DATA/tree_v1
[[ $QUICK == 1 ]] && TREE=$DATA/tree_v1/$QUICK_TREE
for p in "${HEX[@]}" "$TREE"; do
  [[ -e $p ]] || die "missing $p (run make-bench-data.sh $DATA)"
done
HAVE_TPCH=1
[[ -f $DATA/dumps-tpch/.complete && -f $TPCH ]] || HAVE_TPCH=0
for t in restic python3; do command -v "$t" >/dev/null || die "needs $t"; done
[[ -x /usr/bin/time ]] || die "needs /usr/bin/time (apt-get install time)"
STRATA_BIN=${STRATA_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/strata}
[[ -x $STRATA_BIN ]] || die "no strata binary at $STRATA_BIN (build it, or set STRATA_BIN)"

############################################################################ scratch
SCRATCH=${BENCH_TMPDIR:-${CARGO_TARGET_DIR:-$ROOT/target}/restore-bench}
mkdir -p "$SCRATCH"
SCRATCH=$(cd "$SCRATCH" && pwd -P)
WORK=$(mktemp -d "$SCRATCH/run.XXXXXX")
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() { if [[ ${KEEP_WORK:-} == 1 ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi; }
trap cleanup EXIT
if [[ $QUICK == 1 ]]; then OUT=${2:-$WORK/restore-quick.md}; else OUT=${2:-$HERE/results/restore.md}; fi
mkdir -p "$WORK/logs" "$WORK/in"
AVAIL=$(df -B1 --output=avail "$WORK" | tail -1)
NEED=$((QUICK == 1 ? 2000000000 : 6000000000))
((AVAIL > NEED)) || die "$WORK: $((AVAIL / 1000000)) MB free, needs about $((NEED / 1000000)) MB"
BIN_DATE=$(date -u -r "$STRATA_BIN" +%FT%TZ)
cp "$STRATA_BIN" "$WORK/strata"
S=$WORK/strata
BIN_SUM=$(sha256sum "$S" | cut -c1-12)
STRATA_REV="${STRATA_LABEL:-$STRATA_BIN} ($("$S" --version), binary sha256 $BIN_SUM…, modified $BIN_DATE)"
SCRIPT_REV=$(git -C "$ROOT" log -1 --format=%h -- benches/restore.sh 2>/dev/null || true)
[[ -z $(git -C "$ROOT" status --porcelain -- benches/restore.sh 2>/dev/null) ]] || SCRIPT_REV="${SCRIPT_REV:+$SCRIPT_REV + }uncommitted changes"
SCRIPT_REV=${SCRIPT_REV:-unknown}
KDF_DEFAULTS=$("$S" init --help | python3 -c '
import re, sys
h = sys.stdin.read()
d = lambda flag: (re.search(flag + r"\b.*?\[default: (\d+)\]", h, re.S) or [None, None])[1]
m, i, p = d("--kdf-memory-mib"), d("--kdf-iterations"), d("--kdf-lanes")
print(f"Argon2id {m} MiB, {i} passes" + (f", {p} lanes" if p else "") if m and i else "see strata init --help")')

echo bench-passphrase >"$WORK/pw"
unset STRATA_REPOSITORY STRATA_PASSWORD STRATA_PASSWORD_COMMAND RESTIC_REPOSITORY RESTIC_PASSWORD \
  RESTIC_PASSWORD_COMMAND RESTIC_COMPRESSION RESTIC_PACK_SIZE || true
export STRATA_PASSWORD_FILE=$WORK/pw RESTIC_PASSWORD_FILE=$WORK/pw RESTIC_CACHE_DIR=$WORK/restic-cache

TSV=$WORK/results.tsv   # key tool run wall_ns rss_kib cpu_s sys_s load1
META=$WORK/meta.tsv     # key label bytes (table rows, in order)
NOTES=$WORK/notes.txt   # extra lines for the output
: >"$TSV"; : >"$META"; : >"$NOTES"
H=$WORK/h.py
cat >"$H" <<'PY'
import json, os, stat, sys
cmd, a = sys.argv[1], sys.argv[2:]
if cmd == "id":            # id: "id" of strata's backup JSON on stdin
    print(json.load(sys.stdin)["id"])
elif cmd == "restic-ids":  # restic-ids: restic snapshot IDs (snapshots --json on stdin), oldest first
    print(" ".join(s["id"] for s in sorted(json.load(sys.stdin), key=lambda s: s["time"])))
elif cmd == "deltas":      # deltas: strata stats --json on stdin -> "count max_depth share"
    d = json.load(sys.stdin).get("deltas", {})
    print(d.get("count", "n/a"), d.get("max_depth", "n/a"), f'{d.get("share_of_data_stored", 0):.4f}')
elif cmd == "tree":        # tree SRC DST: DST must hold SRC's entries bit for bit
    src, dst = a
    errors, modes, n, nbytes = [], 0, 0, 0
    def entries(root):
        out = {}
        for dp, dn, fn in os.walk(root):
            for name in dn + fn:
                p = os.path.join(dp, name)
                out[os.path.relpath(p, root)] = os.lstat(p)
        return out
    se, de = entries(src), entries(dst)
    for rel in sorted(set(se) | set(de)):
        if rel not in de: errors.append(f"missing {rel}"); continue
        if rel not in se: errors.append(f"extra {rel}"); continue
        s, d = se[rel], de[rel]
        if stat.S_IFMT(s.st_mode) != stat.S_IFMT(d.st_mode):
            errors.append(f"type differs: {rel}"); continue
        n += 1
        if stat.S_IMODE(s.st_mode) != stat.S_IMODE(d.st_mode) and not stat.S_ISLNK(s.st_mode):
            modes += 1
        if stat.S_ISLNK(s.st_mode):
            if os.readlink(os.path.join(src, rel)) != os.readlink(os.path.join(dst, rel)):
                errors.append(f"symlink target differs: {rel}")
        elif stat.S_ISREG(s.st_mode):
            nbytes += s.st_size
            if s.st_size != d.st_size:
                errors.append(f"size differs: {rel}"); continue
            with open(os.path.join(src, rel), "rb") as f, open(os.path.join(dst, rel), "rb") as g:
                while True:
                    x, y = f.read(1 << 20), g.read(1 << 20)
                    if x != y: errors.append(f"content differs: {rel}"); break
                    if not x: break
        if len(errors) > 20: break
    if errors:
        print("\n".join(errors[:20]), file=sys.stderr); sys.exit(1)
    print(n, nbytes, modes)
PY
py() { python3 "$H" "$@"; }
file_bytes() { find "$1" -type f -printf '%s\n' | awk '{s+=$1} END {print s+0}'; }
warm() { find "$@" -type f -exec cat {} + >/dev/null; }   # read into the page cache
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
FS=$(findmnt -no FSTYPE -T "$WORK" 2>/dev/null || echo unknown)
if [[ $FS == ext4 ]]; then   # a journal-less ext4 shows "<none>" as its journal task
  dev=$(basename "$(findmnt -no SOURCE -T "$WORK")")
  [[ $(cat "/sys/fs/ext4/$dev/journal_task" 2>/dev/null) == "<none>" ]] && FS="ext4 without a journal"
fi

############################################################################ helpers
s_init() { "$S" -r "$1" -q init >>"$WORK/logs/init" 2>&1; }           # default KDF
r_init() { restic -r "$1" init >>"$WORK/logs/init" 2>&1; }
s_backup() { # REPO ARGS...: a strata backup; prints the snapshot ID
  "$S" -r "$1" --json -q backup "${@:2}" >"$WORK/logs/backup.json" 2>"$WORK/logs/backup.err" ||
    { tail -20 "$WORK/logs/backup.err" >&2; die "strata backup ${*:2} failed"; }
  py id <"$WORK/logs/backup.json"
}
r_backup() {
  restic -r "$1" backup -q "${@:2}" >"$WORK/logs/backup.out" 2>&1 ||
    { tail -20 "$WORK/logs/backup.out" >&2; die "restic backup ${*:2} failed"; }
}
row() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$META"; }   # KEY LABEL BYTES

# measure KEY TOOL RUN STDOUT CMD...: one timed command (STDOUT: a file, /dev/null, or - for a
# log); appends "key tool run wall_ns rss_kib cpu_s sys_s load1" to TSV; any failure stops the script
measure() {
  local key=$1 tool=$2 run=$3 out=$4 t0 t1 rc=0 rss cpu load
  shift 4
  local lg=$WORK/logs/$key-$tool-$run
  [[ $out == - ]] && out=$lg.out
  sync
  load=$(cut -d' ' -f1 /proc/loadavg)
  t0=$(date +%s%N)
  /usr/bin/time -f '%M %U %S' -o "$lg.time" "$@" >"$out" 2>"$lg.err" || rc=$?
  t1=$(date +%s%N)
  if [[ $rc != 0 ]]; then
    echo "($key) $tool run $run failed with exit $rc: $*" >&2
    tail -20 "$lg.err" >&2
    exit 1
  fi
  read -r rss cpu sys <<<"$(tail -1 "$lg.time" | awk '{printf "%s %.2f %.2f", $1, $2 + $3, $3}')"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$key" "$tool" "$run" "$((t1 - t0))" "$rss" "$cpu" "$sys" "$load" >>"$TSV"
  log "($key) $tool run $run: $(awk -v n=$((t1 - t0)) 'BEGIN{printf "%.2f", n/1e9}') s, cpu $cpu s, rss $rss KiB"
}
same_file() { # RESTORED SOURCE WHAT: stop unless bit-identical
  [[ -f $1 ]] || die "$3: $1 missing"
  cmp -s "$1" "$2" || die "$3: $1 differs from $2"
}
fresh() { rm -rf "$1"; }   # a target directory or output file, removed before each timed command
unlock() { # RUN STRATA_REPO RESTIC_REPO: time opening each repository (key derivation included)
  measure unlock strata "$1" /dev/null "$S" -r "$2" -q cat config
  measure unlock restic "$1" /dev/null restic -r "$3" -q cat config
}

# dump_scenario SC LABEL SRC: back SRC (one file) up once into a fresh repository of each tool, then
# RUNS × (restore, dump > file, dump > /dev/null), tools interleaved, each output checked
dump_scenario() {
  local sc=$1 label=$2 src=$3 bytes sid run t
  bytes=$(stat -c %s "$src")
  local sr=$WORK/$sc-strata rr=$WORK/$sc-restic T=$WORK/target F=$WORK/dump.out
  log "($sc) backing up $src ($bytes bytes), not timed"
  s_init "$sr"; r_init "$rr"
  sid=$(s_backup "$sr" --level full "$src")
  r_backup "$rr" "$src"
  warm "$src" "$sr" "$rr" "$RESTIC_CACHE_DIR"
  row "$sc-restore" "($sc) $label: restore" "$bytes"
  row "$sc-file" "($sc) $label: dump > file" "$bytes"
  row "$sc-null" "($sc) $label: dump > /dev/null" "$bytes"
  for run in $(seq 1 "$RUNS"); do
    for t in strata restic; do
      fresh "$T"
      if [[ $t == strata ]]; then measure "$sc-restore" strata "$run" - "$S" -r "$sr" -q restore "$sid" --target "$T"
      else measure "$sc-restore" restic "$run" - restic -r "$rr" -q restore latest --target "$T"; fi
      same_file "$T$src" "$src" "($sc) $t restore, run $run"
      fresh "$T"
    done
    mkdir -p "$T"
    measure "$sc-restore" cp "$run" - cp "$src" "$T/"
    fresh "$T"
    for t in strata restic; do
      fresh "$F"
      if [[ $t == strata ]]; then measure "$sc-file" strata "$run" "$F" "$S" -r "$sr" -q dump "$sid" "$src"
      else measure "$sc-file" restic "$run" "$F" restic -r "$rr" -q dump latest "$src"; fi
      same_file "$F" "$src" "($sc) $t dump > file, run $run"
      fresh "$F"
    done
    measure "$sc-null" strata "$run" /dev/null "$S" -r "$sr" -q dump "$sid" "$src"
    measure "$sc-null" restic "$run" /dev/null restic -r "$rr" -q dump latest "$src"
    unlock "$run" "$sr" "$rr"
  done
  echo "- ($sc) $label: $bytes bytes, strata repository $(du -sb "$sr" | cut -f1) bytes, restic $(du -sb "$rr" | cut -f1) bytes" >>"$NOTES"
  [[ ${KEEP_WORK:-} == 1 ]] || rm -rf "$sr" "$rr"
}

############################################################################ inputs for QUICK
if [[ $QUICK == 1 ]]; then
  log "QUICK: slicing the first $SLICE bytes of each dump"
  for i in 0 1 2; do head -c "$SLICE" "${HEX[$i]}" >"$WORK/in/hex_$i.sql"; HEX[i]=$WORK/in/hex_$i.sql; done
  if ((HAVE_TPCH)); then head -c "$SLICE" "$TPCH" >"$WORK/in/tpch_0.sql"; TPCH=$WORK/in/tpch_0.sql; fi
fi
HEX0=$(readlink -f "${HEX[0]}")
TREE=$(cd "$TREE" && pwd -P)

############################################################################ scenarios
for sc in $SCENARIOS; do
  case $sc in
    a) dump_scenario a "dumps-hex/dump_0.sql" "$HEX0" ;;
    b)
      if ((HAVE_TPCH)); then
        dump_scenario b "dumps-tpch/dump_0.sql" "$(readlink -f "$TPCH")"
      else
        log "(b) skipped: no complete $DATA/dumps-tpch (make-bench-data.sh makes it)"
        echo "- (b) skipped: $DATA has no complete dumps-tpch/ (make-bench-data.sh generates it)" >>"$NOTES"
      fi
      ;;
    c)
      sr=$WORK/c-strata rr=$WORK/c-restic STAGE=$WORK/stage/dump.sql T=$WORK/target
      mkdir -p "$WORK/stage"
      s_init "$sr"; r_init "$rr"
      SIDS=()
      LEVELS=(full diff incr)
      for i in 0 1 2; do
        log "(c) staging dump_$i and backing it up ($(basename "$STAGE"), --level ${LEVELS[$i]}), not timed"
        cp "${HEX[$i]}" "$STAGE"
        SIDS+=("$(s_backup "$sr" --set bench:chain --level "${LEVELS[$i]}" "$STAGE")")
        r_backup "$rr" "$STAGE"
      done
      read -r -a RIDS <<<"$(restic -r "$rr" snapshots --json | py restic-ids)"
      ((${#RIDS[@]} == 3)) || die "(c) restic has ${#RIDS[@]} snapshots, expected 3"
      read -r DCOUNT DDEPTH DSHARE <<<"$("$S" -r "$sr" --json -q stats | py deltas)"
      echo "- (c) chain: strata ${SIDS[0]:0:8} (full) ← ${SIDS[1]:0:8} (diff) ← ${SIDS[2]:0:8} (incr), set bench:chain, one staged path; \`strata stats\`: $DCOUNT delta blobs, max depth $DDEPTH, $DSHARE of stored data bytes; restic ${RIDS[0]:0:8} … ${RIDS[2]:0:8}; strata repository $(du -sb "$sr" | cut -f1) bytes, restic $(du -sb "$rr" | cut -f1) bytes" >>"$NOTES"
      [[ $DDEPTH == 2 ]] || echo "- (c) warning: the chain's max delta depth is $DDEPTH, not 2" >>"$NOTES"
      # the staged file now holds dump_2; the sources to compare with are the dumps themselves
      rm -f "$STAGE"
      warm "${HEX[0]}" "${HEX[2]}" "$sr" "$rr" "$RESTIC_CACHE_DIR"
      B0=$(stat -c %s "${HEX[0]}") B2=$(stat -c %s "${HEX[2]}")
      row c-full "(c) chain: restore full (dump_0; restic: first snapshot)" "$B0"
      row c-incr "(c) chain: restore incr (dump_2, deltas 2 deep; restic: last snapshot)" "$B2"
      row c-full-null "(c) chain: dump full > /dev/null" "$B0"
      row c-incr-null "(c) chain: dump incr > /dev/null" "$B2"
      for run in $(seq 1 "$RUNS"); do
        for v in 0 2; do
          k=c-full; [[ $v == 2 ]] && k=c-incr
          sid=${SIDS[$v]} rid=${RIDS[$v]}
          fresh "$T"
          measure "$k" strata "$run" - "$S" -r "$sr" -q restore "$sid" --target "$T"
          same_file "$T$STAGE" "${HEX[$v]}" "(c) strata restore of ${LEVELS[$v]}, run $run"
          fresh "$T"
          measure "$k" restic "$run" - restic -r "$rr" -q restore "$rid" --target "$T"
          same_file "$T$STAGE" "${HEX[$v]}" "(c) restic restore of snapshot $((v + 1)), run $run"
          fresh "$T"
          measure "$k-null" strata "$run" /dev/null "$S" -r "$sr" -q dump "$sid" "$STAGE"
          measure "$k-null" restic "$run" /dev/null restic -r "$rr" -q dump "$rid" "$STAGE"
        done
        unlock "$run" "$sr" "$rr"
      done
      [[ ${KEEP_WORK:-} == 1 ]] || rm -rf "$sr" "$rr" "$WORK/stage"
      ;;
    d)
      sr=$WORK/d-strata rr=$WORK/d-restic TREES=$WORK/trees
      BD=$(file_bytes "$TREE")
      if [[ $TREE_KEEP == 1 ]]; then
        need=$(((2 * RUNS + 1) * BD + 1000000000))
        avail=$(df -B1 --output=avail "$WORK" | tail -1)
        ((avail > need)) || die "(d) keeps $((2 * RUNS + 1)) restored trees until its end: needs $((need / 1000000)) MB, $((avail / 1000000)) MB free (fewer RUNS, or TREE_KEEP=0, see the header)"
      fi
      log "(d) backing up $TREE ($BD bytes in $(find "$TREE" -type f | wc -l) files), not timed"
      s_init "$sr"; r_init "$rr"
      sid=$(s_backup "$sr" --level full "$TREE")
      r_backup "$rr" "$TREE"
      warm "$TREE" "$sr" "$rr" "$RESTIC_CACHE_DIR"
      lbl="tree_v1"; [[ $QUICK == 1 ]] && lbl="tree_v1/$QUICK_TREE"
      row d-restore "(d) $lbl: restore" "$BD"
      mkdir -p "$TREES"
      for run in $(seq 1 "$RUNS"); do
        for t in strata restic; do
          T=$TREES/$t-$run
          if [[ $t == strata ]]; then measure d-restore strata "$run" - "$S" -r "$sr" -q restore "$sid" --target "$T"
          else measure d-restore restic "$run" - restic -r "$rr" -q restore latest --target "$T"; fi
          [[ -d $T$TREE ]] || die "(d) $t restore, run $run: no $T$TREE"
          chk=$(py tree "$TREE" "$T$TREE") || die "(d) $t restore, run $run differs from $TREE (above)"
          read -r n nb modes <<<"$chk"
          ((modes == 0)) || echo "- (d) warning: $t run $run restored $modes entries with another mode than the source" >>"$NOTES"
          [[ $run == 1 ]] && echo "- (d) $lbl: $t restore run 1 checked: $n entries, $nb file bytes identical" >>"$NOTES"
          [[ $TREE_KEEP == 1 ]] || fresh "$T"
        done
        if [[ $TREE_KEEP != 1 || $run == 1 ]]; then   # kept trees: the reference once, for space
          T=$TREES/cp-$run
          mkdir -p "$T"
          measure d-restore cp "$run" - cp -a "$TREE" "$T/"
          [[ $TREE_KEEP == 1 ]] || fresh "$T"
        fi
        unlock "$run" "$sr" "$rr"
      done
      if [[ $TREE_KEEP == 1 ]]; then
        echo "- (d) restored trees were kept until the end of (d), then deleted (TREE_KEEP=1; cp reference in run 1 only): no timed restore followed the deletion of a tree" >>"$NOTES"
      else
        echo "- (d) TREE_KEEP=0: each restored tree was deleted after its check, right before the next timed command" >>"$NOTES"
      fi
      rm -rf "$TREES"
      echo "- (d) strata repository $(du -sb "$sr" | cut -f1) bytes, restic $(du -sb "$rr" | cut -f1) bytes" >>"$NOTES"
      [[ ${KEEP_WORK:-} == 1 ]] || rm -rf "$sr" "$rr"
      ;;
    *) die "unknown scenario $sc (a b c d)" ;;
  esac
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
row unlock "unlock only: \`cat config\` > /dev/null (every scenario's repositories)" 0

############################################################################ table
mkdir -p "$(dirname "$OUT")"
{
  echo "# strata vs restic: restore"
  echo
  echo "- date: $(date -u +%FT%TZ), host: $(uname -n), nproc: $(nproc), memory: $(free -g | awk '/^Mem:/ {print $2}') GiB"
  echo "- strata: $STRATA_REV; $(restic version | cut -d' ' -f1-2); script: benches/restore.sh ($SCRIPT_REV)"
  echo "- command: \`$([[ $QUICK == 1 ]] && echo 'QUICK=1 ')RUNS=$RUNS SCENARIOS=\"$SCENARIOS\" benches/restore.sh $DATA\`$([[ $QUICK == 1 ]] && echo " — QUICK: first $SLICE bytes of each dump, tree_v1/$QUICK_TREE; a smoke test, not a measurement")"
  echo "- key: every strata repository has the default key (\`strata init\` without --kdf flags: $KDF_DEFAULTS); each strata command derives it once, see the unlock row; restic's own key derivation (scrypt) likewise in its unlock row"
  echo "- runs: $RUNS per scenario, tools interleaved, medians (wall: min–max); repositories and inputs read into the page cache before timing, \`sync\` before each timed command; restored files not fsynced by either tool; target filesystem: $FS"
  echo "- MB = 10^6 bytes; MB/s = restored bytes / wall; \"less unlock\": wall minus the tool's median unlock time; CPU s = user + sys (sys alone in parentheses); cp (reference): \`cp\` (trees: \`cp -a\`) of the source from the page cache into a fresh directory, the cost of writing the same files; peak RSS from /usr/bin/time; ratio rows strata/restic: speed (MB/s) > 1 and wall, CPU, RSS < 1 mean strata is better"
  echo "- load average at start: $LOAD_START; at end: $LOAD_END (1/5/15 min); 1-min load before each timed command: $(awk -F'\t' 'NR==1{mn=mx=$8} {if($8<mn)mn=$8; if($8>mx)mx=$8} END{printf "min %s, max %s", mn, mx}' "$TSV")"
  [[ -n ${BENCH_NOTE:-} ]] && echo "- note: $BENCH_NOTE"
  echo
  python3 - "$TSV" "$META" <<'PY'
import statistics, sys
from collections import defaultdict
runs = defaultdict(list)
for line in open(sys.argv[1]):
    key, tool, run, ns, rss, cpu, sys_s, load = line.rstrip("\n").split("\t")
    runs[key, tool].append((int(ns) / 1e9, int(rss) / 1024, float(cpu), float(sys_s)))
meta = [l.rstrip("\n").split("\t") for l in open(sys.argv[2])]
med = lambda v: statistics.median(v)
unlock = {t: med([x[0] for x in runs[("unlock", t)]]) for t in ("strata", "restic") if runs.get(("unlock", t))}
def fig(key, tool, nbytes):
    r = runs.get((key, tool))
    if not r: return None
    walls = [x[0] for x in r]
    w = med(walls)
    mbs = nbytes / 1e6 / w if nbytes else None
    less = nbytes / 1e6 / (w - unlock[tool]) if nbytes and tool in unlock and w > unlock[tool] else None
    return dict(wall=w, lo=min(walls), hi=max(walls), n=len(walls), mbs=mbs, less=less, bytes=nbytes,
                cpu=med([x[2] for x in r]), sys=med([x[3] for x in r]), rss=med([x[1] for x in r]))
f = lambda v, d=1: "–" if v is None else f"{v:.{d}f}"
print("| scenario | tool | wall s (min–max) | MB/s | MB/s less unlock | CPU s (sys) | peak RSS MiB |")
print("|---|---|---|---|---|---|---|")
figs = {}
for key, label, nbytes in meta:
    nbytes = int(nbytes)
    for tool in ("strata", "restic", "cp"):
        x = fig(key, tool, nbytes)
        if not x: continue
        figs[key, tool] = x
        spread = f" ({x['lo']:.2f}–{x['hi']:.2f})" if x["n"] > 1 else ""
        name = "cp (reference)" if tool == "cp" else tool
        print(f"| {label} | {name} | {x['wall']:.2f}{spread} | {f(x['mbs'], 0)} | {f(x['less'], 0)} | {x['cpu']:.2f} ({x['sys']:.2f}) | {x['rss']:.0f} |")
        label = ""
    s, r = figs.get((key, "strata")), figs.get((key, "restic"))
    if s and r:
        q = lambda a, b: "–" if a is None or b in (None, 0) else f"{a / b:.2f}"
        print(f"| | strata/restic | {q(s['wall'], r['wall'])} | {q(s['mbs'], r['mbs'])} | {q(s['less'], r['less'])} | {q(s['cpu'], r['cpu'])} | {q(s['rss'], r['rss'])} |")
print()
if ("c-full", "strata") in figs:
    for tool in ("strata", "restic"):
        parts = []
        for k, what in (("c-full", "restore"), ("c-full-null", "dump > /dev/null")):
            a, b = figs.get((k, tool)), figs.get((k.replace("full", "incr"), tool))
            if not a or not b: continue
            t = f"{what} {b['mbs'] / a['mbs']:.2f} (less unlock {f(b['less'] / a['less'] if a['less'] and b['less'] else None, 2)}"
            t += f"; bytes per CPU second {(b['bytes'] / b['cpu']) / (a['bytes'] / a['cpu']):.2f})"
            parts.append(t)
        name = "incr/full" if tool == "strata" else "last/first snapshot"
        goal = " — goal ≥ 0.9" if tool == "strata" else ""
        print(f"- (c) {tool} speed {name}: {'; '.join(parts)}{goal}")
if unlock:
    print(f"- unlock (median): strata {unlock.get('strata', 0):.2f} s, restic {unlock.get('restic', 0):.2f} s; strata's peak RSS includes the key derivation's memory")
PY
  cat "$NOTES"
} >"$OUT"
cat "$OUT"
[[ $QUICK == 1 && -z ${2:-} && ${KEEP_WORK:-} != 1 ]] && log "QUICK output was in the scratch directory (removed); pass OUT to keep it"
exit 0
