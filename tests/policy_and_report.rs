//! `policy set|show` store and read a set's schedule (newest wins, intervals must nest),
//! `--level auto` follows it, and `report` judges each set's newest snapshots against it:
//! exit 0 when every RPO is met, exit 1 (with the report still printed) when one is missed.

mod support;

use format_spec::crypto::ObjectKind;
use format_spec::id::SnapshotId;
use format_spec::snapshot::{Level, Snapshot};
use serde_json::Value;
use std::process::Output;
use std::sync::Arc;
use strata_repo::backend::local::LocalBackend;
use strata_repo::backend::FileType;
use strata_repo::repository::Repository;
use support::*;

const DAY: i64 = 86_400;

fn stdout_json(out: &Output) -> Value {
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.lines().last().expect("a JSON line on stdout"))
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {text}"))
}

fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64
}

/// A repository with one real full snapshot of a small directory in set `set`.
fn repo_with_backup(set: &str) -> (TestRepo, String) {
    let r = TestRepo::new();
    let src = r.path("src");
    std::fs::create_dir(&src).unwrap();
    std::fs::write(src.join("a.txt"), b"hello").unwrap();
    let v = r.json(&["backup", "--json", "--set", set, src.to_str().unwrap()]);
    (r, v["id"].as_str().unwrap().to_string())
}

/// Writes a copy of the repository's first snapshot into `set` with the given level,
/// age and lineage, as an older strata run would have.
fn forge(
    r: &TestRepo,
    set: &str,
    level: Level,
    age_s: i64,
    parent: Option<SnapshotId>,
) -> SnapshotId {
    let repo = Repository::open(Arc::new(LocalBackend::new(&r.repo)), PASSWORD.as_bytes()).unwrap();
    let (_, template) = repo.snapshots().unwrap().into_iter().next().unwrap();
    let snap = Snapshot {
        set: set.into(),
        level,
        time_ns: now_ns() - age_s * 1_000_000_000,
        parent,
        base: parent,
        ..template
    };
    SnapshotId(
        repo.save(FileType::Snapshot, ObjectKind::Snapshot, &snap)
            .unwrap(),
    )
}

