//! Writes the test vectors in `format-spec/tests/vectors/`:
//! SPEC.md § [Test vectors](../../SPEC.md#test-vectors).
//!
//! ```text
//! cargo run -p strata-format --example gen-vectors
//! ```
//!
//! Every input is fixed, so a run reproduces the committed files byte for byte:
//!
//! ```text
//! master key   00 01 02 … 1f                    (32 bytes)
//! repository   a0 a1 a2 … bf                    (32 bytes)
//! passphrase   "correct horse battery staple"   (UTF-8)
//! salt         "strata test salt"               (16 bytes of ASCII)
//! Argon2id     m_kib = 16384, t = 2, p = 1      (the floor, so tests stay fast)
//! nonce(label) first 24 bytes of BLAKE3("strata vector nonce " ‖ label)
//! xof(label)   BLAKE3-XOF("strata vector " ‖ label), as long as needed (padding, noise)
//! ```
//!
//! Each file describes itself (`structure`, `spec`, `comment`, `expect`, hex inputs and the
//! decoded result); `tests/vectors.rs` walks the directory and checks every file. The
//! generator only overwrites the files it writes, so hand-made regression vectors (fuzz
//! crashes) kept in the same directory survive a rerun.

use format_spec::blob::{self, BlobKind, Encoding};
use format_spec::chunking::{self, Chunker, GEAR_INPUT};
use format_spec::config::{ChunkerParams, DedupKeys, RepoConfig};
use format_spec::crypto::{self, MasterKey, ObjectKind, SubKeys, NONCE_LEN};
use format_spec::decode::to_msgpack;
use format_spec::delta;
use format_spec::drill::Drill;
use format_spec::id::{content_name, BlobId, IndexId, PackId, RepoId, SnapshotId};
use format_spec::index::{IndexBlob, IndexFile, IndexPack};
use format_spec::keyfile::{Argon2Params, KeyFile};
use format_spec::limits;
use format_spec::list::{self, Content, ListBlob, ListEntry};
use format_spec::lock::LockRecord;
use format_spec::object;
use format_spec::pack::{self, PackEntry, PackHeader};
use format_spec::pending::PendingRecord;
use format_spec::policy::{Policy, Retention};
use format_spec::snapshot::{Level, Snapshot, Summary};
use format_spec::tree::{Node, NodeKind, Tree, Xattr};
use serde::Serialize;
use serde_bytes::ByteBuf;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The fixed master key: bytes 0x00 to 0x1f.
const MASTER_KEY: [u8; 32] = seq(0x00);
/// The fixed repository ID: bytes 0xa0 to 0xbf.
const REPO_ID: [u8; 32] = seq(0xa0);
const PASSPHRASE: &str = "correct horse battery staple";
const SALT: &[u8; 16] = b"strata test salt";
/// Argon2id at the floor of SPEC.md § Key files, so the harness stays fast.
const FAST: Argon2Params = Argon2Params {
    m_kib: limits::ARGON2_MIN_M_KIB,
    t: limits::ARGON2_MIN_T,
    p: 1,
};
/// 2026-01-01T00:00:00Z in nanoseconds.
const TIME_NS: i64 = 1_767_225_600_000_000_000;
const HOST: &str = "vector-host";
const USER: &str = "vector-user";
const ZSTD_LEVEL: i32 = 3;

/// A vector's case name, comment and `expect`.
type Head = (&'static str, &'static str, &'static str);
/// Turns a valid key file into a hostile one.
type Forge = fn(&mut KeyFile);

const fn seq(start: u8) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        out[i] = start + i as u8;
        i += 1;
    }
    out
}

fn keys() -> SubKeys {
    SubKeys::derive(&MasterKey(MASTER_KEY))
}

fn repo() -> RepoId {
    RepoId(REPO_ID)
}

fn nonce(label: &str) -> [u8; NONCE_LEN] {
    let h = blake3::hash(format!("strata vector nonce {label}").as_bytes());
    let mut out = [0u8; NONCE_LEN];
    out.copy_from_slice(&h.as_bytes()[..NONCE_LEN]);
    out
}

fn xof(label: &str, len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    blake3::Hasher::new()
        .update(format!("strata vector {label}").as_bytes())
        .finalize_xof()
        .fill(&mut out);
    out
}

/// Replaces the single occurrence of `from` in `bytes` (used to forge hostile MessagePack).
fn replace_once(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let hits: Vec<usize> = (0..=bytes.len() - from.len())
        .filter(|&i| &bytes[i..i + from.len()] == from)
        .collect();
    assert_eq!(hits.len(), 1, "pattern {from:02x?} must occur exactly once");
    let at = hits[0];
    [&bytes[..at], to, &bytes[at + from.len()..]].concat()
}

// ---------------------------------------------------------------------------------------
// TOML output
// ---------------------------------------------------------------------------------------

/// One vector file, written field by field so the header fields come first.
struct Doc {
    rel: String,
    out: String,
}

fn toml_key(k: &str) -> String {
    if !k.is_empty()
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        k.to_string()
    } else {
        toml::Value::String(k.into()).to_string()
    }
}

impl Doc {
    fn new(structure: &str, case: &str, spec: &str, comment: &str, expect: &str) -> Self {
        let mut d = Self {
            rel: format!("{structure}/{case}.toml"),
            out: String::from(
                "# Generated by `cargo run -p strata-format --example gen-vectors`; do not edit.\n",
            ),
        };
        d.s("structure", structure)
            .s("spec", spec)
            .s("comment", comment)
            .s("expect", expect);
        d
    }

    fn val(&mut self, k: &str, v: toml::Value) -> &mut Self {
        writeln!(self.out, "{} = {}", toml_key(k), v).expect("writing to a String");
        self
    }

    fn s(&mut self, k: &str, v: &str) -> &mut Self {
        self.val(k, toml::Value::String(v.into()))
    }

    fn hex(&mut self, k: &str, v: &[u8]) -> &mut Self {
        self.s(k, &hex::encode(v))
    }

    fn int(&mut self, k: &str, v: u64) -> &mut Self {
        self.val(
            k,
            toml::Value::Integer(i64::try_from(v).expect("vector integers fit i64")),
        )
    }

    fn ints(&mut self, k: &str, v: &[u64]) -> &mut Self {
        let arr = v
            .iter()
            .map(|&n| toml::Value::Integer(i64::try_from(n).expect("fits i64")))
            .collect();
        self.val(k, toml::Value::Array(arr))
    }

    fn strs(&mut self, k: &str, v: &[String]) -> &mut Self {
        let arr = v.iter().map(|s| toml::Value::String(s.clone())).collect();
        self.val(k, toml::Value::Array(arr))
    }

    fn bool(&mut self, k: &str, v: bool) -> &mut Self {
        self.val(k, toml::Value::Boolean(v))
    }

    /// The decoded value as JSON (byte strings as hex), in a multi-line literal string.
    fn json<T: Serialize>(&mut self, k: &str, v: &T) -> &mut Self {
        let j = hexify(serde_json::to_value(v).expect("vector values serialize to JSON"));
        let text = serde_json::to_string_pretty(&j).expect("JSON to string");
        assert!(!text.contains("'''"));
        writeln!(self.out, "{} = '''\n{text}\n'''", toml_key(k)).expect("writing to a String");
        self
    }

    fn table(&mut self, name: &str) -> &mut Self {
        writeln!(self.out, "\n[{name}]").expect("writing to a String");
        self
    }

    fn array_table(&mut self, name: &str) -> &mut Self {
        writeln!(self.out, "\n[[{name}]]").expect("writing to a String");
        self
    }
}

/// serde_json writes byte strings (IDs, names, salts) as arrays of numbers; vectors show
/// them as lower-case hex. Every non-empty array of integers 0..=255 is a byte string here.
fn hexify(v: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::Array(a) => {
            let bytes: Option<Vec<u8>> = a
                .iter()
                .map(|x| x.as_u64().and_then(|n| u8::try_from(n).ok()))
                .collect();
            match bytes {
                Some(b) if !b.is_empty() => Value::String(hex::encode(b)),
                _ => Value::Array(a.into_iter().map(hexify).collect()),
            }
        }
        Value::Object(o) => Value::Object(o.into_iter().map(|(k, v)| (k, hexify(v))).collect()),
        other => other,
    }
}

struct Out {
    dir: PathBuf,
    written: Vec<String>,
}

impl Out {
    fn write(&mut self, doc: &Doc) {
        let path = self.dir.join(&doc.rel);
        std::fs::create_dir_all(path.parent().expect("vector path has a directory"))
            .expect("create vector directory");
        std::fs::write(&path, &doc.out).expect("write vector file");
        self.written.push(doc.rel.clone());
    }
}

// ---------------------------------------------------------------------------------------
// Packs
// ---------------------------------------------------------------------------------------

/// A blob to put in a pack: its kind, its plaintext, the plaintexts of its bases (stored as
/// `zstd-delta` when there are any), and (for forged vectors) an ID that is not the
/// plaintext's.
struct BlobSpec<'a> {
    kind: BlobKind,
    plaintext: &'a [u8],
    bases: &'a [&'a [u8]],
    forged_id: Option<BlobId>,
}

fn blob_spec(kind: BlobKind, plaintext: &[u8]) -> BlobSpec<'_> {
    BlobSpec {
        kind,
        plaintext,
        bases: &[],
        forged_id: None,
    }
}

/// A data blob stored as a delta against `bases`, in this order.
fn delta_spec<'a>(plaintext: &'a [u8], bases: &'a [&'a [u8]]) -> BlobSpec<'a> {
    BlobSpec {
        kind: BlobKind::Data,
        plaintext,
        bases,
        forged_id: None,
    }
}

struct BuiltPack {
    bytes: Vec<u8>,
    header: PackHeader,
    header_plain: Vec<u8>,
    header_offset: u64,
    header_len: usize,
    padding: usize,
}

