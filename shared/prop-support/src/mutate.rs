//! Hostile variations of real JSON documents, for the property tests.
//!
//! A [`Mutant`] is a seed document (a real scanner report, a contract example request)
//! with one to four structural [`Mutation`]s applied to its tree — a node replaced by
//! another JSON type, a huge number (`1e308`, `-1`, `u64::MAX + 1`, a thousand digits), a
//! huge string, 10,000 levels of nesting, a lone surrogate `"\ud800"`, a string holding
//! invalid UTF-8, a copy of another node; a key given twice or renamed to one of those — and
//! then, sometimes, one [`ByteMutation`] of the written text: cut at any byte, invalid UTF-8
//! inserted, a byte overwritten, the whole document nested deeply.
//!
//! Replacements are raw text, so they can be what no `serde_json::Value` can hold (a
//! number out of range, a surrogate, a duplicate key, broken UTF-8): a node is first
//! replaced by a unique marker string, the tree is written, and the marker's text is then
//! swapped for the raw bytes. Nodes are chosen by [`Pick`] in pre-order, so proptest
//! shrinks a failure to the fewest, earliest mutations.

use std::fmt;
use std::sync::Arc;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::Value;

mod values;
use values::*;
pub use values::{deep, json_string, raw_value};

/// A choice among `size` things (a node, a key, a byte offset): a fraction of the range,
/// so it shrinks towards the first and stays valid while the document changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pick(pub u64);

impl Pick {
    /// The chosen position in `0..size` (`size` > 0).
    pub fn index(&self, size: usize) -> usize {
        ((size as u128 * u128::from(self.0)) >> 64) as usize
    }

    /// The pick of position `i` of `n`.
    pub fn of(i: usize, n: usize) -> Pick {
        Pick((((i as u128) << 64) / n as u128 + 1) as u64)
    }
}

fn pick() -> impl Strategy<Value = Pick> {
    any::<u64>().prop_map(Pick)
}

/// A document to start from, by name (shown in failures).
#[derive(Debug, Clone)]
pub struct Seed {
    pub name: String,
    pub doc: Value,
}

impl Seed {
    /// A seed from JSON bytes (a fixture); seeds are ours, so bad JSON is a test bug.
    pub fn parse(name: impl Into<String>, bytes: &[u8]) -> Seed {
        let name = name.into();
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let doc = serde_json::from_slice(bytes)
            .unwrap_or_else(|e| panic!("seed {name} is not JSON: {e}"));
        Seed { name, doc }
    }

    pub fn new(name: impl Into<String>, doc: Value) -> Seed {
        Seed {
            name: name.into(),
            doc,
        }
    }
}

/// Raw bytes: JSON text, or not (a fragment may be invalid on purpose). Debug shows the
/// start only; a failure report writes the final document in full.
#[derive(Clone, PartialEq, Eq)]
pub struct Raw(pub Vec<u8>);

impl fmt::Debug for Raw {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let head: Vec<u8> = self.0.iter().take(120).copied().collect();
        write!(f, "b\"{}\"", head.escape_ascii())?;
        if self.0.len() > head.len() {
            write!(f, "… ({} bytes)", self.0.len())?;
        }
        Ok(())
    }
}

/// What replaces a node (or fills a duplicated key).
#[derive(Debug, Clone)]
pub enum Fragment {
    /// Raw text from [`raw_value`].
    Raw(Raw),
    /// A copy of another node of the same document (type confusion with realistic data).
    CopyOf(Pick),
    /// The node itself, when it is a string, edited; no change otherwise.
    Edit(Vec<StrEdit>),
}

/// One edit of a string's characters.
#[derive(Debug, Clone)]
pub enum StrEdit {
    Insert(Pick, String),
    Remove(Pick, usize),
    Cut(Pick),
    Repeat(usize),
}

