//! Aggregation and the run report: per-configuration summaries, the targets table, the failures
//! that explain missed targets, `report.md`, `report.html` (SVG plots drawn with plotters:
//! per-category accuracy against the targets, a latency histogram) and `results.parquet` (the
//! `eval.results` artifact, one row per question per configuration).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use artifacts::EvalResult;
use plotters::prelude::*;
use serde::{Deserialize, Serialize};

use crate::config::Targets;
use crate::human::HumanSummary;
use crate::judge::JudgeSummary;
use crate::metrics::{Scores, mean, percentile};

/// Why the report could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// Writing a file failed.
    #[error(
        "writing the evaluation report failed: {source}; check that the output directory is writable"
    )]
    Write {
        /// The cause.
        #[from]
        source: artifacts::ArtifactError,
    },
    /// A summary could not be serialised.
    #[error("serialising the run summary failed: {source}; report it as a bug")]
    Json {
        /// The cause.
        #[from]
        source: serde_json::Error,
    },
    /// A plot could not be drawn.
    #[error("drawing the {plot} plot failed: {message}; report it as a bug")]
    Plot {
        /// Which plot.
        plot: &'static str,
        /// What plotters said.
        message: String,
    },
}

/// Correct out of total.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Tally {
    /// Correct answers.
    pub correct: usize,
    /// Questions.
    pub total: usize,
}

impl Tally {
    /// The share correct (None for no questions).
    pub fn share(&self) -> Option<f64> {
        (self.total > 0).then(|| self.correct as f64 / self.total as f64)
    }
}

/// Every aggregate of one configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigSummary {
    /// The configuration.
    pub configuration: String,
    /// Accuracy on the curated set (all four categories).
    pub overall: Tally,
    /// Per category, multi-hop and multiple choice included.
    pub per_category: BTreeMap<String, Tally>,
    /// Share of calculations with every number right.
    pub numbers_correct: Option<f64>,
    /// Mean key-point coverage.
    pub key_point_coverage: Option<f64>,
    /// Mean ROUGE-L F1.
    pub rouge_l: Option<f64>,
    /// Mean sentence BLEU (0–1).
    pub bleu: Option<f64>,
    /// Relevant citations over all citations (answers weighted by their citations' mean).
    pub citation_accuracy: Option<f64>,
    /// Mean share of supported numbers.
    pub faithfulness: Option<f64>,
    /// Mean multi-hop path recall.
    pub path_recall: Option<f64>,
    /// End-to-end latency p50.
    pub latency_p50_ms: Option<f64>,
    /// End-to-end latency p95.
    pub latency_p95_ms: Option<f64>,
    /// Retrieval latency p50.
    pub retrieval_p50_ms: Option<f64>,
    /// Retrieval latency p95.
    pub retrieval_p95_ms: Option<f64>,
    /// Mean cost per query.
    pub cost_per_query_usd: Option<f64>,
    /// Answers scored.
    pub answers: usize,
}

fn mean_of(scores: &[&Scores], f: impl Fn(&Scores) -> Option<f64>) -> Option<f64> {
    mean(&scores.iter().filter_map(|s| f(s)).collect::<Vec<_>>())
}

const CURATED: &[&str] = &["definition", "calculation", "methodology", "best_practice"];

/// Summarises the scores of each configuration, in first-seen order.
pub fn summarize(scores: &[Scores]) -> Vec<ConfigSummary> {
    let mut order: Vec<&str> = Vec::new();
    for s in scores {
        if !order.contains(&s.configuration.as_str()) {
            order.push(&s.configuration);
        }
    }
    order
        .into_iter()
        .map(|config| {
            let mine: Vec<&Scores> = scores
                .iter()
                .filter(|s| s.configuration == config)
                .collect();
            let mut per_category: BTreeMap<String, Tally> = BTreeMap::new();
            let mut overall = Tally::default();
            for s in &mine {
                let t = per_category.entry(s.category.clone()).or_default();
                t.total += 1;
                t.correct += usize::from(s.correct);
                if CURATED.contains(&s.category.as_str()) {
                    overall.total += 1;
                    overall.correct += usize::from(s.correct);
                }
            }
            let latencies: Vec<f64> = mine.iter().map(|s| s.latency_ms).collect();
            let retrieval: Vec<f64> = mine.iter().filter_map(|s| s.retrieval_ms).collect();
            ConfigSummary {
                configuration: config.to_owned(),
                overall,
                per_category,
                numbers_correct: mean_of(&mine, |s| s.numbers_correct.map(f64::from)),
                key_point_coverage: mean_of(&mine, |s| s.key_point_coverage),
                rouge_l: mean_of(&mine, |s| s.rouge_l),
                bleu: mean_of(&mine, |s| s.bleu),
                citation_accuracy: mean_of(&mine, |s| s.citation_accuracy),
                faithfulness: mean_of(&mine, |s| s.faithfulness),
                path_recall: mean_of(&mine, |s| s.path_recall),
                latency_p50_ms: percentile(&latencies, 50.0),
                latency_p95_ms: percentile(&latencies, 95.0),
                retrieval_p50_ms: percentile(&retrieval, 50.0),
                retrieval_p95_ms: percentile(&retrieval, 95.0),
                cost_per_query_usd: mean_of(&mine, |s| Some(s.cost_usd)),
                answers: mine.len(),
            }
        })
        .collect()
}

