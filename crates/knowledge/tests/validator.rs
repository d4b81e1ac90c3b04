//! The validator reports each kind of problem with its file and line.

use std::fs;
use std::path::Path;

const GOOD_CONCEPTS: &str = r#"
[[concept]]
id = "p-value"
name = "p-value"
aliases = ["p value"]
category = "methodology"
definition = "The probability, computed assuming the null hypothesis is true, of a test statistic at least as extreme as the one observed."
when_to_use = "Always alongside an effect estimate."
common_mistakes = ["Reading it as the probability that the null is true."]
example = "z = 2.0 gives a two-sided p-value of 0.0455."
[[concept.sources]]
title = "Introductory Statistics"
authors = "Illowsky and Dean"

[[concept]]
id = "null-hypothesis"
name = "Null hypothesis"
category = "methodology"
definition = "The default claim a test tries to reject, usually that the treatment has no effect on the metric being compared."
[[concept.sources]]
title = "Introductory Statistics"

[[relation]]
from = "null-hypothesis"
kind = "PREREQUISITE_OF"
to = "p-value"
explanation = "A p-value is computed under the null hypothesis."
"#;

const GOOD_QUESTIONS: &str = r#"
[[question]]
id = "def-001"
text = "wat is a p value"
intent = "definition"
mentions = ["p-value"]
needs = ["p-value", "null-hypothesis"]
[[question.spans]]
concept = "p-value"
start = 9
end = 16
"#;

const PLAYBOOK: &str = "# Defaults\n\n> Example playbook of the fictional company Northwind Commerce.\n\nWe use [[p-value]].\n";

fn write_base(dir: &Path, concepts: &str, questions: &str, playbook: &str) {
    for sub in ["concepts", "questions", "playbook"] {
        fs::create_dir_all(dir.join(sub)).unwrap();
    }
    fs::write(dir.join("concepts/testing.toml"), concepts).unwrap();
    fs::write(dir.join("questions/set.toml"), questions).unwrap();
    fs::write(dir.join("playbook/defaults.md"), playbook).unwrap();
}

fn findings(concepts: &str, questions: &str, playbook: &str) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    write_base(dir.path(), concepts, questions, playbook);
    knowledge::load(dir.path())
        .unwrap()
        .findings
        .iter()
        .map(ToString::to_string)
        .collect()
}

fn assert_finding(found: &[String], location: &str, needle: &str) {
    assert!(
        found
            .iter()
            .any(|f| f.starts_with(location) && f.contains(needle)),
        "expected a finding at {location} containing {needle:?}, got {found:#?}"
    );
}

#[test]
fn a_valid_base_has_no_findings_and_is_typed() {
    let dir = tempfile::tempdir().unwrap();
    write_base(dir.path(), GOOD_CONCEPTS, GOOD_QUESTIONS, PLAYBOOK);
    let validated = knowledge::load(dir.path()).unwrap();
    assert!(validated.findings.is_empty(), "{:#?}", validated.findings);
    let kb = validated.into_result().unwrap();
    assert_eq!(kb.concepts.len(), 2);
    assert_eq!(kb.concept("p-value").unwrap().area, "testing");
    assert_eq!(
        kb.relations[0].kind,
        knowledge::RelationKind::PrerequisiteOf
    );
    assert_eq!(kb.relations[0].weight, 0.5);
    assert_eq!(kb.playbook[0].concept_refs, vec!["p-value".to_string()]);
    assert_eq!(kb.questions[0].intent, knowledge::Intent::Definition);
    assert_eq!(&kb.questions[0].text[9..16], "p value");
}

#[test]
fn duplicate_ids_and_aliases_are_reported_with_lines() {
    let duplicated = format!(
        "{GOOD_CONCEPTS}\n[[concept]]\nid = \"p-value\"\nname = \"P Value\"\ncategory = \"methodology\"\ndefinition = \"{}\"\n[[concept.sources]]\ntitle = \"x\"\n\n[[concept]]\nid = \"significance\"\nname = \"Significance\"\naliases = [\"P-value\"]\ncategory = \"methodology\"\ndefinition = \"{}\"\n[[concept.sources]]\ntitle = \"x\"\n",
        "a".repeat(90),
        "b".repeat(90)
    );
    let found = findings(&duplicated, GOOD_QUESTIONS, PLAYBOOK);
    let lines: Vec<&str> = duplicated.lines().collect();
    let second = lines
        .iter()
        .position(|l| l.contains("id = \"p-value\""))
        .unwrap();
    let dup_header = lines
        .iter()
        .enumerate()
        .skip(second + 1)
        .find(|(_, l)| l.contains("id = \"p-value\""))
        .unwrap()
        .0;
    assert_finding(
        &found,
        &format!("concepts/testing.toml:{}", dup_header),
        "duplicate concept id \"p-value\"",
    );
    assert_finding(
        &found,
        "concepts/testing.toml:",
        "alias \"P-value\" of significance is already used by p-value",
    );
}

