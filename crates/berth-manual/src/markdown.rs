//! berth.toml(5) from the config reference (config/README.md), so the
//! reference is written once. Markdown to roff for what the reference uses:
//! headings, paragraphs, lists, code, emphasis, links and tables. A table
//! row becomes a tagged paragraph (the first cell as the tag, the middle
//! cells labelled with their column, the last as the text): a man page
//! reads better so than as a grid of long cells, and needs no tbl.

use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use roff::{bold, italic, line_break, roman, Inline, Roff};

/// The whole page: title, NAME, the reference as DESCRIPTION and its
/// sections, SEE ALSO.
pub fn config_page(markdown: &str, source: &str) -> String {
    let mut page = Page::default();
    page.roff
        .control("TH", ["BERTH.TOML", "5", "", source, "File Formats"]);
    page.roff.control("SH", ["NAME"]);
    page.roff.text([roman(
        "berth.toml - the sessions berthd keeps running, and how",
    )]);
    page.roff.control("SH", ["DESCRIPTION"]);
    for event in Parser::new_ext(markdown, Options::ENABLE_TABLES) {
        page.event(event);
    }
    page.roff.control("SH", ["SEE ALSO"]);
    page.roff.text([
        bold("berth"),
        roman("(1), "),
        bold("berthd"),
        roman("(8), "),
        bold("berth-session"),
        roman("(8); the example configuration in /usr/share/doc/berth/examples/."),
    ]);
    page.roff.render()
}

#[derive(Default)]
struct Page {
    roff: Roff,
    /// The text of the block being read.
    inline: Vec<Inline>,
    strong: bool,
    emphasis: bool,
    link: Option<String>,
    heading: Option<HeadingLevel>,
    /// A heading's text: plain words upper-cased, code kept as written.
    heading_text: String,
    code_block: Option<String>,
    table: Option<Table>,
    list_depth: usize,
}

#[derive(Default)]
struct Table {
    header: Vec<String>,
    in_head: bool,
    row: Vec<Vec<Inline>>,
}

impl Page {
    fn event(&mut self, event: Event<'_>) {
        match event {
            Event::Start(tag) => self.start(tag),
            Event::End(tag) => self.end(tag),
            Event::Text(text) => self.text(&text),
            Event::Code(code) => {
                if self.heading.is_some() {
                    self.heading_text.push_str(&code);
                } else {
                    self.inline.push(bold(code.to_string()));
                }
            }
            Event::SoftBreak => self.text(" "),
            Event::HardBreak => self.inline.push(line_break()),
            // The reference has no HTML, notes or rules; were one added,
            // its text still shows.
            Event::Html(t) | Event::InlineHtml(t) => self.text(&t),
            _ => {}
        }
    }

    fn text(&mut self, text: &str) {
        if let Some(block) = &mut self.code_block {
            block.push_str(text);
        } else if self.heading.is_some() {
            self.heading_text.push_str(&text.to_uppercase());
        } else if self.strong {
            self.inline.push(bold(text));
        } else if self.emphasis {
            self.inline.push(italic(text));
        } else {
            self.inline.push(roman(text));
        }
    }

    fn take_inline(&mut self) -> Vec<Inline> {
        std::mem::take(&mut self.inline)
    }

