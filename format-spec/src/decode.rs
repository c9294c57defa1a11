//! The bounded reader every binary decoder uses: SPEC.md § [Limits](../../SPEC.md#limits).
//!
//! It knows how many bytes remain, so a length field is checked against both its limit and
//! the remaining input before anything is allocated.

use crate::error::DecodeError;
use serde::de::DeserializeOwned;

/// A cursor over untrusted bytes.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// Reads `buf` from its start.
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    /// Bytes not yet consumed.
    pub fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// Borrows the next `n` bytes.
    pub fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        let left = self.remaining();
        if n > left {
            return Err(DecodeError::Truncated {
                what,
                need: n as u64,
                left: left as u64,
            });
        }
        let out = self
            .buf
            .get(self.pos..self.pos + n)
            .ok_or(DecodeError::Truncated {
                what,
                need: n as u64,
                left: left as u64,
            })?;
        self.pos += n;
        Ok(out)
    }

    /// Reads one byte.
    pub fn u8(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        Ok(self.array::<1>(what)?[0])
    }

    /// Reads a little-endian u32.
    pub fn u32_le(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    /// Reads a fixed-size array.
    pub fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], DecodeError> {
        let s = self.take(N, what)?;
        let mut out = [0u8; N];
        out.copy_from_slice(s);
        Ok(out)
    }

    /// Checks a length against its limit and against the bytes that remain.
    pub fn check_len(&self, what: &'static str, len: usize, max: usize) -> Result<(), DecodeError> {
        check_limit(what, len as u64, max as u64)?;
        if len > self.remaining() {
            return Err(DecodeError::Truncated {
                what,
                need: len as u64,
                left: self.remaining() as u64,
            });
        }
        Ok(())
    }

    /// Fails unless every byte was consumed.
    pub fn finish(&self, what: &'static str) -> Result<(), DecodeError> {
        if self.remaining() != 0 {
            return Err(DecodeError::Invalid {
                what,
                reason: format!("{} trailing bytes", self.remaining()),
            });
        }
        Ok(())
    }
}

/// Fails with `TooLarge` when `len > max`.
pub fn check_limit(what: &'static str, len: u64, max: u64) -> Result<(), DecodeError> {
    if len > max {
        return Err(DecodeError::TooLarge { what, len, max });
    }
    Ok(())
}

/// Decodes a MessagePack object from a buffer whose size the caller already bounded.
///
/// rmp-serde borrows from the slice and serde pre-allocates cautiously, so no single
/// allocation exceeds the buffer's own size.
pub fn msgpack<T: DeserializeOwned>(
    what: &'static str,
    bytes: &[u8],
    max: usize,
) -> Result<T, DecodeError> {
    check_limit(what, bytes.len() as u64, max as u64)?;
    rmp_serde::from_slice(bytes).map_err(|e| DecodeError::MessagePack {
        what,
        reason: e.to_string(),
    })
}

/// Encodes a structure as MessagePack with named fields (maps keyed by field name).
#[expect(
    clippy::expect_used,
    reason = "serializing owned, well-formed data to a Vec cannot fail"
)]
pub fn to_msgpack<T: serde::Serialize>(value: &T) -> Vec<u8> {
    rmp_serde::to_vec_named(value)
        .expect("in-memory MessagePack encoding of owned data cannot fail")
}

/// Checks a structure's `v` field against the version this reader knows.
pub fn check_version(what: &'static str, found: u32, known: u32) -> Result<(), DecodeError> {
    if found != known {
        return Err(DecodeError::Version {
            what,
            found: found.into(),
            known: known.into(),
        });
    }
    Ok(())
}
