//! The structured answer, written without the language model: the calculator's result with its
//! formula and assumptions, what is missing, definitions and relation paths from the graph,
//! passages from documents and the playbook, and the numbered sources. It stands on its own, so
//! the answer is correct even when the small model's explanation adds nothing.

use crate::answer::{CitationKind, EntityMention, MissingInput};
use crate::calculate::Calculation;
use crate::context::{Context, ContextItem};
use crate::understand::{Intent, Understanding};

/// What the structured answer is made from.
#[derive(Debug)]
pub struct Parts<'a> {
    /// The question's intent.
    pub intent: Intent,
    /// The calculation, when one ran.
    pub calculation: Option<&'a Calculation>,
    /// Required inputs not given.
    pub missing: &'a [MissingInput],
    /// The numbered context.
    pub context: &'a Context,
    /// Concepts named in the question.
    pub entities: &'a [EntityMention],
    /// Definitions to write out.
    pub definitions_shown: usize,
}

/// What the answer must ask for.
pub fn missing_inputs(understanding: &Understanding) -> Vec<MissingInput> {
    understanding
        .missing
        .iter()
        .map(|m| MissingInput {
            name: m.name.as_str().to_owned(),
            question: m.question.clone(),
        })
        .collect()
}

const SCOPE: &str = "I answer questions about experimentation: statistics (confidence \
intervals, p-values, significance, power), experiment design (sample size, duration, metrics), \
analysis (hypothesis tests, CUPED, multiple-testing corrections, sequential testing, sample-ratio \
mismatch) and our own experimentation practices. This question looks outside that scope, so I \
will not guess. You could ask, for example: \"What sample size do I need to detect a 5% relative \
lift on a 10% baseline?\"";

/// The structured answer in Markdown: the body (result, definitions, passages) and the
/// numbered sources, kept apart so the explanation can sit between them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Structured {
    /// Everything but the sources.
    pub body: String,
    /// The `**Sources:**` list (empty without citations).
    pub sources: String,
}

impl Structured {
    /// Body and sources together.
    pub fn joined(&self) -> String {
        join(&self.body, &self.sources)
    }
}

fn join(a: &str, b: &str) -> String {
    match (a.trim().is_empty(), b.trim().is_empty()) {
        (_, true) => a.trim_end().to_owned(),
        (true, false) => b.trim_end().to_owned(),
        (false, false) => format!("{}\n\n{}", a.trim_end(), b.trim_end()),
    }
}

