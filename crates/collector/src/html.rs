//! HTML to clean text, for StackExchange post bodies and local HTML documents.
//!
//! The input is the HTML StackExchange's Markdown renderer produces (paragraphs, lists, code,
//! quotes, headings, the odd table) or a hand-written page. A small tolerant parser builds a tree
//! (it closes what the author left open and ignores stray end tags), and a renderer turns blocks
//! into paragraphs separated by blank lines: lists become `- item` / `1. item`, `<pre>` becomes a
//! fenced block kept verbatim, inline `<code>` keeps its backticks, quotes get `> `. MathJax
//! (`$…$`, `$$…$$`, `\(…\)`, `\[…\]`) in running text becomes readable Unicode math through
//! [`crate::math`]; code is never touched by it. Entities are decoded everywhere.

use std::borrow::Cow;

use crate::math::convert_math;

/// A parsed node.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    Text(String),
    Element(Element),
}

/// A parsed element with its children.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Element {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub children: Vec<Node>,
}

impl Element {
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track",
    "wbr",
];
const RAW_SKIP: &[&str] = &["script", "style", "template", "noscript"];
const BLOCK: &[&str] = &[
    "p",
    "div",
    "pre",
    "ul",
    "ol",
    "li",
    "blockquote",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "table",
    "thead",
    "tbody",
    "tfoot",
    "tr",
    "section",
    "article",
    "header",
    "footer",
    "main",
    "aside",
    "nav",
    "figure",
    "figcaption",
    "dl",
    "dt",
    "dd",
    "details",
    "summary",
    "center",
    "body",
    "html",
    "head",
    "title",
    "caption",
];

/// Converts an HTML fragment or page to clean text.
pub fn html_to_text(html: &str) -> String {
    let nodes = parse(html);
    let blocks = render_blocks(&nodes);
    let mut out = blocks.join("\n\n");
    out.truncate(out.trim_end().len());
    out
}

