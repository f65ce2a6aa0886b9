use std::collections::BTreeSet;

use time::macros::datetime;
use typst::foundations::Bytes;
use typst::layout::{Frame, FrameItem};
use typst_layout::PagedDocument;

use super::*;

fn opts() -> Options {
    Options {
        ident: "acme/exp-1".into(),
        generated_at: datetime!(2024-12-29 10:30:00 UTC),
    }
}

fn frame_text(frame: &Frame, out: &mut String) {
    for (_, item) in frame.items() {
        match item {
            FrameItem::Text(t) => {
                out.push_str(&t.text);
                out.push(' ');
            }
            FrameItem::Group(g) => frame_text(&g.frame, out),
            _ => {}
        }
    }
}

/// The text of each page, runs separated by spaces.
fn pages_text(doc: &PagedDocument) -> Vec<String> {
    doc.pages()
        .iter()
        .map(|p| {
            let mut s = String::new();
            frame_text(&p.frame, &mut s);
            s
        })
        .collect()
}

fn fonts_used(frame: &Frame, out: &mut BTreeSet<String>) {
    for (_, item) in frame.items() {
        match item {
            FrameItem::Text(t) => {
                out.insert(t.font.info().family.clone());
            }
            FrameItem::Group(g) => fonts_used(&g.frame, out),
            _ => {}
        }
    }
}

fn document(source: &str, data: &str) -> Result<PagedDocument, PdfError> {
    let template = Template {
        main: source,
        modules: &[],
    };
    layout(
        &template,
        Bytes::new(data.as_bytes().to_vec()),
        br#"{"part":"document"}"#.to_vec(),
        &opts(),
    )
}

const PRINT_TITLE: &str = "#let d = json(\"/data.json\")\n#d.title\n";

#[test]
fn data_that_looks_like_markup_prints_literally() {
    for title in [
        "#panic(\"boom\")",
        "]",
        "*bold* _em_ $x^2$",
        "<label> @ref `raw` \\ // not a comment",
        "#{ 1 + 1 } #import \"/etc/passwd\"",
    ] {
        let data = serde_json::json!({ "title": title }).to_string();
        let doc = document(PRINT_TITLE, &data).unwrap_or_else(|e| panic!("{title}: {e}"));
        let text = pages_text(&doc).concat();
        let squashed: String = text.split_whitespace().collect();
        let want: String = title.split_whitespace().collect();
        assert!(squashed.contains(&want), "{title:?} printed as {text:?}");
    }
}

#[test]
fn same_input_gives_identical_bytes() {
    let data = r#"{"title": "Report"}"#;
    let a = compile(PRINT_TITLE, data.as_bytes(), &opts()).expect("compile");
    let b = compile(PRINT_TITLE, data.as_bytes(), &opts()).expect("compile");
    assert!(a.starts_with(b"%PDF-"));
    assert_eq!(a, b);
    let other = Options {
        ident: "acme/exp-2".into(),
        ..opts()
    };
    let c = compile(PRINT_TITLE, data.as_bytes(), &other).expect("compile");
    assert_ne!(a, c, "the document id follows the ident");
}

#[test]
fn syntax_error_names_its_line() {
    let source = "= Title\n\nSome text\n#let x = (1, 2\nmore\n";
    match document(source, "{}") {
        Err(PdfError::Template {
            file,
            line,
            message,
            ..
        }) => {
            assert_eq!(file, "/main.typ");
            assert!((4..=6).contains(&line), "line {line}: {message}");
        }
        other => panic!("expected a template error, got {other:?}"),
    }
}

#[test]
fn syntax_check_without_data() {
    assert_eq!(
        check_syntax("= Title\n#let d = json(\"/data.json\")\n#d.x"),
        Ok(())
    );
    let err = check_syntax("ok\n\n#let x = (1, 2\n").expect_err("unclosed");
    assert!(err.starts_with("template error at /main.typ:3:"), "{err}");
}

#[test]
fn runtime_error_names_its_line_and_code() {
    let source = "#let d = json(\"/data.json\")\nok\n#d.missing\n";
    let err = compile(source, b"{}", &opts()).expect_err("missing key");
    assert_eq!(err.code(), "ERR_PDF_TEMPLATE");
    match err {
        PdfError::Template { line, message, .. } => {
            assert_eq!(line, 3);
            assert!(message.contains("missing"), "{message}");
        }
        other => panic!("expected a template error, got {other:?}"),
    }
    let msg = compile("#panic(\"stop here\")", b"{}", &opts())
        .expect_err("panic")
        .to_string();
    assert!(msg.contains("1:") && msg.contains("stop here"), "{msg}");
}

