//! The in-memory master index: SPEC.md § [Index files](../../SPEC.md#index-files).
//!
//! Built from every index file that no other index file supersedes. Memory per blob is a
//! fixed-size record (about 60 bytes with the map overhead), independent of the pack ID.
//!
//! Of several copies of a blob it keeps the one in a pack that is not pending (SPEC.md §
//! [Pending deletions](../../SPEC.md#pending-deletions)), then a plain one. Backups ask
//! [`MasterIndex::usable`] before they reference a blob, so they never add a reference to a
//! blob that only packs about to be deleted hold.

use format_spec::blob::{BlobKind, Encoding};
pub use format_spec::delta::ChainError;
use format_spec::id::{BlobId, IndexId, PackId};
use format_spec::index::IndexFile;
use std::collections::{HashMap, HashSet};

/// Where a blob lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlobLocation {
    /// Index into [`MasterIndex::packs`].
    pub pack: u32,
    /// Blob kind.
    pub kind: BlobKind,
    /// Encoding.
    pub encoding: Encoding,
    /// Offset in the pack.
    pub offset: u32,
    /// Sealed length.
    pub stored_len: u32,
    /// Plaintext length.
    pub raw_len: u32,
    /// A delta's bases: where they start in the index's base list, and how many (0: plain).
    base_at: u32,
    base_count: u8,
}

/// Blob ID → location, over all live index files.
#[derive(Default)]
pub struct MasterIndex {
    blobs: HashMap<BlobId, BlobLocation>,
    /// Base IDs of every blob indexed as `zstd-delta`, back to back; each location says
    /// where its own start (one flat list: 32 bytes per base, no allocation per delta).
    base_ids: Vec<BlobId>,
    /// Blobs indexed as deltas.
    deltas: usize,
    packs: Vec<(PackId, u64)>,
    pack_pos: HashMap<PackId, u32>,
    /// Index files loaded (live ones only).
    pub files: Vec<IndexId>,
    /// Packs named by a pending notice.
    pending: HashSet<PackId>,
}

impl MasterIndex {
    /// Builds the index from `(id, file)` pairs, dropping superseded files.
    pub fn build(files: Vec<(IndexId, IndexFile)>) -> Self {
        Self::build_with_pending(&files, HashSet::new())
    }

    /// Builds the index, dropping superseded files, knowing which packs are pending.
    pub fn build_with_pending(files: &[(IndexId, IndexFile)], pending: HashSet<PackId>) -> Self {
        let live = Self::live_files(files);
        let mut idx = Self {
            pending,
            ..Self::default()
        };
        for (id, f) in files {
            if !live.contains(id) {
                continue;
            }
            idx.files.push(*id);
            idx.add_file(f);
        }
        idx
    }

    /// Live index files among `files`: those no other file in the list supersedes.
    pub fn live_files(files: &[(IndexId, IndexFile)]) -> HashSet<IndexId> {
        let present: HashSet<IndexId> = files.iter().map(|(id, _)| *id).collect();
        let superseded: HashSet<IndexId> = files
            .iter()
            .flat_map(|(_, f)| f.supersedes.iter().copied())
            .filter(|id| present.contains(id))
            .collect();
        present.difference(&superseded).copied().collect()
    }

    /// Adds the packs of one index file.
    pub fn add_file(&mut self, f: &IndexFile) {
        for p in &f.packs {
            let pos = self.pack_position(p.id, p.size);
            let pending = self.pending.contains(&p.id);
            for b in &p.blobs {
                let mut loc = BlobLocation {
                    pack: pos,
                    kind: b.kind,
                    encoding: b.enc,
                    offset: b.off,
                    stored_len: b.len,
                    raw_len: b.raw,
                    base_at: 0,
                    base_count: 0,
                };
                // Any copy will do, but one outside pending packs beats one inside (it
                // survives the prune that announced them), and then a plain one beats a
                // delta: it needs no base (a `full` stores plain copies of chunks it finds
                // only as deltas).
                let rank = |pending: bool, enc: Encoding| {
                    (u8::from(!pending), u8::from(enc != Encoding::ZstdDelta))
                };
                let new_rank = rank(pending, b.enc);
                match self.blobs.get(&b.id) {
                    Some(old) if rank(self.pending_at(old.pack), old.encoding) >= new_rank => {}
                    _ => {
                        if b.enc == Encoding::ZstdDelta {
                            // Validated index files name at most MAX_DELTA_BASES bases.
                            let count = b.bases.len().min(format_spec::limits::MAX_DELTA_BASES);
                            // Past 4 billion bases (never: 128 GiB of them) a delta would
                            // read as plain and fail its frame check; nothing unsafe.
                            loc.base_at = u32::try_from(self.base_ids.len()).unwrap_or(u32::MAX);
                            loc.base_count = count as u8;
                            self.base_ids.extend(b.bases.iter().take(count));
                            self.deltas += 1;
                        }
                        if let Some(old) = self.blobs.insert(b.id, loc) {
                            if old.base_count > 0 {
                                self.deltas -= 1;
                            }
                        }
                    }
                }
            }
        }
    }

