//! Local document folders: Markdown, plain text and HTML files, read recursively in a stable
//! order. No network, so `collector local` works on a fresh offline machine.

use std::path::{Path, PathBuf};

use artifacts::{LocalDocument, Timestamp};
use sha2::{Digest, Sha256};

use crate::CollectorError;
use crate::html::{html_title, html_to_text};

/// The format of a file, from its extension; `None` for files that are skipped.
pub fn format_of(path: &Path) -> Option<&'static str> {
    let extension = path.extension()?.to_str()?.to_ascii_lowercase();
    match extension.as_str() {
        "md" | "markdown" => Some("markdown"),
        "txt" | "text" => Some("text"),
        "html" | "htm" => Some("html"),
        _ => None,
    }
}

/// Reads every supported file under `folder`. `root_label` is stored as the document's `root`
/// (the folder as configured, so ids do not depend on where the project is checked out).
pub fn read_folder(folder: &Path, root_label: &str) -> Result<Vec<LocalDocument>, CollectorError> {
    let mut files = Vec::new();
    walk(folder, &mut files)?;
    files.sort();
    let mut documents = Vec::with_capacity(files.len());
    for file in files {
        let Some(format) = format_of(&file) else {
            continue;
        };
        let bytes = std::fs::read(&file).map_err(|e| CollectorError::io("read", &file, e))?;
        let metadata =
            std::fs::metadata(&file).map_err(|e| CollectorError::io("stat", &file, e))?;
        let modified_at = metadata
            .modified()
            .ok()
            .and_then(|m| jiff::Timestamp::try_from(m).ok())
            .map(Timestamp::from)
            .unwrap_or(Timestamp(0));
        let relative = file
            .strip_prefix(folder)
            .unwrap_or(&file)
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/");
        let source = String::from_utf8_lossy(&bytes);
        let stem = file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let (title, text) = match format {
            "markdown" => (markdown_title(&source), source.trim().to_owned()),
            "html" => (html_title(&source), html_to_text(&source)),
            _ => (None, source.trim().to_owned()),
        };
        documents.push(LocalDocument {
            doc_id: hex(&Sha256::digest(
                format!("{root_label}\0{relative}").as_bytes(),
            )),
            root: root_label.to_owned(),
            path: relative,
            title: title.unwrap_or(stem),
            format: format.to_owned(),
            text,
            content_sha256: hex(&Sha256::digest(&bytes)),
            modified_at,
            size_bytes: i64::try_from(bytes.len()).unwrap_or(i64::MAX),
        });
    }
    Ok(documents)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), CollectorError> {
    let entries = std::fs::read_dir(dir).map_err(|e| CollectorError::io("read folder", dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| CollectorError::io("read folder", dir, e))?;
        let path = entry.path();
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        if hidden {
            continue;
        }
        let kind = entry
            .file_type()
            .map_err(|e| CollectorError::io("stat", &path, e))?;
        if kind.is_dir() {
            walk(&path, out)?;
        } else if kind.is_file() {
            out.push(path);
        }
    }
    Ok(())
}

/// The first ATX heading (`# Title`), after any YAML front matter, else a front matter `title:`.
fn markdown_title(text: &str) -> Option<String> {
    let mut lines = text.lines().peekable();
    let mut front_title = None;
    if lines.peek().map(|l| l.trim()) == Some("---") {
        lines.next();
        for line in lines.by_ref() {
            if line.trim() == "---" {
                break;
            }
            if let Some(value) = line.strip_prefix("title:") {
                front_title = Some(value.trim().trim_matches(['"', '\'']).to_owned());
            }
        }
    }
    let mut in_fence = false;
    for line in lines {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        if let Some(heading) = trimmed.strip_prefix('#') {
            let heading = heading.trim_start_matches('#');
            if heading.starts_with(' ') || heading.is_empty() {
                let heading = heading.trim().trim_end_matches('#').trim();
                if !heading.is_empty() {
                    return Some(heading.to_owned());
                }
            }
        }
    }
    front_title.filter(|t| !t.is_empty())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_titles() {
        assert_eq!(
            markdown_title("# Using CUPED\n\ntext").as_deref(),
            Some("Using CUPED")
        );
        assert_eq!(
            markdown_title("---\ntitle: \"Front\"\n---\nno heading").as_deref(),
            Some("Front")
        );
        assert_eq!(
            markdown_title("```\n# not a heading\n```\n## Real ##").as_deref(),
            Some("Real")
        );
        assert_eq!(markdown_title("#hashtag only"), None);
    }

    #[test]
    fn folder_is_read_recursively_in_stable_order_with_formats() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("sub")).expect("mkdir");
        std::fs::write(dir.path().join("b.md"), "# Bee\nbody").expect("write");
        std::fs::write(dir.path().join("a.txt"), "plain\n").expect("write");
        std::fs::write(
            dir.path().join("sub/c.html"),
            "<title>Sea &amp; sky</title><p>x &lt; y</p>",
        )
        .expect("write");
        std::fs::write(dir.path().join("skip.pdf"), "binary").expect("write");
        std::fs::write(dir.path().join(".hidden.md"), "# no").expect("write");
        let docs = read_folder(dir.path(), "kb").expect("read");
        let summary: Vec<(&str, &str, &str, &str)> = docs
            .iter()
            .map(|d| {
                (
                    d.path.as_str(),
                    d.format.as_str(),
                    d.title.as_str(),
                    d.text.as_str(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                ("a.txt", "text", "a", "plain"),
                ("b.md", "markdown", "Bee", "# Bee\nbody"),
                ("sub/c.html", "html", "Sea & sky", "x < y"),
            ]
        );
        assert_eq!(docs[1].content_sha256, hex(&Sha256::digest(b"# Bee\nbody")));
        assert_eq!(docs[1].size_bytes, 10);
        assert_ne!(docs[0].doc_id, docs[1].doc_id);
        assert!(
            docs.iter()
                .all(|d| d.root == "kb" && d.modified_at.as_micros() > 0)
        );
    }
}
