//! The run manifest tells a stage whether its inputs or config changed.

use artifacts::*;
use serde::Serialize;

#[derive(Serialize)]
struct DatasetConfig {
    seed: u64,
    val_share: f64,
}

fn metric(value: f64) -> RunMetric {
    RunMetric {
        run_id: "r".into(),
        stage: "collector".into(),
        step: 0,
        name: "rows".into(),
        value,
        recorded_at: Timestamp(0),
    }
}

#[test]
fn manifest_detects_changed_inputs_config_and_outputs() {
    let root = tempfile::tempdir().unwrap();
    let root = root.path();
    let input = "raw/input.parquet";
    let output = "dataset/train.parquet";
    write_artifact(root.join(input), &[metric(1.0)]).unwrap();

    let config = DatasetConfig {
        seed: 7,
        val_share: 0.1,
    };
    let fingerprint = StageFingerprint::new(root, "dataset", &config, &[input]).unwrap();

    let mut manifest = Manifest::load(root).unwrap();
    assert_eq!(
        manifest.freshness(root, output, &fingerprint).unwrap(),
        Freshness::Stale(vec![StaleReason::NotRecorded])
    );

    let written = write_artifact(root.join(output), &[metric(2.0)]).unwrap();
    manifest.record(root, &written, &fingerprint);
    manifest.save(root).unwrap();

    // Reloaded from disk, nothing changed: the stage may skip.
    let manifest = Manifest::load(root).unwrap();
    let entry = manifest.entry(output).unwrap();
    assert_eq!(entry.rows, 1);
    assert_eq!(entry.artifact, "run.metrics");
    assert_eq!(entry.schema_version, "1.0");
    assert_eq!(entry.stage, "dataset");
    let again = StageFingerprint::new(root, "dataset", &config, &[input]).unwrap();
    assert!(
        manifest
            .freshness(root, output, &again)
            .unwrap()
            .is_up_to_date()
    );

    // The input's content changes.
    write_artifact(root.join(input), &[metric(1.5)]).unwrap();
    let changed = StageFingerprint::new(root, "dataset", &config, &[input]).unwrap();
    assert_eq!(
        manifest.freshness(root, output, &changed).unwrap(),
        Freshness::Stale(vec![StaleReason::InputChanged { path: input.into() }])
    );
    write_artifact(root.join(input), &[metric(1.0)]).unwrap();

    // The config changes.
    let other_config = DatasetConfig {
        seed: 8,
        val_share: 0.1,
    };
    let changed = StageFingerprint::new(root, "dataset", &other_config, &[input]).unwrap();
    assert_eq!(
        manifest.freshness(root, output, &changed).unwrap(),
        Freshness::Stale(vec![StaleReason::ConfigChanged])
    );

    // An input is added, and the output is edited by hand.
    let extra = "raw/extra.parquet";
    write_artifact(root.join(extra), &[metric(3.0)]).unwrap();
    write_artifact(root.join(output), &[metric(9.0)]).unwrap();
    let changed = StageFingerprint::new(root, "dataset", &config, &[input, extra]).unwrap();
    assert_eq!(
        manifest.freshness(root, output, &changed).unwrap(),
        Freshness::Stale(vec![
            StaleReason::OutputModified,
            StaleReason::InputAdded { path: extra.into() }
        ])
    );

    // The output disappears.
    std::fs::remove_file(root.join(output)).unwrap();
    let reasons = manifest.freshness(root, output, &again).unwrap();
    assert_eq!(reasons, Freshness::Stale(vec![StaleReason::OutputMissing]));
}

#[test]
fn config_hash_ignores_key_order_but_not_values() {
    let a = serde_json::json!({"seed": 1, "share": 0.1});
    let b: serde_json::Value = serde_json::from_str(r#"{"share": 0.1, "seed": 1}"#).unwrap();
    let c = serde_json::json!({"seed": 2, "share": 0.1});
    assert_eq!(config_hash(&a), config_hash(&b));
    assert_ne!(config_hash(&a), config_hash(&c));
}

#[test]
fn corrupt_manifest_is_a_typed_error() {
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join(MANIFEST_FILE_NAME), "{not json").unwrap();
    let err = Manifest::load(root.path()).unwrap_err();
    assert!(
        matches!(err, ArtifactError::InvalidManifest { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("delete it"), "{err}");
}
