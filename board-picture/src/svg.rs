//! A board (or a selection) as one self-contained SVG that looks like the
//! board: groups under the edges, edges under the other cards, labels over
//! everything, each card in its colour with its Markdown, link, image or
//! file drawn as in the app. Images are inside as data URLs (only those
//! whose bytes are a raster picture), text is escaped, nothing refers
//! outside the file, and no share link is written (a pinned board's link
//! holds its key: the picture shows only that a board is pinned there).

use std::collections::HashSet;
use std::fmt::Write as _;

use base64::Engine as _;
use board_model::blob::{self, Hash};
use board_model::{Board, Card, CardId, Content};

use crate::geometry::{self, Rect};
use crate::palette;
use crate::text::{self, LINE_HEIGHT, Style};

/// Room around the cards.
const MARGIN: f64 = 40.0;
/// Card corners, as in the app.
const RADIUS: f64 = 10.0;
/// Font families: DejaVu first (the PNG's embedded font, whose widths the
/// lines are broken for), then look-alikes.
const SANS: &str = "DejaVu Sans, Verdana, sans-serif";
const MONO: &str = "DejaVu Sans Mono, monospace";

/// An SVG picture and its size in pixels (one board unit each).
#[derive(Clone, Debug, PartialEq)]
pub struct Picture {
    pub svg: String,
    pub width: f64,
    pub height: f64,
}

/// The board as an SVG: every card, or only those in `only` (and the edges
/// between them). `image` gives an image blob's bytes when this home has
/// them; a missing image is drawn as a placeholder with its file name.
pub fn svg(
    board: &Board,
    only: Option<&HashSet<CardId>>,
    image: &dyn Fn(&Hash) -> Option<Vec<u8>>,
) -> Picture {
    let cards: Vec<Card> =
        board.cards().into_iter().filter(|c| only.is_none_or(|set| set.contains(&c.id))).collect();
    let drawn: HashSet<CardId> = cards.iter().map(|c| c.id).collect();
    let (min_x, min_y, max_x, max_y) = bounds(&cards);
    let (width, height) = ((max_x - min_x + 2.0 * MARGIN).ceil(), (max_y - min_y + 2.0 * MARGIN).ceil());
    let background = board.background().map_or_else(|| palette::BOARD.to_owned(), |c| palette::fill(&c));
    let mut out = String::with_capacity(4096 + cards.len() * 600);
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"{} {} {width} {height}\" font-family=\"{SANS}\">",
        num(min_x - MARGIN),
        num(min_y - MARGIN)
    );
    let title = board.title();
    if !title.is_empty() {
        let _ = writeln!(out, "<title>{}</title>", escape(&title));
    }
    let _ = writeln!(
        out,
        "<rect x=\"{}\" y=\"{}\" width=\"{width}\" height=\"{height}\" fill=\"{background}\"/>",
        num(min_x - MARGIN),
        num(min_y - MARGIN)
    );
    let (groups, others): (Vec<&Card>, Vec<&Card>) =
        cards.iter().partition(|c| matches!(c.content, Content::Group { .. }));
    for (n, card) in groups.iter().enumerate() {
        group(&mut out, card, n);
    }
    let rects: std::collections::HashMap<CardId, Rect> = cards.iter().map(|c| (c.id, rect(c))).collect();
    let edges: Vec<_> = board
        .edges()
        .into_iter()
        .filter(|e| drawn.contains(&e.from.card) && drawn.contains(&e.to.card))
        .collect();
    let mut labels = String::new();
    for edge in &edges {
        let (Some(a), Some(b)) = (rects.get(&edge.from.card), rects.get(&edge.to.card)) else { continue };
        let shape = geometry::shape(*a, edge.from.side, edge.from.end, *b, edge.to.side, edge.to.end);
        let colour = edge.color.as_ref().map_or_else(|| palette::LINE.to_owned(), palette::line);
        let _ = writeln!(
            out,
            "<path d=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\" stroke-linecap=\"round\"/>",
            shape.d
        );
        for points in &shape.arrows {
            let _ = writeln!(out, "<polygon points=\"{points}\" fill=\"{colour}\"/>");
        }
        if !edge.label.is_empty() {
            let label: String = edge.label.chars().take(200).collect();
            let _ = writeln!(
                labels,
                "<text x=\"{}\" y=\"{}\" dy=\"0.35em\" text-anchor=\"middle\" font-size=\"13\" fill=\"{}\" \
                 stroke=\"{background}\" stroke-width=\"6\" stroke-linejoin=\"round\" paint-order=\"stroke\">{}</text>",
                num(shape.middle.x),
                num(shape.middle.y),
                palette::INK,
                escape(&label)
            );
        }
    }
    for (n, card) in others.iter().enumerate() {
        card_body(&mut out, card, n, image);
    }
    out.push_str(&labels);
    out.push_str("</svg>\n");
    Picture { svg: out, width, height }
}

