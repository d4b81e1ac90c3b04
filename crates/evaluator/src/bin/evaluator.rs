//! `evaluator`: checks the sets, calibrates the key-point threshold, scores answers into a run
//! report, and exports and imports human rating sheets.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use evaluator::metrics::KeyPointMatcher;
use evaluator::report::{ReportInput, result_rows, write_run};
use evaluator::{AnswerRecord, EvaluatorConfig, ScoreSettings, Sets};
use graphrag::embed::{MiniLm, ModelPaths};

#[derive(Parser)]
#[command(
    name = "evaluator",
    about = "Evaluation sets, metrics and reports for Lift"
)]
struct Cli {
    /// The evaluator configuration.
    #[arg(long, default_value = "configs/evaluator.toml")]
    config: PathBuf,
    /// Overrides the config's `output_root` (where runs are written and read).
    #[arg(long)]
    output_root: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Validates the sets, checks them against the knowledge base and recomputes every expected
    /// number with the calculator.
    CheckSets,
    /// Chooses the key-point threshold on keypoint_calibration.jsonl with the embedding model.
    Calibrate {
        /// Also write the threshold and agreement into the config file.
        #[arg(long)]
        write: bool,
    },
    /// Runs one calculator call written as a set item's `calc` ({"kind", "params"}) and prints
    /// its outputs as JSON, for writing calculation items.
    Calc {
        /// The call, as JSON.
        json: String,
    },
    /// Writes answer records that repeat the reference answers (the metrics' ceiling).
    ReferenceAnswers {
        /// Output JSON lines.
        #[arg(long)]
        out: PathBuf,
        /// Configuration name of the records.
        #[arg(long, default_value = "reference")]
        configuration: String,
    },
    /// Scores answer records (JSON lines of AnswerRecord) and writes eval/<run>/.
    Score {
        /// Answer records, JSON lines; several files are concatenated.
        #[arg(long, required = true)]
        answers: Vec<PathBuf>,
        /// The run id (directory under the output root).
        #[arg(long)]
        run: String,
        /// Apply only the keyword rules (no embedding model).
        #[arg(long)]
        keywords_only: bool,
    },
    /// Exports the critical questions of a scored run to rate.csv and rate.html.
    HumanExport {
        /// The run id.
        #[arg(long)]
        run: String,
    },
    /// Grades a scored run's curated and multi-hop answers with the LLM judge ([judge] in the
    /// config) and rewrites its report with the judge's figures beside the automatic ones.
    Judge {
        /// The run id.
        #[arg(long)]
        run: String,
        /// The `llm` config (prices, rate limits, retries).
        #[arg(long, default_value = "configs/llm.toml")]
        llm_config: PathBuf,
        /// Print how many calls it would make and their most cost, and call nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Imports a filled-in rating sheet and rewrites the run's report with the ratings.
    HumanImport {
        /// The run id.
        #[arg(long)]
        run: String,
        /// The filled-in CSV.
        #[arg(long)]
        ratings: PathBuf,
    },
}

fn load_embedder() -> anyhow::Result<MiniLm> {
    let cache = assets::AssetCache::from_env().context("locating the asset cache")?;
    let files = cache
        .embedding_model()
        .context("the embedding model is not installed; run `cargo xtask setup`")?;
    let onnxruntime = cache
        .onnxruntime_library()
        .context("ONNX Runtime is not installed; run `cargo xtask setup`")?;
    let paths = ModelPaths {
        onnx: files.onnx,
        tokenizer: files.tokenizer,
        config: files.config,
        special_tokens_map: files.special_tokens_map,
        tokenizer_config: files.tokenizer_config,
        onnxruntime,
    };
    MiniLm::load(&paths, 2, 64).context("loading the MiniLM embedding model")
}

fn load_sets(config: &EvaluatorConfig) -> anyhow::Result<Sets> {
    evaluator::sets::load(&config.sets_dir).map_err(|e| {
        if let evaluator::sets::SetError::Invalid { problems } = &e {
            for p in problems {
                eprintln!("{p}");
            }
        }
        anyhow::Error::new(e)
    })
}

/// Reads a JSON-lines file of `T` (blank lines skipped); `what` names `T` in errors.
fn read_jsonl<T: serde::de::DeserializeOwned>(path: &Path, what: &str) -> anyhow::Result<Vec<T>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        out.push(
            serde_json::from_str(line)
                .with_context(|| format!("{}:{}: not {what}", path.display(), i + 1))?,
        );
    }
    Ok(out)
}

