//! Calibration of the key-point similarity threshold on hand-labelled pairs: the threshold that
//! maximises agreement between "similarity ≥ threshold" and the human "covered" label.

use serde::{Deserialize, Serialize};

/// The chosen threshold and how well it agrees with the labels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// Cosine similarity at or above which a pair counts as covered.
    pub threshold: f32,
    /// Share of pairs where the rule agrees with the label.
    pub agreement: f64,
    /// Pairs used.
    pub pairs: usize,
    /// Covered by label and by rule.
    pub true_positive: usize,
    /// Not covered by label, covered by rule.
    pub false_positive: usize,
    /// Not covered by either.
    pub true_negative: usize,
    /// Covered by label, not by rule.
    pub false_negative: usize,
}

/// Counts agreement of `sim >= threshold` with `labels`.
pub fn evaluate(similarities: &[f32], labels: &[bool], threshold: f32) -> Calibration {
    let (mut tp, mut fp, mut tn, mut fneg) = (0, 0, 0, 0);
    for (s, l) in similarities.iter().zip(labels) {
        match (*s >= threshold, *l) {
            (true, true) => tp += 1,
            (true, false) => fp += 1,
            (false, false) => tn += 1,
            (false, true) => fneg += 1,
        }
    }
    let pairs = similarities.len().min(labels.len());
    Calibration {
        threshold,
        agreement: if pairs == 0 {
            0.0
        } else {
            (tp + tn) as f64 / pairs as f64
        },
        pairs,
        true_positive: tp,
        false_positive: fp,
        true_negative: tn,
        false_negative: fneg,
    }
}

/// The threshold with the highest agreement. Candidates are the midpoints between consecutive
/// distinct similarities (and points just outside the range); among equally good candidates the
/// middle one is taken, so the threshold sits inside the best interval rather than on its edge.
pub fn calibrate(similarities: &[f32], labels: &[bool]) -> Option<Calibration> {
    if similarities.is_empty() || similarities.len() != labels.len() {
        return None;
    }
    let mut sorted: Vec<f32> = similarities
        .iter()
        .copied()
        .filter(|s| s.is_finite())
        .collect();
    sorted.sort_by(f32::total_cmp);
    sorted.dedup();
    let first = *sorted.first()?;
    let last = *sorted.last()?;
    let mut candidates = vec![first - 1e-3];
    candidates.extend(sorted.windows(2).map(|w| (w[0] + w[1]) / 2.0));
    candidates.push(last + 1e-3);
    let scored: Vec<Calibration> = candidates
        .iter()
        .map(|t| evaluate(similarities, labels, *t))
        .collect();
    let best = scored.iter().map(|c| c.agreement).fold(f64::MIN, f64::max);
    let winners: Vec<&Calibration> = scored.iter().filter(|c| c.agreement == best).collect();
    winners.get(winners.len() / 2).map(|c| (*c).clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separable_labels_give_full_agreement_between_the_classes() {
        let sims = [0.1, 0.2, 0.3, 0.6, 0.7, 0.8];
        let labels = [false, false, false, true, true, true];
        let c = calibrate(&sims, &labels).expect("non-empty");
        assert_eq!(c.agreement, 1.0);
        assert!(c.threshold > 0.3 && c.threshold <= 0.6, "{}", c.threshold);
    }

    #[test]
    fn overlapping_labels_report_the_errors() {
        let sims = [0.1, 0.5, 0.4, 0.9];
        let labels = [false, false, true, true];
        let c = calibrate(&sims, &labels).expect("non-empty");
        assert_eq!(c.agreement, 0.75);
        assert_eq!(c.false_positive + c.false_negative, 1);
    }
}
