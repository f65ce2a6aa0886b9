//! Bundle path rules, shared by sealing and verification.

use std::collections::HashSet;

/// Longest path accepted in a bundle, in bytes.
pub const MAX_PATH_LEN: usize = 1024;

/// Checks that `path` is a safe, relative, normalised bundle path: non-empty, at most
/// [`MAX_PATH_LEN`] bytes, `/`-separated, no leading `/`, no empty, `.` or `..` component,
/// no backslash, no control characters (so `checksums.sha256` needs no escaping).
/// Returns the reason on failure.
pub fn validate_path(path: &str) -> Result<(), String> {
    if path.is_empty() {
        return Err("empty path".into());
    }
    if path.len() > MAX_PATH_LEN {
        return Err(format!("longer than {MAX_PATH_LEN} bytes"));
    }
    if path.starts_with('/') {
        return Err("absolute path".into());
    }
    if path.contains('\\') {
        return Err("contains a backslash".into());
    }
    if path.chars().any(|c| c.is_control()) {
        return Err("contains a control character".into());
    }
    for component in path.split('/') {
        match component {
            "" => return Err("empty path component (leading, trailing or double '/')".into()),
            "." => return Err("'.' path component".into()),
            ".." => return Err("'..' path component (path traversal)".into()),
            _ => {}
        }
    }
    Ok(())
}

/// Why a path cannot join a [`PathSet`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Conflict {
    /// Same path, or same path ignoring ASCII case (would collide on case-insensitive
    /// file systems).
    Duplicate,
    /// A file where another path needs a directory, or the reverse.
    FileDirectory(String),
}

/// The set of file paths of one bundle, checked for duplicates and file/directory clashes
/// (all comparisons ignore ASCII case).
#[derive(Default)]
pub(crate) struct PathSet {
    files: HashSet<String>,
    dirs: HashSet<String>,
}

impl PathSet {
    pub(crate) fn insert_file(&mut self, path: &str) -> Result<(), Conflict> {
        let key = path.to_ascii_lowercase();
        if self.files.contains(&key) {
            return Err(Conflict::Duplicate);
        }
        if self.dirs.contains(&key) {
            return Err(Conflict::FileDirectory(format!(
                "'{path}' is also a directory of other entries"
            )));
        }
        let ancestors = ancestors(&key);
        for dir in &ancestors {
            if self.files.contains(dir) {
                return Err(Conflict::FileDirectory(format!(
                    "parent '{dir}' of '{path}' is a file"
                )));
            }
        }
        self.dirs.extend(ancestors);
        self.files.insert(key);
        Ok(())
    }

    /// Directory entries (only met when reading a tar): must not clash with a file.
    pub(crate) fn insert_dir(&mut self, path: &str) -> Result<(), Conflict> {
        let key = path.to_ascii_lowercase();
        let mut all = ancestors(&key);
        all.push(key);
        for dir in &all {
            if self.files.contains(dir) {
                return Err(Conflict::FileDirectory(format!(
                    "directory '{dir}' is also a file"
                )));
            }
        }
        self.dirs.extend(all);
        Ok(())
    }
}

fn ancestors(path: &str) -> Vec<String> {
    path.match_indices('/')
        .map(|(i, _)| path[..i].to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_rules() {
        for ok in [
            "report.json",
            "evidence/snapshot.json",
            "a/b/c.txt",
            "sbom-sha256:ab.json",
            "..a",
            "a..b",
        ] {
            assert_eq!(validate_path(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../b",
            "a/..",
            "./a",
            "a/./b",
            "a//b",
            "a/",
            "a\\b",
            "a\nb",
            "a\0b",
        ] {
            assert!(validate_path(bad).is_err(), "{bad:?}");
        }
        assert!(validate_path(&"a".repeat(MAX_PATH_LEN + 1)).is_err());
    }

    #[test]
    fn path_set_conflicts() {
        let mut s = PathSet::default();
        assert!(s.insert_file("evidence/a.json").is_ok());
        assert_eq!(s.insert_file("evidence/a.json"), Err(Conflict::Duplicate));
        assert_eq!(s.insert_file("Evidence/A.json"), Err(Conflict::Duplicate));
        assert!(matches!(
            s.insert_file("evidence"),
            Err(Conflict::FileDirectory(_))
        ));
        assert!(matches!(
            s.insert_file("evidence/a.json/x"),
            Err(Conflict::FileDirectory(_))
        ));
        assert!(s.insert_dir("evidence").is_ok());
        assert!(matches!(
            s.insert_dir("evidence/a.json"),
            Err(Conflict::FileDirectory(_))
        ));
    }
}
