//! The data directory of an embedded ExportCenter: database, objects, secrets, and a lock
//! so that only one process uses it at a time.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use rand::RngCore;

const LOCK_FILE: &str = "LOCK";
const DB_FILE: &str = "exportcenter.db";
const OBJECTS_DIR: &str = "objects";
const SECRET_LEN: usize = 32;
const MIN_SECRET_LEN: usize = 16;

#[derive(Debug, thiserror::Error)]
pub enum DataDirError {
    #[error("data directory {path} is in use by another process{}", holder.map(|p| format!(" (pid {p})")).unwrap_or_default())]
    Locked { path: PathBuf, holder: Option<u32> },
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("secret file {path} is unusable: {reason}")]
    BadSecret { path: PathBuf, reason: String },
    #[error("invalid secret name {0:?}")]
    BadSecretName(String),
}

fn io_err(what: &'static str, path: &Path) -> impl FnOnce(io::Error) -> DataDirError {
    let path = path.to_path_buf();
    move |source| DataDirError::Io { what, path, source }
}

/// An open, exclusively locked data directory. The lock (an advisory lock on `<dir>/LOCK`)
/// is held until this value is dropped; a second `open` of the same directory, from this
/// process or another, fails with [`DataDirError::Locked`].
#[derive(Debug)]
pub struct DataDir {
    root: PathBuf,
    _lock: File,
}

impl DataDir {
    /// Creates `path` (and its `objects/` directory) if needed and locks it.
    pub fn open(path: impl AsRef<Path>) -> Result<DataDir, DataDirError> {
        let root = path.as_ref().to_path_buf();
        fs::create_dir_all(&root).map_err(io_err("cannot create data directory", &root))?;
        let lock_path = root.join(LOCK_FILE);
        let mut lock = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(io_err("cannot open lock file", &lock_path))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                let mut s = String::new();
                let holder = lock
                    .read_to_string(&mut s)
                    .ok()
                    .and_then(|_| s.trim().parse().ok());
                return Err(DataDirError::Locked { path: root, holder });
            }
            Err(fs::TryLockError::Error(e)) => {
                return Err(io_err("cannot lock", &lock_path)(e));
            }
        }
        // Record the holder, for the error message of whoever comes next.
        let pid = format!("{}\n", std::process::id());
        lock.set_len(0)
            .and_then(|_| lock.seek(SeekFrom::Start(0)))
            .and_then(|_| lock.write_all(pid.as_bytes()))
            .map_err(io_err("cannot write lock file", &lock_path))?;
        let objects = root.join(OBJECTS_DIR);
        fs::create_dir_all(&objects).map_err(io_err("cannot create", &objects))?;
        Ok(DataDir { root, _lock: lock })
    }

    pub fn path(&self) -> &Path {
        &self.root
    }

    /// The SQLite database file.
    pub fn db(&self) -> PathBuf {
        self.root.join(DB_FILE)
    }

    /// The root of the object store.
    pub fn objects(&self) -> PathBuf {
        self.root.join(OBJECTS_DIR)
    }

    /// The secret in `<dir>/<name>` (hex), created as 32 random bytes with mode 0600 if
    /// the file does not exist. `name` is a plain file name (`[A-Za-z0-9._-]`, not
    /// starting with `.`).
    pub fn load_or_create_secret(&self, name: &str) -> Result<Vec<u8>, DataDirError> {
        let valid = !name.is_empty()
            && !name.starts_with('.')
            && name != LOCK_FILE
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if !valid {
            return Err(DataDirError::BadSecretName(name.to_string()));
        }
        let path = self.root.join(name);
        match read_secret(&path) {
            Err(DataDirError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {}
            other => return other,
        }
        let mut secret = vec![0u8; SECRET_LEN];
        rand::thread_rng().fill_bytes(&mut secret);
        let mut opts = OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        match opts.open(&path) {
            Ok(mut f) => {
                f.write_all(format!("{}\n", hex::encode(&secret)).as_bytes())
                    .and_then(|_| f.sync_all())
                    .map_err(io_err("cannot write secret", &path))?;
                File::open(&self.root)
                    .and_then(|d| d.sync_all())
                    .map_err(io_err("cannot sync", &self.root))?;
                Ok(secret)
            }
            // Someone created it between our read and our create: use theirs.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => read_secret(&path),
            Err(e) => Err(io_err("cannot create secret", &path)(e)),
        }
    }
}

fn read_secret(path: &Path) -> Result<Vec<u8>, DataDirError> {
    let text = fs::read_to_string(path).map_err(io_err("cannot read secret", path))?;
    let bad = |reason: &str| DataDirError::BadSecret {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    };
    let secret = hex::decode(text.trim()).map_err(|_| bad("not hex"))?;
    if secret.len() < MIN_SECRET_LEN {
        return Err(bad("shorter than 16 bytes"));
    }
    Ok(secret)
}
