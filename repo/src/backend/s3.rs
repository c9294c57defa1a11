//! The S3 backend: SPEC.md § [Repository layout](../../SPEC.md#repository-layout) (§ On
//! object storage), through the `object_store` crate.
//!
//! A repository at `s3://bucket/prefix` keeps the local layout under the prefix
//! (`prefix/config`, `prefix/data/ab/ab…`, `prefix/index/…`), so a mirror made with rclone
//! or `aws s3 sync` opens as a local repository and back.
//!
//! - Every PUT carries `x-amz-checksum-sha256` and a signed payload hash, so the server
//!   refuses a body damaged on the way; the ETag it returns is checked against the MD5 of
//!   what was sent (for multipart uploads, the MD5 of the parts' MD5s), and an object whose
//!   ETag differs is read back and compared before the write counts.
//! - Files are written once: a name that exists is not written again (`config` excepted).
//!   Since every other name is the hash of the content, retrying a PUT is idempotent; 5xx,
//!   429, timeouts and resets are retried with exponential backoff.
//! - A LIST that fails on any page is an error, never a shorter list.
//! - Files larger than [`S3Options::multipart_threshold`] go up in parts, in parallel.
//! - At most [`S3Options::max_in_flight`] requests are in flight per process.

use super::{aws_profile, check_name, Backend, FileType, Traffic};
use bytes::Bytes;
use futures::TryStreamExt;
use md5::{Digest, Md5};
use object_store::aws::{AmazonS3, AmazonS3Builder, Checksum};
use object_store::path::Path;
use object_store::{
    BackoffConfig, ClientOptions, ObjectStore, ObjectStoreExt, PutPayload, RetryConfig,
};
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

/// Tunables of the S3 backend; [`Default`] is what the command line uses.
#[derive(Clone, Debug)]
pub struct S3Options {
    /// Endpoint URL (`http://127.0.0.1:8333`); `None` for AWS itself.
    pub endpoint: Option<String>,
    /// Files larger than this go up as a multipart upload.
    pub multipart_threshold: usize,
    /// Size of each part but the last.
    pub part_size: usize,
    /// Requests in flight at once (parts of one upload count one each).
    pub max_in_flight: usize,
    /// Retries of one request before it fails.
    pub max_retries: usize,
}

impl Default for S3Options {
    fn default() -> Self {
        Self {
            endpoint: None,
            multipart_threshold: 32 << 20,
            part_size: 16 << 20,
            max_in_flight: 16,
            max_retries: 10,
        }
    }
}

/// A repository under `s3://bucket/prefix`.
pub struct S3Backend {
    bucket: String,
    prefix: String,
    store: AmazonS3,
    rt: tokio::runtime::Runtime,
    permits: tokio::sync::Semaphore,
    opts: S3Options,
    requests: AtomicU64,
    bytes_down: AtomicU64,
    bytes_up: AtomicU64,
}

/// Splits `s3://bucket/prefix` into bucket and prefix (without slashes at either end).
pub fn parse_location(loc: &str) -> io::Result<(String, String)> {
    let rest = loc
        .strip_prefix("s3://")
        .ok_or_else(|| bad_location(loc, "it does not start with s3://"))?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let ok_bucket = (3..=63).contains(&bucket.len())
        && bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
    if !ok_bucket {
        return Err(bad_location(
            loc,
            "the bucket name is not a valid S3 bucket name",
        ));
    }
    let prefix = prefix.trim_matches('/');
    if prefix.split('/').any(|p| p == "." || p == "..") || prefix.contains("//") {
        return Err(bad_location(
            loc,
            "the prefix has an empty, . or .. segment",
        ));
    }
    Ok((bucket.to_string(), prefix.to_string()))
}

fn bad_location(loc: &str, why: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("invalid S3 location {loc:?}: {why}"),
    )
}