/// One change of the tree.
#[derive(Debug, Clone)]
pub enum Mutation {
    /// The chosen node (pre-order, any node, the root included) becomes the fragment.
    Replace { node: Pick, with: Fragment },
    /// The chosen object gets one of its keys a second time, with the fragment as value.
    DuplicateKey {
        object: Pick,
        key: Pick,
        with: Fragment,
    },
    /// The chosen object's key is renamed to raw text (a surrogate, invalid UTF-8, …).
    RenameKey { object: Pick, key: Pick, to: Raw },
}

/// One change of the written text.
#[derive(Debug, Clone)]
pub enum ByteMutation {
    Keep,
    /// Cut at a byte offset (maybe inside a UTF-8 sequence).
    Truncate(Pick),
    Insert(Pick, Raw),
    Overwrite(Pick, u8),
    /// The whole document inside this many arrays.
    Nest(usize),
}

/// A generated input: where it came from and its bytes.
#[derive(Clone)]
pub struct Mutant {
    pub seed: String,
    pub mutations: Vec<Mutation>,
    pub byte_mutation: ByteMutation,
    pub bytes: Vec<u8>,
}

impl fmt::Debug for Mutant {
    /// `{:?}`: the recipe and the start of the bytes; `{:#?}`: the bytes in full.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "seed: {}", self.seed)?;
        writeln!(f, "mutations: {:?}", self.mutations)?;
        writeln!(f, "byte mutation: {:?}", self.byte_mutation)?;
        let shown = if f.alternate() {
            &self.bytes[..]
        } else {
            &self.bytes[..self.bytes.len().min(600)]
        };
        write!(
            f,
            "bytes ({}): b\"{}\"",
            self.bytes.len(),
            shown.escape_ascii()
        )
    }
}

/// Mutants of `seeds` (chosen evenly): 1 to 4 tree mutations, then at most one byte
/// mutation.
pub fn mutants(seeds: Vec<Seed>) -> impl Strategy<Value = Mutant> {
    assert!(!seeds.is_empty(), "no seeds");
    let seeds = Arc::new(seeds);
    (pick(), vec(mutation(), 1..=4), byte_mutation()).prop_map(
        move |(seed, mutations, byte_mutation)| {
            let seed = &seeds[seed.index(seeds.len())];
            let bytes = apply(seed, &mutations, &byte_mutation);
            Mutant {
                seed: seed.name.clone(),
                mutations,
                byte_mutation,
                bytes,
            }
        },
    )
}

/// Text inserted into strings: cron and time syntax, path tricks, big numbers, odd
/// characters.
const INSERTS: &[&str] = &[
    "*",
    "/",
    "-",
    ",",
    "#",
    "L",
    "W",
    "?",
    " ",
    "  ",
    "0",
    "60",
    "99",
    "-1",
    "99999999999999999999",
    "\u{0}",
    "é",
    "😀",
    "\u{202e}",
    ":",
    "@",
    "%",
    "%ff",
    "..",
    "/../",
    "T",
    "Z",
    "+99:99",
    "\n",
    "\\",
    "\"",
    "pkg:",
    "@@",
    "?a=b#c",
    "\u{feff}",
];

fn str_edit() -> impl Strategy<Value = StrEdit> {
    let text = prop_oneof![
        4 => select(INSERTS).prop_map(str::to_string),
        2 => any::<char>().prop_map(String::from),
        1 => vec(0u8..10, 1..40)
            .prop_map(|d| d.into_iter().map(|d| char::from(b'0' + d)).collect()),
    ];
    prop_oneof![
        4 => (pick(), text).prop_map(|(i, t)| StrEdit::Insert(i, t)),
        2 => (pick(), 1usize..8).prop_map(|(i, n)| StrEdit::Remove(i, n)),
        1 => pick().prop_map(StrEdit::Cut),
        1 => (2usize..64).prop_map(StrEdit::Repeat),
    ]
}