#[test]
fn nothing_outside_the_virtual_files_is_readable() {
    for source in [
        "#read(\"/etc/passwd\")",
        "#read(\"../../../../etc/passwd\")",
        "#import \"@preview/cetz:0.3.0\": *",
        "#image(\"/logo.png\")",
    ] {
        let err = compile(source, b"{}", &opts()).expect_err(source);
        assert_eq!(err.code(), "ERR_PDF_TEMPLATE", "{source}: {err}");
    }
}

#[test]
fn only_bundled_fonts_are_used() {
    let bundled: BTreeSet<String> = world::font_families().into_iter().collect();
    assert!(bundled.contains("Libertinus Serif"));
    assert!(bundled.contains("DejaVu Sans Mono"));
    // Families a system would have: typst falls back to a bundled font.
    let source = "#set text(font: \"DejaVu Sans\")\nsans\n#set text(font: \"Arial\")\narial\n#text(font: \"DejaVu Sans Mono\")[mono]";
    let doc = document(source, "{}").expect("compile");
    let mut used = BTreeSet::new();
    for page in doc.pages() {
        fonts_used(&page.frame, &mut used);
    }
    assert!(!used.is_empty());
    assert!(
        used.is_subset(&bundled),
        "used {used:?}, bundled {bundled:?}"
    );
}

/// Every glyph of every text run: (font family, glyph id, the text it sets).
fn glyphs(frame: &Frame, out: &mut Vec<(String, u16, String)>) {
    for (_, item) in frame.items() {
        match item {
            FrameItem::Text(t) => out.extend(t.glyphs.iter().map(|g| {
                let text = t.text.get(g.range()).unwrap_or_default().to_string();
                (t.font.info().family.clone(), g.id, text)
            })),
            FrameItem::Group(g) => glyphs(&g.frame, out),
            _ => {}
        }
    }
}

/// Issue 13: Chinese, Japanese and Korean text (and a lone U+3002) is set in the bundled
/// fallback with its own glyphs, never glyph 0 (.notdef, the missing-glyph box), whichever
/// of the bundled fonts the template asks for.
#[test]
fn cjk_text_is_set_in_the_bundled_fallback() {
    assert!(
        world::font_families().contains(&"WenQuanYi Micro Hei".to_string()),
        "{:?}",
        world::font_families()
    );
    let cjk = "漏洞。テスト한국";
    for font in [
        "Libertinus Serif",
        "DejaVu Sans Mono",
        "New Computer Modern",
    ] {
        let source = format!("#set text(font: \"{font}\")\n#json(\"/data.json\").title");
        let data = serde_json::json!({ "title": format!("CVE-1 {cjk} 。") }).to_string();
        let doc = document(&source, &data).expect("layout");
        let mut all = Vec::new();
        glyphs(&doc.pages()[0].frame, &mut all);
        let set: String = all.iter().map(|g| g.2.as_str()).collect();
        assert!(set.contains(cjk), "{font}: {set:?}");
        for (family, id, text) in &all {
            assert_ne!(*id, 0, "{font}: {text:?} is a missing glyph in {family}");
            if text.chars().any(|c| c as u32 >= 0x3000) {
                assert_eq!(family, "WenQuanYi Micro Hei", "{font}: {text:?}");
            }
        }
    }
}

#[test]
fn today_is_the_callers_date() {
    let doc = document("#datetime.today().display()", "{}").expect("compile");
    assert!(pages_text(&doc)[0].contains("2024-12-29"));
}

