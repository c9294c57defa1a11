//! The test-vector harness: SPEC.md § [Test vectors](../../SPEC.md#test-vectors).
//!
//! Walks `tests/vectors/` (no file is listed by hand), dispatches each file on its
//! `structure` field and checks three things:
//!
//! 1. the decoder's result: `expect = "ok"`, or `expect = "error:<Variant>"` with the exact
//!    variant ([`DecodeError::variant`], [`OpenError::variant`], `WrongPassphrase`,
//!    `IdMismatch` when a blob's plaintext does not hash to its ID, or for a delta chain
//!    `Missing` and `TooLarge`, SPEC.md's names for [`ChainError::Missing`] and
//!    [`ChainError::TooDeep`]);
//! 2. for `ok` vectors, that re-encoding the decoded value reproduces the input byte for
//!    byte (sealing again with the vector's nonce, the first 24 bytes of the sealed input);
//! 3. that every `spec` field names a heading anchor of SPEC.md.
//!
//! A second test checks that SPEC.md names every vector file and names no missing one.

use format_spec::blob::{self, BlobKind, Encoding};
use format_spec::chunking::{self, Chunker};
use format_spec::config::{ChunkerParams, RepoConfig};
use format_spec::crypto::{self, MasterKey, ObjectKind, SubKey, SubKeys, NONCE_LEN};
use format_spec::decode::to_msgpack;
use format_spec::delta::{self, ChainError};
use format_spec::drill::Drill;
use format_spec::id::{content_name, BlobId, IndexId, PackId, RepoId};
use format_spec::index::{IndexBlob, IndexFile};
use format_spec::keyfile::{KeyFile, UnlockError};
use format_spec::limits;
use format_spec::list::{self, Content, ListBlob, ListEntry};
use format_spec::lock::LockRecord;
use format_spec::object;
use format_spec::pack::{self, PackEntry, PackHeader};
use format_spec::pending::PendingRecord;
use format_spec::policy::Policy;
use format_spec::snapshot::Snapshot;
use format_spec::tree::{NodeKind, Tree};
use format_spec::{DecodeError, OpenError};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn vectors_dir() -> PathBuf {
    crate_dir().join("tests/vectors")
}

fn spec_text() -> String {
    std::fs::read_to_string(crate_dir().join("../SPEC.md")).expect("SPEC.md beside format-spec/")
}

/// Every `*.toml` under `dir`, as paths relative to `dir`, sorted.
fn walk(dir: &Path, rel: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir.join(rel))
        .expect("read vectors directory")
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for p in entries {
        let name = rel.join(p.file_name().expect("entry has a name"));
        if p.is_dir() {
            walk(dir, &name, out);
        } else if p.extension().is_some_and(|e| e == "toml") {
            out.push(name);
        }
    }
}

fn vector_files() -> Vec<PathBuf> {
    let mut out = Vec::new();
    walk(&vectors_dir(), Path::new(""), &mut out);
    out
}

// ---------------------------------------------------------------------------------------
// SPEC.md anchors
// ---------------------------------------------------------------------------------------

/// The anchors GitHub gives SPEC.md's headings: lower case, punctuation dropped, spaces
/// to hyphens, `-1`, `-2` … appended to repeats. Headings inside code fences don't count.
fn spec_anchors(spec: &str) -> BTreeSet<String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = BTreeSet::new();
    let mut fenced = false;
    for line in spec.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced || !line.starts_with('#') {
            continue;
        }
        let text = line.trim_start_matches('#');
        if !text.starts_with(' ') {
            continue;
        }
        let slug: String = text
            .trim()
            .to_lowercase()
            .chars()
            .filter(|c| c.is_alphanumeric() || *c == '-' || *c == '_' || *c == ' ')
            .map(|c| if c == ' ' { '-' } else { c })
            .collect();
        let n = seen.entry(slug.clone()).or_insert(0);
        out.insert(if *n == 0 {
            slug.clone()
        } else {
            format!("{slug}-{n}")
        });
        *n += 1;
    }
    out
}

// ---------------------------------------------------------------------------------------
// Reading vector fields
// ---------------------------------------------------------------------------------------

struct Vector {
    t: toml::Table,
}

fn field<'a>(t: &'a toml::Table, k: &str) -> &'a toml::Value {
    t.get(k).unwrap_or_else(|| panic!("missing field {k:?}"))
}

fn as_str<'a>(t: &'a toml::Table, k: &str) -> &'a str {
    field(t, k)
        .as_str()
        .unwrap_or_else(|| panic!("{k:?} is not a string"))
}

fn as_hex(t: &toml::Table, k: &str) -> Vec<u8> {
    hex::decode(as_str(t, k)).unwrap_or_else(|e| panic!("{k:?} is not hex: {e}"))
}

fn as_u64(t: &toml::Table, k: &str) -> u64 {
    let i = field(t, k)
        .as_integer()
        .unwrap_or_else(|| panic!("{k:?} is not an integer"));
    u64::try_from(i).unwrap_or_else(|_| panic!("{k:?} is negative"))
}

fn as_32(t: &toml::Table, k: &str) -> [u8; 32] {
    as_hex(t, k)
        .try_into()
        .unwrap_or_else(|_| panic!("{k:?} is not 32 bytes"))
}

fn as_u64s(t: &toml::Table, k: &str) -> Vec<u64> {
    field(t, k)
        .as_array()
        .unwrap_or_else(|| panic!("{k:?} is not an array"))
        .iter()
        .map(|v| u64::try_from(v.as_integer().expect("integer")).expect("non-negative"))
        .collect()
}

fn as_str_list(t: &toml::Table, k: &str) -> Vec<String> {
    field(t, k)
        .as_array()
        .unwrap_or_else(|| panic!("{k:?} is not an array"))
        .iter()
        .map(|s| s.as_str().expect("string").to_string())
        .collect()
}

