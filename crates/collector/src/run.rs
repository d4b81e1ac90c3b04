//! Running a source end to end: resume from the checkpoint, fetch page by page (staging each
//! completed page), then assemble, write the artifact atomically and record it in the manifest.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use artifacts::{
    ArxivPaper, CrossValidatedPost, LocalDocument, Manifest, StageFingerprint, Timestamp,
    WrittenArtifact, config_hash, read_artifact, write_artifact,
};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};

use crate::CollectorError;
use crate::arxiv::ArxivClient;
use crate::checkpoint::{StateDir, file_safe};
use crate::config::{CollectorConfig, resolve_folder};
use crate::local::read_folder;
use crate::stackexchange::{QuestionFilter, StackExchangeClient, WireAnswer, to_post};

/// The stage name recorded in the manifest.
pub const STAGE: &str = "collector";
/// Where each artifact goes, relative to the artifacts root.
pub const CROSS_VALIDATED_PATH: &str = "raw/cross_validated.parquet";
/// Where the arXiv artifact goes.
pub const ARXIV_PATH: &str = "raw/arxiv.parquet";
/// Where the local documents artifact goes.
pub const LOCAL_DOCS_PATH: &str = "raw/local_docs.parquet";

const CHECKPOINT_FORMAT: u32 = 1;

/// How one run behaves.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// The artifacts root (`artifacts/` by default).
    pub root: PathBuf,
    /// Stop cleanly after this many pages in this run (the checkpoint keeps them).
    pub max_pages: Option<usize>,
    /// Ignore and replace any checkpoint (a full re-fetch; rows are still merged by id).
    pub fresh: bool,
    /// The `fetched_at` stamped on rows; `None` means the run's start time.
    pub fetched_at: Option<Timestamp>,
    /// Where progress bars go; `None` hides them.
    pub progress: Option<MultiProgress>,
}

/// How a source's run ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Every page is done and the artifact was written.
    Complete {
        /// The artifact written.
        path: PathBuf,
        /// Rows in it.
        rows: u64,
    },
    /// The run stopped early on purpose; the checkpoint keeps the progress and the artifact was
    /// left as it was.
    Stopped(StopReason),
}

/// Why a run stopped before the end.
#[derive(Debug, Clone, PartialEq)]
pub enum StopReason {
    /// StackExchange's `quota_remaining` reached the reserve.
    QuotaReserve {
        /// Requests left.
        remaining: i64,
        /// The configured reserve.
        reserve: i64,
    },
    /// `max_pages` pages were fetched.
    PageLimit {
        /// The limit.
        pages: usize,
    },
}

/// What one source did, for the closing summary.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceSummary {
    /// `cross_validated`, `arxiv` or `local_docs`.
    pub source: &'static str,
    /// How it ended.
    pub outcome: Outcome,
    /// Records returned by the API (or files read) in this run.
    pub fetched: u64,
    /// Records new to the artifact.
    pub new: u64,
    /// Records skipped: already collected, duplicates across queries, below the score floor.
    pub skipped: u64,
    /// Pages completed in this run.
    pub pages: u64,
    /// Requests sent (including retries).
    pub requests: u64,
    /// Retries.
    pub retries: u64,
    /// StackExchange quota left after the last response.
    pub quota_remaining: Option<i64>,
    /// StackExchange daily quota.
    pub quota_max: Option<i64>,
}

impl SourceSummary {
    fn new(source: &'static str) -> Self {
        Self {
            source,
            outcome: Outcome::Stopped(StopReason::PageLimit { pages: 0 }),
            fetched: 0,
            new: 0,
            skipped: 0,
            pages: 0,
            requests: 0,
            retries: 0,
            quota_remaining: None,
            quota_max: None,
        }
    }
}

