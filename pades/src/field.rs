//! An empty signature field the PDF already has, named by the intake system: a form prepared
//! with a place for the signature ("Giám đốc ký" under the text). Signing into it fills that
//! field (its `/V`, its widget's appearance) instead of adding one, so the form keeps its own
//! layout and any validator finds the signature where the form said it would be.
//!
//! Fields are found by their full name (the partial names `/T` of the field and its ancestors,
//! joined with `.`), as PDF forms name them. The walk over the form is bounded in depth and in
//! fields, so a crafted form cannot make it loop or run long.

use std::collections::HashSet;

use lopdf::{Dictionary, Object, ObjectId};

use crate::error::PdfError;
use crate::place::Rect;
use crate::source::Source;

/// Fields looked at, at most (a real form has dozens).
const MAX_FIELDS: usize = 10_000;
/// Nesting of fields, at most.
const MAX_DEPTH: usize = 32;

/// Where a signature goes into an existing field.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Slot {
    /// The field (its `/V` receives the signature).
    pub(crate) field: ObjectId,
    /// Its widget (the field itself when they are merged).
    pub(crate) widget: ObjectId,
    /// The page the widget is on.
    pub(crate) page: ObjectId,
    /// The widget's rectangle.
    pub(crate) rect: Rect,
}

/// A field of the form, with its full name and its (inherited) type.
struct Field<'a> {
    id: ObjectId,
    dict: &'a Dictionary,
    name: String,
    kind: Option<Vec<u8>>,
}

/// The empty signature field named `name`, or why it cannot be signed into.
pub(crate) fn find(source: &Source, name: &str) -> Result<Slot, PdfError> {
    let refused = |reason: &str| PdfError::Field {
        name: name.to_string(),
        reason: reason.to_string(),
    };
    let field = terminal_fields(source)
        .into_iter()
        .find(|f| f.name == name)
        .ok_or_else(|| refused("does not exist in the PDF"))?;
    if field.kind.as_deref() != Some(b"Sig") {
        return Err(refused("is not a signature field"));
    }
    if field
        .dict
        .get(b"V")
        .is_ok_and(|v| !matches!(source.resolve(v), Object::Null))
    {
        return Err(refused("is already signed"));
    }
    let widget = widget_of(source, &field).ok_or_else(|| refused("has no widget on a page"))?;
    let widget_dict = source
        .doc
        .get_dictionary(widget)
        .map_err(|_| refused("has no widget on a page"))?;
    let page = match widget_dict.get(b"P").and_then(Object::as_reference) {
        Ok(page) => page,
        Err(_) => page_listing(source, widget).ok_or_else(|| refused("is on no page"))?,
    };
    let rect = rect_of(source, widget_dict).ok_or_else(|| refused("has no usable /Rect"))?;
    Ok(Slot {
        field: field.id,
        widget,
        page,
        rect,
    })
}

/// Every terminal field of the form (one that holds a value), depth first.
fn terminal_fields(source: &Source) -> Vec<Field<'_>> {
    let Some(roots) = source.form_field_refs() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    let mut stack: Vec<(ObjectId, String, Option<Vec<u8>>, usize)> = roots
        .into_iter()
        .rev()
        .map(|id| (id, String::new(), None, 0))
        .collect();
    while let Some((id, prefix, inherited, depth)) = stack.pop() {
        if depth > MAX_DEPTH || seen.len() >= MAX_FIELDS || !seen.insert(id) {
            continue;
        }
        let Ok(dict) = source.doc.get_dictionary(id) else {
            continue;
        };
        let partial = dict
            .get(b"T")
            .ok()
            .and_then(|t| lopdf::decode_text_string(source.resolve(t)).ok());
        let name = match (&partial, prefix.is_empty()) {
            (Some(t), true) => t.clone(),
            (Some(t), false) => format!("{prefix}.{t}"),
            (None, _) => prefix.clone(),
        };
        let kind = dict
            .get(b"FT")
            .ok()
            .and_then(|k| source.resolve(k).as_name().ok())
            .map(<[u8]>::to_vec)
            .or(inherited);
        let kids: Vec<ObjectId> = dict
            .get(b"Kids")
            .ok()
            .and_then(|k| source.resolve(k).as_array().ok())
            .map(|k| k.iter().filter_map(|o| o.as_reference().ok()).collect())
            .unwrap_or_default();
        // Kids with names of their own are fields; kids without are this field's widgets.
        let child_fields: Vec<ObjectId> = kids
            .iter()
            .copied()
            .filter(|k| source.doc.get_dictionary(*k).is_ok_and(|d| d.has(b"T")))
            .collect();
        if child_fields.is_empty() {
            out.push(Field {
                id,
                dict,
                name,
                kind,
            });
        } else {
            for kid in child_fields.into_iter().rev() {
                stack.push((kid, name.clone(), kind.clone(), depth + 1));
            }
        }
    }
    out
}

/// The field's widget: the field itself if merged with it, else its one widget kid.
fn widget_of(source: &Source, field: &Field<'_>) -> Option<ObjectId> {
    if field.dict.has(b"Rect") {
        return Some(field.id);
    }
    let kids = source
        .resolve(field.dict.get(b"Kids").ok()?)
        .as_array()
        .ok()?;
    match kids[..] {
        [Object::Reference(widget)] => Some(widget),
        _ => None,
    }
}

/// The page whose `/Annots` lists `widget` (for a widget without `/P`).
fn page_listing(source: &Source, widget: ObjectId) -> Option<ObjectId> {
    source.doc.get_pages().into_values().find(|page| {
        source
            .doc
            .get_dictionary(*page)
            .ok()
            .and_then(|p| p.get(b"Annots").ok())
            .and_then(|a| source.resolve(a).as_array().ok())
            .is_some_and(|a| a.contains(&Object::Reference(widget)))
    })
}

/// A widget's `/Rect`, normalised; None unless four finite numbers with an area.
fn rect_of(source: &Source, widget: &Dictionary) -> Option<Rect> {
    let numbers: Vec<f32> = source
        .resolve(widget.get(b"Rect").ok()?)
        .as_array()
        .ok()?
        .iter()
        .map(|o| source.resolve(o).as_float().ok())
        .collect::<Option<_>>()?;
    let [a, b, c, d] = numbers[..] else {
        return None;
    };
    let rect = Rect {
        x: a.min(c),
        y: b.min(d),
        width: (c - a).abs(),
        height: (d - b).abs(),
    };
    let usable =
        [a, b, c, d].iter().all(|v| v.is_finite()) && rect.width > 0.0 && rect.height > 0.0;
    usable.then_some(rect)
}
