//! Progress events. The engine reports; the CLI draws (and knows about terminals).

/// Receives progress from long operations. Every method has a no-op default.
pub trait Progress: Send + Sync {
    /// Source bytes read (backup) or written (restore).
    fn bytes(&self, _n: u64) {}
    /// One file finished.
    fn file_done(&self) {}
    /// A pack of `n` bytes was written.
    fn pack_written(&self, _n: u64) {}
    /// Total expected bytes, when known.
    fn total(&self, _n: u64) {}
}

/// Reports nothing.
pub struct NoProgress;
impl Progress for NoProgress {}
