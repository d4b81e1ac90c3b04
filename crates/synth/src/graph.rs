//! Generator 2: pairs built from the knowledge graph, without a language model. Questions come
//! from varied templates chosen by seed; answers only recombine the curated text of the concepts,
//! edges and playbook sections they name, so they are correct by construction.

use std::collections::BTreeMap;

use knowledge::{Concept, KnowledgeBase, Relation, RelationKind, Sign};
use rand::SeedableRng;
use rand::seq::{IndexedRandom, SliceRandom};
use rand_chacha::ChaCha8Rng;

use crate::Candidate;
use crate::config::GraphConfig;

const DEFINITION: &[&str] = &[
    "What is {name} in the context of A/B testing and online experiments?",
    "Can you explain what {name} means when analysing an experiment?",
    "I keep seeing {name} in experiment reviews. What does it actually mean?",
    "how would you define {name} for someone new to experimentation?",
    "In plain words, what is {name} and why does it matter for experiments?",
    "Could you give me a short definition of {name} as used in controlled experiments?",
];

fn fill(template: &str, pairs: &[(&str, &str)]) -> String {
    pairs.iter().fold(template.to_owned(), |t, (k, v)| {
        t.replace(&format!("{{{k}}}"), v)
    })
}

fn lower_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(c) if chars.clone().next().is_some_and(|n| n.is_lowercase()) => {
            c.to_lowercase().chain(chars).collect()
        }
        Some(c) => std::iter::once(c).chain(chars).collect(),
        None => String::new(),
    }
}

fn concept_text(c: &Concept) -> String {
    let mut text = format!(
        "{} {} {} {}",
        c.name, c.definition, c.when_to_use, c.example
    );
    for m in &c.common_mistakes {
        text.push(' ');
        text.push_str(m);
    }
    if let Some(f) = &c.formula {
        text.push(' ');
        text.push_str(&f.text);
    }
    text
}

fn first_source(c: &Concept) -> (Option<String>, Option<String>) {
    c.sources
        .first()
        .map_or((None, None), |s| (s.url.clone(), Some(s.title.clone())))
}

fn concept_candidate(c: &Concept, qa_type: &str, question: String, answer: String) -> Candidate {
    let (url, title) = first_source(c);
    Candidate {
        question,
        answer,
        qa_type: qa_type.to_owned(),
        generator: "graph".into(),
        source_kind: "concept".into(),
        source_id: c.id.clone(),
        source_url: url,
        source_title: title.or_else(|| Some(c.name.clone())),
        calculation_json: None,
        license: None,
        provenance: None,
        source_text: Some(concept_text(c)),
    }
}

fn concept_pairs(c: &Concept, cfg: &GraphConfig, rng: &mut ChaCha8Rng, out: &mut Vec<Candidate>) {
    let name = c.name.as_str();
    let aka = if c.aliases.is_empty() {
        String::new()
    } else {
        format!(" (also called {})", c.aliases.join(", "))
    };
    let mut templates: Vec<&str> = DEFINITION.to_vec();
    templates.shuffle(rng);
    for template in templates.iter().take(cfg.definition_phrasings) {
        let mut answer = format!("{name}{aka}: {}", c.definition);
        if let Some(f) = &c.formula {
            answer.push_str(&format!("\n\nFormula: {}", f.text));
        }
        out.push(concept_candidate(
            c,
            "definition",
            fill(template, &[("name", name)]),
            answer,
        ));
    }
    let when = [
        "When should I use {name} in an experiment, and when not?",
        "In which situations is {name} the right tool for an A/B test?",
    ];
    if let Some(t) = when.choose(rng) {
        out.push(concept_candidate(
            c,
            "methodology",
            fill(t, &[("name", name)]),
            format!(
                "{}\n\nFor reference, {}: {}",
                c.when_to_use,
                lower_first(name),
                c.definition
            ),
        ));
    }
    if !c.common_mistakes.is_empty() {
        let t = [
            "What are common mistakes people make with {name}?",
            "what goes wrong most often when teams apply {name}?",
        ];
        let list: String = c
            .common_mistakes
            .iter()
            .map(|m| format!("- {m}\n"))
            .collect();
        if let Some(t) = t.choose(rng) {
            out.push(concept_candidate(
                c,
                "best_practice",
                fill(t, &[("name", name)]),
                format!("Common mistakes with {name}:\n{list}")
                    .trim_end()
                    .to_owned(),
            ));
        }
    }
    if let Some(f) = &c.formula {
        out.push(concept_candidate(
            c,
            "definition",
            format!("What is the formula for {name}, and what do its terms mean?"),
            format!(
                "{}\n\nDefinition: {}\n\nLaTeX: {}",
                f.text, c.definition, f.latex
            ),
        ));
    }
    let t = [
        "Can you walk me through a worked example of {name}?",
        "Could you show {name} on a concrete example with numbers?",
    ];
    if let Some(t) = t.choose(rng) {
        out.push(concept_candidate(
            c,
            "methodology",
            fill(t, &[("name", name)]),
            format!("{}\n\n({name}: {})", c.example, c.definition),
        ));
    }
}