/// Builds a pack as SPEC.md § Pack files describes: sealed blobs in the given (already
/// shuffled) order, Padmé padding, sealed header, header length. `tamper` edits the header
/// before it is sealed (for hostile vectors).
fn build_pack(
    label: &str,
    blobs: &[BlobSpec<'_>],
    tamper: impl FnOnce(&mut PackHeader),
) -> BuiltPack {
    let keys = keys();
    let mut bytes = Vec::new();
    let mut entries = Vec::new();
    for (i, b) in blobs.iter().enumerate() {
        let id = b.forged_id.unwrap_or_else(|| keys.blob_id(b.plaintext));
        let (encoding, stored) = if b.bases.is_empty() {
            blob::encode(b.plaintext, ZSTD_LEVEL)
        } else {
            let history = b.bases.concat();
            let delta = delta::compress(&history, b.plaintext).expect("small history");
            (Encoding::ZstdDelta, delta)
        };
        let aad = crypto::aad(&repo(), b.kind.object_kind(), Some(&id));
        let sealed = crypto::seal(
            &keys.encryption,
            &nonce(&format!("{label} blob {i}")),
            &aad,
            &stored,
        );
        entries.push(PackEntry {
            kind: b.kind,
            encoding,
            id,
            offset: u32::try_from(bytes.len()).expect("small pack"),
            stored_len: u32::try_from(sealed.len()).expect("small blob"),
            raw_len: u32::try_from(b.plaintext.len()).expect("small blob"),
            bases: b.bases.iter().map(|p| keys.blob_id(p)).collect(),
        });
        bytes.extend_from_slice(&sealed);
    }
    let mut header = PackHeader { entries };
    tamper(&mut header);
    let header_plain = header.encode();
    let sealed_header = crypto::seal(
        &keys.encryption,
        &nonce(&format!("{label} header")),
        &crypto::aad(&repo(), ObjectKind::PackHeader, None),
        &header_plain,
    );
    let unpadded = (bytes.len() + sealed_header.len() + pack::TRAILER_LEN) as u64;
    let padding = usize::try_from(pack::padme(unpadded) - unpadded).expect("small padding");
    bytes.extend_from_slice(&xof(&format!("{label} padding"), padding));
    let header_offset = bytes.len() as u64;
    bytes.extend_from_slice(&sealed_header);
    bytes.extend_from_slice(
        &u32::try_from(sealed_header.len())
            .expect("small header")
            .to_le_bytes(),
    );
    BuiltPack {
        bytes,
        header,
        header_plain,
        header_offset,
        header_len: sealed_header.len(),
        padding,
    }
}

fn entry_table(doc: &mut Doc, name: &str, e: &PackEntry, plaintext: Option<&[u8]>) {
    doc.array_table(name)
        .s("kind", kind_name(e.kind))
        .s("encoding", e.encoding.name())
        .hex("id", &e.id.0)
        .int("offset", e.offset.into())
        .int("stored_len", e.stored_len.into())
        .int("raw_len", e.raw_len.into())
        .strs(
            "bases",
            &e.bases.iter().map(|b| b.to_hex()).collect::<Vec<_>>(),
        );
    if let Some(p) = plaintext {
        doc.hex("plaintext", p);
    }
}

fn kind_name(k: BlobKind) -> &'static str {
    match k {
        BlobKind::Data => "data",
        BlobKind::Tree => "tree",
        BlobKind::List => "list",
    }
}

// ---------------------------------------------------------------------------------------
// Structures
// ---------------------------------------------------------------------------------------

fn subkeys(out: &mut Out) {
    let k = keys();
    let plaintext = b"hello, strata\n";
    let mut d = Doc::new(
        "subkeys",
        "derive",
        "keys",
        "sub-keys are BLAKE3 derive_key(context, master key); a blob ID is BLAKE3 keyed with the blob-ID key",
        "ok",
    );
    d.hex("master_key", &MASTER_KEY)
        .s("ctx_blob_id", crypto::CTX_BLOB_ID)
        .s("ctx_encryption", crypto::CTX_ENCRYPTION)
        .s("ctx_chunker", crypto::CTX_CHUNKER)
        .hex("plaintext", plaintext)
        .table("decoded")
        .hex("blob_id_key", &k.blob_id.0)
        .hex("encryption_key", &k.encryption.0)
        .hex("chunker_key", &k.chunker.0)
        .hex("blob_id", &k.blob_id(plaintext).0)
        .hex("blob_id_of_empty", &k.blob_id(b"").0);
    out.write(&d);
}

fn aad(out: &mut Out) {
    let cases: [(&str, &str, ObjectKind, RepoId, Option<BlobId>); 3] = [
        (
            "tree-blob",
            "a tree blob: kind 5, object ID = blob ID",
            ObjectKind::TreeBlob,
            repo(),
            Some(keys().blob_id(b"tree")),
        ),
        (
            "config",
            "the config: kind 2, no object ID (has-object-ID 0, 32 zero bytes)",
            ObjectKind::Config,
            repo(),
            None,
        ),
        (
            "key-file",
            "a key file's payload: kind 1, repository ID all zeros (not known before unlocking)",
            ObjectKind::KeyFile,
            RepoId([0; 32]),
            None,
        ),
    ];
    for (case, comment, kind, repo_id, object) in cases {
        let mut d = Doc::new("aad", case, "sealed-objects", comment, "ok");
        d.hex("repo_id", &repo_id.0)
            .int("kind", kind as u64)
            .s("kind_name", kind.name());
        if let Some(id) = &object {
            d.hex("object_id", &id.0);
        }
        d.table("decoded")
            .hex("aad", &crypto::aad(&repo_id, kind, object.as_ref()));
        out.write(&d);
    }
}

fn sealed_object(out: &mut Out) {
    let k = keys();
    let aad = crypto::aad(&repo(), ObjectKind::Config, None);
    let plaintext = b"strata sealed object vector";
    let sealed = crypto::seal(&k.encryption, &nonce("sealed-object"), &aad, plaintext);
    let base = |d: &mut Doc, aad: &[u8], input: &[u8]| {
        d.hex("key", &k.encryption.0)
            .hex("aad", aad)
            .hex("input", input);
    };

    let mut d = Doc::new(
        "sealed-object",
        "ok",
        "sealed-objects",
        "nonce (24) || XChaCha20-Poly1305 ciphertext || tag (16), AAD of a config",
        "ok",
    );
    base(&mut d, &aad, &sealed);
    d.table("decoded").hex("plaintext", plaintext);
    out.write(&d);

    let mut flipped = sealed.clone();
    *flipped.last_mut().expect("non-empty") ^= 0x01;
    let mut d = Doc::new(
        "sealed-object",
        "flipped-tag",
        "sealed-objects",
        "last bit of the tag flipped",
        "error:Authentication",
    );
    base(&mut d, &aad, &flipped);
    out.write(&d);

    let mut d = Doc::new(
        "sealed-object",
        "too-short",
        "sealed-objects",
        "39 bytes: shorter than nonce and tag together",
        "error:TooShort",
    );
    base(&mut d, &aad, &sealed[..39]);
    out.write(&d);

    let other = crypto::aad(&repo(), ObjectKind::Snapshot, None);
    let mut d = Doc::new(
        "sealed-object",
        "wrong-kind",
        "sealed-objects",
        "the config object opened with a snapshot's AAD (kind 8): the AAD binds the role",
        "error:Authentication",
    );
    base(&mut d, &other, &sealed);
    out.write(&d);
}

fn keyfile(out: &mut Out) {
    let master = MasterKey(MASTER_KEY);
    let kf = KeyFile::create(
        PASSPHRASE.as_bytes(),
        FAST,
        SALT,
        &nonce("keyfile"),
        &master,
        repo(),
        TIME_NS,
        HOST,
        USER,
    )
    .expect("floor parameters are valid");
    let bytes = kf.encode();
    let kek = FAST
        .derive(PASSPHRASE.as_bytes(), SALT)
        .expect("floor parameters are valid");
    let key_aad = crypto::aad(&RepoId([0; 32]), ObjectKind::KeyFile, None);
    let payload =
        crypto::open(&kek, ObjectKind::KeyFile, &key_aad, &kf.sealed).expect("just sealed");

    let mut d = Doc::new(
        "keyfile",
        "ok",
        "key-files",
        "key file for passphrase \"correct horse battery staple\", Argon2id at the floor",
        "ok",
    );
    d.hex("passphrase", PASSPHRASE.as_bytes())
        .hex("input", &bytes)
        .json("decoded_json", &kf)
        .table("decoded")
        .hex("file_name", &content_name(&bytes))
        .hex("kek", &kek.0)
        .hex("payload", &payload)
        .hex("master_key", &MASTER_KEY)
        .hex("repo_id", &REPO_ID);
    out.write(&d);

    let mut d = Doc::new(
        "keyfile",
        "wrong-passphrase",
        "key-files",
        "the key file of keyfile/ok.toml opened with passphrase \"Tr0ub4dor&3\"",
        "error:WrongPassphrase",
    );
    d.hex("passphrase", b"Tr0ub4dor&3").hex("input", &bytes);
    out.write(&d);

    let forged: [(Head, Forge); 5] = [
        (
            (
                "below-floor",
                "m_kib = 8192, below the floor of 16384 (a downgraded key file)",
                "error:Invalid",
            ),
            |k: &mut KeyFile| k.params.m_kib = 8192,
        ),
        (
            (
                "above-cap",
                "m_kib = 4194305, above the cap of 4194304 (would exhaust memory)",
                "error:TooLarge",
            ),
            |k: &mut KeyFile| k.params.m_kib = limits::ARGON2_MAX_M_KIB + 1,
        ),
        (
            ("one-pass", "t = 1, below the floor of 2", "error:Invalid"),
            |k: &mut KeyFile| k.params.t = 1,
        ),
        (
            (
                "short-salt",
                "8-byte salt, shorter than 16",
                "error:Invalid",
            ),
            |k: &mut KeyFile| k.salt = ByteBuf::from(SALT[..8].to_vec()),
        ),
        (
            ("unknown-kdf", "kdf = \"scrypt\"", "error:Invalid"),
            |k: &mut KeyFile| k.kdf = "scrypt".into(),
        ),
    ];
    for ((case, comment, expect), f) in forged {
        let mut bad = kf.clone();
        f(&mut bad);
        let mut d = Doc::new("keyfile", case, "key-files", comment, expect);
        d.hex("passphrase", PASSPHRASE.as_bytes())
            .hex("input", &bad.encode());
        out.write(&d);
    }
}

fn default_config() -> RepoConfig {
    RepoConfig {
        v: 1,
        id: repo(),
        created_ns: TIME_NS,
        chunker: ChunkerParams::DEFAULT,
        pack_size: 16 << 20,
        zstd_level: ZSTD_LEVEL,
        dedup_keys: None,
    }
}

/// A sealed MessagePack object: config, index, snapshot, lock or policy.
fn sealed_doc<T: Serialize>(
    structure: &str,
    case: &str,
    spec: &str,
    comment: &str,
    expect: &str,
    kind: ObjectKind,
    value: &T,
) -> Doc {
    let sealed = object::seal(
        &keys(),
        &repo(),
        kind,
        &nonce(&format!("{structure} {case}")),
        value,
    );
    let mut d = Doc::new(structure, case, spec, comment, expect);
    d.hex("master_key", &MASTER_KEY)
        .hex("repo_id", &REPO_ID)
        .hex("input", &sealed);
    if expect == "ok" {
        d.json("decoded_json", value);
        d.table("decoded").hex("plaintext", &to_msgpack(value));
        // Every file but `config` is named by its content.
        if kind != ObjectKind::Config {
            d.hex("file_name", &content_name(&sealed));
        }
    }
    d
}

/// A sealed object whose plaintext was forged as raw MessagePack bytes.
fn sealed_raw_doc(
    structure: &str,
    case: &str,
    spec: &str,
    comment: &str,
    expect: &str,
    kind: ObjectKind,
    plaintext: &[u8],
) -> Doc {
    let sealed = crypto::seal(
        &keys().encryption,
        &nonce(&format!("{structure} {case}")),
        &crypto::aad(&repo(), kind, None),
        // Sealed MessagePack objects are zstd-compressed before sealing (SPEC.md § Sealed objects).
        &format_spec::blob::compress_object(plaintext),
    );
    let mut d = Doc::new(structure, case, spec, comment, expect);
    d.hex("master_key", &MASTER_KEY)
        .hex("repo_id", &REPO_ID)
        .hex("input", &sealed);
    d
}

