//! The board's SVG rendered to PNG with resvg. The fonts are DejaVu Sans
//! (regular, bold, mono) built in, and nothing is looked up on the system
//! or read from a path, so every home — the CLI, the browser's worker, the
//! desktop app — draws the same pixels from the same SVG. The picture is
//! drawn at `scale` pixels per board unit, less when that would pass
//! [`MAX_PIXELS`] (a huge board must not take unbounded memory).

use std::sync::{Arc, OnceLock};

use resvg::{tiny_skia, usvg};

/// The most pixels a picture may have (about 256 MB of RGBA at most).
pub const MAX_PIXELS: f64 = 64_000_000.0;
/// The longest side a picture may have (tiny-skia's bound, with room).
const MAX_SIDE: f64 = 30_000.0;

/// Why a PNG could not be made.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the picture is not a readable SVG: {0}")]
    Svg(String),
    #[error("the picture has no area")]
    Empty,
    #[error("could not encode the PNG: {0}")]
    Encode(String),
}

/// The fonts, loaded once.
fn fonts() -> Arc<usvg::fontdb::Database> {
    static FONTS: OnceLock<Arc<usvg::fontdb::Database>> = OnceLock::new();
    FONTS
        .get_or_init(|| {
            let mut fonts = usvg::fontdb::Database::new();
            fonts.load_font_data(dejavu::sans::regular().to_vec());
            fonts.load_font_data(dejavu::sans::bold().to_vec());
            fonts.load_font_data(dejavu::sans_mono::regular().to_vec());
            fonts.set_sans_serif_family("DejaVu Sans");
            fonts.set_serif_family("DejaVu Sans");
            fonts.set_monospace_family("DejaVu Sans Mono");
            Arc::new(fonts)
        })
        .clone()
}

/// `svg` as PNG bytes, `scale` pixels per SVG unit (2 for a sharp picture
/// on a high-density screen), scaled down to stay within [`MAX_PIXELS`].
pub fn png(svg: &str, scale: f64) -> Result<Vec<u8>, Error> {
    let mut options =
        usvg::Options { font_family: "DejaVu Sans".into(), fontdb: fonts(), ..Default::default() };
    // Only pictures inside the file (data URLs); never a path or the network.
    options.image_href_resolver.resolve_string = Box::new(|_, _| None);
    let tree = usvg::Tree::from_str(svg, &options).map_err(|e| Error::Svg(e.to_string()))?;
    let size = tree.size();
    let (w, h) = (f64::from(size.width()), f64::from(size.height()));
    if !(w >= 1.0 && h >= 1.0) {
        return Err(Error::Empty);
    }
    let scale = scale.clamp(0.01, 8.0).min((MAX_PIXELS / (w * h)).sqrt()).min(MAX_SIDE / w.max(h));
    let (pw, ph) = ((w * scale).ceil().max(1.0) as u32, (h * scale).ceil().max(1.0) as u32);
    let mut pixmap = tiny_skia::Pixmap::new(pw, ph).ok_or(Error::Empty)?;
    resvg::render(&tree, tiny_skia::Transform::from_scale(scale as f32, scale as f32), &mut pixmap.as_mut());
    pixmap.encode_png().map_err(|e| Error::Encode(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_svg_becomes_a_png_of_its_size_times_the_scale() {
        let svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"100\" height=\"50\">\
                   <rect width=\"100\" height=\"50\" fill=\"#ff0000\"/><text x=\"5\" y=\"30\">Hi</text></svg>";
        let png = png(svg, 2.0).expect("png");
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        // IHDR: width and height, big-endian, at bytes 16..24.
        assert_eq!(u32::from_be_bytes([png[16], png[17], png[18], png[19]]), 200);
        assert_eq!(u32::from_be_bytes([png[20], png[21], png[22], png[23]]), 100);
    }

    #[test]
    fn a_huge_picture_is_scaled_down_and_bad_svg_is_an_error() {
        let svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"100000\" height=\"100000\"></svg>";
        let png = png(svg, 2.0).expect("png");
        let w = u32::from_be_bytes([png[16], png[17], png[18], png[19]]);
        assert!(f64::from(w) * f64::from(w) <= MAX_PIXELS * 1.01, "{w}");
        assert!(matches!(super::png("<svg", 1.0), Err(Error::Svg(_))));
        assert!(matches!(super::png("not svg at all", 1.0), Err(Error::Svg(_))));
    }

    #[test]
    fn images_are_read_only_from_inside_the_file() {
        let svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\">\
                   <image href=\"/etc/passwd\" width=\"10\" height=\"10\"/></svg>";
        assert!(png(svg, 1.0).is_ok());
    }
}
