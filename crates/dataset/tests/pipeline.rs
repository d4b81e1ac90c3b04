//! The whole stage on a temporary artifacts root: real Parquet inputs in the collector's and
//! synth's schemas, a user folder with JSONL and Parquet files, a curated evaluation set, and the
//! real SmolLM2 template and tokenizer. Checks what each rule removes (planted duplicates, link
//! answers, contaminated questions), that the outputs read back as `dataset.rows`, that no source
//! document spans two splits, that the manifest makes a second run a no-op, and the card.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use artifacts::{
    CrossValidatedAnswer, CrossValidatedPost, DatasetRow, QaPair, Timestamp, read_artifact,
    write_artifact,
};
use dataset::config::{DatasetConfig, TruncationPolicy};
use dataset::run::{CARD_PATH, Model, ModelFiles, RunOptions, run_with_model, split_paths};

fn workspace(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

fn model() -> Model {
    let gguf = assets::AssetCache::from_env()
        .and_then(|c| c.chat_model_gguf())
        .expect("the chat model is installed (cargo xtask setup)");
    Model::load(&ModelFiles {
        gguf,
        tokenizer_config: None,
        tokenizer_json: None,
    })
    .expect("load model")
}

fn answer(id: i64, body: &str, score: i64, accepted: bool) -> CrossValidatedAnswer {
    CrossValidatedAnswer {
        answer_id: id,
        body_html: format!("<p>{body}</p>"),
        body_text: body.to_owned(),
        score,
        is_accepted: accepted,
        created_at: Timestamp::from_unix_seconds(1_700_000_000),
        author_name: Some(format!("answerer {id}")),
        author_id: Some(id),
        link: format!("https://stats.stackexchange.com/a/{id}"),
    }
}

fn post(
    id: i64,
    title: &str,
    body: &str,
    answers: Vec<CrossValidatedAnswer>,
) -> CrossValidatedPost {
    CrossValidatedPost {
        question_id: id,
        title: title.to_owned(),
        body_html: format!("<p>{body}</p>"),
        body_text: body.to_owned(),
        tags: vec!["ab-test".into()],
        score: 5,
        view_count: 100,
        answer_count: answers.len() as i64,
        is_answered: true,
        accepted_answer_id: answers.iter().find(|a| a.is_accepted).map(|a| a.answer_id),
        created_at: Timestamp::from_unix_seconds(1_700_000_000),
        link: format!("https://stats.stackexchange.com/q/{id}"),
        author_name: Some(format!("asker {id}")),
        author_id: Some(id),
        license: "CC BY-SA 4.0".into(),
        answers,
        fetched_at: Timestamp::from_unix_seconds(1_700_000_000),
    }
}

fn qa(i: usize, question: &str, answer: &str, qa_type: &str, source_id: &str) -> QaPair {
    QaPair {
        qa_id: format!("qa{i:04}"),
        question: question.to_owned(),
        answer: answer.to_owned(),
        qa_type: qa_type.to_owned(),
        generator: "graph".into(),
        source_kind: "concept".into(),
        source_id: source_id.to_owned(),
        source_url: None,
        source_title: None,
        license: None,
        provider: None,
        model: None,
        prompt_version: None,
        prompt_hash: None,
        input_tokens: None,
        output_tokens: None,
        cost_usd: None,
        calculation_json: None,
        created_at: Timestamp::from_unix_seconds(1_700_000_000),
    }
}

const TOPICS: &[&str] = &[
    "statistical power",
    "the minimum detectable effect",
    "a confidence interval",
    "CUPED",
    "sample ratio mismatch",
    "the Bonferroni correction",
    "sequential testing",
    "a p-value",
    "the false discovery rate",
    "a novelty effect",
    "variance reduction",
    "a guardrail metric",
    "the delta method",
    "stratified sampling",
    "a Bayesian prior",
    "peeking",
    "an A/A test",
    "heterogeneous treatment effects",
    "the t-test",
    "bootstrapping",
];

fn long_answer(topic: &str, variant: usize) -> String {
    format!(
        "In short, {topic} matters because it changes what you can conclude from an experiment (note {variant}). \
         Start from the question the experiment answers, write down the metric and its variance, and check the \
         assumptions before reading any result. A common mistake is to treat {topic} as an afterthought; plan it \
         before launch and report it with the result."
    )
}

struct Fixture {
    _dir: tempfile::TempDir,
    config: DatasetConfig,
    planted_contaminated: Vec<String>,
}

/// Builds the temporary root and returns the config pointing at it.
fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("artifacts");
    let mut config = DatasetConfig::load(&workspace("configs/dataset.toml")).expect("config");
    config.output_root = root.clone();
    config.knowledge_dir = workspace("data/knowledge");
    config.extra_dir = dir.path().join("extra");
    config.eval_sets = vec![
        dir.path().join("curated.jsonl"),
        dir.path().join("absent.jsonl"),
    ];
    // Everything lands in train or val, so every planted contaminated pair must be removed.
    config.split.train = 0.8;
    config.split.val = 0.2;
    config.split.test = 0.0;

    // Cross Validated: accepted answer, best-answer fallback, no usable answer, a link-only
    // accepted answer, and HTML left in the text.
    let posts = vec![
        post(
            1,
            "How should I pick the sample size for a conversion test?",
            "We expect a 10% baseline and want to detect a 1 point lift.",
            vec![
                answer(11, &long_answer("sample size", 1), 3, false),
                answer(12, &long_answer("the power calculation", 2), 10, true),
            ],
        ),
        post(
            2,
            "Why does my A/A test show significant differences?",
            "Out of 20 metrics, two are significant at 5%.",
            vec![
                answer(21, &long_answer("multiple comparisons", 3), 4, false),
                answer(22, &long_answer("chance findings", 4), 1, false),
            ],
        ),
        post(
            3,
            "Is there a name for this weird plot?",
            "It looks like a funnel.",
            vec![answer(
                31,
                "looks fine to me, nothing more to add here",
                1,
                false,
            )],
        ),
        post(
            4,
            "Where can I read about sequential testing methods in detail?",
            "Looking for references.",
            vec![answer(
                41,
                "https://en.wikipedia.org/wiki/Sequential_analysis",
                8,
                true,
            )],
        ),
        post(
            5,
            "Does CUPED &amp; stratification <em>both</em> reduce variance?",
            "Both seem to use pre-period data.",
            vec![answer(
                51,
                &format!("<p>{}</p>", long_answer("CUPED", 5)),
                6,
                true,
            )],
        ),
    ];
    write_artifact(root.join("raw/cross_validated.parquet"), &posts).expect("write posts");

    // Synth: 60 distinct pairs over 20 source documents, plus an exact duplicate, a near
    // duplicate and questions planted near evaluation questions.
    let mut pairs = Vec::new();
    for (i, topic) in TOPICS.iter().enumerate() {
        for (j, form) in [
            "Explain how {} shows up in a quarterly experimentation review.",
            "Why does {} matter when reviewing an A/B test readout?",
            "How do I apply {} correctly in a product experiment?",
        ]
        .iter()
        .enumerate()
        {
            let qa_type = ["definition", "methodology", "best_practice"][j];
            let question = form.replace("{}", topic);
            pairs.push(qa(
                pairs.len(),
                &question,
                &long_answer(topic, j),
                qa_type,
                &format!("concept-{i}"),
            ));
        }
    }
    let first = pairs[0].clone();
    let mut exact = qa(
        pairs.len(),
        &format!("  {}  ", first.question.to_uppercase()),
        &first.answer,
        "definition",
        "concept-0",
    );
    exact.answer = first.answer.replace(' ', "  ");
    pairs.push(exact);
    let near = qa(
        pairs.len(),
        "How do I apply statistical power correctly in a product experiment today?",
        &long_answer("power", 9),
        "best_practice",
        "concept-0",
    );
    pairs.push(near);
    // Planted near copies of labelled knowledge-base questions (def-001 "wat is a p value",
    // def-002 "what does statistical signficance actually mean?") and of the curated question.
    let mut planted = Vec::new();
    for (question, source) in [
        ("What is a p value?", "planted-1"),
        (
            "What does statistical significance actually mean?",
            "planted-2",
        ),
        (
            "How long should I run my checkout experiment with 5000 daily visitors?",
            "planted-3",
        ),
    ] {
        let p = qa(
            pairs.len(),
            question,
            &long_answer("contamination", 7),
            "definition",
            source,
        );
        planted.push(p.qa_id.clone());
        pairs.push(p);
    }
    write_artifact(root.join("qa/synthetic.parquet"), &pairs).expect("write pairs");

    std::fs::write(
        &config.eval_sets[0],
        "{\"id\": \"cur-1\", \"question\": \"How long should I run my checkout experiment with 5,000 daily visitors?\", \"category\": \"calculation\"}\n",
    )
    .expect("write curated");

    // User folder: one JSONL and one Parquet file.
    std::fs::create_dir_all(&config.extra_dir).expect("extra dir");
    let jsonl = (0..4)
        .map(|i| serde_json::json!({
            "question": format!("In our company, who signs off on experiment {i} before launch?"),
            "answer": format!("Experiment {i} needs sign-off from the metric owner and the analyst on call; the playbook lists the checklist and the escalation path for any guardrail breach."),
            "license": "internal",
        }).to_string())
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(config.extra_dir.join("playbook.jsonl"), jsonl).expect("write jsonl");
    write_user_parquet(&config.extra_dir.join("faq.parquet"));

    Fixture {
        _dir: dir,
        config,
        planted_contaminated: planted,
    }
}

