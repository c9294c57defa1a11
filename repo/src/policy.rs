//! Stored schedule policies: SPEC.md § [Policies](../../SPEC.md#policies).

use crate::backend::FileType;
use crate::error::{Error, Result};
use crate::repository::Repository;
use format_spec::crypto::ObjectKind;
use format_spec::limits;
use format_spec::policy::Policy;
use std::collections::BTreeMap;

impl Repository {
    /// The policy in force for each set that has one stored (newest `time_ns` wins).
    pub fn policies(&self) -> Result<BTreeMap<String, Policy>> {
        let names = self.list(FileType::Policy)?;
        let mut out: BTreeMap<String, Policy> = BTreeMap::new();
        // `list` is sorted by name, so on a (forbidden) tie of time_ns the later name wins:
        // every reader resolves it the same way.
        for (name, _) in names {
            let p: Policy = self.load(
                FileType::Policy,
                ObjectKind::Policy,
                &name,
                limits::MAX_POLICY_FILE,
            )?;
            p.validate()
                .map_err(|e| Error::damaged(format!("policy {name}"), e))?;
            if out.get(&p.set).is_none_or(|old| p.time_ns >= old.time_ns) {
                out.insert(p.set.clone(), p);
            }
        }
        Ok(out)
    }

    /// The policy for `set`: the stored one, or the default; the flag says which.
    pub fn policy_for(&self, set: &str) -> Result<(Policy, bool)> {
        Ok(match self.policies()?.remove(set) {
            Some(p) => (p, true),
            None => (Policy::default_for(set), false),
        })
    }

    /// Stores a policy (it supersedes older ones of its set by its newer time).
    pub fn set_policy(&self, p: &Policy) -> Result<()> {
        p.validate()
            .map_err(|e| Error::Usage(format!("policy: {e}")))?;
        self.save(FileType::Policy, ObjectKind::Policy, p)?;
        Ok(())
    }
}