/// The page's `<title>`, else its first `<h1>`, as text.
pub fn html_title(html: &str) -> Option<String> {
    let nodes = parse(html);
    let title = find_first(&nodes, "title").or_else(|| find_first(&nodes, "h1"))?;
    let text = collapse_whitespace(&raw_text(&title.children));
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

/// Decodes HTML character references (`&amp;`, `&#39;`, `&#x3b1;`, every HTML5 name). An
/// unknown or unterminated reference is kept literally, as browsers do.
pub fn decode_entities(text: &str) -> Cow<'_, str> {
    if !text.contains('&') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let semi = after.bytes().take(40).position(|b| b == b';');
        let resolved = semi.and_then(|semi| {
            let name = &after[..semi];
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'#') {
                return None;
            }
            let value: Option<Cow<'static, str>> = match name.strip_prefix('#') {
                Some(number) => {
                    let code = match number.strip_prefix(['x', 'X']) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok(),
                        None => number.parse::<u32>().ok(),
                    }?;
                    let c = char::from_u32(code)
                        .filter(|&c| c != '\0')
                        .unwrap_or('\u{FFFD}');
                    Some(Cow::Owned(c.to_string()))
                }
                None => crate::entities::named_entity(name).map(|c| Cow::Owned(c.to_string())),
            };
            value.map(|v| (v, semi))
        });
        match resolved {
            Some((value, semi)) => {
                out.push_str(&value);
                rest = &after[semi + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

// ---------------------------------------------------------------------------------------------
// Parsing

pub(crate) fn parse(html: &str) -> Vec<Node> {
    let mut stack: Vec<Element> = vec![Element::default()];
    let mut pos = 0;
    let bytes = html.as_bytes();
    while pos < html.len() {
        let Some(offset) = html[pos..].find('<') else {
            push_text(&mut stack, &html[pos..]);
            break;
        };
        let lt = pos + offset;
        if lt > pos {
            push_text(&mut stack, &html[pos..lt]);
        }
        let rest = &html[lt..];
        if rest.starts_with("<!--") {
            pos = rest.find("-->").map_or(html.len(), |end| lt + end + 3);
        } else if rest.starts_with("<!") || rest.starts_with("<?") {
            pos = rest.find('>').map_or(html.len(), |end| lt + end + 1);
        } else if rest.starts_with("</") && bytes.get(lt + 2).is_some_and(u8::is_ascii_alphabetic) {
            let end = rest.find('>').map_or(html.len(), |end| lt + end + 1);
            let name = tag_name(&html[lt + 2..end]);
            close(&mut stack, &name);
            pos = end;
        } else if bytes.get(lt + 1).is_some_and(u8::is_ascii_alphabetic) {
            let (element, self_closing, end) = open_tag(html, lt);
            pos = end;
            if RAW_SKIP.contains(&element.name.as_str()) {
                let closing = format!("</{}", element.name);
                pos = find_ci(&html[pos..], &closing)
                    .and_then(|at| html[pos + at..].find('>').map(|gt| pos + at + gt + 1))
                    .unwrap_or(html.len());
                continue;
            }
            implicit_close(&mut stack, &element.name);
            if self_closing || VOID.contains(&element.name.as_str()) {
                if let Some(top) = stack.last_mut() {
                    top.children.push(Node::Element(element));
                }
            } else {
                stack.push(element);
            }
        } else {
            push_text(&mut stack, "<");
            pos = lt + 1;
        }
    }
    while stack.len() > 1 {
        pop(&mut stack);
    }
    stack.pop().map(|root| root.children).unwrap_or_default()
}

fn push_text(stack: &mut [Element], raw: &str) {
    if let Some(top) = stack.last_mut() {
        let text = decode_entities(raw).into_owned();
        if let Some(Node::Text(previous)) = top.children.last_mut() {
            previous.push_str(&text);
        } else {
            top.children.push(Node::Text(text));
        }
    }
}

fn tag_name(text: &str) -> String {
    text.chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == ':')
        .collect::<String>()
        .to_ascii_lowercase()
}

/// Parses `<name attr="v" …>` starting at `lt`; returns the element, whether it ended in `/>`,
/// and the byte position after `>`.
fn open_tag(html: &str, lt: usize) -> (Element, bool, usize) {
    let name = tag_name(&html[lt + 1..]);
    let mut i = lt + 1 + name.len();
    let bytes = html.as_bytes();
    let mut attrs = Vec::new();
    let mut self_closing = false;
    while i < bytes.len() {
        match bytes[i] {
            b'>' => {
                i += 1;
                break;
            }
            b'/' => {
                self_closing = bytes.get(i + 1) == Some(&b'>');
                i += 1;
            }
            b if b.is_ascii_whitespace() => i += 1,
            _ => {
                let start = i;
                while i < bytes.len()
                    && !bytes[i].is_ascii_whitespace()
                    && !matches!(bytes[i], b'=' | b'>' | b'/')
                {
                    i += 1;
                }
                let key = html[start..i].to_ascii_lowercase();
                let mut value = String::new();
                if bytes.get(i) == Some(&b'=') {
                    i += 1;
                    match bytes.get(i) {
                        Some(&quote) if quote == b'"' || quote == b'\'' => {
                            let begin = i + 1;
                            let end = html[begin..]
                                .find(quote as char)
                                .map_or(html.len(), |e| begin + e);
                            value = decode_entities(&html[begin..end]).into_owned();
                            i = (end + 1).min(html.len());
                        }
                        _ => {
                            let begin = i;
                            while i < bytes.len()
                                && !bytes[i].is_ascii_whitespace()
                                && bytes[i] != b'>'
                            {
                                i += 1;
                            }
                            value = decode_entities(&html[begin..i]).into_owned();
                        }
                    }
                }
                if !key.is_empty() {
                    attrs.push((key, value));
                }
            }
        }
    }
    (
        Element {
            name,
            attrs,
            children: Vec::new(),
        },
        self_closing,
        i.min(html.len()),
    )
}

fn find_ci(haystack: &str, needle: &str) -> Option<usize> {
    haystack
        .to_ascii_lowercase()
        .find(&needle.to_ascii_lowercase())
}

/// Closes elements an opening tag implies are finished: a block closes an open `<p>`, a `<li>`
/// closes the previous item of its list.
fn implicit_close(stack: &mut Vec<Element>, opening: &str) {
    let closes_p = BLOCK.contains(&opening) && opening != "li";
    if closes_p {
        // An open `<p>` ends here even when inline elements inside it were left open.
        let open_p = stack
            .iter()
            .rposition(|e| is_block(&e.name) || e.name.is_empty());
        if let Some(index) = open_p.filter(|&i| stack[i].name == "p") {
            while stack.len() > index {
                pop(stack);
            }
        }
    }
    // Find an open sibling above the nearest container and close everything down to it.
    for index in (1..stack.len()).rev() {
        let name = stack[index].name.clone();
        if let Some((sibling, containers)) = sibling_rule(opening, &name) {
            if name == sibling {
                while stack.len() > index {
                    pop(stack);
                }
                return;
            }
            if containers.contains(&name.as_str()) {
                return;
            }
        } else if ["ul", "ol", "table", "tr", "dl"].contains(&name.as_str()) {
            return;
        }
    }
}

/// For an opening tag that ends an open sibling: the sibling's name and the containers that
/// bound the search, given the open element `name` being inspected.
fn sibling_rule<'a>(opening: &str, name: &'a str) -> Option<(&'a str, &'static [&'static str])> {
    match opening {
        "li" => Some(("li", &["ul", "ol"])),
        "tr" => Some(("tr", &["table", "thead", "tbody", "tfoot"])),
        "td" | "th" if name == "td" || name == "th" => Some((name, &["tr"])),
        "dt" | "dd" if name == "dt" || name == "dd" => Some((name, &["dl"])),
        _ => None,
    }
}

fn close(stack: &mut Vec<Element>, name: &str) {
    if let Some(index) = stack.iter().rposition(|e| e.name == name) {
        if index == 0 {
            return;
        }
        while stack.len() > index {
            pop(stack);
        }
    }
}

fn pop(stack: &mut Vec<Element>) {
    if stack.len() > 1
        && let Some(element) = stack.pop()
        && let Some(parent) = stack.last_mut()
    {
        parent.children.push(Node::Element(element));
    }
}

fn find_first<'a>(nodes: &'a [Node], name: &str) -> Option<&'a Element> {
    for node in nodes {
        if let Node::Element(e) = node {
            if e.name == name {
                return Some(e);
            }
            if let Some(found) = find_first(&e.children, name) {
                return Some(found);
            }
        }
    }
    None
}