    /// Whether the pack at a position is pending.
    fn pending_at(&self, pos: u32) -> bool {
        self.packs
            .get(pos as usize)
            .is_some_and(|(id, _)| self.pending.contains(id))
    }

    /// Whether a pack is named by a pending notice.
    pub fn is_pending(&self, pack: &PackId) -> bool {
        self.pending.contains(pack)
    }

    /// Whether a new reference to this blob is allowed (SPEC.md § Pending deletions): its
    /// chosen copy is outside pending packs and, for a delta, so are its bases', down the
    /// chain (at most `MAX_DELTA_DEPTH` levels; a deeper or looping chain is not usable).
    pub fn usable(&self, id: &BlobId) -> bool {
        if self.pending.is_empty() {
            return self.contains(id);
        }
        let mut level = vec![*id];
        for _ in 0..=format_spec::limits::MAX_DELTA_DEPTH {
            let mut next = Vec::new();
            for b in &level {
                match self.blobs.get(b) {
                    Some(loc) if !self.pending_at(loc.pack) => {
                        next.extend_from_slice(self.bases(b))
                    }
                    _ => return false,
                }
            }
            if next.is_empty() {
                return true;
            }
            level = next;
        }
        false
    }

    /// [`Self::usable`] and stored plain.
    pub fn usable_plain(&self, id: &BlobId) -> bool {
        self.contains_plain(id) && self.usable(id)
    }

    #[expect(
        clippy::expect_used,
        reason = "a repository has fewer than 4 billion packs"
    )]
    fn pack_position(&mut self, id: PackId, size: u64) -> u32 {
        if let Some(&pos) = self.pack_pos.get(&id) {
            return pos;
        }
        let pos = u32::try_from(self.packs.len()).expect("fewer than 4 billion packs");
        self.packs.push((id, size));
        self.pack_pos.insert(id, pos);
        pos
    }

    /// Looks a blob up.
    pub fn get(&self, id: &BlobId) -> Option<BlobLocation> {
        self.blobs.get(id).copied()
    }

    /// Whether a blob is indexed.
    pub fn contains(&self, id: &BlobId) -> bool {
        self.blobs.contains_key(id)
    }

    /// Whether a blob is indexed as a plain (`raw` or `zstd`) copy, needing no base.
    pub fn contains_plain(&self, id: &BlobId) -> bool {
        self.blobs
            .get(id)
            .is_some_and(|l| l.encoding != Encoding::ZstdDelta)
    }

    /// The bases of a blob indexed as a delta; empty for plain blobs and unknown IDs.
    pub fn bases(&self, id: &BlobId) -> &[BlobId] {
        self.blobs
            .get(id)
            .and_then(|l| {
                let at = l.base_at as usize;
                self.base_ids.get(at..at + usize::from(l.base_count))
            })
            .unwrap_or_default()
    }

    /// Number of blobs indexed as deltas.
    pub fn delta_count(&self) -> usize {
        self.deltas
    }

    /// The delta depth of a blob (SPEC.md § Blob encodings), without recursion.
    pub fn depth(&self, id: &BlobId) -> std::result::Result<usize, ChainError> {
        format_spec::delta::depth(id, |b| self.contains(b).then(|| self.bases(b)))
    }

    /// The pack ID and size at a position.
    #[expect(
        clippy::expect_used,
        reason = "positions are only handed out by this index"
    )]
    pub fn pack(&self, pos: u32) -> (PackId, u64) {
        self.packs
            .get(pos as usize)
            .copied()
            .expect("positions come from this index")
    }

    /// Number of blobs.
    pub fn len(&self) -> usize {
        self.blobs.len()
    }

    /// Whether empty.
    pub fn is_empty(&self) -> bool {
        self.blobs.is_empty()
    }

    /// All packs.
    pub fn packs(&self) -> &[(PackId, u64)] {
        &self.packs
    }

    /// All blobs.
    pub fn blobs(&self) -> impl Iterator<Item = (&BlobId, &BlobLocation)> {
        self.blobs.iter()
    }
}
