//! Delta chains in the index: every base of a `zstd-delta` blob is indexed, is a data
//! blob, and no chain is deeper than `MAX_DELTA_DEPTH` or loops (SPEC.md § Blob encodings).
//! Checked from the index alone, level by level, without reading packs.

use super::Finding;
use crate::index::{ChainError, MasterIndex};
use format_spec::blob::{BlobKind, Encoding};
use format_spec::limits::MAX_DELTA_DEPTH;

/// Adds a finding for each delta whose chain cannot be followed; returns the deltas seen.
pub(crate) fn check(index: &MasterIndex, findings: &mut Vec<Finding>) -> u64 {
    let mut deltas = 0;
    for (id, loc) in index.blobs() {
        if loc.encoding != Encoding::ZstdDelta {
            continue;
        }
        deltas += 1;
        let object = format!("blob {id}");
        let message = match index.depth(id) {
            Ok(_) => {
                match index
                    .bases(id)
                    .iter()
                    .find(|b| index.get(b).is_some_and(|l| l.kind != BlobKind::Data))
                {
                    Some(b) => format!("delta blob {id} names base {b}, which is not a data blob"),
                    None => continue,
                }
            }
            Err(ChainError::Missing(b)) => {
                format!("delta blob {id} needs base blob {b}, which is not in any index")
            }
            Err(ChainError::TooDeep) => format!(
                "delta blob {id}: its chain of bases is deeper than {MAX_DELTA_DEPTH} or loops"
            ),
        };
        findings.push(Finding::new(object, message, vec![*id]));
    }
    deltas
}
