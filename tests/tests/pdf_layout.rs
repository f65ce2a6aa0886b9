//! The PDF report's layout, issue 13 defect 9, read back from the files with third-party
//! tools (poppler-utils' `pdftotext -bbox` and `pdffonts`, lopdf for the annotations):
//!
//! - CJK text (and a lone `。`) is set in the bundled fallback font, which is embedded, and
//!   extracts as the same text (that no glyph is the missing-glyph box, `.notdef`, is checked
//!   on the laid-out glyphs in `shared/pdf/src/tests.rs`);
//! - the table of contents of a report laid out in several chunks is clickable: every line
//!   has link annotations, the page number it prints is the page its link goes to, and on
//!   that page the section's heading sits just below the link's target;
//! - where two chunks of the body join, the page is filled: on a 711-finding report (two or
//!   more chunks on any machine) every page but the last, and but the last of a section,
//!   holds text down to at least 60% of its content area (the lowest word's bottom, read
//!   with `pdftotext -bbox`, between the 1.8 cm top and bottom margins); and an artifact's
//!   section still starts a page of its own.
//!
//! Needs `poppler-utils` (Debian). Run with `cargo test -p ec-tests --test pdf_layout`.

use std::path::Path;

use ec_domain::BuiltinTemplate;
use ec_domain::snapshot::Snapshot;
use ec_tests::fixtures;
use ec_tests::pdf::{render as render_pdf, snapshot, tool};
use lopdf::{Document, Object, ObjectId};

/// The generated report of `findings` findings the bench uses (`exportctl gen-scan`).
fn generated(findings: usize) -> Snapshot {
    let doc = exportctl::bench::generate_trivy(findings).expect("generated report");
    snapshot(&[doc], BuiltinTemplate::ComplianceDetailed)
}

/// A word as `pdftotext -bbox` places it: y from the top of the page, in pt.
#[derive(Debug, Clone)]
struct Word {
    x0: f64,
    y0: f64,
    x1: f64,
    y1: f64,
    text: String,
}

fn attr(line: &str, name: &str) -> f64 {
    line.split(&format!("{name}=\""))
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in {line:?}"))
}

/// Every page's words, and the pages' heights.
fn words(file: &Path) -> (Vec<Vec<Word>>, Vec<f64>) {
    let mut pages: Vec<Vec<Word>> = Vec::new();
    let mut heights = Vec::new();
    for line in tool("pdftotext", &["-bbox"], file).lines() {
        let line = line.trim();
        if line.starts_with("<page ") {
            pages.push(Vec::new());
            heights.push(attr(line, "height"));
        } else if line.starts_with("<word ") {
            let text = line
                .split('>')
                .nth(1)
                .and_then(|t| t.split("</word").next())
                .unwrap_or_default()
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&amp;", "&");
            let word = Word {
                x0: attr(line, "xMin"),
                y0: attr(line, "yMin"),
                x1: attr(line, "xMax"),
                y1: attr(line, "yMax"),
                text,
            };
            pages.last_mut().expect("a word outside a page").push(word);
        }
    }
    (pages, heights)
}

#[test]
fn cjk_text_prints_in_the_embedded_fallback_font() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cjk = "漏洞。テスト한국";
    let mut snap = snapshot(
        &[std::fs::read(&fixtures("trivy")[0]).expect("fixture")],
        BuiltinTemplate::ComplianceDetailed,
    );
    let finding = &mut snap.scans[0].scan.findings[0];
    finding.title = Some(format!("{cjk} title").into());
    finding.description = Some(format!("説明：{cjk}。End.").into());
    let file = render_pdf(&snap, dir.path(), "cjk");

    let fonts = tool("pdffonts", &[], &file);
    let fallback: Vec<&str> = fonts.lines().filter(|l| l.contains("WenQuanYi")).collect();
    assert!(
        !fallback.is_empty(),
        "the CJK fallback is not used:\n{fonts}"
    );
    for row in fallback {
        let cols: Vec<&str> = row.split_whitespace().collect();
        assert!(
            cols.len() >= 6 && cols[cols.len() - 5] == "yes",
            "the CJK fallback is not embedded: {row}"
        );
    }
    let text = tool("pdftotext", &[], &file);
    for needle in [format!("{cjk} title"), format!("説明：{cjk}。End.")] {
        assert!(
            text.contains(&needle),
            "{needle:?} not extracted from:\n{text}"
        );
    }
}

