//! What gets indexed: concepts and relations from the knowledge base, and documents (the
//! playbook and, when present, the collector's raw artifacts) with their citation fields.

use std::path::Path;

use knowledge::KnowledgeBase;

use crate::error::{Error, Result};

/// A document to chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// Stable key, for example `playbook/cuped-usage` or `cv/12345`.
    pub key: String,
    /// `playbook`, `cross_validated`, `arxiv` or `local`.
    pub kind: String,
    /// Title.
    pub title: String,
    /// Public URL.
    pub url: Option<String>,
    /// Author(s).
    pub author: Option<String>,
    /// Licence.
    pub license: Option<String>,
    /// The text that is chunked.
    pub text: String,
}

/// Loads and validates the knowledge base, refusing one with findings.
pub fn load_knowledge(dir: &Path) -> Result<KnowledgeBase> {
    let validated = knowledge::load(dir)?;
    validated
        .into_result()
        .map_err(|findings| Error::InvalidKnowledge {
            count: findings.len(),
            first: findings
                .first()
                .map(|f| format!("{f:?}"))
                .unwrap_or_default(),
        })
}

/// The playbook documents.
pub fn playbook_documents(kb: &KnowledgeBase) -> Vec<Document> {
    kb.playbook
        .iter()
        .map(|p| Document {
            key: format!("playbook/{}", p.id),
            kind: "playbook".into(),
            title: p.title.clone(),
            url: None,
            author: Some("Northwind Commerce (example playbook)".into()),
            license: None,
            text: p.markdown.clone(),
        })
        .collect()
}

/// The raw artifacts under `raw_dir` that exist: Cross Validated posts (question, accepted answer
/// and the two best other answers), arXiv abstracts and local documents.
pub fn raw_documents(raw_dir: &Path) -> Result<Vec<Document>> {
    let mut docs = Vec::new();
    let read_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Artifact { path, source }
    };
    let cv = raw_dir.join("cross_validated.parquet");
    if cv.is_file() {
        let posts: Vec<artifacts::CrossValidatedPost> =
            artifacts::read_artifact(&cv).map_err(read_err(&cv))?;
        for p in posts {
            let mut answers: Vec<&artifacts::CrossValidatedAnswer> = p.answers.iter().collect();
            answers.sort_by_key(|a| (!a.is_accepted, -a.score));
            let mut text = format!("{}\n\n{}", p.title, p.body_text);
            let mut authors: Vec<String> = p.author_name.iter().cloned().collect();
            for a in answers.into_iter().take(3) {
                let by = a.author_name.clone().unwrap_or_else(|| "anonymous".into());
                let label = if a.is_accepted {
                    "Accepted answer"
                } else {
                    "Answer"
                };
                text.push_str(&format!(
                    "\n\n{label} by {by} (score {}):\n\n{}",
                    a.score, a.body_text
                ));
                authors.push(by);
            }
            authors.dedup();
            docs.push(Document {
                key: format!("cv/{}", p.question_id),
                kind: "cross_validated".into(),
                title: p.title,
                url: Some(p.link),
                author: (!authors.is_empty()).then(|| authors.join(", ")),
                license: Some(p.license),
                text,
            });
        }
    }
    let arxiv = raw_dir.join("arxiv.parquet");
    if arxiv.is_file() {
        let papers: Vec<artifacts::ArxivPaper> =
            artifacts::read_artifact(&arxiv).map_err(read_err(&arxiv))?;
        for p in papers {
            docs.push(Document {
                key: format!("arxiv/{}", p.arxiv_id),
                kind: "arxiv".into(),
                text: format!("{}\n\n{}", p.title, p.abstract_text),
                title: p.title,
                url: Some(p.abs_url),
                author: Some(p.authors.join(", ")),
                license: None,
            });
        }
    }
    let local = raw_dir.join("local_docs.parquet");
    if local.is_file() {
        let files: Vec<artifacts::LocalDocument> =
            artifacts::read_artifact(&local).map_err(read_err(&local))?;
        for d in files {
            docs.push(Document {
                key: format!("local/{}", d.doc_id),
                kind: "local".into(),
                title: d.title,
                url: None,
                author: None,
                license: None,
                text: d.text,
            });
        }
    }
    Ok(docs)
}
