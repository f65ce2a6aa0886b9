//! Joins the PDFs of a report's parts into one: their pages in order under one page tree,
//! each page number overlaid on its page, one outline built from every part's headings,
//! and the links of one part into another added as annotations.
//!
//! Each part keeps its own font subsets (a part's PDF is written before the next part is
//! laid out, which is what bounds memory); the output is otherwise one ordinary PDF.
//! Parts are parsed where they are written ([`parse`], on the layout workers), so the
//! merge, which runs alone, only moves objects.

use lopdf::{Dictionary, Document, Object, ObjectId, Stream, StringFormat, dictionary};
use typst::model::DocumentInfo;

use crate::{Options, PdfError};

/// One part written as PDF, with what the assembly needs to know about it.
pub(crate) struct PartPdf {
    pub pdf: Document,
    pub pages: usize,
    /// `(key, page in the part, y from the top in pt)` of each anchor.
    pub anchors: Vec<(String, usize, f64)>,
    pub headings: Vec<Heading>,
    pub links: Vec<LinkOut>,
}

/// A heading of a part: an outline entry.
pub(crate) struct Heading {
    pub title: String,
    pub level: usize,
    /// Page in the part, from 1.
    pub page: usize,
    /// From the top of the page, in pt.
    pub y: f64,
}

/// A link to a position on a page.
pub(crate) struct LinkOut {
    /// Page in the part, from 1.
    pub page: usize,
    /// `x0, y0, x1, y1` from the page's top left, in pt.
    pub rect: [f64; 4],
    /// Page of the whole report, from 1, when outside the part.
    pub dest_page: usize,
    pub dest_y: f64,
}

/// Name of the page-number form in each page's resources.
const NUMBER_FORM: &str = "ECPageNumber";
/// How far above its target a link or outline entry lands, as typst's own links do.
const DEST_ABOVE: f64 = 10.0;

fn pdf_error(e: lopdf::Error) -> PdfError {
    PdfError::Export(format!("assembling the parts: {e}"))
}

/// Parses a part's PDF for [`merge`].
pub(crate) fn parse(pdf: &[u8]) -> Result<Document, PdfError> {
    Document::load_mem(pdf).map_err(pdf_error)
}

/// Moves every object of `doc` into `out` under fresh ids; returns its pages in order.
fn import(out: &mut Document, mut doc: Document) -> Result<Vec<ObjectId>, PdfError> {
    doc.renumber_objects_with(out.max_id + 1);
    let pages = doc.get_pages().into_values().collect();
    out.max_id = out.max_id.max(doc.max_id);
    out.objects.append(&mut doc.objects);
    Ok(pages)
}

/// A dictionary entry, followed when it is a reference.
fn resolve(doc: &Document, dict: &Dictionary, key: &[u8]) -> Option<Object> {
    match dict.get(key).ok()? {
        Object::Reference(id) => doc.get_object(*id).ok().cloned(),
        other => Some(other.clone()),
    }
}

fn page_height(doc: &Document, page: &Dictionary) -> f64 {
    resolve(doc, page, b"MediaBox")
        .and_then(|b| {
            b.as_array()
                .ok()
                .and_then(|a| a.get(3).and_then(|h| h.as_float().ok()))
        })
        .map_or(842.0, f64::from)
}

/// A page of the numbers part as a form XObject that can be drawn onto another page.
fn page_as_form(out: &mut Document, page_id: ObjectId) -> Result<ObjectId, PdfError> {
    let page = out.get_dictionary(page_id).map_err(pdf_error)?.clone();
    let content = out.get_page_content(page_id);
    let mut dict = dictionary! {
        "Type" => "XObject",
        "Subtype" => "Form",
    };
    for key in [b"MediaBox".as_slice(), b"Resources"] {
        if let Some(value) = resolve(out, &page, key) {
            let name = if key == b"MediaBox" {
                b"BBox".as_slice()
            } else {
                key
            };
            dict.set(name, value);
        }
    }
    let mut form = Stream::new(dict, content);
    // An empty stream cannot be compressed; its raw form is as good.
    let _ = form.compress();
    Ok(out.add_object(form))
}

/// Draws `form` over the page: the page's own content is wrapped in `q … Q` so the
/// form starts from the default graphics state.
fn overlay(
    out: &mut Document,
    page_id: ObjectId,
    form: ObjectId,
    open: ObjectId,
    close_and_draw: ObjectId,
) -> Result<(), PdfError> {
    let page = out.get_dictionary(page_id).map_err(pdf_error)?.clone();
    let mut resources = resolve(out, &page, b"Resources")
        .and_then(|r| r.as_dict().ok().cloned())
        .unwrap_or_default();
    let mut xobjects = resolve(out, &resources, b"XObject")
        .and_then(|x| x.as_dict().ok().cloned())
        .unwrap_or_default();
    xobjects.set(NUMBER_FORM, Object::Reference(form));
    resources.set("XObject", xobjects);
    let mut contents = vec![Object::Reference(open)];
    match page.get(b"Contents") {
        Ok(Object::Array(items)) => contents.extend(items.iter().cloned()),
        Ok(other) => contents.push(other.clone()),
        Err(_) => {}
    }
    contents.push(Object::Reference(close_and_draw));
    let page = out.get_dictionary_mut(page_id).map_err(pdf_error)?;
    page.set("Resources", resources);
    page.set("Contents", contents);
    Ok(())
}

