//! The incremental update: a signature field merged with its widget on the chosen page, the
//! page's `/Annots` and the form's `/Fields` extended to list it (or the empty signature field
//! intake named, filled in), and the signature dictionary
//! (`/SubFilter /ETSI.CAdES.detached`, the claimed signing time in `/M`) with a placeholder for
//! the CMS. Objects of the original that change are written again in the update under their
//! own numbers; nothing before the update is touched.

use lopdf::{Dictionary, IncrementalDocument, Object, ObjectId, StringFormat};
use time::OffsetDateTime;

use crate::appearance;
use crate::dss::ValidationData;
use crate::error::{PdfError, malformed};
use crate::field::{self, Slot};
use crate::image::Image;
use crate::place::{Place, Rect};
use crate::prepared::{BYTE_RANGE_PLACEHOLDER, CONTENTS_ROOM, Prepared};
use crate::source::Source;

/// Widget flags: Print (4) and Locked (128).
const WIDGET_FLAGS: i64 = 132;
/// The form's flags: SignaturesExist (1) and AppendOnly (2).
const SIG_FLAGS: i64 = 3;

/// What the signature says beside its CMS.
#[derive(Debug, Clone, PartialEq)]
pub struct Signature {
    /// The claimed signing time, written to `/M` (PAdES keeps it out of the CMS).
    pub signing_time: OffsetDateTime,
    /// Who signs (`/Name`).
    pub name: String,
    /// Why (`/Reason`).
    pub reason: Option<String>,
    /// Where (`/Location`).
    pub location: Option<String>,
    /// Where the visible signature goes.
    pub place: Place,
    /// The block the widget shows, line by line (the capacity, the title, the name).
    pub lines: Vec<String>,
    /// The signer's image, shown between the last line and the one before (the title and the
    /// name).
    pub image: Option<Image>,
}

/// Appends a signature field and a placeholder signature to `pdf`: what is left is to sign
/// [`Prepared::signed_parts`] and [`Prepared::embed`] the CMS.
pub fn prepare(pdf: &[u8], signature: &Signature) -> Result<Prepared, PdfError> {
    prepare_with(pdf, signature, &ValidationData::default())
}

/// As [`prepare`], the update also adding `validation` to the Document Security Store.
pub fn prepare_with(
    pdf: &[u8],
    signature: &Signature,
    validation: &ValidationData,
) -> Result<Prepared, PdfError> {
    let source = Source::read(pdf)?;
    let existing = match &signature.place.field {
        Some(name) => Some(field::find(&source, name)?),
        None => None,
    };
    let (page, rect) = match existing {
        Some(slot) => (slot.page, slot.rect),
        None => located(&source, &signature.place)?,
    };
    let name = field_name(&source.field_names());
    let old_version = source.doc.version.parse::<f32>().map_or(true, |v| v < 1.7);
    let root = source.root;
    let mut started = Update::of(pdf, source);
    if !validation.is_empty() {
        started.store(validation)?;
    }
    let Update {
        doc: mut update, ..
    } = started;

    let appearance = appearance::block(
        &mut update.new_document,
        rect,
        &signature.lines,
        signature.image.as_ref(),
    )?;
    let appearance = update.new_document.add_object(appearance);
    let value = update
        .new_document
        .add_object(signature_dictionary(signature));
    let shown = Object::Dictionary(Dictionary::from_iter([(
        "N",
        Object::Reference(appearance),
    )]));
    let form = form_dictionary(&mut update, root)?;
    match existing {
        Some(slot) => fill(&mut update, slot, value, shown)?,
        None => {
            let field = update.new_document.add_object(Dictionary::from_iter([
                ("Type", Object::Name(b"Annot".to_vec())),
                ("Subtype", Object::Name(b"Widget".to_vec())),
                ("FT", Object::Name(b"Sig".to_vec())),
                ("T", Object::String(name, StringFormat::Literal)),
                ("V", Object::Reference(value)),
                ("F", Object::Integer(WIDGET_FLAGS)),
                ("Rect", rect_array(rect)),
                ("P", Object::Reference(page)),
                ("AP", shown),
            ]));
            append_to_array(&mut update, page, b"Annots", field)?;
            append_to_array(&mut update, form, b"Fields", field)?;
        }
    }
    dictionary_mut(&mut update, form)?.set("SigFlags", Object::Integer(SIG_FLAGS));
    if old_version {
        // PAdES asks for PDF 1.7 or later; the catalog's /Version overrides the header.
        dictionary_mut(&mut update, root)?.set("Version", Object::Name(b"1.7".to_vec()));
    }

    let start = update.get_prev_documents_bytes().len();
    let bytes = Update { doc: update, root }.finish_with_room(2 * CONTENTS_ROOM + 4096)?;
    Prepared::locate(bytes, start)
}

