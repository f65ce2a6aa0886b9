//! Joins a report's body chunks into one flow of filled pages.
//!
//! Each body chunk is laid out as a document of its own (in parallel, see `report`), so it
//! starts on a fresh page and ends on a page only partly filled: left alone, every place two
//! chunks meet would show a page with a few lines and the rest blank. Instead, the last page
//! of a chunk is not kept: its content (the *tail*) goes on with the next chunk, whose pages
//! are cut again after it, from the laid-out frames. Nothing is laid out twice: a page's
//! content is split into *units* (a line of text, or a block typst set as one frame) that
//! keep their shapes and their spacing; they are stacked onto new pages and a page is cut
//! where the next unit no longer fits, as typst would have cut it, with typst's rules:
//! a heading is kept with what follows it, a paragraph is not cut to leave one line on
//! either side, and a page starts where the template asked for one (`#metadata("break")
//! <ec-break>`, right after a `pagebreak()`: a section that opens a page does here too).
//! Once a new page starts exactly where one of the chunk's own pages started, the rest of
//! the chunk is kept as typst laid it out.

use std::collections::{HashMap, VecDeque};

use typst::foundations::{Label, Value};
use typst::introspection::{MetadataElem, Tag};
use typst::layout::{Abs, Frame, FrameItem, Point};
use typst::model::HeadingElem;
use typst::utils::PicoStr;
use typst_layout::Page;

/// Label of the metadata that marks a page the template started on purpose.
pub(crate) const BREAK_LABEL: &str = "ec-break";
/// Label of the metadata that says where the body's content area ends on a page:
/// `#metadata((bottom: pt)) <ec-area>` (from the page's top, in pt), laid out at the start
/// of a body chunk. Without it the lowest unit seen stands for the bottom, which is exact
/// to within a line once a chunk has filled a page, and cautious before.
pub(crate) const AREA_LABEL: &str = "ec-area";
/// When the best place to cut a page (by the rules above) would leave it emptier than
/// this, it is cut where it is full instead.
const MIN_FILL: f64 = 0.8;
/// Positions closer than this are the same.
const EPS: f64 = 0.01;

/// A piece of a page that is never split: its items, relative to its top.
#[derive(Clone)]
pub(crate) struct Unit {
    items: Vec<(Point, FrameItem)>,
    height: Abs,
    /// Space above it on its original page; `None` for the first unit of a page.
    gap: Option<Abs>,
    /// Introspection tags precede it: it starts a paragraph or an element, not the next
    /// line of a paragraph.
    tagged: bool,
    /// It must start a page.
    break_before: bool,
    /// It holds a heading: a page does not end right after it.
    sticky: bool,
    /// It is the first unit of this chunk's page (index).
    opens: Option<usize>,
}

/// The content area of the body's pages, as far as the laid-out pages show it: where their
/// first units start, and the lowest any unit ends (typst fills a page to within a line).
#[derive(Clone, Copy)]
struct Area {
    top: Abs,
    bottom: Abs,
}

/// What a chunk hands to the next: the units of its unfinished last page.
#[derive(Default)]
pub(crate) struct Tail {
    units: Vec<Unit>,
    area: Option<Area>,
    declared: Option<Abs>,
    /// The page whose size and settings new pages take.
    page: Option<Page>,
}

/// A chunk's pages, joined to the tail of the chunk before.
pub(crate) struct Joined {
    pub pages: Vec<Page>,
    /// For the next chunk; empty after the last.
    pub tail: Tail,
}

/// The vertical extent of an item placed at `pos`. Text spans from its cap height to its
/// baseline, as typst's lines do when it fits them onto a page.
fn extent(pos: Point, item: &FrameItem) -> Option<(Abs, Abs)> {
    let (top, bottom) = match item {
        FrameItem::Tag(_) => return None,
        FrameItem::Text(t) => (pos.y - t.font.metrics().cap_height.at(t.size), pos.y),
        FrameItem::Group(g) => (pos.y, pos.y + g.frame.height()),
        FrameItem::Shape(s, _) => {
            let bbox = s.bbox(true);
            (pos.y + bbox.min.y, pos.y + bbox.max.y)
        }
        FrameItem::Image(_, size, _) | FrameItem::Link(_, size) => (pos.y, pos.y + size.y),
    };
    Some((top.min(bottom), top.max(bottom)))
}

