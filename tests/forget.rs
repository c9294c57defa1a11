//! `strata forget` on a real repository: level rules keep whole restore chains and explain
//! why, the dry run writes nothing, a real run removes exactly the planned snapshots and
//! their drills while every kept snapshot still restores bit-identically; explicit IDs that
//! a kept snapshot needs are refused unless `--force`; bad rules are usage errors (exit 2),
//! unknown IDs errors (exit 1), and neither removes anything. Bucket rules need synthetic
//! times and are covered by the unit tests in `repo/src/forget/tests.rs`.

mod support;

use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Write;
use std::process::Stdio;
use support::*;

const SET: &str = "db";

/// A dump whose rows `changed..changed+50` carry `version`.
fn dump(version: u32, changed: usize) -> Vec<u8> {
    (0..4_000)
        .map(|i| {
            let v = if (changed..changed + 50).contains(&i) {
                version
            } else {
                0
            };
            format!("row {i}\tv{v}\tpayload {}\n", i * 7)
        })
        .collect::<String>()
        .into_bytes()
}

/// `backup --stdin` at a level; returns the snapshot ID.
fn backup(r: &TestRepo, level: &str, data: &[u8]) -> String {
    let mut child = r
        .cmd(&[
            "backup",
            "--stdin",
            "--stdin-name",
            "db.sql",
            "--set",
            SET,
            "--level",
            level,
            "--json",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(data).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_ok(&out);
    let text = String::from_utf8(out.stdout).unwrap();
    let v: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(v["level"], level);
    v["id"].as_str().unwrap().to_string()
}

/// The snapshot IDs `snapshots` lists, sorted.
fn listed(r: &TestRepo) -> Vec<String> {
    let mut v: Vec<String> = r
        .json(&["snapshots", "--json"])
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

fn restores_identically(r: &TestRepo, id: &str, data: &[u8]) {
    let target = r.path(&format!("restore-{id}"));
    assert_ok(&r.run(&["restore", id, "--target", target.to_str().unwrap()]));
    assert_eq!(
        std::fs::read(target.join("db.sql")).unwrap(),
        data,
        "snapshot {id}"
    );
}

/// Decision of one snapshot in a `forget --json` document.
fn decision<'a>(doc: &'a Value, id: &str) -> &'a Value {
    doc["sets"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["snapshots"].as_array().unwrap())
        .find(|d| d["id"] == id)
        .unwrap_or_else(|| panic!("{id} not in {doc}"))
}

fn reasons(doc: &Value, id: &str) -> Vec<String> {
    decision(doc, id)["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap().to_string())
        .collect()
}

/// Two weeks in miniature: F1 D1 I1 I2, then F2 D2 I3 (oldest first).
struct Fixture {
    r: TestRepo,
    ids: BTreeMap<&'static str, String>,
    data: BTreeMap<&'static str, Vec<u8>>,
}

fn fixture() -> Fixture {
    let r = TestRepo::new();
    let mut ids = BTreeMap::new();
    let mut data = BTreeMap::new();
    for (n, (name, level)) in [
        ("F1", "full"),
        ("D1", "diff"),
        ("I1", "incr"),
        ("I2", "incr"),
        ("F2", "full"),
        ("D2", "diff"),
        ("I3", "incr"),
    ]
    .into_iter()
    .enumerate()
    {
        let n = u32::try_from(n).unwrap();
        let d = dump(n + 1, (n as usize) * 300);
        ids.insert(name, backup(&r, level, &d));
        data.insert(name, d);
    }
    Fixture { r, ids, data }
}

fn short(id: &str) -> &str {
    &id[..8]
}

#[test]
fn level_rules_keep_chains_and_forget_removes_exactly_the_plan() {
    let Fixture { r, ids, data } = fixture();
    let id = |n: &str| ids[n].clone();
    // The parent chain is what the rules assume.
    let snaps = r.json(&["snapshots", "--json"]);
    let by_id = |x: &str| {
        snaps
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == x)
            .unwrap()
            .clone()
    };
    assert_eq!(by_id(&id("I3"))["parent"], id("D2").as_str());
    assert_eq!(by_id(&id("I3"))["base"], id("F2").as_str());
    // Drills of a snapshot that will go and of one that stays.
    for n in ["F1", "I1", "F2"] {
        assert_ok(&r.run(&["verify", &id(n)]));
    }
    assert_eq!(r.list("drills").len(), 3);

    // keep-last 1 keeps I3; closure pulls in its parent D2 and its base F2.
    let before = r.files();
    let doc = r.json(&["forget", "--dry-run", "--json", "--keep-last", "1"]);
    assert_eq!(doc["dry_run"], true);
    assert_eq!(doc["kept"], 3);
    assert_eq!(doc["removed"], 4);
    assert_eq!(reasons(&doc, &id("I3")), vec!["keep-last 1 of 1"]);
    assert_eq!(
        reasons(&doc, &id("D2")),
        vec![format!("parent of {}", short(&id("I3")))]
    );
    assert_eq!(
        reasons(&doc, &id("F2")),
        vec![format!("base of {}", short(&id("I3")))]
    );
    assert_eq!(decision(&doc, &id("F1"))["keep"], false);
    assert_eq!(reasons(&doc, &id("F1")), vec!["no rule keeps it"]);
    assert_eq!(r.files(), before, "a dry run writes nothing");

    // Level rules: one full, one diff of it, one incr whose chain is kept.
    let args = [
        "forget",
        "--json",
        "--keep-full",
        "1",
        "--keep-diff",
        "1",
        "--keep-incr",
        "1",
    ];
    let mut dry = args.to_vec();
    dry.push("--dry-run");
    let doc = r.json(&dry);
    assert_eq!(reasons(&doc, &id("F2")), vec!["keep-full 1 of 1"]);
    assert_eq!(reasons(&doc, &id("D2")), vec!["keep-diff 1 of 1"]);
    assert_eq!(reasons(&doc, &id("I3")), vec!["keep-incr 1 of 1"]);
    for gone in ["F1", "D1", "I1", "I2"] {
        assert_eq!(decision(&doc, &id(gone))["keep"], false, "{gone}");
    }
    // Expiring F1 expires what is based on it, and the plan says so.
    assert_eq!(
        reasons(&doc, &id("D1")),
        vec![
            "no rule keeps it".to_string(),
            format!("its full {} is not kept", short(&id("F1")))
        ]
    );
    assert_eq!(
        reasons(&doc, &id("I2")),
        vec![
            "no rule keeps it".to_string(),
            format!("diff {} on its chain is not kept", short(&id("D1")))
        ]
    );
    let set = &doc["sets"][0];
    assert_eq!(set["set"], SET);
    assert_eq!(set["rules"], "flags");
    assert_eq!(set["snapshots"][0]["id"], id("I3").as_str(), "newest first");
    assert_eq!(set["snapshots"][0]["level"], "incr");

    let done = r.json(&args);
    assert_eq!(done["dry_run"], false);
    assert_eq!(done["removed"], 4);
    assert_eq!(done["drills_removed"], 2);
    let mut expect = vec![id("F2"), id("D2"), id("I3")];
    expect.sort();
    assert_eq!(listed(&r), expect);
    assert_eq!(r.list("drills").len(), 1, "only F2's drill stays");
    for n in ["F2", "D2", "I3"] {
        restores_identically(&r, &id(n), &data[n]);
    }

    // A rerun with the same rules finds nothing more to do.
    let again = r.json(&args);
    assert_eq!(again["removed"], 0);
    assert_eq!(again["kept"], 3);
}

#[test]
fn explicit_ids_unknown_needed_forced_and_the_floor() {
    let Fixture { r, ids, data } = fixture();
    let id = |n: &str| ids[n].clone();
    let before = r.files();

    // Unknown ID: exit 1, nothing removed.
    let out = r.run(&["forget", "deadbeef"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(r.files(), before);

    // D2 is I3's parent and I3 stays: refused with the reason, nothing removed.
    let out = r.run(&["forget", short(&id("D2"))]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("parent of {}", short(&id("I3")))),
        "{err}"
    );
    assert_eq!(r.files(), before);

    // Named together with I3 it goes; so does a lone leaf.
    let doc = r.json(&["forget", "--json", short(&id("I2"))]);
    assert_eq!(doc["removed"], 1);
    assert_eq!(reasons(&doc, &id("I2")), vec!["named on the command line"]);

    // --force removes a needed snapshot; its dependant still restores in one step.
    assert_ok(&r.run(&["forget", "--force", short(&id("D2"))]));
    assert!(!listed(&r).contains(&id("D2")));
    restores_identically(&r, &id("I3"), &data["I3"]);

    // Removing every full of the set is refused unless --allow-empty-set.
    let before = r.files();
    let out = r.run(&[
        "forget",
        "--force",
        short(&id("F1")),
        short(&id("F2")),
        short(&id("D1")),
        short(&id("I1")),
        short(&id("I3")),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("without a full"), "{}", stderr(&out));
    assert_eq!(r.files(), before);
}

#[test]
fn bad_rules_are_usage_errors_and_stored_retention_applies() {
    let Fixture { r, ids, .. } = fixture();
    let before = r.files();
    for bad in [
        vec!["forget", "--keep-last", "0"],
        vec!["forget"],
        vec!["forget", "--keep-incr", "3"],
        vec!["forget", "--keep-last", "-1"],
        vec!["forget", "--keep-within", "3x"],
        vec!["forget", "--keep-last", "1", &ids["I3"][..8]],
    ] {
        let out = r.run(&bad);
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {}", stderr(&out));
    }
    assert_eq!(r.files(), before);

    // Stored retention: `forget` with no rules applies it; intervals stay as they were.
    assert_ok(&r.run(&["policy", "set", "--set", SET, "--incr", "30m"]));
    let p = r.json(&[
        "policy",
        "set",
        "--json",
        "--set",
        SET,
        "--keep-full",
        "1",
        "--keep-diff",
        "0",
    ]);
    assert_eq!(p["incr_s"], 1_800);
    assert_eq!(p["keep"]["full"], 1);
    // Changing only an interval carries the retention over.
    assert_ok(&r.run(&["policy", "set", "--set", SET, "--diff", "12h"]));
    let show = r.json(&["policy", "show", "--json", "--set", SET]);
    assert_eq!(show["policies"][0]["diff_s"], 43_200);
    assert_eq!(show["policies"][0]["keep"]["full"], 1);
    assert_eq!(show["policies"][0]["keep"]["diff"], 0);
    let text = r.run(&["policy", "show"]);
    assert!(
        String::from_utf8_lossy(&text.stdout).contains("keep-full 1, keep-diff 0"),
        "{}",
        String::from_utf8_lossy(&text.stdout)
    );
    let doc = r.json(&["forget", "--dry-run", "--json"]);
    assert_eq!(doc["sets"][0]["rules"], "stored");
    // keep-diff 0: no diff stays, so no incr is eligible either; only F2.
    assert_eq!(doc["kept"], 1);
    assert_eq!(reasons(&doc, &ids["F2"]), vec!["keep-full 1 of 1"]);
    // A set in scope without stored retention: nothing to apply.
    let out = r.run(&["forget", "--set", "other"]);
    assert_eq!(out.status.code(), Some(2));
}