/// A PDF text string: literal when ASCII, UTF-16BE otherwise.
fn text_string(s: &str) -> Object {
    if s.is_ascii() {
        Object::String(s.as_bytes().to_vec(), StringFormat::Literal)
    } else {
        let mut bytes = vec![0xFE, 0xFF];
        bytes.extend(s.encode_utf16().flat_map(u16::to_be_bytes));
        Object::String(bytes, StringFormat::Hexadecimal)
    }
}

/// `[page /XYZ left top null]`: the view of `page` at `y` pt from its top.
fn destination(page: ObjectId, height: f64, x: f64, y: f64) -> Object {
    let top = (height - (y - DEST_ABOVE).max(0.0)) as f32;
    Object::Array(vec![
        Object::Reference(page),
        Object::Name(b"XYZ".to_vec()),
        Object::Real(x as f32),
        Object::Real(top),
        Object::Null,
    ])
}

/// An outline entry and its nested entries, as indices into the flat list.
struct Node {
    title: String,
    dest: Object,
    children: Vec<usize>,
}

/// Nests entries by level: each entry goes under the closest earlier entry of a lower
/// level; returns the top-level entries.
fn nest(nodes: &mut [Node], levels: &[usize]) -> Vec<usize> {
    let mut roots = Vec::new();
    let mut stack: Vec<(usize, usize)> = Vec::new();
    for (i, &level) in levels.iter().enumerate() {
        while stack.last().is_some_and(|&(l, _)| l >= level) {
            stack.pop();
        }
        match stack.last() {
            Some(&(_, parent)) => nodes[parent].children.push(i),
            None => roots.push(i),
        }
        stack.push((level, i));
    }
    roots
}

/// Writes `items` (siblings) under `parent`; returns their ids.
fn write_outline(
    out: &mut Document,
    nodes: &[Node],
    items: &[usize],
    parent: ObjectId,
) -> Vec<ObjectId> {
    let ids: Vec<ObjectId> = items.iter().map(|_| out.new_object_id()).collect();
    for (n, (&item, &id)) in items.iter().zip(&ids).enumerate() {
        let node = &nodes[item];
        let mut dict = dictionary! {
            "Title" => text_string(&node.title),
            "Parent" => parent,
            "Dest" => node.dest.clone(),
        };
        if n > 0 {
            dict.set("Prev", ids[n - 1]);
        }
        if let Some(next) = ids.get(n + 1) {
            dict.set("Next", *next);
        }
        let children = write_outline(out, nodes, &node.children, id);
        if let (Some(first), Some(last)) = (children.first(), children.last()) {
            dict.set("First", *first);
            dict.set("Last", *last);
            // Negative: closed, so a long report opens on its top-level sections.
            dict.set("Count", -(children.len() as i64));
        }
        out.objects.insert(id, Object::Dictionary(dict));
    }
    ids
}

