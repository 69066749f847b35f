//! Turning a file the user gave us into an image card's bytes: read it,
//! check by its first bytes that it is a picture we can show (PNG, JPEG,
//! GIF, WebP, BMP; never SVG, which can carry script), and measure it with
//! `createImageBitmap`, which decodes off the main thread.

use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use crate::dom;
use crate::engine::NewImage;

/// Largest image accepted, in bytes.
pub const MAX_IMAGE_BYTES: usize = 32 * 1024 * 1024;

/// The media type of image bytes, judged by their signature.
pub use board_model::blob::image_type as sniff;

/// Reads and checks a file; the error is a sentence for the user.
pub async fn read_file(file: &web_sys::File) -> Result<NewImage, String> {
    let name = file.name();
    if file.size() as usize > MAX_IMAGE_BYTES {
        return Err(format!(
            "“{name}” is too large ({} MB); the limit is 32 MB.",
            (file.size() / 1e6).round()
        ));
    }
    let buffer =
        JsFuture::from(file.array_buffer()).await.map_err(|_| format!("“{name}” could not be read."))?;
    let bytes = js_sys::Uint8Array::new(&buffer).to_vec();
    from_bytes(bytes, name).await
}

/// Checks bytes (from a file or the clipboard) and measures the picture.
pub async fn from_bytes(bytes: Vec<u8>, name: String) -> Result<NewImage, String> {
    let Some(media_type) = sniff(&bytes) else {
        return Err(format!("“{name}” is not an image Corkboard can show (PNG, JPEG, GIF, WebP or BMP)."));
    };
    let (width, height) = measure(&bytes, media_type).await.ok_or_else(|| {
        format!("“{name}” looks like an image but could not be decoded; it may be damaged.")
    })?;
    Ok(NewImage { bytes, media_type, width, height, name })
}

async fn measure(bytes: &[u8], media_type: &str) -> Option<(u32, u32)> {
    let window = dom::window()?;
    let array = js_sys::Uint8Array::from(bytes);
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(media_type);
    let blob =
        web_sys::Blob::new_with_u8_array_sequence_and_options(&js_sys::Array::of1(&array), &options).ok()?;
    let promise = window.create_image_bitmap_with_blob(&blob).ok()?;
    let bitmap: web_sys::ImageBitmap = JsFuture::from(promise).await.ok()?.dyn_into().ok()?;
    let size = (bitmap.width(), bitmap.height());
    bitmap.close();
    (size.0 > 0 && size.1 > 0).then_some(size)
}
