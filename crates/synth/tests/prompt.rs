//! The LLM generator's prompt contract without a model: the shipped template loads and renders,
//! broken templates are refused with the reason, the reply schema accepts a good reply and each
//! kind of bad one is refused with its path, and the config's provider rules hold.

// Tests assert by unwrapping: a panic with the error is the failure report.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;

use synth::SynthError;
use synth::prompt::{
    PromptTemplate, ReplyError, ReplyLimits, check_schema, parse_reply, prompt_hash, reply_schema,
};
use synth::provider::resolve_provider;

fn limits() -> ReplyLimits {
    ReplyLimits {
        pairs: 5,
        min_chars: 50,
        max_question_chars: 300,
        max_answer_chars: 1200,
    }
}

fn template() -> PromptTemplate {
    PromptTemplate::load(&common::root().join("configs/prompts/qa_from_source.v1.toml")).unwrap()
}

#[test]
fn the_shipped_template_renders_every_placeholder_and_hashes_stably() {
    let t = template();
    assert_eq!(t.version, "qa_from_source.v1");
    let paper = &common::papers()[0];
    let source = synth::llm_qa::arxiv_source(paper, 4000);
    let (system, user) = t.render(&source, &limits());
    for text in [&system, &user] {
        assert!(!text.contains("{{"), "unfilled placeholder in {text}");
    }
    assert!(user.contains(&paper.abstract_text) && user.contains(&paper.abs_url));
    assert!(user.contains("definition, methodology, comparison, best_practice, free"));
    assert!(user.contains("\"prefixItems\""));
    let repair = t.render_repair(&source, &limits(), "the reply is not valid JSON");
    assert!(repair.contains("the reply is not valid JSON") && !repair.contains("{{"));
    let hash = prompt_hash(&system, &user);
    assert_eq!(hash, prompt_hash(&system, &user));
    assert_ne!(hash, prompt_hash(&system, &format!("{user} ")));
}

#[test]
fn broken_templates_are_refused_with_the_reason() {
    let path = Path::new("t.toml");
    let ok = "version = \"v\"\nsystem = \"s\"\nuser = \"{{text}}\"\nrepair = \"{{error}}\"\n";
    assert!(PromptTemplate::parse(ok, path).is_ok());
    let cases = [
        (ok.replace("{{error}}", "{{eror}}"), "unknown placeholder"),
        (
            ok.replace("{{text}}", "{{title}}"),
            "never includes the source text",
        ),
        (
            ok.replace("version = \"v\"", "version = \" \""),
            "version is empty",
        ),
        (ok.replace("repair", "fix"), "unknown field"),
    ];
    for (text, expected) in cases {
        match PromptTemplate::parse(&text, path) {
            Err(SynthError::Prompt { detail, .. }) => {
                assert!(detail.contains(expected), "{detail} lacks {expected:?}")
            }
            other => panic!("{text:?} gave {other:?}"),
        }
    }
}

fn pair(t: &str, q: &str, a: &str) -> serde_json::Value {
    serde_json::json!({"type": t, "question": q, "answer": a})
}

fn good() -> serde_json::Value {
    let q = "How does this approach reduce the variance of an experiment metric?";
    let a = "It subtracts a multiple of a pre-experiment covariate from each user's metric value.";
    let pairs: Vec<_> = [
        "definition",
        "methodology",
        "comparison",
        "best_practice",
        "free",
    ]
    .iter()
    .map(|t| pair(t, q, a))
    .collect();
    serde_json::json!({ "pairs": pairs })
}

