//! The Document Security Store (PAdES B-LT, ETSI EN 319 142-1 §5.4.2): the certificates and
//! revocation lists a validator needs to check the file's signatures years later without going
//! online, in a `/DSS` dictionary of the catalog. What is known before signing (the signer's,
//! the timestamp authority's and the CA's certificates, the CRL) goes into the signature's own
//! update ([`crate::prepare_with`]), so the signature covers it too and no second update is
//! written; [`add_validation_data`] appends a store as an update of its own, for data that comes
//! after a signature. A store already in the file is kept and extended, each certificate and
//! list held once.

use lopdf::{Dictionary, Object, ObjectId, Stream};

use crate::error::{PdfError, malformed};
use crate::update::{Update, dictionary_mut};

/// What the store should hold, DER each.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValidationData {
    /// Certificates: the signers', their authorities', the timestamp authorities'.
    pub certs: Vec<Vec<u8>>,
    /// Certificate revocation lists.
    pub crls: Vec<Vec<u8>>,
}

/// `pdf` with `data` added to its Document Security Store, as a new incremental update.
pub fn add_validation_data(pdf: &[u8], data: &ValidationData) -> Result<Vec<u8>, PdfError> {
    let mut update = Update::start(pdf)?;
    update.store(data)?;
    update.finish()
}

impl ValidationData {
    /// Whether there is nothing to store.
    pub fn is_empty(&self) -> bool {
        self.certs.is_empty() && self.crls.is_empty()
    }
}

impl Update {
    /// Adds `data` to the catalog's Document Security Store in this update (a store already in
    /// the file is extended, each certificate and list held once).
    pub(crate) fn store(&mut self, data: &ValidationData) -> Result<(), PdfError> {
        let update = self;
        let root = update.root;
        let existing = dictionary_mut(&mut update.doc, root)?
            .get(b"DSS")
            .ok()
            .cloned();
        let mut dss = match existing {
            Some(Object::Reference(id)) => update.resolve_dictionary(id)?,
            Some(Object::Dictionary(inline)) => inline,
            Some(_) => return Err(malformed("the catalog's /DSS is not a dictionary")),
            None => Dictionary::new(),
        };
        for (key, items) in [(b"Certs".as_slice(), &data.certs), (b"CRLs", &data.crls)] {
            let mut refs = update.references(&dss, key)?;
            let mut held: Vec<Vec<u8>> = refs
                .iter()
                .map(|&id| update.stream_content(id))
                .collect::<Result<_, _>>()?;
            for der in items {
                if !held.contains(der) {
                    let id = update
                        .doc
                        .new_document
                        .add_object(Stream::new(Dictionary::new(), der.clone()));
                    refs.push(id);
                    held.push(der.clone());
                }
            }
            if !refs.is_empty() {
                dss.set(
                    key.to_vec(),
                    Object::Array(refs.into_iter().map(Object::Reference).collect()),
                );
            }
        }
        dss.set("Type", Object::Name(b"DSS".to_vec()));
        let id = update.doc.new_document.add_object(dss);
        dictionary_mut(&mut update.doc, root)?.set("DSS", Object::Reference(id));
        Ok(())
    }

    /// The dictionary object `id`, as the file has it.
    fn resolve_dictionary(&self, id: ObjectId) -> Result<Dictionary, PdfError> {
        self.doc
            .get_prev_documents()
            .get_dictionary(id)
            .cloned()
            .map_err(|_| malformed(format!("/DSS {} {} is not a dictionary", id.0, id.1)))
    }

    /// The references in the array `key` of `dict` (direct, or an array object of its own).
    fn references(&self, dict: &Dictionary, key: &[u8]) -> Result<Vec<ObjectId>, PdfError> {
        let name = String::from_utf8_lossy(key).into_owned();
        let array = match dict.get(key) {
            Err(_) => return Ok(Vec::new()),
            Ok(Object::Reference(id)) => self
                .doc
                .get_prev_documents()
                .get_object(*id)
                .and_then(Object::as_array)
                .map_err(|_| malformed(format!("/DSS /{name} is not an array")))?,
            Ok(Object::Array(items)) => items,
            Ok(_) => return Err(malformed(format!("/DSS /{name} is not an array"))),
        };
        array
            .iter()
            .map(|item| {
                item.as_reference()
                    .map_err(|_| malformed(format!("/DSS /{name} holds something not a stream")))
            })
            .collect()
    }

    /// The content of stream `id` of the file (decoded if it is compressed).
    fn stream_content(&self, id: ObjectId) -> Result<Vec<u8>, PdfError> {
        let stream = self
            .doc
            .get_prev_documents()
            .get_object(id)
            .and_then(Object::as_stream)
            .map_err(|_| malformed(format!("/DSS object {} {} is not a stream", id.0, id.1)))?;
        Ok(stream
            .decompressed_content()
            .unwrap_or_else(|_| stream.content.clone()))
    }
}