fn read_records(paths: &[PathBuf]) -> anyhow::Result<Vec<AnswerRecord>> {
    let mut out = Vec::new();
    for path in paths {
        out.extend(read_jsonl(
            path,
            "an AnswerRecord (see data/eval/README.md)",
        )?);
    }
    Ok(out)
}

fn write_jsonl<T: serde::Serialize>(path: &Path, rows: &[T]) -> anyhow::Result<()> {
    let mut text = String::new();
    for r in rows {
        text.push_str(&serde_json::to_string(r)?);
        text.push('\n');
    }
    artifacts::write_atomic(path, text.as_bytes())?;
    Ok(())
}

fn check_sets(config: &EvaluatorConfig) -> anyhow::Result<()> {
    let sets = load_sets(config)?;
    let kb = knowledge::load(&config.knowledge_dir)
        .with_context(|| format!("loading {}", config.knowledge_dir.display()))?
        .into_result()
        .map_err(|f| {
            anyhow::anyhow!(
                "the knowledge base has {} finding(s); run `cargo xtask validate-knowledge`",
                f.len()
            )
        })?;
    let mut problems = evaluator::sets::check_against_knowledge(&sets, &config.sets_dir, &kb);
    problems.extend(evaluator::sets::check_calculations(&sets, &config.sets_dir));
    for p in &problems {
        eprintln!("{p}");
    }
    let mut counts = std::collections::BTreeMap::<String, usize>::new();
    for i in &sets.curated {
        *counts.entry(i.category.to_string()).or_default() += 1;
    }
    println!(
        "curated {} ({}), multi-hop {}, multiple choice {}, calibration pairs {}",
        sets.curated.len(),
        counts
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", "),
        sets.multihop.len(),
        sets.multiple_choice.len(),
        sets.calibration.len()
    );
    if !problems.is_empty() {
        bail!(
            "{} problem(s) in the sets; fix the lines above",
            problems.len()
        );
    }
    println!("all sets valid; every expected number matches the calculator");
    Ok(())
}

fn calibrate(config_path: &Path, config: &EvaluatorConfig, write: bool) -> anyhow::Result<()> {
    let sets = load_sets(config)?;
    let model = load_embedder()?;
    let matcher = KeyPointMatcher::new(&model, config.key_points.threshold);
    let pairs: Vec<(&str, &str)> = sets
        .calibration
        .iter()
        .map(|p| (p.sentence.as_str(), p.key_point.as_str()))
        .collect();
    let sims = matcher.pair_similarities(&pairs)?;
    let labels: Vec<bool> = sets.calibration.iter().map(|p| p.covered).collect();
    let c = evaluator::calibrate::calibrate(&sims, &labels)
        .context("the calibration set is empty; add pairs to keypoint_calibration.jsonl")?;
    println!("{}", serde_json::to_string_pretty(&c)?);
    if write {
        let text = std::fs::read_to_string(config_path)?;
        let text = evaluator::config::with_calibration(&text, c.threshold, c.agreement).context(
            "configs/evaluator.toml lacks `threshold =` or `calibration_agreement =` lines",
        )?;
        // Validate before replacing the file.
        EvaluatorConfig::parse(&text, config_path)?;
        artifacts::write_atomic(config_path, text.as_bytes())?;
        println!(
            "wrote threshold {:.4} to {}",
            c.threshold,
            config_path.display()
        );
    }
    Ok(())
}

