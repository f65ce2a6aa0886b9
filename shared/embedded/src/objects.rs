//! Objects as files under one root directory.
//!
//! The key `a/b/report.pdf` is the file `<root>/a/b/report.pdf`; its media type sits in the
//! sidecar `<root>/a/b/.report.pdf.meta.json`. Writes go to a temporary file in the same
//! directory, are flushed to disk and renamed into place, so a reader sees the old object
//! or the new one, never part of one. Key segments may not start with `.`, which keeps
//! sidecars and temporary files out of the key space.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use ec_domain::PortError;
use ec_domain::keys::{validate_key, validate_media_type, validate_prefix};
use ec_domain::ports::{ObjectMeta, ObjectStore, PortResult, WorkQueue};
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::clock::now_unix;
use crate::presign::{PresignError, sign_presigned, verify_presigned};

const MIN_SECRET_LEN: usize = 16;
const DEFAULT_MEDIA_TYPE: &str = "application/octet-stream";
const TEMP_PREFIX: &str = ".tmp-";
const SIDECAR_SUFFIX: &str = ".meta.json";

#[derive(Serialize, Deserialize)]
struct Sidecar {
    media_type: String,
}

fn io_err(what: &str, path: &Path, e: io::Error) -> PortError {
    PortError::Backend(format!("{what} {}: {e}", path.display()))
}

fn is_missing(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::IsADirectory | io::ErrorKind::NotADirectory
    )
}

fn random_hex() -> String {
    let mut b = [0u8; 12];
    rand::thread_rng().fill_bytes(&mut b);
    hex::encode(b)
}

/// The marker of an object under legal hold, beside it.
fn hold_marker(path: &Path) -> PortResult<PathBuf> {
    let (dir, name, _) = split(path)?;
    Ok(dir.join(format!(".{name}.legal-hold")))
}

/// Directory, file name and sidecar path of an object file.
fn split(path: &Path) -> PortResult<(&Path, &str, PathBuf)> {
    let dir = path
        .parent()
        .ok_or_else(|| PortError::Invalid(format!("no parent for {}", path.display())))?;
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| PortError::Invalid(format!("no file name in {}", path.display())))?;
    let sidecar = dir.join(format!(".{name}{SIDECAR_SUFFIX}"));
    Ok((dir, name, sidecar))
}

/// Writes `bytes` to a new temporary file in `dir`, synced, then places it at `target` with
/// `place` (a rename, or a hard link that refuses an existing name); the temporary name is
/// gone either way.
fn write_via_temp(
    dir: &Path,
    target: &Path,
    bytes: &[u8],
    place: fn(&Path, &Path) -> io::Result<()>,
) -> io::Result<()> {
    let tmp = dir.join(format!("{TEMP_PREFIX}{}", random_hex()));
    let result = (|| -> io::Result<()> {
        let mut f = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        place(&tmp, target)
    })();
    let _ = fs::remove_file(&tmp);
    result
}

/// Writes `bytes` to `target` atomically: temp file in `dir`, fsync, rename.
fn write_atomic(dir: &Path, target: &Path, bytes: &[u8]) -> PortResult<()> {
    write_via_temp(dir, target, bytes, |from, to| fs::rename(from, to))
        .map_err(|e| io_err("cannot write", target, e))
}

/// Removes `path`; one already gone is not an error.
fn remove_if_present(path: &Path, what: &str) -> PortResult<()> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if is_missing(&e) => Ok(()),
        Err(e) => Err(io_err(what, path, e)),
    }
}

fn sync_dir(dir: &Path) -> PortResult<()> {
    #[cfg(unix)]
    {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| io_err("cannot sync directory", dir, e))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

fn read_media_type(sidecar: &Path) -> String {
    match fs::read(sidecar) {
        Ok(raw) => match serde_json::from_slice::<Sidecar>(&raw) {
            Ok(s) if validate_media_type(&s.media_type).is_ok() => s.media_type,
            _ => {
                tracing::warn!(path = %sidecar.display(), "unreadable media type sidecar");
                DEFAULT_MEDIA_TYPE.to_string()
            }
        },
        Err(_) => DEFAULT_MEDIA_TYPE.to_string(),
    }
}

fn head_blocking(path: &Path, key: &str) -> PortResult<Option<ObjectMeta>> {
    let md = match fs::metadata(path) {
        Ok(md) if md.is_file() => md,
        Ok(_) => return Ok(None),
        Err(e) if is_missing(&e) => return Ok(None),
        Err(e) => return Err(io_err("cannot stat", path, e)),
    };
    let (_, _, sidecar) = split(path)?;
    Ok(Some(ObjectMeta {
        key: key.to_string(),
        size: md.len(),
        media_type: read_media_type(&sidecar),
    }))
}

/// Writes `bytes` to `target` only if nothing is there: a temporary file, then a hard link
/// that fails when the name exists (`ConditionFailed`).
fn write_new(dir: &Path, target: &Path, bytes: &[u8]) -> PortResult<()> {
    match write_via_temp(dir, target, bytes, |from, to| fs::hard_link(from, to)) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(PortError::ConditionFailed(
            format!("{} exists", target.display()),
        )),
        Err(e) => Err(io_err("cannot write", target, e)),
    }
}

