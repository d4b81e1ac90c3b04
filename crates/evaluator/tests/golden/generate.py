#!/usr/bin/env python3
"""Reference ROUGE-L and BLEU values for the evaluator's own implementations.

Run: python3 -m venv /tmp/venv && /tmp/venv/bin/pip install rouge-score==0.1.2 sacrebleu==2.6.0
     /tmp/venv/bin/python crates/evaluator/tests/golden/generate.py
It writes text_metrics.json beside this script (deterministic: fixed pairs, sorted keys).
ROUGE-L is rouge-score's `rougeL` without stemming (F-measure, precision, recall); BLEU is
sacrebleu's `sentence_bleu` with its defaults (13a tokenizer, exp smoothing, effective order).
"""
import json
import os

import sacrebleu
from rouge_score import rouge_scorer

PAIRS = [
    ("the cat sat on the mat", "the cat sat on the mat"),
    ("the cat is on the mat", "the cat sat on the mat"),
    ("a completely different sentence", "the cat sat on the mat"),
    ("You need 3,841 users per group for 80% power.",
     "With a 10% baseline and a 2-point MDE you need 3,841 users per group (7,682 in total) at 80% power."),
    ("The p-value is the probability of data at least this extreme if the null hypothesis is true.",
     "A p-value is the probability, assuming the null hypothesis is true, of observing data at least as extreme as the data observed."),
    ("Statistical power is the probability of detecting a true effect.",
     "Power is the probability that the test rejects the null hypothesis when the alternative is true, i.e. of detecting a real effect."),
    ("CUPED reduces variance by using pre-experiment data.",
     "CUPED (Controlled-experiment Using Pre-Experiment Data) reduces variance by regressing out a pre-period covariate; with rho = 0.6 it removes 36% of the variance."),
    ("Use Holm-Bonferroni; it is uniformly more powerful than Bonferroni.",
     "Holm's step-down procedure controls the family-wise error rate and is uniformly more powerful than Bonferroni."),
    ("peeking inflates the false positive rate", "Peeking at results and stopping early inflates the type I error rate."),
    ("SRM: p = 0.0012 < 0.001? No, so no mismatch at the 0.001 threshold.",
     "The SRM check gives p = 0.0012, which is above the 0.001 threshold, so there is no sample ratio mismatch."),
    ("short", "a much longer reference answer with many words in it"),
    ("The interval is [0.0062, 0.0852] (Clopper-Pearson, 95%).",
     "The 95% Clopper-Pearson interval is 0.0062 to 0.0852."),
    ("e.g. run for 2 weeks -- full weekly cycles!", "Run for at least two full weeks, e.g. 14 days, to cover weekly cycles."),
    ("Don't stop early & don't peek > once.", "Do not stop early, and do not peek more than once."),
    ("", "an empty hypothesis"),
    ("mean = 4.5-5.0 (n=1,000)", "mean 4.5 - 5.0 with n = 1000"),
    ("the the the the the the the", "the cat is on the mat"),
    ("Sequential testing with O'Brien-Fleming boundaries spends little alpha early.",
     "O'Brien-Fleming spending keeps early boundaries strict (z = 4.877 at the first of 5 looks) and spends most alpha at the end."),
    ("A/B test", "A/B testing compares a control and a treatment."),
    ("Bonferroni divides alpha by the number of tests: 0.05/10 = 0.005.",
     "Bonferroni tests each hypothesis at alpha / m, here 0.05 / 10 = 0.005."),
]


def main():
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
    cases = []
    for hyp, ref in PAIRS:
        r = scorer.score(ref, hyp)["rougeL"]
        b = sacrebleu.sentence_bleu(hyp, [ref])
        cases.append({
            "hypothesis": hyp,
            "reference": ref,
            "rouge_l_precision": r.precision,
            "rouge_l_recall": r.recall,
            "rouge_l_f": r.fmeasure,
            "bleu": b.score,
            "bleu_precisions": list(b.precisions),
            "bleu_bp": b.bp,
            "bleu_sys_len": b.sys_len,
            "bleu_ref_len": b.ref_len,
        })
    out = {
        "generator": "crates/evaluator/tests/golden/generate.py",
        "rouge_score": "0.1.2",
        "sacrebleu": sacrebleu.__version__,
        "cases": cases,
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "text_metrics.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
