//! A throwaway MariaDB server on loopback for the integration tests.
//!
//! `mariadb-install-db --auth-root-authentication-method=normal` creates the system tables
//! with a `root` account that has an empty password for `localhost`, `127.0.0.1` and `::1`;
//! `mariadbd --no-defaults --user=root` then serves the temporary data directory on
//! 127.0.0.1 on a free port (socket, pid file and error log in the same directory), and every
//! client connects over TCP as `root` without a password. The tests run as root, as CI does.
//! [`Maria`] stops the server when dropped, also when a test fails.
//!
//! Programs are looked up on `PATH` plus `/usr/sbin` and `/usr/bin` (Debian's `mariadb-server`
//! package; `.ci/run` installs it). If they are missing the test fails saying so.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The first of `names` found on `PATH`, `/usr/sbin` or `/usr/bin`.
pub fn program(names: &[&str]) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs: Vec<PathBuf> = std::env::split_paths(&path).collect();
    dirs.extend(["/usr/sbin".into(), "/usr/bin".into()]);
    for n in names {
        if let Some(p) = dirs.iter().map(|d| d.join(n)).find(|p| p.is_file()) {
            return p;
        }
    }
    panic!(
        "MariaDB program not found: none of {names:?} on PATH, /usr/sbin or /usr/bin. \
         Install it with `apt-get install -y mariadb-server` (see .ci/run)."
    )
}

#[allow(unused_imports)]
pub use crate::support::process::{free_port, pipe, run_ok};

/// A running server; stopped on drop.
pub struct Maria {
    pub port: u16,
    server: Child,
    // Last, so the directory is removed after the server has stopped.
    dir: tempfile::TempDir,
}

impl Maria {
    /// Creates a data directory and starts a server on it; returns once it answers queries.
    pub fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        // A private tmpdir: two bootstraps sharing /tmp collide on temporary-table names
        // ("Could not remove temporary table '/tmp/#sql-temptable-…'"), seen when tests ran
        // in parallel.
        let tmp = dir.path().join("tmp");
        std::fs::create_dir_all(&tmp).unwrap();
        let mut c = Command::new(program(&["mariadb-install-db", "mysql_install_db"]));
        c.arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--tmpdir={}", tmp.display()))
            .args([
                "--user=root",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
            ]);
        run_ok(c);

        // Another process may take the port between `free_port` and the server's bind: then
        // the server exits saying so, and another port is tried.
        for _ in 0..5 {
            let port = free_port();
            match launch(dir.path(), port) {
                Ok(server) => return Self { port, server, dir },
                Err(log) if log.contains("Address already in use") => continue,
                Err(log) => panic!("MariaDB did not start on port {port}:\n{log}"),
            }
        }
        panic!("MariaDB found no free port in 5 tries")
    }

    /// `-h 127.0.0.1 -P PORT --protocol=TCP -u root`, for command lines.
    pub fn conn(&self) -> String {
        format!("-h 127.0.0.1 -P {} --protocol=TCP -u root", self.port)
    }

    /// The `mariadb` (or `mysql`) client with the connection options set.
    pub fn client(&self) -> Command {
        let mut c = Command::new(program(&["mariadb", "mysql"]));
        c.arg("--no-defaults").args(self.conn().split(' '));
        c
    }

    /// The dump program's absolute path (`mariadb-dump` or `mysqldump`).
    pub fn dump_tool(&self) -> String {
        program(&["mariadb-dump", "mysqldump"])
            .display()
            .to_string()
    }

    /// Runs SQL in `db` (none: no default database); returns tab-separated rows, no headers.
    pub fn sql(&self, db: Option<&str>, sql: &str) -> String {
        let mut c = self.client();
        c.args(["-N", "-B", "-e", sql]).args(db);
        run_ok(c).trim().to_string()
    }

    /// The client reading a script from stdin into `db`, stopping at the first error.
    pub fn client_into(&self, db: &str) -> Command {
        let mut c = self.client();
        c.arg(db);
        c
    }
}

/// Starts `mariadbd` on the data directory in `dir` and waits until it answers on its socket
/// (its own, unlike the port); the server, or its error log if it exited or timed out.
fn launch(dir: &Path, port: u16) -> Result<Child, String> {
    let at = |f: &str| dir.join(f).display().to_string();
    let (sock, log) = (at("mysqld.sock"), dir.join(format!("error-{port}.log")));
    let mut server = Command::new(program(&["mariadbd", "mysqld"]))
        .arg("--no-defaults")
        .arg(format!("--datadir={}", at("data")))
        .arg(format!("--tmpdir={}", at("tmp")))
        .arg(format!("--socket={sock}"))
        .arg(format!("--pid-file={}", at("mysqld.pid")))
        .arg(format!("--log-error={}", log.display()))
        .arg(format!("--port={port}"))
        .args([
            "--user=root",
            "--bind-address=127.0.0.1",
            "--skip-log-bin",
            "--innodb-buffer-pool-size=64M",
            "--innodb-flush-log-at-trx-commit=0",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ping = Command::new(program(&["mariadb", "mysql"]))
            .arg("--no-defaults")
            .arg(format!("--socket={sock}"))
            .args(["--protocol=SOCKET", "-u", "root", "-e", "SELECT 1"])
            .stdin(Stdio::null())
            .output();
        if ping.is_ok_and(|o| o.status.success()) {
            return Ok(server);
        }
        let exited = server.try_wait().unwrap();
        if exited.is_some() || Instant::now() > deadline {
            let _ = server.kill();
            let _ = server.wait();
            let why = exited.map_or("timed out".into(), |s| s.to_string());
            let log = std::fs::read_to_string(&log).unwrap_or_default();
            return Err(format!("{why}\n{log}"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

impl Drop for Maria {
    fn drop(&mut self) {
        // SIGTERM is a clean shutdown; after 30 s, SIGKILL.
        let _ = Command::new("kill")
            .arg(self.server.id().to_string())
            .stdin(Stdio::null())
            .output();
        let deadline = Instant::now() + Duration::from_secs(30);
        while matches!(self.server.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}