fn put_blocking(
    root: &Path,
    key: &str,
    body: &[u8],
    media_type: &str,
    only_new: bool,
) -> PortResult<ObjectMeta> {
    let path = root.join(key);
    let (dir, _, sidecar) = split(&path)?;
    let conflict = || {
        PortError::Invalid(format!(
            "object key {key:?} conflicts with an existing object or prefix"
        ))
    };
    // Directories that do not exist yet, deepest first: their entries need syncing too.
    let mut new_dirs = Vec::new();
    let mut d = dir;
    while d != root && !d.exists() {
        new_dirs.push(d.to_path_buf());
        match d.parent() {
            Some(p) => d = p,
            None => break,
        }
    }
    if let Err(e) = fs::create_dir_all(dir) {
        return Err(match e.kind() {
            io::ErrorKind::AlreadyExists | io::ErrorKind::NotADirectory => conflict(),
            _ => io_err("cannot create directory", dir, e),
        });
    }
    if path.is_dir() {
        return Err(conflict());
    }
    if only_new && path.exists() {
        return Err(PortError::ConditionFailed(format!("{key} exists")));
    }
    if hold_marker(&path)?.exists() {
        return Err(PortError::Invalid(format!("{key} is under legal hold")));
    }
    let meta = serde_json::to_vec(&Sidecar {
        media_type: media_type.to_string(),
    })
    .map_err(|e| PortError::Backend(format!("cannot encode sidecar: {e}")))?;
    // The sidecar first: once the data file is in place its media type is too.
    write_atomic(dir, &sidecar, &meta)?;
    if only_new {
        write_new(dir, &path, body)?;
    } else {
        write_atomic(dir, &path, body)?;
    }
    sync_dir(dir)?;
    for d in &new_dirs {
        if let Some(parent) = d.parent() {
            sync_dir(parent)?;
        }
    }
    Ok(ObjectMeta {
        key: key.to_string(),
        size: body.len() as u64,
        media_type: media_type.to_string(),
    })
}

/// The entries of `dir` with their names, as they are read; none when `dir` does not
/// exist, and entries whose names are not UTF-8 are passed over.
fn named_entries(
    dir: &Path,
) -> PortResult<impl Iterator<Item = PortResult<(fs::DirEntry, String)>> + '_> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => Some(e),
        Err(e) if is_missing(&e) => None,
        Err(e) => return Err(io_err("cannot list", dir, e)),
    };
    Ok(entries
        .into_iter()
        .flatten()
        .filter_map(|entry| match entry {
            Ok(entry) => {
                let name = entry.file_name().into_string().ok()?;
                Some(Ok((entry, name)))
            }
            Err(e) => Some(Err(io_err("cannot list", dir, e))),
        }))
}

/// Walks `dir` (whose key prefix is `dir_key`, empty or ending in `/`), collecting objects
/// whose key starts with `prefix`.
fn walk(dir: &Path, dir_key: &str, prefix: &str, out: &mut Vec<ObjectMeta>) -> PortResult<()> {
    for entry in named_entries(dir)? {
        let (entry, name) = entry?;
        if name.starts_with('.') {
            continue; // sidecars, temporary files
        }
        let key = format!("{dir_key}{name}");
        let ft = match entry.file_type() {
            Ok(ft) => ft,
            Err(e) if is_missing(&e) => continue,
            Err(e) => return Err(io_err("cannot stat", &entry.path(), e)),
        };
        if ft.is_dir() {
            let sub = format!("{key}/");
            if sub.starts_with(prefix) || prefix.starts_with(&sub) {
                walk(&entry.path(), &sub, prefix, out)?;
            }
        } else if ft.is_file()
            && key.starts_with(prefix)
            && validate_key(&key).is_ok()
            && let Some(meta) = head_blocking(&entry.path(), &key)?
        {
            out.push(meta);
        }
    }
    Ok(())
}