    fn start(&mut self, tag: Tag<'_>) {
        match tag {
            Tag::Heading { level, .. } => {
                self.heading = Some(level);
                self.heading_text.clear();
            }
            Tag::CodeBlock(_) => self.code_block = Some(String::new()),
            Tag::Table(_) => self.table = Some(Table::default()),
            Tag::TableHead => {
                if let Some(t) = &mut self.table {
                    t.in_head = true;
                }
            }
            Tag::List(_) => self.list_depth += 1,
            Tag::Item => {
                self.roff.control("IP", ["\\(bu", "2"]);
            }
            Tag::Strong => self.strong = true,
            Tag::Emphasis => self.emphasis = true,
            Tag::Link { dest_url, .. } => self.link = Some(dest_url.to_string()),
            _ => {}
        }
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Heading(level) => {
                self.heading = None;
                let title = std::mem::take(&mut self.heading_text);
                match level {
                    // The document's title: the page has its own.
                    HeadingLevel::H1 => {}
                    HeadingLevel::H2 => {
                        self.roff.control("SH", [title.as_str()]);
                    }
                    _ => {
                        self.roff.control("SS", [title.as_str()]);
                    }
                }
            }
            TagEnd::Paragraph => {
                let text = self.take_inline();
                if self.list_depth == 0 {
                    self.roff.control("PP", []);
                }
                self.roff.text(text);
            }
            TagEnd::Item => {
                // A tight list's item has no paragraph of its own.
                let text = self.take_inline();
                if !text.is_empty() {
                    self.roff.text(text);
                }
            }
            TagEnd::List(_) => {
                self.list_depth -= 1;
                self.roff.control("PP", []);
            }
            TagEnd::CodeBlock => {
                let block = self.code_block.take().unwrap_or_default();
                self.roff.control("PP", []);
                self.roff.control("RS", ["4"]);
                self.roff.control("nf", []);
                for line in block.lines() {
                    self.roff.text([roman(line)]);
                }
                self.roff.control("fi", []);
                self.roff.control("RE", []);
            }
            TagEnd::TableCell => {
                let cell = self.take_inline();
                if let Some(t) = &mut self.table {
                    if t.in_head {
                        t.header.push(plain(&cell));
                    } else {
                        t.row.push(cell);
                    }
                }
            }
            TagEnd::TableHead => {
                if let Some(t) = &mut self.table {
                    t.in_head = false;
                }
            }
            TagEnd::TableRow => {
                if let Some(t) = &mut self.table {
                    let row = std::mem::take(&mut t.row);
                    tagged_row(&mut self.roff, &t.header, row);
                }
            }
            TagEnd::Table => {
                self.table = None;
                self.roff.control("PP", []);
            }
            TagEnd::Strong => self.strong = false,
            TagEnd::Emphasis => self.emphasis = false,
            TagEnd::Link => {
                // A relative link names a file beside the reference: its
                // text says which. A web address is kept.
                if let Some(url) = self.link.take().filter(|u| u.contains("://")) {
                    self.inline.push(roman(format!(" <{url}>")));
                }
            }
            _ => {}
        }
    }
}

/// A row as `.TP`: the first cell the tag; the middle cells each on a line
/// after their column's name; the last cell the text.
fn tagged_row(roff: &mut Roff, header: &[String], mut row: Vec<Vec<Inline>>) {
    if row.is_empty() {
        return;
    }
    let tag = row.remove(0);
    let last = if row.is_empty() {
        Vec::new()
    } else {
        row.pop().unwrap_or_default()
    };
    roff.control("TP", []);
    roff.text(tag);
    for (i, cell) in row.into_iter().enumerate() {
        let mut line = vec![italic(format!(
            "{}:",
            header.get(i + 1).map_or("", String::as_str)
        ))];
        line.push(roman(" "));
        line.extend(cell);
        roff.text(line);
        roff.control("br", []);
    }
    roff.text(last);
}

/// The text of inlines, without their fonts (table headers).
fn plain(inlines: &[Inline]) -> String {
    inlines
        .iter()
        .map(|i| match i {
            Inline::Roman(t) | Inline::Italic(t) | Inline::Bold(t) => t.as_str(),
            Inline::LineBreak => " ",
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_row_becomes_a_tagged_paragraph_with_its_columns_named() {
        let md = "## `[daemon]`\n\n| key | type | meaning |\n|---|---|---|\n| `backend` | `\"auto\"` | which one |\n";
        let page = config_page(md, "berth 0");
        assert!(page.contains(".SH [daemon]\n"), "{page}");
        assert!(
            page.contains(".TP\n\\fBbackend\\fR\n\\fItype:\\fR \\fB\"auto\"\\fR\n.br\nwhich one\n"),
            "{page}"
        );
    }

    #[test]
    fn headings_are_upper_case_except_code_and_text_is_escaped() {
        let page = config_page(
            "# Title\n\n## Limits\n\nA `--flag` and a - dash.\n",
            "berth 0",
        );
        assert!(
            !page.contains("Title"),
            "the H1 is the page's own title: {page}"
        );
        assert!(
            page.contains(".SH LIMITS\n.PP\nA \\fB\\-\\-flag\\fR and a \\- dash.\n"),
            "{page}"
        );
    }

    #[test]
    fn a_web_link_keeps_its_address_and_a_file_link_its_text() {
        let page = config_page(
            "See [the example](example.toml) and [docs](https://x.invalid/).\n",
            "b",
        );
        assert!(
            page.contains("See the example and docs <https://x.invalid/>."),
            "{page}"
        );
    }
}
