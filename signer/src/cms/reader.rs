//! A strict DER cursor that names the element it failed on.
//!
//! Why: verification must keep the exact bytes of some elements (the signed
//! attributes are verified as sent, certificates are hashed as sent), and an operator
//! reading "malformed CMS" needs to know *where*. The cursor walks one constructed
//! value with the `der` crate's reader (which rejects indefinite and non-minimal
//! lengths) and reports errors as `Malformed("SignedData.signerInfos: ...")`.

use const_oid::ObjectIdentifier;
use der::{Decode, Header, Reader, SliceReader, Tag, TagNumber};

use super::error::CmsError;
use super::oids::from_der_content;

/// `[0]` constructed, as used for IMPLICIT SET OF and for EXPLICIT wrappers.
pub(super) const CONTEXT_0: Tag = Tag::ContextSpecific {
    constructed: true,
    number: TagNumber::N0,
};
/// `[1]` constructed (crls, unsignedAttrs).
pub(super) const CONTEXT_1: Tag = Tag::ContextSpecific {
    constructed: true,
    number: TagNumber::N1,
};

/// One element read by [`Cursor::element`].
#[derive(Clone, Copy, Debug)]
pub(super) struct Element<'a> {
    /// The element's tag.
    pub(super) tag: Tag,
    /// Its content octets.
    pub(super) content: &'a [u8],
    /// The whole TLV as it appears in the input.
    pub(super) whole: &'a [u8],
}

/// Reads the elements inside one constructed value, in order.
#[derive(Debug)]
pub(super) struct Cursor<'a> {
    bytes: &'a [u8],
    reader: SliceReader<'a>,
    what: &'static str,
}

impl<'a> Cursor<'a> {
    /// A cursor over `bytes`, the content octets of the value called `what`.
    pub(super) fn new(bytes: &'a [u8], what: &'static str) -> Result<Self, CmsError> {
        let reader =
            SliceReader::new(bytes).map_err(|e| CmsError::Malformed(format!("{what}: {e}")))?;
        Ok(Self {
            bytes,
            reader,
            what,
        })
    }

    fn err(&self, field: &str, why: impl std::fmt::Display) -> CmsError {
        CmsError::Malformed(format!("{}.{field}: {why}", self.what))
    }

    /// True when every element has been read.
    pub(super) fn is_finished(&self) -> bool {
        self.reader.is_finished()
    }

    /// The tag of the next element, if any.
    pub(super) fn peek_tag(&self) -> Option<Tag> {
        if self.is_finished() {
            None
        } else {
            self.reader.peek_tag().ok()
        }
    }

    /// Reads the next element, whatever its tag.
    pub(super) fn element(&mut self, field: &str) -> Result<Element<'a>, CmsError> {
        if self.is_finished() {
            return Err(self.err(field, "missing"));
        }
        let start = self.offset();
        let header = Header::decode(&mut self.reader).map_err(|e| self.err(field, e))?;
        let content = self
            .reader
            .read_slice(header.length)
            .map_err(|e| self.err(field, e))?;
        let end = self.offset();
        let whole = self
            .bytes
            .get(start..end)
            .ok_or_else(|| self.err(field, "element extends past its container"))?;
        Ok(Element {
            tag: header.tag,
            content,
            whole,
        })
    }

    /// Reads the next element, which must carry `tag`, and returns its content octets.
    pub(super) fn content(&mut self, tag: Tag, field: &str) -> Result<&'a [u8], CmsError> {
        let element = self.element(field)?;
        if element.tag != tag {
            return Err(self.err(field, format!("expected {tag}, found {}", element.tag)));
        }
        Ok(element.content)
    }

    /// Like [`Cursor::content`] for an OPTIONAL element: `None` when the next element
    /// (if any) has another tag.
    pub(super) fn optional_content(
        &mut self,
        tag: Tag,
        field: &str,
    ) -> Result<Option<&'a [u8]>, CmsError> {
        if self.peek_tag() == Some(tag) {
            self.content(tag, field).map(Some)
        } else {
            Ok(None)
        }
    }

    /// Decodes the next element as a `T` with the `der` crate.
    pub(super) fn decode<T: Decode<'a>>(&mut self, field: &str) -> Result<T, CmsError> {
        let element = self.element(field)?;
        T::from_der(element.whole).map_err(|e| self.err(field, e))
    }

    /// Reads the next element as an OBJECT IDENTIFIER (see [`from_der_content`] for
    /// why not `decode`).
    pub(super) fn oid(&mut self, field: &str) -> Result<ObjectIdentifier, CmsError> {
        let content = self.content(Tag::ObjectIdentifier, field)?;
        from_der_content(content).ok_or_else(|| self.err(field, "malformed OBJECT IDENTIFIER"))
    }

    /// Fails if anything is left after the last expected element.
    pub(super) fn finish(self) -> Result<(), CmsError> {
        if self.is_finished() {
            Ok(())
        } else {
            Err(CmsError::Malformed(format!(
                "{}: unexpected data after the last element",
                self.what
            )))
        }
    }

    fn offset(&self) -> usize {
        usize::try_from(self.reader.position()).unwrap_or(usize::MAX)
    }
}

/// The content octets of the single element that makes up `bytes`, which must carry
/// `tag`; `what` names it in errors.
pub(super) fn single<'a>(
    bytes: &'a [u8],
    tag: Tag,
    what: &'static str,
) -> Result<&'a [u8], CmsError> {
    let mut outer = Cursor::new(bytes, "input")?;
    let content = outer.content(tag, what)?;
    outer.finish()?;
    Ok(content)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_elements_and_reports_where() {
        // SEQUENCE { INTEGER 1, OCTET STRING "ab" }
        let bytes = [0x02, 0x01, 0x01, 0x04, 0x02, b'a', b'b'];
        let mut c = Cursor::new(&bytes, "Thing").expect("cursor");
        let version: u8 = c.decode("version").expect("version");
        assert_eq!(version, 1);
        assert_eq!(c.optional_content(Tag::Integer, "opt").expect("opt"), None);
        let e = c.element("value").expect("value");
        assert_eq!(e.tag, Tag::OctetString);
        assert_eq!(e.content, b"ab");
        assert_eq!(e.whole, &bytes[3..]);
        c.finish().expect("finished");

        let mut c = Cursor::new(&bytes[..5], "Thing").expect("cursor");
        c.element("version").expect("version");
        let err = c.element("value").expect_err("truncated");
        assert!(err.to_string().contains("Thing.value"), "{err}");
    }

    #[test]
    fn rejects_indefinite_length() {
        let bytes = [0x30, 0x80, 0x00, 0x00];
        assert!(single(&bytes, Tag::Sequence, "x").is_err());
    }
}