/// The page and the top (from the page's top, pt) a link annotation goes to.
fn link_target(doc: &Document, annot: &lopdf::Dictionary, pages: &[ObjectId]) -> (usize, f64) {
    let dest = match annot.get(b"Dest") {
        Ok(d) => d.clone(),
        Err(_) => {
            let action = annot
                .get(b"A")
                .and_then(Object::as_dict)
                .expect("Dest or A");
            action.get(b"D").expect("GoTo action with D").clone()
        }
    };
    let dest = match dest {
        Object::Reference(id) => doc.get_object(id).expect("dest object").clone(),
        other => other,
    };
    let dest = dest.as_array().expect("explicit destination");
    let page_id = dest[0].as_reference().expect("destination page");
    let index = pages
        .iter()
        .position(|p| *p == page_id)
        .expect("a page of the document");
    let height = f64::from(
        doc.get_dictionary(page_id)
            .and_then(|p| p.get(b"MediaBox"))
            .and_then(Object::as_array)
            .map(|b| b[3].as_float().unwrap_or(842.0))
            .unwrap_or(842.0),
    );
    let top = dest
        .get(3)
        .and_then(|t| t.as_float().ok())
        .map_or(height, f64::from);
    (index, height - top)
}

fn annotations(doc: &Document, page: ObjectId) -> Vec<&lopdf::Dictionary> {
    let dict = doc.get_dictionary(page).expect("page");
    let annots = match dict.get(b"Annots") {
        Ok(Object::Reference(id)) => doc.get_object(*id).and_then(Object::as_array).ok(),
        Ok(Object::Array(a)) => Some(a),
        _ => None,
    };
    annots
        .into_iter()
        .flatten()
        .filter_map(|a| doc.get_dictionary(a.as_reference().ok()?).ok())
        .filter(|a| a.get(b"Subtype").and_then(Object::as_name).ok() == Some(b"Link"))
        .collect()
}

/// Issue 13 defect 9: the contents of a report laid out in chunks are links to the pages
/// where the sections start.
#[test]
fn the_table_of_contents_links_to_each_section() {
    let dir = tempfile::tempdir().expect("tempdir");
    // 711 findings weigh more than one chunk holds, so the body is laid out in parts on
    // any machine and the contents point across the merge.
    let snap = generated(711);
    let file = render_pdf(&snap, dir.path(), "toc");
    let doc = Document::load(&file).expect("lopdf reads the PDF");
    let pages: Vec<ObjectId> = doc.get_pages().into_values().collect();
    let (words, heights) = words(&file);
    assert_eq!(words.len(), pages.len());
    let contents_page = words
        .iter()
        .position(|w| w.iter().any(|w| w.text == "Contents"))
        .expect("a Contents heading");

    let mut labels = 0;
    let mut numbers = 0;
    for page in contents_page..pages.len() {
        let height = heights[page];
        for annot in annotations(&doc, pages[page]) {
            let rect: Vec<f64> = annot
                .get(b"Rect")
                .and_then(Object::as_array)
                .expect("Rect")
                .iter()
                .map(|v| f64::from(v.as_float().expect("number")))
                .collect();
            let (top, bottom) = (height - rect[3], height - rect[1]);
            let inside: Vec<&Word> = words[page]
                .iter()
                .filter(|w| w.x0 >= rect[0] - 1.0 && w.x1 <= rect[2] + 1.0)
                .filter(|w| w.y0 >= top - 3.0 && w.y1 <= bottom + 3.0)
                .filter(|w| w.text.chars().any(|c| c != '.'))
                .collect();
            let (target, y) = link_target(&doc, annot, &pages);
            assert!(
                target > page,
                "a contents link goes back to page {}",
                target + 1
            );
            let text: Vec<&str> = inside.iter().map(|w| w.text.as_str()).collect();
            if text.is_empty() {
                continue; // the dot leaders between label and number
            }
            if text.len() == 1 && text[0].chars().all(|c| c.is_ascii_digit()) {
                numbers += 1;
                assert_eq!(text[0], (target + 1).to_string(), "printed page vs link");
                continue;
            }
            labels += 1;
            // The heading's first word, just below where the link lands.
            let below: Vec<&Word> = words[target]
                .iter()
                .filter(|w| w.y0 >= y - 1.0 && w.y0 <= y + 30.0)
                .collect();
            assert!(
                below.iter().any(|w| w.text == text[0]),
                "contents line {text:?} links to page {} at y {y:.0}, which shows {:?}",
                target + 1,
                below.iter().map(|w| &w.text).collect::<Vec<_>>()
            );
        }
    }
    // One artifact and its 40 packages: every line a link, label and page number.
    assert!(labels >= 40, "only {labels} contents lines are links");
    assert_eq!(
        labels, numbers,
        "every linked label has a linked page number"
    );
}

