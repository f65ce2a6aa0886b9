//! The Merkle root of a bundle: an RFC 6962 (Certificate Transparency) Merkle Tree Hash over
//! the listed files, sorted by path (byte-wise on the UTF-8 path).
//!
//! ```text
//! leaf data  d_i       = utf8(path) || 0x00 || ascii(lowercase hex sha256 of the file)
//! leaf hash            = SHA-256(0x00 || d_i)
//! node hash            = SHA-256(0x01 || left || right)
//! MTH({})              = SHA-256("")                      (no files)
//! MTH({d0})            = SHA-256(0x00 || d0)
//! MTH(D[0..n]), n > 1  = SHA-256(0x01 || MTH(D[0..k]) || MTH(D[k..n]))
//!                        with k the largest power of two strictly less than n
//! ```
//!
//! Paths never contain NUL (see [`crate::validate_path`]), so the leaf encoding is
//! unambiguous. The root is written as lowercase hex.

use sha2::{Digest, Sha256};

/// `SHA-256(0x00 || path || 0x00 || sha256_hex)`.
pub fn leaf_hash(path: &str, sha256_hex: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(path.as_bytes());
    h.update([0x00]);
    h.update(sha256_hex.as_bytes());
    h.finalize().into()
}

fn node_hash(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([0x01]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

fn mth(leaves: &[[u8; 32]]) -> [u8; 32] {
    match leaves.len() {
        0 => Sha256::digest([]).into(),
        1 => leaves[0],
        n => {
            let mut k = 1;
            while k * 2 < n {
                k *= 2;
            }
            node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
        }
    }
}

/// Merkle root of `(path, sha256_hex)` pairs. The pairs are sorted by path here, so the
/// caller's order does not matter.
pub fn merkle_root<'a>(files: impl IntoIterator<Item = (&'a str, &'a str)>) -> [u8; 32] {
    let mut files: Vec<(&str, &str)> = files.into_iter().collect();
    files.sort();
    let leaves: Vec<[u8; 32]> = files.iter().map(|(p, h)| leaf_hash(p, h)).collect();
    mth(&leaves)
}

/// [`merkle_root`] as lowercase hex.
pub fn merkle_root_hex<'a>(files: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    hex::encode(merkle_root(files))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_single() {
        assert_eq!(
            merkle_root_hex([]),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(merkle_root([("a", "00")]), leaf_hash("a", "00"));
    }

    #[test]
    fn rfc6962_shape() {
        let l = |p: &str| leaf_hash(p, "ff");
        // n = 3: k = 2 -> node(node(a, b), c)
        let three = merkle_root([("c", "ff"), ("a", "ff"), ("b", "ff")]);
        assert_eq!(three, node_hash(&node_hash(&l("a"), &l("b")), &l("c")));
        // n = 5: k = 4 -> node(node(node(a,b), node(c,d)), e)
        let five = merkle_root([
            ("a", "ff"),
            ("b", "ff"),
            ("c", "ff"),
            ("d", "ff"),
            ("e", "ff"),
        ]);
        let left = node_hash(&node_hash(&l("a"), &l("b")), &node_hash(&l("c"), &l("d")));
        assert_eq!(five, node_hash(&left, &l("e")));
    }
}
