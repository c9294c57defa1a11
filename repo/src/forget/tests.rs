//! Every rule against synthetic snapshots with fixed times, asserting the exact kept set.

use super::rules::{bucket, Unit};
use super::*;
use format_spec::id::BlobId;
use format_spec::snapshot::Summary;
use time::macros::datetime;

const HOUR: i64 = 3_600_000_000_000;
const DAY: i64 = 24 * HOUR;

fn t0() -> i64 {
    // Sunday 2026-11-01 00:00 UTC.
    i64::try_from(datetime!(2026-11-01 00:00 UTC).unix_timestamp_nanos()).unwrap()
}

/// Snapshot IDs are their number in the first byte, so `id(n)` orders like `n`.
fn id(n: u8) -> SnapshotId {
    SnapshotId([n; 32])
}

struct Repo {
    snaps: Vec<Snap>,
}

impl Repo {
    fn new() -> Self {
        Self { snaps: Vec::new() }
    }

    fn add(&mut self, n: u8, time_ns: i64, level: Level, parent: Option<u8>) -> SnapshotId {
        self.add_in("db", "h1", n, time_ns, level, parent, &[])
    }

    #[expect(clippy::too_many_arguments, reason = "a test builder")]
    fn add_in(
        &mut self,
        set: &str,
        host: &str,
        n: u8,
        time_ns: i64,
        level: Level,
        parent: Option<u8>,
        tags: &[&str],
    ) -> SnapshotId {
        let parent = parent.map(id);
        // base: the full at the root of the parent chain.
        let base = parent.map(|p| {
            let ps = &self.snaps.iter().find(|(i, _)| *i == p).unwrap().1;
            ps.base.unwrap_or(p)
        });
        self.snaps.push((
            id(n),
            Snapshot {
                v: 1,
                time_ns,
                host: host.into(),
                user: "u".into(),
                set: set.into(),
                paths: vec!["/data".into()],
                tags: tags.iter().map(|t| t.to_string()).collect(),
                tree: BlobId([0; 32]),
                level,
                parent,
                base,
                program: "test".into(),
                command: None,
                exit_status: None,
                original: None,
                summary: Summary::default(),
            },
        ));
        id(n)
    }

    fn plan(&self, opts: &ForgetOptions) -> Result<Plan> {
        self.plan_at(opts, &BTreeMap::new(), self.newest() + HOUR)
    }

    fn plan_at(
        &self,
        opts: &ForgetOptions,
        policies: &BTreeMap<String, Policy>,
        now: i64,
    ) -> Result<Plan> {
        let ids: Vec<SnapshotId> = opts
            .ids
            .iter()
            .map(|r| {
                self.snaps
                    .iter()
                    .find(|(i, _)| i.to_hex().starts_with(r))
                    .unwrap()
                    .0
            })
            .collect();
        make_plan(&self.snaps, policies, opts, &ids, now)
    }

    fn newest(&self) -> i64 {
        self.snaps.iter().map(|(_, s)| s.time_ns).max().unwrap()
    }
}

fn rules(r: Retention) -> ForgetOptions {
    ForgetOptions {
        rules: Some(r),
        ..ForgetOptions::default()
    }
}

/// The kept snapshots' numbers, ascending.
fn kept(p: &Plan) -> Vec<u8> {
    let mut v: Vec<u8> = p
        .sets
        .iter()
        .flat_map(|s| &s.decisions)
        .filter(|d| d.keep)
        .map(|d| d.id.0[0])
        .collect();
    v.sort();
    v
}

fn reasons(p: &Plan, n: u8) -> Vec<String> {
    p.sets
        .iter()
        .flat_map(|s| &s.decisions)
        .find(|d| d.id == id(n))
        .unwrap()
        .reasons
        .clone()
}

/// Fulls only, one every `step` from t0; numbers 1..=count.
fn fulls(count: u8, step: i64) -> Repo {
    let mut r = Repo::new();
    for n in 1..=count {
        r.add(n, t0() + i64::from(n - 1) * step, Level::Full, None);
    }
    r
}

#[test]
fn buckets_are_utc_calendar_units() {
    let t = i64::try_from(datetime!(2026-11-29 13:45:10 UTC).unix_timestamp_nanos()).unwrap();
    assert_eq!(bucket(t, Unit::Hourly), "2026-11-29T13");
    assert_eq!(bucket(t, Unit::Daily), "2026-11-29");
    assert_eq!(bucket(t, Unit::Weekly), "2026-W48");
    assert_eq!(bucket(t, Unit::Monthly), "2026-11");
    assert_eq!(bucket(t, Unit::Yearly), "2026");
    // 2027-01-01 is a Friday: ISO week 53 of 2026.
    let ny = i64::try_from(datetime!(2027-01-01 00:00 UTC).unix_timestamp_nanos()).unwrap();
    assert_eq!(bucket(ny, Unit::Weekly), "2026-W53");
    assert_eq!(bucket(ny - 1, Unit::Yearly), "2026");
}