impl fmt::Display for SourceSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: fetched {}, new {}, skipped {}, pages {}, requests {}, retries {}",
            self.source,
            self.fetched,
            self.new,
            self.skipped,
            self.pages,
            self.requests,
            self.retries
        )?;
        if let Some(remaining) = self.quota_remaining {
            write!(f, ", quota left {remaining}")?;
            if let Some(max) = self.quota_max {
                write!(f, "/{max}")?;
            }
        }
        match &self.outcome {
            Outcome::Complete { path, rows } => {
                write!(f, "; wrote {} ({rows} rows)", path.display())
            }
            Outcome::Stopped(StopReason::QuotaReserve { remaining, reserve }) => write!(
                f,
                "; stopped at the quota reserve ({remaining} left, reserve {reserve}), progress kept, run again later to continue"
            ),
            Outcome::Stopped(StopReason::PageLimit { pages }) => write!(
                f,
                "; stopped after {pages} pages as asked, progress kept, run again to continue"
            ),
        }
    }
}

fn bar(options: &RunOptions, length: u64, prefix: &str) -> ProgressBar {
    let Some(multi) = &options.progress else {
        return ProgressBar::hidden();
    };
    let bar = multi.add(ProgressBar::new(length));
    if let Ok(style) =
        ProgressStyle::with_template("{prefix:>16} [{bar:30}] {pos}/{len} pages {msg}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_prefix(prefix.to_owned());
    bar
}

fn record(
    root: &Path,
    written: &WrittenArtifact,
    config: &impl Serialize,
) -> Result<(), CollectorError> {
    let mut manifest = Manifest::load(root)?;
    let fingerprint = StageFingerprint {
        stage: STAGE.to_owned(),
        config_hash: config_hash(config),
        inputs: BTreeMap::new(),
    };
    manifest.record(root, written, &fingerprint);
    manifest.save(root)?;
    Ok(())
}

fn read_existing<T: artifacts::Artifact>(path: &Path) -> Result<Vec<T>, CollectorError> {
    if path.exists() {
        Ok(read_artifact(path)?)
    } else {
        Ok(Vec::new())
    }
}

// ---------------------------------------------------------------------------------------------
// Local folders

/// Reads the configured folders (relative to `base`) and writes `raw/local_docs.parquet`.
pub fn collect_local(
    config: &CollectorConfig,
    base: &Path,
    options: &RunOptions,
) -> Result<SourceSummary, CollectorError> {
    let mut documents: Vec<LocalDocument> = Vec::new();
    for folder in &config.local.folders {
        let path = resolve_folder(base, folder);
        if !path.is_dir() {
            return Err(CollectorError::Config {
                path: path.clone(),
                message: format!(
                    "local folder {folder:?} does not exist (resolved to {})",
                    path.display()
                ),
            });
        }
        documents.extend(read_folder(&path, folder)?);
    }
    let path = options.root.join(LOCAL_DOCS_PATH);
    let existing: HashSet<(String, String)> = read_existing::<LocalDocument>(&path)
        .unwrap_or_default()
        .into_iter()
        .map(|d| (d.doc_id, d.content_sha256))
        .collect();
    let mut summary = SourceSummary::new("local_docs");
    summary.fetched = documents.len() as u64;
    summary.new = documents
        .iter()
        .filter(|d| !existing.contains(&(d.doc_id.clone(), d.content_sha256.clone())))
        .count() as u64;
    summary.skipped = summary.fetched - summary.new;
    let written = write_artifact(&path, &documents)?;
    record(&options.root, &written, &config.local)?;
    summary.outcome = Outcome::Complete {
        path: written.path,
        rows: written.rows,
    };
    Ok(summary)
}

// ---------------------------------------------------------------------------------------------
// Cross Validated

#[derive(Debug, Default, Serialize, Deserialize)]
struct CvCheckpoint {
    format: u32,
    /// Hash of the settings that decide what is fetched; a change restarts the run.
    plan_hash: String,
    /// Whether a run is under way (pages staged, artifact not yet written).
    in_progress: bool,
    /// Progress per tag of the run under way.
    tags: BTreeMap<String, TagProgress>,
    /// Per tag, the newest `creation_date` covered by finished runs: the next run asks only for
    /// questions created after it (`fromdate`).
    cursors: BTreeMap<String, i64>,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct TagProgress {
    pages_done: u32,
    questions_seen: u64,
    done: bool,
    fromdate: Option<i64>,
    newest: Option<i64>,
    staged: Vec<String>,
}

#[derive(Serialize)]
struct CvPlan<'a> {
    site: &'a str,
    tags: &'a [String],
    min_score: i64,
    from: Option<i64>,
    to: Option<i64>,
    max_questions_per_tag: u32,
    page_size: u32,
}

/// Collects Cross Validated into `raw/cross_validated.parquet`, resuming any checkpoint.
pub async fn collect_cross_validated(
    config: &CollectorConfig,
    key: Option<String>,
    options: &RunOptions,
) -> Result<SourceSummary, CollectorError> {
    let cv = &config.cross_validated;
    let client = StackExchangeClient::new(cv, &config.http, key)?;
    let result = run_cross_validated(config, &client, options).await;
    let stats = client.stats();
    result.map(|mut summary| {
        summary.requests = stats.requests;
        summary.retries = stats.retries;
        summary.quota_remaining = stats.quota_remaining;
        summary.quota_max = stats.quota_max;
        summary
    })
}

async fn run_cross_validated(
    config: &CollectorConfig,
    client: &StackExchangeClient,
    options: &RunOptions,
) -> Result<SourceSummary, CollectorError> {
    let cv = &config.cross_validated;
    let fetched_at = options.fetched_at.unwrap_or_else(Timestamp::now);
    let state = StateDir::new(&options.root, "cross_validated");
    let plan_hash = config_hash(&CvPlan {
        site: &cv.site,
        tags: &cv.tags,
        min_score: cv.min_score,
        from: cv.from_unix(),
        to: cv.to_unix(),
        max_questions_per_tag: cv.max_questions_per_tag,
        page_size: cv.page_size,
    });
    let mut checkpoint: CvCheckpoint = if options.fresh {
        CvCheckpoint::default()
    } else {
        state.load()?.unwrap_or_default()
    };
    if checkpoint.plan_hash != plan_hash {
        // What is fetched changed: staged pages and cursors describe another plan.
        let stale: Vec<String> = checkpoint
            .tags
            .values()
            .flat_map(|t| t.staged.clone())
            .collect();
        state.remove_staged(&stale);
        checkpoint = CvCheckpoint::default();
    }
    if !checkpoint.in_progress {
        checkpoint.tags.clear();
        checkpoint.in_progress = true;
    }
    checkpoint.format = CHECKPOINT_FORMAT;
    checkpoint.plan_hash = plan_hash;

    let artifact_path = options.root.join(CROSS_VALIDATED_PATH);
    let existing: Vec<CrossValidatedPost> = read_existing(&artifact_path)?;
    let mut seen: HashSet<i64> = existing.iter().map(|p| p.question_id).collect();
    for progress in checkpoint.tags.values() {
        for file in &progress.staged {
            let rows: Vec<CrossValidatedPost> = read_artifact(state.staged(file))?;
            seen.extend(rows.iter().map(|p| p.question_id));
        }
    }

    let mut summary = SourceSummary::new("cross_validated");
    let pages_per_tag = cv
        .max_questions_per_tag
        .div_ceil(cv.page_size.max(1))
        .max(1);
    let progress_bar = bar(
        options,
        u64::from(pages_per_tag) * cv.tags.len() as u64,
        "cross_validated",
    );
    let done_pages: u64 = checkpoint
        .tags
        .values()
        .map(|t| u64::from(t.pages_done))
        .sum();
    progress_bar.set_position(done_pages);
    let mut stop: Option<StopReason> = None;

    'tags: for tag in &cv.tags {
        let cursor = checkpoint.cursors.get(tag).map(|c| c + 1);
        let mut progress = checkpoint
            .tags
            .get(tag)
            .cloned()
            .unwrap_or_else(|| TagProgress {
                fromdate: match (cv.from_unix(), cursor) {
                    (Some(a), Some(b)) => Some(a.max(b)),
                    (a, b) => a.or(b),
                },
                ..TagProgress::default()
            });
        progress_bar.set_message(tag.clone());
        while !progress.done {
            if options
                .max_pages
                .is_some_and(|max| summary.pages as usize >= max)
            {
                stop = Some(StopReason::PageLimit {
                    pages: options.max_pages.unwrap_or(0),
                });
                break 'tags;
            }
            let page = progress.pages_done + 1;
            let filter = QuestionFilter {
                from: progress.fromdate,
                to: cv.to_unix(),
                min_score: Some(cv.min_score),
            };
            let wrapper = match client.questions(tag, page, filter).await {
                Ok(wrapper) => wrapper,
                Err(CollectorError::QuotaReserve { remaining, reserve }) => {
                    stop = Some(StopReason::QuotaReserve { remaining, reserve });
                    break 'tags;
                }
                Err(e) => return Err(e),
            };
            let allowance =
                u64::from(cv.max_questions_per_tag).saturating_sub(progress.questions_seen);
            let returned = wrapper.items.len();
            let items: Vec<_> = wrapper.items.into_iter().take(allowance as usize).collect();
            let taken = items.len() as u64;
            let mut below_floor = false;
            let mut fresh = Vec::new();
            let mut fresh_ids = HashSet::new();
            for question in items {
                progress.newest = Some(
                    progress
                        .newest
                        .map_or(question.creation_date, |n| n.max(question.creation_date)),
                );
                if question.score < cv.min_score {
                    below_floor = true;
                    summary.skipped += 1;
                } else if seen.contains(&question.question_id)
                    || !fresh_ids.insert(question.question_id)
                {
                    summary.skipped += 1;
                } else {
                    fresh.push(question);
                }
            }
            let needing_answers: Vec<i64> = fresh
                .iter()
                .filter(|q| q.answer_count > 0)
                .map(|q| q.question_id)
                .collect();
            let mut answers: HashMap<i64, Vec<WireAnswer>> = HashMap::new();
            for batch in needing_answers.chunks(100) {
                match client.answers(batch).await {
                    Ok(list) => {
                        for answer in list {
                            answers.entry(answer.question_id).or_default().push(answer);
                        }
                    }
                    Err(CollectorError::QuotaReserve { remaining, reserve }) => {
                        // This page is not recorded: a later run fetches it again, whole.
                        stop = Some(StopReason::QuotaReserve { remaining, reserve });
                        break 'tags;
                    }
                    Err(e) => return Err(e),
                }
            }
            let posts: Vec<CrossValidatedPost> = fresh
                .into_iter()
                .map(|q| {
                    let list = answers.remove(&q.question_id).unwrap_or_default();
                    to_post(q, list, &cv.site_url, fetched_at)
                })
                .collect();
            if !posts.is_empty() {
                let file = format!("{}-{page:05}.parquet", file_safe(tag));
                state.ensure_staging()?;
                write_artifact(state.staged(&file), &posts)?;
                if !progress.staged.contains(&file) {
                    progress.staged.push(file);
                }
            }
            seen.extend(posts.iter().map(|p| p.question_id));
            summary.fetched += taken;
            summary.new += posts.len() as u64;
            summary.pages += 1;
            progress.pages_done = page;
            progress.questions_seen += taken;
            progress.done = !wrapper.has_more
                || returned == 0
                || below_floor
                || progress.questions_seen >= u64::from(cv.max_questions_per_tag);
            checkpoint.tags.insert(tag.clone(), progress.clone());
            state.save(&checkpoint)?;
            progress_bar.inc(1);
        }
        checkpoint.tags.insert(tag.clone(), progress);
    }
    progress_bar.finish_and_clear();
    if let Some(reason) = stop {
        summary.outcome = Outcome::Stopped(reason);
        return Ok(summary);
    }

    // Every tag is done: merge with what was collected before, newest fetch wins.
    let mut rows: BTreeMap<i64, CrossValidatedPost> =
        existing.into_iter().map(|p| (p.question_id, p)).collect();
    let mut staged_files = Vec::new();
    for progress in checkpoint.tags.values() {
        for file in &progress.staged {
            let staged: Vec<CrossValidatedPost> = read_artifact(state.staged(file))?;
            rows.extend(staged.into_iter().map(|p| (p.question_id, p)));
            staged_files.push(file.clone());
        }
    }
    let rows: Vec<CrossValidatedPost> = rows.into_values().collect();
    let written = write_artifact(&artifact_path, &rows)?;
    record(&options.root, &written, cv)?;
    for (tag, progress) in &checkpoint.tags {
        if let Some(newest) = progress.newest {
            let cursor = checkpoint.cursors.entry(tag.clone()).or_insert(newest);
            *cursor = (*cursor).max(newest);
        }
    }
    checkpoint.tags.clear();
    checkpoint.in_progress = false;
    state.save(&checkpoint)?;
    state.remove_staged(&staged_files);
    summary.outcome = Outcome::Complete {
        path: written.path,
        rows: written.rows,
    };
    Ok(summary)
}