/// The bottom an `<ec-area>` marker among the items (or in any group in them) declares.
fn declared_bottom(items: &[(Point, FrameItem)], area: Option<Label>) -> Option<Abs> {
    items.iter().find_map(|(_, item)| match item {
        FrameItem::Tag(Tag::Start(elem, _)) if area.is_some() && elem.label() == area => {
            let meta = elem.to_packed::<MetadataElem>()?;
            let Value::Dict(dict) = &meta.value else {
                return None;
            };
            match dict.get("bottom").ok()? {
                Value::Float(f) => Some(Abs::pt(*f)),
                Value::Int(i) => Some(Abs::pt(*i as f64)),
                _ => None,
            }
        }
        FrameItem::Group(g) => declared_bottom(g.frame.items().as_slice(), area),
        _ => None,
    })
}

/// Whether the items (or any group in them) start a page break, and a heading.
fn flags(items: &[(Point, FrameItem)], brk: Option<Label>, out: &mut (bool, bool)) {
    for (_, item) in items {
        match item {
            FrameItem::Tag(Tag::Start(elem, _)) => {
                out.0 |= elem.label() == brk && elem.to_packed::<MetadataElem>().is_some();
                out.1 |= elem.to_packed::<HeadingElem>().is_some();
            }
            FrameItem::Group(g) => flags(g.frame.items().as_slice(), brk, out),
            _ => {}
        }
    }
}

/// A unit being gathered: top, bottom, items at their page positions, tagged.
type Raw = (Abs, Abs, Vec<(Point, FrameItem)>, bool);

/// Splits a page into units, in the order typst placed them. Returns them with the top of
/// the first and the lowest bottom.
fn units(page: &Page, index: usize, brk: Option<Label>) -> (Vec<Unit>, Option<Area>) {
    let mut raw: Vec<Raw> = Vec::new();
    let mut pending: Vec<(Point, FrameItem)> = Vec::new();
    for (pos, item) in page.frame.items() {
        let Some((top, bottom)) = extent(*pos, item) else {
            pending.push((*pos, item.clone()));
            continue;
        };
        match raw.last_mut() {
            Some(cur) if top.to_pt() < cur.1.to_pt() - EPS => {
                cur.2.append(&mut pending);
                cur.2.push((*pos, item.clone()));
                cur.0 = cur.0.min(top);
                cur.1 = cur.1.max(bottom);
            }
            _ => {
                let tagged = !pending.is_empty();
                let mut items = std::mem::take(&mut pending);
                items.push((*pos, item.clone()));
                raw.push((top, bottom, items, tagged));
            }
        }
    }
    if !pending.is_empty() {
        match raw.last_mut() {
            Some(cur) => cur.2.append(&mut pending),
            None => {
                let y = pending[0].0.y;
                raw.push((y, y, pending, true));
            }
        }
    }
    let area = match (raw.first(), raw.iter().map(|r| r.1).reduce(Abs::max)) {
        (Some(first), Some(bottom)) => Some(Area {
            top: first.0,
            bottom,
        }),
        _ => None,
    };
    let mut out = Vec::with_capacity(raw.len());
    let mut prev_bottom: Option<Abs> = None;
    for (i, (top, bottom, items, tagged)) in raw.into_iter().enumerate() {
        let mut found = (false, false);
        flags(&items, brk, &mut found);
        let (break_before, sticky) = found;
        let items = items
            .into_iter()
            .map(|(p, item)| (Point::new(p.x, p.y - top), item))
            .collect();
        out.push(Unit {
            items,
            height: bottom - top,
            gap: prev_bottom.map(|b| (top - b).max(Abs::zero())),
            tagged,
            break_before,
            sticky,
            opens: (i == 0).then_some(index),
        });
        prev_bottom = Some(bottom);
    }
    (out, area)
}

fn merge_area(a: Option<Area>, b: Option<Area>) -> Option<Area> {
    match (a, b) {
        (Some(a), Some(b)) => Some(Area {
            top: a.top.min(b.top),
            bottom: a.bottom.max(b.bottom),
        }),
        (a, b) => a.or(b),
    }
}

