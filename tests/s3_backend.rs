//! The backend conformance suite (the one the local backend passes) against real S3 servers:
//! SeaweedFS and s3s-fs on loopback, with a low multipart threshold so that large files go
//! up in parts and are read back across part boundaries.

mod support;

use std::sync::Once;
use strata_repo::backend::s3::{S3Backend, S3Options};
use strata_repo::backend::{conformance, Backend};
use support::s3::{Kind, S3Server, ACCESS_KEY, SECRET_KEY};

fn credentials() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        std::env::set_var("AWS_ACCESS_KEY_ID", ACCESS_KEY);
        std::env::set_var("AWS_SECRET_ACCESS_KEY", SECRET_KEY);
        std::env::set_var("AWS_REGION", "us-east-1");
        std::env::remove_var("AWS_PROFILE");
    });
}

fn backend(server: &S3Server, loc: &str) -> S3Backend {
    credentials();
    let opts = S3Options {
        endpoint: Some(server.endpoint.clone()),
        multipart_threshold: 6 << 20,
        part_size: 5 << 20,
        max_retries: 2,
        ..S3Options::default()
    };
    S3Backend::new(loc, opts).unwrap()
}

fn conformance_on(kind: Kind) {
    let server = S3Server::start(kind);
    server.create_bucket("conformance");
    let b = backend(&server, "s3://conformance/some/prefix");
    conformance::run(&b);
    let t = b.traffic().unwrap();
    assert!(t.requests > 1000 && t.bytes_up > 12 << 20, "{t:?}");
    // Under the prefix only: the same bucket at another prefix is another repository.
    let other = backend(&server, "s3://conformance/other");
    assert!(other
        .list(strata_repo::backend::FileType::Lock)
        .unwrap()
        .is_empty());
}

#[test]
fn seaweedfs_passes_the_backend_conformance_suite() {
    conformance_on(Kind::SeaweedFs);
}

#[test]
fn s3s_fs_passes_the_backend_conformance_suite() {
    conformance_on(Kind::S3sFs);
}

#[test]
fn a_listing_that_fails_is_an_error_not_an_empty_list() {
    let mut server = S3Server::seaweedfs();
    server.create_bucket("gone");
    let b = backend(&server, "s3://gone/r");
    b.write(
        strata_repo::backend::FileType::Snapshot,
        &"a".repeat(64),
        b"x",
    )
    .unwrap();
    server.kill();
    let err = b
        .list(strata_repo::backend::FileType::Snapshot)
        .unwrap_err();
    assert!(err.to_string().contains("s3://gone/r"), "{err}");
    // A bucket that does not exist is an error too, not an empty repository.
    server.restart();
    let missing = backend(&server, "s3://no-such-bucket/r");
    assert!(missing
        .list(strata_repo::backend::FileType::Snapshot)
        .is_err());
    assert!(missing.create().is_err());
}
