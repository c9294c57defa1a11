//! Running helper programs in tests: free ports, checked commands, pipes.

use std::net::TcpListener;
use std::process::{Command, Output, Stdio};

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// Runs a command, panicking with its output unless it exits 0; returns stdout.
pub fn run_ok(mut c: Command) -> String {
    let out = c.stdin(Stdio::null()).output().unwrap_or_else(|e| {
        panic!("cannot run {c:?}: {e}");
    });
    check(&c, &out);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn check(c: &Command, out: &Output) {
    assert!(
        out.status.success(),
        "{c:?} exited {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `producer | consumer`, through a real pipe; both must exit 0.
pub fn pipe(mut producer: Command, mut consumer: Command) {
    let mut p = producer
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let c = consumer
        .stdin(p.stdout.take().unwrap())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let cout = c.wait_with_output().unwrap();
    let pout = p.wait_with_output().unwrap();
    check(&producer, &pout);
    check(&consumer, &cout);
}