/// `seeds` (chosen evenly) with one to four character edits: for inputs that are strings
/// rather than documents (a token, a header, a cron field).
pub fn edited_strings(seeds: Vec<String>) -> impl Strategy<Value = String> {
    assert!(!seeds.is_empty(), "no seeds");
    let seeds = Arc::new(seeds);
    (pick(), vec(str_edit(), 1..=4))
        .prop_map(move |(seed, edits)| edit(seeds[seed.index(seeds.len())].clone(), &edits))
}

fn fragment() -> impl Strategy<Value = Fragment> {
    prop_oneof![
        6 => raw_value().prop_map(Fragment::Raw),
        2 => pick().prop_map(Fragment::CopyOf),
        4 => vec(str_edit(), 1..4).prop_map(Fragment::Edit),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        6 => (pick(), fragment()).prop_map(|(node, with)| Mutation::Replace { node, with }),
        2 => (pick(), pick(), fragment())
            .prop_map(|(object, key, with)| Mutation::DuplicateKey { object, key, with }),
        1 => (pick(), pick(), raw_key())
            .prop_map(|(object, key, to)| Mutation::RenameKey { object, key, to }),
    ]
}

fn byte_mutation() -> impl Strategy<Value = ByteMutation> {
    let inserted = prop_oneof![
        select(INVALID_UTF8).prop_map(<[u8]>::to_vec),
        vec(any::<u8>(), 1..8),
    ];
    prop_oneof![
        8 => Just(ByteMutation::Keep),
        2 => pick().prop_map(ByteMutation::Truncate),
        1 => (pick(), inserted).prop_map(|(i, b)| ByteMutation::Insert(i, Raw(b))),
        1 => (pick(), any::<u8>()).prop_map(|(i, b)| ByteMutation::Overwrite(i, b)),
        1 => select(DEPTHS).prop_map(ByteMutation::Nest),
    ]
}

fn any_node(_: &Value) -> bool {
    true
}

fn is_object(v: &Value) -> bool {
    v.is_object()
}

/// How many nodes of `v` (itself included) satisfy `pred`.
fn tally(v: &Value, pred: fn(&Value) -> bool) -> usize {
    let own = usize::from(pred(v));
    own + match v {
        Value::Array(a) => a.iter().map(|c| tally(c, pred)).sum(),
        Value::Object(o) => o.values().map(|c| tally(c, pred)).sum(),
        _ => 0,
    }
}

/// Where the `n`-th node (pre-order) satisfying `pred` is: the index of the child taken
/// at each level (an object's children in its order).
fn nth_path(mut v: &Value, mut n: usize, pred: fn(&Value) -> bool) -> Option<Vec<usize>> {
    let mut path = Vec::new();
    loop {
        if pred(v) {
            if n == 0 {
                return Some(path);
            }
            n -= 1;
        }
        let children: Box<dyn Iterator<Item = &Value>> = match v {
            Value::Array(a) => Box::new(a.iter()),
            Value::Object(o) => Box::new(o.values()),
            _ => return None,
        };
        let mut next = None;
        for (i, c) in children.enumerate() {
            let t = tally(c, pred);
            if n < t {
                next = Some((i, c));
                break;
            }
            n -= t;
        }
        let (i, c) = next?;
        path.push(i);
        v = c;
    }
}

/// The `n`-th node (pre-order) satisfying `pred`.
fn nth(v: &Value, n: usize, pred: fn(&Value) -> bool) -> Option<&Value> {
    nth_path(v, n, pred)?
        .into_iter()
        .try_fold(v, |v, i| match v {
            Value::Array(a) => a.get(i),
            Value::Object(o) => o.values().nth(i),
            _ => None,
        })
}

/// [`nth`], mutable.
fn nth_mut(v: &mut Value, n: usize, pred: fn(&Value) -> bool) -> Option<&mut Value> {
    nth_path(v, n, pred)?
        .into_iter()
        .try_fold(v, |v, i| match v {
            Value::Array(a) => a.get_mut(i),
            Value::Object(o) => o.values_mut().nth(i),
            _ => None,
        })
}

