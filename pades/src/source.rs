//! Reading the PDF to be signed: whether it is one, and what the update needs to know of it
//! (its catalog, its pages and their boxes, the form's fields). The parser is lopdf's; a
//! malformed file is refused with what the parser said, never a panic.

use lopdf::{Document, Object, ObjectId};

use crate::error::{PdfError, malformed};

/// How far up a page tree an inherited attribute is looked for.
const MAX_DEPTH: usize = 32;

/// Whether `bytes` look like a PDF: `%PDF-` within the first 1024 bytes (as readers accept it).
pub fn is_pdf(bytes: &[u8]) -> bool {
    let head = bytes.get(..bytes.len().min(1024)).unwrap_or_default();
    head.windows(5).any(|w| w == b"%PDF-")
}

/// The parsed PDF.
#[derive(Debug)]
pub(crate) struct Source {
    pub(crate) doc: Document,
    /// The catalog's object id.
    pub(crate) root: ObjectId,
}

impl Source {
    /// Parses `bytes`, refusing what is not a PDF, does not parse, or is encrypted.
    pub(crate) fn read(bytes: &[u8]) -> Result<Source, PdfError> {
        if !is_pdf(bytes) {
            return Err(PdfError::NotPdf);
        }
        // lopdf returns errors for what it recognises as broken; a panic on an input it did not
        // foresee must not take the service down either.
        let parsed = std::panic::catch_unwind(|| Document::load_mem(bytes))
            .map_err(|_| malformed("the PDF reader could not make sense of it"))?;
        let doc = parsed.map_err(malformed)?;
        if doc.is_encrypted() || doc.encryption_state.is_some() || doc.trailer.has(b"Encrypt") {
            return Err(PdfError::Encrypted);
        }
        let root = doc
            .trailer
            .get(b"Root")
            .and_then(Object::as_reference)
            .map_err(|_| malformed("the trailer has no /Root catalog"))?;
        doc.get_dictionary(root)
            .map_err(|_| malformed("the /Root catalog is not a dictionary"))?;
        Ok(Source { doc, root })
    }

    /// The page `page` (1-based; `None`: the last) and the number of pages.
    pub(crate) fn page(&self, page: Option<u32>) -> Result<(u32, ObjectId), PdfError> {
        let pages = self.doc.get_pages();
        let last = pages.keys().next_back().copied();
        let number = match (page, last) {
            (_, None) => return Err(malformed("the PDF has no pages")),
            (Some(n), _) => n,
            (None, Some(last)) => last,
        };
        pages
            .get(&number)
            .map(|id| (number, *id))
            .ok_or(PdfError::NoSuchPage {
                page: number,
                pages: pages.len(),
            })
    }

    /// The page's visible box, `[x0 y0 x1 y1]` in points: its CropBox, else its MediaBox (each
    /// possibly inherited from the page tree).
    pub(crate) fn page_box(&self, page: ObjectId) -> Result<[f32; 4], PdfError> {
        let found = self
            .inherited(page, b"CropBox")
            .or_else(|| self.inherited(page, b"MediaBox"))
            .ok_or_else(|| malformed("the page has no /MediaBox"))?;
        let numbers: Vec<f32> = self
            .resolve(found)
            .as_array()
            .map_err(|_| malformed("the page's box is not an array"))?
            .iter()
            .map(|o| self.resolve(o).as_float())
            .collect::<Result<_, _>>()
            .map_err(|_| malformed("the page's box holds something other than numbers"))?;
        match numbers[..] {
            [a, b, c, d] if [a, b, c, d].iter().all(|x| x.is_finite()) => {
                Ok([a.min(c), b.min(d), a.max(c), b.max(d)])
            }
            _ => Err(malformed("the page's box is not four numbers")),
        }
    }

    /// `key` of the page or of the nearest ancestor in the page tree that has it.
    fn inherited(&self, page: ObjectId, key: &[u8]) -> Option<&Object> {
        let mut node = self.doc.get_dictionary(page).ok()?;
        for _ in 0..MAX_DEPTH {
            if let Ok(value) = node.get(key) {
                return Some(value);
            }
            let parent = node.get(b"Parent").and_then(Object::as_reference).ok()?;
            node = self.doc.get_dictionary(parent).ok()?;
        }
        None
    }

    /// `object`, or what it refers to (references followed a few times at most).
    pub(crate) fn resolve<'a>(&'a self, object: &'a Object) -> &'a Object {
        let mut current = object;
        for _ in 0..MAX_DEPTH {
            match current {
                Object::Reference(id) => match self.doc.get_object(*id) {
                    Ok(next) => current = next,
                    Err(_) => return &Object::Null,
                },
                _ => return current,
            }
        }
        &Object::Null
    }

    /// The form's `/Fields` array, if it has one.
    fn form_fields(&self) -> Option<&Vec<Object>> {
        let catalog = self.doc.get_dictionary(self.root).ok()?;
        let form = self.resolve(catalog.get(b"AcroForm").ok()?);
        let fields = form.as_dict().ok()?.get(b"Fields").ok()?;
        self.resolve(fields).as_array().ok()
    }

    /// The names (`/T`) of the form's top-level fields.
    pub(crate) fn field_names(&self) -> Vec<Vec<u8>> {
        self.form_fields()
            .into_iter()
            .flatten()
            .filter_map(|f| self.resolve(f).as_dict().ok())
            .filter_map(|f| f.get(b"T").ok()?.as_str().ok().map(<[u8]>::to_vec))
            .collect()
    }

    /// The object ids of the form's top-level fields (fields written inline are left out: they
    /// cannot be filled by an update).
    pub(crate) fn form_field_refs(&self) -> Option<Vec<ObjectId>> {
        Some(
            self.form_fields()?
                .iter()
                .filter_map(|f| f.as_reference().ok())
                .collect(),
        )
    }
}
