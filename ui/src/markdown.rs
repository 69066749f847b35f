//! A note's text shown as Markdown (CommonMark with task lists, tables and
//! strikethrough, by `pulldown-cmark`) when it is not being edited. Safe by
//! construction: raw HTML in the text is shown as text, links keep only
//! http(s) and mailto addresses (others become plain text), images are
//! shown as their description (a note never loads anything from the
//! network), and every link opens outside the board.

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

/// The note's Markdown as HTML for the card.
pub fn to_html(text: &str) -> String {
    let options = Options::ENABLE_TASKLISTS | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TABLES;
    // Which open links were kept, so each end matches its start.
    let mut links: Vec<bool> = Vec::new();
    let events = Parser::new_ext(text, options).filter_map(|event| match event {
        Event::Html(html) | Event::InlineHtml(html) => Some(Event::Text(html)),
        Event::Start(Tag::Link { link_type, dest_url, title, id }) => {
            let keep = allowed(&dest_url);
            links.push(keep);
            keep.then_some(Event::Start(Tag::Link { link_type, dest_url, title, id }))
        }
        Event::End(TagEnd::Link) => links.pop().unwrap_or(false).then_some(Event::End(TagEnd::Link)),
        // A task's box, named for assistive technology (its item says what).
        Event::TaskListMarker(done) => Some(Event::Html(
            format!(
                "<input type=\"checkbox\" disabled{} aria-label=\"{}\">",
                if done { " checked" } else { "" },
                if done { "Done" } else { "Not done" }
            )
            .into(),
        )),
        // An image's description stays, as text.
        Event::Start(Tag::Image { .. }) | Event::End(TagEnd::Image) => None,
        other => Some(other),
    });
    let mut html = String::with_capacity(text.len() * 3 / 2 + 16);
    pulldown_cmark::html::push_html(&mut html, events);
    // Text is escaped, so `<a href=` only starts a link the writer made.
    html.replace("<a href=", "<a target=\"_blank\" rel=\"noopener noreferrer\" href=")
}

fn allowed(url: &str) -> bool {
    let lower = url.trim().to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://") || lower.starts_with("mailto:"))
        && !url.chars().any(char::is_control)
}

#[cfg(test)]
mod tests {
    use super::to_html;

    #[test]
    fn headings_emphasis_lists_tasks_and_code_are_rendered() {
        let html = to_html("# Title\n\n*so* **bold** `code`\n\n- [ ] todo\n- [x] done\n\n1. one\n");
        for part in ["<h1>Title</h1>", "<em>so</em>", "<strong>bold</strong>", "<code>code</code>", "<ol>"] {
            assert!(html.contains(part), "{part} missing in {html}");
        }
        assert!(html.contains("type=\"checkbox\"") && html.contains("checked"), "{html}");
    }

    #[test]
    fn raw_html_is_text_and_only_safe_links_are_links() {
        let html = to_html(
            "<script>alert(1)</script>\n\n<b onmouseover=x>hi</b> [ok](https://example.org) [bad](javascript:alert(1)) ![pic](https://tracker.example/p.png)",
        );
        assert!(!html.contains("<script") && !html.contains("<b "), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(html.contains("href=\"https://example.org\""), "{html}");
        assert!(html.contains("target=\"_blank\""), "{html}");
        assert!(!html.contains("javascript:"), "{html}");
        assert!(html.contains("bad") && html.contains("pic"), "link and image text stay: {html}");
        assert!(!html.contains("<img"), "{html}");
    }
}