fn char_offset(s: &str, at: &Pick) -> usize {
    let count = s.chars().count();
    let i = at.index(count + 1);
    s.char_indices().nth(i).map_or(s.len(), |(b, _)| b)
}

fn edit(mut s: String, edits: &[StrEdit]) -> String {
    for e in edits {
        match e {
            StrEdit::Insert(at, text) => {
                let b = char_offset(&s, at);
                s.insert_str(b, text);
            }
            StrEdit::Remove(at, n) => {
                let from = char_offset(&s, at);
                let to = s[from..]
                    .char_indices()
                    .nth(*n)
                    .map_or(s.len(), |(b, _)| from + b);
                s.replace_range(from..to, "");
            }
            StrEdit::Cut(at) => {
                let b = char_offset(&s, at);
                s.truncate(b);
            }
            StrEdit::Repeat(n) => s = s.repeat(*n),
        }
    }
    s
}

/// The text of `with` for the node `target` of `doc` (`None`: no change).
fn fragment_text(doc: &Value, target: Option<&Value>, with: &Fragment) -> Option<Vec<u8>> {
    match with {
        Fragment::Raw(raw) => Some(raw.0.clone()),
        Fragment::CopyOf(i) => {
            let copy = nth(doc, i.index(tally(doc, any_node)), any_node)?;
            serde_json::to_vec(copy).ok()
        }
        Fragment::Edit(edits) => match target? {
            Value::String(s) => Some(json_string(&edit(s.clone(), edits))),
            _ => None,
        },
    }
}