fn score(
    config: &EvaluatorConfig,
    answers: &[PathBuf],
    run: &str,
    keywords_only: bool,
) -> anyhow::Result<()> {
    let sets = load_sets(config)?;
    let records = read_records(answers)?;
    let model = if keywords_only {
        None
    } else {
        Some(load_embedder()?)
    };
    let matcher = match &model {
        Some(m) => KeyPointMatcher::new(m, config.key_points.threshold),
        None => KeyPointMatcher::keywords_only(),
    };
    let settings = ScoreSettings {
        key_point_share: config.key_points.share,
    };
    let scored = evaluator::score_all(&sets, &records, &matcher, &settings)?;
    let dir = config.output_root.join(run);
    write_jsonl(&dir.join("answers.jsonl"), &records)?;
    let mut notes = Vec::new();
    if keywords_only {
        notes.push(
            "key points judged by keyword rules only (--keywords-only): coverage is a lower bound"
                .to_owned(),
        );
    }
    let total = sets.curated.len() + sets.multihop.len() + sets.multiple_choice.len();
    let configs: BTreeSet<&str> = records.iter().map(|r| r.configuration.as_str()).collect();
    for c in &configs {
        let n = records.iter().filter(|r| r.configuration == *c).count();
        if n < total {
            notes.push(format!(
                "{c}: {n} of {total} questions answered; the others are not scored"
            ));
        }
    }
    let input = ReportInput {
        run_id: run,
        scores: &scored.scores,
        targets: &config.targets,
        threshold: config.key_points.threshold,
        calibration_agreement: config.key_points.calibration_agreement,
        human: &[],
        // New answers: any earlier judge grades of this run are stale (rerun `evaluator judge`).
        judge: &[],
        notes: &notes,
    };
    let rows = result_rows(run, &scored.scores, &scored.texts, &scored.tokens);
    let files = write_run(&dir, &input, &rows)?;
    for s in evaluator::report::summarize(&scored.scores) {
        println!(
            "{}: overall {}/{} correct, {} answers",
            s.configuration, s.overall.correct, s.overall.total, s.answers
        );
    }
    println!(
        "wrote {} and {}",
        files.markdown.display(),
        files.results.display()
    );
    Ok(())
}

fn read_scores(dir: &Path) -> anyhow::Result<Vec<evaluator::Scores>> {
    let path = dir.join("scores.json");
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "reading {}; run `evaluator score` for this run first",
            path.display()
        )
    })?;
    Ok(serde_json::from_str(&text)?)
}

fn human_export(config: &EvaluatorConfig, run: &str) -> anyhow::Result<()> {
    let sets = load_sets(config)?;
    let dir = config.output_root.join(run);
    let records = read_records(&[dir.join("answers.jsonl")])?;
    let critical: std::collections::BTreeMap<&str, &evaluator::Item> = sets
        .curated
        .iter()
        .chain(&sets.multihop)
        .filter(|i| i.critical)
        .map(|i| (i.id.as_str(), i))
        .collect();
    let rows: Vec<evaluator::human::SheetRow> = records
        .iter()
        .filter_map(|r| {
            let item = critical.get(r.question_id.as_str())?;
            Some(evaluator::human::SheetRow {
                question_id: r.question_id.clone(),
                configuration: r.configuration.clone(),
                category: item.category.to_string(),
                question: item.question.clone(),
                reference_answer: item.reference_answer.clone(),
                answer: r.answer_text.clone(),
                rating: String::new(),
                comment: String::new(),
            })
        })
        .collect();
    evaluator::human::export(&rows, &dir.join("rate.csv"), &dir.join("rate.html"))?;
    println!(
        "wrote {} rows to {} (rate {}–{}, {}+ is acceptable)",
        rows.len(),
        dir.join("rate.csv").display(),
        config.human.rating_min,
        config.human.rating_max,
        config.human.acceptable_from
    );
    Ok(())
}

