//! MinHash signatures and locality-sensitive hashing over word or character shingles.
//!
//! Each shingle is hashed once (FNV-1a, then a SplitMix64 finaliser), and the `num_perm`
//! permutations are the seeded universal family `h_i(x) = (a_i·x + b_i) mod (2^61 − 1)`. The band
//! count `b` and rows per band `r` are chosen from the similarity threshold by minimising the
//! equally weighted false-positive and false-negative areas under the S-curve `1 − (1 − s^r)^b`,
//! the method `datasketch` uses. LSH only proposes candidates: every candidate is confirmed with
//! the exact Jaccard similarity of the shingle sets, so the threshold means what it says.

use std::collections::{HashMap, HashSet};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::config::{MinHashConfig, ShingleUnit};

const MERSENNE_61: u64 = (1 << 61) - 1;

/// Lowercases and keeps only letters and digits, separated by single spaces: the text that
/// shingles and exact-duplicate keys are built from.
pub fn normalize_for_matching(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.push(c);
        } else {
            space = true;
        }
    }
    out
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// A stable 64-bit hash of a string (the same on every platform and Rust version).
pub fn stable_hash(text: &str) -> u64 {
    splitmix(fnv1a(text.as_bytes()))
}

/// The hashed shingles of `text` (normalized first). A text shorter than one shingle becomes a
/// single shingle of all of it; an empty text has none.
pub fn shingles(text: &str, unit: ShingleUnit, size: usize) -> HashSet<u64> {
    let normalized = normalize_for_matching(text);
    let mut set = HashSet::new();
    match unit {
        ShingleUnit::Words => {
            let words: Vec<&str> = normalized.split(' ').filter(|w| !w.is_empty()).collect();
            if words.is_empty() {
                return set;
            }
            if words.len() <= size {
                set.insert(stable_hash(&words.join(" ")));
            } else {
                for window in words.windows(size) {
                    set.insert(stable_hash(&window.join(" ")));
                }
            }
        }
        ShingleUnit::Chars => {
            let chars: Vec<char> = normalized.chars().collect();
            if chars.is_empty() {
                return set;
            }
            if chars.len() <= size {
                set.insert(stable_hash(&normalized));
            } else {
                for window in chars.windows(size) {
                    set.insert(stable_hash(&window.iter().collect::<String>()));
                }
            }
        }
    }
    set
}

/// Exact Jaccard similarity of two shingle sets.
pub fn jaccard(a: &HashSet<u64>, b: &HashSet<u64>) -> f64 {
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    let (small, large) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    let inter = small.iter().filter(|x| large.contains(x)).count();
    inter as f64 / (a.len() + b.len() - inter) as f64
}

/// The seeded hash family.
#[derive(Debug, Clone)]
pub struct MinHasher {
    a: Vec<u64>,
    b: Vec<u64>,
}

impl MinHasher {
    /// `num_perm` permutations drawn from `seed`.
    pub fn new(num_perm: usize, seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let a = (0..num_perm)
            .map(|_| rng.random_range(1..MERSENNE_61))
            .collect();
        let b = (0..num_perm)
            .map(|_| rng.random_range(0..MERSENNE_61))
            .collect();
        Self { a, b }
    }

    /// The signature: per permutation, the smallest permuted shingle hash.
    pub fn signature(&self, shingles: &HashSet<u64>) -> Vec<u64> {
        let mut sig = vec![u64::MAX; self.a.len()];
        for &s in shingles {
            let x = u128::from(s % MERSENNE_61);
            for (i, slot) in sig.iter_mut().enumerate() {
                let h = ((u128::from(self.a[i]) * x + u128::from(self.b[i]))
                    % u128::from(MERSENNE_61)) as u64;
                if h < *slot {
                    *slot = h;
                }
            }
        }
        sig
    }
}

/// Bands and rows per band for `threshold` with at most `num_perm` hash functions.
pub fn optimal_bands_rows(threshold: f64, num_perm: usize) -> (usize, usize) {
    let integrate = |f: &dyn Fn(f64) -> f64, lo: f64, hi: f64| -> f64 {
        let steps = 200;
        let h = (hi - lo) / steps as f64;
        (0..steps)
            .map(|i| f(lo + (i as f64 + 0.5) * h) * h)
            .sum::<f64>()
    };
    let mut best = (1, num_perm);
    let mut best_error = f64::INFINITY;
    for bands in 1..=num_perm {
        let max_rows = num_perm / bands;
        for rows in 1..=max_rows {
            let (b, r) = (bands as f64, rows as i32);
            let fp = integrate(&|s| 1.0 - (1.0 - s.powi(r)).powf(b), 0.0, threshold);
            let fn_ = integrate(&|s| (1.0 - s.powi(r)).powf(b), threshold, 1.0);
            let error = 0.5 * fp + 0.5 * fn_;
            if error < best_error {
                best_error = error;
                best = (bands, rows);
            }
        }
    }
    best
}

/// Documents indexed by band, with their shingle sets for exact confirmation.
#[derive(Debug)]
pub struct LshIndex {
    hasher: MinHasher,
    unit: ShingleUnit,
    size: usize,
    threshold: f64,
    bands: usize,
    rows: usize,
    buckets: HashMap<(usize, u64), Vec<usize>>,
    sets: Vec<HashSet<u64>>,
    labels: Vec<String>,
}

/// A confirmed match in an [`LshIndex`].
#[derive(Debug, Clone, PartialEq)]
pub struct LshMatch {
    /// The label given when the matched document was inserted.
    pub label: String,
    /// Its exact Jaccard similarity to the query.
    pub similarity: f64,
}

