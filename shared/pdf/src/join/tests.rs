//! Tests of the join on pages made of numbered bars (one unit each): every unit kept once
//! and in order, the pages where chunks meet filled, and the rest of a chunk kept as laid
//! out once a page lines up with one of its own.

use typst::foundations::{Content, Dict, Label, NativeElement, Smart, Value};
use typst::introspection::{Location, MetadataElem, Tag, TagFlags};
use typst::layout::{Abs, Frame, FrameItem, Point, Sides, Size};
use typst::syntax::Span;
use typst::utils::PicoStr;
use typst::visualize::{Color, FillRule, Geometry, Paint, Shape};
use typst_layout::Page;

use super::{AREA_LABEL, BREAK_LABEL, Tail, join};

const TOP: f64 = 50.0;
const HEIGHT: f64 = 60.0;
const GAP: f64 = 10.0;
/// Bars per full page: 50 + 10 × 60 + 9 × 10 = 740 is the content's bottom.
const PER_PAGE: usize = 10;

/// A page of bars numbered from `first`: the bar's width is its number.
fn page(first: usize, bars: usize) -> Page {
    let mut frame = Frame::hard(Size::new(Abs::pt(595.0), Abs::pt(842.0)));
    for i in 0..bars {
        let shape = Shape {
            geometry: Geometry::Rect(Size::new(Abs::pt((first + i + 1) as f64), Abs::pt(HEIGHT))),
            fill: Some(Paint::Solid(Color::BLACK)),
            fill_rule: FillRule::default(),
            stroke: None,
        };
        let y = TOP + i as f64 * (HEIGHT + GAP);
        frame.push(
            Point::new(Abs::pt(28.0), Abs::pt(y)),
            FrameItem::Shape(shape, Span::detached()),
        );
    }
    Page {
        frame,
        bleed: Sides::splat(Abs::zero()),
        fill: Smart::Auto,
        numbering: None,
        supplement: Content::empty(),
        number: 1,
    }
}

/// The tag of `#metadata(value) <label>`.
fn marker(label: &str, value: Value, id: u128) -> FrameItem {
    let label = Label::new(PicoStr::intern(label)).expect("label");
    let elem = MetadataElem::new(value)
        .pack()
        .labelled(label)
        .located(Location::new(id));
    FrameItem::Tag(Tag::Start(
        elem,
        TagFlags {
            introspectable: true,
            tagged: false,
        },
    ))
}

/// Says where the content area ends, as the templates do at the start of a body chunk.
fn declare_area(page: &mut Page) {
    let mut dict = Dict::new();
    dict.insert(
        "bottom".into(),
        Value::Float(TOP + 10.0 * HEIGHT + 9.0 * GAP),
    );
    let tag = marker(AREA_LABEL, Value::Dict(dict), 1);
    page.frame
        .prepend(Point::new(Abs::pt(28.0), Abs::pt(TOP)), tag);
}

/// A chunk: full pages, then a last page of `rest` bars.
fn chunk(first: usize, full: usize, rest: usize) -> Vec<Page> {
    let mut pages: Vec<Page> = (0..full)
        .map(|p| page(first + p * PER_PAGE, PER_PAGE))
        .collect();
    pages.push(page(first + full * PER_PAGE, rest));
    pages
}

/// The bars of each page: (number, top).
fn bars(pages: &[Page]) -> Vec<Vec<(usize, f64)>> {
    pages
        .iter()
        .map(|p| {
            p.frame
                .items()
                .filter_map(|(pos, item)| match item {
                    FrameItem::Shape(s, _) => match s.geometry {
                        Geometry::Rect(size) => Some((size.x.to_pt() as usize, pos.y.to_pt())),
                        _ => None,
                    },
                    _ => None,
                })
                .collect()
        })
        .collect()
}

#[test]
fn chunks_continue_on_the_page_where_the_one_before_ended() {
    // 23 bars, then 13: laid out alone they take 3 + 2 pages, the 3rd of 3 bars.
    let first = join(Tail::default(), chunk(0, 2, 3), false);
    assert_eq!(first.pages.len(), 2, "the unfinished page is handed on");
    let second = join(first.tail, chunk(23, 1, 3), true);
    let mut pages = first.pages;
    pages.extend(second.pages);
    let bars = bars(&pages);
    assert_eq!(
        bars.iter().map(Vec::len).collect::<Vec<_>>(),
        vec![10, 10, 10, 6],
        "36 bars fill three pages and start a fourth"
    );
    let numbers: Vec<usize> = bars.iter().flatten().map(|b| b.0).collect();
    assert_eq!(
        numbers,
        (1..=36).collect::<Vec<_>>(),
        "every bar once, in order"
    );
    for page in &bars {
        for (i, (_, top)) in page.iter().enumerate() {
            let want = TOP + i as f64 * (HEIGHT + GAP);
            assert!((top - want).abs() < 0.01, "bar at {top}, not {want}");
        }
    }
}

#[test]
fn a_chunk_that_lines_up_again_is_kept_as_laid_out() {
    // The first chunk ends on a full page: handed on, it fills a page of its own, and the
    // second chunk's pages then start where they started.
    let first = join(Tail::default(), chunk(0, 1, PER_PAGE), false);
    assert_eq!(first.pages.len(), 1);
    let laid = chunk(20, 2, 4);
    let second = join(first.tail, laid.clone(), true);
    assert_eq!(second.pages.len(), 4);
    for (got, want) in second.pages[1..].iter().zip(&laid) {
        let same = typst::utils::hash128(&got.frame) == typst::utils::hash128(&want.frame);
        assert!(same, "a page was cut again");
    }
}

#[test]
fn short_chunks_share_a_page() {
    // No chunk fills a page: the declared content area says how much more fits.
    let mut first = chunk(0, 0, 3);
    declare_area(&mut first[0]);
    let first = join(Tail::default(), first, false);
    assert!(first.pages.is_empty());
    let second = join(first.tail, chunk(3, 0, 4), false);
    assert!(second.pages.is_empty());
    let third = join(second.tail, chunk(7, 0, 5), true);
    let bars = bars(&third.pages);
    assert_eq!(bars.iter().map(Vec::len).collect::<Vec<_>>(), vec![10, 2]);
    let numbers: Vec<usize> = bars.iter().flatten().map(|b| b.0).collect();
    assert_eq!(numbers, (1..=12).collect::<Vec<_>>());
}

#[test]
fn a_page_the_template_starts_stays_a_new_page() {
    // The second chunk opens a section (`pagebreak()` and `<ec-break>`): the first chunk's
    // last page stays short and the section starts a page, as laid out.
    let first = join(Tail::default(), chunk(0, 1, 3), false);
    let mut second = chunk(13, 1, 2);
    let brk = marker(BREAK_LABEL, Value::None, 2);
    second[0]
        .frame
        .prepend(Point::new(Abs::pt(28.0), Abs::pt(TOP)), brk);
    let joined = join(first.tail, second, true);
    let mut pages = first.pages;
    pages.extend(joined.pages);
    assert_eq!(
        bars(&pages).iter().map(Vec::len).collect::<Vec<_>>(),
        vec![10, 3, 10, 2]
    );
}