/// One target compared with a configuration's value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetCheck {
    /// What is measured.
    pub name: String,
    /// The target, as text (`≥ 80%`, `< 200 ms`).
    pub target: String,
    /// The measured value, as text (`n/a` when not measured).
    pub value: String,
    /// Whether it is met (None when not measured).
    pub met: Option<bool>,
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a".into(), |v| format!("{:.1}%", v * 100.0))
}

fn ms(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a".into(), |v| format!("{v:.0} ms"))
}

fn usd(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a".into(), |v| format!("${v:.5}"))
}

/// Compares one configuration's summary with the targets.
pub fn check_targets(s: &ConfigSummary, t: &Targets) -> Vec<TargetCheck> {
    let at_least = |name: &str, target: f64, value: Option<f64>| TargetCheck {
        name: name.into(),
        target: format!("≥ {:.0}%", target * 100.0),
        value: pct(value),
        met: value.map(|v| v + 1e-12 >= target),
    };
    let below =
        |name: &str, target: f64, value: Option<f64>, fmt: fn(Option<f64>) -> String| TargetCheck {
            name: name.into(),
            target: format!("< {}", fmt(Some(target))),
            value: fmt(value),
            met: value.map(|v| v < target),
        };
    let cat = |c: &str| s.per_category.get(c).and_then(Tally::share);
    vec![
        at_least("overall accuracy (curated)", t.overall, s.overall.share()),
        at_least("definitions", t.definition, cat("definition")),
        at_least("calculations", t.calculation, cat("calculation")),
        at_least("methodology", t.methodology, cat("methodology")),
        at_least("best practices", t.best_practice, cat("best_practice")),
        at_least("multi-hop", t.multi_hop, cat("multi_hop")),
        at_least("multiple choice", t.multiple_choice, cat("multiple_choice")),
        at_least(
            "citation accuracy",
            t.citation_accuracy,
            s.citation_accuracy,
        ),
        below(
            "retrieval latency p95",
            t.retrieval_ms,
            s.retrieval_p95_ms,
            ms,
        ),
        below(
            "end-to-end latency p95",
            t.end_to_end_ms,
            s.latency_p95_ms,
            ms,
        ),
        below(
            "cost per query",
            t.cost_per_query_usd,
            s.cost_per_query_usd,
            usd,
        ),
    ]
}

/// Everything the report shows.
#[derive(Debug, Clone)]
pub struct ReportInput<'a> {
    /// The run id.
    pub run_id: &'a str,
    /// Every score.
    pub scores: &'a [Scores],
    /// The targets.
    pub targets: &'a Targets,
    /// The calibrated threshold and its agreement, for the methods section.
    pub threshold: f32,
    /// Agreement of the threshold with the human labels.
    pub calibration_agreement: f64,
    /// Human ratings per configuration, when imported.
    pub human: &'a [HumanSummary],
    /// The LLM judge's figures per configuration, when it ran.
    pub judge: &'a [JudgeSummary],
    /// Free-form notes (what ran, what was skipped and why).
    pub notes: &'a [String],
}

