//! The signature's appearance: the block of lines the signer's capacity, title and name make
//! (e.g. "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH", "Trần Văn Hùng"), centred in the widget's rectangle in
//! the largest size up to 11 points at which every line fits; the signer's image, if any, takes
//! the height of [`IMAGE_ROWS`] lines between the title and the name. A block of no lines is its
//! image alone (the ward's seal over the person's block).

mod font;

use lopdf::content::{Content, Operation};
use lopdf::{Dictionary, Document, Object, Stream};

use crate::error::{PdfError, malformed};
use crate::image::Image;
use crate::place::Rect;
use font::{Line, Subset};

/// The largest type size, points.
const MAX_SIZE: f32 = 11.0;
/// Space kept free along each edge, points.
const PADDING: f32 = 4.0;
/// Line height over type size.
const LEADING: f32 = 1.3;
/// The signer's image is as tall as this many lines.
const IMAGE_ROWS: usize = 3;

/// The appearance stream (a form XObject the size of `rect`) drawing `lines` and `image`, with
/// its font and image written into `doc`.
pub(crate) fn block(
    doc: &mut Document,
    rect: Rect,
    lines: &[String],
    image: Option<&Image>,
) -> Result<Stream, PdfError> {
    let lines: Vec<Line> = lines
        .iter()
        .map(|l| Line::new(l))
        .collect::<Result<_, _>>()?;
    let mut operations = Vec::new();
    let mut resources = Dictionary::new();
    // A block of no lines is its image alone (the ward's seal), as large as fits the rectangle.
    if let (true, Some(image)) = (lines.is_empty(), image) {
        let object = image.embed(doc)?;
        resources.set(
            "XObject",
            Dictionary::from_iter([("Im1", Object::Reference(object))]),
        );
        let fits = (rect.height - 2.0 * PADDING) / IMAGE_ROWS as f32;
        operations.extend(draw_image(
            image,
            rect.width,
            rect.width - 2.0 * PADDING,
            PADDING,
            fits,
        ));
    }
    let image = image.filter(|_| !lines.is_empty());
    let image_rows = if image.is_some() { IMAGE_ROWS } else { 0 };
    let rows = lines.len() + image_rows;
    if rows > 0 {
        let subset = Subset::of(&lines);
        let font = subset.embed(doc)?;
        resources.set(
            "Font",
            Dictionary::from_iter([("F1", Object::Reference(font))]),
        );
        let (width, height) = (rect.width - 2.0 * PADDING, rect.height - 2.0 * PADDING);
        let widest = lines.iter().map(|l| l.width(1.0)).fold(0.0, f32::max);
        let tall = rows as f32 * LEADING;
        let size = MAX_SIZE
            .min(if widest > 0.0 {
                width / widest
            } else {
                MAX_SIZE
            })
            .min(height / tall)
            .max(1.0);
        let step = size * LEADING;
        // The top of the block, so that it sits in the middle.
        let mut top = rect.height / 2.0 + (rows as f32 * step) / 2.0;
        // The image goes before the last line (the name).
        let image_at = lines.len().saturating_sub(1);
        for (i, line) in lines.iter().enumerate() {
            if let Some(image) = image.filter(|_| i == image_at) {
                let object = image.embed(doc)?;
                resources.set(
                    "XObject",
                    Dictionary::from_iter([("Im1", Object::Reference(object))]),
                );
                top -= IMAGE_ROWS as f32 * step;
                operations.extend(draw_image(image, rect.width, width, top, step));
            }
            let x = (rect.width - line.width(size)) / 2.0;
            let y = top - size;
            operations.push(Operation::new("BT", vec![]));
            operations.push(Operation::new("Tf", vec!["F1".into(), size.into()]));
            operations.push(Operation::new(
                "Tm",
                vec![1.into(), 0.into(), 0.into(), 1.into(), x.into(), y.into()],
            ));
            operations.push(Operation::new("Tj", vec![subset.show(line)]));
            operations.push(Operation::new("ET", vec![]));
            top -= step;
        }
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

/// Draws `image` centred across a block `block_width` wide, in the band of [`IMAGE_ROWS`] lines
/// whose bottom is `bottom`, as large as fits `width` and the band.
fn draw_image(
    image: &Image,
    block_width: f32,
    width: f32,
    bottom: f32,
    step: f32,
) -> Vec<Operation> {
    let band = IMAGE_ROWS as f32 * step;
    let (mut w, mut h) = (band * image.aspect(), band);
    if w > width {
        (w, h) = (width, width / image.aspect());
    }
    let (x, y) = ((block_width - w) / 2.0, bottom + (band - h) / 2.0);
    vec![
        Operation::new("q", vec![]),
        Operation::new(
            "cm",
            vec![w.into(), 0.into(), 0.into(), h.into(), x.into(), y.into()],
        ),
        Operation::new("Do", vec!["Im1".into()]),
        Operation::new("Q", vec![]),
    ]
}
