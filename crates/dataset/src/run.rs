//! One dataset run: combine the inputs that exist, clean, deduplicate, split, decontaminate,
//! format, write the three splits and the card, and record them in the manifest; or skip the
//! work when the manifest shows that nothing it depends on changed.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use artifacts::{
    CrossValidatedPost, DatasetRow, Manifest, QaPair, StageFingerprint, read_artifact, sha256_file,
    write_artifact, write_atomic,
};
use gguf::{ChatTemplate, GgufFile, GgufTokenizer};
use serde::Serialize;

use crate::clean::{check_limits, clean_text};
use crate::config::{DatasetConfig, DedupField, MinHashConfig, ShingleUnit};
use crate::format::{Formatted, Formatter};
use crate::input::{self, Attribution, Pair};
use crate::minhash::{LshIndex, LshMatch, normalize_for_matching, stable_hash};
use crate::split::{self, SPLITS};
use crate::{DatasetError, card};

/// The stage name recorded in the manifest.
pub const STAGE: &str = "dataset";
/// Cross Validated input, relative to the artifacts root.
pub const CROSS_VALIDATED_PATH: &str = "raw/cross_validated.parquet";
/// Synth input, relative to the artifacts root.
pub const SYNTH_PATH: &str = "qa/synthetic.parquet";
/// The dataset card, relative to the artifacts root.
pub const CARD_PATH: &str = "dataset/README.md";

/// The split files, relative to the artifacts root, in [`SPLITS`] order.
pub fn split_paths() -> [String; 3] {
    SPLITS.map(|s| format!("dataset/{s}.parquet"))
}

/// Where the template and tokenizer come from; the binary resolves these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelFiles {
    /// The model GGUF (template and tokenizer unless replaced below).
    pub gguf: PathBuf,
    /// An HF `tokenizer_config.json` whose template replaces the GGUF's.
    pub tokenizer_config: Option<PathBuf>,
    /// An HF `tokenizer.json` that replaces the GGUF's tokenizer.
    pub tokenizer_json: Option<PathBuf>,
}

/// The loaded chat template and tokenizer.
pub struct Model {
    /// The chat template.
    pub template: ChatTemplate,
    /// The tokenizer.
    pub tokenizer: GgufTokenizer,
    /// Where the template came from, for the card.
    pub template_source: String,
    /// Where the tokenizer came from, for the card.
    pub tokenizer_source: String,
}

impl Model {
    /// Loads the template and tokenizer from `files`.
    pub fn load(files: &ModelFiles) -> Result<Self, DatasetError> {
        let gguf = GgufFile::open(&files.gguf)?;
        let name = gguf
            .get("general.name")
            .and_then(|v| v.as_str())
            .unwrap_or("model")
            .to_owned();
        let (template, template_source) = match &files.tokenizer_config {
            Some(path) => (
                ChatTemplate::from_tokenizer_config(path)?,
                format!("`chat_template` of {}", path.display()),
            ),
            None => (
                ChatTemplate::from_gguf(&gguf)?,
                format!(
                    "`tokenizer.chat_template` of {name} ({})",
                    file_name(&files.gguf)
                ),
            ),
        };
        let (tokenizer, tokenizer_source) = match &files.tokenizer_json {
            Some(path) => (
                GgufTokenizer::from_tokenizer_json(path)?,
                format!("{}", path.display()),
            ),
            None => (
                GgufTokenizer::from_gguf(&gguf)?,
                format!(
                    "`tokenizer.ggml.*` of {name} ({}), identical ids to llama.cpp",
                    file_name(&files.gguf)
                ),
            ),
        };
        Ok(Self {
            template,
            tokenizer,
            template_source,
            tokenizer_source,
        })
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Options of one run besides the config.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunOptions {
    /// Rebuild even when the manifest says the outputs are up to date.
    pub force: bool,
}

/// A question of an evaluation set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvalQuestion {
    /// Its id (or set and line when it has none).
    pub id: String,
    /// The question.
    pub text: String,
}

/// The evaluation questions and where they came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EvalSets {
    /// Every question.
    pub questions: Vec<EvalQuestion>,
    /// Each set read, in words.
    pub sets: Vec<String>,
    /// What was absent, in words.
    pub notes: Vec<String>,
    /// Content hashes of the files read, by path.
    pub hashes: BTreeMap<String, String>,
}