fn md_escape(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn comparison_rows(summaries: &[ConfigSummary]) -> (Vec<&'static str>, Vec<Vec<String>>) {
    let header = vec![
        "configuration",
        "overall",
        "definition",
        "calculation",
        "methodology",
        "best practice",
        "multi-hop",
        "multiple choice",
        "numbers right",
        "key points",
        "ROUGE-L",
        "BLEU",
        "citations",
        "faithfulness",
        "p50",
        "p95",
        "retrieval p95",
        "cost/query",
    ];
    let rows = summaries
        .iter()
        .map(|s| {
            let cat = |c: &str| s.per_category.get(c).and_then(Tally::share);
            vec![
                s.configuration.clone(),
                pct(s.overall.share()),
                pct(cat("definition")),
                pct(cat("calculation")),
                pct(cat("methodology")),
                pct(cat("best_practice")),
                pct(cat("multi_hop")),
                pct(cat("multiple_choice")),
                pct(s.numbers_correct),
                pct(s.key_point_coverage),
                s.rouge_l.map_or("n/a".into(), |v| format!("{v:.3}")),
                s.bleu.map_or("n/a".into(), |v| format!("{v:.3}")),
                pct(s.citation_accuracy),
                pct(s.faithfulness),
                ms(s.latency_p50_ms),
                ms(s.latency_p95_ms),
                ms(s.retrieval_p95_ms),
                usd(s.cost_per_query_usd),
            ]
        })
        .collect();
    (header, rows)
}

/// Why each incorrect answer failed (wrong numbers, uncovered key points), for the report.
pub fn failure_reason(s: &Scores) -> String {
    let mut parts = Vec::new();
    let wrong: Vec<String> = s
        .numbers
        .iter()
        .filter(|n| !n.correct)
        .map(|n| match n.closest {
            Some(c) => format!("{} expected {} (closest stated {c})", n.name, n.expected),
            None => format!("{} expected {} (no number stated)", n.name, n.expected),
        })
        .collect();
    if !wrong.is_empty() {
        parts.push(format!("wrong numbers: {}", wrong.join("; ")));
    }
    let missed: Vec<&str> = s
        .key_points
        .iter()
        .filter(|k| !k.covered)
        .map(|k| k.point.as_str())
        .collect();
    if !missed.is_empty() {
        parts.push(format!("key points not covered: {}", missed.join("; ")));
    }
    if s.category == "multiple_choice" {
        parts.push(match s.chosen {
            Some(c) => format!("chose {}", (b'A' + c as u8) as char),
            None => "no option recognised in the answer".into(),
        });
    }
    if parts.is_empty() {
        "below the key-point share".into()
    } else {
        parts.join(". ")
    }
}

/// The Markdown report.
pub fn markdown(input: &ReportInput<'_>) -> String {
    let summaries = summarize(input.scores);
    let mut md = String::new();
    let _ = writeln!(md, "# Evaluation report: run `{}`\n", input.run_id);
    let _ = writeln!(
        md,
        "{} answers over {} configuration(s). A curated answer is correct when every expected number is within tolerance and its key-point coverage reaches the configured share; a key point is covered by its keyword rule or by an answer sentence with MiniLM cosine similarity ≥ {:.3} (calibrated on hand-labelled pairs, agreement {:.1}%).\n",
        input.scores.len(),
        summaries.len(),
        input.threshold,
        input.calibration_agreement * 100.0
    );
    for n in input.notes {
        let _ = writeln!(md, "- {n}");
    }
    if !input.notes.is_empty() {
        md.push('\n');
    }
    let _ = writeln!(md, "## Comparison\n");
    let (header, rows) = comparison_rows(&summaries);
    let _ = writeln!(md, "| {} |", header.join(" | "));
    let _ = writeln!(md, "|{}", "---|".repeat(header.len()));
    for r in &rows {
        let cells: Vec<String> = r.iter().map(|c| md_escape(c)).collect();
        let _ = writeln!(md, "| {} |", cells.join(" | "));
    }
    md.push('\n');
    let _ = writeln!(md, "## Targets\n");
    for s in &summaries {
        let _ = writeln!(md, "### {}\n", s.configuration);
        let _ = writeln!(
            md,
            "| metric | target | measured | status |\n|---|---|---|---|"
        );
        for c in check_targets(s, input.targets) {
            let status = match c.met {
                Some(true) => "met",
                Some(false) => "**missed**",
                None => "not measured",
            };
            let _ = writeln!(md, "| {} | {} | {} | {status} |", c.name, c.target, c.value);
        }
        md.push('\n');
    }
    if !input.human.is_empty() {
        let _ = writeln!(md, "## Human ratings\n");
        let _ = writeln!(
            md,
            "| configuration | rated | mean rating | acceptable | automatic correct on rated | agreement with automatic |\n|---|---|---|---|---|---|"
        );
        for h in input.human {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} |",
                h.configuration,
                h.rated,
                h.mean_rating.map_or("n/a".into(), |v| format!("{v:.2}")),
                pct(h.acceptable_share),
                pct(h.automatic_correct_share),
                pct(h.agreement_with_automatic)
            );
        }
        md.push('\n');
    }
    if !input.judge.is_empty() {
        let _ = writeln!(
            md,
            "## LLM judge\n\nA language model's grades with the rubric in `configs/prompts/`, beside the automatic metrics above (which decide accuracy).\n"
        );
        let _ = writeln!(
            md,
            "| configuration | judged | not judged | mean score (1–5) | judge: correct | agreement with automatic | cost |\n|---|---|---|---|---|---|---|"
        );
        for j in input.judge {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} | {} |",
                md_escape(&j.configuration),
                j.judged,
                j.not_judged,
                j.mean_score.map_or("n/a".into(), |v| format!("{v:.2}")),
                pct(j.judge_correct),
                pct(j.agreement_with_automatic),
                usd(Some(j.cost_usd))
            );
        }
        md.push('\n');
    }
    let _ = writeln!(md, "## Why answers failed\n");
    for s in &summaries {
        let failed: Vec<&Scores> = input
            .scores
            .iter()
            .filter(|x| x.configuration == s.configuration && !x.correct)
            .collect();
        let _ = writeln!(md, "### {} ({} incorrect)\n", s.configuration, failed.len());
        for f in failed.iter().take(40) {
            let _ = writeln!(
                md,
                "- `{}` ({}): {}",
                f.question_id,
                f.category,
                md_escape(&failure_reason(f))
            );
        }
        if failed.len() > 40 {
            let _ = writeln!(
                md,
                "- … and {} more (see results.parquet)",
                failed.len() - 40
            );
        }
        md.push('\n');
    }
    md
}

