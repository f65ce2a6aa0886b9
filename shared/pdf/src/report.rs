//! Long reports laid out in parts and assembled into one PDF.
//!
//! Typst's memory grows with the size of one document (its caches, its introspection, and
//! the laid-out glyphs: about 56 bytes per character), so a report of thousands of
//! findings cannot be one document. It is laid out in parts instead:
//!
//! 1. Furniture: what every page shows (header, footer rules) is laid out once.
//! 2. Body chunks, on one worker thread per core, each taking the next chunk when done:
//!    each is laid out, joined to the unfinished last page of the chunk before (`join`: the
//!    pages are cut again from the laid-out frames, so no page is left half empty where
//!    two chunks meet; the chunk's own last page goes on to the next chunk in turn), the
//!    furniture stamped onto its pages, and written as a small PDF (parsed for the merge)
//!    at once; only that PDF, the page count, its headings and its anchors
//!    (`#metadata("key") <ec-anchor>`: where each group starts) are kept. typst's caches
//!    are evicted after every chunk, so memory stays that of one chunk per worker.
//! 3. Front matter (title, summary, table of contents), laid out once the body's page
//!    numbers are known: it gets the anchors shifted by its own page count (found by
//!    laying it out again when the first guess was wrong).
//! 4. Page numbers: "Page X of Y" needs the total, so one more pass lays out as many
//!    small pages as the report has, each holding only its number, on another core while
//!    the front matter is laid out (for the length the front matter is expected to have).
//! 5. `merge` joins the parts' pages into one PDF: page numbers overlaid, one outline
//!    from every part's headings, and the front matter's links into the body resolved.
//!
//! Body chunks continue one another on the same page, so a chunk may start anywhere; a
//! template starts a page on purpose with `pagebreak()` followed by
//! `#metadata("break") <ec-break>`, which the join keeps.

use std::collections::BTreeMap;
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};

use serde::Serialize;
use typst::foundations::{Bytes, Label, Repr, StyleChain, Value};
use typst::introspection::{MetadataElem, Tag};
use typst::layout::{Frame, FrameItem, GroupItem, Point, Transform};
use typst::model::{Destination, Document as _, DocumentInfo, HeadingElem};
use typst::utils::PicoStr;
use typst_layout::{Page, PagedDocument};

use crate::join::{self, Tail};
use crate::merge::{self, Heading, LinkOut, PartPdf};
use crate::{Options, PdfError, Template, export, layout};

/// Label of the metadata elements that mark where a group starts in a body chunk.
const ANCHOR_LABEL: &str = "ec-anchor";
/// Laying out the front matter again with its real page count settles at once unless the
/// new page numbers change its length; this bounds the retries.
const FRONT_ATTEMPTS: usize = 4;
/// More workers than this mostly add memory: each holds one chunk's layout.
const MAX_WORKERS: usize = 4;

/// A report in parts. Every part is laid out from the same template; `/part.json` tells
/// the template which part it is laying out:
///
/// - `{"part": "furniture"}` with `/data.json` = `front`: one page whose content (header,
///   footer, rules: whatever is the same on every page) is stamped onto every page.
/// - `{"part": "body", "chunk": i, "chunks": n}` with `/data.json` = `body[i]`: one chunk
///   of the listing, without header or footer. Mark where each group starts with
///   `#metadata("key") <ec-anchor>`.
/// - `{"part": "front", "front_pages": f, "anchors": {"key": {"page": p, "y": pt}}}` with
///   `/data.json` = `front`: title, summary, table of contents. `p` is the absolute page
///   of each anchor (front matter included), `y` its height on the page: link to it with
///   `link((page: p, x: 0pt, y: y * 1pt))`.
/// - `{"part": "numbers", "total_pages": t}` with `/data.json` = `front`: exactly `t`
///   pages, the i-th overlaid on page i ("Page i of t").
///
/// Stamped pages should have the size of the other parts' pages and nothing but the stamp.
/// Headings of every part become the PDF's outline.
pub struct Report<'a> {
    pub template: Template<'a>,
    pub front: Vec<u8>,
    pub body: Vec<Vec<u8>>,
}

#[derive(Serialize)]
#[serde(tag = "part", rename_all = "snake_case")]
enum Part<'a> {
    Furniture,
    Body {
        chunk: usize,
        chunks: usize,
    },
    Front {
        front_pages: usize,
        anchors: &'a BTreeMap<String, AnchorAt>,
    },
    Numbers {
        total_pages: usize,
    },
}