impl S3Backend {
    /// A backend for `s3://bucket/prefix`. Credentials and region come from the `AWS_*`
    /// variables, else from the AWS profile files ([`aws_profile`]), else instance metadata.
    pub fn new(loc: &str, opts: S3Options) -> io::Result<Self> {
        let (bucket, prefix) = parse_location(loc)?;
        let mut b = AmazonS3Builder::from_env()
            .with_bucket_name(&bucket)
            .with_checksum_algorithm(Checksum::SHA256)
            .with_retry(RetryConfig {
                backoff: BackoffConfig {
                    init_backoff: Duration::from_millis(100),
                    max_backoff: Duration::from_secs(5),
                    base: 2.0,
                },
                max_retries: opts.max_retries,
                retry_timeout: Duration::from_secs(120),
            })
            .with_client_options(
                ClientOptions::new()
                    .with_connect_timeout(Duration::from_secs(10))
                    .with_timeout(Duration::from_secs(300))
                    .with_pool_max_idle_per_host(opts.max_in_flight),
            );
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let profile = aws_profile::load();
        if env("AWS_ACCESS_KEY_ID").is_none() {
            if let (Some(id), Some(secret)) = (&profile.access_key_id, &profile.secret_access_key) {
                b = b.with_access_key_id(id).with_secret_access_key(secret);
                if let Some(t) = &profile.session_token {
                    b = b.with_token(t);
                }
            }
        }
        let region = env("AWS_REGION")
            .or_else(|| env("AWS_DEFAULT_REGION"))
            .or(profile.region)
            .unwrap_or_else(|| "us-east-1".into());
        b = b.with_region(region);
        if let Some(ep) = &opts.endpoint {
            b = b
                .with_endpoint(ep.trim_end_matches('/'))
                .with_allow_http(ep.starts_with("http://"));
        }
        let store = b.build().map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("S3 repository {loc}: {e}"),
            )
        })?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("strata-s3")
            .enable_all()
            .build()?;
        Ok(Self {
            bucket,
            prefix,
            store,
            rt,
            permits: tokio::sync::Semaphore::new(opts.max_in_flight.max(1)),
            opts,
            requests: AtomicU64::new(0),
            bytes_down: AtomicU64::new(0),
            bytes_up: AtomicU64::new(0),
        })
    }

    /// The object key of a repository file.
    fn key(&self, t: FileType, name: &str) -> io::Result<Path> {
        check_name(name)?;
        let rel = match t {
            FileType::Config => "config".to_string(),
            FileType::Pack => format!("data/{}/{name}", name.get(..2).unwrap_or_default()),
            _ => format!("{}/{name}", t.dir()),
        };
        Ok(Path::from(self.join(&rel)))
    }

    fn join(&self, rel: &str) -> String {
        if self.prefix.is_empty() {
            rel.to_string()
        } else {
            format!("{}/{rel}", self.prefix)
        }
    }

    /// Runs one request under the in-flight bound, counting it.
    fn run<T>(
        &self,
        f: impl std::future::Future<Output = object_store::Result<T>>,
    ) -> io::Result<T> {
        self.rt.block_on(async {
            let _permit = self.permits.acquire().await.map_err(io::Error::other)?;
            self.requests.fetch_add(1, Ordering::Relaxed);
            f.await.map_err(|e| self.error(e))
        })
    }

    fn error(&self, e: object_store::Error) -> io::Error {
        let kind = match &e {
            object_store::Error::NotFound { .. } => io::ErrorKind::NotFound,
            object_store::Error::PermissionDenied { .. }
            | object_store::Error::Unauthenticated { .. } => io::ErrorKind::PermissionDenied,
            _ => io::ErrorKind::Other,
        };
        io::Error::new(kind, format!("{}: {e}", self.location()))
    }

    fn head_size(&self, key: &Path) -> io::Result<Option<u64>> {
        match self.run(self.store.head(key)) {
            Ok(meta) => Ok(Some(meta.size)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// One PUT of the whole file; returns the ETag the server gave and the one expected.
    fn put_single(&self, key: &Path, parts: &[&[u8]]) -> io::Result<(Option<String>, String)> {
        let chunks: Vec<Bytes> = parts.iter().map(|p| Bytes::copy_from_slice(p)).collect();
        let mut md5 = Md5::new();
        for c in &chunks {
            md5.update(c);
        }
        let expected = hex::encode(md5.finalize());
        let payload: PutPayload = chunks.into_iter().collect();
        let r = self.run(self.store.put(key, payload))?;
        Ok((r.e_tag, expected))
    }

    /// A multipart upload in parts of [`S3Options::part_size`], several at once; aborted
    /// if any part fails, so no partial object appears.
    fn put_multipart(&self, key: &Path, bytes: Bytes) -> io::Result<(Option<String>, String)> {
        let size = self.opts.part_size.max(5 << 20);
        let pieces: Vec<Bytes> = (0..bytes.len())
            .step_by(size)
            .map(|o| bytes.slice(o..(o + size).min(bytes.len())))
            .collect();
        let mut all = Md5::new();
        for p in &pieces {
            all.update(Md5::digest(p));
        }
        let expected = format!("{}-{}", hex::encode(all.finalize()), pieces.len());
        let mut upload = self.run(self.store.put_multipart(key))?;
        let result = self.rt.block_on(async {
            let sends = pieces.into_iter().map(|p| {
                let part = upload.put_part(PutPayload::from(p));
                async {
                    let _permit = self.permits.acquire().await.map_err(io::Error::other)?;
                    self.requests.fetch_add(1, Ordering::Relaxed);
                    part.await.map_err(|e| self.error(e))
                }
            });
            let sent: Vec<io::Result<()>> = futures::future::join_all(sends).await;
            sent.into_iter().collect::<io::Result<Vec<()>>>()
        });
        match result {
            Ok(_) => {
                let r = self.run(upload.complete())?;
                Ok((r.e_tag, expected))
            }
            Err(e) => {
                let _ = self.run(upload.abort());
                Err(e)
            }
        }
    }

    /// Checks a written object: by ETag where the server gives an MD5-style one that
    /// matches, else by reading it back. A mismatch deletes the object and fails the write.
    fn verify_put(
        &self,
        key: &Path,
        etag: Option<String>,
        expected: &str,
        parts: &[&[u8]],
    ) -> io::Result<()> {
        let etag = etag.unwrap_or_default();
        if etag.trim_matches('"').eq_ignore_ascii_case(expected) {
            return Ok(());
        }
        let back = self.rt.block_on(async {
            let _permit = self.permits.acquire().await.map_err(io::Error::other)?;
            self.requests.fetch_add(1, Ordering::Relaxed);
            let r = self.store.get(key).await.map_err(|e| self.error(e))?;
            r.bytes().await.map_err(|e| self.error(e))
        })?;
        self.bytes_down
            .fetch_add(back.len() as u64, Ordering::Relaxed);
        let mut h = blake3::Hasher::new();
        for p in parts {
            h.update(p);
        }
        if blake3::hash(&back) == h.finalize() {
            return Ok(());
        }
        let _ = self.run(self.store.delete(key));
        Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "{}: the object {key} read back differs from what was written; it was deleted",
                self.location()
            ),
        ))
    }
}