/// An incremental update being written over a PDF.
pub(crate) struct Update {
    /// The original (read) and the update (to write).
    pub(crate) doc: IncrementalDocument,
    /// The catalog's object id.
    pub(crate) root: ObjectId,
}

impl Update {
    /// Starts an update over `pdf`, which must read as [`Source::read`] requires.
    pub(crate) fn start(pdf: &[u8]) -> Result<Update, PdfError> {
        Ok(Update::of(pdf, Source::read(pdf)?))
    }

    /// Starts an update over `pdf`, already read as `source`.
    fn of(pdf: &[u8], source: Source) -> Update {
        let root = source.root;
        let mut doc = IncrementalDocument::create_from(pdf.to_vec(), source.doc);
        // A hybrid file's /XRefStm belongs to its own last section, not to the update's.
        doc.new_document.trailer.remove(b"XRefStm");
        Update { doc, root }
    }

    /// The whole file: the original bytes, then the update.
    pub(crate) fn finish(self) -> Result<Vec<u8>, PdfError> {
        self.finish_with_room(4096)
    }

    fn finish_with_room(mut self, room: usize) -> Result<Vec<u8>, PdfError> {
        let mut bytes = Vec::with_capacity(self.doc.get_prev_documents_bytes().len() + room);
        self.doc
            .save_to(&mut bytes)
            .map_err(|e| malformed(format!("writing the update: {e}")))?;
        Ok(bytes)
    }
}

/// Fills the empty field `slot` with the signature `value` and its widget with the appearance
/// `shown`; the widget stays where the form put it, listed on its page.
fn fill(
    update: &mut IncrementalDocument,
    slot: Slot,
    value: ObjectId,
    shown: Object,
) -> Result<(), PdfError> {
    dictionary_mut(update, slot.field)?.set("V", Object::Reference(value));
    let widget = dictionary_mut(update, slot.widget)?;
    widget.set("AP", shown);
    widget.set("F", Object::Integer(WIDGET_FLAGS));
    widget.set("P", Object::Reference(slot.page));
    let listed = dictionary_mut(update, slot.page)?
        .get(b"Annots")
        .ok()
        .cloned();
    let listed = match listed {
        Some(Object::Array(items)) => items.contains(&Object::Reference(slot.widget)),
        Some(Object::Reference(array)) => update
            .get_prev_documents()
            .get_object(array)
            .and_then(Object::as_array)
            .is_ok_and(|items| items.contains(&Object::Reference(slot.widget))),
        _ => false,
    };
    if !listed {
        append_to_array(update, slot.page, b"Annots", slot.widget)?;
    }
    Ok(())
}

/// The checks [`prepare`] makes before it writes anything: the PDF reads, is not encrypted, and
/// the place lies on a page it has (or names an empty signature field it has). Intake makes them
/// at Submit, so that a document that cannot be signed is refused before it reaches a signer.
pub fn check(pdf: &[u8], place: &Place) -> Result<(), PdfError> {
    let source = Source::read(pdf)?;
    match &place.field {
        Some(name) => field::find(&source, name).map(|_| ()),
        None => located(&source, place).map(|_| ()),
    }
}

/// The page object and the rectangle on it that `place` names.
fn located(source: &Source, place: &Place) -> Result<(ObjectId, Rect), PdfError> {
    let (number, page) = source.page(place.page)?;
    Ok((page, place.on(number, source.page_box(page)?)?))
}

/// `signq-N` for the first N that no field of the form has.
fn field_name(taken: &[Vec<u8>]) -> Vec<u8> {
    (1..)
        .map(|n| format!("signq-{n}").into_bytes())
        .find(|name| !taken.contains(name))
        .unwrap_or_default()
}