fn config(out: &mut Out) {
    let c = default_config();
    out.write(&sealed_doc(
        "config",
        "default",
        "config",
        "defaults: chunker 256 KiB / 1 MiB / 4 MiB, packs of 16 MiB, zstd level 3",
        "ok",
        ObjectKind::Config,
        &c,
    ));

    // `init --copy-chunker-params`: the blob-ID and chunker keys of another repository
    // (master key 40 41 … 5f); the encryption key stays this repository's own.
    let mut shared = c.clone();
    shared.dedup_keys = Some(DedupKeys::of(&SubKeys::derive(&MasterKey(seq(0x40)))));
    let mut d = sealed_doc(
        "config",
        "dedup-keys",
        "config",
        "a config sharing the blob-ID and chunker keys of the repository with master key 40 41 … 5f: \
         blob IDs are keyed with the key given here, not the one derived from this master key",
        "ok",
        ObjectKind::Config,
        &shared,
    );
    let example = b"the same chunk in two repositories";
    d.hex("example_plaintext", example).hex(
        "example_blob_id",
        &shared.sub_keys(&MasterKey(MASTER_KEY)).blob_id(example).0,
    );
    out.write(&d);

    let mut bad = c.clone();
    bad.chunker.avg = 768 << 10;
    out.write(&sealed_doc(
        "config",
        "avg-not-power-of-two",
        "config",
        "chunker avg 786432 is not a power of two",
        "error:Invalid",
        ObjectKind::Config,
        &bad,
    ));

    let mut bad = c.clone();
    bad.zstd_level = 22;
    out.write(&sealed_doc(
        "config",
        "zstd-level-out-of-range",
        "config",
        "zstd_level 22 is outside 1..=19",
        "error:Invalid",
        ObjectKind::Config,
        &bad,
    ));

    let mut bad = c.clone();
    bad.pack_size = 512 << 10;
    out.write(&sealed_doc(
        "config",
        "pack-size-too-small",
        "config",
        "pack_size 524288 is below 1 MiB",
        "error:Invalid",
        ObjectKind::Config,
        &bad,
    ));

    // Sealed for another repository: the AAD's repository ID differs.
    let sealed = crypto::seal(
        &keys().encryption,
        &nonce("config wrong-repository"),
        &crypto::aad(&RepoId([0xee; 32]), ObjectKind::Config, None),
        &to_msgpack(&c),
    );
    let mut d = Doc::new(
        "config",
        "wrong-repository",
        "config",
        "the default config sealed with repository ID ee…ee in its AAD, opened as repository a0…bf",
        "error:Authentication",
    );
    d.hex("master_key", &MASTER_KEY)
        .hex("repo_id", &REPO_ID)
        .hex("input", &sealed);
    out.write(&d);
}

fn blobs(out: &mut Out) {
    let text = b"strata stores each chunk once. ".repeat(8);
    let noise = xof("raw blob", 64);
    for (case, comment, plaintext) in [
        (
            "zstd",
            "compressible text: stored as one zstd frame (level 3, content size in the frame header)",
            &text[..],
        ),
        (
            "raw",
            "64 bytes of noise: zstd does not shrink it, so it is stored raw",
            &noise[..],
        ),
        (
            "empty",
            "the empty plaintext is stored raw (zstd would grow it)",
            &b""[..],
        ),
    ] {
        let (enc, stored) = blob::encode(plaintext, ZSTD_LEVEL);
        let mut d = Doc::new("blob", case, "blob-encodings", comment, "ok");
        d.s("encoding", enc.name())
            .int("raw_len", plaintext.len() as u64)
            .int("zstd_level", ZSTD_LEVEL as u64)
            .hex("input", &stored)
            .table("decoded")
            .hex("plaintext", plaintext);
        out.write(&d);
    }

    let (_, z) = blob::encode(&text, ZSTD_LEVEL);
    let errors: [(Head, Encoding, &[u8], u32); 3] = [
        (
            ("raw-len-lie", "the zstd frame of blob/zstd.toml with raw_len one byte short: decoding must not overrun", "error:Invalid"),
            Encoding::Zstd,
            &z,
            text.len() as u32 - 1,
        ),
        (
            ("raw-len-mismatch", "a raw blob of 64 bytes whose raw_len says 65", "error:Invalid"),
            Encoding::Raw,
            &noise,
            65,
        ),
        (
            ("raw-len-over-limit", "raw_len 67108865 exceeds the blob limit of 67108864", "error:TooLarge"),
            Encoding::Raw,
            &noise,
            limits::MAX_BLOB_SIZE + 1,
        ),
    ];
    for ((case, comment, expect), enc, stored, raw_len) in errors {
        let mut d = Doc::new("blob", case, "blob-encodings", comment, expect);
        d.s("encoding", enc.name())
            .int("raw_len", raw_len.into())
            .hex("input", stored);
        out.write(&d);
    }
}

/// Twelve lines of a ledger: small, readable text for the delta vectors (396 bytes).
const LEDGER: &str = "\
date,account,amount,memo
2026-01-02,4711,-1200.00,rent january
2026-01-05,4712,-35.50,groceries
2026-01-07,4711,-64.20,power
2026-01-09,4713,2800.00,salary january
2026-01-12,4712,-18.90,pharmacy
2026-01-15,4714,-250.00,insurance q1
2026-01-18,4712,-42.10,groceries
2026-01-21,4711,-31.00,phone
2026-01-24,4715,-120.00,train pass
2026-01-27,4712,-56.80,groceries
2026-01-30,4711,-15.00,bank fees
";

/// The ledger's lines `from..to` (0 is the column header), with `edit` replacing text.
fn ledger(from: usize, to: usize, edit: Option<(&str, &str)>) -> Vec<u8> {
    let lines: String = LEDGER
        .split_inclusive('\n')
        .skip(from)
        .take(to - from)
        .collect();
    match edit {
        Some((old, new)) => {
            assert_eq!(lines.matches(old).count(), 1, "edit {old:?} is unique");
            lines.replacen(old, new, 1).into_bytes()
        }
        None => lines.into_bytes(),
    }
}

/// Where the parts of a zstd frame header (RFC 8878 § 3.1.1.1) lie: to forge frames no
/// writer produces.
struct FrameHeader {
    descriptor: u8,
    window: Option<u8>,
    fcs: Vec<u8>,
    body: usize,
}

fn frame_header(frame: &[u8]) -> FrameHeader {
    let descriptor = frame[4];
    let single_segment = descriptor & 0x20 != 0;
    let mut at = 5;
    let window = (!single_segment).then(|| {
        at += 1;
        frame[5]
    });
    at += [0, 1, 2, 4][usize::from(descriptor & 0x03)];
    let fcs_len = match descriptor >> 6 {
        0 => usize::from(single_segment),
        1 => 2,
        2 => 4,
        _ => 8,
    };
    let fcs = frame[at..at + fcs_len].to_vec();
    FrameHeader {
        descriptor,
        window,
        fcs,
        body: at + fcs_len,
    }
}

/// `frame` with a new header: descriptor, window descriptor, dictionary ID and content size.
fn reframe(
    frame: &[u8],
    descriptor: u8,
    window: Option<u8>,
    dict_id: &[u8],
    fcs: &[u8],
) -> Vec<u8> {
    let h = frame_header(frame);
    [
        &frame[..4],
        &[descriptor],
        window.as_slice(),
        dict_id,
        fcs,
        &frame[h.body..],
    ]
    .concat()
}

/// `zstd-delta` blobs: a frame decoded against its bases' plaintexts (SPEC.md § Delta blobs).
fn delta_blobs(out: &mut Out) {
    let k = keys();
    let full = ledger(0, 12, None);
    let edited = ledger(0, 12, Some(("-31.00,phone", "-33.40,phone")));
    let head = ledger(0, 7, None);
    let tail = ledger(7, 12, None);
    // A chunk that grew over the old cut: it starts inside the first base and ends inside the
    // second, so the writer names both (SPEC.md § Delta blobs, writing deltas).
    let across = ledger(
        3,
        10,
        Some(("-250.00,insurance q1", "-262.50,insurance q1")),
    );
    let one = delta::compress(&full, &edited).expect("small history");
    let two = delta::compress(&[&head[..], &tail[..]].concat(), &across).expect("small history");

    let delta_doc = |case: &str,
                     comment: &str,
                     expect: &str,
                     bases: &[&[u8]],
                     plaintext: &[u8],
                     raw_len: usize,
                     input: &[u8]| {
        let mut d = Doc::new("blob", case, "blob-encodings", comment, expect);
        d.s("encoding", Encoding::ZstdDelta.name())
            .hex("master_key", &MASTER_KEY)
            .hex("blob_id", &k.blob_id(plaintext).0)
            .int("raw_len", raw_len as u64)
            .strs(
                "base_ids",
                &bases
                    .iter()
                    .map(|b| k.blob_id(b).to_hex())
                    .collect::<Vec<_>>(),
            )
            .strs(
                "base_plaintexts",
                &bases.iter().map(hex::encode).collect::<Vec<_>>(),
            )
            .hex("input", input);
        if expect == "ok" {
            let fcs = delta::frame_content_size(input).expect("a frame with a content size");
            d.table("decoded")
                .int("history_len", bases.iter().map(|b| b.len() as u64).sum())
                .int("frame_content_size", fcs)
                .hex("plaintext", plaintext);
        }
        d
    };

    out.write(&delta_doc(
        "zstd-delta",
        "one amount of a 396-byte ledger edited (-31.00 to -33.40): one zstd frame against the old chunk, its one base",
        "ok",
        &[&full],
        &edited,
        edited.len(),
        &one,
    ));
    out.write(&delta_doc(
        "zstd-delta-two-bases",
        "a chunk spanning the end of base 1 and the start of base 2, with one edit: history = base 1 || base 2",
        "ok",
        &[&head, &tail],
        &across,
        across.len(),
        &two,
    ));
    out.write(&delta_doc(
        "zstd-delta-bases-swapped",
        "the frame of blob/zstd-delta-two-bases.toml decoded against base 2 || base 1: other bytes of the same length, so the re-hash fails",
        "error:IdMismatch",
        &[&tail, &head],
        &across,
        across.len(),
        &two,
    ));
    out.write(&delta_doc(
        "zstd-delta-raw-len-mismatch",
        "the frame of blob/zstd-delta.toml with raw_len one more than its Frame_Content_Size",
        "error:Invalid",
        &[&full],
        &edited,
        edited.len() + 1,
        &one,
    ));
    out.write(&delta_doc(
        "zstd-delta-short-history",
        "the frame of blob/zstd-delta.toml against only the last 100 bytes of its base: a match reaches before the history",
        "error:Invalid",
        &[&full[full.len() - 100..]],
        &edited,
        edited.len(),
        &one,
    ));

    let h = frame_header(&one);
    assert!(
        h.window.is_none() && h.descriptor & 0x07 == 0,
        "single segment, no dictionary ID, no checksum"
    );
    let with_dict_id = reframe(&one, h.descriptor | 0x01, None, &[0x2a], &h.fcs);
    out.write(&delta_doc(
        "zstd-delta-dictionary-id",
        "the frame of blob/zstd-delta.toml with a Dictionary_ID of 42 added to its header: a delta names no dictionary",
        "error:Invalid",
        &[&full],
        &edited,
        edited.len(),
        &with_dict_id,
    ));
    let wlog = u8::try_from(delta::window_log(full.len(), edited.len())).expect("small log");
    let no_fcs = reframe(&one, h.descriptor & 0x1f, Some((wlog - 10) << 3), &[], &[]);
    out.write(&delta_doc(
        "zstd-delta-no-content-size",
        "the frame of blob/zstd-delta.toml with a Window_Descriptor instead of its Frame_Content_Size",
        "error:Invalid",
        &[&full],
        &edited,
        edited.len(),
        &no_fcs,
    ));
}

