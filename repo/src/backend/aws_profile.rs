//! AWS shared configuration files (`~/.aws/credentials`, `~/.aws/config`), read as the AWS
//! CLI reads them, for the settings the S3 backend takes from a profile when the `AWS_*`
//! variables do not give them: keys, session token and region.

use std::collections::HashMap;
use std::path::PathBuf;

/// Settings of one profile; `None` where neither file has them.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Profile {
    /// `aws_access_key_id`.
    pub access_key_id: Option<String>,
    /// `aws_secret_access_key`.
    pub secret_access_key: Option<String>,
    /// `aws_session_token`.
    pub session_token: Option<String>,
    /// `region`.
    pub region: Option<String>,
}

/// The profile named by `AWS_PROFILE` (else `default`) from the files named by
/// `AWS_SHARED_CREDENTIALS_FILE` and `AWS_CONFIG_FILE` (else under `~/.aws/`). Missing or
/// unreadable files give an empty profile: the variables and instance metadata remain.
pub fn load() -> Profile {
    let name = std::env::var("AWS_PROFILE").unwrap_or_else(|_| "default".into());
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let file = |var: &str, rel: &str| {
        std::env::var_os(var)
            .map(PathBuf::from)
            .or_else(|| home.as_ref().map(|h| h.join(".aws").join(rel)))
    };
    let read = |p: Option<PathBuf>| p.and_then(|p| std::fs::read_to_string(p).ok());
    let creds = read(file("AWS_SHARED_CREDENTIALS_FILE", "credentials")).unwrap_or_default();
    let config = read(file("AWS_CONFIG_FILE", "config")).unwrap_or_default();
    from_texts(&name, &creds, &config)
}

/// [`load`] on given file contents. In `credentials` a section is `[name]`; in `config` it
/// is `[profile name]`, except `[default]`. The credentials file wins where both set a key.
pub fn from_texts(name: &str, credentials: &str, config: &str) -> Profile {
    let c = section(credentials, name);
    let config_name = if name == "default" {
        "default".to_string()
    } else {
        format!("profile {name}")
    };
    let f = section(config, &config_name);
    let get = |k: &str| c.get(k).or_else(|| f.get(k)).cloned();
    Profile {
        access_key_id: get("aws_access_key_id"),
        secret_access_key: get("aws_secret_access_key"),
        session_token: get("aws_session_token"),
        region: get("region"),
    }
}

/// The `key = value` lines of section `[name]` (keys lower-cased; comments skipped).
fn section(text: &str, name: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let mut inside = false;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(h) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            inside = h.trim() == name;
            continue;
        }
        if inside {
            if let Some((k, v)) = line.split_once('=') {
                out.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_come_from_both_files_with_credentials_first() {
        let creds = "[default]\naws_access_key_id = A\naws_secret_access_key=S\n\
                     [work]\naws_access_key_id = W\n# comment\naws_secret_access_key = WS\n";
        let config = "[default]\nregion = eu-west-1\n[profile work]\nregion=us-east-2\n\
                      aws_access_key_id = ignored\n";
        let d = from_texts("default", creds, config);
        assert_eq!(d.access_key_id.as_deref(), Some("A"));
        assert_eq!(d.secret_access_key.as_deref(), Some("S"));
        assert_eq!(d.region.as_deref(), Some("eu-west-1"));
        let w = from_texts("work", creds, config);
        assert_eq!(w.access_key_id.as_deref(), Some("W"));
        assert_eq!(w.region.as_deref(), Some("us-east-2"));
        assert_eq!(from_texts("none", creds, config), Profile::default());
    }
}
