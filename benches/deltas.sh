#!/usr/bin/env bash
# benches/deltas.sh DATA_DIR [OUT] — issue "Delta chunks": figures for the closing note.
#
#  1. bytes stored per hourly incremental of the dumps-hex series (1.08 GB pgbench dumps,
#     `pgbench -t 3000` between dumps), strata vs restic in one run, and the zstd -3 size of
#     the lines that changed (the physical floor);
#  2. a compressed week: every dump of DATA_DIR/dumps-hex (24 with NDUMPS=24), a full first,
#     a diff every DIFF_EVERY-th dump, incrementals otherwise: mean bytes per incr and per
#     diff, and bytes read back from the repository to find bases;
#  3. the dumps-tpch series (TPC-H SF1, 1.24 GB): bytes per hourly incremental vs restic;
#  4. backup throughput of an incremental with deltas on vs `--no-delta` (best of 3);
#  5. restore (`strata dump`) of a delta-heavy incremental vs the full (best of 3);
#  6. index memory per TB of unique data at the chunk size used (benches/index_memory.rs).
# Data: /work/shared/datasets/make-bench-data.sh DATA_DIR (NDUMPS=24 for section 2).
# Needs restic (apt) and zstd. Run on an idle machine: sections 4 and 5 are timings.
set -euo pipefail
DATA=$(cd "${1:?usage: deltas.sh DATA_DIR [OUT]}" && pwd)
OUT=${2:-$(dirname "$0")/results/deltas.md}
DIFF_EVERY=${DIFF_EVERY:-6}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release -q -p strata-cli --manifest-path "$ROOT/Cargo.toml"
S=${STRATA_BIN:-$ROOT/target/release/strata}
command -v restic >/dev/null || { apt-get update -qq && apt-get install -y -qq restic >/dev/null; }
command -v zstd >/dev/null || { apt-get update -qq && apt-get install -y -qq zstd >/dev/null; }
W=$(mktemp -d /tmp/strata-deltas.XXXXXX)
trap 'rm -rf "$W"' EXIT
export STRATA_PASSWORD=bench RESTIC_PASSWORD=bench
mapfile -t HEX < <(ls "$DATA"/dumps-hex/dump_*.sql | sort -V)
mapfile -t TPCH < <(ls "$DATA"/dumps-tpch/dump_*.sql | sort -V)
(( ${#HEX[@]} >= 3 )) || { echo "need at least 3 dumps in $DATA/dumps-hex" >&2; exit 1; }
mkdir -p "$W/src" "$(dirname "$OUT")"
SRC=$W/src/db.sql
size() { du -sb "$1" | cut -f1; }
json() { python3 -c "import json,sys; d=json.loads(sys.stdin.read().strip().splitlines()[-1]); print($1)"; }
init() { "$S" -r "$1" init --kdf-memory-mib 16 --kdf-iterations 2 -q >/dev/null; }
# sbackup REPO FILE LEVEL [extra...] → "growth_bytes seconds delta_blobs delta_bytes read_back"
sbackup() {
  local repo=$1 file=$2 lvl=$3; shift 3
  local before a out b
  before=$(size "$repo"); a=$(date +%s.%N)
  out=$("$S" -r "$repo" backup --command "cat $file" --stdin-name db.sql --set pg:bench --level "$lvl" --json -q "$@")
  b=$(date +%s.%N)
  echo "$(( $(size "$repo") - before )) $(python3 -c "print(f'{$b-$a:.2f}')") $(echo "$out" | json "d['delta_blobs'], d['delta_bytes'], d['read_back_bytes'], d['id']" | tr -d '(),'"'")"
}
rbackup() { local before; before=$(size "$1"); restic -q -r "$1" backup --stdin --stdin-filename db.sql < "$2" >/dev/null; echo $(( $(size "$1") - before )); }
# changed_zstd OLD NEW: zstd -3 size of the lines of NEW that are not lines of OLD
changed_zstd() {
  python3 - "$1" "$2" <<'PY' | zstd -3 -q -c | wc -c
import sys
old = set()
with open(sys.argv[1], 'rb') as f:
    for line in f:
        old.add(hash(line))
out = sys.stdout.buffer
with open(sys.argv[2], 'rb') as f:
    for line in f:
        if hash(line) not in old:
            out.write(line)
PY
}
mb() { python3 -c "print(f'{$1/1e6:.2f}')"; }

{
echo "# strata delta chunks: hourly incrementals of database dumps"
echo
echo "- date: $(date -u +%FT%TZ), nproc: $(nproc), strata $(git -C "$ROOT" rev-parse --short HEAD), $(restic version | head -1)"
echo "- load at start: $(uptime | sed 's/.*load/load/')"
echo "- strata: default chunker (256 KiB / 1 MiB / 4 MiB), zstd level 3 (adaptive 1), deltas per SPEC.md § Blob encodings"
echo
echo "## 1. dumps-hex: bytes stored per hourly incremental"
echo
echo "| dump | strata level | strata stored MB | deltas | restic added MB | restic/strata | changed lines, zstd -3 MB | strata/changed |"
echo "|---|---|---|---|---|---|---|---|"
init "$W/s1"; restic init -q -r "$W/r1" >/dev/null
RESTIC_SUM=0; RESTIC_N=0
for i in 0 1 2; do
  lvl=$([ "$i" = 0 ] && echo full || echo incr)
  read -r sg st db dbytes rb sid <<<"$(sbackup "$W/s1" "${HEX[$i]}" "$lvl")"
  rg=$(rbackup "$W/r1" "${HEX[$i]}")
  if (( i > 0 )); then
    cz=$(changed_zstd "${HEX[$((i-1))]}" "${HEX[$i]}")
    RESTIC_SUM=$((RESTIC_SUM + rg)); RESTIC_N=$((RESTIC_N + 1))
    python3 -c "print(f'| $(basename "${HEX[$i]}") | $lvl | {$sg/1e6:.3f} | $db | {$rg/1e6:.1f} | {$rg/$sg:.0f} | {$cz/1e6:.3f} | {$sg/$cz:.2f} |')"
  else
    python3 -c "print(f'| $(basename "${HEX[$i]}") | $lvl | {$sg/1e6:.1f} | $db | {$rg/1e6:.1f} | {$rg/$sg:.2f} | – | – |')"
  fi
done
RESTIC_MEAN=$((RESTIC_SUM / RESTIC_N))
echo
echo "restic mean per hourly dump: $(mb $RESTIC_MEAN) MB. Stored bytes are repository growth (packs, index, snapshot)."
echo
echo "## 2. A compressed week: ${#HEX[@]} hourly dumps, diff every ${DIFF_EVERY}th, incr otherwise"
echo
echo "| dump | level | stored MB | deltas | delta MB | read back MB | seconds |"
echo "|---|---|---|---|---|---|---|"
init "$W/s2"
declare -a INCR DIFF IDS
for i in "${!HEX[@]}"; do
  if (( i == 0 )); then lvl=full; elif (( i % DIFF_EVERY == 0 )); then lvl=diff; else lvl=incr; fi
  read -r sg st db dbytes rb sid <<<"$(sbackup "$W/s2" "${HEX[$i]}" "$lvl")"
  IDS[$i]=$sid
  [[ $lvl == incr ]] && INCR+=("$sg")
  [[ $lvl == diff ]] && DIFF+=("$sg")
  python3 -c "print(f'| $i | $lvl | {$sg/1e6:.3f} | $db | {$dbytes/1e6:.3f} | {$rb/1e6:.0f} | $st |')"
done
python3 - "$RESTIC_MEAN" "${INCR[*]}" "${DIFF[*]:-}" <<'PY'
import sys
r = int(sys.argv[1]); inc = [int(x) for x in sys.argv[2].split()]; dif = [int(x) for x in sys.argv[3].split()]
print()
print(f"- mean per incr: {sum(inc)/len(inc)/1e6:.3f} MB over {len(inc)} (max {max(inc)/1e6:.3f}); restic/strata = {r/(sum(inc)/len(inc)):.0f} (target ≥ 100)")
if dif:
    print(f"- mean per diff: {sum(dif)/len(dif)/1e6:.3f} MB over {len(dif)} (max {max(dif)/1e6:.3f}); restic/strata = {r/(sum(dif)/len(dif)):.0f}")
PY
echo "- whole repository after the week: $(mb "$(size "$W/s2")") MB (restic would hold about $(mb $((RESTIC_MEAN * ${#HEX[@]}))) MB)"
echo
if (( ${#TPCH[@]} >= 2 )); then
  echo "## 3. dumps-tpch: bytes per hourly incremental (${TPCH_KEYS:-3} repositories: the chunker key is random per repository)"
  echo
  echo "| repository | dump | level | strata stored MB | deltas | restic added MB | restic/strata |"
  echo "|---|---|---|---|---|---|---|"
  restic init -q -r "$W/r3" >/dev/null
  declare -a RT
  for i in "${!TPCH[@]}"; do RT[$i]=$(rbackup "$W/r3" "${TPCH[$i]}"); done
  rm -rf "$W/r3"
  TSUM=0; TN=0; RSUM=0
  for k in $(seq 1 "${TPCH_KEYS:-3}"); do
    init "$W/s3"
    for i in "${!TPCH[@]}"; do
      lvl=$([ "$i" = 0 ] && echo full || echo incr)
      read -r sg st db dbytes rb sid <<<"$(sbackup "$W/s3" "${TPCH[$i]}" "$lvl")"
      rg=${RT[$i]}
      if (( i > 0 )); then TSUM=$((TSUM + sg)); RSUM=$((RSUM + rg)); TN=$((TN + 1)); fi
      python3 -c "print(f'| $k | $(basename "${TPCH[$i]}") | $lvl | {$sg/1e6:.3f} | $db | {$rg/1e6:.1f} | {$rg/$sg:.0f} |')"
    done
    rm -rf "$W/s3"
  done
  echo
  python3 -c "print(f'- mean per incr: {$TSUM/$TN/1e6:.3f} MB over $TN; restic mean {$RSUM/$TN/1e6:.1f} MB; restic/strata = {$RSUM/$TSUM:.0f} (target ≥ 100)')"
  echo "- changed lines dump_0 → dump_1, zstd -3: $(mb "$(changed_zstd "${TPCH[0]}" "${TPCH[1]}")") MB"
  echo
fi
echo "## 4. Backup throughput of an incremental: deltas on vs off (best of 3)"
echo
init "$W/s4"
sbackup "$W/s4" "${HEX[0]}" full >/dev/null
best() { sort -n | head -1; }
on=$(for r in 1 2 3; do rm -rf "$W/t"; cp -a "$W/s4" "$W/t"; sbackup "$W/t" "${HEX[1]}" incr | cut -d' ' -f2; done | best)
off=$(for r in 1 2 3; do rm -rf "$W/t"; cp -a "$W/s4" "$W/t"; sbackup "$W/t" "${HEX[1]}" incr --no-delta | cut -d' ' -f2; done | best)
python3 -c "print(f'- incr of dump_1 after a full of dump_0: deltas on {$on:.2f} s, off {$off:.2f} s; throughput on/off = {$off/$on:.2f} (target ≥ 0.8)')"
rm -rf "$W/t" "$W/s4"
echo
echo "## 5. Restore of a delta-heavy incremental vs the full (strata dump > /dev/null, best of 3)"
echo
last=$(( ${#HEX[@]} - 1 )); (( last % DIFF_EVERY == 0 )) && last=$((last - 1))
t() { local best=999 a b; for r in 1 2 3; do a=$(date +%s.%N); /usr/bin/time -o "$W/rss.$1" -f %M "$S" -r "$W/s2" dump "$1" /db.sql > /dev/null; b=$(date +%s.%N); best=$(python3 -c "print(min($best, $b-$a))"); done; echo "$best"; }
tf=$(t "${IDS[0]}"); ti=$(t "${IDS[$last]}")
echo "- peak RSS: full $(( $(cat "$W/rss.${IDS[0]}") / 1024 )) MiB, incr $(( $(cat "$W/rss.${IDS[$last]}") / 1024 )) MiB (base cache bound 32 MiB)"
python3 -c "print(f'- full (dump 0): {$tf:.2f} s ({1.08/$tf:.2f} GB/s); incr (dump $last, deltas two deep): {$ti:.2f} s ({1.08/$ti:.2f} GB/s); throughput incr/full = {$tf/$ti:.2f} (target ≥ 0.8)')"
echo
echo "## 6. Index memory per TB of unique data"
echo
"$S" -r "$W/s2" --json check > "$W/check.json" || true
python3 - "$W/check.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))["stats"]
print(f"- the week's index: {c['blobs']} blobs, {c['deltas']} of them deltas ({100*c['deltas']/c['blobs']:.0f} %), {c['packs']} packs")
PY
echo "- master index measured (benches/index_memory.rs: resident-set growth while loading 0.8 M blobs, the count of 1 TB at 1.25 MB per chunk):"
for share in 0 0.95; do
  echo "  - delta share $share: $(cargo run --release -q -p strata-benches --example index_memory --manifest-path "$ROOT/Cargo.toml" 800000 1.25e6 $share)"
done
echo "- load at end: $(uptime | sed 's/.*load/load/')"
} | tee "$OUT"