impl Part<'_> {
    fn to_json(&self) -> Vec<u8> {
        // A map of strings and numbers always serialises.
        serde_json::to_vec(self).unwrap_or_default()
    }
}

#[derive(Serialize, Clone, Copy)]
struct AnchorAt {
    page: usize,
    y: f64,
}

/// How many body chunks are laid out at once: callers cut the body into a multiple of
/// this many chunks of equal weight so the workers finish together.
pub fn workers() -> usize {
    std::thread::available_parallelism()
        .map_or(1, NonZeroUsize::get)
        .clamp(1, MAX_WORKERS)
}

/// Lays out the report's parts and writes them as one PDF.
pub fn render_report(report: Report<'_>, opts: &Options) -> Result<Vec<u8>, PdfError> {
    let result = assemble(report, opts);
    // A warm worker keeps nothing of this report in typst's caches.
    comemo::evict(0);
    result
}

fn assemble(report: Report<'_>, opts: &Options) -> Result<Vec<u8>, PdfError> {
    let template = report.template;
    let front_data = Bytes::new(report.front);
    let furniture = layout(
        &template,
        front_data.clone(),
        Part::Furniture.to_json(),
        opts,
    )?;
    let furniture = match furniture.pages() {
        [page] => page.frame.clone(),
        pages => {
            return Err(PdfError::Layout(format!(
                "the furniture part laid out {} pages instead of one",
                pages.len()
            )));
        }
    };

    let body = layout_body(&template, report.body, &furniture, opts)?;

    // Anchors relative to the body's first page.
    let mut relative = Vec::new();
    let mut before = 0;
    for part in &body {
        for (key, page, y) in &part.anchors {
            relative.push((key.as_str(), before + page, *y));
        }
        before += part.pages;
    }
    let body_pages = before;

    let mut front_pages = 1;
    let mut settled = None;
    for _ in 0..FRONT_ATTEMPTS {
        let anchors: BTreeMap<String, AnchorAt> = relative
            .iter()
            .map(|&(key, page, y)| {
                let page = front_pages + page;
                (key.to_string(), AnchorAt { page, y })
            })
            .collect();
        let part = Part::Front {
            front_pages,
            anchors: &anchors,
        };
        // The page numbers need the total, which the front matter's length decides: they
        // are laid out on another core beside each attempt, for the length it assumes,
        // and kept when the attempt confirms it.
        let total = front_pages + body_pages;
        let (doc, numbers) = std::thread::scope(|s| {
            let numbers = s.spawn(|| page_numbers(&template, &front_data, total, opts));
            let doc = layout(&template, front_data.clone(), part.to_json(), opts);
            (doc, numbers.join())
        });
        let doc = doc?;
        let laid = doc.pages().len();
        let numbers = (laid == front_pages).then_some(numbers);
        let done = laid == front_pages || relative.is_empty();
        front_pages = laid;
        if done {
            settled = Some((doc, numbers));
            break;
        }
    }
    let Some((front, numbers)) = settled else {
        return Err(PdfError::Layout(format!(
            "the front matter's length does not settle (last {front_pages} pages)"
        )));
    };
    let numbers = match numbers {
        Some(Ok(numbers)) => numbers?,
        Some(Err(_)) => {
            return Err(PdfError::Layout("the page numbers' layout panicked".into()));
        }
        // Without anchors the front matter's length needs no confirming.
        None => page_numbers(&template, &front_data, front_pages + body_pages, opts)?,
    };
    let info = front.info().clone();
    let front = finish_part(front.pages().to_vec(), info.clone(), &furniture, opts)?;

    let mut parts = Vec::with_capacity(body.len() + 1);
    parts.push(front);
    parts.extend(body);
    merge::merge(parts, numbers, &info, opts)
}

/// The numbers part for a report of `total` pages, parsed for the merge.
fn page_numbers(
    template: &Template<'_>,
    front_data: &Bytes,
    total: usize,
    opts: &Options,
) -> Result<lopdf::Document, PdfError> {
    let numbers = layout(
        template,
        front_data.clone(),
        Part::Numbers { total_pages: total }.to_json(),
        opts,
    )?;
    if numbers.pages().len() != total {
        return Err(PdfError::Layout(format!(
            "the numbers part laid out {} pages for {total}",
            numbers.pages().len()
        )));
    }
    merge::parse(&export(&numbers, opts)?)
}