/// Delta chains as a reader finds them in the index, before it decodes anything
/// (SPEC.md § Delta blobs): each vector is the entries reachable from one blob.
fn delta_chains(out: &mut Out) {
    let id = |name: &str| keys().blob_id(format!("delta chain {name}").as_bytes());
    let big = limits::MAX_BLOB_SIZE;
    // name, encoding, raw length, bases: an index with every shape a reader must handle.
    let index: [(&str, Encoding, u32, &[&str]); 12] = [
        ("full", Encoding::Zstd, 4000, &[]),
        ("diff", Encoding::ZstdDelta, 4100, &["full"]),
        ("incr", Encoding::ZstdDelta, 4200, &["diff", "full"]),
        ("incr-of-incr", Encoding::ZstdDelta, 4300, &["incr"]),
        ("self", Encoding::ZstdDelta, 4000, &["self"]),
        ("loop-a", Encoding::ZstdDelta, 4000, &["loop-b"]),
        ("loop-b", Encoding::ZstdDelta, 4000, &["loop-a"]),
        ("orphan", Encoding::ZstdDelta, 4000, &["full", "pruned"]),
        ("big-1", Encoding::Raw, big, &[]),
        ("big-2", Encoding::Raw, big, &[]),
        ("wide", Encoding::ZstdDelta, 4000, &["big-1"]),
        ("too-wide", Encoding::ZstdDelta, 4000, &["big-1", "big-2"]),
    ];
    let row = |name: &str| index.iter().find(|r| r.0 == name);
    let cases: [(&str, &str, &str, &str, Option<u64>); 9] = [
        ("plain", "a zstd blob: depth 0, no base is read", "ok", "full", Some(0)),
        ("delta", "a delta of a plain blob: depth 1", "ok", "diff", Some(1)),
        (
            "delta-of-delta",
            "bases diff (depth 1) and full (depth 0): level 1 = {diff, full}, level 2 = {full}, depth 2",
            "ok",
            "incr",
            Some(2),
        ),
        (
            "too-deep",
            "a delta of incr: level 3 = {full} is not empty, depth 3 exceeds MAX_DELTA_DEPTH = 2",
            "error:TooLarge",
            "incr-of-incr",
            None,
        ),
        (
            "self-base",
            "an index entry naming itself as its base: every level holds it again",
            "error:TooLarge",
            "self",
            None,
        ),
        (
            "cycle",
            "loop-a names loop-b, which names loop-a: every level is non-empty",
            "error:TooLarge",
            "loop-a",
            None,
        ),
        (
            "missing-base",
            "orphan names full and pruned, which no index holds: the error names orphan and pruned",
            "error:Missing",
            "orphan",
            None,
        ),
        (
            "wide",
            "one base of 67108864 bytes and a raw length of 4000: the history fits the window of 2^27 bytes",
            "ok",
            "wide",
            Some(1),
        ),
        (
            "window",
            "two bases of 67108864 bytes each and a raw length of 4000: history plus raw length exceed 2^27",
            "error:TooLarge",
            "too-wide",
            None,
        ),
    ];
    for (case, comment, expect, blob, depth) in cases {
        // The rows reachable from `blob` by following bases, in table order.
        let mut reach = vec![blob];
        let mut i = 0;
        while let Some(name) = reach.get(i).copied() {
            for b in row(name).map(|r| r.3).unwrap_or_default() {
                if !reach.contains(b) {
                    reach.push(b);
                }
            }
            i += 1;
        }
        let mut d = Doc::new("delta-chain", case, "delta-blobs", comment, expect);
        d.hex("blob", &id(blob).0);
        if let Some(missing) = reach.iter().find(|n| row(n).is_none()) {
            d.hex("missing", &id(missing).0);
        }
        for r in index.iter().filter(|r| reach.contains(&r.0)) {
            d.array_table("index")
                .s("name", r.0)
                .hex("id", &id(r.0).0)
                .s("enc", r.1.name())
                .int("raw", r.2.into())
                .strs(
                    "bases",
                    &r.3.iter().map(|b| id(b).to_hex()).collect::<Vec<_>>(),
                );
        }
        if let Some(depth) = depth {
            d.table("decoded").int("depth", depth);
        }
        out.write(&d);
    }
}

/// Chunk fingerprints (SPEC.md § Lists): what a writer matches a changed chunk by.
fn fingerprints(out: &mut Out) {
    let long = xof("fingerprint long chunk", 300);
    let mut same_start = long[..64].to_vec();
    same_start.extend_from_slice(&xof("fingerprint other tail", 100));
    let cases: [(&str, &[u8]); 5] = [
        ("empty", b""),
        ("5 bytes: the whole chunk is hashed", b"hello"),
        ("exactly 64 bytes", &long[..64]),
        ("300 bytes: only the first 64 are hashed", &long),
        (
            "164 bytes starting with the same 64 bytes: the same fp",
            &same_start,
        ),
    ];
    let mut d = Doc::new(
        "fingerprint",
        "examples",
        "lists",
        "fp = the first 8 bytes, as u64 LE, of BLAKE3 over the chunk's first min(64, length) bytes; fp is shown as 16 hex digits of that u64",
        "ok",
    );
    for (what, chunk) in cases {
        let prefix = &chunk[..chunk.len().min(list::FP_PREFIX)];
        d.array_table("cases")
            .s("what", what)
            .hex("chunk", chunk)
            .hex("prefix_blake3", blake3::hash(prefix).as_bytes())
            .s("fp", &format!("{:016x}", list::fingerprint(chunk)));
    }
    out.write(&d);
}

fn packs(out: &mut Out) -> BuiltPack {
    let text = b"a compressible chunk: strata strata strata strata strata strata strata\n".to_vec();
    let noise = xof("pack noise chunk", 100);
    // Blob order in a pack is shuffled; here the noise chunk happens to come first.
    let specs = [
        blob_spec(BlobKind::Data, &noise),
        blob_spec(BlobKind::Data, &text),
    ];
    let p = build_pack("pack minimal", &specs, |_| {});
    let pack_doc = |case: &str, comment: &str, expect: &str, bytes: &[u8]| {
        let mut d = Doc::new("pack", case, "pack-files", comment, expect);
        d.hex("master_key", &MASTER_KEY)
            .hex("repo_id", &REPO_ID)
            .int("zstd_level", ZSTD_LEVEL as u64)
            .hex("input", bytes);
        d
    };

    let mut d = pack_doc(
        "minimal",
        "a data pack of two blobs (one raw, one zstd), Padmé padding, sealed header, header length",
        "ok",
        &p.bytes,
    );
    d.table("decoded")
        .hex("pack_id", &content_name(&p.bytes))
        .int("header_offset", p.header_offset)
        .int("header_len", p.header_len as u64)
        .int("padding", p.padding as u64)
        .hex("header_plaintext", &p.header_plain);
    for (e, pt) in p.header.entries.iter().zip([&noise[..], &text[..]]) {
        entry_table(&mut d, "decoded.entries", e, Some(pt));
    }
    out.write(&d);

    let lie = build_pack("pack raw-len-lie", &specs, |h| h.entries[1].raw_len -= 1);
    out.write(&pack_doc(
        "raw-len-lie",
        "the header says the zstd blob's plaintext is one byte shorter than it is",
        "error:Invalid",
        &lie.bytes,
    ));

    let swapped = build_pack("pack kind-swapped", &specs, |h| {
        h.entries[0].kind = BlobKind::Tree
    });
    out.write(&pack_doc(
        "kind-swapped",
        "the header calls a data blob a tree blob: the blob's AAD (kind 5) no longer matches",
        "error:Authentication",
        &swapped.bytes,
    ));

    let other = b"some other plaintext";
    let forged = [
        BlobSpec {
            kind: BlobKind::Data,
            plaintext: &noise,
            bases: &[],
            forged_id: Some(keys().blob_id(other)),
        },
        blob_spec(BlobKind::Data, &text),
    ];
    let forged = build_pack("pack id-mismatch", &forged, |_| {});
    out.write(&pack_doc(
        "id-mismatch",
        "a blob sealed and listed under the ID of another plaintext: it opens, but the re-hash of its plaintext does not match",
        "error:IdMismatch",
        &forged.bytes,
    ));

    let mut damaged = p.bytes.clone();
    damaged[30] ^= 0x80;
    out.write(&pack_doc(
        "damaged-blob",
        "one bit of the first blob's ciphertext flipped",
        "error:Authentication",
        &damaged,
    ));

    out.write(&pack_doc(
        "truncated-length",
        "a 3-byte file: shorter than the header length field",
        "error:Truncated",
        &p.bytes[p.bytes.len() - 3..],
    ));

    let mut big = p.bytes.clone();
    let n = big.len();
    big[n - 4..].copy_from_slice(&((limits::MAX_PACK_HEADER as u32) + 1).to_le_bytes());
    out.write(&pack_doc(
        "oversized-length",
        "header length 16777217 exceeds the limit of 16777216",
        "error:TooLarge",
        &big,
    ));

    let mut past = p.bytes.clone();
    past[n - 4..].copy_from_slice(&(n as u32 - 3).to_le_bytes());
    out.write(&pack_doc(
        "length-past-start",
        "header length points past the start of the file",
        "error:Invalid",
        &past,
    ));

    let mut tiny = p.bytes.clone();
    tiny[n - 4..].copy_from_slice(&39u32.to_le_bytes());
    out.write(&pack_doc(
        "length-below-overhead",
        "header length 39 is shorter than a sealed object (40)",
        "error:Invalid",
        &tiny,
    ));
    p
}

fn padme(out: &mut Out) {
    let lens: [u64; 16] = [
        0,
        1,
        2,
        3,
        9,
        100,
        1000,
        4095,
        65537,
        1_000_000,
        (1 << 20) + 1,
        16 << 20,
        (16 << 20) + 1,
        (16 << 20) + 12345,
        123_456_789,
        1 << 30,
    ];
    let mut d = Doc::new(
        "padme",
        "examples",
        "pack-files",
        "Padmé: pairs [length, padded length]",
        "ok",
    );
    let cases = lens
        .iter()
        .map(|&l| {
            toml::Value::Array(vec![
                toml::Value::Integer(l as i64),
                toml::Value::Integer(pack::padme(l) as i64),
            ])
        })
        .collect();
    d.val("cases", toml::Value::Array(cases));
    out.write(&d);
}

