//! The block's typeface: DejaVu Serif Bold, compiled into the binary and embedded in each signed
//! PDF as a subset holding only the glyphs the block uses (a few kilobytes). It is written as a
//! CID font with a ToUnicode map, so any Unicode text, Vietnamese with its diacritics included,
//! is drawn as it should be and can be copied out of the PDF again.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, LazyLock, Mutex};

use lopdf::{Dictionary, Document, Object, ObjectId, Stream, StringFormat};
use subsetter::GlyphRemapper;
use ttf_parser::Face;
use unicode_normalization::UnicodeNormalization;

use crate::error::{PdfError, malformed};

/// The font file, with its license in `pades/fonts/LICENSE`.
static FONT: &[u8] = include_bytes!("../../fonts/DejaVuSerif-Bold.ttf");
/// Its PostScript name.
const NAME: &str = "DejaVuSerif-Bold";

static FACE: LazyLock<Option<Face<'static>>> = LazyLock::new(|| Face::parse(FONT, 0).ok());

/// Subset font files made so far, by the glyphs they hold in order (see `Subset::program`).
static PROGRAMS: LazyLock<Mutex<HashMap<Vec<u16>, Arc<Stream>>>> = LazyLock::new(Mutex::default);
/// How many [`PROGRAMS`] are kept before they are all dropped and made again as needed.
const PROGRAMS_KEPT: usize = 256;

/// The face, parsed once.
fn face() -> Result<&'static Face<'static>, PdfError> {
    FACE.as_ref()
        .ok_or_else(|| malformed("the signature block's font does not parse"))
}

/// A line of text as glyphs of the font.
#[derive(Debug, Clone)]
pub(crate) struct Line {
    /// The font's glyph ids, with the character each draws.
    glyphs: Vec<(u16, char)>,
    /// The advance of the whole line, in font units.
    advance: u32,
}

impl Line {
    /// `text` (put in composed form first) as glyphs; a character the font lacks is drawn as `?`.
    pub(crate) fn new(text: &str) -> Result<Line, PdfError> {
        let face = face()?;
        let fallback = face.glyph_index('?').map_or(0, |g| g.0);
        let mut advance = 0;
        let glyphs = text
            .nfc()
            .filter(|c| !c.is_control())
            .map(|c| {
                let gid = face.glyph_index(c).map_or(fallback, |g| g.0);
                advance += u32::from(
                    face.glyph_hor_advance(ttf_parser::GlyphId(gid))
                        .unwrap_or(0),
                );
                (gid, c)
            })
            .collect();
        Ok(Line { glyphs, advance })
    }

    /// The line's width at `size` points.
    pub(crate) fn width(&self, size: f32) -> f32 {
        let per_em = face().map_or(2048.0, |f| f32::from(f.units_per_em()));
        self.advance as f32 * size / per_em
    }
}

/// The lines' glyphs as a font subset: glyph ids mapped to the subset's, which are the CIDs the
/// content stream shows.
#[derive(Debug)]
pub(crate) struct Subset {
    remapper: GlyphRemapper,
    /// Each CID's character, for the ToUnicode map.
    unicode: BTreeMap<u16, char>,
}

impl Subset {
    /// The subset for `lines`.
    pub(crate) fn of(lines: &[Line]) -> Subset {
        let mut remapper = GlyphRemapper::new();
        let mut unicode = BTreeMap::new();
        for &(gid, c) in lines.iter().flat_map(|l| &l.glyphs) {
            unicode.entry(remapper.remap(gid)).or_insert(c);
        }
        Subset { remapper, unicode }
    }

    /// `line` as the hex string of its CIDs, for `Tj`.
    pub(crate) fn show(&self, line: &Line) -> Object {
        let bytes = line
            .glyphs
            .iter()
            .flat_map(|&(gid, _)| self.remapper.get(gid).unwrap_or(0).to_be_bytes())
            .collect();
        Object::String(bytes, StringFormat::Hexadecimal)
    }