// ---------------------------------------------------------------------------------------------
// arXiv

#[derive(Debug, Default, Serialize, Deserialize)]
struct ArxivCheckpoint {
    format: u32,
    plan_hash: String,
    in_progress: bool,
    /// Whether a run has finished before: later runs stop a query at the first page holding
    /// nothing new (results come newest first).
    completed_once: bool,
    queries: BTreeMap<String, QueryProgress>,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct QueryProgress {
    next_start: u64,
    done: bool,
    total_results: Option<u64>,
    staged: Vec<String>,
}

#[derive(Serialize)]
struct ArxivPlan<'a> {
    queries: &'a [crate::config::ArxivQuery],
    page_size: u32,
    sort_by: &'a str,
}

/// Collects arXiv into `raw/arxiv.parquet`, resuming any checkpoint.
pub async fn collect_arxiv(
    config: &CollectorConfig,
    options: &RunOptions,
) -> Result<SourceSummary, CollectorError> {
    let client = ArxivClient::new(&config.arxiv, &config.http)?;
    let result = run_arxiv(config, &client, options).await;
    let stats = client.stats();
    result.map(|mut summary| {
        summary.requests = stats.requests;
        summary.retries = stats.retries;
        summary
    })
}

async fn run_arxiv(
    config: &CollectorConfig,
    client: &ArxivClient,
    options: &RunOptions,
) -> Result<SourceSummary, CollectorError> {
    let ax = &config.arxiv;
    let fetched_at = options.fetched_at.unwrap_or_else(Timestamp::now);
    let state = StateDir::new(&options.root, "arxiv");
    let plan_hash = config_hash(&ArxivPlan {
        queries: &ax.queries,
        page_size: ax.page_size,
        sort_by: &ax.sort_by,
    });
    let mut checkpoint: ArxivCheckpoint = if options.fresh {
        ArxivCheckpoint::default()
    } else {
        state.load()?.unwrap_or_default()
    };
    if checkpoint.plan_hash != plan_hash {
        let stale: Vec<String> = checkpoint
            .queries
            .values()
            .flat_map(|q| q.staged.clone())
            .collect();
        state.remove_staged(&stale);
        checkpoint = ArxivCheckpoint::default();
    }
    if !checkpoint.in_progress {
        checkpoint.queries.clear();
        checkpoint.in_progress = true;
    }
    checkpoint.format = CHECKPOINT_FORMAT;
    checkpoint.plan_hash = plan_hash;

    let artifact_path = options.root.join(ARXIV_PATH);
    let existing: Vec<ArxivPaper> = read_existing(&artifact_path)?;
    let mut seen: HashMap<String, i32> = existing
        .iter()
        .map(|p| (p.arxiv_id.clone(), p.version))
        .collect();
    for progress in checkpoint.queries.values() {
        for file in &progress.staged {
            let rows: Vec<ArxivPaper> = read_artifact(state.staged(file))?;
            for paper in rows {
                note_version(&mut seen, &paper);
            }
        }
    }

    let mut summary = SourceSummary::new("arxiv");
    let total_pages: u64 = ax
        .queries
        .iter()
        .map(|q| u64::from(q.max_results.div_ceil(ax.page_size.max(1))))
        .sum();
    let progress_bar = bar(options, total_pages, "arxiv");
    let mut stop = None;

    'queries: for query in &ax.queries {
        let mut progress = checkpoint
            .queries
            .get(&query.name)
            .cloned()
            .unwrap_or_default();
        progress_bar.set_message(query.name.clone());
        while !progress.done {
            let limit =
                u64::from(query.max_results).min(progress.total_results.unwrap_or(u64::MAX));
            let size = u64::from(ax.page_size).min(limit.saturating_sub(progress.next_start));
            if size == 0 {
                progress.done = true;
                break;
            }
            if options
                .max_pages
                .is_some_and(|max| summary.pages as usize >= max)
            {
                stop = Some(StopReason::PageLimit {
                    pages: options.max_pages.unwrap_or(0),
                });
                break 'queries;
            }
            let feed = client
                .query(&query.search_query, progress.next_start, size, fetched_at)
                .await?;
            let returned = feed.papers.len() as u64;
            let mut fresh = Vec::new();
            for paper in feed.papers {
                let known = seen
                    .get(&paper.arxiv_id)
                    .is_some_and(|v| *v >= paper.version);
                if known {
                    summary.skipped += 1;
                } else {
                    note_version(&mut seen, &paper);
                    fresh.push(paper);
                }
            }
            if !fresh.is_empty() {
                let file = format!(
                    "{}-{:06}.parquet",
                    file_safe(&query.name),
                    progress.next_start
                );
                state.ensure_staging()?;
                write_artifact(state.staged(&file), &fresh)?;
                if !progress.staged.contains(&file) {
                    progress.staged.push(file);
                }
            }
            summary.fetched += returned;
            summary.new += fresh.len() as u64;
            summary.pages += 1;
            progress.total_results = Some(feed.total_results);
            progress.next_start += returned;
            progress.done = returned == 0
                || progress.next_start >= u64::from(query.max_results).min(feed.total_results)
                || (checkpoint.completed_once && fresh.is_empty());
            checkpoint
                .queries
                .insert(query.name.clone(), progress.clone());
            state.save(&checkpoint)?;
            progress_bar.inc(1);
        }
        checkpoint.queries.insert(query.name.clone(), progress);
    }
    progress_bar.finish_and_clear();
    if let Some(reason) = stop {
        summary.outcome = Outcome::Stopped(reason);
        return Ok(summary);
    }

    let mut rows: BTreeMap<String, ArxivPaper> = existing
        .into_iter()
        .map(|p| (p.arxiv_id.clone(), p))
        .collect();
    let mut staged_files = Vec::new();
    for progress in checkpoint.queries.values() {
        for file in &progress.staged {
            let staged: Vec<ArxivPaper> = read_artifact(state.staged(file))?;
            for paper in staged {
                let newer = rows
                    .get(&paper.arxiv_id)
                    .is_none_or(|p| p.version <= paper.version);
                if newer {
                    rows.insert(paper.arxiv_id.clone(), paper);
                }
            }
            staged_files.push(file.clone());
        }
    }
    let rows: Vec<ArxivPaper> = rows.into_values().collect();
    let written = write_artifact(&artifact_path, &rows)?;
    record(&options.root, &written, ax)?;
    checkpoint.queries.clear();
    checkpoint.in_progress = false;
    checkpoint.completed_once = true;
    state.save(&checkpoint)?;
    state.remove_staged(&staged_files);
    summary.outcome = Outcome::Complete {
        path: written.path,
        rows: written.rows,
    };
    Ok(summary)
}

fn note_version(seen: &mut HashMap<String, i32>, paper: &ArxivPaper) {
    let version = seen.entry(paper.arxiv_id.clone()).or_insert(paper.version);
    *version = (*version).max(paper.version);
}
