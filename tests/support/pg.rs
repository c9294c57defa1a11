//! A throwaway PostgreSQL cluster on loopback for the integration tests.
//!
//! `initdb` refuses to run as root, so the server tools run as the `postgres` user through
//! `runuser`; the cluster lives in a temporary directory owned by that user, listens on
//! 127.0.0.1 on a free port with `trust` authentication for the `postgres` role, and puts its
//! socket in the same directory. [`Pg`] stops the server when dropped, also when a test fails.
//!
//! The binaries come from `STRATA_TEST_PG_BIN` or the newest `/usr/lib/postgresql/*/bin`
//! (Debian's `postgresql` package; `.ci/run` installs it). If they are missing the test fails
//! saying so: a database test that silently passes without a database proves nothing.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The directory holding `initdb`, `pg_ctl`, `psql`, `pg_dump` and `pgbench`.
pub fn bin_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("STRATA_TEST_PG_BIN") {
        return PathBuf::from(d);
    }
    let mut dirs: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .collect();
    dirs.sort();
    match dirs.pop() {
        Some((_, bin)) => bin,
        None => panic!(
            "PostgreSQL server binaries not found: no /usr/lib/postgresql/*/bin/initdb and no \
             STRATA_TEST_PG_BIN. Install them with `apt-get install -y postgresql` (see .ci/run)."
        ),
    }
}

#[allow(unused_imports)]
pub use crate::support::process::{free_port, pipe, run_ok};

/// A temporary directory the `postgres` user owns.
pub fn postgres_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    chown_postgres(dir.path());
    dir
}

/// `chown -R postgres:postgres PATH`.
pub fn chown_postgres(path: &Path) {
    let mut c = Command::new("chown");
    c.args(["-R", "postgres:postgres"]).arg(path);
    run_ok(c);
}

/// A running cluster; stopped on drop.
pub struct Pg {
    pub port: u16,
    pub data: PathBuf,
    bin: PathBuf,
    running: bool,
    // Last, so the directory is removed after the server has stopped.
    dir: tempfile::TempDir,
}

impl Pg {
    /// `initdb` a new cluster in a new temporary directory and start it.
    pub fn start() -> Self {
        let dir = postgres_dir();
        let data = dir.path().join("data");
        let bin = bin_dir();
        let mut c = as_postgres(&bin.join("initdb"));
        c.arg("-D").arg(&data).args([
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        ]);
        run_ok(c);
        Self::open(dir, data)
    }

    /// Starts the cluster in `data` (inside `dir`, which the guard then owns) on a free port.
    pub fn open(dir: tempfile::TempDir, data: PathBuf) -> Self {
        let bin = bin_dir();
        let port = launch(&bin, dir.path(), &data);
        Self {
            port,
            data,
            bin,
            running: true,
            dir,
        }
    }

    /// Starts the stopped cluster again, on a new free port.
    pub fn restart(&mut self) {
        assert!(!self.running, "the cluster is running");
        self.port = launch(&self.bin, self.dir.path(), &self.data);
        self.running = true;
    }

    /// `pg_ctl stop -m fast`: a clean shutdown with a final checkpoint.
    pub fn stop(&mut self) {
        if self.running {
            self.running = false;
            let mut c = as_postgres(&self.bin.join("pg_ctl"));
            c.arg("-D")
                .arg(&self.data)
                .args(["-m", "fast", "-w", "stop"]);
            run_ok(c);
        }
    }

    /// `-h 127.0.0.1 -p PORT -U postgres`, for command lines.
    pub fn conn(&self) -> String {
        format!("-h 127.0.0.1 -p {} -U postgres", self.port)
    }

    /// The absolute path of a client tool (`psql`, `pg_dump`, `pgbench`, `createdb`).
    pub fn tool(&self, name: &str) -> String {
        self.bin.join(name).display().to_string()
    }

    /// A client tool with the connection options set.
    pub fn client(&self, name: &str) -> Command {
        let mut c = Command::new(self.tool(name));
        c.args(self.conn().split(' '));
        c
    }

    /// `psql -At -c SQL` in `db`; returns the trimmed output.
    pub fn psql(&self, db: &str, sql: &str) -> String {
        let mut c = self.client("psql");
        c.args(["-X", "-At", "-v", "ON_ERROR_STOP=1", "-d", db, "-c", sql]);
        run_ok(c).trim().to_string()
    }

    pub fn createdb(&self, db: &str) {
        let mut c = self.client("createdb");
        c.args(["-T", "template0", db]);
        run_ok(c);
    }

    /// `psql` reading a script from stdin into `db`, stopping at the first error.
    pub fn psql_stdin(&self, db: &str) -> Command {
        let mut c = self.client("psql");
        c.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", db]);
        c
    }

    /// `pgbench ARGS... db`.
    pub fn pgbench(&self, db: &str, args: &[&str]) {
        let mut c = self.client("pgbench");
        c.args(args).arg(db);
        run_ok(c);
    }

    /// Row counts of the four pgbench tables and the sums of their balances and deltas:
    /// one line that any committed transaction changes.
    pub fn pgbench_figures(&self, db: &str) -> String {
        self.psql(
            db,
            "SELECT (SELECT count(*) FROM pgbench_accounts), \
                    (SELECT sum(abalance) FROM pgbench_accounts), \
                    (SELECT count(*) FROM pgbench_branches), \
                    (SELECT sum(bbalance) FROM pgbench_branches), \
                    (SELECT count(*) FROM pgbench_tellers), \
                    (SELECT sum(tbalance) FROM pgbench_tellers), \
                    (SELECT count(*) FROM pgbench_history), \
                    (SELECT coalesce(sum(delta), 0) FROM pgbench_history)",
        )
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        if self.running {
            // Immediate: the directory is about to be deleted; nothing needs to be flushed.
            let _ = as_postgres(&self.bin.join("pg_ctl"))
                .arg("-D")
                .arg(&self.data)
                .args(["-m", "immediate", "-w", "stop"])
                .stdin(Stdio::null())
                .output();
        }
    }
}

/// `pg_ctl start` on a free port, waiting until the server accepts connections; the port.
/// Another process may take the port between [`free_port`] and the server's bind: then it
/// tries another.
fn launch(bin: &Path, dir: &Path, data: &Path) -> u16 {
    for _ in 0..5 {
        let port = free_port();
        let opts = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            dir.display()
        );
        let log = dir.join(format!("server-{port}.log"));
        let mut c = as_postgres(&bin.join("pg_ctl"));
        c.arg("-D").arg(data).arg("-l").arg(&log);
        c.args(["-o", &opts, "-w", "-t", "60", "start"]);
        let out = c.stdin(Stdio::null()).output().unwrap();
        if out.status.success() {
            return port;
        }
        let log = std::fs::read_to_string(&log).unwrap_or_default();
        if !log.contains("Address already in use") {
            panic!(
                "PostgreSQL did not start on port {port} from {}:\n{}{}\nserver log:\n{log}",
                data.display(),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
            );
        }
    }
    panic!("PostgreSQL found no free port in 5 tries")
}

/// `runuser -u postgres -- PROGRAM`.
fn as_postgres(program: &Path) -> Command {
    let mut c = Command::new("runuser");
    c.args(["-u", "postgres", "--"]).arg(program);
    c
}
