//! The demo ward's seal image: what `signq dev` sets as its clerk's image, so that a PDF sealed
//! in the demo shows a seal. A ward's real seal is a scan of its stamp (a PNG, red on a
//! transparent background), set with `Admin.SetSignatureImage` for its clerk.

/// The image's side, pixels (drawn at 35 mm: about 175 dpi).
const SIDE: u32 = 240;
/// The seal's red.
const RED: [u8; 4] = [200, 24, 32, 255];

/// Whether the pixel at (`dx`, `dy`) from the centre is inked: two rings and a five-pointed star.
fn inked(dx: f32, dy: f32) -> bool {
    let r = dx.hypot(dy);
    if (104.0..116.0).contains(&r) || (84.0..88.0).contains(&r) {
        return true;
    }
    // The star: inside when the radius is under the star's outline at that angle.
    let angle = dy.atan2(dx) + std::f32::consts::FRAC_PI_2;
    let sector = std::f32::consts::TAU / 5.0;
    let t = (angle.rem_euclid(sector) / sector - 0.5).abs() * 2.0;
    let outline = 22.0 + (48.0 - 22.0) * (1.0 - t);
    r < outline
}

/// The seal as a PNG.
pub fn png() -> anyhow::Result<Vec<u8>> {
    let centre = (SIDE as f32 - 1.0) / 2.0;
    let mut pixels = Vec::with_capacity((SIDE * SIDE * 4) as usize);
    for y in 0..SIDE {
        for x in 0..SIDE {
            let ink = inked(x as f32 - centre, y as f32 - centre);
            pixels.extend_from_slice(if ink { &RED } else { &[0, 0, 0, 0] });
        }
    }
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, SIDE, SIDE);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(&pixels)?;
    writer.finish()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_demo_seal_is_a_png_the_signing_service_accepts() {
        let png = super::png().expect("a PNG");
        signq_pades::Image::from_png(&png).expect("usable");
    }
}