fn human_import(config: &EvaluatorConfig, run: &str, ratings: &Path) -> anyhow::Result<()> {
    let dir = config.output_root.join(run);
    let scores = read_scores(&dir)?;
    let records = read_records(&[dir.join("answers.jsonl")])?;
    let known: BTreeSet<(String, String)> = scores
        .iter()
        .map(|s| (s.configuration.clone(), s.question_id.clone()))
        .collect();
    let rs = evaluator::human::import(ratings, &config.human, &known)?;
    let human = evaluator::human::summarize(&rs, &scores, &config.human);
    write_jsonl(&dir.join("human.jsonl"), &rs)?;
    let sets = load_sets(config)?;
    let matcher = KeyPointMatcher::keywords_only();
    // The texts for the results rows come from the stored answers; scores are not recomputed.
    let scored = evaluator::score_all(&sets, &records, &matcher, &ScoreSettings::default())?;
    let notes = vec![format!(
        "{} human ratings imported from {}",
        rs.len(),
        ratings.display()
    )];
    let input = ReportInput {
        run_id: run,
        scores: &scores,
        targets: &config.targets,
        threshold: config.key_points.threshold,
        calibration_agreement: config.key_points.calibration_agreement,
        human: &human,
        judge: &stored_judge(&dir, &scores)?,
        notes: &notes,
    };
    let rows = result_rows(run, &scores, &scored.texts, &scored.tokens);
    write_run(&dir, &input, &rows)?;
    for h in &human {
        println!(
            "{}: {} rated, mean {}",
            h.configuration,
            h.rated,
            h.mean_rating.map_or("n/a".into(), |m| format!("{m:.2}"))
        );
    }
    Ok(())
}

/// The judge's summaries of a run, when `evaluator judge` has graded it.
fn stored_judge(
    dir: &Path,
    scores: &[evaluator::Scores],
) -> anyhow::Result<Vec<evaluator::judge::JudgeSummary>> {
    let path = dir.join("judge.jsonl");
    if !path.is_file() {
        return Ok(Vec::new());
    }
    let outcomes: Vec<evaluator::judge::Outcome> = read_jsonl(&path, "a judge outcome")?;
    Ok(evaluator::judge::summarize(&outcomes, scores))
}

/// The human summaries of a run, when ratings were imported.
fn stored_human(
    config: &EvaluatorConfig,
    dir: &Path,
    scores: &[evaluator::Scores],
) -> anyhow::Result<Vec<evaluator::human::HumanSummary>> {
    let path = dir.join("human.jsonl");
    if !path.is_file() {
        return Ok(Vec::new());
    }
    let ratings: Vec<evaluator::human::Rating> = read_jsonl(&path, "a rating")?;
    Ok(evaluator::human::summarize(&ratings, scores, &config.human))
}