/// Removes leftover temporary files and sidecars without a data file under `dir`.
fn sweep(dir: &Path, removed: &mut usize) -> PortResult<()> {
    for entry in named_entries(dir)? {
        let (entry, name) = entry?;
        let Ok(ft) = entry.file_type() else {
            continue;
        };
        if ft.is_dir() && !name.starts_with('.') {
            sweep(&entry.path(), removed)?;
        } else if ft.is_file() {
            let orphan_sidecar = name
                .strip_prefix('.')
                .and_then(|n| n.strip_suffix(SIDECAR_SUFFIX))
                .is_some_and(|data| !name.starts_with(TEMP_PREFIX) && !dir.join(data).is_file());
            if (name.starts_with(TEMP_PREFIX) || orphan_sidecar)
                && fs::remove_file(entry.path()).is_ok()
            {
                *removed += 1;
            }
        }
    }
    Ok(())
}

/// [`ObjectStore`] on the local filesystem.
///
/// After each successful `put` of a key under [`REPORTS_PREFIX`] it sends an
/// [`ObjectCreated`] message to [`QueueName::Seal`], as S3 → SQS notifications do on AWS.
/// `presign_get` returns `{base_url}/objects/{key}?expires={unix}&sig={hex}`; the HTTP
/// route checks it with [`FsObjectStore::check_presigned`] and serves
/// [`FsObjectStore::get_with_meta`] (or the file at [`FsObjectStore::object_path`]).
pub struct FsObjectStore {
    root: PathBuf,
    notifications: Arc<dyn WorkQueue>,
    secret: Vec<u8>,
    base_url: RwLock<Option<String>>,
}

impl std::fmt::Debug for FsObjectStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FsObjectStore")
            .field("root", &self.root)
            .field("base_url", &self.base_url())
            .finish_non_exhaustive()
    }
}

impl FsObjectStore {
    /// `put` and `put_new`: the write, then the seal stage's notification for a report.
    async fn put_object(
        &self,
        key: &str,
        body: Bytes,
        media_type: &str,
        only_new: bool,
    ) -> PortResult<ObjectMeta> {
        validate_key(key)?;
        validate_media_type(media_type)?;
        let root = self.root.clone();
        let (k, mt) = (key.to_string(), media_type.to_string());
        let meta = blocking(move || put_blocking(&root, &k, &body, &mt, only_new)).await?;
        ec_domain::messages::notify_if_report(self.notifications.as_ref(), &meta).await?;
        Ok(meta)
    }

    /// A store rooted at `root` (created if missing). `notifications` receives the
    /// report-created messages; `presign_secret` (at least 16 bytes) signs download links.
    pub fn new(
        root: impl Into<PathBuf>,
        notifications: Arc<dyn WorkQueue>,
        presign_secret: Vec<u8>,
    ) -> PortResult<Self> {
        let root = root.into();
        if presign_secret.len() < MIN_SECRET_LEN {
            return Err(PortError::Invalid(format!(
                "presign secret must have at least {MIN_SECRET_LEN} bytes"
            )));
        }
        fs::create_dir_all(&root).map_err(|e| io_err("cannot create", &root, e))?;
        Ok(FsObjectStore {
            root,
            notifications,
            secret: presign_secret,
            base_url: RwLock::new(None),
        })
    }

    /// Sets the base URL of presigned links, e.g. `http://127.0.0.1:8080` (a trailing `/`
    /// is dropped). Call it once the server knows its address; may be called again.
    pub fn set_base_url(&self, url: &str) {
        let url = url.trim_end_matches('/').to_string();
        match self.base_url.write() {
            Ok(mut g) => *g = Some(url),
            Err(poisoned) => *poisoned.into_inner() = Some(url),
        }
    }