fn write_user_parquet(path: &Path) {
    use arrow::array::{ArrayRef, RecordBatch, StringArray};
    let questions: ArrayRef = Arc::new(StringArray::from(vec![
        "Which metric should be the primary metric of a pricing test?",
        "Can we run two experiments on the same page at once?",
    ]));
    let answers: ArrayRef = Arc::new(StringArray::from(vec![
        "Use revenue per visitor as the primary metric, with conversion and refunds as guardrails; decide this before launch.",
        "Yes, if assignment is independent and you check for interaction effects; overlapping tests are usually fine.",
    ]));
    let types: ArrayRef = Arc::new(StringArray::from(vec![Some("best_practice"), None]));
    let batch = RecordBatch::try_from_iter([
        ("question", questions),
        ("answer", answers),
        ("type", types),
    ])
    .expect("batch");
    let file = std::fs::File::create(path).expect("create parquet");
    let mut writer =
        parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).expect("writer");
    writer.write(&batch).expect("write");
    writer.close().expect("close");
}

fn read_splits(root: &Path) -> Vec<DatasetRow> {
    split_paths()
        .iter()
        .flat_map(|p| read_artifact::<DatasetRow>(root.join(p)).expect("read split"))
        .collect()
}

#[test]
fn the_stage_combines_cleans_dedups_splits_decontaminates_and_formats() {
    let f = fixture();
    let model = model();
    let summary =
        run_with_model(&f.config, &model, RunOptions::default(), Instant::now()).expect("run");
    let root = &f.config.output_root;

    // Rows in: 5 posts, 60 + 2 + 3 synth pairs, 4 + 2 user rows.
    assert_eq!(summary.rows_in_by_source.get("cross_validated"), Some(&5));
    assert_eq!(summary.rows_in_by_source.get("synth"), Some(&65));
    assert_eq!(
        summary.rows_in_by_source.get("user:playbook.jsonl"),
        Some(&4)
    );
    assert_eq!(summary.rows_in_by_source.get("user:faq.parquet"), Some(&2));
    let removed = |rule: &str| summary.removed_by_rule.get(rule).copied().unwrap_or(0);
    assert_eq!(
        removed("no_usable_answer"),
        1,
        "post 3 has only a score-1 answer"
    );
    assert_eq!(
        removed("mostly_link"),
        1,
        "post 4's accepted answer is a bare link"
    );
    assert_eq!(removed("exact_duplicate"), 1);
    assert_eq!(removed("near_duplicate"), 1);
    assert_eq!(removed("contaminated"), 3, "{:?}", summary.removed_by_rule);
    assert_eq!(summary.eval_questions, kb_question_count() + 1);

    let rows = read_splits(root);
    let out: usize = summary.rows_out.values().sum();
    assert_eq!(rows.len(), out);
    assert_eq!(out, 5 - 2 + 65 - 5 + 6);
    for id in &f.planted_contaminated {
        assert!(rows.iter().all(|r| &r.id != id), "planted {id} survived");
    }

    // Grouping: no source id in two splits.
    let mut split_of: HashMap<&str, &str> = HashMap::new();
    for r in &rows {
        let first = split_of.entry(&r.source_id).or_insert(&r.split);
        assert_eq!(*first, r.split, "{} spans splits", r.source_id);
    }

    // Cleaning: HTML entities and tags from post 5 are gone, attribution kept.
    let cuped = rows
        .iter()
        .find(|r| r.source_id == "cross_validated:5")
        .expect("post 5 kept");
    assert!(
        cuped.messages[1]
            .content
            .starts_with("Does CUPED & stratification both reduce variance?\n\n"),
        "{:?}",
        cuped.messages[1]
    );
    assert!(!cuped.messages[2].content.contains("<p>"));
    assert_eq!(cuped.license.as_deref(), Some("CC BY-SA 4.0"));
    let accepted = rows
        .iter()
        .find(|r| r.source_id == "cross_validated:1")
        .expect("post 1 kept");
    assert!(
        accepted.messages[2]
            .content
            .contains("the power calculation"),
        "the accepted answer wins over a lower-scored one"
    );
    let fallback = rows
        .iter()
        .find(|r| r.source_id == "cross_validated:2")
        .expect("post 2 kept");
    assert!(
        fallback.messages[2]
            .content
            .contains("multiple comparisons"),
        "the best answer above the score threshold"
    );
    assert_eq!(
        rows.iter()
            .find(|r| r.source == "user" && r.messages[1].content.starts_with("Which metric"))
            .map(|r| r.qa_type.as_str()),
        Some("best_practice")
    );

    // Formatting: ChatML text, messages as TRL expects, and token counts from the tokenizer.
    for r in &rows {
        assert_eq!(
            r.messages
                .iter()
                .map(|m| m.role.as_str())
                .collect::<Vec<_>>(),
            ["system", "user", "assistant"]
        );
        assert!(
            r.text.starts_with("<|im_start|>system\nYou are Lift"),
            "{}",
            r.text
        );
        assert!(r.text.ends_with("<|im_end|>\n"), "{:?}", r.text);
        assert_eq!(
            r.total_len_tokens as usize,
            model.tokenizer.count(&r.text).expect("count")
        );
        assert!(r.prompt_len_tokens > 0 && r.prompt_len_tokens < r.total_len_tokens);
        // The prompt's tokens are exactly the first tokens of the whole text, so a trainer can
        // mask the first `prompt_len_tokens` ids.
        let ids = model.tokenizer.encode(&r.text, false).expect("encode");
        let prompt = r
            .text
            .rsplit_once("<|im_start|>assistant\n")
            .expect("assistant turn")
            .0;
        let prompt_ids = model
            .tokenizer
            .encode(&format!("{prompt}<|im_start|>assistant\n"), false)
            .expect("encode");
        assert_eq!(prompt_ids.len(), r.prompt_len_tokens as usize);
        assert_eq!(&ids[..prompt_ids.len()], prompt_ids.as_slice());
        assert!(!r.truncated);
    }

    // The card exists and carries the figures.
    let card = std::fs::read_to_string(root.join(CARD_PATH)).expect("card");
    assert!(card.contains("| contaminated | 3 |"), "{card}");
    assert!(card.contains("| CC BY-SA 4.0 |"));
    assert!(
        card.contains("https://stats.stackexchange.com/q/1"),
        "attribution listed"
    );
    assert!(card.contains(&format!("| **all** | **{out}** |")));

    // Second run: nothing changed, nothing rebuilt; --force rebuilds the same rows.
    let again = run_with_model(&f.config, &model, RunOptions::default(), Instant::now())
        .expect("second run");
    assert!(again.up_to_date);
    assert_eq!(again.rows_out, summary.rows_out);
    let forced = run_with_model(
        &f.config,
        &model,
        RunOptions { force: true },
        Instant::now(),
    )
    .expect("forced");
    assert!(!forced.up_to_date);
    assert_eq!(
        read_splits(root),
        rows,
        "a rebuild with the same seed writes the same rows"
    );
    // A config change makes the outputs stale.
    let mut changed = f.config.clone();
    changed.seed += 1;
    let rebuilt =
        run_with_model(&changed, &model, RunOptions::default(), Instant::now()).expect("changed");
    assert!(!rebuilt.up_to_date);
}