/// The signature dictionary, its `/ByteRange` and `/Contents` placeholders to be filled.
fn signature_dictionary(signature: &Signature) -> Dictionary {
    let mut dict = Dictionary::from_iter([
        ("Type", Object::Name(b"Sig".to_vec())),
        ("Filter", Object::Name(b"Adobe.PPKLite".to_vec())),
        ("SubFilter", Object::Name(b"ETSI.CAdES.detached".to_vec())),
        (
            "ByteRange",
            Object::Array(
                BYTE_RANGE_PLACEHOLDER
                    .iter()
                    .map(|n| Object::Integer(*n))
                    .collect(),
            ),
        ),
        // Written as a literal string of hex zeros, which the writer copies in one piece;
        // `Prepared::locate` turns its parentheses into the hex string's angle brackets.
        (
            "Contents",
            Object::String(vec![b'0'; 2 * CONTENTS_ROOM], StringFormat::Literal),
        ),
        (
            "M",
            Object::String(
                crate::date::write(signature.signing_time).into_bytes(),
                StringFormat::Literal,
            ),
        ),
        ("Name", lopdf::text_string(&signature.name)),
    ]);
    if let Some(reason) = &signature.reason {
        dict.set("Reason", lopdf::text_string(reason));
    }
    if let Some(location) = &signature.location {
        dict.set("Location", lopdf::text_string(location));
    }
    dict
}

fn rect_array(rect: Rect) -> Object {
    Object::Array(
        [rect.x, rect.y, rect.x + rect.width, rect.y + rect.height]
            .into_iter()
            .map(Object::Real)
            .collect(),
    )
}

/// The object `id` as it will be written in the update (copied from the original first).
pub(crate) fn dictionary_mut(
    update: &mut IncrementalDocument,
    id: ObjectId,
) -> Result<&mut Dictionary, PdfError> {
    update
        .opt_clone_object_to_new_document(id)
        .map_err(|_| malformed(format!("object {} {} is missing", id.0, id.1)))?;
    update
        .new_document
        .get_object_mut(id)
        .and_then(Object::as_dict_mut)
        .map_err(|_| malformed(format!("object {} {} is not a dictionary", id.0, id.1)))
}

/// The form dictionary (`/AcroForm`), as an object of its own in the update: the catalog's,
/// moved out of the catalog if it was inline, or a new one.
fn form_dictionary(update: &mut IncrementalDocument, root: ObjectId) -> Result<ObjectId, PdfError> {
    let existing = dictionary_mut(update, root)?.get(b"AcroForm").ok().cloned();
    let form = match existing {
        Some(Object::Reference(id)) => return Ok(id),
        Some(Object::Dictionary(inline)) => inline,
        Some(_) => return Err(malformed("the catalog's /AcroForm is not a dictionary")),
        None => Dictionary::new(),
    };
    let id = update.new_document.add_object(form);
    dictionary_mut(update, root)?.set("AcroForm", Object::Reference(id));
    Ok(id)
}

/// Appends a reference to `item` to the array `key` of the dictionary `owner`, following the
/// array if it is an object of its own.
fn append_to_array(
    update: &mut IncrementalDocument,
    owner: ObjectId,
    key: &[u8],
    item: ObjectId,
) -> Result<(), PdfError> {
    let name = String::from_utf8_lossy(key).into_owned();
    let current = dictionary_mut(update, owner)?.get(key).ok().cloned();
    match current {
        Some(Object::Reference(array)) => {
            update
                .opt_clone_object_to_new_document(array)
                .map_err(|_| malformed(format!("/{name} refers to a missing object")))?;
            update
                .new_document
                .get_object_mut(array)
                .and_then(Object::as_array_mut)
                .map_err(|_| malformed(format!("/{name} is not an array")))?
                .push(Object::Reference(item));
        }
        Some(Object::Array(mut items)) => {
            items.push(Object::Reference(item));
            dictionary_mut(update, owner)?.set(key.to_vec(), Object::Array(items));
        }
        Some(_) => return Err(malformed(format!("/{name} is not an array"))),
        None => {
            dictionary_mut(update, owner)?.set(key.to_vec(), vec![Object::Reference(item)]);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names_do_not_collide() {
        assert_eq!(field_name(&[]), b"signq-1");
        assert_eq!(
            field_name(&[b"signq-1".to_vec(), b"other".to_vec()]),
            b"signq-2"
        );
    }
}