fn sign_phrase(sign: Option<Sign>) -> &'static str {
    match sign {
        Some(Sign::Increases) => "increases",
        Some(Sign::Decreases) => "decreases",
        Some(Sign::Mixed) | None => "has a mixed effect on",
    }
}

fn edge_sentence(r: &Relation, from: &str, to: &str) -> String {
    let to_l = lower_first(to);
    let link = match r.kind {
        RelationKind::Requires => format!("{from} requires {to_l}"),
        RelationKind::PrerequisiteOf => {
            format!("{from} is a prerequisite for understanding {to_l}")
        }
        RelationKind::SimilarTo => format!("{from} is similar to {to_l}"),
        RelationKind::AlternativeTo => format!("{from} is an alternative to {to_l}"),
        RelationKind::PartOf => format!("{from} is part of {to_l}"),
        RelationKind::SpecialCaseOf => format!("{from} is a special case of {to_l}"),
        RelationKind::Affects => format!("{from} {} {to_l}", sign_phrase(r.sign)),
        RelationKind::Corrects => format!("{from} corrects or mitigates {to_l}"),
        RelationKind::Detects => format!("{from} detects {to_l}"),
        RelationKind::UsedFor => format!("{from} is used for {to_l}"),
        RelationKind::MeasuredBy => format!("{from} is measured by {to_l}"),
    };
    format!("{link}. {}", r.explanation)
}

fn relation_questions(kind: RelationKind, from: &str, to: &str) -> (&'static str, Vec<String>) {
    let q = |t: &str| fill(t, &[("from", from), ("to", to)]);
    match kind {
        RelationKind::Affects => (
            "methodology",
            vec![
                q("How does {from} affect {to} in an experiment?"),
                q("if {from} goes up, what happens to {to}, and why?"),
            ],
        ),
        RelationKind::SimilarTo | RelationKind::AlternativeTo => (
            "comparison",
            vec![
                q("How does {from} compare with {to}?"),
                q(
                    "What is the difference between {from} and {to}, and when would you pick one over the other?",
                ),
            ],
        ),
        RelationKind::Corrects => (
            "methodology",
            vec![
                q("How does {from} help with {to}?"),
                q("Can {from} fix problems caused by {to} in an A/B test?"),
            ],
        ),
        RelationKind::Detects => (
            "methodology",
            vec![
                q("How can {from} reveal {to}?"),
                q("Is {from} a good way to detect {to}, and why?"),
            ],
        ),
        RelationKind::Requires => (
            "methodology",
            vec![
                q("Why does {from} require {to}?"),
                q("What does {from} need from {to} to work properly?"),
            ],
        ),
        RelationKind::PrerequisiteOf => (
            "methodology",
            vec![
                q("Why should I understand {from} before learning {to}?"),
                q("How does {from} relate to {to} when learning experimentation?"),
            ],
        ),
        RelationKind::PartOf => (
            "definition",
            vec![
                q("How is {from} part of {to}?"),
                q("What role does {from} play within {to}?"),
            ],
        ),
        RelationKind::SpecialCaseOf => (
            "definition",
            vec![
                q("In what sense is {from} a special case of {to}?"),
                q("How does {from} relate to the more general {to}?"),
            ],
        ),
        RelationKind::UsedFor => (
            "methodology",
            vec![
                q("How is {from} used for {to}?"),
                q("Why would an analyst use {from} for {to}?"),
            ],
        ),
        RelationKind::MeasuredBy => (
            "methodology",
            vec![
                q("How is {from} measured with {to}?"),
                q("Why is {to} used to quantify {from}?"),
            ],
        ),
    }
}

