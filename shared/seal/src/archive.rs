//! Reading a sealed bundle's archive for verification, within limits: gzip'd tar, at most
//! [`MAX_ENTRIES`] entries and [`MAX_TOTAL_BYTES`] of files (the decompressed stream is cut
//! off beyond that), only regular files at safe, unique paths; every file hashed as it
//! streams by, and only the control files and the public key kept in memory.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::io::Read;
use std::rc::Rc;

use sha2::{Digest, Sha256};

use crate::VerifyError;
use crate::paths::{Conflict, PathSet, validate_path};

/// Most uncompressed file bytes a bundle may hold (2 GiB).
pub const MAX_TOTAL_BYTES: u64 = 2 << 30;
/// Most tar entries a bundle may hold.
pub const MAX_ENTRIES: usize = 100_000;
/// Control files and the public key are read into memory: at most this big each.
const MAX_KEPT_BYTES: u64 = 64 << 20;
/// Decompressed stream cap: file bytes plus room for tar headers and padding.
const MAX_STREAM_BYTES: u64 = MAX_TOTAL_BYTES + (MAX_ENTRIES as u64) * 2048 + (1 << 20);

pub(crate) struct EntryInfo {
    pub(crate) sha256: String,
    pub(crate) size: u64,
    /// Kept for the control files and the public key only.
    pub(crate) bytes: Option<Vec<u8>>,
}

/// A reader that fails once more than `limit` bytes went through it.
struct Limited<R> {
    inner: R,
    left: u64,
    tripped: Rc<Cell<bool>>,
}

impl<R: Read> Read for Limited<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n as u64 > self.left {
            self.tripped.set(true);
            return Err(std::io::Error::other("decompressed size limit exceeded"));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

pub(crate) fn read_entries(bundle: &[u8]) -> Result<BTreeMap<String, EntryInfo>, VerifyError> {
    let tripped = Rc::new(Cell::new(false));
    let reader = Limited {
        inner: flate2::read::GzDecoder::new(bundle),
        left: MAX_STREAM_BYTES,
        tripped: tripped.clone(),
    };
    let io_err = |e: std::io::Error| {
        if tripped.get() {
            VerifyError::TooLarge {
                reason: format!("more than {MAX_STREAM_BYTES} bytes decompressed"),
            }
        } else {
            VerifyError::CorruptArchive {
                reason: e.to_string(),
            }
        }
    };
    let mut archive = tar::Archive::new(reader);
    let mut out = BTreeMap::new();
    let mut paths = PathSet::default();
    let mut total: u64 = 0;
    let mut count: usize = 0;
    for entry in archive.entries().map_err(io_err)? {
        let mut entry = entry.map_err(io_err)?;
        count += 1;
        if count > MAX_ENTRIES {
            return Err(VerifyError::TooLarge {
                reason: format!("more than {MAX_ENTRIES} entries"),
            });
        }
        let raw = entry.path_bytes().into_owned();
        let path = String::from_utf8(raw).map_err(|e| VerifyError::UnsafeEntry {
            path: String::from_utf8_lossy(e.as_bytes()).into_owned(),
            reason: "path is not UTF-8".into(),
        })?;
        let unsafe_entry = |reason: String| VerifyError::UnsafeEntry {
            path: path.clone(),
            reason,
        };
        let kind = entry.header().entry_type();
        let is_dir = match kind {
            tar::EntryType::Regular => false,
            tar::EntryType::Directory => true,
            tar::EntryType::Symlink => return Err(unsafe_entry("symbolic link".into())),
            tar::EntryType::Link => return Err(unsafe_entry("hard link".into())),
            other => {
                return Err(unsafe_entry(format!(
                    "unsupported entry type {:?}",
                    other.as_byte() as char
                )));
            }
        };
        let clean = if is_dir {
            path.strip_suffix('/').unwrap_or(&path)
        } else {
            &path
        };
        validate_path(clean).map_err(unsafe_entry)?;
        let inserted = if is_dir {
            paths.insert_dir(clean)
        } else {
            paths.insert_file(clean)
        };
        match inserted {
            Ok(()) => {}
            Err(Conflict::Duplicate) => return Err(VerifyError::DuplicateEntry { path }),
            Err(Conflict::FileDirectory(reason)) => return Err(unsafe_entry(reason)),
        }
        if is_dir {
            continue;
        }

        let declared = entry.size();
        total = total.saturating_add(declared);
        if total > MAX_TOTAL_BYTES {
            return Err(VerifyError::TooLarge {
                reason: format!("more than {MAX_TOTAL_BYTES} bytes of files"),
            });
        }
        let keep = (crate::CONTROL_PATHS.contains(&path.as_str())
            || path == crate::PUBLIC_KEY_PATH)
            && declared <= MAX_KEPT_BYTES;
        let mut kept = keep.then(Vec::new);
        let mut hasher = Sha256::new();
        let mut size: u64 = 0;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = entry.read(&mut buf).map_err(io_err)?;
            if n == 0 {
                break;
            }
            let chunk = &buf[..n];
            hasher.update(chunk);
            size += n as u64;
            if let Some(k) = kept.as_mut() {
                k.extend_from_slice(chunk);
            }
        }
        if size != declared {
            return Err(VerifyError::CorruptArchive {
                reason: format!("{path}: truncated entry ({size} of {declared} bytes)"),
            });
        }
        out.insert(
            path,
            EntryInfo {
                sha256: hex::encode(hasher.finalize()),
                size,
                bytes: kept,
            },
        );
    }
    Ok(out)
}

pub(crate) fn kept<'a>(
    entries: &'a BTreeMap<String, EntryInfo>,
    path: &str,
) -> Result<&'a [u8], VerifyError> {
    match entries.get(path) {
        None => Err(VerifyError::MissingFile { path: path.into() }),
        Some(EntryInfo { bytes: Some(b), .. }) => Ok(b),
        Some(EntryInfo { size, .. }) => Err(VerifyError::Malformed {
            path: path.into(),
            reason: format!("{size} bytes is larger than the {MAX_KEPT_BYTES}-byte limit"),
        }),
    }
}
