#!/usr/bin/env bash
# Builds strata, backs up a sample (a generated 40 MB dump-like file and this source tree)
# into a fresh local repository, restores it and checks the restore is bit-identical.
set -euo pipefail
cd "$(dirname "$0")"
cargo build --release -q -p strata-cli
S=$PWD/target/release/strata
WORK=$(mktemp -d /tmp/strata-demo.XXXXXX)
export STRATA_REPOSITORY=$WORK/repo STRATA_PASSWORD=demo-passphrase
mkdir -p "$WORK/sample"
cp -r format-spec repo cli "$WORK/sample/"
python3 -c "
import hashlib,sys
with open('$WORK/sample/dump.sql','w') as f:
    for i in range(400000):
        f.write(f'{i}\t{i%97}\t{hashlib.md5(str(i).encode()).hexdigest()}\t2026-11-25\n')
"
$S init
$S backup "$WORK/sample"
$S snapshots
$S restore latest --target "$WORK/restored" --verify
diff -r "$WORK/sample" "$WORK/restored$WORK/sample" && echo "restore is bit-identical: $WORK/restored$WORK/sample"
$S dump latest "$WORK/sample/dump.sql" | cmp - "$WORK/sample/dump.sql" && echo "dump is bit-identical"