/// Writes the structured answer.
pub fn structured(p: &Parts<'_>) -> Structured {
    if p.intent == Intent::OutOfScope {
        return Structured {
            body: SCOPE.to_owned(),
            sources: String::new(),
        };
    }
    let mut md = String::new();
    if let Some(calc) = p.calculation {
        md.push_str(result_sentence(calc));
        md.push_str("\n\n");
        if !calc.formula.trim().is_empty() {
            md.push_str(&format!("**Formula:** `{}`\n\n", calc.formula.trim()));
        }
        if !calc.assumptions.is_empty() {
            md.push_str("**Assumptions:**\n");
            for a in &calc.assumptions {
                md.push_str(&format!("- {}\n", a.trim()));
            }
            md.push('\n');
        }
    }
    if !p.missing.is_empty() {
        md.push_str("**To calculate this I need:**\n");
        for m in p.missing {
            md.push_str(&format!("- {}\n", m.question.trim()));
        }
        md.push('\n');
    }

    let ctx = p.context;
    let paths: Vec<&ContextItem> = ctx
        .items
        .iter()
        .filter(|i| i.kind == CitationKind::Relation)
        .collect();
    let wants_paths = matches!(p.intent, Intent::MultiHop | Intent::Comparison)
        || (p.calculation.is_none() && !paths.is_empty());
    if wants_paths && !paths.is_empty() {
        md.push_str("**How they connect:**\n");
        for item in paths.iter().take(2) {
            for line in item.text.lines().filter(|l| !l.trim().is_empty()) {
                md.push_str(&format!("- {} [{}]\n", line.trim(), item.marker));
            }
        }
        md.push('\n');
    }

    // Definitions: the concepts the question names first, then the best-ranked others.
    let wanted = match p.intent {
        Intent::Comparison => p.definitions_shown.max(2),
        Intent::Calculation | Intent::Analysis => 1,
        _ => p.definitions_shown,
    };
    let mut definitions: Vec<&ContextItem> = Vec::new();
    for e in p.entities {
        if let Some(item) = ctx
            .items
            .iter()
            .find(|i| i.kind == CitationKind::Concept && i.item == format!("concept:{}", e.id))
            && !definitions.contains(&item)
        {
            definitions.push(item);
        }
    }
    for item in ctx.items.iter().filter(|i| i.kind == CitationKind::Concept) {
        if !definitions.contains(&item) {
            definitions.push(item);
        }
    }
    for item in definitions.into_iter().take(wanted) {
        md.push_str(&format!(
            "**{}**: {} [{}]\n\n",
            item.title.trim(),
            item.text.trim(),
            item.marker
        ));
    }

    // A passage from the playbook, a post or a paper, when one ranked in.
    let passage = ctx.items.iter().find(|i| {
        matches!(
            i.kind,
            CitationKind::Playbook | CitationKind::Post | CitationKind::Paper | CitationKind::Chunk
        )
    });
    if let Some(item) = passage {
        let label = match item.kind {
            CitationKind::Playbook => "Our playbook",
            CitationKind::Post => "From Cross Validated",
            CitationKind::Paper => "From the literature",
            _ => "From our documents",
        };
        md.push_str(&format!(
            "**{label}** ({}): {} [{}]\n\n",
            item.title.trim(),
            crate::context::shorten(&item.text, 400),
            item.marker
        ));
    }

    if md.trim().is_empty() {
        md.push_str(
            "I found nothing in the knowledge base that answers this. Try naming the method or \
             metric you mean (for example \"CUPED\" or \"sample ratio mismatch\").\n\n",
        );
    }
    let mut sources = String::new();
    if !ctx.citations.is_empty() {
        sources.push_str("**Sources:**\n");
        for c in &ctx.citations {
            let mut line = format!("[{}] {}", c.id, c.title.trim());
            if let Some(s) = c.source.as_deref().filter(|s| *s != c.title) {
                line.push_str(&format!(", {s}"));
            }
            if let Some(u) = &c.url {
                line.push_str(&format!(" <{u}>"));
            }
            sources.push_str(&line);
            sources.push('\n');
        }
    }
    Structured {
        body: md.trim_end().to_owned(),
        sources: sources.trim_end().to_owned(),
    }
}

/// The calculator's result sentence; the answer lists the assumptions as bullets after it.
pub fn result_sentence(calc: &Calculation) -> &str {
    calc.result.trim()
}

/// Reasoning steps: a calculation's inputs → formula → result, else the relation steps walked.
pub fn reasoning(calculation: Option<&Calculation>, ctx: &Context) -> Vec<String> {
    if let Some(c) = calculation {
        return c.steps.clone();
    }
    ctx.items
        .iter()
        .filter(|i| i.kind == CitationKind::Relation)
        .flat_map(|i| {
            i.text
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| format!("{} [{}]", l.trim(), i.marker))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The body, the checked explanation, then the sources.
pub fn full_answer(structured: &Structured, explanation: &str, model: &str) -> String {
    if explanation.trim().is_empty() {
        return structured.joined();
    }
    let body = format!(
        "{}\n\n**Explanation** (written by {model}; its numbers were checked against the \
         calculator and the sources):\n\n{}",
        structured.body.trim_end(),
        explanation.trim()
    );
    join(&body, &structured.sources)
}