impl Backend for S3Backend {
    fn location(&self) -> String {
        if self.prefix.is_empty() {
            format!("s3://{}", self.bucket)
        } else {
            format!("s3://{}/{}", self.bucket, self.prefix)
        }
    }

    /// Object stores have no directories; this checks that the bucket answers.
    fn create(&self) -> io::Result<()> {
        let prefix = Path::from(self.prefix.as_str());
        self.run(self.store.list_with_delimiter(Some(&prefix)))
            .map(|_| ())
    }

    fn write(&self, t: FileType, name: &str, bytes: &[u8]) -> io::Result<()> {
        self.write_parts(t, name, &[bytes])
    }

    fn write_parts(&self, t: FileType, name: &str, parts: &[&[u8]]) -> io::Result<()> {
        let key = self.key(t, name)?;
        crate::failpoint::hit(&crate::failpoint::name("write", t))?;
        if t != FileType::Config && self.head_size(&key)?.is_some() {
            return Ok(());
        }
        let len: usize = parts.iter().map(|p| p.len()).sum();
        let (etag, expected) = if len > self.opts.multipart_threshold {
            self.put_multipart(&key, Bytes::from(parts.concat()))?
        } else {
            self.put_single(&key, parts)?
        };
        self.bytes_up.fetch_add(len as u64, Ordering::Relaxed);
        self.verify_put(&key, etag, &expected, parts)
    }