fn compose(a: Option<Sign>, b: Option<Sign>) -> Option<Sign> {
    match (a?, b?) {
        (Sign::Mixed, _) | (_, Sign::Mixed) => Some(Sign::Mixed),
        (x, y) if x == y => Some(Sign::Increases),
        _ => Some(Sign::Decreases),
    }
}

/// Every graph-built candidate for `kb`, in a deterministic order for a given `seed`.
pub fn generate(kb: &KnowledgeBase, cfg: &GraphConfig, seed: u64) -> Vec<Candidate> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = Vec::new();
    let names: BTreeMap<&str, &Concept> = kb.concepts.iter().map(|c| (c.id.as_str(), c)).collect();
    for c in &kb.concepts {
        concept_pairs(c, cfg, &mut rng, &mut out);
    }
    for r in &kb.relations {
        let (Some(from), Some(to)) = (names.get(r.from.as_str()), names.get(r.to.as_str())) else {
            continue;
        };
        let (qa_type, mut questions) = relation_questions(r.kind, &from.name, &to.name);
        questions.shuffle(&mut rng);
        let mut answer = edge_sentence(r, &from.name, &to.name);
        let mut chars = answer.chars();
        if let Some(c) = chars.next() {
            answer = c.to_uppercase().chain(chars).collect();
        }
        answer.push_str(&format!(
            "\n\n{}: {}\n\n{}: {}",
            from.name, from.definition, to.name, to.definition
        ));
        for question in questions.into_iter().take(cfg.relation_phrasings) {
            out.push(Candidate {
                question,
                answer: answer.clone(),
                qa_type: qa_type.into(),
                generator: "graph".into(),
                source_kind: "relation".into(),
                source_id: format!("{}:{}:{}", r.from, r.kind, r.to),
                source_url: None,
                source_title: Some(format!("{} {} {}", from.name, r.kind, to.name)),
                calculation_json: None,
                license: None,
                provenance: None,
                source_text: Some(format!(
                    "{} {} {} {}",
                    r.explanation,
                    concept_text(from),
                    concept_text(to),
                    edge_sentence(r, &from.name, &to.name)
                )),
            });
        }
    }
    multi_hop(kb, &names, cfg, &mut rng, &mut out);
    for doc in &kb.playbook {
        playbook_pairs(doc, &names, &mut rng, &mut out);
    }
    out
}

