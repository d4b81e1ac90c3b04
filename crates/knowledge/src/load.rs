//! Reading the knowledge files as written, with line numbers, before validation.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::model::Location;

/// The knowledge directory could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A directory or file could not be read.
    #[error(
        "cannot read {path}: {source}; expected the knowledge base (concepts/, playbook/, questions/) there"
    )]
    Io {
        /// The path.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// Everything read from disk, not yet checked.
#[derive(Debug, Default)]
pub struct Sources {
    pub(crate) concepts: Vec<(Location, String, RawConcept)>,
    pub(crate) relations: Vec<(Location, RawRelation)>,
    pub(crate) questions: Vec<(Location, String, RawQuestion)>,
    pub(crate) playbook: Vec<(Location, String, String)>,
    /// Files that did not parse: location and the parser's message.
    pub(crate) parse_errors: Vec<(Location, String)>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConceptFile {
    #[serde(default)]
    concept: Vec<Spanned<RawConcept>>,
    #[serde(default)]
    relation: Vec<Spanned<RawRelation>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct QuestionFile {
    #[serde(default)]
    question: Vec<Spanned<RawQuestion>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawConcept {
    pub(crate) id: String,
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) aliases: Vec<String>,
    pub(crate) category: String,
    pub(crate) definition: String,
    #[serde(default)]
    pub(crate) when_to_use: String,
    #[serde(default)]
    pub(crate) common_mistakes: Vec<String>,
    #[serde(default)]
    pub(crate) example: String,
    pub(crate) formula: Option<RawFormula>,
    #[serde(default)]
    pub(crate) sources: Vec<RawSource>,
    pub(crate) check: Option<RawCheck>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFormula {
    #[serde(default)]
    pub(crate) text: String,
    #[serde(default)]
    pub(crate) latex: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSource {
    #[serde(default)]
    pub(crate) title: String,
    pub(crate) authors: Option<String>,
    pub(crate) year: Option<i64>,
    pub(crate) locator: Option<String>,
    pub(crate) url: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCheck {
    pub(crate) calculation: String,
    #[serde(default)]
    pub(crate) params: BTreeMap<String, toml::Value>,
    #[serde(default)]
    pub(crate) expect: BTreeMap<String, toml::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRelation {
    pub(crate) from: String,
    pub(crate) kind: String,
    pub(crate) to: String,
    #[serde(default)]
    pub(crate) explanation: String,
    pub(crate) weight: Option<f64>,
    pub(crate) sign: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawQuestion {
    pub(crate) id: String,
    pub(crate) text: String,
    pub(crate) intent: String,
    #[serde(default)]
    pub(crate) mentions: Vec<String>,
    #[serde(default)]
    pub(crate) needs: Vec<String>,
    #[serde(default)]
    pub(crate) path: Vec<String>,
    #[serde(default)]
    pub(crate) spans: Vec<RawSpan>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSpan {
    pub(crate) concept: String,
    pub(crate) start: usize,
    pub(crate) end: usize,
}

/// Reads every file under `dir`: `concepts/*.toml`, `questions/*.toml`, `playbook/*.md`.
pub fn load_sources(dir: &Path) -> Result<Sources, LoadError> {
    let mut sources = Sources::default();
    for (path, text) in read_dir_files(dir, "concepts", "toml")? {
        let area = stem(&path);
        match toml::from_str::<ConceptFile>(&text) {
            Ok(file) => {
                for concept in file.concept {
                    let location = locate(&path, &text, concept.span().start);
                    sources
                        .concepts
                        .push((location, area.clone(), concept.into_inner()));
                }
                for relation in file.relation {
                    let location = locate(&path, &text, relation.span().start);
                    sources.relations.push((location, relation.into_inner()));
                }
            }
            Err(e) => sources.parse_errors.push(parse_error(&path, &text, &e)),
        }
    }
    for (path, text) in read_dir_files(dir, "questions", "toml")? {
        let set = stem(&path);
        match toml::from_str::<QuestionFile>(&text) {
            Ok(file) => {
                for question in file.question {
                    let location = locate(&path, &text, question.span().start);
                    sources
                        .questions
                        .push((location, set.clone(), question.into_inner()));
                }
            }
            Err(e) => sources.parse_errors.push(parse_error(&path, &text, &e)),
        }
    }
    for (path, text) in read_dir_files(dir, "playbook", "md")? {
        sources.playbook.push((
            Location {
                file: path.clone(),
                line: 1,
            },
            stem(&path),
            text,
        ));
    }
    Ok(sources)
}

fn read_dir_files(dir: &Path, sub: &str, ext: &str) -> Result<Vec<(PathBuf, String)>, LoadError> {
    let folder = dir.join(sub);
    let io = |path: &Path, source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut paths: Vec<PathBuf> = fs::read_dir(&folder)
        .map_err(|e| io(&folder, e))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    paths.sort();
    let mut files = Vec::new();
    for path in paths {
        let text = fs::read_to_string(&path).map_err(|e| io(&path, e))?;
        let relative = PathBuf::from(sub).join(path.file_name().unwrap_or_default());
        files.push((relative, text));
    }
    Ok(files)
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The 1-based line of a byte offset. A table's span starts at its first key, so step back to
/// the `[[…]]` header line above it when there is one.
fn locate(path: &Path, text: &str, offset: usize) -> Location {
    let offset = offset.min(text.len());
    let mut line = text[..offset].matches('\n').count() + 1;
    let lines: Vec<&str> = text.lines().collect();
    let mut probe = line;
    while probe > 1 {
        let candidate = lines.get(probe - 1).map(|l| l.trim()).unwrap_or("");
        if candidate.starts_with("[[") {
            line = probe;
            break;
        }
        if probe + 3 < line {
            break;
        }
        probe -= 1;
    }
    Location {
        file: path.to_path_buf(),
        line,
    }
}

fn parse_error(path: &Path, text: &str, error: &toml::de::Error) -> (Location, String) {
    let line = error
        .span()
        .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
    let message = error.message().to_owned();
    (
        Location {
            file: path.to_path_buf(),
            line: line.unwrap_or(1),
        },
        message,
    )
}
