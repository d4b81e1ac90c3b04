//! One pass over everything loaded that collects every problem with its file and line, and
//! builds the strict [`KnowledgeBase`] from what is valid.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;

use crate::load::{RawConcept, Sources};
use crate::model::*;

/// Shortest definition accepted, in characters: anything shorter cannot hold the 2–5 sentences
/// the format asks for.
const MIN_DEFINITION_CHARS: usize = 80;

/// One problem found, with where it is.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Finding {
    /// Where the problem is.
    pub location: Location,
    /// What is wrong and what would be valid.
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

/// Counts for the validator's report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    /// Concepts by category.
    pub concepts_by_category: BTreeMap<String, usize>,
    /// Relations by kind.
    pub relations_by_kind: BTreeMap<String, usize>,
    /// Questions by intent.
    pub questions_by_intent: BTreeMap<String, usize>,
    /// Total concepts.
    pub concepts: usize,
    /// Total relations.
    pub relations: usize,
    /// Playbook documents.
    pub playbook_docs: usize,
    /// Total questions.
    pub questions: usize,
    /// Multi-hop questions with a path.
    pub multi_hop_with_path: usize,
    /// Concepts with a calculator-checked example.
    pub worked_examples: usize,
}

/// The outcome of validation: the knowledge base built from the valid items, and every finding.
/// Callers must treat a non-empty `findings` as failure.
#[derive(Debug, Clone)]
pub struct Validated {
    /// What was loaded.
    pub knowledge: KnowledgeBase,
    /// Every problem found, sorted by file and line.
    pub findings: Vec<Finding>,
    /// Counts for reporting.
    pub counts: Counts,
}

impl Validated {
    /// The knowledge base, or every finding when there is any.
    pub fn into_result(self) -> Result<KnowledgeBase, Vec<Finding>> {
        if self.findings.is_empty() {
            Ok(self.knowledge)
        } else {
            Err(self.findings)
        }
    }
}

