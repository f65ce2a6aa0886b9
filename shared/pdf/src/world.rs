//! The typst `World` of one compilation: the template's sources, the virtual data files,
//! and the fonts shipped in the binary (typst's own and a CJK fallback). Nothing else exists for the template: no file
//! system, no system fonts, no packages, no network, and a fixed `today()`.

use std::sync::LazyLock;

use time::OffsetDateTime;
use typst::diag::{FileError, FileResult, PackageError};
use typst::foundations::{Bytes, Datetime, Duration};
use typst::syntax::{FileId, Source, VirtualRoot};

use crate::{file_id, main_id};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World};

/// Where the caller's data is visible to the template: `json("/data.json")`.
pub const DATA_PATH: &str = "/data.json";
/// Which part of a chunked report is being laid out (see [`crate::Report`]):
/// `json("/part.json")`.
pub const PART_PATH: &str = "/part.json";

/// The CJK fallback (WenQuanYi Micro Hei, subset; source, licence and the subsetting
/// command in `fonts/README.md`): typst's own fonts have no Chinese, Japanese or Korean
/// glyphs, so without it such text prints as missing-glyph boxes.
const CJK_FALLBACK: &[u8] = include_bytes!("../fonts/WenQuanYiMicroHei-CJK.ttf");

/// The fonts bundled with typst (Libertinus Serif, New Computer Modern, DejaVu Sans Mono)
/// and the CJK fallback, parsed once per process and shared by every compilation, so each
/// font is embedded from the same `Font` and a warm worker never re-reads them. Typst
/// falls back across all of them for a character the requested fonts lack.
struct Fonts {
    book: LazyHash<FontBook>,
    fonts: Vec<Font>,
}

static FONTS: LazyLock<Fonts> = LazyLock::new(|| {
    let fonts: Vec<Font> = typst_assets::fonts()
        .chain([CJK_FALLBACK])
        .flat_map(|data| Font::iter(Bytes::new(data)))
        .collect();
    Fonts {
        book: LazyHash::new(FontBook::from_fonts(&fonts)),
        fonts,
    }
});

/// One standard library for every compilation (no `sys.inputs`: data comes through the
/// virtual files), so typst's caches keyed on it stay valid across compilations.
static LIBRARY: LazyLock<LazyHash<Library>> =
    LazyLock::new(|| LazyHash::new(Library::builder().build()));

/// Interned once, like the main source's id (see [`crate::main_id`]).
static DATA_ID: LazyLock<FileId> = LazyLock::new(|| file_id(DATA_PATH));
static PART_ID: LazyLock<FileId> = LazyLock::new(|| file_id(PART_PATH));

/// Families of the bundled fonts.
#[cfg(test)]
pub(crate) fn font_families() -> Vec<String> {
    let mut names: Vec<String> = FONTS
        .fonts
        .iter()
        .map(|f| f.info().family.clone())
        .collect();
    names.dedup();
    names
}

pub(crate) struct ReportWorld {
    main: Source,
    /// Further sources the main one may import, by absolute path.
    modules: Vec<Source>,
    data: Bytes,
    part: Bytes,
    generated_at: OffsetDateTime,
}

impl ReportWorld {
    pub(crate) fn new(
        template: &crate::Template<'_>,
        data: Bytes,
        part: Bytes,
        generated_at: OffsetDateTime,
    ) -> ReportWorld {
        ReportWorld {
            main: Source::new(main_id(), template.main.to_string()),
            modules: template
                .modules
                .iter()
                .map(|(path, text)| Source::new(file_id(path), text.to_string()))
                .collect(),
            data,
            part,
            generated_at,
        }
    }

    fn not_found(id: FileId) -> FileError {
        match id.root() {
            VirtualRoot::Package(spec) => FileError::Package(PackageError::NotFound(spec.clone())),
            VirtualRoot::Project => FileError::NotFound(id.vpath().get_with_slash().into()),
        }
    }
}

impl World for ReportWorld {
    fn library(&self) -> &LazyHash<Library> {
        &LIBRARY
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &FONTS.book
    }

    fn main(&self) -> FileId {
        self.main.id()
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == self.main.id() {
            return Ok(self.main.clone());
        }
        self.modules
            .iter()
            .find(|s| s.id() == id)
            .cloned()
            .ok_or_else(|| Self::not_found(id))
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        if id == *DATA_ID {
            Ok(self.data.clone())
        } else if id == *PART_ID {
            Ok(self.part.clone())
        } else {
            self.source(id).map(Bytes::from_string)
        }
    }

    fn font(&self, index: usize) -> Option<Font> {
        FONTS.fonts.get(index).cloned()
    }

    /// The caller's timestamp, never the clock: a report rendered again prints the same
    /// date. Without an offset the "local" date is UTC (a server has no meaningful zone).
    fn today(&self, offset: Option<Duration>) -> Option<Datetime> {
        let shift = offset.map_or(time::Duration::ZERO, time::Duration::from);
        let at = self
            .generated_at
            .to_offset(time::UtcOffset::UTC)
            .checked_add(shift)?;
        Datetime::from_ymd(at.year(), at.month().into(), at.day())
    }
}
