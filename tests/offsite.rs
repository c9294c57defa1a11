//! Offsite as part of the policy: `policy set --offsite LOC` is stored, `report` gives per
//! set the newest snapshot present offsite and whether it is within the RPO (exit 1 when it
//! is not, or when the offsite repository cannot be read), and `schedule` writes the copy
//! unit that runs after each backup.

mod support;

use serde_json::Value;
use support::{assert_ok, stderr, TestRepo};

fn report(r: &TestRepo, extra: &[(&str, &str)]) -> (Option<i32>, Value, String) {
    let mut c = r.cmd(&["report", "--json"]);
    for (k, v) in extra {
        c.env(k, v);
    }
    let out = c.output().unwrap();
    let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code(), v, stderr(&out))
}

fn set_of<'a>(v: &'a Value, set: &str) -> &'a Value {
    v["sets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["set"] == set)
        .unwrap()
}

#[test]
fn report_checks_the_newest_offsite_copy_against_the_rpo() {
    let r = TestRepo::new();
    let off = TestRepo::new();
    let src = r.path("src");
    std::fs::create_dir(&src).unwrap();
    std::fs::write(src.join("f"), b"data").unwrap();
    assert_ok(&r.run(&["backup", "--set", "app", src.to_str().unwrap()]));
    let off_loc = off.repo.to_str().unwrap().to_string();
    let v = r.json(&[
        "--json",
        "policy",
        "set",
        "--set",
        "app",
        "--offsite",
        &off_loc,
    ]);
    assert_eq!(v["offsite"], off_loc.as_str());
    // Keeps the offsite when other fields change.
    let v = r.json(&["--json", "policy", "set", "--set", "app", "--incr", "2h"]);
    assert_eq!(v["offsite"], off_loc.as_str());

    // Nothing offsite yet: missed, exit 1, and the set's own RPO still met.
    let (code, v, err) = report(&r, &[]);
    assert_eq!(code, Some(1), "{err}");
    let app = set_of(&v, "app");
    assert_eq!(app["rpo_met"], true);
    assert_eq!(app["offsite"]["location"], off_loc.as_str());
    assert_eq!(app["offsite"]["met"], false);
    assert!(app["offsite"]["id"].is_null());
    assert!(err.contains("offsite"), "{err}");

    // A copy of the set there (same set, fresh): met. (A backup of the same set into the
    // offsite repository stands for a copy, which keeps set and time.)
    assert_ok(&off.run(&["backup", "--set", "app", src.to_str().unwrap()]));
    let (code, v, err) = report(&r, &[]);
    assert_eq!(code, Some(0), "{err}");
    let o = &set_of(&v, "app")["offsite"];
    assert_eq!(o["met"], true, "{o}");
    assert_eq!(o["rpo_s"], 7200);
    assert!(o["age_s"].as_u64().unwrap() < 60);

    // An offsite passphrase that does not open it: reported, and missed.
    let (code, v, _) = report(&r, &[("STRATA_OFFSITE_PASSWORD", "wrong")]);
    assert_eq!(code, Some(1));
    let o = &set_of(&v, "app")["offsite"];
    assert_eq!(o["met"], false);
    assert!(o["error"].as_str().unwrap().contains("passphrase"), "{o}");

    // Cleared: no offsite row.
    r.json(&["--json", "policy", "set", "--set", "app", "--clear-offsite"]);
    let (code, v, _) = report(&r, &[]);
    assert_eq!(code, Some(0));
    assert!(set_of(&v, "app")["offsite"].is_null());
}

#[test]
fn schedule_writes_a_copy_unit_started_after_each_backup() {
    let r = TestRepo::new();
    let src = r.path("src");
    std::fs::create_dir(&src).unwrap();
    r.json(&[
        "--json",
        "policy",
        "set",
        "--set",
        "app",
        "--offsite",
        "s3://offsite/app",
    ]);
    let units = r.path("units");
    let v = r.json(&[
        "--json",
        "schedule",
        "--set",
        "app",
        "--systemd",
        units.to_str().unwrap(),
        src.to_str().unwrap(),
    ]);
    let service = std::fs::read_to_string(units.join("strata-app.service")).unwrap();
    assert!(
        service.contains("OnSuccess=strata-app-copy.service"),
        "{service}"
    );
    let copy = std::fs::read_to_string(units.join("strata-app-copy.service")).unwrap();
    let exec = copy.lines().find(|l| l.starts_with("ExecStart=")).unwrap();
    assert!(
        exec.contains("-r s3://offsite/app copy --from-repo")
            && exec.contains(r.repo.to_str().unwrap())
            && exec.ends_with("--set app"),
        "{exec}"
    );
    let cron = v["crontab"].as_str().unwrap();
    assert!(
        cron.contains(" && ") && cron.contains("copy --from-repo"),
        "{cron}"
    );
    assert_eq!(v["copy"]["offsite"], "s3://offsite/app");
}
