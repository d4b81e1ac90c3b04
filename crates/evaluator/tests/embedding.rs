//! Key-point coverage with the real MiniLM model from the asset cache: the threshold stored in
//! `configs/evaluator.toml` is the one calibration chooses on the shipped labelled pairs, with
//! the agreement the config records, and the real model separates paraphrases from unrelated
//! sentences.

mod common;

use evaluator::EvaluatorConfig;
use evaluator::metrics::KeyPointMatcher;
use graphrag::embed::{MiniLm, ModelPaths};

fn model() -> MiniLm {
    let cache = assets::AssetCache::from_env().expect("asset cache location");
    let files = cache.embedding_model().unwrap_or_else(|e| {
        panic!("MiniLM embedding model missing ({e}); run `cargo xtask setup`")
    });
    let onnxruntime = cache
        .onnxruntime_library()
        .unwrap_or_else(|e| panic!("ONNX Runtime missing ({e}); run `cargo xtask setup`"));
    let paths = ModelPaths {
        onnx: files.onnx,
        tokenizer: files.tokenizer,
        config: files.config,
        special_tokens_map: files.special_tokens_map,
        tokenizer_config: files.tokenizer_config,
        onnxruntime,
    };
    MiniLm::load(&paths, 1, 64).expect("MiniLM loads")
}

#[test]
fn configured_threshold_is_the_calibrated_one() {
    let sets = common::shipped_sets();
    let config =
        EvaluatorConfig::load(common::root().join("configs/evaluator.toml")).expect("config");
    let model = model();
    let matcher = KeyPointMatcher::new(&model, config.key_points.threshold);
    let pairs: Vec<(&str, &str)> = sets
        .calibration
        .iter()
        .map(|p| (p.sentence.as_str(), p.key_point.as_str()))
        .collect();
    let sims = matcher.pair_similarities(&pairs).expect("embeds");
    let labels: Vec<bool> = sets.calibration.iter().map(|p| p.covered).collect();
    let c = evaluator::calibrate::calibrate(&sims, &labels).expect("non-empty");
    assert!(
        (c.threshold - config.key_points.threshold).abs() < 1e-3,
        "calibration chooses {:.4} but the config says {:.4}; run `evaluator calibrate --write`",
        c.threshold,
        config.key_points.threshold
    );
    assert!((c.agreement - config.key_points.calibration_agreement).abs() < 1e-3);
    // Better than always answering the majority label.
    let majority = labels
        .iter()
        .filter(|l| **l)
        .count()
        .max(labels.iter().filter(|l| !**l).count());
    assert!(c.agreement > majority as f64 / labels.len() as f64, "{c:?}");

    // A paraphrase covers a key point; an unrelated sentence does not.
    let point = evaluator::sets::KeyPoint {
        text: "Peeking at a fixed-horizon test inflates the false positive rate.".into(),
        keywords: Vec::new(),
    };
    let yes = matcher.check("Checking the results every day and stopping when significant raises the type I error rate of a fixed-horizon test.", std::slice::from_ref(&point)).expect("checks");
    let no = matcher
        .check(
            "Our pizza dough rests for two days in the fridge.",
            &[point],
        )
        .expect("checks");
    assert!(yes[0].covered, "{yes:?}");
    assert!(!no[0].covered, "{no:?}");
}