/// A template that follows the report protocol: body chunk `i` lays out one page per
/// key, one anchor and heading on each; the front matter links to where each landed.
const PARTS: &str = r#"
#let part = json("/part.json")
#let data = json("/data.json")
#set page(paper: "a4", margin: 2cm)
#set document(title: "Parts test") if part.part == "front"
#if part.part == "furniture" {
  set page(header: [Report #data.name])
  []
} else if part.part == "numbers" {
  set page(footer: context [Page #counter(page).get().first() of #part.total_pages])
  for _ in range(1, part.total_pages) { pagebreak() }
} else if part.part == "front" {
  [Front of #data.name]
  for (k, at) in part.anchors {
    linebreak()
    link((page: at.page, x: 0pt, y: at.y * 1pt))[#k on #at.page]
  }
  for _ in range(1, data.front_pages) { pagebreak() }
} else {
  for key in data.keys {
    // Every section starts a page, also where the assembly joins the chunks.
    pagebreak(weak: true)
    [#metadata("break") <ec-break>]
    v(3cm)
    heading[Section #key #metadata(key) <ec-anchor>]
    [Body of #key]
  }
}
"#;

fn parts_report(front_pages: usize, chunks: &[&[&str]]) -> Report<'static> {
    Report {
        template: Template {
            main: PARTS,
            modules: &[],
        },
        front: serde_json::json!({ "name": "test", "front_pages": front_pages })
            .to_string()
            .into_bytes(),
        body: chunks
            .iter()
            .map(|keys| serde_json::json!({ "keys": keys }).to_string().into_bytes())
            .collect(),
    }
}

/// The text of each page, as poppler's pdftotext reads it.
fn pdf_pages_text(pdf: &[u8], pages: usize) -> Vec<String> {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("report.pdf");
    std::fs::write(&file, pdf).expect("write");
    (1..=pages)
        .map(|p| {
            let out = std::process::Command::new("pdftotext")
                .args(["-f", &p.to_string(), "-l", &p.to_string()])
                .arg(&file)
                .arg("-")
                .output()
                .expect("pdftotext (poppler-utils) is installed");
            String::from_utf8_lossy(&out.stdout).into_owned()
        })
        .collect()
}

fn dest_page(dest: &lopdf::Object) -> lopdf::ObjectId {
    dest.as_array().expect("dest array")[0]
        .as_reference()
        .expect("page reference")
}

#[test]
fn parts_are_assembled_with_running_page_numbers_outline_and_links() {
    let chunks: &[&[&str]] = &[&["a", "b"], &["c"], &["d", "e", "f"], &["g"], &["h"]];
    let pdf = render_report(parts_report(2, chunks), &opts()).expect("render");
    let doc = lopdf::Document::load_mem(&pdf).expect("a PDF lopdf reads");
    let pages: Vec<lopdf::ObjectId> = doc.get_pages().into_values().collect();
    assert_eq!(pages.len(), 2 + 8);

    let text = pdf_pages_text(&pdf, pages.len());
    for (i, t) in text.iter().enumerate() {
        assert!(
            t.contains(&format!("Page {} of 10", i + 1)),
            "page {}: {t}",
            i + 1
        );
        assert!(t.contains("Report test"), "page {}: {t}", i + 1);
    }
    // Front matter of two pages, then the body in chunk order; the contents say where.
    assert!(text[0].contains("Front of test"));
    let keys = ["a", "b", "c", "d", "e", "f", "g", "h"];
    for (n, key) in keys.iter().enumerate() {
        assert!(
            text[0].contains(&format!("{key} on {}", n + 3)),
            "{}",
            text[0]
        );
        assert!(
            text[n + 2].contains(&format!("Body of {key}")),
            "{}",
            text[n + 2]
        );
    }

    // One outline for the whole document: every section, pointing at its page.
    let catalog = doc.catalog().expect("catalog");
    let outline = doc
        .get_dictionary(catalog.get(b"Outlines").unwrap().as_reference().unwrap())
        .unwrap();
    let mut item = outline.get(b"First").unwrap().as_reference().ok();
    let mut seen = Vec::new();
    while let Some(id) = item {
        let entry = doc.get_dictionary(id).unwrap();
        let title = String::from_utf8_lossy(entry.get(b"Title").unwrap().as_str().unwrap());
        let page = dest_page(entry.get(b"Dest").unwrap());
        seen.push((title.to_string(), pages.iter().position(|p| *p == page)));
        item = entry.get(b"Next").and_then(|n| n.as_reference()).ok();
    }
    let want: Vec<(String, Option<usize>)> = keys
        .iter()
        .enumerate()
        .map(|(n, k)| (format!("Section {k}"), Some(n + 2)))
        .collect();
    assert_eq!(seen, want);

    // The contents' links into the body are annotations on the first page.
    let first = doc.get_dictionary(pages[0]).unwrap();
    let annots = first.get(b"Annots").unwrap().as_array().unwrap();
    let targets: Vec<Option<usize>> = annots
        .iter()
        .map(|a| {
            let annot = doc.get_dictionary(a.as_reference().unwrap()).unwrap();
            let page = dest_page(annot.get(b"Dest").unwrap());
            pages.iter().position(|p| *p == page)
        })
        .collect();
    assert_eq!(targets, (2..10).map(Some).collect::<Vec<_>>());

    let info = doc
        .get_dictionary(doc.trailer.get(b"Info").unwrap().as_reference().unwrap())
        .unwrap();
    assert_eq!(info.get(b"Title").unwrap().as_str().unwrap(), b"Parts test");
    let again = render_report(parts_report(2, chunks), &opts()).expect("render");
    assert_eq!(pdf, again);
}

#[test]
fn a_report_without_body_is_its_front_matter() {
    let pdf = render_report(parts_report(3, &[]), &opts()).expect("render");
    let text = pdf_pages_text(&pdf, 3);
    assert!(text[2].contains("Page 3 of 3"));
    assert!(text[0].contains("Front of test"));
}

#[test]
fn an_error_in_a_body_chunk_is_reported() {
    let mut report = parts_report(1, &[&["a"], &["b"]]);
    report.body[1] = b"{\"no_keys\": true}".to_vec();
    let err = render_report(report, &opts()).expect_err("bad chunk");
    assert!(matches!(err, PdfError::Template { .. }), "{err}");
}