impl LshIndex {
    /// An empty index with the config's shingles, threshold and band layout, hashed with `seed`.
    pub fn new(config: &MinHashConfig, seed: u64) -> Self {
        let (bands, rows) = optimal_bands_rows(config.threshold, config.num_perm);
        Self {
            hasher: MinHasher::new(bands * rows, seed),
            unit: config.shingle,
            size: config.shingle_size,
            threshold: config.threshold,
            bands,
            rows,
            buckets: HashMap::new(),
            sets: Vec::new(),
            labels: Vec::new(),
        }
    }

    /// The band layout chosen from the threshold.
    pub fn bands_rows(&self) -> (usize, usize) {
        (self.bands, self.rows)
    }

    /// Documents indexed.
    pub fn len(&self) -> usize {
        self.sets.len()
    }

    /// Whether nothing is indexed.
    pub fn is_empty(&self) -> bool {
        self.sets.is_empty()
    }

    fn band_keys(&self, set: &HashSet<u64>) -> Vec<(usize, u64)> {
        let sig = self.hasher.signature(set);
        sig.chunks(self.rows)
            .take(self.bands)
            .enumerate()
            .map(|(band, rows)| {
                let key = rows
                    .iter()
                    .fold(0xcbf2_9ce4_8422_2325u64, |h, v| splitmix(h ^ v));
                (band, key)
            })
            .collect()
    }

    /// The most similar indexed document at or above the threshold, if any.
    pub fn query(&self, text: &str) -> Option<LshMatch> {
        let set = shingles(text, self.unit, self.size);
        self.query_set(&set)
    }

    fn query_set(&self, set: &HashSet<u64>) -> Option<LshMatch> {
        if set.is_empty() {
            return None;
        }
        let mut seen = HashSet::new();
        let mut best: Option<LshMatch> = None;
        for key in self.band_keys(set) {
            for &doc in self.buckets.get(&key).map(Vec::as_slice).unwrap_or(&[]) {
                if !seen.insert(doc) {
                    continue;
                }
                let similarity = jaccard(set, &self.sets[doc]);
                if similarity >= self.threshold
                    && best.as_ref().is_none_or(|b| similarity > b.similarity)
                {
                    best = Some(LshMatch {
                        label: self.labels[doc].clone(),
                        similarity,
                    });
                }
            }
        }
        best
    }

    /// Indexes `text` under `label`. Texts without shingles are not indexed.
    pub fn insert(&mut self, text: &str, label: impl Into<String>) {
        let set = shingles(text, self.unit, self.size);
        self.insert_set(set, label.into());
    }

    fn insert_set(&mut self, set: HashSet<u64>, label: String) {
        if set.is_empty() {
            return;
        }
        let doc = self.sets.len();
        for key in self.band_keys(&set) {
            self.buckets.entry(key).or_default().push(doc);
        }
        self.sets.push(set);
        self.labels.push(label);
    }

    /// Queries `text` and, when nothing matches, inserts it: the streaming keep-first dedup step.
    pub fn query_or_insert(&mut self, text: &str, label: impl Into<String>) -> Option<LshMatch> {
        let set = shingles(text, self.unit, self.size);
        match self.query_set(&set) {
            Some(m) => Some(m),
            None => {
                self.insert_set(set, label.into());
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DedupField;

    fn config(threshold: f64) -> MinHashConfig {
        MinHashConfig {
            shingle: ShingleUnit::Words,
            shingle_size: 3,
            threshold,
            num_perm: 128,
            field: DedupField::Question,
        }
    }

    #[test]
    fn band_layout_follows_the_threshold() {
        let (b_low, r_low) = optimal_bands_rows(0.3, 128);
        let (b_high, r_high) = optimal_bands_rows(0.9, 128);
        assert!(b_low * r_low <= 128 && b_high * r_high <= 128);
        // A higher threshold needs more rows per band (a steeper, later S-curve).
        assert!(r_high > r_low, "{r_low} rows at 0.3 vs {r_high} at 0.9");
        // The S-curve's midpoint (1/b)^(1/r) lands near the threshold.
        let mid = (1.0 / b_high as f64).powf(1.0 / r_high as f64);
        assert!((mid - 0.9).abs() < 0.1, "midpoint {mid}");
    }

    #[test]
    fn signatures_estimate_jaccard() {
        let hasher = MinHasher::new(256, 7);
        let a: HashSet<u64> = (0..200).collect();
        let b: HashSet<u64> = (100..300).collect();
        let (sa, sb) = (hasher.signature(&a), hasher.signature(&b));
        let estimate = sa.iter().zip(&sb).filter(|(x, y)| x == y).count() as f64 / 256.0;
        // True Jaccard is 100 / 300.
        assert!((estimate - 1.0 / 3.0).abs() < 0.1, "estimate {estimate}");
    }

    #[test]
    fn near_duplicates_are_found_and_different_texts_are_not() {
        let mut index = LshIndex::new(&config(0.7), 1);
        index.insert(
            "How do I choose the sample size for an A/B test with a binary conversion metric and a two sided alternative",
            "a",
        );
        let near = index.query("How do I choose the sample size for an A/B test with a binary conversion metric and a two-sided alternative?");
        assert_eq!(near.map(|m| m.label), Some("a".to_owned()));
        assert_eq!(index.query("What is the difference between a Bayesian credible interval and a frequentist confidence interval"), None);
    }

    #[test]
    fn normalization_ignores_case_and_punctuation() {
        assert_eq!(
            normalize_for_matching("  What's a P-value?! "),
            "what s a p value"
        );
    }
}
