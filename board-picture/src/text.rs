//! Text laid out for the picture: a note's Markdown as styled lines, and
//! words wrapped to a width. SVG has no line wrapping, so lines are broken
//! here with widths estimated for DejaVu Sans (the font the PNG embeds and
//! the SVG asks for first), close enough that lines fit their card.

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

/// The size of a note's body text, as in the app.
pub const BODY: f64 = 15.0;
/// Lines are this many times their font size apart.
pub const LINE_HEIGHT: f64 = 1.45;

/// How a run of text is set.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Style {
    pub size: f64,
    pub bold: bool,
    pub mono: bool,
    pub soft: bool,
}

impl Style {
    pub const BODY: Style = Style { size: BODY, bold: false, mono: false, soft: false };
}

/// One line of a laid-out note.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    pub text: String,
    pub style: Style,
    /// From the text's left edge.
    pub indent: f64,
    /// Extra room above the line (a new paragraph).
    pub gap_before: f64,
}

/// The width of `text` set in `style`, estimated from DejaVu Sans's
/// advances by kind of character.
pub fn width(text: &str, style: Style) -> f64 {
    let em: f64 = text
        .chars()
        .map(|c| {
            if style.mono {
                return 0.602;
            }
            match c {
                'i' | 'j' | 'l' | '.' | ',' | ':' | ';' | '\'' | '|' | '!' | 'I' => 0.28,
                ' ' | 'f' | 't' | 'r' | '(' | ')' | '[' | ']' | '-' => 0.36,
                'm' | 'w' | 'M' | 'W' | '@' => 0.9,
                'A'..='Z' => 0.7,
                'a'..='z' | '0'..='9' => 0.61,
                c if (c as u32) >= 0x2E80 => 1.0,
                _ => 0.62,
            }
        })
        .sum();
    em * style.size * if style.bold { 1.08 } else { 1.0 }
}