fn entry(
    kind: BlobKind,
    encoding: Encoding,
    seed: &str,
    offset: u32,
    stored_len: u32,
) -> PackEntry {
    PackEntry {
        kind,
        encoding,
        id: keys().blob_id(seed.as_bytes()),
        offset,
        stored_len,
        raw_len: 1000,
        bases: vec![],
    }
}

fn pack_headers(out: &mut Out, minimal: &BuiltPack) {
    let header_doc = |case: &str, comment: &str, expect: &str, bytes: &[u8], data_end: u64| {
        let mut d = Doc::new("pack-header", case, "pack-files", comment, expect);
        d.int("data_end", data_end).hex("input", bytes);
        d
    };
    let mut d = header_doc(
        "minimal",
        "the header plaintext of pack/minimal.toml; data_end is where its sealed header starts",
        "ok",
        &minimal.header_plain,
        minimal.header_offset,
    );
    d.table("decoded");
    for e in &minimal.header.entries {
        entry_table(&mut d, "decoded.entries", e, None);
    }
    out.write(&d);

    let a = entry(BlobKind::Data, Encoding::Zstd, "a", 0, 500);
    let mut delta = entry(BlobKind::Data, Encoding::ZstdDelta, "b", 500, 300);
    delta.bases = vec![keys().blob_id(b"base 1"), keys().blob_id(b"base 2")];
    let h = PackHeader {
        entries: vec![a.clone(), delta.clone()],
    };
    let mut d = header_doc(
        "delta-entry",
        "a zstd-delta data entry naming two bases",
        "ok",
        &h.encode(),
        2000,
    );
    d.table("decoded");
    for e in &h.entries {
        entry_table(&mut d, "decoded.entries", e, None);
    }
    out.write(&d);

    let enc = |entries: Vec<PackEntry>| PackHeader { entries }.encode();
    let mut self_base = delta.clone();
    self_base.bases = vec![self_base.id];
    let mut no_base = delta.clone();
    no_base.bases.clear();
    let mut bases_on_zstd = a.clone();
    bases_on_zstd.bases = vec![keys().blob_id(b"base 1")];
    let mut tree_delta = delta.clone();
    tree_delta.kind = BlobKind::Tree;
    let mut five = delta.clone();
    five.bases = (0..5u8).map(|i| keys().blob_id(&[i])).collect();
    let mut short = a.clone();
    short.stored_len = 39;
    let mut huge_raw = a.clone();
    huge_raw.raw_len = limits::MAX_BLOB_SIZE + 1;
    let b_at_400 = entry(BlobKind::Data, Encoding::Zstd, "b", 400, 300);

    let cases: Vec<(&str, &str, &str, Vec<u8>, u64)> = vec![
        (
            "self-base",
            "a zstd-delta entry names itself as its base",
            "error:Invalid",
            enc(vec![a.clone(), self_base]),
            2000,
        ),
        (
            "delta-without-base",
            "a zstd-delta entry with base count 0",
            "error:Invalid",
            enc(vec![a.clone(), no_base]),
            2000,
        ),
        (
            "bases-on-zstd",
            "a zstd entry names a base",
            "error:Invalid",
            enc(vec![bases_on_zstd]),
            2000,
        ),
        (
            "delta-tree-blob",
            "a tree blob stored as zstd-delta: only data blobs may be deltas",
            "error:Invalid",
            enc(vec![a.clone(), tree_delta]),
            2000,
        ),
        (
            "too-many-bases",
            "a zstd-delta entry names 5 bases (limit 4)",
            "error:TooLarge",
            enc(vec![a.clone(), five]),
            2000,
        ),
        (
            "overlapping-entries",
            "the second blob starts at 400, inside the first (0+500)",
            "error:Invalid",
            enc(vec![a.clone(), b_at_400]),
            2000,
        ),
        (
            "past-data-end",
            "the second blob ends at 800, after the header starts (700)",
            "error:Invalid",
            enc(vec![a.clone(), delta.clone()]),
            700,
        ),
        (
            "stored-too-short",
            "stored length 39 cannot hold nonce and tag",
            "error:Invalid",
            enc(vec![short]),
            2000,
        ),
        (
            "raw-len-over-limit",
            "raw length 67108865 exceeds the blob limit",
            "error:TooLarge",
            enc(vec![huge_raw]),
            2000,
        ),
    ];
    for (case, comment, expect, bytes, data_end) in cases {
        out.write(&header_doc(case, comment, expect, &bytes, data_end));
    }

    let good = enc(vec![a.clone()]);
    let with_delta = enc(vec![a.clone(), delta.clone()]);
    let patched = |at: usize, v: u8| {
        let mut b = good.clone();
        b[at] = v;
        b
    };
    let mut huge_count = good.clone();
    huge_count[1..5].copy_from_slice(&u32::MAX.to_le_bytes());
    let mut trailing = good.clone();
    trailing.push(0);
    let byte_cases: Vec<(&str, &str, &str, Vec<u8>)> = vec![
        (
            "unknown-kind",
            "entry kind byte 7",
            "error:UnknownTag",
            patched(5, 7),
        ),
        (
            "unknown-encoding",
            "entry encoding byte 9",
            "error:UnknownTag",
            patched(6, 9),
        ),
        (
            "reserved-nonzero",
            "the reserved byte of an entry is 1",
            "error:Invalid",
            patched(8, 1),
        ),
        (
            "version-2",
            "header version byte 2",
            "error:Version",
            patched(0, 2),
        ),
        (
            "huge-count",
            "entry count 4294967295 with one entry's bytes present: rejected before allocating",
            "error:TooLarge",
            huge_count,
        ),
        (
            "trailing-bytes",
            "one byte after the last entry",
            "error:Invalid",
            trailing,
        ),
        (
            "truncated",
            "pack-header/delta-entry.toml without its last byte: the second base ID is cut short",
            "error:Truncated",
            with_delta[..with_delta.len() - 1].to_vec(),
        ),
    ];
    for (case, comment, expect, bytes) in byte_cases {
        out.write(&header_doc(case, comment, expect, &bytes, 2000));
    }
}

fn index_blob(e: &PackEntry) -> IndexBlob {
    IndexBlob {
        id: e.id,
        kind: e.kind,
        enc: e.encoding,
        off: e.offset,
        len: e.stored_len,
        raw: e.raw_len,
        bases: e.bases.clone(),
    }
}

fn index(out: &mut Out, minimal: &BuiltPack) {
    let mut delta = entry(BlobKind::Data, Encoding::ZstdDelta, "delta", 0, 300);
    delta.bases = vec![minimal.header.entries[1].id];
    let idx = IndexFile {
        v: 1,
        supersedes: vec![IndexId(content_name(b"an older index file"))],
        packs: vec![
            IndexPack {
                id: PackId(content_name(&minimal.bytes)),
                size: minimal.bytes.len() as u64,
                blobs: minimal.header.entries.iter().map(index_blob).collect(),
            },
            IndexPack {
                id: PackId(content_name(b"another pack")),
                size: 4096,
                blobs: vec![index_blob(&delta)],
            },
        ],
    };
    out.write(&sealed_doc(
        "index",
        "minimal",
        "index-files",
        "describes pack/minimal.toml and a pack holding one delta blob; supersedes one older index file",
        "ok",
        ObjectKind::Index,
        &idx,
    ));

    let mut bad = idx.clone();
    bad.packs[1].size = 299;
    out.write(&sealed_doc(
        "index",
        "past-pack-end",
        "index-files",
        "a blob at 0+300 in a pack of 299 bytes",
        "error:Invalid",
        ObjectKind::Index,
        &bad,
    ));

    let mut bad = idx.clone();
    bad.packs[1].blobs[0].bases.clear();
    out.write(&sealed_doc(
        "index",
        "delta-without-bases",
        "index-files",
        "a zstd-delta entry with no bases",
        "error:Invalid",
        ObjectKind::Index,
        &bad,
    ));

    let mut bad = idx.clone();
    bad.packs[0].blobs[1].bases = vec![minimal.header.entries[0].id];
    out.write(&sealed_doc(
        "index",
        "bases-on-zstd",
        "index-files",
        "a zstd entry that names a base",
        "error:Invalid",
        ObjectKind::Index,
        &bad,
    ));

    let mut bad = idx.clone();
    bad.v = 2;
    out.write(&sealed_doc(
        "index",
        "version-2",
        "index-files",
        "structure version 2",
        "error:Version",
        ObjectKind::Index,
        &bad,
    ));
}

fn node(name: &[u8], kind: NodeKind) -> Node {
    Node {
        name: ByteBuf::from(name.to_vec()),
        kind,
        mode: match kind {
            NodeKind::Dir => 0o040755,
            NodeKind::Symlink => 0o120777,
            NodeKind::Chardev => 0o020666,
            _ => 0o100644,
        },
        uid: 1000,
        gid: 1000,
        mtime_ns: TIME_NS,
        ctime_ns: TIME_NS + 1,
        size: 0,
        inode: 42,
        dev: 2049,
        rdev: 0,
        link: None,
        xattrs: vec![],
        content: None,
        hash: None,
        subtree: None,
    }
}

fn file_node(name: &[u8], data: &[u8]) -> Node {
    let k = keys();
    let mut n = node(name, NodeKind::File);
    n.size = data.len() as u64;
    n.content = Some(Content {
        level: 0,
        entries: vec![ListEntry {
            id: k.blob_id(data),
            size: data.len() as u64,
            fp: None,
        }],
    });
    n.hash = Some(k.blob_id(data));
    n
}

