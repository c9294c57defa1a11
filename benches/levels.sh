#!/usr/bin/env bash
# benches/levels.sh DATA_DIR [OUT] — issue "Backup levels": figures for the closing note.
#
#  1. bytes stored by each hourly incremental of a pgbench dump series (DATA_DIR/dumps-hex:
#     dump_i.sql, `pgbench -t 3000` between dumps), strata vs restic on the same files in
#     one run (the file is copied to one fixed path before each backup, as a dump job would);
#  2. metadata written by an incremental of an unchanged 1 GiB file (target < 4 KiB);
#  3. restore time of a full versus an incremental five links deep (target within 10 %).
# Data: /work/shared/datasets/make-bench-data.sh DATA_DIR. Needs restic (apt).
set -euo pipefail
DATA=$(cd "${1:?usage: levels.sh DATA_DIR [OUT]}" && pwd)
OUT=${2:-$(dirname "$0")/results/levels.md}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release -q -p strata-cli --manifest-path "$ROOT/Cargo.toml"
S=${STRATA_BIN:-$ROOT/target/release/strata}
command -v restic >/dev/null || { apt-get update -qq && apt-get install -y -qq restic >/dev/null; }
W=$(mktemp -d /tmp/strata-levels.XXXXXX)
trap 'rm -rf "$W"' EXIT
export STRATA_PASSWORD=bench RESTIC_PASSWORD=bench
mapfile -t DUMPS < <(ls "$DATA"/dumps-hex/dump_*.sql | sort -V)
(( ${#DUMPS[@]} >= 2 )) || { echo "need at least 2 dumps in $DATA/dumps-hex" >&2; exit 1; }
mkdir -p "$W/src" "$(dirname "$OUT")"
SRC=$W/src/db.sql
size() { du -sb "$1" | cut -f1; }
json() { python3 -c "import json,sys; d=json.loads(sys.stdin.read().strip().splitlines()[-1]); print($1)"; }

{
echo "# strata levels: incrementals of a dump series, metadata, restore depth"
echo
echo "- date: $(date -u +%FT%TZ), nproc: $(nproc), strata $(git -C "$ROOT" rev-parse --short HEAD), $(restic version | head -1)"
echo "- load at start: $(uptime | sed 's/.*load/load/')"
echo
echo "## 1. Bytes stored per hourly dump (${#DUMPS[@]} dumps of ~1.08 GB)"
echo
echo "| dump | strata level | strata stored MB | restic added MB | strata/restic |"
echo "|---|---|---|---|---|"
"$S" -r "$W/s1" init --kdf-memory-mib 16 --kdf-iterations 2 -q >/dev/null
restic init -q -r "$W/r1" >/dev/null
for i in "${!DUMPS[@]}"; do
  cp "${DUMPS[$i]}" "$SRC"
  lvl=$([ "$i" = 0 ] && echo full || echo incr)
  out=$("$S" -r "$W/s1" backup "$SRC" --set pg:bench --level "$lvl" --json -q)
  sb=$(echo "$out" | json "d['summary']['bytes_stored']")
  before=$(size "$W/r1"); restic -q -r "$W/r1" backup "$SRC" >/dev/null; after=$(size "$W/r1")
  python3 -c "print(f'| $(basename "${DUMPS[$i]}") | $lvl | {$sb/1e6:.1f} | {($after-$before)/1e6:.1f} | {$sb/max(1,$after-$before):.4f} |')"
done
echo
echo "Incrementals store changed chunks as deltas against the parent's version (DESIGN.md §4b; benches/deltas.sh measures them)."
echo
echo "## 2. Metadata of an incremental of an unchanged 1 GiB file"
echo
head -c $((1<<30)) "${DUMPS[0]}" > "$W/src/one-gib.sql"
"$S" -r "$W/s2" init --kdf-memory-mib 16 --kdf-iterations 2 -q >/dev/null
"$S" -r "$W/s2" backup "$W/src/one-gib.sql" --level full -q >/dev/null
before=$(size "$W/s2")
out=$("$S" -r "$W/s2" backup "$W/src/one-gib.sql" --level incr --json -q)
after=$(size "$W/s2")
echo "- summary: $(echo "$out" | json "d['summary']")"
echo "- repository growth: $((after - before)) bytes (snapshot file $(ls -l "$W"/s2/snapshots | awk 'NR>1{print $5}' | sort -n | tail -1) bytes; target < 4096)"
echo
echo "## 3. Restore time: full vs incremental five links deep"
echo
"$S" -r "$W/s3" init --kdf-memory-mib 16 --kdf-iterations 2 -q >/dev/null
cp "${DUMPS[0]}" "$SRC"
full=$("$S" -r "$W/s3" backup "$SRC" --set chain --level full --json -q | json "d['id']")
last=$full
for k in 1 2 3 4 5; do
  cp "${DUMPS[$((k % ${#DUMPS[@]}))]}" "$SRC"
  last=$("$S" -r "$W/s3" backup "$SRC" --set chain --level incr --json -q | json "d['id']")
done
echo "- chain: full ${full:0:8} → 5 incrementals → ${last:0:8} (parent links: $("$S" -r "$W/s3" snapshots --json | python3 -c "import json,sys; print(sum(1 for s in json.load(sys.stdin) if s['level']=='incr'))") incr)"
t() { local best=999; for r in 1 2 3; do rm -rf "$W/out"; local a=$(date +%s.%N); "$S" -r "$W/s3" restore "$1" --target "$W/out" -q; local b=$(date +%s.%N); best=$(python3 -c "print(min($best, $b-$a))"); done; echo "$best"; }
tf=$(t "$full"); ti=$(t "$last")
python3 -c "print(f'- restore full: {$tf:.2f} s, incr 5 deep: {$ti:.2f} s, ratio incr/full {$ti/$tf:.3f} (best of 3; target ≤ 1.10)')"
echo "- load at end: $(uptime | sed 's/.*load/load/')"
} | tee "$OUT"
