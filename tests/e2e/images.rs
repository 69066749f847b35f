//! An image travels: added in one browser through the image input, it shows
//! in a second browser, and in a third that opens the board after the first
//! has closed, so its bytes come from the second browser. The picture is a
//! few hundred kilobytes of noise (it does not compress), so it crosses in
//! many 64 KiB chunks.

use std::path::Path;

use anyhow::{Context, Result, ensure};
use corkboard_e2e::harness::{self, Browser, Signaling};
use corkboard_e2e::{check, find};

use crate::support;

const WIDTH: u32 = 400;
const HEIGHT: u32 = 300;

/// Writes a `WIDTH`×`HEIGHT` PNG of pseudo-random pixels; its size in bytes.
fn write_noise_png(path: &Path) -> Result<u64> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let image = image::RgbImage::from_fn(WIDTH, HEIGHT, |_, _| {
        // xorshift64: cheap noise a PNG encoder cannot shrink.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let [r, g, b, ..] = state.to_le_bytes();
        image::Rgb([r, g, b])
    });
    image
        .save_with_format(path, image::ImageFormat::Png)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(std::fs::metadata(path)?.len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn image_reaches_a_second_and_a_late_third_browser() -> Result<()> {
    let dir = harness::temp_dir("images")?;
    let png = dir.join("noise.png");
    let size = write_noise_png(&png)?;
    ensure!(size > 4 * 64 * 1024, "the picture should need several chunks; it is {size} bytes");

    let signaling = Signaling::start()?;
    let (alice, bob, url) = support::two_on_a_board(&signaling).await?;
    let (a, b) = (alice.client(), bob.client());

    // Alice picks the file; both browsers show the picture at its natural size.
    support::choose_file(a, &png).await?;
    check::count(a, find::IMAGE, 1).await?;
    support::image_shown(a, WIDTH, HEIGHT).await?;
    check::count(b, find::IMAGE, 1).await?;
    support::image_shown(b, WIDTH, HEIGHT).await?;
    bob.shot("images-second-browser").await?;

    // Alice leaves; Carol arrives and gets the picture from Bob.
    alice.close().await?;
    check::peers(b, 0).await?;
    let carol = Browser::start().await?;
    let c = carol.client();
    carol.open(&url).await?;
    check::peers(c, 1).await?;
    check::count(c, find::IMAGE, 1).await?;
    support::image_shown(c, WIDTH, HEIGHT).await?;
    carol.shot("images-late-third-browser").await?;

    carol.close().await?;
    bob.close().await
}
