//! Why a PDF cannot be signed: each case names what is wrong, so the caller can pass it on to
//! the intake system as it is.

/// Why [`prepare`](crate::prepare) or [`Prepared::embed`](crate::Prepared::embed) refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PdfError {
    /// The bytes do not start like a PDF.
    #[error("not a PDF: no %PDF- header in the first 1024 bytes")]
    NotPdf,
    /// The PDF does not parse.
    #[error("malformed PDF: {0}")]
    Malformed(String),
    /// The PDF is encrypted: signing it would need its password, and the result would not be
    /// readable without it.
    #[error("the PDF is encrypted; send it without encryption")]
    Encrypted,
    /// The asked page does not exist.
    #[error("page {page} does not exist: the PDF has {pages} page(s)")]
    NoSuchPage {
        /// The page asked for (1-based).
        page: u32,
        /// The pages there are.
        pages: usize,
    },
    /// The asked place is not on the page.
    #[error("the signature's place {place} is not inside page {page} ({page_box})")]
    OffPage {
        /// The place, as `x,y widthxheight`.
        place: String,
        /// The page (1-based).
        page: u32,
        /// The page's box.
        page_box: String,
    },
    /// The signature field intake named cannot be signed into.
    #[error("signature field {name:?} {reason}")]
    Field {
        /// The field's full name.
        name: String,
        /// Why not (none of that name, not a signature field, already signed, no widget).
        reason: String,
    },
    /// A signature's byte range cannot be trusted.
    #[error("signature field {field:?}: its /ByteRange cannot be trusted: {reason}")]
    BadByteRange {
        /// The field's name.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The signer's image cannot be used.
    #[error("the signature image: {0}")]
    BadImage(String),
    /// The signature does not fit the room reserved for it.
    #[error("the signature is {needed} bytes, more than the {room} reserved for it")]
    SignatureTooLarge {
        /// Its size.
        needed: usize,
        /// The room.
        room: usize,
    },
}

/// A [`PdfError::Malformed`] saying `what`.
pub(crate) fn malformed(what: impl std::fmt::Display) -> PdfError {
    PdfError::Malformed(what.to_string())
}