fn as_hex_list(t: &toml::Table, k: &str) -> Vec<Vec<u8>> {
    as_str_list(t, k)
        .iter()
        .map(|s| hex::decode(s).unwrap_or_else(|e| panic!("{k:?} holds non-hex: {e}")))
        .collect()
}

impl Vector {
    fn str(&self, k: &str) -> &str {
        as_str(&self.t, k)
    }
    fn hex(&self, k: &str) -> Vec<u8> {
        as_hex(&self.t, k)
    }
    fn u64(&self, k: &str) -> u64 {
        as_u64(&self.t, k)
    }
    fn id32(&self, k: &str) -> [u8; 32] {
        as_32(&self.t, k)
    }
    fn decoded(&self) -> &toml::Table {
        field(&self.t, "decoded")
            .as_table()
            .expect("[decoded] is a table")
    }
    fn keys(&self) -> SubKeys {
        SubKeys::derive(&MasterKey(self.id32("master_key")))
    }
    fn repo(&self) -> RepoId {
        RepoId(self.id32("repo_id"))
    }
    fn flag(&self, k: &str) -> Option<bool> {
        self.t.get(k).map(|v| v.as_bool().expect("boolean"))
    }

    /// Compares a decoder's outcome with `expect` and returns the value of an `ok` vector.
    fn outcome<T>(&self, r: Result<T, String>) -> Option<T> {
        match (self.str("expect"), r) {
            ("ok", Ok(t)) => Some(t),
            ("ok", Err(e)) => panic!("expected ok, got error:{e}"),
            (exp, Ok(_)) => panic!("expected {exp}, but it decoded"),
            (exp, Err(e)) => {
                assert_eq!(exp, format!("error:{e}"), "wrong error variant");
                None
            }
        }
    }

    /// Checks `decoded_json` against the decoded value (byte strings as hex).
    fn check_json<T: Serialize>(&self, value: &T) {
        let expected: serde_json::Value =
            serde_json::from_str(self.str("decoded_json")).expect("decoded_json is JSON");
        let actual = hexify(serde_json::to_value(value).expect("value serializes to JSON"));
        assert_eq!(actual, expected, "decoded_json");
    }
}

/// As in the generator: non-empty arrays of integers 0..=255 are byte strings, shown as hex.
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

fn dv(e: DecodeError) -> String {
    e.variant().into()
}

fn ov(e: OpenError) -> String {
    e.variant().into()
}

fn nonce_of(sealed: &[u8]) -> [u8; NONCE_LEN] {
    sealed[..NONCE_LEN]
        .try_into()
        .expect("sealed input holds a nonce")
}

fn object_kind(n: u64) -> ObjectKind {
    use ObjectKind::*;
    [
        KeyFile, Config, PackHeader, DataBlob, TreeBlob, ListBlob, Index, Snapshot, Lock, Drill,
        Policy,
    ]
    .into_iter()
    .find(|k| *k as u64 == n)
    .unwrap_or_else(|| panic!("object kind {n} is not one SPEC.md lists"))
}