/// Normalises a name or alias for duplicate detection: case, hyphens, apostrophes and spacing do
/// not make two aliases different.
fn normalize(text: &str) -> String {
    let mapped: String = text
        .to_lowercase()
        .chars()
        .map(|c| {
            if c == '-' || c == '_' || c == '/' {
                ' '
            } else {
                c
            }
        })
        .filter(|c| *c != '\'' && *c != '’')
        .collect();
    mapped.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Validates everything read and builds the knowledge base.
pub fn validate(sources: Sources) -> Validated {
    let mut findings: Vec<Finding> = sources
        .parse_errors
        .iter()
        .map(|(location, message)| Finding {
            location: location.clone(),
            message: format!("does not parse: {message}"),
        })
        .collect();
    let mut report = |location: &Location, message: String| {
        findings.push(Finding {
            location: location.clone(),
            message,
        });
    };

    // Concepts.
    let mut concepts = Vec::new();
    let mut concept_ids: HashMap<String, Location> = HashMap::new();
    let mut surface_forms: HashMap<String, (String, Location)> = HashMap::new();
    for (location, area, raw) in sources.concepts {
        if let Some(first) = concept_ids.get(&raw.id) {
            report(
                &location,
                format!(
                    "duplicate concept id {:?}, first defined at {first}",
                    raw.id
                ),
            );
            continue;
        }
        if !is_slug(&raw.id) {
            report(
                &location,
                format!(
                    "concept id {:?} must be a kebab-case slug (a-z, 0-9, '-')",
                    raw.id
                ),
            );
        }
        concept_ids.insert(raw.id.clone(), location.clone());
        let forms =
            std::iter::once(("name", &raw.name)).chain(raw.aliases.iter().map(|a| ("alias", a)));
        let mut own = HashSet::new();
        for (what, form) in forms {
            let key = normalize(form);
            if key.is_empty() {
                report(&location, format!("concept {}: empty {what}", raw.id));
                continue;
            }
            // A variant that only differs in case or hyphenation from the concept's own name is
            // redundant (matching normalises it anyway) but not wrong.
            if !own.insert(key.clone()) {
                continue;
            }
            match surface_forms.get(&key) {
                Some((other, other_location)) if *other != raw.id => report(
                    &location,
                    format!(
                        "{what} {form:?} of {} is already used by {other} at {other_location}; aliases must be unique",
                        raw.id
                    ),
                ),
                _ => {
                    surface_forms.insert(key, (raw.id.clone(), location.clone()));
                }
            }
        }
        if let Some(concept) = check_concept(&location, area, raw, &mut report) {
            concepts.push(concept);
        }
    }

    // Relations.
    let mut relations = Vec::new();
    let mut seen_edges: HashMap<(String, RelationKind, String), Location> = HashMap::new();
    for (location, raw) in sources.relations {
        let kind = match raw.kind.parse::<RelationKind>() {
            Ok(kind) => Some(kind),
            Err(e) => {
                report(&location, e);
                None
            }
        };
        for (end, id) in [("from", &raw.from), ("to", &raw.to)] {
            if !concept_ids.contains_key(id) {
                report(
                    &location,
                    format!("relation {end} unknown concept id {id:?}"),
                );
            }
        }
        if raw.from == raw.to {
            report(&location, format!("relation from {} to itself", raw.from));
        }
        if raw.explanation.trim().len() < 20 {
            report(
                &location,
                format!(
                    "relation {} {} {} needs a one-sentence explanation",
                    raw.from, raw.kind, raw.to
                ),
            );
        }
        let weight = raw.weight.unwrap_or(0.5);
        if !(weight > 0.0 && weight <= 1.0) {
            report(&location, format!("weight {weight} must be in (0, 1]"));
        }
        let sign = match raw.sign.as_deref().map(str::parse::<Sign>) {
            None => None,
            Some(Ok(sign)) => Some(sign),
            Some(Err(e)) => {
                report(&location, e);
                None
            }
        };
        let Some(kind) = kind else { continue };
        if sign.is_some() && kind != RelationKind::Affects {
            report(
                &location,
                format!("sign is only meaningful on AFFECTS, not {kind}"),
            );
        }
        let key = (raw.from.clone(), kind, raw.to.clone());
        let mirrored = (raw.to.clone(), kind, raw.from.clone());
        if let Some(first) = seen_edges.get(&key) {
            report(
                &location,
                format!(
                    "duplicate relation {} {kind} {}, first at {first}",
                    raw.from, raw.to
                ),
            );
            continue;
        }
        if kind.is_symmetric() {
            if let Some(first) = seen_edges.get(&mirrored) {
                report(
                    &location,
                    format!(
                        "{kind} is symmetric and {} {kind} {} is already at {first}",
                        raw.to, raw.from
                    ),
                );
                continue;
            }
        }
        seen_edges.insert(key, location.clone());
        relations.push(Relation {
            from: raw.from,
            kind,
            to: raw.to,
            explanation: raw.explanation,
            weight,
            sign,
            location,
        });
    }

    // Every concept takes part in a relation.
    let mut related: HashSet<&str> = HashSet::new();
    for relation in &relations {
        related.insert(&relation.from);
        related.insert(&relation.to);
    }
    for concept in &concepts {
        if !related.contains(concept.id.as_str()) {
            report(
                &concept.location,
                format!(
                    "concept {} has no relations; link it to at least one concept",
                    concept.id
                ),
            );
        }
    }

    // PREREQUISITE_OF must be acyclic.
    if let Some(cycle) = prerequisite_cycle(&relations) {
        let location = cycle.1.clone();
        report(
            &location,
            format!("PREREQUISITE_OF cycle: {}", cycle.0.join(" -> ")),
        );
    }

    // Playbook.
    let mut playbook = Vec::new();
    for (location, id, markdown) in sources.playbook {
        let title = markdown
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# "))
            .map(str::trim);
        let Some(title) = title.filter(|t| !t.is_empty()) else {
            report(
                &location,
                "a playbook document must start with a `# Title` line".into(),
            );
            continue;
        };
        if !markdown.contains(crate::PLAYBOOK_BANNER_MARKER) {
            report(
                &location,
                format!(
                    "playbook document lacks the banner marking it as an example (\"> {}…\")",
                    crate::PLAYBOOK_BANNER_MARKER
                ),
            );
        }
        let concept_refs = wiki_links(&markdown);
        for reference in &concept_refs {
            if !concept_ids.contains_key(reference) {
                report(
                    &location,
                    format!("playbook links unknown concept [[{reference}]]"),
                );
            }
        }
        playbook.push(PlaybookDoc {
            id,
            title: title.to_owned(),
            markdown,
            concept_refs,
            location,
        });
    }

    // Questions.
    let adjacency: HashSet<(&str, &str)> = relations
        .iter()
        .flat_map(|r| {
            [
                (r.from.as_str(), r.to.as_str()),
                (r.to.as_str(), r.from.as_str()),
            ]
        })
        .collect();
    let mut questions = Vec::new();
    let mut question_ids: HashMap<String, Location> = HashMap::new();
    for (location, set, raw) in sources.questions {
        if let Some(first) = question_ids.get(&raw.id) {
            report(
                &location,
                format!("duplicate question id {:?}, first at {first}", raw.id),
            );
            continue;
        }
        question_ids.insert(raw.id.clone(), location.clone());
        let intent = match raw.intent.parse::<Intent>() {
            Ok(intent) => intent,
            Err(e) => {
                report(&location, e);
                continue;
            }
        };
        if raw.text.trim().is_empty() {
            report(&location, format!("question {} has no text", raw.id));
        }
        if raw.needs.is_empty() {
            report(
                &location,
                format!("question {} needs at least one concept in `needs`", raw.id),
            );
        }
        let all_ids = raw
            .mentions
            .iter()
            .chain(&raw.needs)
            .chain(&raw.path)
            .chain(raw.spans.iter().map(|s| &s.concept));
        for id in all_ids.collect::<BTreeSet<_>>() {
            if !concept_ids.contains_key(id) {
                report(
                    &location,
                    format!("question {} refers to unknown concept id {id:?}", raw.id),
                );
            }
        }
        for span in &raw.spans {
            if span.start >= span.end
                || span.end > raw.text.len()
                || !raw.text.is_char_boundary(span.start)
                || !raw.text.is_char_boundary(span.end)
            {
                report(
                    &location,
                    format!(
                        "question {}: span {}..{} is not a valid byte range of its text",
                        raw.id, span.start, span.end
                    ),
                );
            }
        }
        if intent == Intent::MultiHop {
            if raw.path.len() < 3 {
                report(
                    &location,
                    format!(
                        "multi-hop question {} needs a path of at least 3 concepts",
                        raw.id
                    ),
                );
            }
            for pair in raw.path.windows(2) {
                if concept_ids.contains_key(&pair[0])
                    && concept_ids.contains_key(&pair[1])
                    && !adjacency.contains(&(pair[0].as_str(), pair[1].as_str()))
                {
                    report(
                        &location,
                        format!(
                            "question {}: no relation joins {} and {} on its path",
                            raw.id, pair[0], pair[1]
                        ),
                    );
                }
            }
        } else if !raw.path.is_empty() {
            report(
                &location,
                format!("question {}: only multi_hop questions have a path", raw.id),
            );
        }
        questions.push(Question {
            id: raw.id,
            text: raw.text,
            intent,
            mentions: raw.mentions,
            needs: raw.needs,
            path: raw.path,
            spans: raw
                .spans
                .into_iter()
                .map(|s| QuestionSpan {
                    concept: s.concept,
                    start: s.start,
                    end: s.end,
                })
                .collect(),
            set,
            location,
        });
    }

    let mut counts = Counts {
        concepts: concepts.len(),
        relations: relations.len(),
        playbook_docs: playbook.len(),
        questions: questions.len(),
        multi_hop_with_path: questions
            .iter()
            .filter(|q| q.intent == Intent::MultiHop && !q.path.is_empty())
            .count(),
        worked_examples: concepts.iter().filter(|c| c.check.is_some()).count(),
        ..Counts::default()
    };
    for concept in &concepts {
        *counts
            .concepts_by_category
            .entry(concept.category.to_string())
            .or_default() += 1;
    }
    for relation in &relations {
        *counts
            .relations_by_kind
            .entry(relation.kind.to_string())
            .or_default() += 1;
    }
    for question in &questions {
        *counts
            .questions_by_intent
            .entry(question.intent.to_string())
            .or_default() += 1;
    }
    findings.sort();
    Validated {
        knowledge: KnowledgeBase {
            concepts,
            relations,
            playbook,
            questions,
        },
        findings,
        counts,
    }
}

fn check_concept(
    location: &Location,
    area: String,
    raw: RawConcept,
    report: &mut impl FnMut(&Location, String),
) -> Option<Concept> {
    let id = raw.id.clone();
    let category = match raw.category.parse::<Category>() {
        Ok(c) => Some(c),
        Err(e) => {
            report(location, format!("concept {id}: {e}"));
            None
        }
    };
    let definition = raw.definition.trim().to_owned();
    if definition.chars().count() < MIN_DEFINITION_CHARS {
        report(
            location,
            format!(
                "concept {id}: definition has {} characters; write 2–5 sentences (at least {MIN_DEFINITION_CHARS} characters)",
                definition.chars().count()
            ),
        );
    }
    if raw.name.trim().is_empty() {
        report(location, format!("concept {id}: empty name"));
    }
    if raw.sources.is_empty() {
        report(location, format!("concept {id}: cite at least one source"));
    }
    for source in &raw.sources {
        if source.title.trim().is_empty() {
            report(location, format!("concept {id}: a source has no title"));
        }
    }
    if let Some(formula) = &raw.formula {
        if formula.text.trim().is_empty() || formula.latex.trim().is_empty() {
            report(
                location,
                format!("concept {id}: a formula needs both `text` and `latex`"),
            );
        }
    }
    let category = category?;
    Some(Concept {
        id: raw.id,
        name: raw.name.trim().to_owned(),
        aliases: raw.aliases,
        category,
        definition,
        when_to_use: raw.when_to_use.trim().to_owned(),
        common_mistakes: raw.common_mistakes,
        example: raw.example.trim().to_owned(),
        formula: raw.formula.map(|f| Formula {
            text: f.text,
            latex: f.latex,
        }),
        sources: raw
            .sources
            .into_iter()
            .map(|s| Source {
                title: s.title,
                authors: s.authors,
                year: s.year,
                locator: s.locator,
                url: s.url,
            })
            .collect(),
        check: raw.check.map(|c| WorkedExample {
            calculation: c.calculation,
            params: c.params,
            expect: c.expect,
        }),
        area,
        location: location.clone(),
    })
}

fn is_slug(id: &str) -> bool {
    !id.is_empty()
        && !id.starts_with('-')
        && !id.ends_with('-')
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// `[[concept-id]]` links in Markdown.
fn wiki_links(markdown: &str) -> Vec<String> {
    let mut links = BTreeSet::new();
    let mut rest = markdown;
    while let Some(start) = rest.find("[[") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("]]") else { break };
        let candidate = &after[..end];
        if is_slug(candidate) {
            links.insert(candidate.to_owned());
        }
        rest = &after[end + 2..];
    }
    links.into_iter().collect()
}

/// Finds one cycle of PREREQUISITE_OF edges, returned as the ids on it and the location of one
/// of its edges.
fn prerequisite_cycle(relations: &[Relation]) -> Option<(Vec<String>, Location)> {
    let mut graph: BTreeMap<&str, Vec<(&str, &Location)>> = BTreeMap::new();
    for r in relations
        .iter()
        .filter(|r| r.kind == RelationKind::PrerequisiteOf)
    {
        graph.entry(&r.from).or_default().push((&r.to, &r.location));
    }
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Active,
        Done,
    }
    let mut marks: HashMap<&str, Mark> = HashMap::new();
    for &start in graph.keys() {
        if marks.contains_key(start) {
            continue;
        }
        // Iterative depth-first search; `stack` holds (node, next edge index).
        let mut stack: Vec<(&str, usize)> = vec![(start, 0)];
        marks.insert(start, Mark::Active);
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            let edges = graph.get(node).map(Vec::as_slice).unwrap_or(&[]);
            if let Some(&(target, location)) = edges.get(*next) {
                *next += 1;
                match marks.get(target) {
                    Some(Mark::Active) => {
                        let begin = stack.iter().position(|(n, _)| *n == target).unwrap_or(0);
                        let mut cycle: Vec<String> =
                            stack[begin..].iter().map(|(n, _)| n.to_string()).collect();
                        cycle.push(target.to_owned());
                        return Some((cycle, location.clone()));
                    }
                    Some(Mark::Done) => {}
                    None => {
                        marks.insert(target, Mark::Active);
                        stack.push((target, 0));
                    }
                }
            } else {
                marks.insert(node, Mark::Done);
                stack.pop();
            }
        }
    }
    None
}