fn show(r: &TestRepo, set: &str) -> Value {
    let v = r.json(&["policy", "show", "--json", "--set", set]);
    let list = v["policies"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{v}");
    list[0].clone()
}

#[test]
fn policy_set_stores_and_the_newest_wins() {
    let r = TestRepo::new();
    let out = r.run(&[
        "policy", "set", "--set", "pg:main", "--full", "7d", "--diff", "1d", "--incr", "1h30m",
    ]);
    assert_ok(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("full 1w, diff 1d, incr 1h30m"));
    assert_eq!(r.list("policies").len(), 1);
    let p = show(&r, "pg:main");
    assert_eq!(
        (&p["full_s"], &p["diff_s"], &p["incr_s"], &p["stored"]),
        (
            &Value::from(604_800),
            &Value::from(86_400),
            &Value::from(5_400),
            &Value::from(true)
        )
    );

    // Only --incr given: the other intervals keep their stored values.
    assert_ok(&r.run(&["policy", "set", "--set", "pg:main", "--incr", "15m"]));
    assert_eq!(r.list("policies").len(), 2, "a change writes a new policy");
    let p = show(&r, "pg:main");
    assert_eq!(p["incr_s"], 900);
    assert_eq!(p["full_s"], 604_800);

    // `show` without --set lists each stored set once, with its policy in force.
    assert_ok(&r.run(&["policy", "set", "--set", "files", "--incr", "2h"]));
    let all = r.json(&["policy", "show", "--json"]);
    let sets: Vec<(&str, u64)> = all["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["set"].as_str().unwrap(), p["incr_s"].as_u64().unwrap()))
        .collect();
    assert_eq!(sets, vec![("files", 7_200), ("pg:main", 900)]);
    let text = r.run(&["policy", "show"]);
    assert_ok(&text);
    assert!(String::from_utf8_lossy(&text.stdout).contains("15m"));
}

#[test]
fn policy_set_refuses_intervals_that_do_not_nest() {
    let r = TestRepo::new();
    for args in [
        &["--full", "1h", "--diff", "1d"][..],
        &["--incr", "2d"],
        &["--incr", "0s"],
    ] {
        let mut cmd = vec!["policy", "set", "--set", "pg:main"];
        cmd.extend_from_slice(args);
        let out = r.run(&cmd);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains("full ≥ diff ≥ incr > 0"), "{err}");
        assert!(err.contains("pg:main"), "{err}");
    }
    // Unparseable durations are usage errors.
    for bad in ["5x", "90", "h"] {
        let out = r.run(&["policy", "set", "--set", "pg:main", "--incr", bad]);
        assert_eq!(out.status.code(), Some(2), "{bad}: {}", stderr(&out));
    }
    let out = r.run(&["policy", "set", "--set", "pg:main"]);
    assert_eq!(out.status.code(), Some(2), "no interval given");
    assert!(r.list("policies").is_empty(), "nothing stored");
}

#[test]
fn policy_show_defaults_only_for_known_sets() {
    let (r, _) = repo_with_backup("s1");
    let p = show(&r, "s1");
    assert_eq!(p["stored"], false);
    assert_eq!(
        (&p["full_s"], &p["diff_s"], &p["incr_s"]),
        (
            &Value::from(604_800),
            &Value::from(86_400),
            &Value::from(3_600)
        )
    );
    let out = r.run(&["policy", "show", "--set", "nope"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("\"nope\""), "{}", stderr(&out));
    let all = r.json(&["policy", "show", "--json"]);
    assert_eq!(all["policies"], Value::Array(vec![]), "nothing stored");
}

#[test]
fn auto_level_follows_the_stored_policy() {
    let (r, _) = repo_with_backup("s");
    let src = r.path("src");
    let level = |r: &TestRepo| {
        let v = r.json(&["backup", "--json", "--set", "s", src.to_str().unwrap()]);
        v["level"].as_str().unwrap().to_string()
    };
    assert_eq!(level(&r), "incr", "default policy: the full is fresh");
    assert_ok(&r.run(&[
        "policy", "set", "--set", "s", "--full", "1s", "--diff", "1s", "--incr", "1s",
    ]));
    std::thread::sleep(std::time::Duration::from_millis(1_100));
    assert_eq!(level(&r), "full", "the full is older than the stored 1 s");
}

#[test]
fn report_meets_rpo_with_a_fresh_full() {
    let (r, id) = repo_with_backup("fresh");
    let out = r.run(&["report", "--json"]);
    assert_ok(&out);
    let v = stdout_json(&out);
    assert_eq!(v["rpo_met"], true);
    let sets = v["sets"].as_array().unwrap();
    assert_eq!(sets.len(), 1);
    let s = &sets[0];
    assert_eq!(s["set"], "fresh");
    assert_eq!(s["rpo_met"], true);
    assert_eq!(s["last_drill"], Value::Null);
    assert_eq!(s["policy"]["stored"], false);
    assert_eq!(s["levels"]["full"]["id"], id.as_str());
    assert!(s["levels"]["full"]["age_s"].as_u64().unwrap() < 60);
    assert_eq!(s["levels"]["full"]["rpo_s"], 604_800);
    // No diff or incr exists, but the fresh full satisfies their shorter intervals.
    for l in ["diff", "incr"] {
        assert_eq!(s["levels"][l]["id"], Value::Null, "{l}");
        assert_eq!(s["levels"][l]["met"], true, "{l}");
        assert_eq!(s["levels"][l]["covered_by"]["id"], id.as_str(), "{l}");
    }
    let text = r.run(&["report"]);
    assert_ok(&text);
    assert!(String::from_utf8_lossy(&text.stdout).contains("set fresh: RPO met"));
}

#[test]
fn report_flags_a_missed_rpo_and_exits_1() {
    let (r, _) = repo_with_backup("fresh");
    forge(&r, "old", Level::Full, 8 * DAY, None);
    let full = forge(&r, "mixed", Level::Full, 3 * DAY, None);
    let diff = forge(&r, "mixed", Level::Diff, 2 * 3_600, Some(full));

    let out = r.run(&["report", "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("RPO missed"), "{}", stderr(&out));
    let v = stdout_json(&out);
    assert_eq!(v["rpo_met"], false);
    let names: Vec<&str> = v["sets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["set"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["fresh", "mixed", "old"]);

    let out = r.run(&["report", "--json", "--set", "old"]);
    assert_eq!(out.status.code(), Some(1));
    let old = &stdout_json(&out)["sets"][0];
    assert_eq!(old["rpo_met"], false);
    let age = old["levels"]["full"]["age_s"].as_i64().unwrap();
    assert!((8 * DAY..8 * DAY + 60).contains(&age), "age {age}");
    for l in ["full", "diff", "incr"] {
        assert_eq!(old["levels"][l]["met"], false, "{l}");
    }

    // A 3-day-old full and a 2-hour-old diff: full and diff met, the hourly incr missed.
    let out = r.run(&["report", "--json", "--set", "mixed"]);
    assert_eq!(out.status.code(), Some(1));
    let m = &stdout_json(&out)["sets"][0];
    assert_eq!(m["levels"]["full"]["met"], true);
    assert_eq!(m["levels"]["diff"]["met"], true);
    assert_eq!(m["levels"]["diff"]["id"], diff.to_hex().as_str());
    assert_eq!(m["levels"]["incr"]["met"], false);
    assert_eq!(m["levels"]["incr"]["id"], Value::Null);
    assert_eq!(
        m["levels"]["incr"]["covered_by"]["id"],
        diff.to_hex().as_str()
    );
    assert!(
        String::from_utf8_lossy(&r.run(&["report", "--set", "mixed"]).stdout).contains("MISSED")
    );

    // A stored policy with a 3 h incr interval makes the same history compliant.
    assert_ok(&r.run(&["policy", "set", "--set", "mixed", "--incr", "3h"]));
    let out = r.run(&["report", "--json", "--set", "mixed"]);
    assert_ok(&out);
    let m = &stdout_json(&out)["sets"][0];
    assert_eq!(m["policy"]["stored"], true);
    assert_eq!(m["levels"]["incr"]["rpo_s"], 10_800);
    assert_eq!(m["rpo_met"], true);
}

#[test]
fn report_lists_sets_with_a_policy_but_no_snapshot_and_refuses_unknown_sets() {
    let (r, _) = repo_with_backup("fresh");
    assert_ok(&r.run(&["policy", "set", "--set", "planned", "--incr", "1h"]));
    let out = r.run(&["report", "--json"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a set never backed up misses its RPO"
    );
    let v = stdout_json(&out);
    let planned = v["sets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["set"] == "planned")
        .expect("planned is reported")
        .clone();
    assert_eq!(planned["rpo_met"], false);
    assert_eq!(planned["levels"]["full"]["id"], Value::Null);
    assert!(stderr(&out).contains("planned"));

    let out = r.run(&["report", "--set", "nope"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("\"nope\""), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
}
