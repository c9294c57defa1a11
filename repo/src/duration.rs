//! Durations as the command line writes them (`7d`, `1h30m`): policy intervals and
//! retention windows. SPEC.md § [Retention](../../SPEC.md#retention) fixes a duration as a
//! whole number of seconds (no calendar months or years, unlike restic).

const UNITS: [(char, u64); 5] = [
    ('w', 7 * 86_400),
    ('d', 86_400),
    ('h', 3_600),
    ('m', 60),
    ('s', 1),
];

/// Parses `<n><unit>` groups such as `7d`, `1h30m` or `90s` into seconds. Units: `s`, `m`
/// (minutes), `h`, `d`, `w`. A number without a unit is refused rather than guessed.
///
/// # Errors
/// A message naming the text and what is wrong with it (empty, unknown unit, a number
/// without a unit, overflow).
pub fn parse_duration(text: &str) -> Result<u64, String> {
    let err = |why: &str| format!("duration {text:?}: {why} (expected e.g. 7d, 1h30m, 90s)");
    let mut total: u64 = 0;
    let mut number: Option<u64> = None;
    for c in text.trim().chars() {
        if let Some(d) = c.to_digit(10) {
            let n = number
                .unwrap_or(0)
                .checked_mul(10)
                .and_then(|n| n.checked_add(u64::from(d)))
                .ok_or_else(|| err("too large"))?;
            number = Some(n);
            continue;
        }
        let (_, unit) = UNITS
            .iter()
            .find(|(u, _)| *u == c)
            .ok_or_else(|| err(&format!("unknown unit {c:?}")))?;
        let n = number
            .take()
            .ok_or_else(|| err("a unit without a number"))?;
        total = n
            .checked_mul(*unit)
            .and_then(|s| total.checked_add(s))
            .ok_or_else(|| err("too large"))?;
    }
    match number {
        Some(_) => Err(err("a number without a unit")),
        None if text.trim().is_empty() => Err(err("empty")),
        None => Ok(total),
    }
}

/// Seconds as `1w2d3h4m5s` (largest units first, zero parts left out; `0s` for zero).
pub fn format_duration(mut secs: u64) -> String {
    if secs == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    for (u, n) in UNITS {
        if secs >= n {
            out.push_str(&format!("{}{u}", secs / n));
            secs %= n;
        }
    }
    out
}

/// Seconds as nanoseconds, saturating (a window longer than `i64` nanoseconds reaches
/// before every representable time).
pub fn secs_to_ns(secs: u64) -> i64 {
    i64::try_from(secs)
        .ok()
        .and_then(|s| s.checked_mul(1_000_000_000))
        .unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_and_print() {
        assert_eq!(parse_duration("1h30m"), Ok(5_400));
        assert_eq!(parse_duration("7d"), Ok(604_800));
        assert_eq!(parse_duration("1w"), Ok(604_800));
        assert_eq!(parse_duration("90s"), Ok(90));
        assert_eq!(parse_duration("0s"), Ok(0));
        for bad in [
            "",
            "5",
            "h",
            "5x",
            "-1d",
            "1h30",
            "99999999999999999999s",
            "40000000000000w",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
        assert_eq!(format_duration(5_400), "1h30m");
        assert_eq!(format_duration(604_800), "1w");
        assert_eq!(format_duration(0), "0s");
        assert_eq!(parse_duration(&format_duration(694_861)), Ok(694_861));
        assert_eq!(secs_to_ns(2), 2_000_000_000);
        assert_eq!(secs_to_ns(u64::MAX), i64::MAX);
    }
}