/// `text` broken into lines no wider than `max` (a word longer than a
/// line is broken inside).
pub fn wrap(text: &str, style: Style, max: f64) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let candidate = if line.is_empty() { word.to_owned() } else { format!("{line} {word}") };
        if width(&candidate, style) <= max {
            line = candidate;
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        // A word wider than the line, in pieces.
        let mut piece = String::new();
        for c in word.chars() {
            piece.push(c);
            if width(&piece, style) > max && piece.chars().count() > 1 {
                piece.pop();
                lines.push(std::mem::take(&mut piece));
                piece.push(c);
            }
        }
        line = piece;
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// A paragraph being gathered.
struct Block {
    text: String,
    style: Style,
    indent: f64,
    prefix: String,
}

/// A note's Markdown as lines fitted to `max` wide: headings larger and
/// bold, list items with their bullets, numbers or boxes, code in mono,
/// quotes soft. Inline emphasis and links are kept as their text.
pub fn note_lines(markdown: &str, max: f64) -> Vec<Line> {
    let options = Options::ENABLE_TASKLISTS | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TABLES;
    let mut lines = Vec::new();
    let mut block: Option<Block> = None;
    // Per open list: the next number, or `None` for bullets.
    let mut lists: Vec<Option<u64>> = Vec::new();
    let mut quote = 0usize;
    let mut code = false;
    let mut gap = 0.0;
    let indent =
        |lists: &Vec<Option<u64>>, quote: usize| lists.len() as f64 * 1.3 * BODY + quote as f64 * 12.0;
    let flush = |block: &mut Option<Block>, lines: &mut Vec<Line>, gap: &mut f64| {
        let Some(b) = block.take() else { return };
        let text = format!("{}{}", b.prefix, b.text.trim());
        for (i, piece) in
            text.split('\n').flat_map(|l| wrap(l, b.style, (max - b.indent).max(BODY))).enumerate()
        {
            lines.push(Line {
                text: piece,
                style: b.style,
                indent: b.indent,
                gap_before: if i == 0 { *gap } else { 0.0 },
            });
        }
        *gap = 0.45 * BODY;
    };
    let start = |block: &mut Option<Block>, style: Style, indent: f64, prefix: String| {
        if block.is_none() {
            *block = Some(Block { text: String::new(), style, indent, prefix });
        }
    };
    for event in Parser::new_ext(markdown, options) {
        let soft = quote > 0;
        let body = Style { soft, ..Style::BODY };
        match event {
            Event::Start(Tag::Heading { level, .. }) => {
                flush(&mut block, &mut lines, &mut gap);
                let scale = match level as usize {
                    1 => 1.45,
                    2 => 1.25,
                    _ => 1.08,
                };
                let style = Style { size: BODY * scale, bold: true, ..body };
                start(&mut block, style, indent(&lists, quote), String::new());
            }
            Event::Start(Tag::Paragraph) => {
                if block.as_ref().is_some_and(|b| !b.text.trim().is_empty()) {
                    flush(&mut block, &mut lines, &mut gap);
                }
                start(&mut block, body, indent(&lists, quote), String::new());
            }
            Event::Start(Tag::List(first)) => {
                flush(&mut block, &mut lines, &mut gap);
                lists.push(first);
            }
            Event::End(TagEnd::List(_)) => {
                flush(&mut block, &mut lines, &mut gap);
                lists.pop();
            }
            Event::Start(Tag::Item) => {
                flush(&mut block, &mut lines, &mut gap);
                gap = 0.0;
                let prefix = match lists.last_mut() {
                    Some(Some(n)) => {
                        *n += 1;
                        format!("{}. ", *n - 1)
                    }
                    _ => "• ".to_owned(),
                };
                let at = indent(&lists, quote) - 1.3 * BODY * 0.7;
                block = Some(Block { text: String::new(), style: body, indent: at.max(0.0), prefix });
            }
            Event::TaskListMarker(done) => {
                if let Some(b) = block.as_mut() {
                    b.prefix = if done { "☑ " } else { "☐ " }.to_owned();
                }
            }
            Event::Start(Tag::BlockQuote(_)) => {
                flush(&mut block, &mut lines, &mut gap);
                quote += 1;
            }
            Event::End(TagEnd::BlockQuote(_)) => {
                flush(&mut block, &mut lines, &mut gap);
                quote = quote.saturating_sub(1);
            }
            Event::Start(Tag::CodeBlock(_)) => {
                flush(&mut block, &mut lines, &mut gap);
                code = true;
                let style = Style { size: BODY * 0.88, mono: true, ..body };
                start(&mut block, style, indent(&lists, quote), String::new());
            }
            Event::End(TagEnd::CodeBlock) => {
                if let Some(b) = block.as_mut() {
                    b.text = b.text.trim_end_matches('\n').to_owned();
                }
                flush(&mut block, &mut lines, &mut gap);
                code = false;
            }
            Event::End(
                TagEnd::Heading(_) | TagEnd::Paragraph | TagEnd::TableHead | TagEnd::TableRow | TagEnd::Item,
            ) => flush(&mut block, &mut lines, &mut gap),
            Event::Start(Tag::TableCell) => {
                start(&mut block, body, indent(&lists, quote), String::new());
                if let Some(b) = block.as_mut()
                    && !b.text.is_empty()
                {
                    b.text.push_str("  ·  ");
                }
            }
            Event::Text(text) | Event::Code(text) | Event::Html(text) | Event::InlineHtml(text) => {
                start(&mut block, body, indent(&lists, quote), String::new());
                if let Some(b) = block.as_mut() {
                    if code {
                        b.text.push_str(&text);
                    } else {
                        b.text.push_str(&text.replace('\n', " "));
                    }
                }
            }
            Event::SoftBreak => {
                if let Some(b) = block.as_mut() {
                    b.text.push(' ');
                }
            }
            Event::HardBreak => {
                if let Some(b) = block.as_mut() {
                    b.text.push('\n');
                }
            }
            Event::Rule => {
                flush(&mut block, &mut lines, &mut gap);
                lines.push(Line {
                    text: "―".repeat(8),
                    style: Style { soft: true, ..body },
                    indent: 0.0,
                    gap_before: gap,
                });
            }
            _ => {}
        }
    }
    flush(&mut block, &mut lines, &mut gap);
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_wrap_to_the_width_and_long_words_break() {
        let lines = wrap("the quick brown fox jumps over the lazy dog", Style::BODY, 120.0);
        assert!(lines.len() > 2, "{lines:?}");
        assert!(lines.iter().all(|l| width(l, Style::BODY) <= 120.0), "{lines:?}");
        let long = wrap(&"x".repeat(100), Style::BODY, 100.0);
        assert!(long.len() > 5 && long.iter().all(|l| width(l, Style::BODY) <= 100.0));
        assert_eq!(wrap("", Style::BODY, 100.0), vec![String::new()]);
    }

    #[test]
    fn markdown_becomes_styled_lines() {
        let lines =
            note_lines("# Title\n\nSome *text*.\n\n- one\n- [x] done\n1. first\n\n```\nlet x;\n```", 400.0);
        let texts: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(texts, ["Title", "Some text.", "• one", "☑ done", "1. first", "let x;"]);
        assert!(lines[0].style.bold && lines[0].style.size > BODY);
        assert!(lines[5].style.mono);
        assert!(lines[2].indent >= 0.0);
    }

    #[test]
    fn raw_html_is_text() {
        let lines = note_lines("<script>alert(1)</script>", 400.0);
        assert_eq!(lines[0].text, "<script>alert(1)</script>");
    }
}