// ---------------------------------------------------------------------------------------------
// Rendering

/// Marks a `<br>` inside running text until whitespace has been collapsed.
const BR: char = '\u{F8FF}';
/// Code spans are replaced by one private-use character each (`CODE_BASE + index`) while math
/// and whitespace are processed, so neither can touch code.
const CODE_BASE: u32 = 0xF0000;

#[derive(Default)]
struct Inline {
    buf: String,
    code: Vec<String>,
}

impl Inline {
    fn code_span(&mut self, code: String) {
        let index = u32::try_from(self.code.len()).unwrap_or(0);
        if let Some(marker) = char::from_u32(CODE_BASE + index) {
            self.buf.push(marker);
            self.code.push(code);
        }
    }

    fn flush(&mut self, blocks: &mut Vec<String>) {
        let text = self.finish();
        if !text.is_empty() {
            blocks.push(text);
        }
    }

    fn finish(&mut self) -> String {
        let collapsed = collapse_whitespace(&self.buf);
        let with_math = convert_math(&collapsed);
        let mut out = String::with_capacity(with_math.len());
        for c in with_math.chars() {
            let code = c as u32;
            if c == BR {
                out.push('\n');
            } else if (CODE_BASE..CODE_BASE + 0xFFFF).contains(&code) {
                let index = (code - CODE_BASE) as usize;
                if let Some(span) = self.code.get(index) {
                    out.push('`');
                    out.push_str(span);
                    out.push('`');
                }
            } else {
                out.push(c);
            }
        }
        self.buf.clear();
        self.code.clear();
        out.lines()
            .map(str::trim)
            .collect::<Vec<_>>()
            .join("\n")
            .trim()
            .to_owned()
    }
}