fn multi_hop(
    kb: &KnowledgeBase,
    names: &BTreeMap<&str, &Concept>,
    cfg: &GraphConfig,
    rng: &mut ChaCha8Rng,
    out: &mut Vec<Candidate>,
) {
    let mut by_from: BTreeMap<&str, Vec<&Relation>> = BTreeMap::new();
    for r in &kb.relations {
        by_from.entry(r.from.as_str()).or_default().push(r);
    }
    let mut paths: Vec<(&Relation, &Relation)> = Vec::new();
    for first in &kb.relations {
        for second in by_from.get(first.to.as_str()).into_iter().flatten() {
            if second.to != first.from && !(first.kind.is_symmetric() && second.kind.is_symmetric())
            {
                paths.push((first, second));
            }
        }
    }
    paths.shuffle(rng);
    for (a, b) in paths.into_iter().take(cfg.multi_hop_paths) {
        let (Some(x), Some(y), Some(z)) = (
            names.get(a.from.as_str()),
            names.get(a.to.as_str()),
            names.get(b.to.as_str()),
        ) else {
            continue;
        };
        let both_affect = a.kind == RelationKind::Affects && b.kind == RelationKind::Affects;
        let question = if both_affect {
            format!(
                "How does {} affect {}? Walk me through the chain.",
                x.name, z.name
            )
        } else {
            let t = [
                "How is {x} connected to {z} in experimentation?",
                "What links {x} and {z}, step by step?",
            ];
            fill(
                t.choose(rng).copied().unwrap_or(t[0]),
                &[("x", &x.name), ("z", &z.name)],
            )
        };
        let mut answer = format!(
            "The link goes through {}.\n\n1. {}\n2. {}",
            lower_first(&y.name),
            upper_first(&edge_sentence(a, &x.name, &y.name)),
            upper_first(&edge_sentence(b, &y.name, &z.name))
        );
        if both_affect {
            answer.push_str(&format!(
                "\n\nTogether: {} {} {} through {}.",
                x.name,
                sign_phrase(compose(a.sign, b.sign)),
                lower_first(&z.name),
                lower_first(&y.name)
            ));
        }
        out.push(Candidate {
            question,
            answer,
            qa_type: "multi_hop".into(),
            generator: "graph".into(),
            source_kind: "path".into(),
            source_id: format!("{}>{}>{}", a.from, a.to, b.to),
            source_url: None,
            source_title: Some(format!("{} → {} → {}", x.name, y.name, z.name)),
            calculation_json: None,
            license: None,
            provenance: None,
            source_text: Some(format!(
                "{} {} {} {} {} {}",
                edge_sentence(a, &x.name, &y.name),
                edge_sentence(b, &y.name, &z.name),
                x.name,
                y.name,
                z.name,
                "the link goes through together step"
            )),
        });
    }
}

fn upper_first(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// Replaces `[[id]]` references by the concept's name.
pub fn resolve_refs(markdown: &str, names: &BTreeMap<&str, &Concept>) -> String {
    let mut out = String::new();
    let mut rest = markdown;
    while let Some(start) = rest.find("[[") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find("]]") {
            Some(end) => {
                let id = &after[..end];
                out.push_str(names.get(id).map_or(id, |c| c.name.as_str()));
                rest = &after[end + 2..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

fn playbook_pairs(
    doc: &knowledge::PlaybookDoc,
    names: &BTreeMap<&str, &Concept>,
    rng: &mut ChaCha8Rng,
    out: &mut Vec<Candidate>,
) {
    let text = resolve_refs(&doc.markdown, names);
    let templates = [
        "What is our practice for \"{section}\" ({title})?",
        "According to our experimentation playbook, what should we do about {section_l} in \"{title}\"?",
        "quick one: what does the playbook page \"{title}\" say about {section_l}?",
    ];
    for section in text.split("\n## ").skip(1) {
        let (heading, body) = section.split_once('\n').unwrap_or((section, ""));
        let body = body.trim();
        if body.is_empty() {
            continue;
        }
        let heading = heading.trim();
        let template = templates.choose(rng).copied().unwrap_or(templates[0]);
        let question = fill(
            template,
            &[
                ("section", heading),
                ("section_l", &lower_first(heading)),
                ("title", &doc.title),
            ],
        );
        out.push(Candidate {
            question,
            answer: format!("From the playbook page \"{}\", section \"{heading}\" (an example company's practice):\n\n{body}", doc.title),
            qa_type: "best_practice".into(),
            generator: "graph".into(),
            source_kind: "playbook".into(),
            source_id: format!("playbook:{}#{}", doc.id, heading.to_lowercase().replace(' ', "-")),
            source_url: None,
            source_title: Some(doc.title.clone()),
            calculation_json: None,
            license: None,
            provenance: None,
            source_text: Some(format!("{} {heading} {body} from the playbook page section an example company's practice", doc.title)),
        });
    }
}
