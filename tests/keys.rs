//! Key files: add, list, passwd and remove change only `keys/`; data stays readable.

mod support;

use support::*;

const KDF: [&str; 4] = ["--kdf-memory-mib", "16", "--kdf-iterations", "2"];

#[test]
fn add_passwd_remove_keep_data_readable() {
    let r = TestRepo::new();
    let src = r.path("src");
    std::fs::create_dir(&src).unwrap();
    std::fs::write(src.join("f"), dumpish(1000)).unwrap();
    r.backup(&[&src]);
    let packs = r.list("data");

    let mut args = vec!["key", "add"];
    args.extend(KDF);
    assert_ok(
        &r.cmd(&args)
            .env("STRATA_NEW_PASSWORD", "second")
            .output()
            .unwrap(),
    );
    let keys = r.json(&["key", "list", "--json"]);
    assert_eq!(keys.as_array().unwrap().len(), 2);

    // The second passphrase opens the repository and restores.
    let out = r
        .cmd(&["dump", "latest", src.join("f").to_str().unwrap()])
        .env("STRATA_PASSWORD", "second")
        .output()
        .unwrap();
    assert_ok(&out);
    assert!(out.stdout == dumpish(1000));

    // passwd on the first key: the old passphrase stops working, the new one works.
    let mut args = vec!["key", "passwd"];
    args.extend(KDF);
    assert_ok(
        &r.cmd(&args)
            .env("STRATA_NEW_PASSWORD", "third")
            .output()
            .unwrap(),
    );
    assert_eq!(r.run(&["snapshots"]).status.code(), Some(12));
    assert_ok(
        &r.cmd(&["snapshots"])
            .env("STRATA_PASSWORD", "third")
            .output()
            .unwrap(),
    );

    // Remove the "second" key while opened with "third".
    let keys = r
        .cmd(&["key", "list", "--json"])
        .env("STRATA_PASSWORD", "second")
        .output()
        .unwrap();
    let keys: serde_json::Value = serde_json::from_slice(&keys.stdout).unwrap();
    let second = keys
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["current"] == true)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let out = r
        .cmd(&["key", "remove", &second[..10]])
        .env("STRATA_PASSWORD", "third")
        .output()
        .unwrap();
    assert_ok(&out);
    assert_eq!(
        r.cmd(&["snapshots"])
            .env("STRATA_PASSWORD", "second")
            .output()
            .unwrap()
            .status
            .code(),
        Some(12)
    );
    assert_eq!(r.list("keys").len(), 1);
    // The current key cannot be removed.
    let keys = r
        .cmd(&["key", "list", "--json"])
        .env("STRATA_PASSWORD", "third")
        .output()
        .unwrap();
    let keys: serde_json::Value = serde_json::from_slice(&keys.stdout).unwrap();
    let third = keys[0]["id"].as_str().unwrap().to_string();
    assert_eq!(
        r.cmd(&["key", "remove", &third])
            .env("STRATA_PASSWORD", "third")
            .output()
            .unwrap()
            .status
            .code(),
        Some(1)
    );
    // Data was never rewritten.
    assert_eq!(packs, r.list("data"));
}

#[test]
fn key_below_the_kdf_floor_is_refused() {
    let r = TestRepo::new();
    let out = r
        .cmd(&[
            "key",
            "add",
            "--kdf-memory-mib",
            "1",
            "--kdf-iterations",
            "1",
        ])
        .env("STRATA_NEW_PASSWORD", "weak")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(r.list("keys").len(), 1);
}

/// The (m_kib, t, p) of every key file, as `key list --json` shows them.
fn key_costs(r: &TestRepo) -> Vec<(u64, u64, u64)> {
    let keys = r.json(&["key", "list", "--json"]);
    keys.as_array()
        .unwrap()
        .iter()
        .map(|k| {
            let n = |f: &str| k[f].as_u64().unwrap();
            (n("m_kib"), n("t"), n("p"))
        })
        .collect()
}

#[test]
fn init_without_flags_writes_the_default_cost_and_passwd_raises_it() {
    let dir = tempfile::tempdir().unwrap();
    let r = TestRepo {
        repo: dir.path().join("repo"),
        dir,
    };
    assert_ok(&r.run(&["init"]));
    // SPEC.md § Key files: 64 MiB, 3 passes, 4 lanes (RFC 9106's second option).
    assert_eq!(key_costs(&r), [(65536, 3, 4)]);

    // The same passphrase rewritten at a higher cost still opens the repository.
    let out = r
        .cmd(&[
            "key",
            "passwd",
            "--kdf-memory-mib",
            "80",
            "--kdf-iterations",
            "4",
            "--kdf-lanes",
            "2",
        ])
        .env("STRATA_NEW_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    assert_ok(&out);
    assert_eq!(key_costs(&r), [(81920, 4, 2)]);
}