fn encoding(name: &str) -> Encoding {
    [Encoding::Raw, Encoding::Zstd, Encoding::ZstdDelta]
        .into_iter()
        .find(|e| e.name() == name)
        .unwrap_or_else(|| panic!("unknown encoding {name:?}"))
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

fn subkeys(v: &Vector) {
    let master = v.id32("master_key");
    let k = v.keys();
    let d = v.decoded();
    // The vector's context strings are SPEC.md's; derive from them independently too.
    for (ctx_field, key_field, key) in [
        ("ctx_blob_id", "blob_id_key", &k.blob_id),
        ("ctx_encryption", "encryption_key", &k.encryption),
        ("ctx_chunker", "chunker_key", &k.chunker),
    ] {
        let derived = blake3::derive_key(v.str(ctx_field), &master);
        assert_eq!(derived, key.0, "{ctx_field} does not give the crate's key");
        assert_eq!(as_32(d, key_field), key.0, "{key_field}");
    }
    assert_eq!(as_32(d, "blob_id"), k.blob_id(&v.hex("plaintext")).0);
    assert_eq!(as_32(d, "blob_id_of_empty"), k.blob_id(b"").0);
}

fn aad(v: &Vector) {
    let kind = object_kind(v.u64("kind"));
    assert_eq!(v.str("kind_name"), kind.name());
    let object = v.t.get("object_id").map(|_| BlobId(v.id32("object_id")));
    let aad = crypto::aad(&RepoId(v.id32("repo_id")), kind, object.as_ref());
    assert_eq!(aad.to_vec(), as_hex(v.decoded(), "aad"));
}

fn sealed_object(v: &Vector) {
    let key = SubKey(v.id32("key"));
    let aad = v.hex("aad");
    let input = v.hex("input");
    let r = crypto::open(&key, ObjectKind::Config, &aad, &input).map_err(ov);
    if let Some(plain) = v.outcome(r) {
        assert_eq!(plain, as_hex(v.decoded(), "plaintext"));
        assert_eq!(crypto::seal(&key, &nonce_of(&input), &aad, &plain), input);
    }
}

fn keyfile(v: &Vector) {
    let input = v.hex("input");
    let pass = v.hex("passphrase");
    let r = KeyFile::decode(&input).map_err(dv).and_then(|kf| {
        let (master, repo) = kf.unlock(&pass).map_err(|e| match e {
            UnlockError::WrongPassphrase => "WrongPassphrase".to_string(),
            UnlockError::Invalid(e) => dv(e),
        })?;
        Ok((kf, master, repo))
    });
    let Some((kf, master, repo)) = v.outcome(r) else {
        return;
    };
    let d = v.decoded();
    v.check_json(&kf);
    assert_eq!(master.0, as_32(d, "master_key"));
    assert_eq!(repo.0, as_32(d, "repo_id"));
    assert_eq!(content_name(&input), as_32(d, "file_name"));
    let kek = kf
        .params
        .derive(&pass, &kf.salt)
        .expect("checked parameters");
    assert_eq!(kek.0, as_32(d, "kek"));
    let key_aad = crypto::aad(&RepoId([0; 32]), ObjectKind::KeyFile, None);
    let payload = crypto::open(&kek, ObjectKind::KeyFile, &key_aad, &kf.sealed).expect("opens");
    assert_eq!(payload, as_hex(d, "payload"));
    let again = KeyFile::create(
        &pass,
        kf.params,
        &kf.salt,
        &nonce_of(&kf.sealed),
        &master,
        repo,
        kf.created_ns,
        &kf.host,
        &kf.user,
    )
    .expect("parameters already checked");
    assert_eq!(again.encode(), input, "re-encoded key file");
}

/// Config, index, snapshot, lock, policy and drill: sealed named-field MessagePack.
fn sealed_msgpack<T: Serialize + DeserializeOwned>(
    v: &Vector,
    kind: ObjectKind,
    max: usize,
    validate: impl Fn(&T) -> Result<(), DecodeError>,
) -> Option<T> {
    let (keys, repo, input) = (v.keys(), v.repo(), v.hex("input"));
    let r = object::open::<T>(&keys, &repo, kind, &input, max)
        .map_err(ov)
        .and_then(|t| validate(&t).map(|()| t).map_err(dv));
    let t = v.outcome(r)?;
    v.check_json(&t);
    let d = v.decoded();
    assert_eq!(
        to_msgpack(&t),
        as_hex(d, "plaintext"),
        "MessagePack plaintext"
    );
    if d.contains_key("file_name") {
        assert_eq!(content_name(&input), as_32(d, "file_name"), "file name");
    }
    let again = object::seal(&keys, &repo, kind, &nonce_of(&input), &t);
    assert_eq!(again, input, "re-sealed object");
    Some(t)
}

fn config(v: &Vector) {
    let c = sealed_msgpack(
        v,
        ObjectKind::Config,
        limits::MAX_CONFIG_FILE,
        |c: &RepoConfig| c.validate(),
    );
    if let Some(c) = c {
        assert_eq!(c.id, v.repo(), "config ID is the repository ID");
        let d = v.decoded();
        if d.contains_key("example_blob_id") {
            // The config's dedup keys, not the master key's, name blobs.
            let keys = c.sub_keys(&MasterKey(v.id32("master_key")));
            let id = keys.blob_id(&as_hex(d, "example_plaintext"));
            assert_eq!(
                id.0,
                as_32(d, "example_blob_id"),
                "blob ID under the dedup keys"
            );
            assert_ne!(keys.blob_id.0, v.keys().blob_id.0);
        }
    }
}

fn blob(v: &Vector) {
    let enc = encoding(v.str("encoding"));
    if enc == Encoding::ZstdDelta {
        return delta_blob(v);
    }
    let raw_len = u32::try_from(v.u64("raw_len")).expect("raw_len fits u32");
    let input = v.hex("input");
    if let Some(plain) = v.outcome(blob::decode(enc, &input, raw_len).map_err(dv)) {
        assert_eq!(plain, as_hex(v.decoded(), "plaintext"));
        let level = i32::try_from(v.u64("zstd_level")).expect("small level");
        assert_eq!(blob::encode(&plain, level), (enc, input), "re-encoded blob");
    }
}

/// A `zstd-delta` blob (SPEC.md § Delta blobs): decoded against its bases' plaintexts,
/// concatenated in entry order, then re-hashed against the entry's blob ID.
fn delta_blob(v: &Vector) {
    let keys = v.keys();
    let raw_len = u32::try_from(v.u64("raw_len")).expect("raw_len fits u32");
    let input = v.hex("input");
    let bases = as_hex_list(&v.t, "base_plaintexts");
    let base_ids: Vec<String> = bases.iter().map(|b| keys.blob_id(b).to_hex()).collect();
    assert_eq!(base_ids, as_str_list(&v.t, "base_ids"), "base IDs");
    let history = bases.concat();
    let id = BlobId(v.id32("blob_id"));
    let mut out = Vec::new();
    let r = delta::decompress_into(&history, &input, raw_len, &mut out)
        .map_err(dv)
        .and_then(|()| {
            if keys.blob_id(&out) == id {
                Ok(())
            } else {
                Err("IdMismatch".to_string())
            }
        });
    if v.outcome(r).is_some() {
        let d = v.decoded();
        assert_eq!(out, as_hex(d, "plaintext"));
        assert_eq!(history.len() as u64, as_u64(d, "history_len"));
        let fcs = delta::frame_content_size(&input);
        assert_eq!(fcs, Some(as_u64(d, "frame_content_size")));
        let again = delta::compress(&history, &out).expect("history fits the window");
        assert_eq!(again, input, "re-encoded delta");
    }
}

fn check_entries(expected: &toml::Table, actual: &[PackEntry]) {
    let rows = field(expected, "entries").as_array().expect("entries");
    assert_eq!(rows.len(), actual.len(), "entry count");
    for (row, e) in rows.iter().zip(actual) {
        let row = row.as_table().expect("entry table");
        assert_eq!(as_str(row, "kind"), kind_name(e.kind));
        assert_eq!(as_str(row, "encoding"), e.encoding.name());
        assert_eq!(as_32(row, "id"), e.id.0);
        assert_eq!(as_u64(row, "offset"), u64::from(e.offset));
        assert_eq!(as_u64(row, "stored_len"), u64::from(e.stored_len));
        assert_eq!(as_u64(row, "raw_len"), u64::from(e.raw_len));
        let bases: Vec<String> = field(row, "bases")
            .as_array()
            .expect("bases")
            .iter()
            .map(|b| b.as_str().expect("hex").to_string())
            .collect();
        assert_eq!(
            bases,
            e.bases.iter().map(|b| b.to_hex()).collect::<Vec<_>>()
        );
    }
}

/// A pack as a reader sees it (SPEC.md § Pack files).
struct ReadPack {
    header_offset: u64,
    header_len: usize,
    header_plain: Vec<u8>,
    header: PackHeader,
    plaintexts: Vec<Vec<u8>>,
}

fn read_pack(keys: &SubKeys, repo: &RepoId, bytes: &[u8]) -> Result<ReadPack, String> {
    let len = bytes.len() as u64;
    let mut last4 = [0u8; 4];
    if let Some(tail) = bytes.len().checked_sub(4).and_then(|s| bytes.get(s..)) {
        last4.copy_from_slice(tail);
    }
    let (header_offset, header_len) = pack::trailer(last4, len).map_err(dv)?;
    let start = usize::try_from(header_offset).expect("in memory");
    let sealed = &bytes[start..start + header_len];
    let header_aad = crypto::aad(repo, ObjectKind::PackHeader, None);
    let header_plain = crypto::open(
        &keys.encryption,
        ObjectKind::PackHeader,
        &header_aad,
        sealed,
    )
    .map_err(ov)?;
    let header = PackHeader::decode(&header_plain, header_offset).map_err(dv)?;
    let mut plaintexts = Vec::new();
    for e in &header.entries {
        let at = e.offset as usize;
        let sealed = &bytes[at..at + e.stored_len as usize];
        let kind = e.kind.object_kind();
        let aad = crypto::aad(repo, kind, Some(&e.id));
        let stored = crypto::open(&keys.encryption, kind, &aad, sealed).map_err(ov)?;
        let plain = blob::decode(e.encoding, &stored, e.raw_len).map_err(dv)?;
        if keys.blob_id(&plain) != e.id {
            return Err("IdMismatch".into());
        }
        plaintexts.push(plain);
    }
    Ok(ReadPack {
        header_offset,
        header_len,
        header_plain,
        header,
        plaintexts,
    })
}

fn pack_file(v: &Vector) {
    let (keys, repo, input) = (v.keys(), v.repo(), v.hex("input"));
    let Some(p) = v.outcome(read_pack(&keys, &repo, &input)) else {
        return;
    };
    let d = v.decoded();
    assert_eq!(content_name(&input), as_32(d, "pack_id"));
    assert_eq!(p.header_offset, as_u64(d, "header_offset"));
    assert_eq!(p.header_len as u64, as_u64(d, "header_len"));
    assert_eq!(p.header_plain, as_hex(d, "header_plaintext"));
    check_entries(d, &p.header.entries);
    let rows = field(d, "entries").as_array().expect("entries");
    for (row, plain) in rows.iter().zip(&p.plaintexts) {
        assert_eq!(&as_hex(row.as_table().expect("table"), "plaintext"), plain);
    }

    // Re-encode: seal each blob again with its own nonce, keep the (random) padding bytes,
    // check the padding length is Padmé's, seal the header again.
    let level = i32::try_from(v.u64("zstd_level")).expect("small level");
    let mut again = Vec::new();
    for (e, plain) in p.header.entries.iter().zip(&p.plaintexts) {
        assert_eq!(e.offset as usize, again.len(), "blobs are back to back");
        let (enc, stored) = blob::encode(plain, level);
        assert_eq!(enc, e.encoding);
        let kind = e.kind.object_kind();
        let nonce = nonce_of(&input[e.offset as usize..]);
        let aad = crypto::aad(&repo, kind, Some(&e.id));
        again.extend(crypto::seal(&keys.encryption, &nonce, &aad, &stored));
    }
    let blobs_end = again.len();
    let padding = &input[blobs_end..p.header_offset as usize];
    assert_eq!(padding.len() as u64, as_u64(d, "padding"));
    let unpadded = (blobs_end + p.header_len + pack::TRAILER_LEN) as u64;
    assert_eq!(
        pack::padme(unpadded),
        input.len() as u64,
        "pack is Padmé-padded"
    );
    again.extend_from_slice(padding);
    let header_nonce = nonce_of(&input[p.header_offset as usize..]);
    let header_aad = crypto::aad(&repo, ObjectKind::PackHeader, None);
    let sealed = crypto::seal(
        &keys.encryption,
        &header_nonce,
        &header_aad,
        &p.header.encode(),
    );
    again.extend_from_slice(&sealed);
    again.extend_from_slice(&(sealed.len() as u32).to_le_bytes());
    assert_eq!(again, input, "re-encoded pack");
}

fn pack_header(v: &Vector) {
    let input = v.hex("input");
    let r = PackHeader::decode(&input, v.u64("data_end")).map_err(dv);
    if let Some(h) = v.outcome(r) {
        check_entries(v.decoded(), &h.entries);
        assert_eq!(h.encode(), input, "re-encoded header");
    }
}

fn padme(v: &Vector) {
    for case in field(&v.t, "cases").as_array().expect("cases") {
        let pair: Vec<u64> = case
            .as_array()
            .expect("pair")
            .iter()
            .map(|n| u64::try_from(n.as_integer().expect("integer")).expect("non-negative"))
            .collect();
        assert_eq!(pack::padme(pair[0]), pair[1], "padme({})", pair[0]);
    }
}

fn tree(v: &Vector) {
    let input = v.hex("input");
    if let Some(t) = v.outcome(Tree::decode(&input).map_err(dv)) {
        v.check_json(&t);
        if let Some(id) = v.t.get("decoded").and_then(|d| d.get("blob_id")) {
            let keys = SubKeys::derive(&MasterKey(fixed_master()));
            assert_eq!(keys.blob_id(&input).to_hex(), id.as_str().expect("hex"));
        }
        if v.flag("reencode") != Some(false) {
            assert_eq!(t.encode(), input, "re-encoded tree");
        }
    }
}

/// The generator's master key (00 01 … 1f), for blob IDs of unsealed plaintexts.
fn fixed_master() -> [u8; 32] {
    std::array::from_fn(|i| i as u8)
}

fn list_blob(v: &Vector) {
    let input = v.hex("input");
    if let Some(l) = v.outcome(ListBlob::decode(&input).map_err(dv)) {
        v.check_json(&l);
        let keys = SubKeys::derive(&MasterKey(fixed_master()));
        assert_eq!(keys.blob_id(&input).0, as_32(v.decoded(), "blob_id"));
        assert_eq!(to_msgpack(&l), input, "re-encoded list blob");
        // Where the vector gives the chunks, each entry must describe its chunk.
        if v.t.contains_key("chunks") {
            let chunks = as_hex_list(&v.t, "chunks");
            assert_eq!(chunks.len(), l.entries.len(), "one chunk per entry");
            for (c, e) in chunks.iter().zip(&l.entries) {
                assert_eq!(e.id, keys.blob_id(c), "entry ID");
                assert_eq!(e.size, c.len() as u64, "entry size");
                assert_eq!(e.fp, Some(list::fingerprint(c)), "entry fp");
            }
        }
    }
}

/// SPEC.md § Lists: fp is the first 8 bytes, as u64 LE, of BLAKE3 over the first 64 bytes.
fn fingerprint(v: &Vector) {
    for case in field(&v.t, "cases").as_array().expect("[[cases]]") {
        let case = case.as_table().expect("table");
        let chunk = as_hex(case, "chunk");
        let fp = u64::from_str_radix(as_str(case, "fp"), 16).expect("16 hex digits");
        assert_eq!(list::fingerprint(&chunk), fp, "{}", as_str(case, "what"));
        // Independently, from the spec's words.
        let hash = blake3::hash(&chunk[..chunk.len().min(64)]);
        assert_eq!(*hash.as_bytes(), as_32(case, "prefix_blake3"));
        let first8: [u8; 8] = hash.as_bytes()[..8].try_into().expect("8 bytes");
        assert_eq!(u64::from_le_bytes(first8), fp);
    }
}

/// A blob's delta chain as the index describes it (SPEC.md § Delta blobs): the depth,
/// found level by level before anything is decoded, then the window of every delta on it.
fn delta_chain(v: &Vector) {
    let mut index: BTreeMap<BlobId, (Encoding, u32, Vec<BlobId>)> = BTreeMap::new();
    for row in field(&v.t, "index").as_array().expect("[[index]]") {
        let row = row.as_table().expect("table");
        let enc = encoding(as_str(row, "enc"));
        let bases: Vec<BlobId> = as_hex_list(row, "bases")
            .into_iter()
            .map(|b| BlobId(b.try_into().expect("32-byte base ID")))
            .collect();
        assert_eq!(
            enc == Encoding::ZstdDelta,
            !bases.is_empty(),
            "only deltas name bases"
        );
        let raw = u32::try_from(as_u64(row, "raw")).expect("u32");
        index.insert(BlobId(as_32(row, "id")), (enc, raw, bases));
    }
    let blob = BlobId(v.id32("blob"));
    let r = delta::depth(&blob, |b| index.get(b).map(|e| e.2.as_slice()))
        .map_err(|e| match e {
            ChainError::Missing(base) => {
                assert_eq!(base.0, v.id32("missing"), "the missing base");
                "Missing".to_string()
            }
            ChainError::TooDeep => "TooLarge".to_string(),
        })
        .and_then(|depth| {
            // The chain is at most MAX_DELTA_DEPTH deep now; each delta on it needs its
            // bases' raw lengths plus its own to fit the window.
            let mut level = vec![blob];
            while !level.is_empty() {
                let mut next = Vec::new();
                for b in &level {
                    let (_, raw, bases) = &index[b];
                    let history: usize = bases.iter().map(|b| index[b].1 as usize).sum();
                    if delta::window_log(history, *raw as usize) > delta::WINDOW_LOG_MAX {
                        return Err("TooLarge".to_string());
                    }
                    next.extend(bases.iter().copied());
                }
                level = next;
            }
            Ok(depth)
        });
    if let Some(depth) = v.outcome(r) {
        assert_eq!(depth as u64, as_u64(v.decoded(), "depth"));
    }
}

/// The writer's rule of SPEC.md § Lists, applied to the vector's chunks.
fn list_split(v: &Vector) {
    let keys = v.keys();
    let n = u32::try_from(v.u64("chunks")).expect("small count");
    let base = v.u64("chunk_size_base");
    let mut entries: Vec<ListEntry> = (0..n)
        .map(|i| ListEntry {
            id: keys.blob_id(&i.to_le_bytes()),
            size: base + u64::from(i),
            fp: None,
        })
        .collect();
    let total: u64 = entries.iter().map(|e| e.size).sum();
    let d = v.decoded();
    let mut level = 0u8;
    let mut first_blob = None;
    while entries.len() > list::INLINE_MAX {
        let groups = list::split(&entries);
        let lens: Vec<u64> = groups.iter().map(|g| g.len() as u64).collect();
        assert_eq!(lens, as_u64s(d, &format!("level_{level}_groups")));
        entries = groups
            .iter()
            .map(|g| {
                let blob = to_msgpack(&ListBlob {
                    v: 1,
                    level,
                    entries: g.to_vec(),
                });
                first_blob.get_or_insert_with(|| blob.clone());
                ListEntry {
                    id: keys.blob_id(&blob),
                    size: g.iter().map(|e| e.size).sum(),
                    fp: None,
                }
            })
            .collect();
        level += 1;
        assert!(level <= limits::MAX_LIST_LEVEL);
    }
    let content = Content { level, entries };
    assert_eq!(content.size(), total);
    content.validate().expect("valid content");
    v.check_json(&content);
    assert_eq!(
        first_blob.expect("list blobs were written"),
        as_hex(d, "first_list_blob")
    );
}

fn gear_table(v: &Vector) {
    let keys = v.keys();
    let d = v.decoded();
    assert_eq!(as_32(d, "chunker_key"), keys.chunker.0);
    let table = chunking::gear_table(&keys.chunker);
    // Independently from SPEC.md: BLAKE3-XOF keyed with the chunker key over gear_input.
    let mut bytes = [0u8; 2048];
    blake3::Hasher::new_keyed(&keys.chunker.0)
        .update(v.str("gear_input").as_bytes())
        .finalize_xof()
        .fill(&mut bytes);
    let spec_table: Vec<u64> = bytes
        .chunks_exact(8)
        .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
        .collect();
    assert_eq!(table, spec_table);
    let first: Vec<String> = table[..4].iter().map(|g| format!("{g:016x}")).collect();
    let expected: Vec<String> = field(d, "first")
        .as_array()
        .expect("first")
        .iter()
        .map(|s| s.as_str().expect("hex").to_string())
        .collect();
    assert_eq!(first, expected);
    assert_eq!(*blake3::hash(&bytes).as_bytes(), as_32(d, "table_blake3"));
}

/// SPEC.md § Chunking's cut loop, written from the spec's text rather than from fastcdc.
fn spec_cut(buf: &[u8], p: ChunkerParams, mask_s: u64, mask_l: u64, gear: &[u64]) -> usize {
    let (min, avg, max) = (p.min as usize, p.avg as usize, p.max as usize);
    let mut n = buf.len();
    if n <= min {
        return n;
    }
    let mut center = avg;
    if n > max {
        n = max;
    } else if n < center {
        center = n;
    }
    let g = |b: u8| gear[usize::from(b)];
    let mut h: u64 = 0;
    let mut a = min;
    while a + 1 < center {
        h = (h << 2).wrapping_add(g(buf[a]) << 1);
        if h & (mask_s << 1) == 0 {
            return a;
        }
        h = h.wrapping_add(g(buf[a + 1]));
        if h & mask_s == 0 {
            return a + 1;
        }
        a += 2;
    }
    while a + 1 < n {
        h = (h << 2).wrapping_add(g(buf[a]) << 1);
        if h & (mask_l << 1) == 0 {
            return a;
        }
        h = h.wrapping_add(g(buf[a + 1]));
        if h & mask_l == 0 {
            return a + 1;
        }
        a += 2;
    }
    n
}

fn chunking_lengths(v: &Vector) {
    let keys = v.keys();
    let len = usize::try_from(v.u64("input_len")).expect("fits memory");
    let mut data = vec![0u8; len];
    if v.flag("input_zeros") != Some(true) {
        blake3::Hasher::new()
            .update(v.str("input_xof").as_bytes())
            .finalize_xof()
            .fill(&mut data);
    }
    let params = ChunkerParams {
        min: u32::try_from(v.u64("min")).expect("u32"),
        avg: u32::try_from(v.u64("avg")).expect("u32"),
        max: u32::try_from(v.u64("max")).expect("u32"),
    };
    params.validate().expect("vector parameters are valid");
    let c = Chunker::new(&keys.chunker, params);
    let d = v.decoded();
    let (mask_s, mask_l) = c.masks();
    assert_eq!(format!("{mask_s:016x}"), as_str(d, "mask_s"));
    assert_eq!(format!("{mask_l:016x}"), as_str(d, "mask_l"));
    let lengths: Vec<u64> = c.lengths(&data).iter().map(|&n| n as u64).collect();
    assert_eq!(lengths, as_u64s(d, "lengths"), "chunk lengths");

    let gear = chunking::gear_table(&keys.chunker);
    let mut rest = &data[..];
    let mut spec_lengths = Vec::new();
    while !rest.is_empty() {
        let n = spec_cut(rest, params, mask_s, mask_l, &gear);
        spec_lengths.push(n as u64);
        rest = &rest[n..];
    }
    assert_eq!(
        spec_lengths, lengths,
        "SPEC.md's loop and the chunker agree"
    );
}

// ---------------------------------------------------------------------------------------
// A whole repository: SPEC.md § Reading a snapshot
// ---------------------------------------------------------------------------------------

struct Repo {
    files: BTreeMap<String, Vec<u8>>,
    keys: SubKeys,
    repo: RepoId,
    blobs: BTreeMap<BlobId, (PackId, IndexBlob)>,
}

impl Repo {
    fn load(&self, id: &BlobId, kind: BlobKind) -> Vec<u8> {
        let (pack, b) = self
            .blobs
            .get(id)
            .expect("every referenced blob is indexed");
        assert_eq!(
            b.kind, kind,
            "blob {id:?} has the kind its reference implies"
        );
        let hexid = pack.to_hex();
        let bytes = &self.files[&format!("data/{}/{hexid}", &hexid[..2])];
        let sealed = &bytes[b.off as usize..(b.off + b.len) as usize];
        let okind = kind.object_kind();
        let aad = crypto::aad(&self.repo, okind, Some(id));
        let stored = crypto::open(&self.keys.encryption, okind, &aad, sealed).expect("blob opens");
        let plain = if b.enc == Encoding::ZstdDelta {
            // The chain is checked from the index before any base is read, so the
            // recursion below is at most MAX_DELTA_DEPTH deep.
            let depth = delta::depth(id, |x| self.blobs.get(x).map(|(_, e)| e.bases.as_slice()))
                .expect("delta chain within MAX_DELTA_DEPTH, every base indexed");
            assert!((1..=limits::MAX_DELTA_DEPTH).contains(&depth));
            let history: Vec<u8> = b
                .bases
                .iter()
                .flat_map(|base| self.load(base, BlobKind::Data))
                .collect();
            assert!(delta::window_log(history.len(), b.raw as usize) <= delta::WINDOW_LOG_MAX);
            let mut out = Vec::new();
            delta::decompress_into(&history, &stored, b.raw, &mut out).expect("delta decodes");
            out
        } else {
            blob::decode(b.enc, &stored, b.raw).expect("blob decodes")
        };
        assert_eq!(
            self.keys.blob_id(&plain),
            *id,
            "plaintext re-hashes to its ID"
        );
        plain
    }

    fn content(&self, level: u8, entries: &[ListEntry]) -> Vec<u8> {
        let mut out = Vec::new();
        for e in entries {
            let part = if level == 0 {
                self.load(&e.id, BlobKind::Data)
            } else {
                let l = ListBlob::decode(&self.load(&e.id, BlobKind::List)).expect("list blob");
                assert_eq!(
                    l.level,
                    level - 1,
                    "a list blob sits one level below its entry"
                );
                self.content(l.level, &l.entries)
            };
            assert_eq!(part.len() as u64, e.size, "entry size");
            out.extend(part);
        }
        out
    }

    fn walk(
        &self,
        tree: &BlobId,
        prefix: &str,
        depth: usize,
        out: &mut Vec<(String, String, Vec<u8>)>,
    ) {
        assert!(depth <= limits::MAX_TREE_DEPTH);
        let t = Tree::decode(&self.load(tree, BlobKind::Tree)).expect("tree decodes");
        for n in &t.nodes {
            let name = String::from_utf8(n.name.to_vec()).expect("vector names are UTF-8");
            let path = format!("{prefix}{name}");
            match n.kind {
                NodeKind::Dir => {
                    out.push((path.clone(), "dir".into(), vec![]));
                    let sub = n.subtree.expect("validated dir has a subtree");
                    self.walk(&sub, &format!("{path}/"), depth + 1, out);
                }
                NodeKind::File => {
                    let c = n.content.as_ref().expect("validated file has content");
                    let data = self.content(c.level, &c.entries);
                    assert_eq!(data.len() as u64, n.size);
                    if let Some(h) = n.hash {
                        assert_eq!(self.keys.blob_id(&data), h, "whole-file hash");
                    }
                    out.push((path, "file".into(), data));
                }
                NodeKind::Symlink => {
                    let target = n.link.as_ref().expect("validated link").to_vec();
                    out.push((path, "symlink".into(), target));
                }
                other => panic!("unexpected node type {other:?}"),
            }
        }
    }
}

fn repository(v: &Vector) {
    let files: BTreeMap<String, Vec<u8>> = field(&v.t, "files")
        .as_table()
        .expect("[files]")
        .iter()
        .map(|(k, h)| {
            (
                k.clone(),
                hex::decode(h.as_str().expect("hex")).expect("hex"),
            )
        })
        .collect();
    // Every file but `config` is named by the BLAKE3 of its bytes; packs sit under data/xx/.
    for (name, bytes) in &files {
        if name == "config" {
            continue;
        }
        let hexname = hex::encode(content_name(bytes));
        let (dir, file) = name.rsplit_once('/').expect("name has a directory");
        assert_eq!(file, hexname, "{name} is named by its content");
        if dir.starts_with("data") {
            assert_eq!(dir, format!("data/{}", &hexname[..2]));
        }
    }
    let under = |dir: &'static str| {
        files
            .iter()
            .filter(move |(k, _)| k.starts_with(dir))
            .map(|(k, b)| (k.rsplit_once('/').expect("has a name").1, b))
    };

    let pass = v.hex("passphrase");
    let (master, repo) = under("keys/")
        .find_map(|(_, b)| KeyFile::decode(b).ok()?.unlock(&pass).ok())
        .expect("a key file opens with the passphrase");
    let keys = SubKeys::derive(&master);
    let d = v.decoded();
    assert_eq!(master.0, as_32(d, "master_key"));
    assert_eq!(repo.0, as_32(d, "repo_id"));

    let config: RepoConfig = object::open(
        &keys,
        &repo,
        ObjectKind::Config,
        &files["config"],
        limits::MAX_CONFIG_FILE,
    )
    .expect("config opens");
    config.validate().expect("config is valid");
    assert_eq!(config.id, repo);

    let mut indexes = Vec::new();
    for (name, bytes) in under("index/") {
        let idx: IndexFile = object::open(
            &keys,
            &repo,
            ObjectKind::Index,
            bytes,
            limits::MAX_INDEX_FILE,
        )
        .expect("index opens");
        idx.validate().expect("index is valid");
        indexes.push((name.parse::<IndexId>().expect("hex name"), idx));
    }
    let superseded: BTreeSet<IndexId> = indexes
        .iter()
        .flat_map(|(_, i)| i.supersedes.iter().copied())
        .collect();
    let mut blobs = BTreeMap::new();
    for (id, idx) in &indexes {
        if superseded.contains(id) {
            continue;
        }
        for p in &idx.packs {
            for b in &p.blobs {
                // Any copy will do; a plain one needs no base, so it wins over a delta.
                let keep = blobs
                    .get(&b.id)
                    .is_some_and(|(_, old): &(PackId, IndexBlob)| {
                        old.enc != Encoding::ZstdDelta || b.enc == Encoding::ZstdDelta
                    });
                if !keep {
                    blobs.insert(b.id, (p.id, b.clone()));
                }
            }
        }
    }
    let r = Repo {
        files: files.clone(),
        keys,
        repo,
        blobs,
    };

    let snaps: Vec<_> = under("snapshots/").collect();
    assert_eq!(snaps.len(), 1);
    let (snap_name, snap_bytes) = snaps[0];
    assert_eq!(snap_name, as_str(d, "snapshot_id"));
    let snap: Snapshot = object::open(
        &r.keys,
        &repo,
        ObjectKind::Snapshot,
        snap_bytes,
        limits::MAX_SNAPSHOT_FILE,
    )
    .expect("snapshot opens");
    snap.validate().expect("snapshot is valid");

    let mut restored = Vec::new();
    r.walk(&snap.tree, "", 0, &mut restored);
    let rows = field(d, "files").as_array().expect("[[decoded.files]]");
    assert_eq!(rows.len(), restored.len(), "restored entries");
    for (row, (path, kind, content)) in rows.iter().zip(&restored) {
        let row = row.as_table().expect("table");
        assert_eq!(as_str(row, "path"), path);
        assert_eq!(as_str(row, "type"), kind);
        if kind != "dir" {
            assert_eq!(&as_hex(row, "content"), content, "{path}");
        }
    }
}

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