#[test]
fn the_reply_schema_accepts_a_good_reply_and_names_what_is_wrong_with_bad_ones() {
    let schema = reply_schema(&limits());
    assert_eq!(check_schema(&good(), &schema, "$"), Ok(()));

    let mut wrong_type = good();
    wrong_type["pairs"][2]["type"] = "definition".into();
    let mut short = good();
    short["pairs"][0]["answer"] = "Too short.".into();
    let mut extra = good();
    extra["pairs"][1]["source"] = "abstract".into();
    let mut missing = good();
    missing["pairs"][4]
        .as_object_mut()
        .unwrap()
        .remove("question");
    let mut four = good();
    four["pairs"].as_array_mut().unwrap().pop();
    let mut number = good();
    number["pairs"][3]["question"] = 7.into();
    let cases = [
        (
            wrong_type,
            "$.pairs[2].type must be \"comparison\", got \"definition\"",
        ),
        (short, "$.pairs[0].answer has 10 characters, fewer than 50"),
        (extra, "$.pairs[1] has the unexpected field \"source\""),
        (missing, "$.pairs[4] lacks the field \"question\""),
        (four, "$.pairs has 4 items, fewer than 5"),
        (number, "$.pairs[3].question must be a string"),
    ];
    for (value, expected) in cases {
        assert_eq!(check_schema(&value, &schema, "$"), Err(expected.to_owned()));
    }
}

#[test]
fn replies_are_parsed_through_fences_and_refusals_are_told_apart_from_garbage() {
    let schema = reply_schema(&limits());
    let fenced = format!("Here you go:\n```json\n{}\n```", good());
    let pairs = parse_reply(&fenced, &schema).unwrap();
    assert_eq!(pairs.len(), 5);
    assert_eq!(pairs[3].qa_type, "best_practice");
    assert!(matches!(
        parse_reply("I'm sorry, I can't do that.", &schema),
        Err(ReplyError::Refusal(_))
    ));
    assert!(matches!(
        parse_reply("pairs: none", &schema),
        Err(ReplyError::Malformed(d)) if d.contains("no JSON object")
    ));
    assert!(matches!(
        parse_reply("{\"pairs\": [", &schema),
        Err(ReplyError::Malformed(d)) if d.contains("holds no JSON object") || d.contains("not valid JSON")
    ));
    assert!(matches!(
        parse_reply("{\"pairs\": [}", &schema),
        Err(ReplyError::Malformed(d)) if d.contains("not valid JSON")
    ));
}

#[test]
fn the_provider_follows_the_key_and_the_fallback_and_bad_values_are_refused() {
    let mut config = common::config(Path::new("/tmp"), "http://127.0.0.1:9").llm;
    assert_eq!(resolve_provider(&config, true), Some("anthropic"));
    assert_eq!(resolve_provider(&config, false), None);
    config.fallback = "local".into();
    assert_eq!(resolve_provider(&config, false), Some("local"));
    config.provider = "openai".into();
    assert_eq!(resolve_provider(&config, true), Some("openai"));
    config.provider = "claude".into();
    assert!(config.validate().unwrap_err().contains("llm.provider"));
    let text = std::fs::read_to_string(common::root().join("configs/synth.toml")).unwrap();
    let bad = text.replace("max_cost_usd = 10.0", "max_cost_usd = -1.0");
    let err = synth::SynthConfig::parse(&bad, Path::new("synth.toml")).unwrap_err();
    assert!(err.to_string().contains("max_cost_usd"), "{err}");
}

#[test]
fn the_dry_run_prompt_overhead_covers_the_rendered_template_and_schema() {
    // The estimate adds the source text (a third of its bytes in tokens) to this overhead, so
    // the overhead must cover everything else the first call sends, by the budget's own estimate.
    let config = common::config(Path::new("/tmp"), "http://127.0.0.1:9");
    let source = synth::prompt::Source {
        kind: "arxiv".into(),
        id: "0000.00000".into(),
        url: "https://arxiv.org/abs/0000.00000".into(),
        title: String::new(),
        text: String::new(),
        license: None,
    };
    let limits = ReplyLimits {
        pairs: config.llm.pairs_per_source,
        min_chars: config.validation.min_chars,
        max_question_chars: config.llm.max_question_chars,
        max_answer_chars: config.llm.max_answer_chars,
    };
    let (system, user) = template().render(&source, &limits);
    let tokens =
        llm::estimate_prompt_tokens(&[llm::Message::system(system), llm::Message::user(user)]);
    assert!(
        u64::from(tokens) <= config.llm.prompt_overhead_tokens,
        "the template alone estimates {tokens} tokens, more than llm.prompt_overhead_tokens = {}",
        config.llm.prompt_overhead_tokens
    );
}