    /// Writes the font (Type0 over a CIDFontType2, its descriptor, the subset file and the
    /// ToUnicode map) into `doc`; returns the font dictionary's id.
    pub(crate) fn embed(&self, doc: &mut Document) -> Result<ObjectId, PdfError> {
        let face = face()?;
        let base = format!("{}+{NAME}", self.tag());
        let scale = 1000.0 / f32::from(face.units_per_em());
        let units = |v: i16| Object::Integer((f32::from(v) * scale).round() as i64);
        let file = doc.add_object(Stream::clone(&*self.program()?));
        let bbox = face.global_bounding_box();
        let descriptor = doc.add_object(Dictionary::from_iter([
            ("Type", Object::Name(b"FontDescriptor".to_vec())),
            ("FontName", Object::Name(base.clone().into_bytes())),
            // Nonsymbolic (32) and serif (2).
            ("Flags", Object::Integer(34)),
            (
                "FontBBox",
                Object::Array(vec![
                    units(bbox.x_min),
                    units(bbox.y_min),
                    units(bbox.x_max),
                    units(bbox.y_max),
                ]),
            ),
            ("ItalicAngle", Object::Integer(0)),
            ("Ascent", units(face.ascender())),
            ("Descent", units(face.descender())),
            (
                "CapHeight",
                units(face.capital_height().unwrap_or(face.ascender())),
            ),
            ("StemV", Object::Integer(120)),
            ("FontFile2", Object::Reference(file)),
        ]));
        let widths: Vec<Object> = self
            .remapper
            .remapped_gids()
            .map(|gid| {
                let advance = face
                    .glyph_hor_advance(ttf_parser::GlyphId(gid))
                    .unwrap_or(0);
                Object::Integer((f32::from(advance) * scale).round() as i64)
            })
            .collect();
        let cid_font = doc.add_object(Dictionary::from_iter([
            ("Type", Object::Name(b"Font".to_vec())),
            ("Subtype", Object::Name(b"CIDFontType2".to_vec())),
            ("BaseFont", Object::Name(base.clone().into_bytes())),
            (
                "CIDSystemInfo",
                Object::Dictionary(Dictionary::from_iter([
                    ("Registry", Object::string_literal("Adobe")),
                    ("Ordering", Object::string_literal("Identity")),
                    ("Supplement", Object::Integer(0)),
                ])),
            ),
            ("FontDescriptor", Object::Reference(descriptor)),
            (
                "W",
                Object::Array(vec![Object::Integer(0), Object::Array(widths)]),
            ),
            ("CIDToGIDMap", Object::Name(b"Identity".to_vec())),
        ]));
        let to_unicode = doc.add_object(Stream::new(Dictionary::new(), self.to_unicode()));
        Ok(doc.add_object(Dictionary::from_iter([
            ("Type", Object::Name(b"Font".to_vec())),
            ("Subtype", Object::Name(b"Type0".to_vec())),
            ("BaseFont", Object::Name(base.into_bytes())),
            ("Encoding", Object::Name(b"Identity-H".to_vec())),
            (
                "DescendantFonts",
                Object::Array(vec![Object::Reference(cid_font)]),
            ),
            ("ToUnicode", Object::Reference(to_unicode)),
        ])))
    }

    /// The subset font file, compressed: made once for each sequence of glyphs and kept, since a
    /// signer's block is the same on every record of a batch.
    fn program(&self) -> Result<Arc<Stream>, PdfError> {
        let key: Vec<u16> = self.remapper.remapped_gids().collect();
        if let Some(kept) = PROGRAMS.lock().ok().and_then(|p| p.get(&key).cloned()) {
            return Ok(kept);
        }
        let file = subsetter::subset(FONT, 0, &self.remapper)
            .map_err(|e| malformed(format!("subsetting the block's font: {e}")))?;
        let mut stream = Stream::new(
            Dictionary::from_iter([("Length1", Object::Integer(file.len() as i64))]),
            file,
        );
        // An uncompressible subset is stored as it is.
        let _ = stream.compress();
        let made = Arc::new(stream);
        if let Ok(mut kept) = PROGRAMS.lock() {
            if kept.len() >= PROGRAMS_KEPT {
                kept.clear();
            }
            kept.insert(key, made.clone());
        }
        Ok(made)
    }

    /// Six capital letters naming the subset, the same for the same glyphs.
    fn tag(&self) -> String {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for gid in self.remapper.remapped_gids() {
            h = (h ^ u64::from(gid)).wrapping_mul(0x0100_0000_01b3);
        }
        (0..6)
            .map(|i| char::from(b'A' + ((h >> (i * 8)) % 26) as u8))
            .collect()
    }

    /// The ToUnicode CMap: each CID to the UTF-16 of its character.
    fn to_unicode(&self) -> Vec<u8> {
        let mut cmap = String::from(
            "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n\
             /CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n\
             /CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n\
             1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n",
        );
        let entries: Vec<(&u16, &char)> = self.unicode.iter().collect();
        for chunk in entries.chunks(100) {
            cmap.push_str(&format!("{} beginbfchar\n", chunk.len()));
            for (cid, c) in chunk {
                let utf16: String = c
                    .encode_utf16(&mut [0; 2])
                    .iter()
                    .map(|u| format!("{u:04X}"))
                    .collect();
                cmap.push_str(&format!("<{cid:04X}> <{utf16}>\n"));
            }
            cmap.push_str("endbfchar\n");
        }
        cmap.push_str("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");
        cmap.into_bytes()
    }
}