/// The evaluation questions: the knowledge base's labelled questions and the evaluator's sets,
/// each when present, with notes on what was absent and the content hashes of the files read.
pub fn load_eval_questions(config: &DatasetConfig) -> Result<EvalSets, DatasetError> {
    let mut questions = Vec::new();
    let mut sets = Vec::new();
    let mut notes = Vec::new();
    let mut hashes = BTreeMap::new();
    let questions_dir = config.knowledge_dir.join("questions");
    if questions_dir.is_dir() {
        let sources =
            knowledge::load_sources(&config.knowledge_dir).map_err(|e| DatasetError::EvalSet {
                path: config.knowledge_dir.clone(),
                detail: e.to_string(),
            })?;
        // The questions are used even if an unrelated part of the knowledge base has findings:
        // decontamination must not silently stop because a concept lacks a relation.
        let kb = knowledge::validate(sources).knowledge;
        let n = kb.questions.len();
        for q in kb.questions {
            questions.push(EvalQuestion {
                id: q.id,
                text: q.text,
            });
        }
        for file in sorted_files(&questions_dir, "toml")? {
            hashes.insert(file.display().to_string(), sha256_file(&file)?);
        }
        sets.push(format!(
            "{n} labelled questions of {}",
            questions_dir.display()
        ));
    } else {
        notes.push(format!(
            "no labelled questions at {}: decontamination skips the knowledge base",
            questions_dir.display()
        ));
    }
    for set in &config.eval_sets {
        if !set.is_file() {
            notes.push(format!(
                "no evaluation set at {}: decontamination skips it",
                set.display()
            ));
            continue;
        }
        let text = std::fs::read_to_string(set).map_err(|source| DatasetError::Io {
            operation: "read",
            path: set.clone(),
            source,
        })?;
        let mut n = 0;
        for (line_no, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let value: serde_json::Value =
                serde_json::from_str(line).map_err(|e| DatasetError::EvalSet {
                    path: set.clone(),
                    detail: format!("line {}: {e}", line_no + 1),
                })?;
            let Some(text) = value.get("question").and_then(|q| q.as_str()) else {
                return Err(DatasetError::EvalSet {
                    path: set.clone(),
                    detail: format!("line {}: no string field `question`", line_no + 1),
                });
            };
            let id = match value.get("id") {
                Some(serde_json::Value::String(id)) => id.clone(),
                Some(other) => other.to_string(),
                None => format!("{}:{}", file_name(set), line_no + 1),
            };
            questions.push(EvalQuestion {
                id,
                text: text.to_owned(),
            });
            n += 1;
        }
        hashes.insert(set.display().to_string(), sha256_file(set)?);
        sets.push(format!("{n} questions of {}", set.display()));
    }
    Ok(EvalSets {
        questions,
        sets,
        notes,
        hashes,
    })
}

fn sorted_files(dir: &Path, extension: &str) -> Result<Vec<PathBuf>, DatasetError> {
    let entries = std::fs::read_dir(dir).map_err(|source| DatasetError::Io {
        operation: "list",
        path: dir.to_path_buf(),
        source,
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some(extension))
        .collect();
    files.sort();
    Ok(files)
}

/// How many removed pairs the summary and card show as examples of decontamination.
const MAX_EXAMPLES: usize = 12;

/// A pair removed as contaminated, with the evaluation question it matched.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContaminationExample {
    /// The removed pair's question (first 160 characters).
    pub question: String,
    /// The evaluation question's id.
    pub eval_id: String,
    /// Their Jaccard similarity.
    pub similarity: f64,
}

