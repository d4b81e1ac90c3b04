//! The shipped knowledge base under `data/knowledge` is valid and meets the size the product
//! needs.

use std::path::PathBuf;

fn knowledge_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/knowledge")
}

#[test]
fn shipped_knowledge_base_is_valid_and_large_enough() {
    let validated = knowledge::load(knowledge_dir()).unwrap();
    let findings: Vec<String> = validated.findings.iter().map(ToString::to_string).collect();
    assert!(
        findings.is_empty(),
        "{} findings:\n{}",
        findings.len(),
        findings.join("\n")
    );
    let counts = &validated.counts;
    assert!(counts.concepts >= 250, "only {} concepts", counts.concepts);
    assert!(
        counts.relations >= 800,
        "only {} relations",
        counts.relations
    );
    assert!(
        counts.playbook_docs >= 8,
        "only {} playbook documents",
        counts.playbook_docs
    );
    assert!(
        counts.questions >= 200,
        "only {} questions",
        counts.questions
    );
    assert!(
        counts.multi_hop_with_path >= 50,
        "only {} multi-hop questions",
        counts.multi_hop_with_path
    );
    for category in knowledge::Category::ALL {
        assert!(
            counts
                .concepts_by_category
                .get(category.as_str())
                .copied()
                .unwrap_or(0)
                > 0,
            "no concept of category {category}"
        );
    }
    for kind in knowledge::RelationKind::ALL {
        assert!(
            counts
                .relations_by_kind
                .get(kind.as_str())
                .copied()
                .unwrap_or(0)
                > 0,
            "no relation of kind {kind}"
        );
    }
}

#[test]
fn required_abbreviations_resolve_to_concepts() {
    let kb = knowledge::load(knowledge_dir()).unwrap().knowledge;
    for alias in [
        "MDE",
        "CUPED",
        "SRM",
        "FDR",
        "FWER",
        "OEC",
        "A/B test",
        "split test",
        "online controlled experiment",
    ] {
        let found = kb.concepts.iter().any(|c| {
            c.name.eq_ignore_ascii_case(alias)
                || c.name
                    .to_lowercase()
                    .contains(&format!("({})", alias.to_lowercase()))
                || c.aliases.iter().any(|a| a.eq_ignore_ascii_case(alias))
        });
        assert!(found, "no concept is named or aliased {alias:?}");
    }
}