fn rect(card: &Card) -> Rect {
    Rect { x: card.position.x, y: card.position.y, w: card.size.width, h: card.size.height }
}

fn bounds(cards: &[Card]) -> (f64, f64, f64, f64) {
    if cards.is_empty() {
        return (0.0, 0.0, 320.0, 200.0);
    }
    cards.iter().fold((f64::MAX, f64::MAX, f64::MIN, f64::MIN), |(a, b, c, d), card| {
        let r = rect(card);
        (a.min(r.x), b.min(r.y), c.max(r.x + r.w), d.max(r.y + r.h))
    })
}

/// A group: a tinted frame with its label in a pill at the top left.
fn group(out: &mut String, card: &Card, n: usize) {
    let Content::Group { label } = &card.content else { return };
    let base = card.color.as_ref().map_or_else(|| palette::GROUP.to_owned(), palette::line);
    let r = rect(card);
    let _ = writeln!(
        out,
        "<g transform=\"translate({} {})\"><rect width=\"{}\" height=\"{}\" rx=\"14\" fill=\"{base}\" \
         fill-opacity=\"0.14\" stroke=\"{base}\" stroke-opacity=\"0.8\" stroke-width=\"2\"/>",
        num(r.x),
        num(r.y),
        num(r.w),
        num(r.h)
    );
    if !label.is_empty() {
        let style = Style { size: 14.0, bold: true, mono: false, soft: false };
        let max = (r.w - 36.0).max(20.0);
        let shown = ellipsis(label, style, max);
        let pill = text::width(&shown, style) + 20.0;
        let _ = write!(
            out,
            "<clipPath id=\"g{n}\"><rect width=\"{}\" height=\"{}\" rx=\"14\"/></clipPath>\
             <g clip-path=\"url(#g{n})\"><rect x=\"8\" y=\"6\" width=\"{}\" height=\"24\" rx=\"8\" fill=\"#ffffff\"/>\
             <rect x=\"8\" y=\"6\" width=\"{}\" height=\"24\" rx=\"8\" fill=\"{base}\" fill-opacity=\"0.35\"/>\
             <text x=\"18\" y=\"23\" font-size=\"14\" font-weight=\"bold\" fill=\"{}\">{}</text></g>",
            num(r.w),
            num(r.h),
            num(pill),
            num(pill),
            palette::INK,
            escape(&shown)
        );
    }
    out.push_str("</g>\n");
}

/// Any other card: its surface, then what it shows, clipped to it.
fn card_body(out: &mut String, card: &Card, n: usize, image: &dyn Fn(&Hash) -> Option<Vec<u8>>) {
    let r = rect(card);
    let fill = card.color.as_ref().map_or_else(|| palette::CARD.to_owned(), palette::fill);
    let dark = palette::is_dark(&fill);
    let (ink, soft) = if dark { ("#f0f1f3", "#b8bec6") } else { (palette::INK, palette::INK_SOFT) };
    let (w, h) = (num(r.w), num(r.h));
    let _ = writeln!(
        out,
        "<g transform=\"translate({} {})\"><clipPath id=\"c{n}\"><rect width=\"{w}\" height=\"{h}\" rx=\"{RADIUS}\"/></clipPath>\
         <rect y=\"2\" width=\"{w}\" height=\"{h}\" rx=\"{RADIUS}\" fill=\"#1f2328\" fill-opacity=\"0.07\"/>\
         <rect width=\"{w}\" height=\"{h}\" rx=\"{RADIUS}\" fill=\"{fill}\" stroke=\"#1f2328\" stroke-opacity=\"0.08\"/>\
         <g clip-path=\"url(#c{n})\">",
        num(r.x),
        num(r.y)
    );
    match &card.content {
        Content::Note { text } => note(out, text, r, ink, soft),
        Content::Link { url, title } => {
            let shown = if title.is_empty() { url.as_str() } else { title.as_str() };
            icon_row(out, r, "#e8efff", palette::ACCENT, "↗", shown, url, ink);
        }
        Content::File { path } => {
            let name = path.rsplit('/').next().unwrap_or(path);
            icon_row(out, r, "#eef0f3", soft, "▤", name, path, ink);
        }
        Content::Board { .. } => {
            icon_row(out, r, "#ece6fb", "#6b4fbb", "▦", "Pinned board", "a board inside this one", ink);
        }
        Content::Image(picture) => match image(&picture.hash).filter(|bytes| drawable(bytes)) {
            Some(bytes) => {
                let _ = write!(
                    out,
                    "<image width=\"{w}\" height=\"{h}\" preserveAspectRatio=\"xMidYMid slice\" href=\"data:{};base64,{}\"/>",
                    blob::display_type(&bytes),
                    base64::engine::general_purpose::STANDARD.encode(&bytes)
                );
            }
            None => {
                let _ = write!(out, "<rect width=\"{w}\" height=\"{h}\" fill=\"#efeeea\"/>");
                let style = Style { size: 12.5, bold: false, mono: false, soft: true };
                let name = ellipsis(&picture.file_name, style, (r.w - 24.0).max(20.0));
                let _ = write!(
                    out,
                    "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"12.5\" fill=\"{}\">{}</text>",
                    num(r.w / 2.0),
                    num(r.h / 2.0 + 4.0),
                    palette::INK_SOFT,
                    escape(&name)
                );
            }
        },
        Content::Group { .. } => {}
    }
    out.push_str("</g></g>\n");
}