/// What the run did, printed by the binary.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Summary {
    /// Whether the work was skipped because nothing changed.
    pub up_to_date: bool,
    /// What was absent or skipped, in words.
    pub notes: Vec<String>,
    /// The split seed.
    pub seed: u64,
    /// Pairs read.
    pub rows_in: usize,
    /// Pairs read, by input.
    pub rows_in_by_source: BTreeMap<String, usize>,
    /// Pairs removed, by rule.
    pub removed_by_rule: BTreeMap<String, usize>,
    /// Rows the truncation policy shortened.
    pub truncated: usize,
    /// Rows written, by split.
    pub rows_out: BTreeMap<String, usize>,
    /// Evaluation questions decontamination compared against.
    pub eval_questions: usize,
    /// The evaluation sets, in words.
    pub eval_sets: Vec<String>,
    /// Dedup shingles, in words.
    pub dedup_shingles: String,
    /// Dedup Jaccard threshold.
    pub dedup_threshold: f64,
    /// Dedup LSH layout.
    pub dedup_bands_rows: (usize, usize),
    /// Decontamination shingles, in words.
    pub decontamination_shingles: String,
    /// Decontamination Jaccard threshold.
    pub decontamination_threshold: f64,
    /// Decontamination LSH layout.
    pub decontamination_bands_rows: (usize, usize),
    /// Token limit of a conversation.
    pub max_total_tokens: usize,
    /// The first few pairs removed as contaminated.
    pub contamination_examples: Vec<ContaminationExample>,
    /// Files written (or found up to date).
    pub outputs: Vec<PathBuf>,
    /// Wall-clock seconds of the run.
    pub seconds: f64,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for note in &self.notes {
            writeln!(f, "note: {note}")?;
        }
        if self.up_to_date {
            writeln!(
                f,
                "dataset: up to date (inputs and config unchanged; pass --force to rebuild)"
            )?;
        } else {
            let by_source = self
                .rows_in_by_source
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", ");
            writeln!(f, "rows in: {} ({by_source})", self.rows_in)?;
            let removed: usize = self.removed_by_rule.values().sum();
            writeln!(f, "removed: {removed}")?;
            for (rule, n) in &self.removed_by_rule {
                writeln!(f, "  {rule:<22} {n}")?;
            }
            writeln!(
                f,
                "truncated to {} tokens: {}",
                self.max_total_tokens, self.truncated
            )?;
        }
        let out = SPLITS
            .iter()
            .map(|s| format!("{s} {}", self.rows_out.get(*s).copied().unwrap_or(0)))
            .collect::<Vec<_>>()
            .join(", ");
        writeln!(f, "rows out: {out}")?;
        for path in &self.outputs {
            writeln!(f, "  {}", path.display())?;
        }
        write!(f, "seconds: {:.1}", self.seconds)
    }
}

fn describe(m: &MinHashConfig) -> String {
    let unit = match m.shingle {
        ShingleUnit::Words => "word",
        ShingleUnit::Chars => "character",
    };
    format!("{unit} {}-shingles", m.shingle_size)
}

/// What the config hash covers besides the config itself: the model's template and tokenizer and
/// the files read from outside the artifacts root.
#[derive(Serialize)]
struct FingerprintInput<'a> {
    config: &'a DatasetConfig,
    template_sha256: String,
    tokenizer_sha256: String,
    system_prompt: &'a str,
    external_files: &'a BTreeMap<String, String>,
}