fn trees(out: &mut Out) {
    let k = keys();
    let mut dir = node(b"docs", NodeKind::Dir);
    dir.subtree = Some(k.blob_id(b"a subtree"));
    let mut file = file_node(b"hello.txt", b"hello, strata\n");
    file.xattrs = vec![Xattr {
        name: ByteBuf::from(b"user.comment".to_vec()),
        value: ByteBuf::from(b"greeting".to_vec()),
    }];
    let mut link = node(b"link", NodeKind::Symlink);
    link.link = Some(ByteBuf::from(b"docs/hello.txt".to_vec()));
    let mut dev = node(b"null", NodeKind::Chardev);
    dev.rdev = 0x0103;
    let t = Tree {
        v: 1,
        nodes: vec![dir, file.clone(), link, dev],
    };
    let tree_doc = |case: &str, comment: &str, expect: &str, bytes: &[u8]| {
        let mut d = Doc::new("tree", case, "trees", comment, expect);
        d.hex("input", bytes);
        d
    };
    let mut d = tree_doc(
        "minimal",
        "a directory, a file with one chunk and an xattr, a symlink and a character device",
        "ok",
        &t.encode(),
    );
    d.json("decoded_json", &t)
        .table("decoded")
        .hex("blob_id", &k.blob_id(&t.encode()).0);
    out.write(&d);

    let odd = Tree {
        v: 1,
        nodes: vec![file_node(b"\xff\xfe.txt", b"latin-1 name")],
    };
    let mut d = tree_doc(
        "non-utf8-name",
        "names are bytes: ff fe 2e 74 78 74 is not UTF-8 and is valid",
        "ok",
        &odd.encode(),
    );
    d.json("decoded_json", &odd);
    out.write(&d);

    #[derive(Serialize)]
    struct Future<'a> {
        v: u32,
        nodes: &'a [Node],
        added_later: &'a str,
    }
    let future = to_msgpack(&Future {
        v: 1,
        nodes: &t.nodes[1..2],
        added_later: "readers ignore fields they do not know",
    });
    let mut d = tree_doc(
        "unknown-field",
        "a tree with an extra field \"added_later\": readers ignore it (re-encoding drops it)",
        "ok",
        &future,
    );
    d.bool("reencode", false).json(
        "decoded_json",
        &Tree {
            v: 1,
            nodes: t.nodes[1..2].to_vec(),
        },
    );
    out.write(&d);

    let one = |n: Node| {
        Tree {
            v: 1,
            nodes: vec![n],
        }
        .encode()
    };
    let named = |name: &[u8]| one(file_node(name, b"x"));
    let mut size_lie = file_node(b"f", b"four");
    size_lie.size = 5;
    let bare_dir = node(b"d", NodeKind::Dir);
    let bare_link = node(b"l", NodeKind::Symlink);
    let mut fifo = node(b"pipe", NodeKind::Fifo);
    fifo.mode = 0o010644;
    let whiteout = replace_once(&one(fifo), b"\xa4fifo", b"\xa8whiteout");
    let v2 = Tree {
        v: 2,
        nodes: vec![file_node(b"a", b"x")],
    }
    .encode();
    let cases: Vec<(&str, &str, &str, Vec<u8>)> = vec![
        (
            "dotdot",
            "a node named \"..\"",
            "error:Invalid",
            named(b".."),
        ),
        ("dot", "a node named \".\"", "error:Invalid", named(b".")),
        (
            "slash",
            "a node named \"a/b\"",
            "error:Invalid",
            named(b"a/b"),
        ),
        (
            "absolute",
            "a node named \"/etc\"",
            "error:Invalid",
            named(b"/etc"),
        ),
        (
            "empty",
            "a node with an empty name",
            "error:Invalid",
            named(b""),
        ),
        (
            "nul",
            "a node named \"a\\0b\"",
            "error:Invalid",
            named(b"a\0b"),
        ),
        (
            "name-too-long",
            "a 4097-byte name (limit 4096)",
            "error:TooLarge",
            named(&[b'n'; limits::MAX_NAME_LEN + 1]),
        ),
        (
            "unsorted",
            "names \"b\" then \"a\"",
            "error:Invalid",
            Tree {
                v: 1,
                nodes: vec![file_node(b"b", b"x"), file_node(b"a", b"x")],
            }
            .encode(),
        ),
        (
            "duplicate",
            "two nodes named \"a\"",
            "error:Invalid",
            Tree {
                v: 1,
                nodes: vec![file_node(b"a", b"x"), file_node(b"a", b"y")],
            }
            .encode(),
        ),
        (
            "size-mismatch",
            "a file whose content covers 4 bytes while its size says 5",
            "error:Invalid",
            one(size_lie),
        ),
        (
            "dir-without-subtree",
            "a directory node with no subtree",
            "error:Invalid",
            one(bare_dir),
        ),
        (
            "symlink-without-target",
            "a symlink node with no link",
            "error:Invalid",
            one(bare_link),
        ),
        (
            "unknown-type",
            "node type \"whiteout\" is not one this version knows",
            "error:MessagePack",
            whiteout,
        ),
        ("version-2", "structure version 2", "error:Version", v2),
        (
            "not-messagepack",
            "0xc1 is never used in MessagePack",
            "error:MessagePack",
            vec![0xc1],
        ),
    ];
    for (case, comment, expect, bytes) in cases {
        out.write(&tree_doc(case, comment, expect, &bytes));
    }
}

fn lists(out: &mut Out) {
    let k = keys();
    let l = ListBlob {
        v: 1,
        level: 0,
        entries: (0..3u32)
            .map(|i| ListEntry {
                id: k.blob_id(&i.to_le_bytes()),
                size: 262_144 + u64::from(i),
                fp: None,
            })
            .collect(),
    };
    let list_doc = |case: &str, comment: &str, expect: &str, bytes: &[u8]| {
        let mut d = Doc::new("list", case, "lists", comment, expect);
        d.hex("input", bytes);
        d
    };
    let mut d = list_doc(
        "level-0",
        "a list blob of level 0: three data chunks",
        "ok",
        &to_msgpack(&l),
    );
    d.json("decoded_json", &l)
        .table("decoded")
        .hex("blob_id", &k.blob_id(&to_msgpack(&l)).0);
    out.write(&d);

    // Level-0 entries as a backup writes them: each with its chunk's fingerprint.
    let chunks = [
        xof("list fp chunk 0", 100),
        xof("list fp chunk 1", 40),
        xof("list fp chunk 2", 200),
    ];
    let with_fp = ListBlob {
        v: 1,
        level: 0,
        entries: chunks
            .iter()
            .map(|c| ListEntry {
                id: k.blob_id(c),
                size: c.len() as u64,
                fp: Some(list::fingerprint(c)),
            })
            .collect(),
    };
    let mut d = Doc::new(
        "list",
        "level-0-fp",
        "lists",
        "a list blob of level 0 whose entries carry fp, the fingerprint of their chunks (given in chunks)",
        "ok",
    );
    d.strs(
        "chunks",
        &chunks.iter().map(hex::encode).collect::<Vec<_>>(),
    )
    .hex("input", &to_msgpack(&with_fp))
    .json("decoded_json", &with_fp)
    .table("decoded")
    .hex("blob_id", &k.blob_id(&to_msgpack(&with_fp)).0);
    out.write(&d);

    let mut empty = l.clone();
    empty.entries.clear();
    out.write(&list_doc(
        "empty",
        "a list blob with no entries",
        "error:Invalid",
        &to_msgpack(&empty),
    ));
    let mut deep = l.clone();
    deep.level = limits::MAX_LIST_LEVEL + 1;
    out.write(&list_doc(
        "level-too-deep",
        "level 9 exceeds the limit of 8",
        "error:TooLarge",
        &to_msgpack(&deep),
    ));

    // The split rule on 5000 chunks: two levels of list blobs.
    let chunks = 5000u32;
    let mut entries: Vec<ListEntry> = (0..chunks)
        .map(|i| ListEntry {
            id: k.blob_id(&i.to_le_bytes()),
            size: 262_144 + u64::from(i),
            fp: None,
        })
        .collect();
    let mut level = 0u8;
    let mut groups_per_level = Vec::new();
    let mut first_blob = None;
    while entries.len() > list::INLINE_MAX {
        let groups = list::split(&entries);
        groups_per_level.push(groups.iter().map(|g| g.len() as u64).collect::<Vec<_>>());
        let next: Vec<ListEntry> = groups
            .iter()
            .map(|g| {
                let blob = to_msgpack(&ListBlob {
                    v: 1,
                    level,
                    entries: g.to_vec(),
                });
                first_blob.get_or_insert_with(|| blob.clone());
                ListEntry {
                    id: k.blob_id(&blob),
                    size: g.iter().map(|e| e.size).sum(),
                    fp: None,
                }
            })
            .collect();
        entries = next;
        level += 1;
    }
    let content = Content { level, entries };
    let mut d = Doc::new(
        "list-split",
        "5000-chunks",
        "lists",
        "chunk i (0..5000) has ID blob_id(u32 LE i) and size 262144 + i; the content needs two levels of list blobs",
        "ok",
    );
    d.hex("master_key", &MASTER_KEY)
        .int("chunks", chunks.into())
        .int("chunk_size_base", 262_144)
        .json("decoded_json", &content)
        .table("decoded");
    for (i, g) in groups_per_level.iter().enumerate() {
        d.ints(&format!("level_{i}_groups"), g);
    }
    d.hex(
        "first_list_blob",
        first_blob.as_deref().expect("5000 chunks need list blobs"),
    );
    out.write(&d);
}

fn snapshot_full() -> Snapshot {
    Snapshot {
        v: 1,
        time_ns: TIME_NS,
        host: HOST.into(),
        user: USER.into(),
        set: "home".into(),
        paths: vec!["/home/vector".into()],
        tags: vec![],
        tree: keys().blob_id(b"root tree"),
        level: Level::Full,
        parent: None,
        base: None,
        program: "strata 0.1.0".into(),
        command: None,
        exit_status: None,
        original: None,
        summary: Summary {
            files_new: 3,
            files_changed: 0,
            files_unchanged: 0,
            dirs: 2,
            bytes_read: 1_000_000,
            total_bytes: 1_000_000,
            bytes_new: 900_000,
            bytes_stored: 400_000,
            blobs_new: 7,
            duration_ms: 1234,
            errors: 0,
        },
    }
}

fn snapshots(out: &mut Out) {
    let full = snapshot_full();
    out.write(&sealed_doc(
        "snapshot",
        "full",
        "snapshots",
        "a full backup: no parent, no base",
        "ok",
        ObjectKind::Snapshot,
        &full,
    ));
    let mut incr = full.clone();
    incr.level = Level::Incr;
    incr.set = "pg:main".into();
    incr.paths = vec!["main.sql".into()];
    incr.tags = vec!["hourly".into()];
    incr.parent = Some(SnapshotId(content_name(b"the previous snapshot")));
    incr.base = Some(SnapshotId(content_name(b"the full")));
    incr.command = Some("pg_dump main".into());
    incr.exit_status = Some(0);
    out.write(&sealed_doc(
        "snapshot",
        "incr",
        "snapshots",
        "an incremental of a command's output: parent, base, command and exit status",
        "ok",
        ObjectKind::Snapshot,
        &incr,
    ));

    // What `strata copy` writes for that incr in another repository: lineage names the
    // destination's copies, `original` the snapshot copied.
    let mut copy = incr.clone();
    copy.parent = Some(SnapshotId(content_name(
        b"the copy of the previous snapshot",
    )));
    copy.base = Some(SnapshotId(content_name(b"the copy of the full")));
    copy.original = Some(SnapshotId(content_name(b"the snapshot copied")));
    out.write(&sealed_doc(
        "snapshot",
        "copy",
        "snapshots",
        "a copy (strata copy) of an incremental: parent and base name the destination's copies, original the snapshot copied",
        "ok",
        ObjectKind::Snapshot,
        &copy,
    ));

    let mut bad = full.clone();
    bad.parent = incr.parent;
    out.write(&sealed_doc(
        "snapshot",
        "full-with-parent",
        "snapshots",
        "a full that names a parent",
        "error:Invalid",
        ObjectKind::Snapshot,
        &bad,
    ));
    let mut bad = incr.clone();
    bad.base = None;
    out.write(&sealed_doc(
        "snapshot",
        "incr-without-base",
        "snapshots",
        "an incremental without a base",
        "error:Invalid",
        ObjectKind::Snapshot,
        &bad,
    ));
    let mut bad = full.clone();
    bad.v = 2;
    out.write(&sealed_doc(
        "snapshot",
        "version-2",
        "snapshots",
        "structure version 2",
        "error:Version",
        ObjectKind::Snapshot,
        &bad,
    ));
    let weekly = replace_once(&to_msgpack(&full), b"\xa4full", b"\xa6weekly");
    out.write(&sealed_raw_doc(
        "snapshot",
        "unknown-level",
        "snapshots",
        "level \"weekly\" is not full, diff or incr",
        "error:MessagePack",
        ObjectKind::Snapshot,
        &weekly,
    ));
    out.write(&sealed_raw_doc(
        "snapshot",
        "sealed-as-index",
        "snapshots",
        "a valid snapshot sealed with kind 7 (index) in its AAD, opened as a snapshot",
        "error:Authentication",
        ObjectKind::Index,
        &to_msgpack(&full),
    ));
}