#[test]
fn unknown_ids_kinds_and_signs_are_reported() {
    let bad = format!(
        "{GOOD_CONCEPTS}\n[[relation]]\nfrom = \"p-value\"\nkind = \"CAUSES\"\nto = \"null-hypothesis\"\nexplanation = \"Not a kind this base knows about.\"\n\n[[relation]]\nfrom = \"p-value\"\nkind = \"AFFECTS\"\nto = \"nonexistent\"\nexplanation = \"Points at a concept that does not exist.\"\nsign = \"up\"\n"
    );
    let found = findings(&bad, GOOD_QUESTIONS, PLAYBOOK);
    let line_of = |needle: &str| bad.lines().position(|l| l.contains(needle)).unwrap();
    // The `[[relation]]` header sits one line above `from` (1-based line = index).
    assert_finding(
        &found,
        &format!("concepts/testing.toml:{}", line_of("CAUSES") - 1),
        "unknown RelationKind \"CAUSES\"",
    );
    assert_finding(
        &found,
        "concepts/testing.toml:",
        "relation to unknown concept id \"nonexistent\"",
    );
    assert_finding(&found, "concepts/testing.toml:", "unknown Sign \"up\"");
}

#[test]
fn short_definitions_missing_titles_and_lonely_concepts_are_reported() {
    let bad = GOOD_CONCEPTS.replace(
        "definition = \"The default claim a test tries to reject, usually that the treatment has no effect on the metric being compared.\"\n[[concept.sources]]\ntitle = \"Introductory Statistics\"",
        "definition = \"Too short.\"\n[[concept.sources]]\ntitle = \"\"",
    ) + "\n[[concept]]\nid = \"alone\"\nname = \"Alone\"\ncategory = \"pitfall\"\ndefinition = \"A concept that no relation mentions, which the validator must flag because nothing can reach it.\"\n[[concept.sources]]\ntitle = \"x\"\n";
    let found = findings(&bad, GOOD_QUESTIONS, PLAYBOOK);
    assert_finding(
        &found,
        "concepts/testing.toml:",
        "null-hypothesis: definition has 10 characters",
    );
    assert_finding(
        &found,
        "concepts/testing.toml:",
        "null-hypothesis: a source has no title",
    );
    assert_finding(
        &found,
        "concepts/testing.toml:",
        "concept alone has no relations",
    );
}

#[test]
fn prerequisite_cycles_are_reported() {
    let cyclic = format!(
        "{GOOD_CONCEPTS}\n[[relation]]\nfrom = \"p-value\"\nkind = \"PREREQUISITE_OF\"\nto = \"null-hypothesis\"\nexplanation = \"This closes a loop, which makes no sense for prerequisites.\"\n"
    );
    let found = findings(&cyclic, GOOD_QUESTIONS, PLAYBOOK);
    assert_finding(&found, "concepts/testing.toml:", "PREREQUISITE_OF cycle: ");
}

#[test]
fn questions_with_unknown_concepts_or_broken_paths_are_reported() {
    let bad = format!(
        "{GOOD_QUESTIONS}\n[[question]]\nid = \"hop-001\"\ntext = \"how does x affect y\"\nintent = \"multi_hop\"\nneeds = [\"p-value\"]\npath = [\"p-value\", \"no-such-concept\", \"null-hypothesis\"]\n\n[[question]]\nid = \"hop-002\"\ntext = \"why\"\nintent = \"multi_hop\"\nneeds = [\"p-value\"]\npath = [\"p-value\", \"null-hypothesis\", \"p-value\", \"p-value\"]\n[[question.spans]]\nconcept = \"p-value\"\nstart = 2\nend = 40\n"
    );
    let found = findings(GOOD_CONCEPTS, &bad, PLAYBOOK);
    assert_finding(
        &found,
        "questions/set.toml:",
        "question hop-001 refers to unknown concept id \"no-such-concept\"",
    );
    assert_finding(
        &found,
        "questions/set.toml:",
        "question hop-002: no relation joins p-value and p-value",
    );
    assert_finding(
        &found,
        "questions/set.toml:",
        "span 2..40 is not a valid byte range",
    );
}

#[test]
fn parse_errors_and_playbook_problems_are_reported() {
    let found = findings(
        "[[concept]]\nid = \"x\"\nnot toml at all\n",
        GOOD_QUESTIONS,
        "no title here\n",
    );
    assert_finding(&found, "concepts/testing.toml:3", "does not parse");
    assert_finding(
        &found,
        "playbook/defaults.md:1",
        "must start with a `# Title` line",
    );
    let found = findings(
        GOOD_CONCEPTS,
        GOOD_QUESTIONS,
        "# Title\n\nNo banner, and a link to [[missing-concept]].\n",
    );
    assert_finding(&found, "playbook/defaults.md:1", "lacks the banner");
    assert_finding(
        &found,
        "playbook/defaults.md:1",
        "unknown concept [[missing-concept]]",
    );
}
