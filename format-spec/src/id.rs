//! Typed 32-byte identifiers: SPEC.md § [Identifiers](../../SPEC.md#identifiers).
//!
//! Blob IDs are keyed BLAKE3 hashes of a blob's plaintext. Pack, index, snapshot, key and
//! lock IDs are the unkeyed BLAKE3 hash of the file's bytes as stored, and are the file's
//! name, so `b3sum` checks a copy without any key. The repository ID is random.

use std::fmt;
use std::str::FromStr;

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
        pub struct $name(pub [u8; 32]);

        impl $name {
            /// The ID's bytes.
            pub fn as_bytes(&self) -> &[u8; 32] {
                &self.0
            }
            /// Lower-case hex, 64 characters.
            pub fn to_hex(&self) -> String {
                hex::encode(self.0)
            }
            /// The first 8 hex characters, as shown in tables.
            pub fn short(&self) -> String {
                hex::encode(&self.0[..4])
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.to_hex())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.short())
            }
        }

        impl FromStr for $name {
            type Err = crate::error::DecodeError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                parse_hex32(stringify!($name), s).map(Self)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_bytes(&self.0)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_bytes(Id32Visitor).map(Self)
            }
        }
    };
}

typed_id!(
    /// A blob: keyed BLAKE3 of its plaintext (blob-ID key).
    BlobId
);
typed_id!(
    /// A pack file: BLAKE3 of the pack's bytes.
    PackId
);
typed_id!(
    /// An index file: BLAKE3 of the file's bytes.
    IndexId
);
typed_id!(
    /// A snapshot file: BLAKE3 of the file's bytes.
    SnapshotId
);
typed_id!(
    /// A key file: BLAKE3 of the file's bytes.
    KeyId
);
typed_id!(
    /// A lock file: BLAKE3 of the file's bytes.
    LockId
);
typed_id!(
    /// A repository: 32 random bytes chosen at `init`.
    RepoId
);

/// Names a stored file by the unkeyed BLAKE3 hash of its bytes.
pub fn content_name(bytes: &[u8]) -> [u8; 32] {
    *blake3::hash(bytes).as_bytes()
}

fn parse_hex32(what: &'static str, s: &str) -> Result<[u8; 32], crate::error::DecodeError> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).map_err(|e| crate::error::DecodeError::Invalid {
        what,
        reason: format!("not 64 hex characters: {e}"),
    })?;
    Ok(out)
}

/// Reads exactly 32 bytes (IDs and keys in MessagePack).
pub(crate) struct Id32Visitor;

impl<'de> serde::de::Visitor<'de> for Id32Visitor {
    type Value = [u8; 32];
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("32 bytes")
    }
    fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Self::Value, E> {
        <[u8; 32]>::try_from(v).map_err(|_| E::invalid_length(v.len(), &self))
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        // JSON round trips (debug output) carry IDs as arrays; accept exactly 32 numbers.
        let mut out = [0u8; 32];
        for (i, b) in out.iter_mut().enumerate() {
            *b = seq
                .next_element()?
                .ok_or_else(|| serde::de::Error::invalid_length(i, &self))?;
        }
        if seq.next_element::<u8>()?.is_some() {
            return Err(serde::de::Error::invalid_length(33, &self));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_msgpack_as_bin32() {
        let id = BlobId([7u8; 32]);
        assert_eq!(id.to_hex().parse::<BlobId>().unwrap(), id);
        let bytes = rmp_serde::to_vec(&id).unwrap();
        assert_eq!(bytes.len(), 34, "bin8 marker + length + 32 bytes");
        assert_eq!(&bytes[..2], &[0xc4, 32]);
        assert_eq!(rmp_serde::from_slice::<BlobId>(&bytes).unwrap(), id);
        assert!(rmp_serde::from_slice::<BlobId>(&[0xc4, 2, 1, 2]).is_err());
        assert!("zz".parse::<PackId>().is_err());
    }
}