    fn read(&self, t: FileType, name: &str, max: u64) -> io::Result<Vec<u8>> {
        let key = self.key(t, name)?;
        let bytes = self.rt.block_on(async {
            let _permit = self.permits.acquire().await.map_err(io::Error::other)?;
            self.requests.fetch_add(1, Ordering::Relaxed);
            let r = self.store.get(&key).await.map_err(|e| self.error(e))?;
            if r.meta.size > max {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{} bytes exceeds the limit of {max}", r.meta.size),
                ));
            }
            r.bytes().await.map_err(|e| self.error(e))
        })?;
        self.bytes_down
            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
        if bytes.len() as u64 > max {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("grew past the limit of {max}"),
            ));
        }
        Ok(bytes.to_vec())
    }

    fn read_range_into(
        &self,
        t: FileType,
        name: &str,
        offset: u64,
        len: usize,
        out: &mut Vec<u8>,
    ) -> io::Result<()> {
        let key = self.key(t, name)?;
        let eof = |got: String| {
            io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("range {offset}+{len} past the end of {name} ({got})"),
            )
        };
        let end = offset
            .checked_add(len as u64)
            .ok_or_else(|| eof("overflow".into()))?;
        out.clear();
        if len == 0 {
            return Ok(());
        }
        let got = match self.run(self.store.get_range(&key, offset..end)) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(e),
            // A range past the end is refused (416) or cut short, as the server chooses.
            Err(e) if e.to_string().contains("416") || e.to_string().contains("range") => {
                return Err(eof(e.to_string()))
            }
            Err(e) => return Err(e),
        };
        self.bytes_down
            .fetch_add(got.len() as u64, Ordering::Relaxed);
        if got.len() != len {
            return Err(eof(format!("{} bytes returned", got.len())));
        }
        out.extend_from_slice(&got);
        Ok(())
    }

    fn size(&self, t: FileType, name: &str) -> io::Result<u64> {
        let key = self.key(t, name)?;
        self.head_size(&key)?.ok_or_else(|| {
            io::Error::new(io::ErrorKind::NotFound, format!("{key}: no such object"))
        })
    }

    fn list(&self, t: FileType) -> io::Result<Vec<(String, u64)>> {
        crate::failpoint::hit(&crate::failpoint::name("list", t))?;
        if t == FileType::Config {
            return Ok(vec![]);
        }
        let dir = self.join(t.dir());
        let prefix = Path::from(dir.as_str());
        let metas = self.rt.block_on(async {
            let _permit = self.permits.acquire().await.map_err(io::Error::other)?;
            self.requests.fetch_add(1, Ordering::Relaxed);
            // Every page must arrive: an error on any one fails the whole listing.
            self.store
                .list(Some(&prefix))
                .try_collect::<Vec<_>>()
                .await
                .map_err(|e| self.error(e))
        })?;
        let mut out = Vec::new();
        for m in metas {
            let key = m.location.as_ref();
            let Some(rel) = key
                .strip_prefix(dir.as_str())
                .and_then(|r| r.strip_prefix('/'))
            else {
                continue;
            };
            let name = match (t, rel.split_once('/')) {
                (FileType::Pack, Some((sub, name))) if name.starts_with(sub) && sub.len() == 2 => {
                    name
                }
                (FileType::Pack, _) => continue,
                (_, None) => rel,
                (_, Some(_)) => continue,
            };
            // Only content names (64 lower-case hex) are repository files.
            if name.len() == 64 && name.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
                out.push((name.to_string(), m.size));
            }
        }
        out.sort();
        Ok(out)
    }

    fn remove(&self, t: FileType, name: &str) -> io::Result<()> {
        let key = self.key(t, name)?;
        crate::failpoint::hit(&crate::failpoint::name("remove", t))?;
        // S3 deletes of an absent key succeed; the local backend says NotFound, and so
        // must this one, for callers that count what they removed.
        if self.head_size(&key)?.is_none() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("{key}: no such object"),
            ));
        }
        self.run(self.store.delete(&key))
    }

    fn exists(&self, t: FileType, name: &str) -> io::Result<bool> {
        Ok(self.head_size(&self.key(t, name)?)?.is_some())
    }

    fn modified(&self, t: FileType, name: &str) -> io::Result<SystemTime> {
        let key = self.key(t, name)?;
        let meta = self.run(self.store.head(&key))?;
        Ok(meta.last_modified.into())
    }

    fn traffic(&self) -> Option<Traffic> {
        Some(Traffic {
            requests: self.requests.load(Ordering::Relaxed),
            bytes_down: self.bytes_down.load(Ordering::Relaxed),
            bytes_up: self.bytes_up.load(Ordering::Relaxed),
        })
    }
}