fn judge(
    config: &EvaluatorConfig,
    llm_config: &Path,
    run: &str,
    dry_run: bool,
) -> anyhow::Result<()> {
    use evaluator::judge::{JudgeSettings, Rubric, build_model, judge_all, summarize};
    let dir = config.output_root.join(run);
    let scores = read_scores(&dir)?;
    let records = read_records(&[dir.join("answers.jsonl")])?;
    let sets = load_sets(config)?;
    let items: std::collections::BTreeMap<String, &evaluator::Item> = sets
        .curated
        .iter()
        .chain(sets.multihop.iter())
        .map(|i| (i.id.clone(), i))
        .collect();
    let rubric = Rubric::load(&config.judge.rubric)?;
    let llm_config = llm::LlmConfig::load(llm_config)?;
    let j = &config.judge;
    let gradable = records
        .iter()
        .filter(|r| items.contains_key(&r.question_id))
        .count();
    if dry_run {
        let price = llm_config.prices.price(&j.model);
        // The most a call can cost: a generous prompt estimate plus every reply token, twice
        // (the reply and one repair).
        let per_call = price.map(|p| 2.0 * p.cost(2_000, u64::from(j.max_tokens)));
        println!(
            "judge dry run: {gradable} answers to grade with {} ({}), at most {} calls; most cost {}; budget ${:.2}",
            j.model,
            j.provider,
            2 * gradable,
            per_call.map_or(
                "unknown (no price for this model in the llm config)".into(),
                |c| format!("${:.4}", c * gradable as f64)
            ),
            j.max_usd
        );
        return Ok(());
    }
    let key_var = if j.provider == "anthropic" {
        llm::ANTHROPIC_API_KEY_ENV
    } else {
        "LIFT_JUDGE_API_KEY"
    };
    let key = std::env::var(key_var)
        .ok()
        .filter(|k| !k.trim().is_empty())
        .map(llm::ApiKey::new);
    if key.is_none() && j.provider == "anthropic" {
        bail!(
            "the judge uses Anthropic but {key_var} is not set; set it, or point [judge] at an OpenAI-compatible server"
        );
    }
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let settings = JudgeSettings::for_config(j);
    let (outcomes, spent) = runtime.block_on(async {
        let (model, budget) = build_model(j, &llm_config, key)?;
        let outcomes = judge_all(model.as_ref(), &rubric, &items, &records, settings).await;
        anyhow::Ok((outcomes, budget.summary()))
    })?;
    write_jsonl(&dir.join("judge.jsonl"), &outcomes)?;
    let judge = summarize(&outcomes, &scores);
    let human = stored_human(config, &dir, &scores)?;
    let matcher = KeyPointMatcher::keywords_only();
    let scored = evaluator::score_all(&sets, &records, &matcher, &ScoreSettings::default())?;
    let notes = vec![format!(
        "LLM judge: {} with rubric {}; {gradable} answers gradable; spent ${:.4} of ${:.2}",
        j.model, rubric.version, spent.spent_usd, j.max_usd
    )];
    let input = ReportInput {
        run_id: run,
        scores: &scores,
        targets: &config.targets,
        threshold: config.key_points.threshold,
        calibration_agreement: config.key_points.calibration_agreement,
        human: &human,
        judge: &judge,
        notes: &notes,
    };
    let rows = result_rows(run, &scores, &scored.texts, &scored.tokens);
    write_run(&dir, &input, &rows)?;
    for s in &judge {
        println!(
            "{}: {} judged, {} not; mean score {}",
            s.configuration,
            s.judged,
            s.not_judged,
            s.mean_score.map_or("n/a".into(), |m| format!("{m:.2}"))
        );
    }
    Ok(())
}

fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let mut config = EvaluatorConfig::load(&cli.config)?;
    if let Some(root) = &cli.output_root {
        config.output_root = root.clone();
    }
    match cli.command {
        Command::CheckSets => check_sets(&config),
        Command::Calibrate { write } => calibrate(&cli.config, &config, write),
        Command::Calc { json } => {
            let value: serde_json::Value =
                serde_json::from_str(&json).context("the calc is not valid JSON")?;
            let calc = evaluator::calc::Calc::from_value(&value)
                .map_err(|e| anyhow::anyhow!("{e}; see data/eval/README.md for the kinds"))?;
            let out = calc.compute().context("the calculator refused the call")?;
            println!("{}", serde_json::to_string_pretty(&out)?);
            Ok(())
        }
        Command::ReferenceAnswers { out, configuration } => {
            let sets = load_sets(&config)?;
            write_jsonl(&out, &evaluator::reference_records(&sets, &configuration))?;
            println!("wrote {}", out.display());
            Ok(())
        }
        Command::Score {
            answers,
            run,
            keywords_only,
        } => score(&config, &answers, &run, keywords_only),
        Command::HumanExport { run } => human_export(&config, &run),
        Command::HumanImport { run, ratings } => human_import(&config, &run, &ratings),
        Command::Judge {
            run,
            llm_config,
            dry_run,
        } => judge(&config, &llm_config, &run, dry_run),
    }
}

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