#[test]
fn keep_last_keeps_the_newest() {
    let r = fulls(5, DAY);
    let p = r
        .plan(&rules(Retention {
            last: Some(2),
            ..Default::default()
        }))
        .unwrap();
    assert_eq!(kept(&p), vec![4, 5]);
    assert_eq!(reasons(&p, 5), vec!["keep-last 1 of 2"]);
    assert_eq!(reasons(&p, 4), vec!["keep-last 2 of 2"]);
    assert_eq!(reasons(&p, 1), vec!["no rule keeps it"]);
    assert_eq!(p.removed().len(), 3);
}

#[test]
fn keep_daily_keeps_the_newest_of_each_day() {
    // Four snapshots a day (every 6 h) for 5 days: numbers 1..=20.
    let r = fulls(20, 6 * HOUR);
    let p = r
        .plan(&rules(Retention {
            daily: Some(3),
            ..Default::default()
        }))
        .unwrap();
    // Days 5, 4, 3: their 18:00 snapshots are 20, 16, 12.
    assert_eq!(kept(&p), vec![12, 16, 20]);
    assert_eq!(reasons(&p, 16), vec!["keep-daily bucket 2026-11-04"]);
}

#[test]
fn count_rules_share_the_walk_like_restic() {
    // Daily fulls for 40 days from Sunday 2026-11-01.
    let r = fulls(40, DAY);
    let p = r
        .plan(&rules(Retention {
            last: Some(1),
            weekly: Some(2),
            monthly: Some(2),
            ..Default::default()
        }))
        .unwrap();
    // 40 = 2026-12-10 (Thu, W50): last, weekly W50, monthly 2026-12. 39..37 are W50 too;
    // the newest of W49 (11-30..12-06) is 36; of 2026-11, 30 (11-30).
    assert_eq!(kept(&p), vec![30, 36, 40]);
    assert_eq!(
        reasons(&p, 40),
        vec![
            "keep-last 1 of 1",
            "keep-weekly bucket 2026-W50",
            "keep-monthly bucket 2026-12"
        ]
    );
    assert_eq!(reasons(&p, 36), vec!["keep-weekly bucket 2026-W49"]);
    assert_eq!(reasons(&p, 30), vec!["keep-monthly bucket 2026-11"]);
}

#[test]
fn keep_hourly_and_yearly() {
    // Every 20 minutes for 2 hours: 6 snapshots.
    let r = fulls(6, HOUR / 3);
    let p = r
        .plan(&rules(Retention {
            hourly: Some(10),
            yearly: Some(1),
            ..Default::default()
        }))
        .unwrap();
    assert_eq!(kept(&p), vec![3, 6]);
    assert_eq!(
        reasons(&p, 6),
        vec![
            "keep-hourly bucket 2026-11-01T01",
            "keep-yearly bucket 2026"
        ]
    );
}

#[test]
fn keep_within_counts_back_from_the_newest_snapshot_not_now() {
    let r = fulls(10, DAY);
    let far_future = r.newest() + 365 * DAY;
    let p = r
        .plan_at(
            &rules(Retention {
                within_s: Some(3 * 86_400),
                ..Default::default()
            }),
            &BTreeMap::new(),
            far_future,
        )
        .unwrap();
    // Strictly after newest − 3 d: days 10, 9, 8 (day 7 is exactly 3 d older).
    assert_eq!(kept(&p), vec![8, 9, 10]);
    assert_eq!(reasons(&p, 8), vec!["keep-within 3d"]);
}

#[test]
fn keep_within_daily_keeps_one_per_day_inside_the_window() {
    let r = fulls(20, 6 * HOUR);
    let p = r
        .plan(&rules(Retention {
            within_daily_s: Some(2 * 86_400),
            ..Default::default()
        }))
        .unwrap();
    // Newest is 20 (day 5, 18:00); window back to day 3 18:00 (exclusive): 13..=20 are
    // inside; newest of day 5 is 20, of day 4 is 16.
    assert_eq!(kept(&p), vec![16, 20]);
    assert_eq!(
        reasons(&p, 16),
        vec!["keep-within-daily 2d bucket 2026-11-04"]
    );
}

