//! The signatures a PDF carries, read for verification: each signature field's value, its
//! `/ByteRange` checked against the file, and the CMS taken from the very bytes the byte range
//! leaves out. A byte range that starts elsewhere than 0, overlaps itself, runs past the end or
//! leaves out anything but the one hex string of `/Contents` is reported, never trusted.

use lopdf::{Dictionary, Object};
use time::OffsetDateTime;

use crate::error::{PdfError, malformed};
use crate::place::Rect;
use crate::source::Source;

/// How deep a form's field tree is followed.
const MAX_DEPTH: usize = 16;

/// One signature found in a PDF.
#[derive(Debug, Clone, PartialEq)]
pub struct Embedded {
    /// The field's full name.
    pub field: String,
    /// `/SubFilter`, e.g. `ETSI.CAdES.detached`.
    pub sub_filter: String,
    /// The claimed signing time (`/M`), if the dictionary states one that reads.
    pub claimed: Option<OffsetDateTime>,
    /// `/Reason`, if the dictionary states one that reads: for signq's signatures, the capacity
    /// in which the person signed ("TM. ỦY BAN NHÂN DÂN / KT. CHỦ TỊCH / PHÓ CHỦ TỊCH").
    pub reason: Option<String>,
    /// `/ByteRange`: two (offset, length) pairs.
    pub byte_range: [usize; 4],
    /// The CMS SignedData, DER, without the placeholder's padding.
    pub cms: Vec<u8>,
}

impl Embedded {
    /// The bytes the signature covers, from `pdf` (the file it was read from).
    pub fn signed_parts<'a>(&self, pdf: &'a [u8]) -> [&'a [u8]; 2] {
        let [a, b, c, d] = self.byte_range;
        [
            pdf.get(a..a + b).unwrap_or_default(),
            pdf.get(c..c + d).unwrap_or_default(),
        ]
    }

    /// Bytes of `pdf` after what the signature covers: later updates (0 for the last signature
    /// of an unchanged file).
    pub fn bytes_after(&self, pdf: &[u8]) -> usize {
        pdf.len()
            .saturating_sub(self.byte_range[2] + self.byte_range[3])
    }
}

/// A signature field and what was found in it.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    /// The field's full name.
    pub field: String,
    /// The signature, or why it cannot be checked.
    pub signature: Result<Embedded, PdfError>,
    /// Where the field's widget shows on the page, if it has one there.
    pub widget: Option<Widget>,
}

/// Where a signature field shows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Widget {
    /// The page, from 1.
    pub page: u32,
    /// The widget's rectangle on it.
    pub rect: Rect,
}

/// The signed signature fields of `pdf`, in the form's order.
pub fn signatures(pdf: &[u8]) -> Result<Vec<Found>, PdfError> {
    let source = Source::read(pdf)?;
    let mut found = Vec::new();
    let catalog = source
        .doc
        .get_dictionary(source.root)
        .map_err(|_| malformed("the /Root catalog is not a dictionary"))?;
    let fields = catalog
        .get(b"AcroForm")
        .ok()
        .and_then(|f| source.resolve(f).as_dict().ok())
        .and_then(|f| f.get(b"Fields").ok())
        .and_then(|f| source.resolve(f).as_array().ok());
    for field in fields.into_iter().flatten() {
        visit(&source, pdf, field, "", false, 0, &mut found);
    }
    Ok(found)
}

/// Collects the signed signature fields under `field` (whose parent's name is `parent` and
/// whose type is inherited as `is_sig`).
fn visit(
    source: &Source,
    pdf: &[u8],
    field: &Object,
    parent: &str,
    is_sig: bool,
    depth: usize,
    found: &mut Vec<Found>,
) {
    let Ok(dict) = source.resolve(field).as_dict() else {
        return;
    };
    if depth > MAX_DEPTH {
        return;
    }
    let part = dict
        .get(b"T")
        .ok()
        .and_then(|t| lopdf::decode_text_string(t).ok())
        .unwrap_or_default();
    let name = match (parent.is_empty(), part.is_empty()) {
        (true, _) => part,
        (false, true) => parent.to_owned(),
        (false, false) => format!("{parent}.{part}"),
    };
    let is_sig = dict
        .get(b"FT")
        .and_then(Object::as_name)
        .map_or(is_sig, |t| t == b"Sig");
    if let Ok(kids) = dict
        .get(b"Kids")
        .map(|k| source.resolve(k))
        .and_then(Object::as_array)
    {
        for kid in kids {
            visit(source, pdf, kid, &name, is_sig, depth + 1, found);
        }
    }
    if !is_sig {
        return;
    }
    if let Some(value) = dict
        .get(b"V")
        .ok()
        .and_then(|v| source.resolve(v).as_dict().ok())
    {
        found.push(Found {
            field: name.clone(),
            signature: read(pdf, &name, value),
            widget: widget(source, dict),
        });
    }
}