/// Hands each chunk's unfinished last page to the next chunk, in order: a chunk is joined
/// once the one before it is (joining is quick; laying out, before it, and writing the PDF,
/// after it, run in parallel).
struct Relay {
    slots: Mutex<Vec<Slot>>,
    changed: Condvar,
}

enum Slot {
    Waiting,
    Ready(Box<Tail>),
    Taken,
    Failed,
}

impl Relay {
    fn new(count: usize) -> Relay {
        Relay {
            slots: Mutex::new((0..count).map(|_| Slot::Waiting).collect()),
            changed: Condvar::new(),
        }
    }

    /// The tail of chunk `i - 1`, once it is joined.
    fn take(&self, i: usize) -> Result<Tail, PdfError> {
        let Some(before) = i.checked_sub(1) else {
            return Ok(Tail::default());
        };
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            match slots
                .get_mut(before)
                .map(|s| std::mem::replace(s, Slot::Taken))
            {
                Some(Slot::Ready(tail)) => return Ok(*tail),
                Some(Slot::Waiting) => {
                    slots[before] = Slot::Waiting;
                    slots = self.changed.wait(slots).unwrap_or_else(|e| e.into_inner());
                }
                _ => {
                    return Err(PdfError::Layout(format!(
                        "body chunk {before} failed, so chunk {i} cannot follow it"
                    )));
                }
            }
        }
    }

    fn put(&self, i: usize, slot: Slot) {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = slots.get_mut(i) {
            *s = slot;
        }
        self.changed.notify_all();
    }
}

/// Chunk `i`'s turn in the relay: unless its tail is handed on, it fails (also when the
/// worker panics), so the chunk after it never waits in vain.
struct Turn<'r> {
    relay: &'r Relay,
    i: usize,
    done: bool,
}

impl Turn<'_> {
    fn hand_on(&mut self, tail: Tail) {
        self.relay.put(self.i, Slot::Ready(Box::new(tail)));
        self.done = true;
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.relay.put(self.i, Slot::Failed);
        }
    }
}

/// Lays out the body chunks on the workers, each taking the next chunk as soon as it is
/// done with one (no round waits for its slowest chunk), joins each to the one before and
/// writes it as PDF at once. typst's caches are evicted after every chunk, so memory stays
/// that of one chunk per worker.
fn layout_body(
    template: &Template<'_>,
    chunks: Vec<Vec<u8>>,
    furniture: &Frame,
    opts: &Options,
) -> Result<Vec<PartPdf>, PdfError> {
    let count = chunks.len();
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let relay = Relay::new(count);
    let finished = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers().min(count))
            .map(|_| {
                s.spawn(|| {
                    let mut mine = Vec::new();
                    while !failed.load(Ordering::Relaxed) {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(data) = chunks.get(i) else { break };
                        let mut turn = Turn {
                            relay: &relay,
                            i,
                            done: false,
                        };
                        let part = Part::Body {
                            chunk: i,
                            chunks: count,
                        };
                        let result =
                            layout(template, Bytes::new(data.clone()), part.to_json(), opts)
                                .and_then(|doc| {
                                    let info = doc.info().clone();
                                    // Dropped so the pages' frames are not shared and stamping
                                    // does not copy them.
                                    let pages = doc.pages().to_vec();
                                    drop(doc);
                                    let joined = join::join(relay.take(i)?, pages, i + 1 == count);
                                    turn.hand_on(joined.tail);
                                    finish_part(joined.pages, info, furniture, opts)
                                });
                        drop(turn);
                        // Evicting while another worker lays out only costs that worker reuse.
                        comemo::evict(0);
                        failed.fetch_or(result.is_err(), Ordering::Relaxed);
                        mine.push((i, result));
                    }
                    mine
                })
            })
            .collect();
        // Joined here, a worker that panicked (a typst bug) leaves its chunks unfinished
        // and fails the report rather than the process.
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect::<Vec<_>>()
    });
    let mut slots: Vec<Option<Result<PartPdf, PdfError>>> = (0..count).map(|_| None).collect();
    for (i, result) in finished {
        slots[i] = Some(result);
    }
    // After a failure the other workers stop: report the failure, not the chunks skipped.
    let mut done = Vec::with_capacity(count);
    let mut skipped = false;
    for slot in slots {
        match slot {
            Some(Ok(part)) => done.push(part),
            Some(Err(e)) => return Err(e),
            None => skipped = true,
        }
    }
    if skipped {
        return Err(PdfError::Layout(
            "a body chunk's layout panicked or did not finish".into(),
        ));
    }
    Ok(done)
}

