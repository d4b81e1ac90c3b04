//! The train/validation/test split: grouped by source document, stratified by question type,
//! seeded.
//!
//! All pairs of one `source_id` form a group, and a group goes to exactly one split, so the
//! pairs of one paper, post or concept never straddle train and test. Each group's stratum is its
//! most common question type (ties broken by name). Within a stratum, groups are sorted by id and
//! shuffled with the seed, then each goes to the split furthest below its target share of that
//! stratum's rows, so every split gets about its share of every type. Sorting first makes the
//! result independent of input order.

use std::collections::BTreeMap;

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::config::SplitConfig;

/// The three splits, in output order.
pub const SPLITS: [&str; 3] = ["train", "val", "test"];

/// Assigns each item to a split index (0 train, 1 val, 2 test). `items` are
/// `(source_id, qa_type)`; the result has one index per item, in order.
pub fn assign(items: &[(&str, &str)], config: &SplitConfig, seed: u64) -> Vec<usize> {
    let mut groups: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, (source_id, _)) in items.iter().enumerate() {
        groups.entry(source_id).or_default().push(i);
    }
    let mut strata: BTreeMap<&str, Vec<(&str, usize)>> = BTreeMap::new();
    for (source_id, members) in &groups {
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for &i in members {
            *counts.entry(items[i].1).or_default() += 1;
        }
        // The most common type; BTreeMap order makes ties go to the first name.
        let stratum = counts
            .iter()
            .fold(
                ("", 0usize),
                |best, (t, &n)| if n > best.1 { (*t, n) } else { best },
            )
            .0;
        strata
            .entry(stratum)
            .or_default()
            .push((source_id, members.len()));
    }
    let shares = [config.train, config.val, config.test];
    let mut group_split: BTreeMap<&str, usize> = BTreeMap::new();
    for (stratum, mut members) in strata {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ crate::minhash::stable_hash(stratum));
        members.shuffle(&mut rng);
        let total: usize = members.iter().map(|(_, n)| n).sum();
        let mut filled = [0usize; 3];
        for (source_id, n) in members {
            // The split with the largest shortfall against its target for this stratum; a split
            // with a zero share never receives anything.
            let split = (0..3)
                .filter(|&s| shares[s] > 0.0)
                .max_by(|&a, &b| {
                    let gap = |s: usize| shares[s] * total as f64 - filled[s] as f64;
                    gap(a).total_cmp(&gap(b)).then(b.cmp(&a))
                })
                .unwrap_or(0);
            filled[split] += n;
            group_split.insert(source_id, split);
        }
    }
    items
        .iter()
        .map(|(source_id, _)| group_split.get(source_id).copied().unwrap_or(0))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shares() -> SplitConfig {
        SplitConfig {
            train: 0.8,
            val: 0.1,
            test: 0.1,
        }
    }

    #[test]
    fn shares_are_met_per_type_for_many_small_groups() {
        let ids: Vec<String> = (0..1000).map(|i| format!("doc-{i}")).collect();
        let items: Vec<(&str, &str)> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| {
                (
                    id.as_str(),
                    if i % 2 == 0 {
                        "definition"
                    } else {
                        "calculation"
                    },
                )
            })
            .collect();
        let splits = assign(&items, &shares(), 42);
        for t in ["definition", "calculation"] {
            let of_type: Vec<usize> = items
                .iter()
                .zip(&splits)
                .filter(|((_, ty), _)| *ty == t)
                .map(|(_, &s)| s)
                .collect();
            let test = of_type.iter().filter(|&&s| s == 2).count();
            assert_eq!(test, 50, "test rows of {t}");
        }
    }

    #[test]
    fn same_seed_same_split_and_input_order_does_not_matter() {
        let ids: Vec<String> = (0..50).map(|i| format!("g{}", i / 3)).collect();
        let items: Vec<(&str, &str)> = ids.iter().map(|id| (id.as_str(), "free")).collect();
        let a = assign(&items, &shares(), 7);
        let mut reversed = items.clone();
        reversed.reverse();
        let mut b = assign(&reversed, &shares(), 7);
        b.reverse();
        assert_eq!(a, b);
        let c = assign(&items, &shares(), 8);
        assert_ne!(a, c, "a different seed should move some groups");
    }
}