/// Raster pictures resvg and browsers draw (never SVG, never BMP).
fn drawable(bytes: &[u8]) -> bool {
    matches!(blob::image_type(bytes), Some("image/png" | "image/jpeg" | "image/gif" | "image/webp"))
}

/// A note's Markdown, line by line from the top, as far as the card goes.
fn note(out: &mut String, markdown: &str, r: Rect, ink: &str, soft: &str) {
    let (pad_x, pad_y) = (16.0, 14.0);
    let mut y = pad_y;
    for line in text::note_lines(markdown, r.w - 2.0 * pad_x) {
        y += line.gap_before;
        if y > r.h {
            break;
        }
        let size = line.style.size;
        let baseline = y + size * (LINE_HEIGHT + 0.75) / 2.0;
        y += size * LINE_HEIGHT;
        if line.text.trim().is_empty() {
            continue;
        }
        let colour = if line.style.soft { soft } else { ink };
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{}\" font-size=\"{}\" fill=\"{colour}\"{}{} xml:space=\"preserve\">{}</text>",
            num(pad_x + line.indent),
            num(baseline),
            num(size),
            if line.style.bold { " font-weight=\"bold\"" } else { "" },
            if line.style.mono { format!(" font-family=\"{MONO}\"") } else { String::new() },
            escape(&line.text)
        );
    }
}

/// A link, file or pinned board: an icon tile, a bold first line and a
/// soft second one.
#[allow(clippy::too_many_arguments)]
fn icon_row(
    out: &mut String,
    r: Rect,
    tile: &str,
    tint: &str,
    glyph: &str,
    first: &str,
    second: &str,
    ink: &str,
) {
    let top = (r.h / 2.0 - 18.0).max(8.0);
    let max = (r.w - 76.0).max(20.0);
    let bold = Style { size: 15.0, bold: true, mono: false, soft: false };
    let small = Style { size: 12.5, bold: false, mono: false, soft: true };
    let _ = write!(
        out,
        "<rect x=\"14\" y=\"{}\" width=\"36\" height=\"36\" rx=\"8\" fill=\"{tile}\"/>\
         <text x=\"32\" y=\"{}\" text-anchor=\"middle\" font-size=\"20\" fill=\"{tint}\">{glyph}</text>\
         <text x=\"62\" y=\"{}\" font-size=\"15\" font-weight=\"bold\" fill=\"{ink}\">{}</text>\
         <text x=\"62\" y=\"{}\" font-size=\"12.5\" fill=\"{tint}\">{}</text>",
        num(top),
        num(top + 25.0),
        num(top + 15.0),
        escape(&ellipsis(first, bold, max)),
        num(top + 33.0),
        escape(&ellipsis(second, small, max))
    );
}

/// `text` on one line, cut with "…" to fit `max`.
fn ellipsis(text: &str, style: Style, max: f64) -> String {
    let text: String = text.chars().take(400).map(|c| if c.is_control() { ' ' } else { c }).collect();
    if text::width(&text, style) <= max {
        return text;
    }
    let mut cut = String::new();
    for c in text.chars() {
        cut.push(c);
        if text::width(&cut, style) + text::width("…", style) > max {
            cut.pop();
            break;
        }
    }
    cut.push('…');
    cut
}

/// A number as SVG writes it: at most two decimals, no `-0`.
fn num(value: f64) -> String {
    let value = if value.is_finite() { (value * 100.0).round() / 100.0 } else { 0.0 };
    if value == 0.0 { "0".to_owned() } else { format!("{value}") }
}

/// Text for XML content and attributes, with characters XML forbids dropped.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(' '),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_text_are_written_safely() {
        assert_eq!(num(-0.0001), "0");
        assert_eq!(num(12.345), "12.35");
        assert_eq!(num(f64::NAN), "0");
        assert_eq!(escape("<a href=\"x\">&'\u{1}"), "&lt;a href=&quot;x&quot;&gt;&amp;&apos;");
    }

    #[test]
    fn long_text_is_cut_with_an_ellipsis() {
        let style = Style::BODY;
        let cut = ellipsis(&"word ".repeat(50), style, 100.0);
        assert!(cut.ends_with('…') && text::width(&cut, style) <= 100.0, "{cut}");
        assert_eq!(ellipsis("short", style, 100.0), "short");
    }
}
