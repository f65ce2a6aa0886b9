//! The JSON report: the report document of [`crate::common::document`], pretty-printed.
//!
//! The findings are nearly all of a large report (100,000 findings are ~200 MB), so they are
//! pretty-printed apart from the rest, in chunks on every core, and written in order into
//! the frame the rest of the document makes: the same bytes `serde_json`'s pretty printer
//! writes for the whole document (the golden outputs prove it), in about half the time.

use std::io::Write as _;

use serde::Serialize;
use serde_json::ser::{Formatter, Serializer};

use ec_domain::Format;

use crate::RenderError;
use crate::common::document::document;
use crate::view::ReportView;

/// What the frame holds where the findings go: at depth 1 of a pretty-printed document.
/// Pretty JSON never has a raw newline inside a string, so this can only be the field.
const SLOT: &[u8] = b"\n  \"findings\": []";
/// Findings pretty-printed per chunk (a few MiB).
const CHUNK: usize = 2048;
/// The findings' depth in the document (in the `findings` array of the top object).
const DEPTH: usize = 2;

/// Writes the report to `out` as it is serialised.
pub fn write(view: &ReportView<'_>, out: &mut dyn std::io::Write) -> Result<(), RenderError> {
    let encode = |e: &dyn std::fmt::Display| RenderError::encode(Format::Json, e);
    // serde_json writes token by token: batched here, not one call through `out` each.
    let mut out = std::io::BufWriter::with_capacity(1 << 16, out);
    let mut doc = document(view);
    let findings = doc.take_findings();
    if findings.is_empty() {
        serde_json::to_writer_pretty(&mut out, &doc).map_err(|e| encode(&e))?;
    } else {
        let frame = serde_json::to_vec_pretty(&doc).map_err(|e| encode(&e))?;
        let at = frame
            .windows(SLOT.len())
            .position(|w| w == SLOT)
            .ok_or_else(|| encode(&"the report has no findings field"))?;
        let (head, tail) = frame.split_at(at + SLOT.len());
        // Up to the `[` of the empty array, the findings, then the array's end.
        out.write_all(&head[..head.len() - 1])
            .map_err(|e| encode(&e))?;
        write_elements(&findings, &mut out).map_err(|e| encode(&e))?;
        out.write_all(b"\n  ]").map_err(|e| encode(&e))?;
        out.write_all(tail).map_err(|e| encode(&e))?;
    }
    out.write_all(b"\n").map_err(|e| encode(&e))?;
    out.flush().map_err(|e| encode(&e))
}

/// The array's elements as the pretty printer writes them at [`DEPTH`], chunks made on
/// every core ([`crate::write_batches`]).
fn write_elements<T: Serialize + Sync>(
    items: &[T],
    mut out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    crate::write_batches(&mut out, items.len().div_ceil(CHUNK), |b| {
        let chunk = items.chunks(CHUNK).nth(b).unwrap_or_default();
        elements(chunk, b == 0)
    })
}

/// One chunk's elements, each after its separator and indent.
fn elements<T: Serialize>(items: &[T], first: bool) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(items.len() * 2048);
    for (i, item) in items.iter().enumerate() {
        buf.extend_from_slice(if first && i == 0 { b"\n" } else { b",\n" });
        buf.extend_from_slice(&INDENT[..DEPTH * 2]);
        item.serialize(&mut Serializer::with_formatter(&mut buf, Nested::at(DEPTH)))
            .map_err(std::io::Error::from)?;
    }
    Ok(buf)
}

const INDENT: &[u8; 64] = &[b' '; 64];

/// `serde_json`'s `PrettyFormatter` (two-space indent) starting at a given depth, which
/// `PrettyFormatter` cannot: the same calls, the same bytes.
struct Nested {
    depth: usize,
    has_value: bool,
}

impl Nested {
    fn at(depth: usize) -> Self {
        Nested {
            depth,
            has_value: false,
        }
    }

    fn indent<W: ?Sized + std::io::Write>(&self, w: &mut W) -> std::io::Result<()> {
        for _ in 0..self.depth {
            w.write_all(b"  ")?;
        }
        Ok(())
    }

    fn open<W: ?Sized + std::io::Write>(&mut self, w: &mut W, b: &[u8]) -> std::io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        w.write_all(b)
    }

    fn close<W: ?Sized + std::io::Write>(&mut self, w: &mut W, b: &[u8]) -> std::io::Result<()> {
        self.depth = self.depth.saturating_sub(1);
        if self.has_value {
            w.write_all(b"\n")?;
            self.indent(w)?;
        }
        w.write_all(b)
    }

    fn next<W: ?Sized + std::io::Write>(&mut self, w: &mut W, first: bool) -> std::io::Result<()> {
        w.write_all(if first { b"\n" } else { b",\n" })?;
        self.indent(w)
    }
}

impl Formatter for Nested {
    fn begin_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.open(w, b"[")
    }

    fn end_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.close(w, b"]")
    }

    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.next(w, first)
    }

    fn end_array_value<W: ?Sized + std::io::Write>(&mut self, _: &mut W) -> std::io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.open(w, b"{")
    }

    fn end_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.close(w, b"}")
    }

    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.next(w, first)
    }

    fn begin_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        w.write_all(b": ")
    }

    fn end_object_value<W: ?Sized + std::io::Write>(&mut self, _: &mut W) -> std::io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// At depth 0, the same bytes as `serde_json`'s pretty printer, for nested and empty
    /// arrays and objects.
    #[test]
    fn nested_at_zero_is_serde_json_pretty() {
        let value = serde_json::json!({
            "a": [1, {"b": [], "c": {}}, [[]], "x\ny"],
            "d": {"e": {"f": [true, null]}},
            "g": []
        });
        let mut ours = Vec::new();
        value
            .serialize(&mut Serializer::with_formatter(&mut ours, Nested::at(0)))
            .unwrap();
        assert_eq!(ours, serde_json::to_vec_pretty(&value).unwrap());
    }

    /// Elements written apart, in chunks, give the bytes of the whole array pretty-printed
    /// inside a document.
    #[test]
    fn chunked_elements_are_the_whole_array() {
        let items: Vec<serde_json::Value> = (0..CHUNK * 3 + 7)
            .map(|i| serde_json::json!({"i": i, "tags": ["a", {"k": []}]}))
            .collect();
        let whole = serde_json::to_vec_pretty(&serde_json::json!({"findings": items})).unwrap();
        let mut ours = b"{\n  \"findings\": [".to_vec();
        write_elements(&items, &mut ours).unwrap();
        ours.extend_from_slice(b"\n  ]\n}");
        assert_eq!(ours, whole);
    }
}