/// Where the anchors (`#metadata("key") <ec-anchor>`) and bookmarked headings of a page
/// start, read from the introspection tags typst left in its frames (they move with their
/// content when the join cuts pages again).
fn collect_marks(
    frame: &Frame,
    ts: Transform,
    page: usize,
    anchors: &mut Vec<(String, usize, f64)>,
    headings: &mut Vec<Heading>,
) {
    let anchor = Label::new(PicoStr::intern(ANCHOR_LABEL));
    walk(frame, ts, &mut |pos, item, ts| {
        if let FrameItem::Tag(Tag::Start(elem, _)) = item {
            let y = pos.transform(ts).y.to_pt();
            if let Some(meta) = elem.to_packed::<MetadataElem>()
                && elem.label().is_some()
                && elem.label() == anchor
            {
                let key = match &meta.value {
                    Value::Str(s) => s.to_string(),
                    other => other.repr().to_string(),
                };
                anchors.push((key, page, y));
            }
            if let Some(heading) = elem.to_packed::<HeadingElem>() {
                let styles = StyleChain::default();
                let bookmarked = heading
                    .bookmarked
                    .get(styles)
                    .unwrap_or_else(|| heading.outlined.get(styles));
                if bookmarked {
                    headings.push(Heading {
                        // One line in the outline, even for a heading laid out on several.
                        title: heading
                            .body
                            .plain_text()
                            .split_whitespace()
                            .collect::<Vec<_>>()
                            .join(" "),
                        level: heading.resolve_level(styles).get(),
                        page,
                        y,
                    });
                }
            }
        }
    });
}

/// Calls `visit` with every item of `frame` and of the groups in it, each with its
/// position and the transform to the page.
fn walk(frame: &Frame, ts: Transform, visit: &mut impl FnMut(Point, &FrameItem, Transform)) {
    for (pos, item) in frame.items() {
        if let FrameItem::Group(group) = item {
            let inner = ts
                .pre_concat(Transform::translate(pos.x, pos.y))
                .pre_concat(group.transform);
            walk(&group.frame, inner, visit);
        }
        visit(*pos, item, ts);
    }
}

/// Reads what the merge needs from a part's pages, stamps the furniture onto them and
/// writes them as PDF. A part may have no page left (a short chunk handed all of it on).
fn finish_part(
    mut pages: Vec<Page>,
    info: DocumentInfo,
    furniture: &Frame,
    opts: &Options,
) -> Result<PartPdf, PdfError> {
    let mut anchors = Vec::new();
    let mut headings = Vec::new();
    let mut links = Vec::new();
    for (i, page) in pages.iter().enumerate() {
        collect_marks(
            &page.frame,
            Transform::identity(),
            i + 1,
            &mut anchors,
            &mut headings,
        );
        collect_links(&page.frame, Transform::identity(), i + 1, &mut links);
    }
    if pages.is_empty() {
        return Ok(PartPdf {
            pdf: lopdf::Document::new(),
            pages: 0,
            anchors,
            headings,
            links,
        });
    }
    for page in &mut pages {
        page.frame.push(
            Point::zero(),
            FrameItem::Group(GroupItem::new(furniture.clone())),
        );
    }
    let count = pages.len();
    let stamped = PagedDocument::new(pages.into_iter().collect(), info);
    Ok(PartPdf {
        pdf: merge::parse(&export(&stamped, opts)?)?,
        pages: count,
        anchors,
        headings,
        links,
    })
}

/// Links to a position on a page (the front matter's contents point into the body), with
/// their rectangles: a link to a page its part does not have is taken as a page of the
/// assembled report, which the part's own PDF cannot hold.
fn collect_links(frame: &Frame, ts: Transform, page: usize, out: &mut Vec<LinkOut>) {
    walk(frame, ts, &mut |pos, item, ts| {
        if let FrameItem::Link(Destination::Position(dest), size) = item {
            let a = pos.transform(ts);
            let b = Point::new(pos.x + size.x, pos.y + size.y).transform(ts);
            out.push(LinkOut {
                page,
                rect: [a.x.to_pt(), a.y.to_pt(), b.x.to_pt(), b.y.to_pt()],
                dest_page: dest.page.get(),
                dest_y: dest.point.y.to_pt(),
            });
        }
    });
}