/// What kind of line a unit is, as far as the space above it goes: whether it starts a
/// paragraph, whether typst set it as one frame (a line of many runs, a box) or as loose
/// text, and its height. A finding's first line, say, always follows the space between
/// two findings.
fn kind(u: &Unit) -> (bool, bool, i64) {
    let framed = u
        .items
        .iter()
        .find(|(_, i)| !matches!(i, FrameItem::Tag(_)))
        .is_some_and(|(_, i)| matches!(i, FrameItem::Group(_)));
    (u.tagged, framed, (u.height.to_pt() * 10.0).round() as i64)
}

/// The space above each kind of unit, where a page break took it: the median of the
/// spaces seen above units of its kind, else above units that start a paragraph (or not).
struct Gaps {
    by_kind: HashMap<(bool, bool, i64), Abs>,
    paragraph: Abs,
    line: Abs,
}

impl Gaps {
    fn new(units: &[Unit]) -> Gaps {
        fn median(mut gaps: Vec<f64>) -> Option<Abs> {
            gaps.sort_by(f64::total_cmp);
            gaps.get(gaps.len() / 2).copied().map(Abs::pt)
        }
        let mut seen: HashMap<(bool, bool, i64), Vec<f64>> = HashMap::new();
        for u in units {
            if let Some(gap) = u.gap {
                seen.entry(kind(u)).or_default().push(gap.to_pt());
            }
        }
        let of = |tagged: bool| {
            median(
                seen.iter()
                    .filter(|(k, _)| k.0 == tagged)
                    .flat_map(|(_, g)| g.iter().copied())
                    .collect(),
            )
        };
        let (paragraph, line) = (of(true), of(false));
        let line = line.or(paragraph).unwrap_or_else(|| Abs::pt(4.0));
        Gaps {
            paragraph: paragraph.unwrap_or(line),
            line,
            by_kind: seen
                .into_iter()
                .filter_map(|(k, g)| Some((k, median(g)?)))
                .collect(),
        }
    }

    fn above(&self, u: &Unit) -> Abs {
        u.gap.unwrap_or_else(|| match self.by_kind.get(&kind(u)) {
            Some(gap) => *gap,
            None if u.tagged => self.paragraph,
            None => self.line,
        })
    }
}

/// Builds a page from units placed at their tops.
fn page_of(like: &Page, placed: Vec<(Abs, Unit)>) -> Page {
    let mut frame = Frame::hard(like.frame.size());
    for (top, unit) in placed {
        for (p, item) in unit.items {
            frame.push(Point::new(p.x, top + p.y), item);
        }
    }
    Page {
        frame,
        ..like.clone()
    }
}

/// Where to cut a page holding `cur` that `next` does not fit on: the index of the first
/// unit to move to the next page (`cur.len()`: none).
fn cut(cur: &[(Abs, Unit)], next: &Unit, after: Option<&Unit>, area: Area) -> usize {
    let least = area.top + (area.bottom - area.top) * MIN_FILL;
    for k in (1..=cur.len()).rev() {
        let (top, before) = &cur[k - 1];
        if k < cur.len() && *top + before.height < least {
            break;
        }
        let (x, x_next) = match k.cmp(&(cur.len() - 1)) {
            std::cmp::Ordering::Greater => (next, after),
            std::cmp::Ordering::Equal => (&cur[k].1, Some(next)),
            std::cmp::Ordering::Less => (&cur[k].1, Some(&cur[k + 1].1)),
        };
        if before.sticky {
            continue;
        }
        // A new paragraph, or two lines of this one on each side of the cut.
        let lines_stay = !before.tagged;
        let lines_go = x_next.is_some_and(|n| !n.tagged && !n.break_before);
        if x.tagged || (lines_stay && lines_go) {
            return k;
        }
    }
    cur.len()
}

/// What every page of the join shares.
struct Setting {
    like: Page,
    area: Area,
    declared: Option<Abs>,
    last: bool,
}

/// Units as placed on a page, with the spaces they were placed at.
fn settle(placed: Vec<(Abs, Unit)>) -> Vec<Unit> {
    let mut bottom: Option<Abs> = None;
    placed
        .into_iter()
        .map(|(top, u)| {
            let gap = bottom.map(|b| top - b);
            bottom = Some(top + u.height);
            Unit { gap, ..u }
        })
        .collect()
}