fn locks(out: &mut Out) {
    let shared = LockRecord {
        v: 1,
        host: HOST.into(),
        pid: 4242,
        user: USER.into(),
        time_ns: TIME_NS,
        exclusive: false,
        command: "backup".into(),
        started_ns: 0,
        prune: false,
    };
    out.write(&sealed_doc(
        "lock",
        "shared",
        "locks",
        "a shared lock held by a backup",
        "ok",
        ObjectKind::Lock,
        &shared,
    ));
    let mut excl = shared.clone();
    excl.exclusive = true;
    excl.command = "prune".into();
    out.write(&sealed_doc(
        "lock",
        "exclusive",
        "locks",
        "an exclusive lock held by prune",
        "ok",
        ObjectKind::Lock,
        &excl,
    ));
    let mut pruning = shared.clone();
    pruning.command = "prune".into();
    pruning.prune = true;
    pruning.started_ns = TIME_NS - 600_000_000_000;
    out.write(&sealed_doc(
        "lock",
        "prune",
        "locks",
        "a prune lock (not exclusive: backups run beside it), refreshed 10 minutes after it was taken",
        "ok",
        ObjectKind::Lock,
        &pruning,
    ));
    let mut bad = shared.clone();
    bad.v = 2;
    out.write(&sealed_doc(
        "lock",
        "version-2",
        "locks",
        "structure version 2",
        "error:Version",
        ObjectKind::Lock,
        &bad,
    ));
}

fn pendings(out: &mut Out) {
    let ok = PendingRecord {
        v: 1,
        time_ns: TIME_NS,
        host: HOST.into(),
        packs: vec![PackId([0x11; 32]), PackId([0xee; 32])],
    };
    out.write(&sealed_doc(
        "pending",
        "ok",
        "pending-deletions",
        "two packs announced for deletion",
        "ok",
        ObjectKind::Pending,
        &ok,
    ));
    out.write(&sealed_doc(
        "pending",
        "sealed-as-lock",
        "pending-deletions",
        "a valid notice sealed with kind 9 (lock) in its AAD, opened as a pending notice",
        "error:Authentication",
        ObjectKind::Lock,
        &ok,
    ));
    let mut bad = ok.clone();
    bad.v = 2;
    out.write(&sealed_doc(
        "pending",
        "version-2",
        "pending-deletions",
        "structure version 2",
        "error:Version",
        ObjectKind::Pending,
        &bad,
    ));
}

fn policies(out: &mut Out) {
    let ok = Policy {
        v: 1,
        set: "pg:main".into(),
        time_ns: TIME_NS,
        full_s: 7 * 86_400,
        diff_s: 86_400,
        incr_s: 900,
        keep: None,
        offsite: None,
    };
    out.write(&sealed_doc(
        "policy",
        "ok",
        "policies",
        "set pg:main: a full weekly, a diff daily, some snapshot every 15 minutes",
        "ok",
        ObjectKind::Policy,
        &ok,
    ));
    let mut bad = ok.clone();
    bad.incr_s = 2 * 86_400;
    out.write(&sealed_doc(
        "policy",
        "intervals-not-nested",
        "policies",
        "incr_s 172800 exceeds diff_s 86400: intervals must nest (full ≥ diff ≥ incr > 0)",
        "error:Invalid",
        ObjectKind::Policy,
        &bad,
    ));
    let mut retention = ok.clone();
    retention.keep = Some(Retention {
        daily: Some(7),
        tags: vec!["keep".into()],
        full: Some(4),
        diff: Some(7),
        incr: Some(48),
        ..Retention::default()
    });
    out.write(&sealed_doc(
        "policy",
        "retention",
        "policies",
        "policy/ok.toml with retention: keep-daily 7, keep-tag keep, keep-full 4, keep-diff 7, keep-incr 48",
        "ok",
        ObjectKind::Policy,
        &retention,
    ));
    let mut offsite = ok.clone();
    offsite.offsite = Some("s3://offsite-backups/pg-main".into());
    out.write(&sealed_doc(
        "policy",
        "offsite",
        "policies",
        "policy/ok.toml with an offsite repository s3://offsite-backups/pg-main",
        "ok",
        ObjectKind::Policy,
        &offsite,
    ));
    let mut bad = ok.clone();
    bad.offsite = Some(String::new());
    out.write(&sealed_doc(
        "policy",
        "offsite-empty",
        "policies",
        "an empty offsite location: omitted when absent, never empty",
        "error:Invalid",
        ObjectKind::Policy,
        &bad,
    ));
    let mut bad = ok.clone();
    bad.keep = Some(Retention {
        incr: Some(48),
        ..Retention::default()
    });
    out.write(&sealed_doc(
        "policy",
        "retention-incr-without-full",
        "retention",
        "keep-incr 48 without a full rule: incrs are kept only with their full",
        "error:Invalid",
        ObjectKind::Policy,
        &bad,
    ));
    let mut bad = ok.clone();
    bad.v = 2;
    out.write(&sealed_doc(
        "policy",
        "version-2",
        "policies",
        "structure version 2",
        "error:Version",
        ObjectKind::Policy,
        &bad,
    ));
}

fn drills(out: &mut Out) {
    let ok = Drill {
        v: 1,
        snapshot: SnapshotId(*blake3::hash(b"strata vector drill snapshot").as_bytes()),
        set: "pg:main".into(),
        time_ns: TIME_NS,
        command: None,
        path: None,
        ok: true,
        error: None,
        files: 1,
        bytes: 1_048_576,
        duration_ms: 250,
    };
    out.write(&sealed_doc(
        "drill",
        "ok",
        "drills",
        "a passed drill of one snapshot of set pg:main: 1 file, 1 MiB reassembled in 250 ms",
        "ok",
        ObjectKind::Drill,
        &ok,
    ));
    let failed = Drill {
        time_ns: TIME_NS + 60_000_000_000,
        command: Some("pg_restore --list".into()),
        path: Some("/db.dump".into()),
        ok: false,
        error: Some("restore command \"pg_restore --list\" failed (exit status: 1)".into()),
        ..ok.clone()
    };
    out.write(&sealed_doc(
        "drill",
        "failed",
        "drills",
        "a failed drill: the restore command rejected the dump; command, path and error present",
        "ok",
        ObjectKind::Drill,
        &failed,
    ));
    let mut bad = ok.clone();
    bad.error = Some("should not be here".into());
    out.write(&sealed_doc(
        "drill",
        "ok-with-error",
        "drills",
        "ok is true but an error is present: error must be present exactly when ok is false",
        "error:Invalid",
        ObjectKind::Drill,
        &bad,
    ));
    let mut bad = ok.clone();
    bad.v = 2;
    out.write(&sealed_doc(
        "drill",
        "version-2",
        "drills",
        "structure version 2",
        "error:Version",
        ObjectKind::Drill,
        &bad,
    ));
}

fn gear(out: &mut Out) {
    let k = keys();
    let table = chunking::gear_table(&k.chunker);
    let bytes: Vec<u8> = table.iter().flat_map(|g| g.to_le_bytes()).collect();
    let mut d = Doc::new(
        "gear-table",
        "fixed-key",
        "chunking",
        "gear[i] = u64 LE of bytes 8i..8i+8 of BLAKE3-XOF keyed with the chunker key over \"strata gear table v1\"",
        "ok",
    );
    d.hex("master_key", &MASTER_KEY)
        .s(
            "gear_input",
            std::str::from_utf8(GEAR_INPUT).expect("ASCII"),
        )
        .table("decoded")
        .hex("chunker_key", &k.chunker.0)
        .strs(
            "first",
            &table[..4]
                .iter()
                .map(|g| format!("{g:016x}"))
                .collect::<Vec<_>>(),
        )
        .hex("table_blake3", blake3::hash(&bytes).as_bytes());
    out.write(&d);
}

fn chunking_vectors(out: &mut Out) {
    let small = ChunkerParams {
        min: 64 << 10,
        avg: 256 << 10,
        max: 1 << 20,
    };
    let xof_input = "strata chunking vector";
    let cases: [(&str, &str, ChunkerParams, Option<&str>, usize); 5] = [
        (
            "small",
            "3 MiB of BLAKE3-XOF(\"strata chunking vector\"), min 64 KiB / avg 256 KiB / max 1 MiB",
            small,
            Some(xof_input),
            3 << 20,
        ),
        (
            "default",
            "12 MiB of BLAKE3-XOF(\"strata chunking vector\"), default 256 KiB / 1 MiB / 4 MiB",
            ChunkerParams::DEFAULT,
            Some(xof_input),
            12 << 20,
        ),
        (
            "odd-tail",
            "1 MiB + 12345 bytes (odd length) of the same input, min 64 KiB / avg 256 KiB / max 1 MiB",
            small,
            Some(xof_input),
            (1 << 20) + 12345,
        ),
        (
            "zeros",
            "3 MiB of zero bytes, min 64 KiB / avg 256 KiB / max 1 MiB",
            small,
            None,
            3 << 20,
        ),
        (
            "shorter-than-min",
            "65535 bytes of the same input: one chunk, no cut is searched",
            small,
            Some(xof_input),
            65535,
        ),
    ];
    let k = keys();
    for (case, comment, params, input, len) in cases {
        let mut data = vec![0u8; len];
        if let Some(s) = input {
            blake3::Hasher::new()
                .update(s.as_bytes())
                .finalize_xof()
                .fill(&mut data);
        }
        params.validate().expect("vector chunker params are valid");
        let c = Chunker::new(&k.chunker, params);
        let (mask_s, mask_l) = c.masks();
        let lengths: Vec<u64> = c.lengths(&data).iter().map(|&n| n as u64).collect();
        let mut d = Doc::new("chunking", case, "chunking", comment, "ok");
        d.hex("master_key", &MASTER_KEY);
        match input {
            Some(s) => d.s("input_xof", s),
            None => d.bool("input_zeros", true),
        };
        d.int("input_len", len as u64)
            .int("min", params.min.into())
            .int("avg", params.avg.into())
            .int("max", params.max.into())
            .table("decoded")
            .s("mask_s", &format!("{mask_s:016x}"))
            .s("mask_l", &format!("{mask_l:016x}"))
            .ints("lengths", &lengths);
        out.write(&d);
    }
}

/// A whole repository holding one snapshot, as a reader finds it on disk.
/// A repository's files as (path, bytes).
type Files = Vec<(String, Vec<u8>)>;