/// The content area of the templates' A4 pages: 1.8 cm from the top and from the bottom.
const MARGIN: f64 = 1.8 / 2.54 * 72.0;
/// How tall `pdftotext -bbox` makes a level-1 heading's words (14 pt; body text is 8 pt,
/// package headings 11 pt).
const SECTION_WORD: f64 = 14.0;

/// The words inside the content area (not the header or footer).
fn body_words(words: &[Word], height: f64) -> Vec<&Word> {
    words
        .iter()
        .filter(|w| w.y1 > MARGIN && w.y0 < height - MARGIN)
        .collect()
}

/// How far down the content area a page's text reaches, from 0 to 1.
fn fill(words: &[Word], height: f64) -> f64 {
    let lowest = body_words(words, height)
        .iter()
        .map(|w| w.y1)
        .fold(MARGIN, f64::max);
    (lowest - MARGIN) / (height - 2.0 * MARGIN)
}

/// Whether the page opens a section: its first line is a level-1 heading.
fn opens_section(words: &[Word], height: f64) -> bool {
    body_words(words, height)
        .iter()
        .min_by(|a, b| a.y0.total_cmp(&b.y0))
        .is_some_and(|w| w.y1 - w.y0 >= SECTION_WORD)
}

/// Issue 13 defect 9: where two chunks of the detailed report join, the page before the
/// join was often nearly empty (a 711-finding report had a page with three findings and
/// the rest blank). Also with a second artifact after it, whose section opens a page.
#[test]
fn pages_are_filled_where_chunks_join() {
    let dir = tempfile::tempdir().expect("tempdir");
    let big = exportctl::bench::generate_trivy(711).expect("generated report");
    let centos = std::fs::read(
        fixtures("trivy")
            .into_iter()
            .find(|p| p.to_string_lossy().contains("centos-7"))
            .expect("the CentOS 7 fixture"),
    )
    .expect("fixture");
    let cases = [
        ("one artifact", vec![big.clone()]),
        ("two artifacts", vec![big, centos]),
    ];
    for (name, docs) in cases {
        let file = render_pdf(
            &snapshot(&docs, BuiltinTemplate::ComplianceDetailed),
            dir.path(),
            &name.replace(' ', "-"),
        );
        let (words, heights) = words(&file);
        let pages = words.len();
        let sections: Vec<usize> = (0..pages)
            .filter(|&p| opens_section(&words[p], heights[p]))
            .collect();
        // The title page, then one section per artifact.
        assert_eq!(
            sections.len(),
            1 + docs.len(),
            "{name}: pages opening a section"
        );
        for p in 0..pages - 1 {
            if sections.contains(&(p + 1)) {
                continue; // the last page of the front matter or of an artifact
            }
            let f = fill(&words[p], heights[p]);
            assert!(
                f >= 0.6,
                "{name}: page {} of {pages} is only {:.0}% filled",
                p + 1,
                f * 100.0
            );
        }
        // Each artifact's heading opens its page (the join keeps a template's page breaks);
        // the body starts with the first artifact, after the front matter.
        let body = words.iter().zip(&heights).skip(sections[1]);
        for w in body.flat_map(|(w, h)| body_words(w, *h)) {
            if w.y1 - w.y0 >= SECTION_WORD {
                assert!(
                    w.y0 < MARGIN + 5.0,
                    "{name}: a section heading mid-page: {w:?}"
                );
            }
        }
    }
}