fn marker(kind: &str, i: usize) -> (String, Vec<u8>) {
    let mark = format!("\u{1}{kind}{i}\u{1}");
    let text = json_string(&mark);
    (mark, text)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The seed with `mutations` and then `byte_mutation` applied.
pub fn apply(seed: &Seed, mutations: &[Mutation], byte_mutation: &ByteMutation) -> Vec<u8> {
    let mut doc = seed.doc.clone();
    // (marker text in the written tree, raw bytes it stands for)
    let mut swaps: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    for (i, m) in mutations.iter().enumerate() {
        let (value_mark, value_text) = marker("pm", i);
        let (key_mark, key_text) = marker("pk", i);
        match m {
            Mutation::Replace { node, with } => {
                let n = node.index(tally(&doc, any_node));
                let Some(text) = fragment_text(&doc, nth(&doc, n, any_node), with) else {
                    continue;
                };
                if let Some(slot) = nth_mut(&mut doc, n, any_node) {
                    *slot = Value::String(value_mark);
                    swaps.push((value_text, text));
                }
            }
            Mutation::DuplicateKey { object, key, with } => {
                let objects = tally(&doc, is_object);
                if objects == 0 {
                    continue;
                }
                let n = object.index(objects);
                let Some(Value::Object(o)) = nth(&doc, n, is_object) else {
                    continue;
                };
                let name = o.keys().nth(key.index(o.len().max(1))).cloned();
                let name = name.unwrap_or_else(|| "a".into());
                let text = match with {
                    Fragment::Edit(_) => fragment_text(&doc, o.get(&name), with),
                    _ => fragment_text(&doc, None, with),
                };
                let text = text.unwrap_or_else(|| b"null".to_vec());
                if let Some(Value::Object(o)) = nth_mut(&mut doc, n, is_object) {
                    o.insert(key_mark, Value::String(value_mark));
                    swaps.push((key_text, json_string(&name)));
                    swaps.push((value_text, text));
                }
            }
            Mutation::RenameKey { object, key, to } => {
                let objects = tally(&doc, is_object);
                if objects == 0 {
                    continue;
                }
                let n = object.index(objects);
                if let Some(Value::Object(o)) = nth_mut(&mut doc, n, is_object) {
                    let Some(name) = o.keys().nth(key.index(o.len().max(1))).cloned() else {
                        continue;
                    };
                    let value = o.remove(&name).unwrap_or(Value::Null);
                    o.insert(key_mark, value);
                    swaps.push((key_text, to.0.clone()));
                }
            }
        }
    }
    let mut out = serde_json::to_vec(&doc).expect("a tree serialises");
    for (mark, raw) in swaps {
        if let Some(at) = find(&out, &mark) {
            out.splice(at..at + mark.len(), raw);
        }
    }
    match byte_mutation {
        ByteMutation::Keep => {}
        ByteMutation::Truncate(at) => {
            let n = at.index(out.len() + 1);
            out.truncate(n);
        }
        ByteMutation::Insert(at, raw) => {
            let n = at.index(out.len() + 1);
            out.splice(n..n, raw.0.iter().copied());
        }
        ByteMutation::Overwrite(at, b) => {
            if !out.is_empty() {
                let n = at.index(out.len());
                out[n] = *b;
            }
        }
        ByteMutation::Nest(depth) => {
            let mut nested = b"[".repeat(*depth);
            nested.extend_from_slice(&out);
            nested.extend_from_slice(&b"]".repeat(*depth));
            out = nested;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    fn seed() -> Seed {
        Seed::new("t", serde_json::json!({"a": [1, "x"], "b": {"c": null}}))
    }

    #[test]
    fn replace_writes_raw_text_where_the_node_was() {
        // Pre-order: 0 root, 1 [1, "x"], 2 1, 3 "x", 4 {"c": null}, 5 null.
        let at = Pick::of;
        let raw = |s: &str| Fragment::Raw(Raw(s.as_bytes().to_vec()));
        let replace = Mutation::Replace {
            node: at(2, 6),
            with: raw(r#""\ud800""#),
        };
        let out = apply(&seed(), &[replace], &ByteMutation::Keep);
        assert_eq!(out, br#"{"a":["\ud800","x"],"b":{"c":null}}"#.to_vec());
        let dup = Mutation::DuplicateKey {
            object: at(1, 2),
            key: at(0, 1),
            with: raw("1e400"),
        };
        let out = apply(&seed(), &[dup], &ByteMutation::Truncate(at(0, 1)));
        let text = String::from_utf8_lossy(&out).into_owned();
        assert!(text.is_empty(), "{text}");
        let dup = Mutation::DuplicateKey {
            object: at(1, 2),
            key: at(0, 1),
            with: raw("1e400"),
        };
        let out = apply(&seed(), &[dup], &ByteMutation::Keep);
        let text = String::from_utf8_lossy(&out).into_owned();
        assert_eq!(text.matches("\"c\":").count(), 2, "{text}");
        assert!(text.contains("1e400"), "{text}");
    }

    #[test]
    fn the_catalogue_is_generated() {
        let mut runner = TestRunner::deterministic();
        let (mut surrogate, mut deep_nesting, mut invalid_utf8) = (false, false, false);
        for _ in 0..1000 {
            let m = mutants(vec![seed()])
                .new_tree(&mut runner)
                .expect("tree")
                .current();
            surrogate |= find(&m.bytes, b"\\ud800").is_some();
            deep_nesting |= find(&m.bytes, &b"[".repeat(1000)).is_some();
            invalid_utf8 |= std::str::from_utf8(&m.bytes).is_err();
        }
        assert!(surrogate && deep_nesting && invalid_utf8);
    }

    #[test]
    fn deep_is_balanced_and_as_deep_as_asked() {
        let d = deep(3, 2);
        assert_eq!(d, b"[{\"a\":[{\"a\":[{\"a\":1}]}]}]".to_vec());
        assert!(serde_json::from_slice::<Value>(&deep(100, 0)).is_ok());
        assert!(serde_json::from_slice::<Value>(&deep(10_000, 0)).is_err());
    }
}