/// The page and rectangle of a field merged with its widget (`/P`, `/Rect`), when both read.
fn widget(source: &Source, dict: &Dictionary) -> Option<Widget> {
    let page_id = dict.get(b"P").and_then(Object::as_reference).ok()?;
    let page = source
        .doc
        .get_pages()
        .into_iter()
        .find_map(|(number, id)| (id == page_id).then_some(number))?;
    let corners: Vec<f32> = source
        .resolve(dict.get(b"Rect").ok()?)
        .as_array()
        .ok()?
        .iter()
        .map(|n| source.resolve(n).as_float().ok().filter(|v| v.is_finite()))
        .collect::<Option<_>>()?;
    let [x0, y0, x1, y1] = corners[..] else {
        return None;
    };
    Some(Widget {
        page,
        rect: Rect {
            x: x0.min(x1),
            y: y0.min(y1),
            width: (x1 - x0).abs(),
            height: (y1 - y0).abs(),
        },
    })
}

/// The signature of the value dictionary `value`, its byte range checked against `pdf`.
fn read(pdf: &[u8], field: &str, value: &Dictionary) -> Result<Embedded, PdfError> {
    let bad = |why: &str| PdfError::BadByteRange {
        field: field.to_owned(),
        reason: why.to_owned(),
    };
    let numbers: Vec<usize> = value
        .get(b"ByteRange")
        .and_then(Object::as_array)
        .map_err(|_| bad("there is no /ByteRange"))?
        .iter()
        .map(|n| n.as_i64().ok().and_then(|n| usize::try_from(n).ok()))
        .collect::<Option<_>>()
        .ok_or_else(|| bad("it holds something other than non-negative integers"))?;
    let [a, b, c, d] = numbers[..] else {
        return Err(bad("it is not two (offset, length) pairs"));
    };
    if a != 0 {
        return Err(bad("it does not start at the beginning of the file"));
    }
    let end = c.checked_add(d).ok_or_else(|| bad("it overflows"))?;
    if b > c || end > pdf.len() {
        return Err(bad("it overlaps itself or runs past the end of the file"));
    }
    // What it leaves out must be exactly the hex string of /Contents.
    let gap = pdf.get(b..c).unwrap_or_default();
    let hex = match gap {
        [b'<', hex @ .., b'>'] if hex.len() % 2 == 0 && hex.iter().all(u8::is_ascii_hexdigit) => {
            hex
        }
        _ => return Err(bad("what it leaves out is not one hex string")),
    };
    let bytes: Vec<u8> = hex
        .chunks_exact(2)
        .map(|pair| (digit(pair[0]) << 4) | digit(pair[1]))
        .collect();
    let contents = value
        .get(b"Contents")
        .and_then(Object::as_str)
        .map_err(|_| bad("there is no /Contents"))?;
    if contents != bytes.as_slice() {
        return Err(bad("what it leaves out is not this signature's /Contents"));
    }
    let cms = bytes
        .get(..der_length(&bytes).ok_or_else(|| bad("/Contents does not hold a DER SEQUENCE"))?)
        .unwrap_or_default()
        .to_vec();
    Ok(Embedded {
        field: field.to_owned(),
        sub_filter: value
            .get(b"SubFilter")
            .and_then(Object::as_name)
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .unwrap_or_default(),
        claimed: value
            .get(b"M")
            .and_then(Object::as_str)
            .ok()
            .and_then(crate::date::read),
        reason: value
            .get(b"Reason")
            .ok()
            .and_then(|r| lopdf::decode_text_string(r).ok()),
        byte_range: [a, b, c, d],
        cms,
    })
}

fn digit(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        b'A'..=b'F' => c - b'A' + 10,
        _ => 0,
    }
}

/// The length of the DER SEQUENCE at the start of `bytes` (header included), if it fits.
fn der_length(bytes: &[u8]) -> Option<usize> {
    let (&tag, rest) = bytes.split_first()?;
    let (&first, rest) = rest.split_first()?;
    if tag != 0x30 {
        return None;
    }
    let (len, header) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let len = rest
            .get(..n)?
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, 2 + n)
    };
    let total = header.checked_add(len)?;
    (total <= bytes.len()).then_some(total)
}
