//! PAdES signatures (ETSI EN 319 142): a PDF signed by appending an incremental update that
//! holds a signature field, its widget on a page, and a signature dictionary whose `/Contents`
//! is a CMS SignedData (CAdES, detached) over every byte of the file but itself.
//!
//! Signing takes two steps around the key, which lives elsewhere (the signing service's
//! keystore, a token, a remote service):
//! 1. [`prepare`] reads the PDF and appends the update with a placeholder for the signature;
//!    [`Prepared::signed_parts`] are the bytes the CMS covers (the `/ByteRange`).
//! 2. [`Prepared::embed`] writes the CMS into the placeholder.
//!
//! [`signatures`] reads the signatures back, each with its byte range checked against the file.
//!
//! The original bytes are never changed, so signatures already in the PDF stay valid, and a
//! later update (a second signature, the ward's seal) leaves this one valid too.
//!
//! # Layout
//! - `source.rs`: reading the PDF ([`is_pdf`], what the update needs to know of it);
//! - `place.rs`: where the visible signature goes ([`Place`]);
//! - `field.rs`: an empty signature field the PDF already has, to sign into;
//! - `block.rs`: the block's words: capacity, title, name ([`Block`]);
//! - `update.rs`: the objects of the update and the signature dictionary;
//! - `appearance/`: the visible block and its embedded font subset;
//! - `image.rs`: the signer's image in the block ([`Image`]);
//! - `prepared.rs`: the byte range and the placeholder ([`Prepared`]);
//! - `dss.rs`: the Document Security Store, validation data for later ([`add_validation_data`]);
//! - `embedded.rs`: the signatures a PDF carries, for verification ([`signatures`]);
//! - `date.rs`: PDF dates;
//! - `error.rs`: [`PdfError`].

mod appearance;
mod block;
mod date;
mod dss;
mod embedded;
mod error;
mod field;
mod image;
mod place;
mod prepared;
mod source;
mod update;

pub use block::{Block, Capacity, Titles};
pub use dss::{ValidationData, add_validation_data};
pub use embedded::{Embedded, Found, Widget, signatures};
pub use error::PdfError;
pub use image::{Image, MAX_PNG_BYTES};
pub use place::{Place, PlaceError, Rect, SEAL_SIDE, seal_over};
pub use prepared::Prepared;
pub use source::is_pdf;
pub use update::{Signature, check, prepare, prepare_with};
