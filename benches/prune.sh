#!/usr/bin/env bash
# benches/prune.sh DATA_DIR [OUT] — issue 10 "Retention and garbage collection": figures for the
# closing note, strata vs restic 0.14 in one run on the same data.
#
#  1. builds a repository of ≥ 50 snapshots in each tool from DATA_DIR/dumps-hex (NDUMPS=24
#     hourly pgbench dumps of ~1.08 GB, `pgbench -t 3000` between dumps) backed up ROUNDS=2 times
#     over into one set, `strata backup --stdin --stdin-name dump.sql --set pg:bench --level L`
#     and `restic backup --stdin --stdin-filename dump.sql`. Backup i (hour i, 0-based) gets
#     L = full if i % FULL_EVERY == 0 (24), diff if i % DIFF_EVERY == 0 (6), else incr: a day
#     of an hourly schedule squeezed so that 48 hours hold two fulls. The second pass is by
#     default a sibling database of the same shape (ROUND2=sibling: the dump through
#     `tr a-f A-F`, so it shares no chunk with the first pass and forgetting the first day frees
#     real data whatever the exact keep semantics); ROUND2=same backs the same bytes up again.
#     Plus tree_v1 (full, after the first pass) and tree_v2 (incr, after the second), rsynced to
#     one fixed path, `--set tree`.
#  2. forget + prune on a fresh copy of each repository (cp -a; restic's copy is hardlinked,
#     cp -al, as restic never rewrites a file in place; its cache is copied too), RUNS runs,
#     medians: `strata forget $KEEP --prune --json` (defaults: --max-unused 5 %) against
#     `restic forget --keep-last K --prune` (restic 0.14 default --max-unused 5 %), K = the number
#     of snapshots strata kept in that group (read back with `strata snapshots --json`), so both
#     keep as many snapshots — an approximation: restic keeps the newest K, strata the ones its
#     level rules and chain closure pick. RESTIC_RULE=same-ids instead forgets in restic exactly
#     the snapshots (by backup position) that strata removed. Wall time and peak RSS
#     (/usr/bin/time), repository size before/after (du -sb), bytes freed; strata's prune JSON
#     fields if present and freed / ideal (ideal = unreferenced_bytes).
#     If forget has no --prune, `forget $KEEP --json` then `prune --json` (walls added, two unlocks).
#     Until strata has forget (issue 10 lands prune first), the script deletes the snapshot files
#     that the rules as read in the issue remove (the newest N of each level, closed under incr →
#     previous snapshot and diff → previous full) and times `strata prune --json` instead.
#  3. the key cost: `strata snapshots` alone (one unlock with the default KDF, which is kept:
#     it is part of what a user gets); strata's wall times include one such unlock.
#  4. a backup started while forget --prune runs (after CONC_DELAYS seconds) against the same
#     backup alone, on fresh copies: wall, difference (goal ≤ 5 s extra), exit code, and whether
#     the snapshot it committed restores bit-identically; restic's behaviour in the same race.
# Data: NDUMPS=24 /work/shared/datasets/make-bench-data.sh DATA_DIR (dumps-hex and tree_v*).
# Needs restic 0.14 (apt), rsync, GNU time. QUICK=1 (or CI=1): the first SLICE=100000000 bytes of
# 3 dumps, no tree, one run, one concurrent start: a smoke test of the script, not a measurement.
# WORK=DIR keeps the built repositories in DIR and reuses them on the next run with the same
# parameters. STRATA_BIN=PATH skips the cargo build. KEEP="…" replaces strata's rules (the surface
# issue 10 plans; its forget must take --prune and --json). Prints the results; OUT: tee there too.
set -euo pipefail
DATA=$(cd "${1:?usage: prune.sh DATA_DIR [OUT]}" && pwd)
OUT=${2:-/dev/null}
Q=0; [[ ${QUICK:-0} != 0 || ${CI:-0} != 0 ]] && Q=1
if (( Q )); then
  NDUMPS=${NDUMPS:-3} SLICE=${SLICE:-100000000} FULL_EVERY=${FULL_EVERY:-3} DIFF_EVERY=${DIFF_EVERY:-2} RUNS=${RUNS:-1}
  TREE=${TREE:-0} KEEP=${KEEP:---keep-full 1 --keep-diff 1 --keep-incr 1} CONC_DELAYS=${CONC_DELAYS:-0}
