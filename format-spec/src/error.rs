//! Decode and open errors shared by every codec: SPEC.md § [Limits](../../SPEC.md#limits).

/// A structure could not be decoded from bytes read from a repository.
///
/// `what` names the field being read so a message says which part of which object failed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    /// Fewer bytes remain than the field needs.
    #[error("{what}: need {need} bytes, {left} left")]
    Truncated {
        /// Field being read.
        what: &'static str,
        /// Bytes the field needs.
        need: u64,
        /// Bytes that remain.
        left: u64,
    },
    /// A length or count exceeds its limit.
    #[error("{what}: {len} exceeds the limit of {max}")]
    TooLarge {
        /// Field being read.
        what: &'static str,
        /// The value found.
        len: u64,
        /// The limit from `limits.rs`.
        max: u64,
    },
    /// An enumerated field holds a value this version does not know.
    #[error("{what}: unknown value {value:#04x}")]
    UnknownTag {
        /// Field being read.
        what: &'static str,
        /// The value found.
        value: u64,
    },
    /// The structure decoded but breaks a rule SPEC.md states.
    #[error("{what}: {reason}")]
    Invalid {
        /// Field or structure.
        what: &'static str,
        /// The rule that was broken.
        reason: String,
    },
    /// MessagePack did not decode into the expected shape.
    #[error("{what}: malformed MessagePack: {reason}")]
    MessagePack {
        /// Structure being decoded.
        what: &'static str,
        /// The decoder's message.
        reason: String,
    },
    /// A format version this implementation does not read.
    #[error("{what}: format version {found} is not supported (this reader knows {known})")]
    Version {
        /// Structure being decoded.
        what: &'static str,
        /// Version found.
        found: u64,
        /// Version known.
        known: u64,
    },
}

impl DecodeError {
    /// The variant's name, used by the test-vector harness (`expect = "error:<name>"`).
    pub fn variant(&self) -> &'static str {
        match self {
            Self::Truncated { .. } => "Truncated",
            Self::TooLarge { .. } => "TooLarge",
            Self::UnknownTag { .. } => "UnknownTag",
            Self::Invalid { .. } => "Invalid",
            Self::MessagePack { .. } => "MessagePack",
            Self::Version { .. } => "Version",
        }
    }
}

/// A sealed object could not be opened.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OpenError {
    /// Shorter than nonce plus tag.
    #[error("sealed {kind}: {len} bytes is shorter than nonce and tag (40)")]
    TooShort {
        /// Object kind.
        kind: &'static str,
        /// Length found.
        len: usize,
    },
    /// The tag did not verify: wrong key, damaged bytes, or an object moved to another role.
    #[error("sealed {kind}: authentication failed (damaged, or not this repository's object)")]
    Authentication {
        /// Object kind.
        kind: &'static str,
    },
    /// Opened, but the plaintext did not decode.
    #[error("sealed {kind}: content does not decode")]
    Decode {
        /// Object kind.
        kind: &'static str,
        /// What was wrong.
        #[source]
        cause: DecodeError,
    },
}

impl OpenError {
    /// The variant's name, used by the test-vector harness.
    pub fn variant(&self) -> &'static str {
        match self {
            Self::TooShort { .. } => "TooShort",
            Self::Authentication { .. } => "Authentication",
            Self::Decode { cause, .. } => cause.variant(),
        }
    }
}
