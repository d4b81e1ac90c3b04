//! ROUGE-L and BLEU against the reference packages: `tests/golden/text_metrics.json` holds what
//! rouge-score 0.1.2 and sacrebleu 2.6.0 compute for fixed sentence pairs (made by
//! `tests/golden/generate.py`; Python is not needed to run this test).

use evaluator::text::{rouge_l, sentence_bleu};
use serde::Deserialize;

#[derive(Deserialize)]
struct Case {
    hypothesis: String,
    reference: String,
    rouge_l_precision: f64,
    rouge_l_recall: f64,
    rouge_l_f: f64,
    bleu: f64,
    bleu_precisions: Vec<f64>,
    bleu_bp: f64,
    bleu_sys_len: usize,
    bleu_ref_len: usize,
}

#[derive(Deserialize)]
struct Golden {
    cases: Vec<Case>,
}

fn golden() -> Golden {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/golden/text_metrics.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).expect("golden file")).expect("golden json")
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1.0)
}

#[test]
fn rouge_l_matches_rouge_score() {
    let g = golden();
    assert!(g.cases.len() >= 20);
    for c in &g.cases {
        let r = rouge_l(&c.hypothesis, &c.reference);
        assert!(
            close(r.precision, c.rouge_l_precision)
                && close(r.recall, c.rouge_l_recall)
                && close(r.f, c.rouge_l_f),
            "{:?} vs {:?}: got {r:?}, rouge-score says P {} R {} F {}",
            c.hypothesis,
            c.reference,
            c.rouge_l_precision,
            c.rouge_l_recall,
            c.rouge_l_f
        );
    }
}

#[test]
fn sentence_bleu_matches_sacrebleu() {
    let g = golden();
    let mut nontrivial = 0;
    for c in &g.cases {
        let b = sentence_bleu(&c.hypothesis, &c.reference);
        assert_eq!(
            (b.sys_len, b.ref_len),
            (c.bleu_sys_len, c.bleu_ref_len),
            "token counts of {:?} / {:?}",
            c.hypothesis,
            c.reference
        );
        assert!(
            close(b.bp, c.bleu_bp),
            "brevity penalty of {:?}: {} vs {}",
            c.hypothesis,
            b.bp,
            c.bleu_bp
        );
        for (k, (got, want)) in b.precisions.iter().zip(&c.bleu_precisions).enumerate() {
            assert!(
                close(*got, *want),
                "{}-gram precision of {:?}: {got} vs {want}",
                k + 1,
                c.hypothesis
            );
        }
        assert!(
            close(b.score, c.bleu),
            "BLEU of {:?} vs {:?}: {} vs sacrebleu {}",
            c.hypothesis,
            c.reference,
            b.score,
            c.bleu
        );
        if c.bleu > 0.0 && c.bleu < 100.0 - 1e-9 {
            nontrivial += 1;
        }
    }
    assert!(
        nontrivial >= 10,
        "the golden pairs must exercise partial matches"
    );
}