fn plot_err(plot: &'static str) -> impl Fn(String) -> ReportError {
    move |message| ReportError::Plot { plot, message }
}

const PALETTE: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(23, 190, 207),
];

const PLOT_CATEGORIES: &[&str] = &[
    "definition",
    "calculation",
    "methodology",
    "best_practice",
    "multi_hop",
    "multiple_choice",
];

/// Grouped bars of per-category accuracy for each configuration, with the targets as red marks.
pub fn accuracy_svg(summaries: &[ConfigSummary], targets: &Targets) -> Result<String, ReportError> {
    let err = plot_err("accuracy");
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, 420)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(e.to_string()))?;
        let n = PLOT_CATEGORIES.len();
        let mut chart = ChartBuilder::on(&root)
            .caption("Accuracy per category (red: target)", ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d(0f64..n as f64, 0f64..100f64)
            .map_err(|e| err(e.to_string()))?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n * 2 + 1)
            .x_label_formatter(&|x| {
                let i = x.floor() as usize;
                if (x - i as f64 - 0.5).abs() < 1e-6 && i < n {
                    PLOT_CATEGORIES[i].replace('_', " ")
                } else {
                    String::new()
                }
            })
            .y_desc("% correct")
            .draw()
            .map_err(|e| err(e.to_string()))?;
        let k = summaries.len().max(1) as f64;
        let width = 0.8 / k;
        for (j, s) in summaries.iter().enumerate() {
            let color = PALETTE[j % PALETTE.len()];
            let bars: Vec<Rectangle<(f64, f64)>> = PLOT_CATEGORIES
                .iter()
                .enumerate()
                .filter_map(|(i, c)| {
                    let v = s.per_category.get(*c).and_then(Tally::share)?;
                    let x0 = i as f64 + 0.1 + j as f64 * width;
                    Some(Rectangle::new(
                        [(x0, 0.0), (x0 + width * 0.9, v * 100.0)],
                        color.filled(),
                    ))
                })
                .collect();
            chart
                .draw_series(bars)
                .map_err(|e| err(e.to_string()))?
                .label(s.configuration.clone())
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 10, y + 5)], color.filled())
                });
        }
        for (i, c) in PLOT_CATEGORIES.iter().enumerate() {
            if let Some(t) = targets.for_category(c) {
                chart
                    .draw_series(LineSeries::new(
                        [(i as f64 + 0.05, t * 100.0), (i as f64 + 0.95, t * 100.0)],
                        RED.stroke_width(2),
                    ))
                    .map_err(|e| err(e.to_string()))?;
            }
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperRight)
            .draw()
            .map_err(|e| err(e.to_string()))?;
        root.present().map_err(|e| err(e.to_string()))?;
    }
    Ok(svg)
}

