//! The PDFs of a batch, signed as PAdES. Each PDF's incremental update is prepared before
//! anything is signed, so a PDF that cannot be signed (malformed, encrypted, a place off its
//! page) refuses the batch with nothing signed, kept or counted. The visible block states the
//! capacity in which the person signs: the head, or a deputy under a delegation whose notation
//! ("KT.", "TUQ.") the director signed; with the ward's titles from the request and the name in
//! the signer's certificate.

use signq_kit::identity::Role;
use signq_pades::{Block, Capacity, Image, PdfError, Place, Prepared, Signature, Titles, is_pdf};
use signq_proto::v1::{Document, SignaturePlace, SignatureTitles};
use time::OffsetDateTime;

use super::error::SignError;
use crate::delegation::SignedDelegation;
use crate::keystore::SignerEntry;

/// A document of the batch, ready for its CMS.
pub(super) enum Unsigned {
    /// Not a PDF: signed detached.
    Detached(Document),
    /// A PDF and its update with room for the signature.
    Pdf {
        /// The document.
        document: Document,
        /// Its update; the CMS covers its signed parts.
        prepared: Prepared,
    },
}

/// The block `entry` signs with: as the head, or under `delegation`'s notation.
pub(super) fn block_of(
    entry: &SignerEntry,
    delegation: Option<&SignedDelegation>,
    titles: Option<&SignatureTitles>,
) -> Block {
    let capacity = match (entry.role, delegation) {
        (Role::Deputy, Some(d)) => d.doc.notation.capacity(),
        _ => Capacity::Head,
    };
    Block::new(capacity, &titles_of(titles), &entry.display_name)
}

/// The ward's titles: a People's Committee's when the request carries none; a title left empty
/// takes the committee's (the body may be empty: the head then signs in their own name).
fn titles_of(titles: Option<&SignatureTitles>) -> Titles {
    let committee = Titles::default();
    let Some(t) = titles else {
        return committee;
    };
    let or = |given: &str, default: String| {
        if given.trim().is_empty() {
            default
        } else {
            given.trim().to_string()
        }
    };
    Titles {
        body: t.body.trim().to_string(),
        head: or(&t.head, committee.head),
        deputy: or(&t.deputy, committee.deputy),
    }
}

/// Checks the place of the request's document `i`: only a PDF has one, and its fields must
/// make a whole rectangle (whether it lies on the page is known once the PDF is read).
pub(super) fn check_place(i: usize, document: &Document) -> Result<(), SignError> {
    let Some(place) = &document.place else {
        return Ok(());
    };
    if !is_pdf(&document.content) {
        return Err(SignError::invalid(
            format!("documents[{i}].place"),
            "only a PDF has a signature place; this document is not a PDF",
        ));
    }
    place_of(place)
        .map(|_| ())
        .map_err(|e| SignError::invalid(format!("documents[{i}].place.{}", e.field), e.reason))
}

fn place_of(place: &SignaturePlace) -> Result<Place, signq_pades::PlaceError> {
    Place::from_fields(place.page, place.x, place.y, place.width, place.height)
}

/// Prepares every PDF among `documents` (each with its index in the request) for `block` with
/// the signer's image (`signature_image`, a PNG, or empty), signed at `now`; any other document
/// passes through. An image that cannot be used, or the first PDF that cannot be signed,
/// refuses the whole batch, naming it.
pub(super) fn prepare_all(
    documents: Vec<(usize, Document)>,
    block: &Block,
    signature_image: &[u8],
    now: OffsetDateTime,
) -> Result<Vec<Unsigned>, SignError> {
    let image = (!signature_image.is_empty())
        .then(|| Image::from_png(signature_image))
        .transpose()
        .map_err(|e| SignError::invalid("signature_image", e.to_string()))?;
    documents
        .into_iter()
        .map(|(i, document)| {
            if !is_pdf(&document.content) {
                return Ok(Unsigned::Detached(document));
            }
            let place = document
                .place
                .as_ref()
                .map(place_of)
                .transpose()
                .map_err(|e| {
                    SignError::invalid(format!("documents[{i}].place.{}", e.field), e.reason)
                })?
                .unwrap_or_default();
            let signature = Signature {
                signing_time: now,
                name: block.name.clone(),
                reason: Some(block.reason()),
                location: None,
                place,
                lines: block.lines(),
                image: image.clone(),
            };
            let prepared = signq_pades::prepare(&document.content, &signature).map_err(|e| {
                let field = match e {
                    PdfError::NoSuchPage { .. } | PdfError::OffPage { .. } => "place",
                    _ => "content",
                };
                SignError::invalid(format!("documents[{i}].{field}"), e.to_string())
            })?;
            Ok(Unsigned::Pdf { document, prepared })
        })
        .collect()
}
