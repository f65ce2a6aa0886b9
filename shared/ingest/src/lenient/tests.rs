//! The lenient wrappers on documents of every shape they meet.

use super::*;
use serde::Deserialize;

#[derive(Deserialize, Debug)]
struct Doc<'a> {
    #[serde(default, borrow)]
    t: Text<'a>,
    #[serde(default, borrow)]
    ts: Texts<'a>,
    #[serde(default)]
    n: Num,
    #[serde(default)]
    o: Obj<Inner>,
    #[serde(default)]
    items: Items<Inner>,
}

#[derive(Deserialize, Debug, PartialEq)]
struct Inner {
    #[serde(default)]
    n: Num,
}

fn read(s: &str) -> Result<Doc<'_>, String> {
    serde_json::from_str(s).map_err(|e| e.to_string())
}

#[test]
fn other_types_read_as_absent() {
    let d = read(r#"{"t": 5, "ts": {"a": 1}, "n": [1], "o": "x"}"#).expect("lenient");
    assert_eq!(d.t, Text(None));
    assert!(d.ts.0.is_empty());
    assert_eq!(d.n, Num(None));
    assert_eq!(d.o, Obj(None));
    let d = read(r#"{"t": " ", "ts": ["a", 1, "", "b\n"], "n": " 7.5 ", "o": {"n": 2}}"#)
        .expect("lenient");
    assert_eq!(d.t, Text(None));
    assert_eq!(d.ts.iter().collect::<Vec<_>>(), ["a", "b\n"]);
    assert_eq!(d.n, Num(Some(7.5)));
    assert_eq!(d.o, Obj(Some(Inner { n: Num(Some(2.0)) })));
}

#[test]
fn strings_borrow_unless_escaped() {
    let d = read(r#"{"t": "plain"}"#).expect("read");
    assert!(matches!(d.t.0, Some(Cow::Borrowed("plain"))));
    let d = read(r#"{"t": "a\"b"}"#).expect("read");
    assert!(matches!(d.t.0, Some(Cow::Owned(ref s)) if s == "a\"b"));
}

#[test]
fn required_lists_must_be_lists() {
    assert!(read(r#"{"items": null}"#).is_ok());
    assert_eq!(read(r#"{"items": [{}]}"#).map(|d| d.items.0.len()), Ok(1));
    assert!(read(r#"{"items": {}}"#).is_err());
    assert!(read(r#"{"items": [7]}"#).is_err());
}