/// `D:YYYYMMDDHHmmSSZ`.
fn pdf_date(opts: &Options) -> Object {
    let t = opts.generated_at.to_offset(time::UtcOffset::UTC);
    let s = format!(
        "D:{:04}{:02}{:02}{:02}{:02}{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    Object::String(s.into_bytes(), StringFormat::Literal)
}

/// Joins the parts (in order) into one PDF and overlays page `i` of `numbers` on page `i`.
pub(crate) fn merge(
    mut parts: Vec<PartPdf>,
    numbers: Document,
    info: &DocumentInfo,
    opts: &Options,
) -> Result<Vec<u8>, PdfError> {
    let mut out = Document::with_version("1.7");
    let mut pages: Vec<ObjectId> = Vec::new();
    let mut first_page = Vec::with_capacity(parts.len());
    for part in &mut parts {
        if part.pages == 0 {
            // A chunk whose every page went on to the next one.
            first_page.push(pages.len());
            continue;
        }
        let ids = import(&mut out, std::mem::take(&mut part.pdf))?;
        if ids.len() != part.pages {
            return Err(PdfError::Export(format!(
                "a part laid out {} pages but its PDF has {}",
                part.pages,
                ids.len()
            )));
        }
        first_page.push(pages.len());
        pages.extend(ids);
    }
    let number_pages = import(&mut out, numbers)?;
    if number_pages.len() != pages.len() {
        return Err(PdfError::Export(format!(
            "{} page numbers for {} pages",
            number_pages.len(),
            pages.len()
        )));
    }
    let heights: Vec<f64> = pages
        .iter()
        .map(|id| {
            out.get_dictionary(*id)
                .map_or(842.0, |page| page_height(&out, page))
        })
        .collect();

    let open = out.add_object(Stream::new(Dictionary::new(), b"q\n".to_vec()));
    let close_and_draw = out.add_object(Stream::new(
        Dictionary::new(),
        format!("Q\nq /{NUMBER_FORM} Do Q\n").into_bytes(),
    ));
    let tree = out.new_object_id();
    for (&page, &number) in pages.iter().zip(&number_pages) {
        let form = page_as_form(&mut out, number)?;
        overlay(&mut out, page, form, open, close_and_draw)?;
        out.get_dictionary_mut(page)
            .map_err(pdf_error)?
            .set("Parent", tree);
    }
    out.objects.insert(
        tree,
        Object::Dictionary(dictionary! {
            "Type" => "Pages",
            "Kids" => pages.iter().map(|id| Object::Reference(*id)).collect::<Vec<_>>(),
            "Count" => pages.len() as i64,
        }),
    );

    // Links from one part into another.
    for (part, &first) in parts.iter().zip(&first_page) {
        for link in part.links.iter().filter(|l| l.dest_page > part.pages) {
            let (Some(&page), Some(&target)) = (
                pages.get(first + link.page - 1),
                pages.get(link.dest_page - 1),
            ) else {
                continue;
            };
            let height = heights[first + link.page - 1];
            let [x0, y0, x1, y1] = link.rect;
            let annot = out.add_object(dictionary! {
                "Type" => "Annot",
                "Subtype" => "Link",
                "Rect" => vec![
                    Object::Real(x0 as f32),
                    Object::Real((height - y1) as f32),
                    Object::Real(x1 as f32),
                    Object::Real((height - y0) as f32),
                ],
                "Border" => vec![Object::Integer(0), Object::Integer(0), Object::Integer(0)],
                "Dest" => destination(target, heights[link.dest_page - 1], 0.0, link.dest_y),
            });
            let page_dict = out.get_dictionary(page).map_err(pdf_error)?.clone();
            let mut annots = resolve(&out, &page_dict, b"Annots")
                .and_then(|a| a.as_array().ok().cloned())
                .unwrap_or_default();
            annots.push(Object::Reference(annot));
            out.get_dictionary_mut(page)
                .map_err(pdf_error)?
                .set("Annots", annots);
        }
    }

    // One outline from every part's headings.
    let mut nodes = Vec::new();
    let mut levels = Vec::new();
    for (part, &first) in parts.iter().zip(&first_page) {
        for h in &part.headings {
            let index = first + h.page - 1;
            if let Some(&page) = pages.get(index) {
                nodes.push(Node {
                    title: h.title.clone(),
                    dest: destination(page, heights[index], 0.0, h.y),
                    children: Vec::new(),
                });
                levels.push(h.level);
            }
        }
    }
    let roots = nest(&mut nodes, &levels);
    let mut catalog = dictionary! {
        "Type" => "Catalog",
        "Pages" => tree,
    };
    if !roots.is_empty() {
        let outline = out.new_object_id();
        let top = write_outline(&mut out, &nodes, &roots, outline);
        let mut dict = dictionary! {
            "Type" => "Outlines",
            "Count" => top.len() as i64,
        };
        if let (Some(first), Some(last)) = (top.first(), top.last()) {
            dict.set("First", *first);
            dict.set("Last", *last);
        }
        out.objects.insert(outline, Object::Dictionary(dict));
        catalog.set("Outlines", outline);
        catalog.set("PageMode", "UseOutlines");
    }
    let catalog = out.add_object(catalog);

    let mut meta = dictionary! {
        "Creator" => text_string("ExportCenter"),
        "Producer" => text_string("ExportCenter (typst)"),
        "CreationDate" => pdf_date(opts),
        "ModDate" => pdf_date(opts),
    };
    if let Some(title) = &info.title {
        meta.set("Title", text_string(title));
    }
    if !info.author.is_empty() {
        let authors: Vec<&str> = info.author.iter().map(|a| a.as_str()).collect();
        meta.set("Author", text_string(&authors.join(", ")));
    }
    let meta = out.add_object(meta);
    out.trailer.set("Root", catalog);
    out.trailer.set("Info", meta);
    // The document id follows the caller's ident, so the same export gives the same bytes.
    let id = typst::utils::hash128(&opts.ident).to_be_bytes().to_vec();
    out.trailer.set(
        "ID",
        vec![
            Object::String(id.clone(), StringFormat::Hexadecimal),
            Object::String(id, StringFormat::Hexadecimal),
        ],
    );
    // The parts' own catalogs, page trees, outlines and metadata are no longer reachable.
    out.prune_objects();
    out.renumber_objects();
    let mut bytes = Vec::new();
    out.save_to(&mut bytes)
        .map_err(|e| PdfError::Export(format!("writing the PDF: {e}")))?;
    Ok(bytes)
}
