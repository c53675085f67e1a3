//! Images in a signature block: the signer's own signature, which Vietnamese administrative
//! documents print between the title and the name (a blue image on a transparent background).
//! A PNG is decoded once, checked, and written as a PDF image XObject with its transparency as
//! a soft mask.

use std::io::Write;

use lopdf::{Dictionary, Document, Object, ObjectId, Stream};

use crate::error::PdfError;

/// The largest PNG accepted, bytes.
pub const MAX_PNG_BYTES: usize = 512 * 1024;
/// The longest side accepted, pixels: a signature printed a few centimetres wide needs far less.
const MAX_SIDE: u32 = 2048;

/// A decoded image, 8 bits per channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    width: u32,
    height: u32,
    /// RGB samples, row by row.
    rgb: Vec<u8>,
    /// Opacity samples, when some pixel is not fully opaque.
    alpha: Option<Vec<u8>>,
}

fn bad(reason: impl std::fmt::Display) -> PdfError {
    PdfError::BadImage(reason.to_string())
}

impl Image {
    /// Decodes a PNG: at most [`MAX_PNG_BYTES`] and 2048 pixels a side, any colour type.
    pub fn from_png(png: &[u8]) -> Result<Image, PdfError> {
        if png.len() > MAX_PNG_BYTES {
            return Err(bad(format!("{} bytes; at most {MAX_PNG_BYTES}", png.len())));
        }
        let limits = png::Limits {
            bytes: 4 * (MAX_SIDE as usize) * (MAX_SIDE as usize),
        };
        let mut decoder = png::Decoder::new_with_limits(png, limits);
        decoder.set_transformations(png::Transformations::normalize_to_color8());
        let mut reader = decoder
            .read_info()
            .map_err(|e| bad(format!("not a readable PNG: {e}")))?;
        let (width, height) = reader.info().size();
        if width == 0 || height == 0 || width > MAX_SIDE || height > MAX_SIDE {
            return Err(bad(format!(
                "{width}x{height} pixels; each side must be 1 to {MAX_SIDE}"
            )));
        }
        let mut buffer = vec![0; reader.output_buffer_size()];
        let frame = reader
            .next_frame(&mut buffer)
            .map_err(|e| bad(format!("not a readable PNG: {e}")))?;
        let pixels = buffer.get(..frame.buffer_size()).unwrap_or_default();
        let (rgb, alpha): (Vec<u8>, Vec<u8>) = match frame.color_type {
            png::ColorType::Rgb => (pixels.to_vec(), Vec::new()),
            png::ColorType::Rgba => pixels
                .chunks_exact(4)
                .map(|p| ([p[0], p[1], p[2]], p[3]))
                .fold((Vec::new(), Vec::new()), |(mut rgb, mut a), (c, o)| {
                    rgb.extend_from_slice(&c);
                    a.push(o);
                    (rgb, a)
                }),
            png::ColorType::Grayscale => {
                (pixels.iter().flat_map(|&g| [g, g, g]).collect(), Vec::new())
            }
            png::ColorType::GrayscaleAlpha => {
                let rgb = pixels
                    .chunks_exact(2)
                    .flat_map(|p| [p[0], p[0], p[0]])
                    .collect();
                (rgb, pixels.chunks_exact(2).map(|p| p[1]).collect())
            }
            png::ColorType::Indexed => return Err(bad("its palette could not be expanded")),
        };
        if rgb.len() != 3 * width as usize * height as usize {
            return Err(bad("its pixel data is incomplete"));
        }
        Ok(Image {
            width,
            height,
            rgb,
            alpha: (alpha.iter().any(|&a| a != u8::MAX)).then_some(alpha),
        })
    }

    /// Width over height.
    pub fn aspect(&self) -> f32 {
        self.width as f32 / self.height as f32
    }

    /// Writes the image (and its soft mask) into `doc`; returns the image XObject.
    pub(crate) fn embed(&self, doc: &mut Document) -> Result<ObjectId, PdfError> {
        let samples = |color_space: &str, data: &[u8]| -> Result<Stream, PdfError> {
            let mut encoder =
                flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
            encoder
                .write_all(data)
                .and_then(|()| encoder.finish())
                .map(|compressed| {
                    Stream::new(
                        Dictionary::from_iter([
                            ("Type", Object::Name(b"XObject".to_vec())),
                            ("Subtype", Object::Name(b"Image".to_vec())),
                            ("Width", Object::Integer(i64::from(self.width))),
                            ("Height", Object::Integer(i64::from(self.height))),
                            ("ColorSpace", Object::Name(color_space.as_bytes().to_vec())),
                            ("BitsPerComponent", Object::Integer(8)),
                            ("Filter", Object::Name(b"FlateDecode".to_vec())),
                        ]),
                        compressed,
                    )
                })
                .map_err(|e| bad(format!("compressing it: {e}")))
        };
        let mut image = samples("DeviceRGB", &self.rgb)?;
        if let Some(alpha) = &self.alpha {
            let mask = doc.add_object(samples("DeviceGray", alpha)?);
            image.dict.set("SMask", Object::Reference(mask));
        }
        Ok(doc.add_object(image))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A PNG of `width` x `height` pixels of one colour type.
    pub(crate) fn png(width: u32, height: u32, color: png::ColorType, pixels: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, width, height);
        encoder.set_color(color);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().expect("header");
        writer.write_image_data(pixels).expect("pixels");
        writer.finish().expect("finish");
        out
    }

    #[test]
    fn a_transparent_signature_keeps_its_transparency_and_an_opaque_one_has_no_mask() {
        let blue_on_clear = png(2, 1, png::ColorType::Rgba, &[0, 0, 200, 255, 0, 0, 0, 0]);
        let image = Image::from_png(&blue_on_clear).expect("decodes");
        assert_eq!(image.rgb, [0, 0, 200, 0, 0, 0]);
        assert_eq!(image.alpha.as_deref(), Some([255, 0].as_slice()));
        assert_eq!(image.aspect(), 2.0);

        let grey = png(1, 2, png::ColorType::Grayscale, &[10, 20]);
        let image = Image::from_png(&grey).expect("decodes");
        assert_eq!(image.rgb, [10, 10, 10, 20, 20, 20]);
        assert_eq!(image.alpha, None);
    }

    #[test]
    fn what_is_not_a_usable_png_is_refused_saying_why() {
        let error = Image::from_png(b"GIF89a").expect_err("not a PNG");
        assert!(error.to_string().contains("not a readable PNG"), "{error}");
        let wide = png(3000, 1, png::ColorType::Grayscale, &[0; 3000]);
        let error = Image::from_png(&wide).expect_err("too wide");
        assert!(error.to_string().contains("3000x1 pixels"), "{error}");
        let error = Image::from_png(&vec![0; MAX_PNG_BYTES + 1]).expect_err("too large");
        assert!(error.to_string().contains("bytes; at most"), "{error}");
    }
}