#[test]
fn keep_tag_needs_every_tag_of_an_entry() {
    let mut r = Repo::new();
    r.add_in("db", "h1", 1, t0(), Level::Full, None, &["a", "b"]);
    r.add_in("db", "h1", 2, t0() + DAY, Level::Full, None, &["a"]);
    r.add_in("db", "h1", 3, t0() + 2 * DAY, Level::Full, None, &["b"]);
    let p = r
        .plan(&rules(Retention {
            tags: vec!["a,b".into()],
            ..Default::default()
        }))
        .unwrap();
    assert_eq!(kept(&p), vec![1]);
    assert_eq!(reasons(&p, 1), vec!["keep-tag a,b"]);
}

/// Three weeks of: a full on day 0, a diff on days 1..=6, two incrs after each diff.
/// Full f = 1 + 19·week; diff on day d = f + 3(d−1) + 1; its incrs the next two numbers.
fn weekly_levels(weeks: u8) -> Repo {
    let mut r = Repo::new();
    for w in 0..weeks {
        let start = t0() + i64::from(w) * 7 * DAY;
        let f = 1 + 19 * w;
        r.add(f, start, Level::Full, None);
        for d in 1..=6u8 {
            let day = start + i64::from(d) * DAY;
            let n = f + 3 * (d - 1) + 1;
            r.add(n, day, Level::Diff, Some(f));
            r.add(n + 1, day + HOUR, Level::Incr, Some(n));
            r.add(n + 2, day + 2 * HOUR, Level::Incr, Some(n + 1));
        }
    }
    r
}

#[test]
fn level_rules_combine_as_pgbackrest() {
    let r = weekly_levels(3);
    // Fulls 1, 20, 39. Week 3: diffs 40, 43, 46, 49, 52, 55; incrs the two after each.
    let p = r
        .plan(&rules(Retention {
            full: Some(2),
            diff: Some(3),
            incr: Some(3),
            ..Default::default()
        }))
        .unwrap();
    // Fulls 39, 20; the 3 newest diffs of kept fulls: 55, 52, 49; the 3 newest incrs whose
    // chains are kept: 57, 56, 54 (54's chain is 53 → 52 → 39). 53 stays as 54's parent.
    assert_eq!(kept(&p), vec![20, 39, 49, 52, 53, 54, 55, 56, 57]);
    assert_eq!(reasons(&p, 20), vec!["keep-full 2 of 2"]);
    assert_eq!(reasons(&p, 49), vec!["keep-diff 3 of 3"]);
    assert_eq!(reasons(&p, 54), vec!["keep-incr 3 of 3"]);
    assert_eq!(
        reasons(&p, 53),
        vec![format!("parent of {}", id(54).short())]
    );
    assert_eq!(reasons(&p, 1), vec!["no rule keeps it"]);
}

#[test]
fn without_diff_and_incr_rules_everything_of_a_kept_full_stays() {
    let r = weekly_levels(2);
    let p = r
        .plan(&rules(Retention {
            full: Some(1),
            ..Default::default()
        }))
        .unwrap();
    // Week 2: full 20 and its 18 diffs and incrs (20..=38); week 1 goes entirely.
    assert_eq!(kept(&p), (20..=38).collect::<Vec<u8>>());
    assert_eq!(
        reasons(&p, 21),
        vec![format!("full {} is kept", id(20).short())]
    );
    assert_eq!(
        reasons(&p, 23),
        vec![format!("chain to full {} is kept", id(20).short())]
    );
}

#[test]
fn an_expired_diff_expires_its_incrs() {
    let r = weekly_levels(1);
    // Full 1; diffs 2, 5, 8, 11, 14, 17. keep-diff 1 keeps only 17, so only 18, 19 qualify.
    let p = r
        .plan(&rules(Retention {
            full: Some(1),
            diff: Some(1),
            ..Default::default()
        }))
        .unwrap();
    assert_eq!(kept(&p), vec![1, 17, 18, 19]);
    assert_eq!(
        reasons(&p, 3),
        vec![
            "no rule keeps it".to_string(),
            format!("diff {} on its chain is not kept", id(2).short())
        ]
    );
    assert_eq!(reasons(&p, 14), vec!["no rule keeps it"]);
}