fn kb_question_count() -> usize {
    knowledge::load(workspace("data/knowledge"))
        .expect("kb")
        .knowledge
        .questions
        .len()
}

#[test]
fn over_long_answers_are_truncated_or_dropped_by_policy() {
    let mut f = fixture();
    f.config.format.max_total_tokens = 110;
    f.config.format.min_answer_tokens = 8;
    let model = model();
    let summary =
        run_with_model(&f.config, &model, RunOptions::default(), Instant::now()).expect("run");
    let rows = read_splits(&f.config.output_root);
    assert!(summary.truncated > 0, "{summary}");
    assert_eq!(
        rows.iter().filter(|r| r.truncated).count(),
        summary.truncated
    );
    for r in &rows {
        assert!(
            r.total_len_tokens <= 110,
            "{} has {} tokens",
            r.id,
            r.total_len_tokens
        );
        assert_eq!(
            r.total_len_tokens as usize,
            model.tokenizer.count(&r.text).expect("count")
        );
    }
    let by_rule: BTreeMap<_, _> = summary.removed_by_rule.clone();
    f.config.format.truncation = TruncationPolicy::Drop;
    let dropped =
        run_with_model(&f.config, &model, RunOptions::default(), Instant::now()).expect("run");
    assert_eq!(dropped.truncated, 0);
    assert_eq!(
        dropped
            .removed_by_rule
            .get("too_many_tokens")
            .copied()
            .unwrap_or(0),
        summary.truncated,
        "every row truncated before is dropped now (rules before: {by_rule:?})"
    );
}

