//! Where the visible signature goes: a page and a rectangle on it, or an empty signature field
//! the PDF already has, as the intake system asks at Submit; by default the last page, bottom
//! right.

use crate::error::PdfError;

/// A rectangle in PDF points (1/72 inch) from the page's lower-left corner.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    /// Left edge.
    pub x: f32,
    /// Bottom edge.
    pub y: f32,
    /// Width.
    pub width: f32,
    /// Height.
    pub height: f32,
}

/// The default block: 220 × 110 points.
const DEFAULT_SIZE: (f32, f32) = (220.0, 110.0);
/// The default block's distance from the page's right and bottom edges, points.
const DEFAULT_MARGIN: f32 = 36.0;

/// Where to put the signature.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Place {
    /// The page, from 1; `None`: the last.
    pub page: Option<u32>,
    /// The rectangle; `None`: bottom right.
    pub rect: Option<Rect>,
    /// An empty signature field of the PDF to sign into, by its full name: its widget's page
    /// and rectangle are the place (`page` and `rect` are then unset).
    pub field: Option<String>,
}

impl Place {
    /// A place from its fields as an API carries them: page 0 for the last page; x, y, width
    /// and height all 0 for the default rectangle. Refuses a rectangle that is only partly
    /// given, not finite, or empty, naming the field.
    pub fn from_fields(
        page: u32,
        x: f32,
        y: f32,
        width: f32,
        height: f32,
    ) -> Result<Place, PlaceError> {
        let fields = [("x", x), ("y", y), ("width", width), ("height", height)];
        if let Some((field, _)) = fields.iter().find(|(_, v)| !v.is_finite()) {
            return Err(PlaceError {
                field,
                reason: "is not a number",
            });
        }
        let rect = if fields.iter().all(|(_, v)| *v == 0.0) {
            None
        } else if let Some((field, _)) = fields[2..].iter().find(|(_, v)| *v <= 0.0) {
            return Err(PlaceError {
                field,
                reason: "must be more than 0 points when a rectangle is given",
            });
        } else {
            Some(Rect {
                x,
                y,
                width,
                height,
            })
        };
        Ok(Place {
            page: (page > 0).then_some(page),
            rect,
            field: None,
        })
    }

    /// A place as an API carries it: [`from_fields`](Self::from_fields), or, with a `field`
    /// name, the empty signature field of that name (page and rectangle then left unset).
    pub fn from_api(
        page: u32,
        x: f32,
        y: f32,
        width: f32,
        height: f32,
        field: &str,
    ) -> Result<Place, PlaceError> {
        if field.is_empty() {
            return Place::from_fields(page, x, y, width, height);
        }
        if page != 0 || [x, y, width, height].iter().any(|v| *v != 0.0) {
            return Err(PlaceError {
                field: "field",
                reason: "names a signature field, which has its own page and rectangle: leave \
                         page, x, y, width and height unset",
            });
        }
        Place::field(field)
    }

    /// The empty signature field named `name` (its full name, 1 to 200 bytes).
    pub fn field(name: &str) -> Result<Place, PlaceError> {
        if name.is_empty() || name.len() > 200 || name.chars().any(char::is_control) {
            return Err(PlaceError {
                field: "field",
                reason: "must be a field's full name: 1 to 200 bytes, no control characters",
            });
        }
        Ok(Place {
            field: Some(name.to_string()),
            ..Place::default()
        })
    }

    /// The rectangle on a page whose box is `page_box`, checked to lie on it.
    pub(crate) fn on(&self, page: u32, page_box: [f32; 4]) -> Result<Rect, PdfError> {
        let [x0, y0, x1, y1] = page_box;
        let rect = self.rect.unwrap_or_else(|| {
            let (w, h) = DEFAULT_SIZE;
            let (w, h) = (w.min(x1 - x0), h.min(y1 - y0));
            Rect {
                x: (x1 - DEFAULT_MARGIN - w).max(x0),
                y: (y0 + DEFAULT_MARGIN).min(y1 - h),
                width: w,
                height: h,
            }
        });
        let inside = [rect.x, rect.y, rect.width, rect.height]
            .iter()
            .all(|v| v.is_finite())
            && rect.width > 0.0
            && rect.height > 0.0
            && rect.x >= x0
            && rect.y >= y0
            && rect.x + rect.width <= x1
            && rect.y + rect.height <= y1;
        if inside {
            Ok(rect)
        } else {
            Err(PdfError::OffPage {
                place: format!("{},{} {}x{}", rect.x, rect.y, rect.width, rect.height),
                page,
                page_box: format!("{x0},{y0} to {x1},{y1}"),
            })
        }
    }
}

