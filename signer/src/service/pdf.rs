//! The PDFs of a batch, signed as PAdES. Each PDF's incremental update is prepared before
//! anything is signed, so a PDF that cannot be signed (malformed, encrypted, a place off its
//! page) refuses the batch with nothing signed, kept or counted. The visible block states the
//! capacity in which the person signs: the head, or a deputy under a delegation whose notation
//! ("KT.", "TUQ.") the director signed; with the ward's titles from the request and the name in
//! the signer's certificate.

use signq_kit::identity::Role;
use signq_pades::{
    Block, Capacity, Image, PdfError, Place, Prepared, Signature, Titles, ValidationData, is_pdf,
};
use signq_proto::v1::{Document, SignaturePlace, SignatureTitles};
use time::OffsetDateTime;

use super::error::SignError;
use crate::capacity::{SEAL_REASON, authorised_person};
use crate::cms::TrustStore;
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

/// What a batch's PDF signatures show.
pub(super) enum Look {
    /// A person's signature: their block.
    Person(Block),
    /// The ward's seal, applied by a clerk with the ward's organisation certificate (its name
    /// `organisation`), over the block of the person who signed; each PDF must first carry a
    /// valid signature of a director or deputy of `ward`, as `trust` judges it.
    Seal {
        organisation: String,
        ward: String,
        trust: TrustStore,
    },
}

/// What `entry`'s PDF signatures show: for a clerk the ward's seal; otherwise their block, as the
/// head or under `delegation`'s notation.
pub(super) fn look_of(
    entry: &SignerEntry,
    delegation: Option<&SignedDelegation>,
    titles: Option<&SignatureTitles>,
    trust: &TrustStore,
) -> Look {
    let capacity = match (entry.role, delegation) {
        (Role::Clerk, _) => {
            return Look::Seal {
                organisation: entry.display_name.clone(),
                ward: entry.ward.clone(),
                trust: trust.clone(),
            };
        }
        (Role::Deputy, Some(d)) => d.doc.notation.capacity(),
        _ => Capacity::Head,
    };
    Look::Person(Block::new(
        capacity,
        &titles_of(titles),
        &entry.display_name,
    ))
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
    let SignaturePlace {
        page,
        x,
        y,
        width,
        height,
        field,
    } = place;
    Place::from_api(*page, *x, *y, *width, *height, field)
}

/// Prepares every PDF among `documents` (each with its index in the request) for `look` with
/// the signer's image (`signature_image`, a PNG: the person's signature, or the ward's seal,
/// which a seal requires) and `validation` in its Document Security Store, signed at `now`; any other document passes through, but a seal
/// applies to PDFs only. An image that cannot be used, or the first PDF that cannot be signed
/// (for a seal: one with no valid signature of an authorised person), refuses the whole batch,
/// naming it.
pub(super) fn prepare_all(
    documents: Vec<(usize, Document)>,
    look: &Look,
    signature_image: &[u8],
    validation: &ValidationData,
    now: OffsetDateTime,
) -> Result<Vec<Unsigned>, SignError> {
    let image = (!signature_image.is_empty())
        .then(|| Image::from_png(signature_image))
        .transpose()
        .map_err(|e| SignError::invalid("signature_image", e.to_string()))?;
    if matches!(look, Look::Seal { .. }) && image.is_none() {
        return Err(SignError::invalid(
            "signature_image",
            "a seal needs the ward's seal image (a PNG)",
        ));
    }
    documents
        .into_iter()
        .map(|(i, document)| {
            let asked = document
                .place
                .as_ref()
                .map(place_of)
                .transpose()
                .map_err(|e| {
                    SignError::invalid(format!("documents[{i}].place.{}", e.field), e.reason)
                })?;
            if !is_pdf(&document.content) {
                return match look {
                    Look::Person(_) => Ok(Unsigned::Detached(document)),
                    Look::Seal { .. } => Err(SignError::invalid(
                        format!("documents[{i}].content"),
                        "the ward's seal applies to a signed PDF; this document is not a PDF",
                    )),
                };
            }
            let signature = match look {
                Look::Person(block) => Signature {
                    signing_time: now,
                    name: block.name.clone(),
                    reason: Some(block.reason()),
                    location: None,
                    place: asked.unwrap_or_default(),
                    lines: block.lines(),
                    image: image.clone(),
                },
                Look::Seal {
                    organisation,
                    ward,
                    trust,
                } => {
                    let person =
                        authorised_person(&document.content, ward, trust).map_err(|why| {
                            SignError::invalid(
                                format!("documents[{i}].content"),
                                format!("the seal is refused: {why}"),
                            )
                        })?;
                    let place = match (asked, person.widget) {
                        (Some(place), _) => place,
                        (None, Some(widget)) => signq_pades::seal_over(&document.content, widget)
                            .map_err(|e| {
                            SignError::invalid(format!("documents[{i}].content"), e.to_string())
                        })?,
                        (None, None) => Place::default(),
                    };
                    Signature {
                        signing_time: now,
                        name: organisation.clone(),
                        reason: Some(SEAL_REASON.into()),
                        location: None,
                        place,
                        lines: Vec::new(),
                        image: image.clone(),
                    }
                }
            };
            let prepared = signq_pades::prepare_with(&document.content, &signature, validation)
                .map_err(|e| {
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
