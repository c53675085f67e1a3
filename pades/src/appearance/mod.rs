//! The signature's appearance: the block of lines the signer's capacity, title and name make
//! (e.g. "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH", "Trần Văn Hùng"), centred in the widget's rectangle in
//! the largest size up to 11 points at which every line fits.

mod font;

use lopdf::content::{Content, Operation};
use lopdf::{Dictionary, Document, Object, Stream};

use crate::error::{PdfError, malformed};
use crate::place::Rect;
use font::{Line, Subset};

/// The largest type size, points.
const MAX_SIZE: f32 = 11.0;
/// Space kept free along each edge, points.
const PADDING: f32 = 4.0;
/// Line height over type size.
const LEADING: f32 = 1.3;

/// The appearance stream (a form XObject the size of `rect`) drawing `lines`, with its font
/// written into `doc`.
pub(crate) fn block(doc: &mut Document, rect: Rect, lines: &[String]) -> Result<Stream, PdfError> {
    let lines: Vec<Line> = lines
        .iter()
        .map(|l| Line::new(l))
        .collect::<Result<_, _>>()?;
    let mut operations = Vec::new();
    let mut resources = Dictionary::new();
    if !lines.is_empty() {
        let subset = Subset::of(&lines);
        let font = subset.embed(doc)?;
        resources.set(
            "Font",
            Dictionary::from_iter([("F1", Object::Reference(font))]),
        );
        let (width, height) = (rect.width - 2.0 * PADDING, rect.height - 2.0 * PADDING);
        let widest = lines.iter().map(|l| l.width(1.0)).fold(0.0, f32::max);
        let tall = lines.len() as f32 * LEADING;
        let size = MAX_SIZE
            .min(if widest > 0.0 {
                width / widest
            } else {
                MAX_SIZE
            })
            .min(height / tall)
            .max(1.0);
        let step = size * LEADING;
        // The first baseline, so that the block sits in the middle.
        let mut y = rect.height / 2.0 + (lines.len() as f32 * step) / 2.0 - size;
        operations.push(Operation::new("BT", vec![]));
        operations.push(Operation::new("Tf", vec!["F1".into(), size.into()]));
        for line in &lines {
            let x = (rect.width - line.width(size)) / 2.0;
            operations.push(Operation::new(
                "Tm",
                vec![1.into(), 0.into(), 0.into(), 1.into(), x.into(), y.into()],
            ));
            operations.push(Operation::new("Tj", vec![subset.show(line)]));
            y -= step;
        }
        operations.push(Operation::new("ET", vec![]));
    }
    let content = Content { operations }
        .encode()
        .map_err(|e| malformed(format!("writing the signature's appearance: {e}")))?;
    Ok(Stream::new(
        Dictionary::from_iter([
            ("Type", Object::Name(b"XObject".to_vec())),
            ("Subtype", Object::Name(b"Form".to_vec())),
            (
                "BBox",
                Object::Array(vec![
                    0.into(),
                    0.into(),
                    Object::Real(rect.width),
                    Object::Real(rect.height),
                ]),
            ),
            ("Resources", Object::Dictionary(resources)),
        ]),
        content,
    ))
}