    pub fn base_url(&self) -> Option<String> {
        match self.base_url.read() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file holding `key` (which may not exist). `Invalid` for a bad key.
    pub fn object_path(&self, key: &str) -> PortResult<PathBuf> {
        validate_key(key)?;
        Ok(self.root.join(key))
    }

    /// Checks a presigned link for `key` against this store's secret and the current time.
    pub fn check_presigned(&self, key: &str, expires: i64, sig: &str) -> Result<(), PresignError> {
        verify_presigned(&self.secret, key, expires, sig, now_unix())
    }

    /// An object's bytes and metadata (for the download route). `NotFound` when missing.
    pub async fn get_with_meta(&self, key: &str) -> PortResult<(ObjectMeta, Bytes)> {
        let Ok(path) = self.object_path(key) else {
            return Err(PortError::NotFound(key.to_string()));
        };
        let key = key.to_string();
        blocking(move || {
            let body = match fs::read(&path) {
                Ok(b) => b,
                Err(e) if is_missing(&e) => return Err(PortError::NotFound(key)),
                Err(e) => return Err(io_err("cannot read", &path, e)),
            };
            let (_, _, sidecar) = split(&path)?;
            let meta = ObjectMeta {
                key,
                size: body.len() as u64,
                media_type: read_media_type(&sidecar),
            };
            Ok((meta, Bytes::from(body)))
        })
        .await
    }

    /// Removes temporary files and orphaned sidecars left by a crash mid-write; returns
    /// how many. Call at start-up, before anything writes to the store.
    pub async fn sweep_temp_files(&self) -> PortResult<usize> {
        let root = self.root.clone();
        blocking(move || {
            let mut removed = 0;
            sweep(&root, &mut removed)?;
            Ok(removed)
        })
        .await
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> PortResult<T> + Send + 'static,
) -> PortResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| PortError::Backend(format!("filesystem task failed: {e}")))?
}

#[async_trait]
impl ObjectStore for FsObjectStore {
    async fn put(&self, key: &str, body: Bytes, media_type: &str) -> PortResult<ObjectMeta> {
        self.put_object(key, body, media_type, false).await
    }

    async fn put_new(&self, key: &str, body: Bytes, media_type: &str) -> PortResult<ObjectMeta> {
        self.put_object(key, body, media_type, true).await
    }

    async fn delete(&self, key: &str) -> PortResult<()> {
        let path = self.object_path(key)?;
        let key = key.to_string();
        blocking(move || {
            if hold_marker(&path)?.exists() {
                return Err(PortError::Invalid(format!("{key} is under legal hold")));
            }
            let (dir, _, sidecar) = split(&path)?;
            remove_if_present(&path, "cannot delete")?;
            remove_if_present(&sidecar, "cannot delete")?;
            sync_dir(dir)
        })
        .await
    }

    async fn set_legal_hold(&self, key: &str, on: bool) -> PortResult<()> {
        let path = self.object_path(key)?;
        let key = key.to_string();
        blocking(move || {
            if !path.is_file() {
                return Err(PortError::NotFound(key));
            }
            let marker = hold_marker(&path)?;
            let (dir, _, _) = split(&path)?;
            if on {
                write_atomic(dir, &marker, b"")?;
            } else {
                remove_if_present(&marker, "cannot release")?;
            }
            sync_dir(dir)
        })
        .await
    }

    async fn get(&self, key: &str) -> PortResult<Bytes> {
        Ok(self.get_with_meta(key).await?.1)
    }

    async fn head(&self, key: &str) -> PortResult<Option<ObjectMeta>> {
        let Ok(path) = self.object_path(key) else {
            return Ok(None);
        };
        let key = key.to_string();
        blocking(move || head_blocking(&path, &key)).await
    }

    async fn list(&self, prefix: &str) -> PortResult<Vec<ObjectMeta>> {
        validate_prefix(prefix)?;
        let root = self.root.clone();
        let prefix = prefix.to_string();
        blocking(move || {
            // Start in the deepest directory the prefix names in full.
            let dir_key = match prefix.rfind('/') {
                Some(i) => &prefix[..=i],
                None => "",
            };
            let mut out = Vec::new();
            walk(&root.join(dir_key), dir_key, &prefix, &mut out)?;
            out.sort_by(|a, b| a.key.cmp(&b.key));
            Ok(out)
        })
        .await
    }

    async fn presign_get(&self, key: &str, ttl: Duration) -> PortResult<String> {
        validate_key(key)?;
        let base = self
            .base_url()
            .ok_or_else(|| PortError::Unavailable("presign base URL is not set yet".to_string()))?;
        let secs = ttl
            .as_secs()
            .saturating_add(u64::from(ttl.subsec_nanos() > 0));
        let expires = now_unix().saturating_add(i64::try_from(secs).unwrap_or(i64::MAX));
        let sig = sign_presigned(&self.secret, key, expires);
        Ok(format!("{base}/objects/{key}?expires={expires}&sig={sig}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes() {
        for ok in ["", "reports/", "reports", "reports/acme/exp-1/rep", "a.b"] {
            assert!(validate_prefix(ok).is_ok(), "{ok}");
        }
        for bad in ["/", "//", "a//", "/a", "../", "a/.", "a/..", "a b", ".x"] {
            assert!(validate_prefix(bad).is_err(), "{bad}");
        }
    }
}