/// A histogram of end-to-end latency per configuration (bars side by side in each bin).
pub fn latency_svg(scores: &[Scores], summaries: &[ConfigSummary]) -> Result<String, ReportError> {
    let err = plot_err("latency");
    let max = scores
        .iter()
        .map(|s| s.latency_ms)
        .fold(0.0f64, f64::max)
        .max(1.0);
    let bins = 20usize;
    let step = max / bins as f64;
    let mut counts: Vec<Vec<usize>> = vec![vec![0; bins]; summaries.len()];
    for s in scores {
        if let Some(j) = summaries
            .iter()
            .position(|c| c.configuration == s.configuration)
        {
            let b = ((s.latency_ms / step) as usize).min(bins - 1);
            counts[j][b] += 1;
        }
    }
    let top = counts.iter().flatten().copied().max().unwrap_or(1).max(1) as f64;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, 360)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(e.to_string()))?;
        let mut chart = ChartBuilder::on(&root)
            .caption("End-to-end latency", ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d(0f64..max, 0f64..top * 1.1)
            .map_err(|e| err(e.to_string()))?;
        chart
            .configure_mesh()
            .x_desc("milliseconds")
            .y_desc("answers")
            .draw()
            .map_err(|e| err(e.to_string()))?;
        let k = summaries.len().max(1) as f64;
        for (j, s) in summaries.iter().enumerate() {
            let color = PALETTE[j % PALETTE.len()];
            let w = step / k;
            let bars: Vec<Rectangle<(f64, f64)>> = counts[j]
                .iter()
                .enumerate()
                .filter(|(_, c)| **c > 0)
                .map(|(b, c)| {
                    let x0 = b as f64 * step + j as f64 * w;
                    Rectangle::new([(x0, 0.0), (x0 + w * 0.9, *c as f64)], color.filled())
                })
                .collect();
            chart
                .draw_series(bars)
                .map_err(|e| err(e.to_string()))?
                .label(s.configuration.clone())
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 10, y + 5)], color.filled())
                });
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(|e| err(e.to_string()))?;
        root.present().map_err(|e| err(e.to_string()))?;
    }
    Ok(svg)
}

/// Escapes text for HTML.
pub fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The HTML report: the plots inline, the comparison table and the targets.
pub fn html(input: &ReportInput<'_>) -> Result<String, ReportError> {
    let summaries = summarize(input.scores);
    let mut h = String::new();
    let _ = write!(
        h,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Evaluation {}</title>\n<style>body{{font-family:sans-serif;margin:2em;max-width:1200px}}table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}}td:first-child,th:first-child{{text-align:left}}.missed{{color:#b00;font-weight:bold}}.met{{color:#070}}</style></head><body>\n",
        html_escape(input.run_id)
    );
    let _ = writeln!(
        h,
        "<h1>Evaluation report: run {}</h1>",
        html_escape(input.run_id)
    );
    let _ = writeln!(
        h,
        "<p>{} answers over {} configuration(s). Key-point threshold {:.3} (calibration agreement {:.1}%).</p>",
        input.scores.len(),
        summaries.len(),
        input.threshold,
        input.calibration_agreement * 100.0
    );
    if !input.notes.is_empty() {
        h.push_str("<ul>");
        for n in input.notes {
            let _ = write!(h, "<li>{}</li>", html_escape(n));
        }
        h.push_str("</ul>\n");
    }
    h.push_str(&accuracy_svg(&summaries, input.targets)?);
    h.push('\n');
    h.push_str(&latency_svg(input.scores, &summaries)?);
    h.push_str("\n<h2>Comparison</h2>\n<table><tr>");
    let (header, rows) = comparison_rows(&summaries);
    for c in header {
        let _ = write!(h, "<th>{}</th>", html_escape(c));
    }
    h.push_str("</tr>\n");
    for r in rows {
        h.push_str("<tr>");
        for c in r {
            let _ = write!(h, "<td>{}</td>", html_escape(&c));
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</table>\n<h2>Targets</h2>\n");
    for s in &summaries {
        let _ = writeln!(
            h,
            "<h3>{}</h3><table><tr><th>metric</th><th>target</th><th>measured</th><th>status</th></tr>",
            html_escape(&s.configuration)
        );
        for c in check_targets(s, input.targets) {
            let (class, status) = match c.met {
                Some(true) => ("met", "met"),
                Some(false) => ("missed", "missed"),
                None => ("", "not measured"),
            };
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"{class}\">{status}</td></tr>",
                html_escape(&c.name),
                html_escape(&c.target),
                html_escape(&c.value)
            );
        }
        h.push_str("</table>\n");
    }
    if !input.human.is_empty() {
        h.push_str("<h2>Human ratings</h2><table><tr><th>configuration</th><th>rated</th><th>mean rating</th><th>acceptable</th><th>agreement with automatic</th></tr>\n");
        for r in input.human {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                html_escape(&r.configuration),
                r.rated,
                r.mean_rating.map_or("n/a".into(), |v| format!("{v:.2}")),
                pct(r.acceptable_share),
                pct(r.agreement_with_automatic)
            );
        }
        h.push_str("</table>\n");
    }
    if !input.judge.is_empty() {
        h.push_str("<h2>LLM judge</h2><table><tr><th>configuration</th><th>judged</th><th>not judged</th><th>mean score</th><th>judge: correct</th><th>agreement with automatic</th></tr>\n");
        for j in input.judge {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                html_escape(&j.configuration),
                j.judged,
                j.not_judged,
                j.mean_score.map_or("n/a".into(), |v| format!("{v:.2}")),
                pct(j.judge_correct),
                pct(j.agreement_with_automatic)
            );
        }
        h.push_str("</table>\n");
    }
    h.push_str("</body></html>\n");
    Ok(h)
}