fn check(v: &Vector) {
    match v.str("structure") {
        "subkeys" => subkeys(v),
        "aad" => aad(v),
        "sealed-object" => sealed_object(v),
        "keyfile" => keyfile(v),
        "config" => config(v),
        "blob" => blob(v),
        "pack" => pack_file(v),
        "pack-header" => pack_header(v),
        "padme" => padme(v),
        "index" => {
            sealed_msgpack(
                v,
                ObjectKind::Index,
                limits::MAX_INDEX_FILE,
                IndexFile::validate,
            );
        }
        "tree" => tree(v),
        "list" => list_blob(v),
        "fingerprint" => fingerprint(v),
        "delta-chain" => delta_chain(v),
        "list-split" => list_split(v),
        "snapshot" => {
            sealed_msgpack(
                v,
                ObjectKind::Snapshot,
                limits::MAX_SNAPSHOT_FILE,
                Snapshot::validate,
            );
        }
        "lock" => {
            sealed_msgpack(
                v,
                ObjectKind::Lock,
                limits::MAX_LOCK_FILE,
                LockRecord::validate,
            );
        }
        "pending" => {
            sealed_msgpack(
                v,
                ObjectKind::Pending,
                limits::MAX_PENDING_FILE,
                PendingRecord::validate,
            );
        }
        "policy" => {
            sealed_msgpack(
                v,
                ObjectKind::Policy,
                limits::MAX_POLICY_FILE,
                Policy::validate,
            );
        }
        "drill" => {
            sealed_msgpack(
                v,
                ObjectKind::Drill,
                limits::MAX_DRILL_FILE,
                Drill::validate,
            );
        }
        "gear-table" => gear_table(v),
        "chunking" => chunking_lengths(v),
        "repository" => repository(v),
        other => panic!("unknown structure {other:?}: add a checker to tests/vectors.rs"),
    }
}