/// The key file and config of a vector repository; `label` names their nonces.
fn key_and_config(label: &str) -> Files {
    let kf = KeyFile::create(
        PASSPHRASE.as_bytes(),
        FAST,
        SALT,
        &nonce(&format!("{label} key")),
        &MasterKey(MASTER_KEY),
        repo(),
        TIME_NS,
        HOST,
        USER,
    )
    .expect("floor parameters are valid");
    let kf = kf.encode();
    vec![
        (format!("keys/{}", hex::encode(content_name(&kf))), kf),
        (
            "config".into(),
            object::seal(
                &keys(),
                &repo(),
                ObjectKind::Config,
                &nonce(&format!("{label} config")),
                &default_config(),
            ),
        ),
    ]
}

/// Adds a pack to `files` as `data/<xx>/<pack ID>` and returns what an index says of it.
fn add_pack(files: &mut Files, p: &BuiltPack) -> IndexPack {
    let id = content_name(&p.bytes);
    let hexid = hex::encode(id);
    files.push((format!("data/{}/{hexid}", &hexid[..2]), p.bytes.clone()));
    IndexPack {
        id: PackId(id),
        size: p.bytes.len() as u64,
        blobs: p.header.entries.iter().map(index_blob).collect(),
    }
}

/// Seals `snap` into `files` (nonce of `label` + " snapshot") and writes the vector: the
/// files, then what a reader restores.
fn repository_doc(
    out: &mut Out,
    label: &str,
    (case, comment): (&str, &str),
    mut files: Files,
    snap: &Snapshot,
    restored: &[(&str, &str, &[u8])],
) {
    let sealed = object::seal(
        &keys(),
        &repo(),
        ObjectKind::Snapshot,
        &nonce(&format!("{label} snapshot")),
        snap,
    );
    let snap_id = content_name(&sealed);
    files.push((format!("snapshots/{}", hex::encode(snap_id)), sealed));
    files.sort();
    let mut d = Doc::new("repository", case, "reading-a-snapshot", comment, "ok");
    d.hex("passphrase", PASSPHRASE.as_bytes()).table("files");
    for (name, bytes) in &files {
        d.hex(name, bytes);
    }
    d.table("decoded")
        .hex("master_key", &MASTER_KEY)
        .hex("repo_id", &REPO_ID)
        .hex("snapshot_id", &snap_id);
    for (path, kind, content) in restored {
        d.array_table("decoded.files")
            .s("path", path)
            .s("type", kind);
        if *kind != "dir" {
            d.hex("content", content);
        }
    }
    out.write(&d);
}

fn repository(out: &mut Out) {
    let k = keys();
    let mut files = key_and_config("repository");

    // Data: one small file, and a file of three chunks referenced through one list blob.
    let hello = b"hello, strata\n".to_vec();
    let chunks = [
        b"the first chunk of a larger file, ".repeat(3),
        xof("repository chunk 2", 80),
        b"and its last chunk.\n".to_vec(),
    ];
    let large: Vec<u8> = chunks.concat();
    let data_pack = build_pack(
        "repository data",
        &[
            blob_spec(BlobKind::Data, &chunks[2]),
            blob_spec(BlobKind::Data, &hello),
            blob_spec(BlobKind::Data, &chunks[0]),
            blob_spec(BlobKind::Data, &chunks[1]),
        ],
        |_| {},
    );

    let list = to_msgpack(&ListBlob {
        v: 1,
        level: 0,
        entries: chunks
            .iter()
            .map(|c| ListEntry {
                id: k.blob_id(c),
                size: c.len() as u64,
                fp: None,
            })
            .collect(),
    });
    let docs = Tree {
        v: 1,
        nodes: vec![file_node(b"hello.txt", &hello)],
    }
    .encode();
    let mut docs_node = node(b"docs", NodeKind::Dir);
    docs_node.subtree = Some(k.blob_id(&docs));
    let mut large_node = node(b"large.bin", NodeKind::File);
    large_node.size = large.len() as u64;
    large_node.content = Some(Content {
        level: 1,
        entries: vec![ListEntry {
            id: k.blob_id(&list),
            size: large.len() as u64,
            fp: None,
        }],
    });
    large_node.hash = Some(k.blob_id(&large));
    let mut link = node(b"link", NodeKind::Symlink);
    link.link = Some(ByteBuf::from(b"docs/hello.txt".to_vec()));
    let root = Tree {
        v: 1,
        nodes: vec![docs_node, large_node, link],
    }
    .encode();
    let tree_pack = build_pack(
        "repository trees",
        &[
            blob_spec(BlobKind::Tree, &root),
            blob_spec(BlobKind::List, &list),
            blob_spec(BlobKind::Tree, &docs),
        ],
        |_| {},
    );
    let index_packs = vec![
        add_pack(&mut files, &data_pack),
        add_pack(&mut files, &tree_pack),
    ];

    // An older index that points the root tree at a pack that does not exist; the newer
    // index supersedes it, so a reader never looks there.
    let mut stale_root = index_blob(&tree_pack.header.entries[0]);
    stale_root.off = 0;
    let old = object::seal(
        &k,
        &repo(),
        ObjectKind::Index,
        &nonce("repository old index"),
        &IndexFile {
            v: 1,
            supersedes: vec![],
            packs: vec![IndexPack {
                id: PackId(content_name(b"a pack that was pruned")),
                size: 1 << 20,
                blobs: vec![stale_root],
            }],
        },
    );
    let old_id = content_name(&old);
    files.push((format!("index/{}", hex::encode(old_id)), old));
    let idx = object::seal(
        &k,
        &repo(),
        ObjectKind::Index,
        &nonce("repository index"),
        &IndexFile {
            v: 1,
            supersedes: vec![IndexId(old_id)],
            packs: index_packs,
        },
    );
    files.push((format!("index/{}", hex::encode(content_name(&idx))), idx));

    let mut snap = snapshot_full();
    snap.tree = k.blob_id(&root);
    snap.paths = vec!["/srv/vector".into()];
    repository_doc(
        out,
        "repository",
        (
            "one-snapshot",
            "a whole repository: key file, config, a data pack, a tree pack, two index files (one superseded) and one snapshot",
        ),
        files,
        &snap,
        &[
            ("docs", "dir", b""),
            ("docs/hello.txt", "file", &hello),
            ("large.bin", "file", &large),
            ("link", "symlink", b"docs/hello.txt"),
        ],
    );
}

/// A whole repository whose files are read through delta chains (SPEC.md § Delta blobs).
fn repository_deltas(out: &mut Out) {
    let k = keys();
    let mut files = key_and_config("repository deltas");
    let v1 = ledger(0, 12, None);
    let v2 = ledger(0, 12, Some(("-31.00,phone", "-33.40,phone")));
    let mut v3 = ledger(0, 12, Some(("-31.00,phone", "-33.40,phone")));
    v3.extend_from_slice(b"2026-02-02,4711,-1200.00,rent february\n");
    let notes = b"notes: the phone bill was corrected on 2026-01-22; the rent rises in february.\n\
        insurance q1 paid in full; train pass renewed monthly.\n"
        .to_vec();
    let notes_v2 = [&notes[..], b"the phone bill was refunded.\n"].concat();
    let mut joined = ledger(9, 12, None);
    joined.extend_from_slice(&notes[..80]);

    // v2 is a delta of v1 and v3 a delta of v2 (depth 2); joined starts in v1 and ends in
    // notes (two bases). A later full found notes-v2 only as a delta and stored a plain
    // copy of it too.
    let data_pack = build_pack(
        "repository deltas data",
        &[
            delta_spec(&joined, &[&v1, &notes]),
            delta_spec(&v2, &[&v1]),
            blob_spec(BlobKind::Data, &v1),
            delta_spec(&notes_v2, &[&notes]),
            delta_spec(&v3, &[&v2]),
            blob_spec(BlobKind::Data, &notes),
        ],
        |_| {},
    );
    let full_pack = build_pack(
        "repository deltas full",
        &[blob_spec(BlobKind::Data, &notes_v2)],
        |_| {},
    );
    let one_chunk = |name: &[u8], data: &[u8]| {
        let mut n = node(name, NodeKind::File);
        n.size = data.len() as u64;
        n.content = Some(Content {
            level: 0,
            entries: vec![ListEntry {
                id: k.blob_id(data),
                size: data.len() as u64,
                fp: Some(list::fingerprint(data)),
            }],
        });
        n
    };
    let root = Tree {
        v: 1,
        nodes: vec![
            one_chunk(b"joined.txt", &joined),
            one_chunk(b"ledger-v1.csv", &v1),
            one_chunk(b"ledger-v2.csv", &v2),
            one_chunk(b"ledger-v3.csv", &v3),
            one_chunk(b"notes-v2.txt", &notes_v2),
            one_chunk(b"notes.txt", &notes),
        ],
    }
    .encode();
    let tree_pack = build_pack(
        "repository deltas trees",
        &[blob_spec(BlobKind::Tree, &root)],
        |_| {},
    );
    let packs = vec![
        add_pack(&mut files, &data_pack),
        add_pack(&mut files, &full_pack),
        add_pack(&mut files, &tree_pack),
    ];
    let idx = object::seal(
        &k,
        &repo(),
        ObjectKind::Index,
        &nonce("repository deltas index"),
        &IndexFile {
            v: 1,
            supersedes: vec![],
            packs,
        },
    );
    files.push((format!("index/{}", hex::encode(content_name(&idx))), idx));

    let mut snap = snapshot_full();
    snap.tree = k.blob_id(&root);
    snap.paths = vec!["/srv/ledger".into()];
    snap.level = Level::Incr;
    snap.parent = Some(SnapshotId(content_name(b"the previous snapshot")));
    snap.base = Some(SnapshotId(content_name(b"the full")));
    repository_doc(
        out,
        "repository deltas",
        (
            "deltas",
            "a repository whose chunks are stored as deltas: depth 1, depth 2, two bases, and a chunk held both as a delta and plain",
        ),
        files,
        &snap,
        &[
            ("joined.txt", "file", &joined),
            ("ledger-v1.csv", "file", &v1),
            ("ledger-v2.csv", "file", &v2),
            ("ledger-v3.csv", "file", &v3),
            ("notes-v2.txt", "file", &notes_v2),
            ("notes.txt", "file", &notes),
        ],
    );
}

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    let mut out = Out {
        dir,
        written: Vec::new(),
    };
    subkeys(&mut out);
    aad(&mut out);
    sealed_object(&mut out);
    keyfile(&mut out);
    config(&mut out);
    blobs(&mut out);
    delta_blobs(&mut out);
    delta_chains(&mut out);
    let minimal = packs(&mut out);
    padme(&mut out);
    pack_headers(&mut out, &minimal);
    index(&mut out, &minimal);
    trees(&mut out);
    lists(&mut out);
    fingerprints(&mut out);
    snapshots(&mut out);
    locks(&mut out);
    pendings(&mut out);
    policies(&mut out);
    drills(&mut out);
    gear(&mut out);
    chunking_vectors(&mut out);
    repository(&mut out);
    repository_deltas(&mut out);
    out.written.sort();
    for rel in &out.written {
        println!("format-spec/tests/vectors/{rel}");
    }
    eprintln!("{} vector files written", out.written.len());
}