/// Hands the unfinished page on, or ends the report with it.
fn finish(mut pages: Vec<Page>, tail: Vec<Unit>, set: Setting) -> Joined {
    if set.last {
        if !tail.is_empty() {
            pages.push(stack_page(&set.like, tail, set.area));
        }
        return Joined {
            pages,
            tail: Tail::default(),
        };
    }
    let units = tail
        .into_iter()
        .map(|u| Unit { opens: None, ..u })
        .collect();
    Joined {
        pages,
        tail: Tail {
            units,
            area: Some(set.area),
            declared: set.declared,
            page: Some(set.like),
        },
    }
}

/// Joins `pages` (a chunk, as typst laid it out) to `carry` (the previous chunk's tail).
/// Unless `last`, the final page is handed on as the new tail instead of being returned.
pub(crate) fn join(carry: Tail, mut pages: Vec<Page>, last: bool) -> Joined {
    let brk = Label::new(PicoStr::intern(BREAK_LABEL));
    let mut area = carry.area;
    let mut per_page = Vec::with_capacity(pages.len());
    for (i, page) in pages.iter().enumerate() {
        let (u, a) = units(page, i, brk);
        area = merge_area(area, a);
        per_page.push(u);
    }
    let declared = pages.first().and_then(|p| {
        declared_bottom(
            p.frame.items().as_slice(),
            Label::new(PicoStr::intern(AREA_LABEL)),
        )
    });
    let declared = declared.or(carry.declared);
    if let (Some(a), Some(bottom)) = (area.as_mut(), declared) {
        a.bottom = bottom;
    }
    let like = carry.page.clone().or_else(|| pages.first().cloned());
    let (Some(area), Some(like)) = (area, like) else {
        // Nothing laid out at all.
        return Joined {
            pages,
            tail: Tail::default(),
        };
    };
    let set = Setting {
        like,
        area,
        declared,
        last,
    };
    // Pages kept as typst laid them out: the last one is the tail.
    let as_laid = |mut out: Vec<Page>, mut pages: Vec<Page>, mut per_page: Vec<Vec<Unit>>, set| {
        let tail = match last {
            true => Vec::new(),
            false => {
                pages.pop();
                per_page.pop().unwrap_or_default()
            }
        };
        out.append(&mut pages);
        finish(out, tail, set)
    };
    if carry.units.is_empty() {
        // Nothing goes before this chunk: its pages stay as they are.
        return as_laid(Vec::new(), pages, per_page, set);
    }

    let ours: Vec<Unit> = per_page.iter().flatten().cloned().collect();
    let gaps = Gaps::new(&ours);
    let mut queue: VecDeque<Unit> = carry.units.into_iter().chain(ours).collect();
    let mut out: Vec<Page> = Vec::new();
    let mut cur: Vec<(Abs, Unit)> = Vec::new();
    while let Some(u) = queue.pop_front() {
        if cur.is_empty()
            && let Some(p) = u.opens
        {
            // A page starts where one of the chunk's own started: the rest as laid out.
            let rest = pages.split_off(p.min(pages.len()));
            let rest_units = per_page.split_off(p.min(per_page.len()));
            return as_laid(out, rest, rest_units, set);
        }
        if u.break_before && !cur.is_empty() {
            out.push(page_of(&set.like, std::mem::take(&mut cur)));
            queue.push_front(u);
            continue;
        }
        let y = match cur.last() {
            None => set.area.top,
            Some((top, prev)) => *top + prev.height + gaps.above(&u),
        };
        if cur.is_empty() || (y + u.height).to_pt() <= set.area.bottom.to_pt() + EPS {
            cur.push((y, u));
            continue;
        }
        let k = cut(&cur, &u, queue.front(), set.area);
        let moved = cur.split_off(k);
        out.push(page_of(&set.like, std::mem::take(&mut cur)));
        queue.push_front(u);
        for (_, m) in moved.into_iter().rev() {
            queue.push_front(m);
        }
    }
    finish(out, settle(cur), set)
}

/// Stacks units onto one page from the top of the content area, keeping their spaces.
fn stack_page(like: &Page, units: Vec<Unit>, area: Area) -> Page {
    let mut placed = Vec::with_capacity(units.len());
    let mut y = area.top;
    for (i, u) in units.into_iter().enumerate() {
        if i > 0 {
            y += u.gap.unwrap_or_default();
        }
        let height = u.height;
        placed.push((y, u));
        y += height;
    }
    page_of(like, placed)
}

#[cfg(test)]
mod tests;