fn sha256_hex(text: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Runs the stage with the model files resolved by the caller.
pub fn run(
    config: &DatasetConfig,
    model_files: &ModelFiles,
    options: RunOptions,
) -> Result<Summary, DatasetError> {
    let started = Instant::now();
    let model = Model::load(model_files)?;
    run_with_model(config, &model, options, started)
}

/// Runs the stage with an already loaded model (tests reuse one across runs).
pub fn run_with_model(
    config: &DatasetConfig,
    model: &Model,
    options: RunOptions,
    started: Instant,
) -> Result<Summary, DatasetError> {
    let root = &config.output_root;
    let mut summary = Summary {
        seed: config.seed,
        dedup_shingles: describe(&config.dedup),
        dedup_threshold: config.dedup.threshold,
        decontamination_shingles: describe(&config.decontamination),
        decontamination_threshold: config.decontamination.threshold,
        max_total_tokens: config.format.max_total_tokens,
        ..Summary::default()
    };

    let mut inputs: Vec<&str> = Vec::new();
    for (enabled, path, what) in [
        (
            config.inputs.cross_validated,
            CROSS_VALIDATED_PATH,
            "the collector",
        ),
        (config.inputs.synth, SYNTH_PATH, "synth"),
    ] {
        if !enabled {
            summary.notes.push(format!("{path} disabled in the config"));
        } else if root.join(path).is_file() {
            inputs.push(path);
        } else {
            summary.notes.push(format!(
                "{} absent: skipped (run {what} first to include it)",
                root.join(path).display()
            ));
        }
    }
    let extra = input::extra_files(&config.extra_dir)?;
    if extra.is_empty() {
        summary.notes.push(format!(
            "no extra Q&A files (*.jsonl, *.parquet) in {}",
            config.extra_dir.display()
        ));
    }
    let EvalSets {
        questions: eval,
        sets: eval_sets,
        notes: eval_notes,
        hashes: mut external,
    } = load_eval_questions(config)?;
    summary.notes.extend(eval_notes);
    summary.eval_questions = eval.len();
    summary.eval_sets = eval_sets;
    for file in &extra {
        external.insert(file.display().to_string(), sha256_file(file)?);
    }

    let fingerprint_input = FingerprintInput {
        config,
        template_sha256: sha256_hex(model.template.source()),
        tokenizer_sha256: sha256_hex(model.tokenizer.to_json()),
        system_prompt: &config.format.system_prompt,
        external_files: &external,
    };
    let fingerprint = StageFingerprint::new(root, STAGE, &fingerprint_input, &inputs)?;
    let mut manifest = Manifest::load(root)?;
    let outputs = split_paths();
    let dedup_index = LshIndex::new(&config.dedup, config.seed);
    let mut decontam_index = LshIndex::new(&config.decontamination, config.seed ^ 0xdec0);
    summary.dedup_bands_rows = dedup_index.bands_rows();
    summary.decontamination_bands_rows = decontam_index.bands_rows();

    if !options.force && root.join(CARD_PATH).is_file() {
        let mut fresh = true;
        for path in &outputs {
            fresh &= manifest
                .freshness(root, path, &fingerprint)?
                .is_up_to_date();
        }
        if fresh {
            summary.up_to_date = true;
            for (split, path) in SPLITS.iter().zip(&outputs) {
                let rows = manifest.entry(path).map_or(0, |e| e.rows as usize);
                summary.rows_out.insert((*split).to_owned(), rows);
                summary.outputs.push(root.join(path));
            }
            summary.outputs.push(root.join(CARD_PATH));
            summary.seconds = started.elapsed().as_secs_f64();
            return Ok(summary);
        }
    }

    // Combine.
    let mut pairs: Vec<Pair> = Vec::new();
    if inputs.contains(&CROSS_VALIDATED_PATH) {
        let posts: Vec<CrossValidatedPost> = read_artifact(root.join(CROSS_VALIDATED_PATH))?;
        let (cv, unanswered) = input::from_cross_validated(&posts, config.inputs.min_answer_score);
        summary
            .rows_in_by_source
            .insert("cross_validated".into(), posts.len());
        if unanswered > 0 {
            summary
                .removed_by_rule
                .insert("no_usable_answer".into(), unanswered);
        }
        pairs.extend(cv);
    }
    if inputs.contains(&SYNTH_PATH) {
        let rows: Vec<QaPair> = read_artifact(root.join(SYNTH_PATH))?;
        summary.rows_in_by_source.insert("synth".into(), rows.len());
        pairs.extend(input::from_synth(&rows));
    }
    for file in &extra {
        let rows = input::from_extra_file(file)?;
        summary
            .rows_in_by_source
            .insert(format!("user:{}", file_name(file)), rows.len());
        pairs.extend(rows);
    }
    summary.rows_in = summary.rows_in_by_source.values().sum();
    let removed = |rule: &str, summary: &mut Summary| {
        *summary.removed_by_rule.entry(rule.to_owned()).or_default() += 1;
    };

    // Clean, then deduplicate (exact, then near) keeping the first pair of each cluster.
    let mut dedup_index = dedup_index;
    let mut exact = HashSet::new();
    let mut kept: Vec<Pair> = Vec::with_capacity(pairs.len());
    for mut pair in pairs {
        pair.question = clean_text(&pair.question);
        pair.answer = clean_text(&pair.answer);
        if let Some(rule) = check_limits(&pair.question, &pair.answer, &config.clean) {
            removed(rule, &mut summary);
            continue;
        }
        let key = stable_hash(&format!(
            "{}\u{1f}{}",
            normalize_for_matching(&pair.question),
            normalize_for_matching(&pair.answer)
        ));
        if !exact.insert(key) {
            removed("exact_duplicate", &mut summary);
            continue;
        }
        let text = match config.dedup.field {
            DedupField::Question => pair.question.clone(),
            DedupField::QuestionAnswer => format!("{}\n{}", pair.question, pair.answer),
        };
        if dedup_index
            .query_or_insert(&text, pair.id.clone())
            .is_some()
        {
            removed("near_duplicate", &mut summary);
            continue;
        }
        kept.push(pair);
    }

    // Split, then decontaminate train and val against the evaluation questions.
    let items: Vec<(&str, &str)> = kept
        .iter()
        .map(|p| (p.source_id.as_str(), p.qa_type.as_str()))
        .collect();
    let assignment = split::assign(&items, &config.split, config.seed);
    for q in &eval {
        decontam_index.insert(&q.text, q.id.clone());
    }
    let mut selected: Vec<&Pair> = Vec::with_capacity(kept.len());
    let mut split_names: Vec<&str> = Vec::with_capacity(kept.len());
    for (pair, &s) in kept.iter().zip(&assignment) {
        if s != 2
            && let Some(m) = contamination(&decontam_index, &pair.question)
        {
            removed("contaminated", &mut summary);
            if summary.contamination_examples.len() < MAX_EXAMPLES {
                summary.contamination_examples.push(ContaminationExample {
                    question: pair.question.chars().take(160).collect(),
                    eval_id: m.label,
                    similarity: (m.similarity * 1000.0).round() / 1000.0,
                });
            }
            continue;
        }
        selected.push(pair);
        split_names.push(SPLITS[s]);
    }

    // Format.
    let formatter = Formatter::new(&model.template, &model.tokenizer, &config.format);
    let formatted = formatter.format_all(&selected, &split_names)?;
    let mut by_split: [Vec<DatasetRow>; 3] = Default::default();
    for f in formatted {
        match f {
            Formatted::Row(row) => {
                summary.truncated += usize::from(row.truncated);
                let s = SPLITS.iter().position(|s| *s == row.split).unwrap_or(0);
                by_split[s].push(row);
            }
            Formatted::Dropped(rule) => removed(rule, &mut summary),
        }
    }

    // Write.
    for ((split, path), rows) in SPLITS.iter().zip(&outputs).zip(&by_split) {
        let written = write_artifact(root.join(path), rows)?;
        manifest.record(root, &written, &fingerprint);
        summary.rows_out.insert((*split).to_owned(), rows.len());
        summary.outputs.push(root.join(path));
    }
    let attributions: BTreeMap<String, Attribution> = selected
        .iter()
        .filter_map(|p| p.attribution.clone().map(|a| (p.source_id.clone(), a)))
        .collect();
    let card_text = card::render(&card::CardInputs {
        splits: [&by_split[0], &by_split[1], &by_split[2]],
        summary: &summary,
        attributions: &attributions,
        template_source: &model.template_source,
        tokenizer_source: &model.tokenizer_source,
        system_prompt: &config.format.system_prompt,
    });
    write_atomic(root.join(CARD_PATH), card_text.as_bytes())?;
    summary.outputs.push(root.join(CARD_PATH));
    manifest.save(root)?;
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

/// The evaluation question that `question`, or its first line (a Cross Validated title), is a
/// near duplicate of, if any.
pub fn contamination(index: &LshIndex, question: &str) -> Option<LshMatch> {
    if index.is_empty() {
        return None;
    }
    index.query(question).or_else(|| {
        question
            .split_once('\n')
            .and_then(|(first, _)| index.query(first))
    })
}
