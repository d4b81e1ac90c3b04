//! The `graphrag` binary against an on-disk (surrealkv) store indexed from a slice of the
//! shipped knowledge base: every command's `--json`, clear errors for bad input, and the lock
//! a second process meets while the store is open.

mod common;

use std::process::{Command, Output};

use graphrag::config::IndexConfig;
use graphrag::corpus::load_knowledge;
use graphrag::index::{NoProgress, index};
use graphrag::store::Store;

fn graphrag(location: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_graphrag"))
        .arg("--store")
        .arg(location)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the binary runs")
}

fn json(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("valid JSON on stdout")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_commands_speak_json_and_fail_clearly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let location = format!("surrealkv://{}", dir.path().join("db").display());
    let missing = graphrag(&location, &["info"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stderr(&missing).contains("run `graphrag index` first"),
        "{}",
        stderr(&missing)
    );

    let mut kb = load_knowledge(&common::knowledge_dir()).expect("knowledge");
    let keep = [
        "p-value",
        "significance-level",
        "type-i-error",
        "sample-size",
        "statistical-power",
        "cuped",
        "test-duration",
        "metric-variance",
    ];
    kb.concepts.retain(|c| keep.contains(&c.id.as_str()));
    kb.relations
        .retain(|r| keep.contains(&r.from.as_str()) && keep.contains(&r.to.as_str()));
    let config = common::store_config(&location, "graphrag");
    {
        let store = Store::open(&config).await.expect("open");
        index(
            &store,
            common::embedder().as_ref(),
            &kb,
            &[],
            &IndexConfig::default(),
            &NoProgress,
        )
        .await
        .expect("index");

        // While this process holds the store, another one is told so.
        let locked = graphrag(&location, &["info"]);
        assert_eq!(locked.status.code(), Some(1));
        assert!(
            stderr(&locked).contains("locked by another process"),
            "{}",
            stderr(&locked)
        );
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;

    let info = json(&graphrag(&location, &["info", "--json"]));
    assert_eq!(info["indexed"], true);
    assert_eq!(info["counts"]["concepts"], keep.len());

    let path = json(&graphrag(
        &location,
        &["path", "cuped", "test-duration", "--json"],
    ));
    assert_eq!(path["nodes"][0], "cuped");
    assert!(path["steps"][0]["edge"]["explanation"].is_string());

    let near = json(&graphrag(
        &location,
        &["neighbors", "sample-size", "--depth", "1", "--json"],
    ));
    assert!(near.as_array().is_some_and(|a| a.len() > 1));

    let found = json(&graphrag(
        &location,
        &["entities", "wat is a pvalue", "--json"],
    ));
    assert_eq!(found[0]["concept"], "p-value");

    let ctx = json(&graphrag(
        &location,
        &[
            "search",
            "how does CUPED shorten tests",
            "--mode",
            "graph",
            "--k",
            "3",
            "--json",
        ],
    ));
    assert!(
        ctx["items"]
            .as_array()
            .is_some_and(|a| !a.is_empty() && a.len() <= 3)
    );
    assert_eq!(ctx["mode"], "graph");

    for (args, expected) in [
        (vec!["search", ""], "the question is empty"),
        (vec!["search", "x", "--mode", "magic"], "unknown mode"),
        (vec!["path", "cupedd", "p-value"], "did you mean \"cuped\""),
        (
            vec!["neighbors", "p-value", "--kinds", "LIKES"],
            "unknown relation kind",
        ),
        (
            vec!["neighbors", "p-value", "--direction", "sideways"],
            "unknown direction",
        ),
    ] {
        let out = graphrag(&location, &args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(
            stderr(&out).contains(expected),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    let bad = graphrag("postgres://nowhere", &["info"]);
    assert!(
        stderr(&bad).contains("unsupported store location"),
        "{}",
        stderr(&bad)
    );

    // The failed commands left the store as it was.
    let after = json(&graphrag(&location, &["info", "--json"]));
    assert_eq!(after["counts"], info["counts"]);
}
