//! HTML cleaning snapshots: each file in `test_data/html/` is cleaned and compared with its
//! reviewed snapshot in `tests/snapshots/`.

use std::path::Path;

fn check(name: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("test_data/html")
        .join(name);
    let html = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let text = collector::html::html_to_text(&html);
    insta::assert_snapshot!(name, text);
}

#[test]
fn mathjax_becomes_readable_math() {
    check("mathjax_answer.html");
}

#[test]
fn entities_and_unicode_are_decoded() {
    check("entities_unicode.html");
}

#[test]
fn code_blocks_and_nested_lists_are_kept() {
    check("code_and_lists.html");
}

#[test]
fn quotes_tables_images_and_broken_markup() {
    check("quote_table_misc.html");
}