/// The question and answer texts the results rows carry, by (configuration, question id).
pub type Texts = BTreeMap<(String, String), (String, String)>;

/// The `eval.results` rows of a run.
pub fn result_rows(
    run_id: &str,
    scores: &[Scores],
    texts: &Texts,
    tokens: &BTreeMap<(String, String), (i64, i64)>,
) -> Vec<EvalResult> {
    scores
        .iter()
        .map(|s| {
            let key = (s.configuration.clone(), s.question_id.clone());
            let (question, answer) = texts.get(&key).cloned().unwrap_or_default();
            let (prompt_tokens, completion_tokens) = tokens.get(&key).copied().unwrap_or((0, 0));
            EvalResult {
                run_id: run_id.to_owned(),
                configuration: s.configuration.clone(),
                question_id: s.question_id.clone(),
                category: s.category.clone(),
                question,
                answer,
                correct: s.correct,
                numbers_correct: s.numbers_correct,
                key_point_coverage: s.key_point_coverage,
                rouge_l: s.rouge_l,
                bleu: s.bleu,
                citation_accuracy: s.citation_accuracy,
                faithfulness: s.faithfulness,
                latency_ms: s.latency_ms,
                prompt_tokens,
                completion_tokens,
                cost_usd: s.cost_usd,
            }
        })
        .collect()
}

/// The files a run writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunFiles {
    /// `report.md`.
    pub markdown: PathBuf,
    /// `report.html`.
    pub html: PathBuf,
    /// `results.parquet`.
    pub results: PathBuf,
    /// `scores.json` (every per-answer detail).
    pub scores: PathBuf,
    /// `summary.json`.
    pub summary: PathBuf,
}

/// Writes `report.md`, `report.html`, `results.parquet`, `scores.json` and `summary.json` into
/// `dir`, each atomically.
pub fn write_run(
    dir: &Path,
    input: &ReportInput<'_>,
    rows: &[EvalResult],
) -> Result<RunFiles, ReportError> {
    let files = RunFiles {
        markdown: dir.join("report.md"),
        html: dir.join("report.html"),
        results: dir.join("results.parquet"),
        scores: dir.join("scores.json"),
        summary: dir.join("summary.json"),
    };
    artifacts::write_artifact(&files.results, rows)?;
    artifacts::write_atomic(&files.markdown, markdown(input).as_bytes())?;
    artifacts::write_atomic(&files.html, html(input)?.as_bytes())?;
    let scores = serde_json::to_vec_pretty(input.scores)?;
    artifacts::write_atomic(&files.scores, &scores)?;
    let summary = serde_json::to_vec_pretty(&summarize(input.scores))?;
    artifacts::write_atomic(&files.summary, &summary)?;
    Ok(files)
}