#[test]
fn every_vector_decodes_as_expected() {
    let anchors = spec_anchors(&spec_text());
    let files = vector_files();
    assert!(!files.is_empty(), "no vectors under tests/vectors");
    let mut failures = Vec::new();
    for rel in &files {
        let text = std::fs::read_to_string(vectors_dir().join(rel)).expect("read vector");
        let result = std::panic::catch_unwind(|| {
            let t: toml::Table = toml::from_str(&text).expect("vector is TOML");
            let v = Vector { t };
            let structure = v.str("structure");
            assert_eq!(
                rel.parent().and_then(|p| p.to_str()),
                Some(structure),
                "a vector lives in the directory named after its structure"
            );
            let spec = v.str("spec");
            assert!(
                anchors.contains(spec),
                "spec anchor #{spec} is not a SPEC.md heading"
            );
            let expect = v.str("expect");
            assert!(
                expect == "ok" || expect.starts_with("error:"),
                "expect {expect:?}"
            );
            check(&v);
        });
        if let Err(panic) = result {
            let msg = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            failures.push(format!("{}: {msg}", rel.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} vectors failed:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}

#[test]
fn spec_names_every_vector_and_only_existing_ones() {
    let spec = spec_text();
    const PREFIX: &str = "format-spec/tests/vectors/";
    let named: BTreeSet<String> = spec
        .match_indices(PREFIX)
        .map(|(at, _)| {
            spec[at + PREFIX.len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
                .collect::<String>()
        })
        .filter(|p| p.ends_with(".toml"))
        .collect();
    let on_disk: BTreeSet<String> = vector_files()
        .iter()
        .map(|p| p.to_str().expect("UTF-8 path").replace('\\', "/"))
        .collect();
    let missing: Vec<_> = named.difference(&on_disk).collect();
    let unnamed: Vec<_> = on_disk.difference(&named).collect();
    assert!(
        missing.is_empty(),
        "SPEC.md names vectors that do not exist: {missing:?}"
    );
    assert!(
        unnamed.is_empty(),
        "vectors SPEC.md does not name: {unnamed:?}"
    );
}

#[test]
fn spec_has_the_required_anchors() {
    let anchors = spec_anchors(&spec_text());
    for a in [
        "terminology",
        "identifiers",
        "keys",
        "sealed-objects",
        "key-files",
        "config",
        "chunking",
        "blobs",
        "blob-encodings",
        "pack-files",
        "index-files",
        "trees",
        "lists",
        "snapshots",
        "locks",
        "policies",
        "limits",
        "repository-layout",
        "write-order",
        "reading-a-snapshot",
        "test-vectors",
    ] {
        assert!(anchors.contains(a), "SPEC.md has no heading for #{a}");
    }
}