/// The side of a ward's round seal printed at real size (35 mm), points.
pub const SEAL_SIDE: f32 = 35.0 / 25.4 * 72.0;

/// Where the ward's seal goes on `pdf`: at real size over about the left third of the person's
/// signature block `widget` (Decree 30/2020, Appendix I), moved inside the page if it would
/// stick out.
pub fn seal_over(pdf: &[u8], widget: crate::Widget) -> Result<Place, PdfError> {
    let source = crate::source::Source::read(pdf)?;
    let (_, page) = source.page(Some(widget.page))?;
    let [x0, y0, x1, y1] = source.page_box(page)?;
    let side = SEAL_SIDE.min(x1 - x0).min(y1 - y0);
    let block = widget.rect;
    let centre = (block.x + block.width / 3.0, block.y + block.height / 2.0);
    let x = (centre.0 - side / 2.0).clamp(x0, x1 - side);
    let y = (centre.1 - side / 2.0).clamp(y0, y1 - side);
    Ok(Place {
        page: Some(widget.page),
        rect: Some(Rect {
            x,
            y,
            width: side,
            height: side,
        }),
        field: None,
    })
}

/// A field of a place that cannot be used, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{field} {reason}")]
pub struct PlaceError {
    /// The field.
    pub field: &'static str,
    /// What is wrong with it.
    pub reason: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;

    const A4: [f32; 4] = [0.0, 0.0, 595.0, 842.0];

    #[test]
    fn the_default_is_bottom_right() {
        let r = Place::default().on(1, A4).expect("fits");
        assert_eq!((r.x, r.y, r.width, r.height), (339.0, 36.0, 220.0, 110.0));
    }

    #[test]
    fn a_place_from_fields_is_whole_or_default() {
        assert_eq!(
            Place::from_fields(0, 0.0, 0.0, 0.0, 0.0),
            Ok(Place::default())
        );
        let given = Place::from_fields(2, 10.0, 20.0, 100.0, 50.0).expect("whole");
        assert_eq!(given.page, Some(2));
        assert_eq!(given.rect.map(|r| r.width), Some(100.0));
        assert_eq!(
            Place::from_fields(1, 10.0, 20.0, 0.0, 50.0)
                .expect_err("no width")
                .to_string(),
            "width must be more than 0 points when a rectangle is given"
        );
        assert_eq!(
            Place::from_fields(1, f32::NAN, 0.0, 1.0, 1.0).map_err(|e| e.field),
            Err("x")
        );
        assert_eq!(
            Place::from_api(0, 0.0, 0.0, 0.0, 0.0, "Giám đốc ký")
                .expect("a field")
                .field
                .as_deref(),
            Some("Giám đốc ký")
        );
        assert_eq!(
            Place::from_api(2, 0.0, 0.0, 0.0, 0.0, "Giám đốc ký").map_err(|e| e.field),
            Err("field")
        );
        assert_eq!(Place::field("a\nb").map_err(|e| e.field), Err("field"));
    }

    #[test]
    fn a_place_off_the_page_is_refused() {
        let place = Place {
            page: Some(1),
            rect: Some(Rect {
                x: 500.0,
                y: 10.0,
                width: 200.0,
                height: 50.0,
            }),
            field: None,
        };
        let err = place.on(1, A4).expect_err("off the page");
        assert_eq!(
            err.to_string(),
            "the signature's place 500,10 200x50 is not inside page 1 (0,0 to 595,842)"
        );
    }
}