fn collapse_whitespace(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_space = false;
    for c in text.chars() {
        if c.is_whitespace() && c != BR && c != '\u{a0}' {
            if !in_space {
                out.push(' ');
            }
            in_space = true;
        } else {
            out.push(if c == '\u{a0}' { ' ' } else { c });
            in_space = false;
        }
    }
    out
}

fn is_block(name: &str) -> bool {
    BLOCK.contains(&name)
}

fn render_blocks(nodes: &[Node]) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut inline = Inline::default();
    for node in nodes {
        match node {
            Node::Text(text) => inline.buf.push_str(text),
            Node::Element(e) if is_block(&e.name) => {
                inline.flush(&mut blocks);
                render_block(e, &mut blocks);
            }
            Node::Element(e) => render_inline(e, &mut inline),
        }
    }
    inline.flush(&mut blocks);
    blocks
}

fn render_block(e: &Element, blocks: &mut Vec<String>) {
    match e.name.as_str() {
        "head" | "title" | "hr" | "nav" => {}
        "pre" => {
            let code = raw_text(&e.children);
            let code = code.strip_prefix('\n').unwrap_or(&code).trim_end();
            if !code.is_empty() {
                blocks.push(format!("```\n{code}\n```"));
            }
        }
        "ul" | "ol" => {
            let list = render_list(e);
            if !list.is_empty() {
                blocks.push(list);
            }
        }
        "li" => {
            let item = render_item("- ", &e.children);
            if !item.is_empty() {
                blocks.push(item);
            }
        }
        "blockquote" => {
            let inner = render_blocks(&e.children).join("\n\n");
            if !inner.is_empty() {
                let quoted: Vec<String> = inner
                    .lines()
                    .map(|line| {
                        if line.is_empty() {
                            ">".into()
                        } else {
                            format!("> {line}")
                        }
                    })
                    .collect();
                blocks.push(quoted.join("\n"));
            }
        }
        "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => {
            let text = render_blocks(&e.children).join(" ");
            if !text.is_empty() {
                blocks.push(text);
            }
        }
        "table" | "thead" | "tbody" | "tfoot" => {
            let mut rows = Vec::new();
            collect_rows(e, &mut rows);
            if !rows.is_empty() {
                blocks.push(rows.join("\n"));
            }
        }
        "tr" => {
            let row = render_row(e);
            if !row.is_empty() {
                blocks.push(row);
            }
        }
        _ => blocks.extend(render_blocks(&e.children)),
    }
}

fn render_list(list: &Element) -> String {
    let ordered = list.name == "ol";
    let mut number: i64 = list
        .attr("start")
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(1);
    let mut items = Vec::new();
    for child in &list.children {
        match child {
            Node::Element(li) if li.name == "li" => {
                let marker = if ordered {
                    format!("{number}. ")
                } else {
                    "- ".into()
                };
                number += 1;
                let item = render_item(&marker, &li.children);
                if !item.is_empty() {
                    items.push(item);
                }
            }
            // Stray content directly inside a list still counts as an item.
            Node::Element(other) => {
                let item = render_item("- ", std::slice::from_ref(child));
                if !item.is_empty() && other.name != "script" {
                    items.push(item);
                }
            }
            Node::Text(text) if !text.trim().is_empty() => {
                items.push(render_item("- ", std::slice::from_ref(child)));
            }
            Node::Text(_) => {}
        }
    }
    items.join("\n")
}

