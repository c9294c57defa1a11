//! Quoting for systemd unit settings and crontab lines, the cron step for an interval, and
//! the service and crontab text around a command: the words `strata schedule` writes must
//! reach `strata` exactly as given.

/// Escapes what systemd would otherwise interpret inside a double-quoted value: `\`, `"`,
/// `%` (specifiers), `$` (variable expansion, in `ExecStart=` only) and control characters.
fn systemd_escape(s: &str, dollar: bool) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '%' => out.push_str("%%"),
            '$' if dollar => out.push_str("$$"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out
}

/// Whether a word needs no quoting in systemd or sh.
fn is_plain(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_./:=@,+-".contains(&b))
}

/// One `ExecStart=` word: bare when it holds only plain characters, else double-quoted.
/// A lone `;` separates commands in systemd even when quoted, so it is written `\;`.
pub fn systemd_word(s: &str) -> String {
    if s == ";" {
        "\\;".into()
    } else if is_plain(s) {
        s.into()
    } else {
        format!("\"{}\"", systemd_escape(s, true))
    }
}

/// A POSIX shell word (single quotes), for the crontab line.
pub fn shell_word(s: &str) -> String {
    if is_plain(s) {
        s.into()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// The largest cron step not longer than `secs`, so cron runs at least as often as the
/// policy asks: every N minutes (N dividing 60), every N hours (N dividing 24), or daily.
pub fn cron_schedule(secs: u64) -> String {
    const MINUTE_STEPS: [u64; 10] = [30, 20, 15, 12, 10, 6, 5, 4, 3, 2];
    const HOUR_STEPS: [u64; 6] = [12, 8, 6, 4, 3, 2];
    let minutes = secs / 60;
    if minutes < 60 {
        return match MINUTE_STEPS.iter().find(|&&d| d <= minutes) {
            Some(d) => format!("*/{d} * * * *"),
            None => "* * * * *".into(),
        };
    }
    let hours = secs / 3_600;
    if hours < 24 {
        return match HOUR_STEPS.iter().find(|&&d| d <= hours) {
            Some(d) => format!("0 */{d} * * *"),
            None => "0 * * * *".into(),
        };
    }
    "0 0 * * *".into()
}

/// A oneshot service running `exe args` with the repository environment.
pub fn service_text(
    marker: &str,
    description: &str,
    env: &[(&str, String)],
    env_file: &str,
    exe: &str,
    args: &[String],
    note: &str,
) -> String {
    let mut service = format!(
        "{marker}\n[Unit]\nDescription={description}\nWants=network-online.target\nAfter=network-online.target\n\n[Service]\nType=oneshot\n",
    );
    for (k, v) in env {
        service.push_str(&format!(
            "Environment=\"{}\"\n",
            systemd_escape(&format!("{k}={v}"), false)
        ));
    }
    service.push_str(&format!(
        "# The passphrase source: STRATA_PASSWORD_FILE=/path/to/file (mode 0600) or\n\
         # STRATA_PASSWORD_COMMAND=... in this root-only file. Never put the passphrase in a unit.\n\
         # \"-\": the unit also starts without the file (the variables may be set above).\n\
         EnvironmentFile=-{env_file}\n\
         # {note}\n\
         ExecStart={}\n",
        std::iter::once(systemd_word(exe))
            .chain(args.iter().map(|s| systemd_word(s)))
            .collect::<Vec<_>>()
            .join(" ")
    ));
    service
}

/// The crontab line running `exe args` at `when` with the repository environment.
pub fn crontab_line(when: &str, env: &[(&str, String)], exe: &str, args: &[String]) -> String {
    let mut line = vec![when.to_string()];
    line.extend(env.iter().map(|(k, v)| format!("{k}={}", shell_word(v))));
    line.push(shell_word(exe));
    line.extend(args.iter().map(|s| shell_word(s)));
    // cron turns an unescaped `%` into a newline, even inside quotes.
    line.join(" ").replace('%', "\\%")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_quoted_for_systemd() {
        assert_eq!(systemd_word("pg:main"), "pg:main");
        assert_eq!(
            systemd_word(r#"echo "$HOME" 50% \n"#),
            r#""echo \"$$HOME\" 50%% \\n""#
        );
        assert_eq!(systemd_word(";"), "\\;");
        assert_eq!(systemd_word("a\nb"), "\"a\\nb\"");
    }

    #[test]
    fn cron_runs_at_least_as_often_as_the_interval() {
        assert_eq!(cron_schedule(30), "* * * * *");
        assert_eq!(cron_schedule(900), "*/15 * * * *");
        assert_eq!(cron_schedule(7 * 60), "*/6 * * * *");
        assert_eq!(cron_schedule(3_600), "0 * * * *");
        assert_eq!(cron_schedule(5 * 3_600), "0 */4 * * *");
        assert_eq!(cron_schedule(86_400), "0 0 * * *");
        assert_eq!(cron_schedule(7 * 86_400), "0 0 * * *");
    }
}
