//! The raw values a mutation puts into a document: JSON of every type a field may not
//! expect, huge numbers and strings, escapes and lone surrogates, invalid UTF-8, deep nesting,
//! and keys. Raw bytes, since many are what no `serde_json::Value` can hold.

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;

use super::Raw;

/// Values that are legal JSON but of every type a field may not expect.
pub(super) const SCALARS: &[&str] = &[
    "null",
    "true",
    "false",
    "0",
    "1",
    "-1",
    "0.5",
    "\"\"",
    "\" \"",
    "[]",
    "{}",
    "[null]",
    "{\"\":null}",
    "\"null\"",
    "\"0\"",
    "[[]]",
    "[{}]",
];

/// Numbers at and beyond the edges of i64, u64 and f64.
pub(super) const HUGE_NUMBERS: &[&str] = &[
    "1e308",
    "-1e308",
    "1.7976931348623157e308",
    "1e309",
    "-1e400",
    "5e-324",
    "1e-400",
    "-0",
    "-0.0",
    "-1",
    "4294967296",
    "2147483648",
    "-2147483649",
    "9007199254740993",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775809",
    "18446744073709551615",
    "18446744073709551616",
    "340282366920938463463374607431768211456",
    "1E+2147483648",
    "1e-2147483649",
    "0.000000000000000000000000000000000000000000000000001",
];

/// JSON strings with lone or reversed surrogates, NULs and other edge escapes.
pub(super) const ESCAPED_STRINGS: &[&str] = &[
    r#""\ud800""#,
    r#""\udfff""#,
    r#""a\ud800b""#,
    r#""\ud800\ud800""#,
    r#""\udfff\ud800""#,
    r#""\ud800\u0041""#,
    r#""\udbff\udfff""#,
    r#""\u0000""#,
    r#""\u202e\u0000\u001f""#,
    r#""\ud83d""#,
    r#""\uD800x""#,
    r#""\u""#,
    r#""\u12""#,
    r#""\x41""#,
];

/// Byte sequences that are not UTF-8: stray continuation, overlong, encoded surrogate,
/// beyond U+10FFFF, cut sequences, bytes never used.
pub(super) const INVALID_UTF8: &[&[u8]] = &[
    b"\x80",
    b"\xbf\xbf",
    b"\xc0\x80",
    b"\xc1\xbf",
    b"\xed\xa0\x80",
    b"\xed\xbf\xbf",
    b"\xf4\x90\x80\x80",
    b"\xe2\x82",
    b"\xf0\x9f\x98",
    b"\xfe",
    b"\xff\xfe",
];

/// Depths of nesting: just past serde_json's limit (128), and far past it.
pub(super) const DEPTHS: &[usize] = &[129, 1_000, 10_000, 100_000];

/// Lengths of huge strings and arrays.
pub(super) const HUGE_LENGTHS: &[usize] = &[1_000, 65_536, 1 << 20];

pub(super) fn quoted(inner: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(inner.len() + 2);
    out.push(b'"');
    out.extend_from_slice(inner);
    out.push(b'"');
    out
}

/// `s` as a JSON string.
pub fn json_string(s: &str) -> Vec<u8> {
    serde_json::to_vec(s).expect("a string serialises")
}

/// `depth` levels of arrays (`kind` 0), objects (1), or both alternating (2), closed;
/// `kind` 3 leaves them open.
pub fn deep(depth: usize, kind: u8) -> Vec<u8> {
    let (open, close): (&[u8], &[u8]) = match kind {
        0 => (b"[", b"]"),
        1 => (b"{\"a\":", b"}"),
        2 => (b"[{\"a\":", b"}]"),
        _ => (b"[", b""),
    };
    let mut out = open.repeat(depth);
    out.extend_from_slice(b"1");
    out.extend_from_slice(&close.repeat(depth));
    out
}

/// Raw text for a value: legal JSON of any type, or nearly JSON (out-of-range numbers,
/// lone surrogates, invalid UTF-8 inside a string, NaN), deep, huge, or garbage.
pub fn raw_value() -> BoxedStrategy<Raw> {
    let digits = (vec(0u8..10, 20..1000), any::<bool>()).prop_map(|(d, neg)| {
        let mut s = if neg { "-1".to_string() } else { "1".into() };
        s.extend(d.into_iter().map(|d| char::from(b'0' + d)));
        s.into_bytes()
    });
    prop_oneof![
        3 => select(SCALARS).prop_map(|s| s.as_bytes().to_vec()),
        3 => select(HUGE_NUMBERS).prop_map(|s| s.as_bytes().to_vec()),
        1 => any::<i64>().prop_map(|n| n.to_string().into_bytes()),
        1 => any::<u64>().prop_map(|n| n.to_string().into_bytes()),
        // Display of f64: exact digits, and "NaN"/"inf" (not JSON).
        1 => any::<f64>().prop_map(|n| n.to_string().into_bytes()),
        1 => digits,
        3 => any::<String>().prop_map(|s| json_string(&s)),
        2 => (select(HUGE_LENGTHS), any::<char>())
            .prop_map(|(n, c)| json_string(&c.to_string().repeat(n))),
        3 => select(ESCAPED_STRINGS).prop_map(|s| s.as_bytes().to_vec()),
        2 => select(INVALID_UTF8).prop_map(quoted),
        2 => (select(DEPTHS), 0u8..4).prop_map(|(d, k)| deep(d, k)),
        1 => (select(HUGE_LENGTHS), select(SCALARS)).prop_map(|(n, s)| {
            let mut out = b"[".to_vec();
            out.extend_from_slice(&vec![s; n].join(",").into_bytes());
            out.push(b']');
            out
        }),
        1 => vec(any::<u8>(), 0..32),
    ]
    .prop_map(Raw)
    .boxed()
}

/// Raw text for an object key: odd strings, or no string at all.
pub(super) fn raw_key() -> impl Strategy<Value = Raw> {
    prop_oneof![
        3 => select(ESCAPED_STRINGS).prop_map(|s| s.as_bytes().to_vec()),
        2 => select(INVALID_UTF8).prop_map(quoted),
        2 => any::<String>().prop_map(|s| json_string(&s)),
        1 => Just(b"\"\"".to_vec()),
        1 => (select(HUGE_LENGTHS), any::<char>())
            .prop_map(|(n, c)| json_string(&c.to_string().repeat(n))),
        1 => select(SCALARS).prop_map(|s| s.as_bytes().to_vec()),
    ]
    .prop_map(Raw)
}