else
  NDUMPS=${NDUMPS:-24} SLICE=${SLICE:-0} FULL_EVERY=${FULL_EVERY:-24} DIFF_EVERY=${DIFF_EVERY:-6} RUNS=${RUNS:-3}
  TREE=${TREE:-1} KEEP=${KEEP:---keep-full 1 --keep-diff 2 --keep-incr 6} CONC_DELAYS=${CONC_DELAYS:-0 1 3}
fi
ROUNDS=${ROUNDS:-2} ROUND2=${ROUND2:-sibling} RESTIC_RULE=${RESTIC_RULE:-keep-last}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
[[ -n ${STRATA_BIN:-} ]] || cargo build --release -q -p strata-cli --manifest-path "$ROOT/Cargo.toml"
S=${STRATA_BIN:-$ROOT/target/release/strata}
command -v restic >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq restic >/dev/null; }
[[ -x /usr/bin/time ]] || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null; }
(( TREE == 0 )) || command -v rsync >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rsync >/dev/null; }
if [[ -n ${WORK:-} ]]; then W=$WORK; mkdir -p "$W"; else W=$(mktemp -d /tmp/strata-prune.XXXXXX); trap 'rm -rf "$W"' EXIT; fi
W=$(cd "$W" && pwd)
export STRATA_PASSWORD=${STRATA_PASSWORD:-bench} RESTIC_PASSWORD=${RESTIC_PASSWORD:-bench}
mapfile -t DUMPS < <(ls "$DATA"/dumps-hex/dump_*.sql | sort -V | head -n "$NDUMPS")
(( ${#DUMPS[@]} >= 2 )) && [[ -f $DATA/dumps-hex/.complete ]] || { echo "need a complete $DATA/dumps-hex (≥ 2 dumps)" >&2; exit 1; }
(( TREE == 0 )) || [[ -f $DATA/tree_v2/.complete ]] || { echo "no $DATA/tree_v1, tree_v2 (TREE=0 skips them)" >&2; exit 1; }
TR=("" A-F g-l G-L m-r M-R)   # pass r > 0 with ROUND2=sibling: tr a-f "${TR[r]}"
(( ROUNDS < ${#TR[@]} )) || { echo "ROUNDS ≤ $(( ${#TR[@]} - 1 ))" >&2; exit 1; }
size() { du -sb "$1" | cut -f1; }
R() { restic -q --cache-dir "$RC" "$@"; }
H=$W/h.py
cat >"$H" <<'PY'
import json, statistics, sys
def docs(text):   # every JSON document in TEXT (one or more, one a line or concatenated)
    dec, i, out = json.JSONDecoder(), 0, []
    while i < len(text):
        while i < len(text) and text[i].isspace(): i += 1
        if i >= len(text): break
        try:
            o, i = dec.raw_decode(text, i); out.append(o)
        except ValueError:
            n = text.find("\n", i)
            if n < 0: break
            i = n + 1
    return out
def find(o, k):   # the first value of key K anywhere in O
    if isinstance(o, dict):
        if k in o: return o[k]
        o = list(o.values())
    if isinstance(o, list):
        for v in o:
            r = find(v, k)
            if r is not None: return r
    return None
def count(v): return len(v) if isinstance(v, list) else v
cmd, a = sys.argv[1], sys.argv[2:]
if cmd == "field":        # field FILE KEY...: each key's value (lists: their length), n/a if absent
    d = docs(open(a[0]).read())
    print(" ".join("n/a" if find(d, k) is None else str(count(find(d, k))) for k in a[1:]))
elif cmd == "waits":      # waits FILE: every key containing "wait" with its value
    d = docs(open(a[0]).read()); out = []
    def walk(o, p=""):
        if isinstance(o, dict):
            for k, v in o.items():
                if "wait" in k and not isinstance(v, (dict, list)): out.append(f"{p}{k}={v}")
                walk(v, p + k + ".")
        elif isinstance(o, list):
            for v in o: walk(v, p)
    walk(d); print(", ".join(out) or "none")
elif cmd == "id":         # id: the snapshot id of a backup's --json output on stdin
    d = docs(sys.stdin.read()); print(find(d, "snapshot_id") or find(d, "id"))
elif cmd == "kept":       # kept SNAPSHOTS_JSON IDS_TSV: "pg_kept tree_kept ordinals-removed(comma)"
    left = {s["id"] for s in json.load(open(a[0]))}
    rows = [l.rstrip("\n").split("\t") for l in open(a[1])]
    k = {"pg": 0, "tree": 0}; gone = []
    for o, kind, lvl, sid, rid in rows:
        if any(x.startswith(sid) or sid.startswith(x) for x in left): k[kind] += 1
        else: gone.append(o)
    print(k["pg"], k["tree"], ",".join(gone) or "-")
elif cmd == "emulate":    # emulate IDS_TSV KEEP...: strata's rules as read in issue 10 (fallback)
    rows = [l.rstrip("\n").split("\t") for l in open(a[0])]
    keep = dict(zip(a[1::2], map(int, a[2::2])))
    out = {"pg": 0, "tree": 0}; gone = []
    for kind in ("pg", "tree"):
        s = [r for r in rows if r[1] == kind]; kept = set()
        for lvl in ("full", "diff", "incr"):
            n = keep.get("--keep-" + lvl, 0)
            if n: kept |= set([j for j in range(len(s)) if s[j][2] == lvl][-n:])
        todo = list(kept)
        while todo:   # chain closure: incr → previous snapshot, diff → previous full
            i = todo.pop()
            if s[i][2] == "full": continue
            j = i - 1
            while s[i][2] == "diff" and j >= 0 and s[j][2] != "full": j -= 1
            if j >= 0 and j not in kept: kept.add(j); todo.append(j)
        out[kind] = len(kept); gone += [s[i][0] for i in range(len(s)) if i not in kept]
    print(out["pg"], out["tree"], ",".join(gone) or "-")
elif cmd == "med":        # med VALUES...: "median (min–max)"
    v = [float(x) for x in a if x != "n/a"]
    print(f"{statistics.median(v):.1f} ({min(v):.1f}–{max(v):.1f})" if len(v) > 1 else (f"{v[0]:.1f}" if v else "n/a"))
elif cmd == "median":     # median VALUES...: the bare median
    v = [float(x) for x in a if x != "n/a"]; print(statistics.median(v) if v else "n/a")
elif cmd == "ratio":      # ratio A B [FMT]
    try: print(format(float(a[0]) / float(a[1]), a[2] if len(a) > 2 else ".2f"))
    except (ValueError, ZeroDivisionError): print("n/a")
elif cmd == "mb":         # mb BYTES...: MB (10^6) with one decimal
    print(" ".join("n/a" if x == "n/a" else f"{float(x)/1e6:.1f}" for x in a))
PY
py() { python3 "$H" "$@"; }
lvl_of() { local i=$1; if (( i % FULL_EVERY == 0 )); then echo full; elif (( i % DIFF_EVERY == 0 )); then echo diff; else echo incr; fi; }
# dump FILE: the file, or its first SLICE bytes; feed ROUND FILE: the bytes pass ROUND backs up
dump() { if (( SLICE > 0 )); then head -c "$SLICE" "$1"; else cat "$1"; fi; }
feed() { if (( $1 == 0 )) || [[ $ROUND2 == same ]]; then dump "$2"; else dump "$2" | tr a-f "${TR[$1]}"; fi; }

############################################################ 1. build (or reuse) the repositories
SIG="ndumps=${#DUMPS[@]} slice=$SLICE full_every=$FULL_EVERY diff_every=$DIFF_EVERY rounds=$ROUNDS round2=$ROUND2 tree=$TREE data=$DATA"
if [[ -f $W/built && $(cat "$W/built") == "$SIG" ]]; then
  echo "reusing the repositories in $W ($SIG)" >&2
else
  rm -rf "$W"/s.orig "$W"/r.orig "$W"/rcache.orig "$W"/src "$W"/ids.tsv "$W"/built "$W"/build.txt
  mkdir -p "$W/src/tree"
  "$S" -r "$W/s.orig" init -q >/dev/null   # default KDF
  RC=$W/rcache.orig; R init -r "$W/r.orig" >/dev/null
  BUILD=0; ORD=0
  # step KIND LEVEL ROUND FILE_OR_DIR: one backup into each repository, both at once (the build
  # is not a measurement); BUILD accumulates the wall time
  step() {
    local kind=$1 lvl=$2 round=$3 src=$4 a sid rid pid
    a=$(date +%s.%N)
    if [[ $kind == pg ]]; then
      feed "$round" "$src" | "$S" -r "$W/s.orig" backup --stdin --stdin-name dump.sql --set pg:bench --level "$lvl" --json -q >"$W/sb.json" & pid=$!
      rid=$(feed "$round" "$src" | R -r "$W/r.orig" backup --stdin --stdin-filename dump.sql --json | py id)
    else
      "$S" -r "$W/s.orig" backup "$src" --set tree --level "$lvl" --json -q >"$W/sb.json" & pid=$!
      rid=$(R -r "$W/r.orig" backup "$src" --json | py id)
    fi
    wait "$pid" || { echo "strata backup failed" >&2; exit 1; }
    sid=$(py id <"$W/sb.json")
    BUILD=$(python3 -c "print($BUILD + $(date +%s.%N) - $a)")
    printf '%s\t%s\t%s\t%s\t%s\n' "$ORD" "$kind" "$lvl" "$sid" "$rid" >>"$W/ids.tsv"
    echo "[prune.sh $(date +%H:%M:%S)] $ORD $kind $lvl $(basename "$src") round $round: strata ${sid:0:8} restic ${rid:0:8}" >&2
    ORD=$((ORD + 1))
  }
  for ((r = 0; r < ROUNDS; r++)); do
    for i in "${!DUMPS[@]}"; do
      h=$((r * ${#DUMPS[@]} + i))
      step pg "$(lvl_of $h)" "$r" "${DUMPS[$i]}"
    done
    if (( TREE )) && (( r < 2 )); then   # the file tree at the end of each pass's day
      rsync -a --delete "$DATA/tree_v$((r + 1))/" "$W/src/tree/"
      step tree "$([ $r = 0 ] && echo full || echo incr)" 0 "$W/src/tree"
    fi
  done
  printf '%.0f\n' "$BUILD" >"$W/build.txt"
  rm -rf "$W/src"
  echo "$SIG" >"$W/built"
fi
NPG=$(awk '$2=="pg"' "$W/ids.tsv" | wc -l); NTREE=$(awk '$2=="tree"' "$W/ids.tsv" | wc -l)
LEVELS=$(awk '$2=="pg"{n[$3]++} END{printf "%d full, %d diff, %d incr", n["full"], n["diff"], n["incr"]}' "$W/ids.tsv")
read -r BUILD <"$W/build.txt"
# warm the page cache: strata's repository whole, restic's but for data/ (it reads tree packs from
# its cache, which is read too); restic's copies are hardlinks and share these pages
find "$W/s.orig" "$W/r.orig" "$W/rcache.orig" -path "$W/r.orig/data" -prune -o -type f -exec cat {} + >/dev/null

# strata's side: `forget $KEEP --prune` once forget exists; before that, with prune only, the
# script removes the snapshot files the rules would (emulated, below) and runs `prune --json`
SMODE=none
"$S" prune --help >/dev/null 2>&1 && SMODE=emulate
"$S" forget --help 2>/dev/null | grep -q -- --keep-full && SMODE=forget
FORGET_PRUNE=0   # forget takes --prune: one command (one unlock); else forget, then prune (two)
"$S" forget --help 2>/dev/null | grep -q -- '--prune' && FORGET_PRUNE=1
UNLOCKS=1; [[ $SMODE == forget ]] && (( ! FORGET_PRUNE )) && UNLOCKS=2
KP=; KT=; GONE=; KEPT_SRC=
if [[ $SMODE != forget ]]; then
  read -r KP KT GONE <<<"$(py emulate "$W/ids.tsv" $KEEP)"
  KEPT_SRC="emulated: newest N of each level, closed under incr → previous snapshot and diff → previous full; strata has no forget yet"
fi
# sprune REPO OUT TIMEFILE: strata's forget + prune on REPO (JSON documents into OUT), timed into
# TIMEFILE as "wall_s peak_rss_kib" (two commands: walls added, the larger RSS)
sprune() {
  if [[ $SMODE == forget ]] && (( FORGET_PRUNE )); then
    /usr/bin/time -o "$3" -f '%e %M' "$S" -r "$1" forget $KEEP --prune --json >"$2" 2>"$2.err"
    return
  fi
  if [[ $SMODE == forget ]]; then
    /usr/bin/time -o "$3.1" -f '%e %M' "$S" -r "$1" forget $KEEP --json >"$2" 2>"$2.err" || return $?
  else
    awk -F'\t' -v g=",$GONE," 'index(g, "," $1 ",") {print $4}' "$W/ids.tsv" | while read -r id; do rm "$1/snapshots/$id"; done
    echo "0 0" >"$3.1"
  fi
  /usr/bin/time -o "$3.2" -f '%e %M' "$S" -r "$1" prune --json >>"$2" 2>>"$2.err" || return $?
  paste -d' ' <(tail -1 "$3.1") <(tail -1 "$3.2") | awk '{printf "%.2f %d\n", $1 + $3, ($2 > $4 ? $2 : $4)}' >"$3"
}

############################################################ 3. key cost
t1() { /usr/bin/time -o "$W/t" -f %e "$@" >/dev/null 2>&1 || true; cat "$W/t" | tail -1; }
KEY_S=$(py median $(for k in 1 2 3; do t1 "$S" -r "$W/s.orig" snapshots -q; done))
RC=$W/rcache.orig
KEY_R=$(py median $(for k in 1 2 3; do t1 restic -q --cache-dir "$RC" -r "$W/r.orig" snapshots; done))

############################################################ 2. forget + prune, RUNS runs
declare -a SW SM SB SA RW RM RB RA
for ((run = 1; run <= RUNS; run++)); do
  echo "[prune.sh $(date +%H:%M:%S)] run $run/$RUNS" >&2
  if [[ $SMODE != none ]]; then
    rm -rf "$W/s.work"; cp -a "$W/s.orig" "$W/s.work"
    SB[$run]=$(size "$W/s.work")
    rc=0; sprune "$W/s.work" "$W/sf.$run.json" "$W/t" || rc=$?
    (( rc == 0 )) || { echo "strata $SMODE exited $rc:" >&2; tail -5 "$W/sf.$run.json.err" >&2; exit 1; }
    read -r SW[$run] SM[$run] < <(tail -1 "$W/t")
    SA[$run]=$(size "$W/s.work")
    "$S" -r "$W/s.work" snapshots --json >"$W/left.json"
    read -r kp kt gone <<<"$(py kept "$W/left.json" "$W/ids.tsv")"
    [[ -z $KP || "$KP $KT $GONE" == "$kp $kt $gone" ]] || echo "warning: run $run kept $kp/$kt/$gone, expected $KP/$KT/$GONE" >&2
    [[ $SMODE == forget ]] && KP=$kp KT=$kt GONE=$gone KEPT_SRC="strata forget"
  fi
  rm -rf "$W/r.work" "$W/rcache.work"; cp -al "$W/r.orig" "$W/r.work"; cp -a "$W/rcache.orig" "$W/rcache.work"
  RC=$W/rcache.work
  RB[$run]=$(size "$W/r.work")
  : >"$W/rf.$run.out"; wall=0; rss=0
  # rcmd ARGS...: one timed restic command; wall adds up, peak RSS is the max
  rcmd() { /usr/bin/time -o "$W/t" -f '%e %M' restic --cache-dir "$RC" -r "$W/r.work" "$@" >>"$W/rf.$run.out" 2>&1 || { echo "restic $* failed:" >&2; tail -5 "$W/rf.$run.out" >&2; exit 1; }
    read -r w m < <(tail -1 "$W/t"); wall=$(python3 -c "print($wall + $w)"); (( m > rss )) && rss=$m; true; }
  if [[ $RESTIC_RULE == same-ids ]]; then
    [[ $GONE == - ]] && echo "nothing to forget" >&2 || \
      rcmd forget --prune $(awk -F'\t' -v g=",$GONE," 'index(g, "," $1 ",") {print $5}' "$W/ids.tsv")
  else
    (( KT < NTREE )) && rcmd forget --path "$W/src/tree" --keep-last "$KT"
    rcmd forget --path /dump.sql --keep-last "$KP" --prune
  fi
  RW[$run]=$wall RM[$run]=$rss
  RA[$run]=$(size "$W/r.work")
done
rm -rf "$W/s.work" "$W/r.work" "$W/rcache.work"

############################################################ 4. a backup during forget --prune
# Two cases: "gone" backs up the last dump of pass 0 (after forget, prune is deleting the blobs it
# would deduplicate against: a backup that starts after prune's notice stores them again),
# "kept" the last dump of the last pass (its blobs stay).
CONC_FILE=${DUMPS[-1]}
cfeed() { if [[ $1 == gone ]]; then feed 0 "$CONC_FILE"; else feed $((ROUNDS - 1)) "$CONC_FILE"; fi; }
declare -A CSHA
for c in gone kept; do CSHA[$c]=$(cfeed $c | sha256sum | cut -d' ' -f1); done
sconc() {   # sconc CASE REPO OUTFILE: its backup, "wall rc"
  local a b rc=0
  a=$(date +%s.%N)
  cfeed "$1" | "$S" -r "$2" backup --stdin --stdin-name dump.sql --set pg:bench --level incr --json -q >"$3" 2>"$3.err" || rc=$?
  b=$(date +%s.%N)
  echo "$(python3 -c "print(f'{$b - $a:.2f}')") $rc"
}
restores() {   # restores CASE REPO ID: yes if `strata dump` of it is bit-identical to what was backed up
  [[ -n $3 && $3 != None ]] || { echo "no snapshot"; return; }
  [[ $("$S" -r "$2" dump "$3" dump.sql 2>/dev/null | sha256sum | cut -d' ' -f1) == "${CSHA[$1]}" ]] && echo yes || echo NO
}
stored() { py field "$1" bytes_stored | py mb $(cat); }
declare -A ALONE ALONE_ST
ALONE_RC=0
for c in gone kept; do
  rm -rf "$W/s.c"; cp -a "$W/s.orig" "$W/s.c"
  read -r ALONE[$c] rc <<<"$(sconc $c "$W/s.c" "$W/alone.$c.json")"
  ALONE_ST[$c]=$(stored "$W/alone.$c.json"); (( rc == 0 )) || ALONE_RC=$rc
done
rm -rf "$W/s.c"
: >"$W/conc.md"
if [[ $SMODE != none ]]; then
  for c in gone kept; do
    for d in $CONC_DELAYS; do
      rm -rf "$W/s.c"; cp -a "$W/s.orig" "$W/s.c"
      ( rc=0; sprune "$W/s.c" "$W/pc.json" "$W/tp" || rc=$?; echo $rc >"$W/pc.rc" ) &
      pid=$!
      sleep "$d"
      read -r wall brc <<<"$(sconc $c "$W/s.c" "$W/bc.json")"
      wait "$pid" || true
      ok=$(restores $c "$W/s.c" "$(py id <"$W/bc.json")")
      chk=0; "$S" -r "$W/s.c" check -q >/dev/null 2>&1 || chk=$?
      printf '| %s | %s | %s | %s | %s | %s / %s | %s | %s | %s (rc %s) | %s | %s |\n' "$c" "$d" "${ALONE[$c]}" "$wall" \
        "$(python3 -c "print(f'{$wall - ${ALONE[$c]}:+.2f}')")" "${ALONE_ST[$c]}" "$(stored "$W/bc.json")" "$brc" "$ok" \
        "$(cut -d' ' -f1 "$W/tp")" "$(cat "$W/pc.rc")" "$(py field "$W/pc.json" waited_ms)" "$chk" >>"$W/conc.md"
      rm -rf "$W/s.c"
    done
  done
fi
# restic in the same race: forget --prune in the background, then the same backup
: >"$W/rconc.md"
locked() { grep -m1 -io 'already locked[^:]*' "$1" || echo no; }
for d in ${RCONC_DELAYS:-$CONC_DELAYS}; do
  rm -rf "$W/r.c" "$W/rcache.c"; cp -al "$W/r.orig" "$W/r.c"; cp -a "$W/rcache.orig" "$W/rcache.c"
  RC=$W/rcache.c
  ( rc=0; /usr/bin/time -o "$W/rtp" -f %e restic -q --cache-dir "$RC" -r "$W/r.c" forget --path /dump.sql --keep-last "$KP" --prune >"$W/rpc.out" 2>&1 || rc=$?; echo $rc >"$W/rpc.rc" ) &
  pid=$!
  sleep "$d"
  a=$(date +%s.%N); rrc=0
  cfeed gone | restic -q --cache-dir "$RC" -r "$W/r.c" backup --stdin --stdin-filename dump.sql >"$W/rbc.out" 2>&1 || rrc=$?
  b=$(date +%s.%N)
  wait "$pid" || true
  printf '| %s | %s | %s | %s | %s | %s |\n' "$d" "$(python3 -c "print(f'{$b - $a:.2f}')")" "$rrc" "$(locked "$W/rbc.out")" \
    "$(tail -1 "$W/rtp") (rc $(cat "$W/rpc.rc"))" "$(locked "$W/rpc.out")" >>"$W/rconc.md"
  rm -rf "$W/r.c" "$W/rcache.c"
done

############################################################ results
SWm=$(py median "${SW[@]:-n/a}"); RWm=$(py median "${RW[@]}")
SMm=$(py median "${SM[@]:-n/a}"); RMm=$(py median "${RM[@]}")
SBm=$(py median "${SB[@]:-n/a}"); SAm=$(py median "${SA[@]:-n/a}")
RBm=$(py median "${RB[@]}"); RAm=$(py median "${RA[@]}")
SF=n/a; [[ $SBm == n/a ]] || SF=$(python3 -c "print($SBm - $SAm)")
RF=$(python3 -c "print($RBm - $RAm)")
FIELDS="bytes_deleted bytes_written bytes_read unreferenced_bytes waited_ms duration_ms packs_unused packs_repacked deferred"
if [[ $SMODE != none ]]; then read -r F_DEL F_WR F_RD F_IDEAL F_WAIT F_DUR F_PU F_PR F_DEF <<<"$(py field "$W/sf.1.json" $FIELDS)"
else F_DEL=n/a F_WR=n/a F_RD=n/a F_IDEAL=n/a F_WAIT=n/a F_DUR=n/a F_PU=n/a F_PR=n/a F_DEF=n/a; fi
mib() { [[ $1 == n/a ]] && echo n/a || echo $(( ${1%.*} / 1024 )); }
{
echo "# strata vs restic: forget + prune"
echo
echo "- date: $(date -u +%FT%TZ), host: $(uname -n), nproc: $(nproc), memory: $(free -g | awk '/^Mem/{print $2}') GiB"
echo "- strata: $(git -C "$ROOT" rev-parse --short HEAD) ($("$S" --version)); $(restic version | cut -d' ' -f1-2)"
echo "- command: \`$( ((Q)) && echo 'QUICK=1 ')NDUMPS=${#DUMPS[@]} RUNS=$RUNS ROUND2=$ROUND2 RESTIC_RULE=$RESTIC_RULE benches/prune.sh $DATA\`"
echo "- load at start of the measurements: \`$(uptime | sed 's/.*load/load/')\`"
echo "- data: dumps-hex dump_0..$(( ${#DUMPS[@]} - 1 )).sql ($( ((SLICE)) && echo "first $SLICE bytes of each" || echo "~1.08 GB each")) × $ROUNDS passes ($([[ $ROUND2 == sibling ]] && echo 'pass r > 0 through `tr a-f` to a sibling database: no chunk shared with pass 0' || echo 'the same bytes each pass'))$( ((TREE)) && echo ", plus tree_v1 (full, after pass 0) and tree_v2 (incr, after pass 1) in set tree")"
echo "- snapshots: $((NPG + NTREE)) — pg:bench $NPG ($LEVELS; hour i: full if i % $FULL_EVERY = 0, diff if i % $DIFF_EVERY = 0, else incr), tree $NTREE; built in ${BUILD} s (strata, default KDF, and restic side by side)"
echo "- rules: strata $( if [[ $SMODE == emulate ]]; then echo "\`prune --json\` after the script deleted the snapshot files \`forget $KEEP\` would remove (emulated, see kept)"; elif (( FORGET_PRUNE )); then echo "\`forget $KEEP --prune --json\`"; else echo "\`forget $KEEP --json\` then \`prune --json\` (forget has no --prune: two commands, walls added)"; fi) (default --max-unused 5 %); restic \`forget $([[ $RESTIC_RULE == same-ids ]] && echo '<the snapshots strata removed, by backup position>' || echo "--path /dump.sql --keep-last $KP")$( [[ $RESTIC_RULE != same-ids ]] && (( KT < NTREE )) && echo " (+ tree --keep-last $KT)") --prune\` (0.14 default --max-unused 5%)"
echo "- kept: pg:bench $KP of $NPG, tree $KT of $NTREE ($KEPT_SRC); removed backup positions: $GONE"
echo "- runs: $RUNS, medians (min–max); each on a fresh copy (strata cp -a, restic cp -al + its cache copied), repositories read into the page cache first (strata whole, restic all but data/ plus its cache); MB = 10^6 bytes; ratios strata/restic"
echo
echo "| forget + prune | wall s | peak RSS MiB | repo MB before | repo MB after | freed MB | freed / ideal |"
echo "|---|---|---|---|---|---|---|"
echo "| strata | $(py med "${SW[@]:-n/a}") | $(mib "$SMm") | $(py mb "$SBm") | $(py mb "$SAm") | $(py mb "$SF") | $(py ratio "$SF" "$F_IDEAL" .3f) |"
echo "| restic | $(py med "${RW[@]}") | $(mib "$RMm") | $(py mb "$RBm") | $(py mb "$RAm") | $(py mb "$RF") | – |"
echo "| strata/restic | $(py ratio "$SWm" "$RWm") | $(py ratio "$SMm" "$RMm") | $(py ratio "$SBm" "$RBm") | $(py ratio "$SAm" "$RAm") | $(py ratio "$SF" "$RF") | |"
echo
echo "- strata prune JSON (run 1): bytes_deleted $F_DEL, bytes_written $F_WR, bytes_read $F_RD, unreferenced_bytes (ideal) $F_IDEAL, waited_ms $F_WAIT, duration_ms $F_DUR, packs unused $F_PU, repacked $F_PR, deferred $F_DEF"
echo "- restic prune (run 1): $(grep -sE '^(to repack|this removes|to delete|total prune|remaining|unused size after prune):' "$W/rf.1.out" | sed 's/  */ /g' | paste -sd ';' - | sed 's/;/; /g')"
echo "- key cost: \`strata snapshots\` alone $KEY_S s (default KDF; \`restic snapshots\` $KEY_R s); strata's wall includes $UNLOCKS unlock(s): without them $(python3 -c "print(f'{$SWm - $UNLOCKS * $KEY_S:.1f}')" 2>/dev/null || echo n/a) s, ratio $(py ratio "$(python3 -c "print($SWm - $UNLOCKS * $KEY_S)" 2>/dev/null || echo n/a)" "$(python3 -c "print($RWm - $KEY_R)")") against restic without its own; strata's peak RSS includes the default KDF's memory (Argon2id, 64 MiB)"
echo
echo "## A backup during forget --prune (goal ≤ 5 s extra)"
echo
echo "\`backup --stdin --level incr\` of $(basename "$CONC_FILE") into a fresh copy of the built repository, alone and with forget --prune started d s before it; case gone: its pass-0 bytes (prune is deleting the blobs it would deduplicate against), case kept: its pass-$((ROUNDS - 1)) bytes. Extra time includes sharing $(nproc) cores with prune and, in case gone, storing again what prune deletes (stored MB)."
echo
if [[ $SMODE != none ]]; then
  echo "| case | backup starts after s | alone s | during prune s | extra s | stored MB alone / during | backup rc | restores | forget --prune wall s | prune waited_ms | check rc |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|"
  cat "$W/conc.md"
else
  echo "- backup alone: gone ${ALONE[gone]} s, kept ${ALONE[kept]} s (rc $ALONE_RC); during prune: n/a (strata has no prune yet)"
fi
echo
echo "restic 0.14 in the same race (forget --path /dump.sql --keep-last $KP --prune in the background; backup after d s):"
echo
echo "| backup starts after s | backup s | backup rc | backup refused (lock) | forget --prune wall s | forget refused (lock) |"
echo "|---|---|---|---|---|---|"
cat "$W/rconc.md"
echo
echo "- load at end: \`$(uptime | sed 's/.*load/load/')\`"
} | tee "$OUT"