#[test]
fn an_expired_full_expires_its_diffs_with_the_reason() {
    let r = weekly_levels(2);
    let p = r
        .plan(&rules(Retention {
            full: Some(1),
            diff: Some(10),
            ..Default::default()
        }))
        .unwrap();
    assert_eq!(kept(&p), (20..=38).collect::<Vec<u8>>());
    assert_eq!(
        reasons(&p, 2),
        vec![
            "no rule keeps it".to_string(),
            format!("its full {} is not kept", id(1).short())
        ]
    );
    assert_eq!(
        reasons(&p, 4),
        vec![
            "no rule keeps it".to_string(),
            format!("diff {} on its chain is not kept", id(2).short())
        ]
    );
}

#[test]
fn level_windows_measure_from_now() {
    let r = weekly_levels(2);
    let now = t0() + 14 * DAY;
    let p = r
        .plan_at(
            &rules(Retention {
                full_within_s: Some(8 * 86_400),
                diff_within_s: Some(86_400 + 1),
                incr: Some(0),
                ..Default::default()
            }),
            &BTreeMap::new(),
            now,
        )
        .unwrap();
    // Full 20 (7 d old); the diff of day 13 (36, 1 d old), no incr.
    assert_eq!(kept(&p), vec![20, 36]);
    assert_eq!(reasons(&p, 20), vec!["keep-full-within 1w1d"]);
    assert_eq!(reasons(&p, 36), vec!["keep-diff-within 1d1s"]);
}

#[test]
fn closure_keeps_parents_and_bases() {
    let r = weekly_levels(1);
    // keep-last 1 keeps incr 19 only; closure adds 18 (parent), 17 (parent of 18), 1 (base).
    let p = r
        .plan(&rules(Retention {
            last: Some(1),
            ..Default::default()
        }))
        .unwrap();
    assert_eq!(kept(&p), vec![1, 17, 18, 19]);
    assert_eq!(
        reasons(&p, 18),
        vec![format!("parent of {}", id(19).short())]
    );
    assert_eq!(reasons(&p, 1), vec![format!("base of {}", id(19).short())]);
    assert!(p.missing.is_empty());
}

#[test]
fn a_missing_parent_is_reported_not_fatal() {
    let mut r = weekly_levels(1);
    // Forget diff 17 behind the engine's back: 18 now names a missing parent.
    r.snaps.retain(|(i, _)| *i != id(17));
    let p = r
        .plan(&rules(Retention {
            last: Some(1),
            ..Default::default()
        }))
        .unwrap();
    assert_eq!(kept(&p), vec![1, 18, 19]);
    assert_eq!(
        p.missing,
        vec![MissingLink {
            snapshot: id(18),
            link: Link::Parent,
            missing: id(17)
        }]
    );
    assert!(reasons(&p, 18).contains(&format!("parent {} is missing", id(17).short())));
}

#[test]
fn scope_leaves_other_snapshots_alone_but_their_ancestors_stay() {
    let mut r = Repo::new();
    r.add_in("db", "h1", 1, t0(), Level::Full, None, &["weekly"]);
    r.add_in("db", "h1", 2, t0() + DAY, Level::Full, None, &["weekly"]);
    r.add_in("db", "h1", 3, t0() + 2 * DAY, Level::Incr, Some(1), &[]);
    r.add_in("other", "h1", 4, t0(), Level::Full, None, &[]);
    let opts = ForgetOptions {
        scope: Filter {
            tags: vec!["weekly".into()],
            ..Filter::default()
        },
        rules: Some(Retention {
            last: Some(1),
            ..Default::default()
        }),
        ..ForgetOptions::default()
    };
    let p = r.plan(&opts).unwrap();
    // 3 (untagged, out of scope) keeps its parent 1; 4 is not listed at all.
    assert_eq!(kept(&p), vec![1, 2]);
    assert_eq!(reasons(&p, 1), vec![format!("parent of {}", id(3).short())]);
    assert_eq!(p.sets.len(), 1);
    assert!(p.removed().is_empty());
}

#[test]
fn sets_are_grouped_separately() {
    let mut r = Repo::new();
    for n in 1..=3u8 {
        r.add_in(
            "a",
            "h1",
            n,
            t0() + i64::from(n) * DAY,
            Level::Full,
            None,
            &[],
        );
        r.add_in(
            "b",
            "h1",
            n + 10,
            t0() + i64::from(n) * DAY,
            Level::Full,
            None,
            &[],
        );
    }
    let p = r
        .plan(&rules(Retention {
            last: Some(1),
            ..Default::default()
        }))
        .unwrap();
    assert_eq!(kept(&p), vec![3, 13]);
    assert_eq!(
        p.sets.iter().map(|s| s.set.as_str()).collect::<Vec<_>>(),
        vec!["a", "b"]
    );
}

