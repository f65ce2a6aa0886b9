//! Text many findings repeat, held once: a vulnerability's title, description and
//! reference links are the same in every package it affects (and a 100,000-finding scan
//! has a few thousand vulnerabilities), so the model keeps them as [`SharedText`] and the
//! readers share equal strings through a pool while they build one document's findings.
//!
//! The pool is per thread and lives only inside [`pooled`]: a reader calls [`share`]
//! wherever it makes such a string, and outside a pool `share` simply allocates. Sharing
//! changes no output: a shared string reads, compares and serialises as its text.

use std::cell::RefCell;
use std::collections::HashSet;
use std::sync::Arc;

/// A string several findings may hold at once.
pub type SharedText = Arc<str>;

thread_local! {
    static POOL: RefCell<Option<HashSet<SharedText>>> = const { RefCell::new(None) };
}

/// Runs `f` with a pool on this thread: equal strings [`share`]d inside are one
/// allocation. Nested calls share the outer pool; the pool is dropped when the outermost
/// call returns (the strings live on in what holds them).
pub fn pooled<R>(f: impl FnOnce() -> R) -> R {
    let outer = POOL.with(|p| {
        let mut p = p.borrow_mut();
        let had = p.is_some();
        if !had {
            *p = Some(HashSet::new());
        }
        had
    });
    /// Drops the pool when the outermost call ends, also when `f` panics.
    struct Reset(bool);
    impl Drop for Reset {
        fn drop(&mut self) {
            if !self.0 {
                POOL.with(|p| p.borrow_mut().take());
            }
        }
    }
    let _reset = Reset(outer);
    f()
}

/// `s` as shared text: the pool's copy when this thread is inside [`pooled`] and has
/// seen `s`, else a new allocation (kept in the pool when there is one).
pub fn share(s: &str) -> SharedText {
    POOL.with(|p| match p.borrow_mut().as_mut() {
        Some(pool) => match pool.get(s) {
            Some(shared) => shared.clone(),
            None => {
                let shared: SharedText = Arc::from(s);
                pool.insert(shared.clone());
                shared
            }
        },
        None => Arc::from(s),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_strings_are_one_allocation_inside_a_pool_only() {
        let (a, b) = pooled(|| (share("CVE text"), pooled(|| share("CVE text"))));
        assert!(Arc::ptr_eq(&a, &b), "nested pools share the outer one");
        assert_eq!(&*a, "CVE text");
        let (c, d) = (share("CVE text"), share("CVE text"));
        assert!(!Arc::ptr_eq(&c, &d), "no pool outside `pooled`");
        assert!(
            !Arc::ptr_eq(&a, &c),
            "the pool ends with the outermost call"
        );
        assert!(POOL.with(|p| p.borrow().is_none()));
    }

    #[test]
    fn a_panic_inside_ends_the_pool() {
        let r = std::panic::catch_unwind(|| pooled(|| -> () { panic!("reader failed") }));
        assert!(r.is_err());
        assert!(POOL.with(|p| p.borrow().is_none()));
    }
}