#[test]
fn absent_inputs_are_skipped_with_a_note_and_still_produce_all_splits() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = DatasetConfig::load(&workspace("configs/dataset.toml")).expect("config");
    config.output_root = dir.path().join("artifacts");
    config.extra_dir = dir.path().join("none");
    config.eval_sets = vec![dir.path().join("none.jsonl")];
    config.knowledge_dir = dir.path().join("no-kb");
    let summary =
        run_with_model(&config, &model(), RunOptions::default(), Instant::now()).expect("run");
    assert_eq!(summary.rows_in, 0);
    assert!(
        summary
            .notes
            .iter()
            .any(|n| n.contains("cross_validated.parquet absent")),
        "{:?}",
        summary.notes
    );
    assert!(
        summary
            .notes
            .iter()
            .any(|n| n.contains("synthetic.parquet absent"))
    );
    assert!(read_splits(&config.output_root).is_empty());
    assert!(config.output_root.join(CARD_PATH).is_file());
}

#[test]
fn invalid_configs_are_refused_with_the_reason() {
    let text = std::fs::read_to_string(workspace("configs/dataset.toml")).expect("config text");
    let bad = text.replace("train = 0.8", "train = 0.7");
    let err = DatasetConfig::parse(&bad, Path::new("dataset.toml")).expect_err("shares sum to 0.9");
    assert!(err.to_string().contains("sum to"), "{err}");
    let bad = text.replace("threshold = 0.8", "threshold = 1.5");
    assert!(DatasetConfig::parse(&bad, Path::new("dataset.toml")).is_err());
    let bad = text.replace("seed = 20261201", "seed = 20261201\nunknown_key = 1");
    assert!(DatasetConfig::parse(&bad, Path::new("dataset.toml")).is_err());
}