#[test]
fn floor_refuses_to_leave_a_set_without_a_full() {
    let mut r = fulls(2, DAY);
    r.add_in("db", "h1", 9, t0() + 5 * DAY, Level::Full, None, &["x"]);
    let opts = rules(Retention {
        tags: vec!["nope".into()],
        ..Default::default()
    });
    let err = r.plan(&opts).unwrap_err();
    assert!(matches!(err, Error::ForgetRefused { .. }), "{err}");
    let allowed = ForgetOptions {
        allow_empty_set: true,
        ..opts
    };
    let p = r.plan(&allowed).unwrap();
    assert_eq!(kept(&p), Vec::<u8>::new());
    assert_eq!(p.removed().len(), 3);
}

#[test]
fn rules_that_keep_nothing_or_contradict_are_usage_errors() {
    let r = fulls(2, DAY);
    for bad in [
        Retention {
            last: Some(0),
            ..Default::default()
        },
        Retention::default(),
        Retention {
            incr: Some(3),
            ..Default::default()
        },
    ] {
        let err = r.plan(&rules(bad.clone())).unwrap_err();
        assert!(matches!(err, Error::Usage(_)), "{bad:?}: {err}");
    }
    let both = ForgetOptions {
        ids: vec![id(1).to_hex()],
        ..rules(Retention {
            last: Some(1),
            ..Default::default()
        })
    };
    assert!(matches!(r.plan(&both), Err(Error::Usage(_))));
    // No rules and none stored.
    assert!(matches!(
        r.plan(&ForgetOptions::default()),
        Err(Error::Usage(_))
    ));
}

#[test]
fn stored_retention_applies_per_set_and_others_are_left_alone() {
    let mut r = Repo::new();
    for n in 1..=3u8 {
        r.add_in(
            "a",
            "h1",
            n,
            t0() + i64::from(n) * DAY,
            Level::Full,
            None,
            &[],
        );
        r.add_in(
            "b",
            "h1",
            n + 10,
            t0() + i64::from(n) * DAY,
            Level::Full,
            None,
            &[],
        );
    }
    let mut pa = Policy::default_for("a");
    pa.keep = Some(Retention {
        full: Some(2),
        ..Default::default()
    });
    let policies = BTreeMap::from([("a".to_string(), pa)]);
    let p = r
        .plan_at(&ForgetOptions::default(), &policies, r.newest())
        .unwrap();
    assert_eq!(kept(&p), vec![2, 3, 11, 12, 13]);
    assert_eq!(p.sets[0].source, RuleSource::Stored);
    assert_eq!(p.sets[1].source, RuleSource::NoneStored);
    assert_eq!(reasons(&p, 11), vec!["set has no stored retention"]);
}

fn ids(ns: &[u8]) -> ForgetOptions {
    ForgetOptions {
        ids: ns
            .iter()
            .map(|n| id(*n).to_hex()[..8].to_string())
            .collect(),
        ..ForgetOptions::default()
    }
}

#[test]
fn explicit_ids_remove_exactly_those() {
    let r = weekly_levels(1);
    let p = r.plan(&ids(&[19])).unwrap();
    assert_eq!(p.removed(), vec![id(19)]);
    assert_eq!(reasons(&p, 19), vec!["named on the command line"]);
    // 18 and 19 together: 19 needs 18, but 19 goes too.
    let p = r.plan(&ids(&[18, 19])).unwrap();
    assert_eq!(p.removed(), vec![id(19), id(18)]);
}

#[test]
fn explicit_id_a_kept_snapshot_needs_is_refused_unless_forced() {
    let r = weekly_levels(1);
    // 17 is the parent of 18, which stays.
    let err = r.plan(&ids(&[17])).unwrap_err();
    match &err {
        Error::ForgetRefused { reason } => {
            assert!(
                reason.contains(&format!("parent of {}", id(18).short())),
                "{reason}"
            )
        }
        e => panic!("{e}"),
    }
    let forced = ForgetOptions {
        force: true,
        ..ids(&[17])
    };
    let p = r.plan(&forced).unwrap();
    assert_eq!(p.removed(), vec![id(17)]);
    assert_eq!(reasons(&p, 17).len(), 2);
    // The full is the base of everything, and the set's last full: refused even forced
    // unless the floor is lifted too.
    let forced_full = ForgetOptions {
        force: true,
        ..ids(&[1])
    };
    assert!(matches!(
        r.plan(&forced_full),
        Err(Error::ForgetRefused { .. })
    ));
}
