//! A PDF with its signature's placeholder: the `/Contents` hex string reserved for the CMS and
//! the `/ByteRange` that says which bytes the CMS covers (all of the file but the hex string).
//! The byte range is written in place once the update's layout is known; the CMS goes into the
//! hex string last, so nothing the CMS covers changes after it is computed.

use std::ops::Range;

use crate::error::{PdfError, malformed};

/// Bytes reserved for the CMS: a signature with its chain (about 1.5 KiB), a timestamp token
/// with its authority's chain (about 2 KiB), and room to spare.
pub(crate) const CONTENTS_ROOM: usize = 8 * 1024;

/// The `/ByteRange` as first written: wide enough for any offset the real one holds.
pub(crate) const BYTE_RANGE_PLACEHOLDER: [i64; 4] =
    [0, 1_000_000_000, 1_000_000_000, 1_000_000_000];

/// A PDF whose signature waits to be embedded.
#[derive(Debug, Clone)]
pub struct Prepared {
    bytes: Vec<u8>,
    /// The hex digits of `/Contents`, between `<` and `>`.
    contents: Range<usize>,
}

impl Prepared {
    /// Finds the placeholders in the update that starts at `start` and writes the byte range.
    pub(crate) fn locate(mut bytes: Vec<u8>, start: usize) -> Result<Prepared, PdfError> {
        let digits = 2 * CONTENTS_ROOM;
        let update = bytes.get(start..).unwrap_or_default();
        let open = update
            .windows(digits + 2)
            .position(|w| {
                w.first() == Some(&b'(')
                    && w.last() == Some(&b')')
                    && w.get(1..=digits)
                        .is_some_and(|d| d.iter().all(|c| *c == b'0'))
            })
            .map(|p| start + p)
            .ok_or_else(|| malformed("the signature's placeholder is missing from the update"))?;
        let contents = open + 1..open + 1 + digits;
        let after = contents.end + 1;
        let range = [0, open, after, bytes.len() - after];
        let key = find(update, b"/ByteRange")
            .map(|p| start + p)
            .ok_or_else(|| malformed("the /ByteRange placeholder is missing from the update"))?;
        // The literal string of zeros becomes the hex string the CMS goes into, same length.
        bytes[open] = b'<';
        bytes[contents.end] = b'>';
        let from = key + find(&bytes[key..], b"[").unwrap_or(0);
        let to = from + find(&bytes[from..], b"]").unwrap_or(0);
        let mut text = format!("[{} {} {} {}", range[0], range[1], range[2], range[3]).into_bytes();
        if text.len() > to - from || bytes.get(from) != Some(&b'[') {
            return Err(malformed("the /ByteRange placeholder is too narrow"));
        }
        text.resize(to - from, b' ');
        bytes[from..to].copy_from_slice(&text);
        Ok(Prepared { bytes, contents })
    }

    /// The bytes the signature covers, in order: before and after the `/Contents` string.
    pub fn signed_parts(&self) -> [&[u8]; 2] {
        let (before, rest) = self.bytes.split_at(self.contents.start - 1);
        let after = rest.get(self.contents.len() + 2..).unwrap_or_default();
        [before, after]
    }

    /// Writes the DER CMS `cms` into the placeholder: the signed PDF.
    pub fn embed(mut self, cms: &[u8]) -> Result<Vec<u8>, PdfError> {
        let room = self.contents.len() / 2;
        if cms.len() > room {
            return Err(PdfError::SignatureTooLarge {
                needed: cms.len(),
                room,
            });
        }
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let digits = &mut self.bytes[self.contents.clone()];
        for (pair, byte) in digits.chunks_exact_mut(2).zip(cms) {
            pair[0] = HEX[usize::from(byte >> 4)];
            pair[1] = HEX[usize::from(byte & 0x0f)];
        }
        Ok(self.bytes)
    }
}

/// The first position of `needle` in `hay`.
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
