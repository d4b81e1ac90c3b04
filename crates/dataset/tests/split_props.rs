//! Property tests of the grouped, stratified split: no source document ever spans two splits,
//! every row is assigned, and the same seed gives the same split whatever the input order.

use dataset::config::SplitConfig;
use dataset::split::assign;
use proptest::prelude::*;

const TYPES: [&str; 4] = ["definition", "calculation", "comparison", "free"];

fn shares() -> impl Strategy<Value = SplitConfig> {
    (0.0f64..1.0, 0.0f64..1.0).prop_map(|(a, b)| {
        let (lo, hi) = if a < b { (a, b) } else { (b, a) };
        SplitConfig {
            train: lo,
            val: hi - lo,
            test: 1.0 - hi,
        }
    })
}

proptest! {
    #[test]
    fn no_source_id_spans_two_splits(
        rows in prop::collection::vec((0usize..40, 0usize..4), 0..400),
        config in shares(),
        seed in any::<u64>(),
    ) {
        let ids: Vec<String> = rows.iter().map(|(g, _)| format!("doc:{g}")).collect();
        let items: Vec<(&str, &str)> = rows
            .iter()
            .zip(&ids)
            .map(|((_, t), id)| (id.as_str(), TYPES[*t]))
            .collect();
        let splits = assign(&items, &config, seed);
        prop_assert_eq!(splits.len(), items.len());
        let mut seen = std::collections::HashMap::new();
        for ((id, _), &s) in items.iter().zip(&splits) {
            prop_assert!(s < 3);
            let share = [config.train, config.val, config.test][s];
            prop_assert!(share > 0.0, "a split with share 0 received {}", id);
            let first = *seen.entry(*id).or_insert(s);
            prop_assert_eq!(first, s, "{} is in two splits", id);
        }
        // The split depends on the data, not on the order it arrives in.
        let mut reversed = items.clone();
        reversed.reverse();
        let mut again = assign(&reversed, &config, seed);
        again.reverse();
        prop_assert_eq!(again, splits);
    }
}
