//! The `synth` binary: `--dry-run` prices the sources it finds (and the seed scale without any)
//! and writes nothing; a real run with a key prints the estimate and the cap before spending,
//! and a cap too small for the first call stops it with a clear message, exit status 2 and valid
//! artifacts; without a key the default config skips the LLM generator and says why.

// Tests assert by unwrapping: a panic with the error is the failure report.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::{Command, Output};

use artifacts::{QaPair, read_artifact};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

fn synth(args: &[&str], key: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_synth"));
    command.args(args).current_dir(common::root());
    command.env_remove("ANTHROPIC_API_KEY");
    if let Some(key) = key {
        command.env("ANTHROPIC_API_KEY", key);
    }
    command.output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The shipped config with the Anthropic base URL replaced, written into `dir`.
fn config_file(dir: &Path, base_url: &str) -> String {
    let shipped = std::fs::read_to_string(common::root().join("configs/synth.toml")).unwrap();
    let patched = shipped.replace("https://api.anthropic.com", base_url);
    assert_ne!(patched, shipped);
    let path = dir.join("synth.toml");
    std::fs::write(&path, patched).unwrap();
    path.display().to_string()
}

#[test]
fn dry_run_prices_the_sources_found_and_the_seed_scale_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().display().to_string();
    let seed = synth(&["--dry-run", "--output-root", &root], None);
    assert!(seed.status.success(), "{}", text(&seed.stderr));
    let line = text(&seed.stdout);
    eprintln!("{line}");
    assert!(
        line.contains("172 sources") && line.contains("claude-sonnet-4-5"),
        "{line}"
    );
    common::write_sources(dir.path(), 3);
    let found = synth(&["--dry-run", "--output-root", &root], None);
    let line = text(&found.stdout);
    assert!(
        line.contains("3 sources") && line.contains("x 5 pairs"),
        "{line}"
    );
    assert!(!dir.path().join("qa").exists(), "a dry run wrote artifacts");
}

#[test]
fn a_cap_below_the_first_call_stops_the_run_with_exit_2_after_showing_the_estimate() {
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(MockServer::start());
    rt.block_on(
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(500))
            .expect(0)
            .mount(&server),
    );
    common::write_sources(dir.path(), 2);
    let config = config_file(dir.path(), &server.uri());
    let root = dir.path().display().to_string();
    let out = synth(
        &[
            "--config",
            &config,
            "--output-root",
            &root,
            "--generators",
            "llm",
            "--max-cost-usd",
            "0.001",
        ],
        Some("sk-ant-test"),
    );
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(2), "{stdout}\n{stderr}");
    let estimate = stdout.find("dry run:").unwrap();
    let cap = stdout.find("hard cap: $0.00").unwrap();
    assert!(
        estimate < cap && cap < stdout.find('{').unwrap(),
        "{stdout}"
    );
    assert!(
        stderr.contains("budget") && stderr.contains("--max-cost-usd"),
        "{stderr}"
    );
    assert!(!stderr.contains("sk-ant-test"));
    rt.block_on(server.verify());
    let pairs: Vec<QaPair> = read_artifact(dir.path().join("qa/synthetic.parquet")).unwrap();
    assert!(pairs.is_empty());
}

#[test]
fn without_a_key_the_default_config_skips_the_llm_generator_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    common::write_sources(dir.path(), 1);
    let root = dir.path().display().to_string();
    let out = synth(&["--output-root", &root, "--generators", "llm"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let skipped = summary["llm"]["skipped"].as_str().unwrap();
    assert!(
        skipped.contains("ANTHROPIC_API_KEY") && skipped.contains("llm.fallback"),
        "{skipped}"
    );
    assert_eq!(summary["pairs"], 0);
}

#[test]
fn a_killed_run_resumes_and_pays_only_for_the_sources_it_had_not_finished() {
    let dir = tempfile::tempdir().unwrap();
    let papers = common::write_sources(dir.path(), 5);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let slow = rt.block_on(MockServer::start());
    for (i, p) in papers.iter().enumerate() {
        // The first two sources answer at once; the third hangs until the process is killed.
        let delay = if i < 2 { 0 } else { 600 };
        rt.block_on(
            Mock::given(method("POST"))
                .and(wiremock::matchers::body_string_contains(
                    p.arxiv_id.as_str(),
                ))
                .respond_with(
                    ResponseTemplate::new(200)
                        .set_body_json(common::message(&common::grounded_reply(p)))
                        .set_delay(std::time::Duration::from_secs(delay)),
                )
                .mount(&slow),
        );
    }
    let config = config_file(dir.path(), &slow.uri());
    let patched = std::fs::read_to_string(&config)
        .unwrap()
        .replace("concurrency = 4", "concurrency = 1");
    std::fs::write(&config, patched).unwrap();
    let root = dir.path().display().to_string();
    let args = [
        "--config",
        config.as_str(),
        "--output-root",
        root.as_str(),
        "--generators",
        "llm",
    ];
    let mut child = Command::new(env!("CARGO_BIN_EXE_synth"))
        .args(args)
        .current_dir(common::root())
        .env("ANTHROPIC_API_KEY", "sk-ant-test")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let checkpoints = dir.path().join("qa/llm-checkpoints");
    let start = std::time::Instant::now();
    loop {
        let done = std::fs::read_dir(&checkpoints).map_or(0, |d| d.count());
        let asked = rt.block_on(slow.received_requests()).map_or(0, |r| r.len());
        if done == 2 && asked == 3 {
            break;
        }
        assert!(
            start.elapsed().as_secs() < 120,
            "the run never reached the third source"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!dir.path().join("qa/synthetic.parquet").exists());

    let fresh = rt.block_on(MockServer::start());
    for p in &papers {
        rt.block_on(
            Mock::given(method("POST"))
                .and(wiremock::matchers::body_string_contains(
                    p.arxiv_id.as_str(),
                ))
                .respond_with(
                    ResponseTemplate::new(200)
                        .set_body_json(common::message(&common::grounded_reply(p))),
                )
                .mount(&fresh),
        );
    }
    let config = config_file(dir.path(), &fresh.uri());
    let out = synth(
        &[
            "--config",
            &config,
            "--output-root",
            &root,
            "--generators",
            "llm",
        ],
        Some("sk-ant-test"),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let bodies: Vec<String> = rt
        .block_on(fresh.received_requests())
        .unwrap()
        .iter()
        .map(|r| text(&r.body))
        .collect();
    assert_eq!(bodies.len(), 3);
    for (i, p) in papers.iter().enumerate() {
        assert_eq!(
            bodies.iter().any(|b| b.contains(&p.arxiv_id)),
            i >= 2,
            "{}",
            p.arxiv_id
        );
    }
    let summary: serde_json::Value =
        serde_json::from_slice(&out.stdout[out.stdout.iter().position(|&b| b == b'{').unwrap()..])
            .unwrap();
    assert_eq!(summary["llm"]["sources_resumed"], 2);
    let pairs: Vec<QaPair> = read_artifact(dir.path().join("qa/synthetic.parquet")).unwrap();
    assert_eq!(pairs.len(), 25);
}