fn render_item(marker: &str, children: &[Node]) -> String {
    let body = render_blocks(children).join("\n");
    if body.is_empty() {
        return String::new();
    }
    let indent = " ".repeat(marker.chars().count());
    let mut out = String::new();
    for (i, line) in body.lines().enumerate() {
        if i == 0 {
            out.push_str(marker);
            out.push_str(line);
        } else {
            out.push('\n');
            if !line.is_empty() {
                out.push_str(&indent);
                out.push_str(line);
            }
        }
    }
    out
}

fn collect_rows(e: &Element, rows: &mut Vec<String>) {
    for child in &e.children {
        if let Node::Element(c) = child {
            match c.name.as_str() {
                "tr" => {
                    let row = render_row(c);
                    if !row.is_empty() {
                        rows.push(row);
                    }
                }
                "thead" | "tbody" | "tfoot" => collect_rows(c, rows),
                "caption" => rows.extend(render_blocks(&c.children)),
                _ => {}
            }
        }
    }
}

fn render_row(tr: &Element) -> String {
    let cells: Vec<String> = tr
        .children
        .iter()
        .filter_map(|child| match child {
            Node::Element(cell) if cell.name == "td" || cell.name == "th" => {
                Some(render_blocks(&cell.children).join(" "))
            }
            _ => None,
        })
        .collect();
    if cells.iter().all(String::is_empty) {
        String::new()
    } else {
        cells.join(" | ")
    }
}

fn render_inline(e: &Element, inline: &mut Inline) {
    match e.name.as_str() {
        "br" => inline.buf.push(BR),
        "code" | "kbd" | "samp" | "tt" => {
            let code = raw_text(&e.children).replace('\n', " ");
            if !code.is_empty() {
                inline.code_span(code);
            }
        }
        "img" => {
            if let Some(alt) = e.attr("alt").filter(|a| !a.trim().is_empty()) {
                inline.buf.push_str(alt);
            }
        }
        "sup" => {
            inline.buf.push('^');
            render_inline_children(e, inline);
        }
        "sub" => {
            inline.buf.push('_');
            render_inline_children(e, inline);
        }
        _ => render_inline_children(e, inline),
    }
}

fn render_inline_children(e: &Element, inline: &mut Inline) {
    for child in &e.children {
        match child {
            Node::Text(text) => inline.buf.push_str(text),
            Node::Element(c) => render_inline(c, inline),
        }
    }
}

/// All text under `nodes`, whitespace kept and `<br>` as a newline (for `<pre>` and `<code>`).
fn raw_text(nodes: &[Node]) -> String {
    let mut out = String::new();
    for node in nodes {
        match node {
            Node::Text(text) => out.push_str(text),
            Node::Element(e) if e.name == "br" => out.push('\n'),
            Node::Element(e) => out.push_str(&raw_text(&e.children)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entities_decode_named_numeric_and_keep_unknown() {
        assert_eq!(decode_entities("a &amp; b &lt; c"), "a & b < c");
        assert_eq!(decode_entities("&#39;&#x3b1;&alpha;&hellip;"), "'αα…");
        assert_eq!(
            decode_entities("AT&T and &bogus; and &"),
            "AT&T and &bogus; and &"
        );
    }

    #[test]
    fn unclosed_paragraphs_and_items_are_closed() {
        let text = html_to_text("<p>one<p>two<ul><li>a<li>b</ul>");
        assert_eq!(text, "one\n\ntwo\n\n- a\n- b");
    }

    #[test]
    fn code_is_not_converted_as_math() {
        let text = html_to_text(
            "<p>Use <code>$x$</code> or $\\alpha$.</p><pre><code>echo $HOME &amp;&amp; $PATH\n</code></pre>",
        );
        assert_eq!(text, "Use `$x$` or α.\n\n```\necho $HOME && $PATH\n```");
    }

    #[test]
    fn title_comes_from_title_then_h1() {
        assert_eq!(
            html_title("<html><head><title> A &amp; B </title></head></html>").as_deref(),
            Some("A & B")
        );
        assert_eq!(
            html_title("<h1>Heading</h1><p>x</p>").as_deref(),
            Some("Heading")
        );
        assert_eq!(html_title("<p>x</p>"), None);
    }
}
