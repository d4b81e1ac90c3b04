//! Project automation, run as `cargo xtask <command>` (the alias lives in `.cargo/config.toml`).
//!
//! Orchestration lives here rather than in shell scripts so that it is typed, tested and the same
//! on every machine. Commands:
//! - `setup`: install the Debian packages and the offline assets of `configs/assets.toml`.
//! - `test`: `setup` if anything is missing, then every test of the workspace.
//! - `ci`: what `.ci/run` runs: `fmt-check`, then `test`.
//! - `fmt-check`: `cargo fmt --check` over the workspace.
//! - `env`: print the environment variables that point builds and binaries at the assets.
//! - `validate-knowledge`: check `data/knowledge` and print its counts.
//! - `demo`: the calculator, knowledge base and collector on embedded defaults.
//! - `ask "<question>"`: setup, bring the index up to date (with progress), then answer with the
//!   whole assistant pipeline (`crates/assistant`'s `ask` binary). The README's main job.
//! - `serve [--host H] [--port N]`: setup, index, then the HTTP API (`inference-api`).
//! - `evaluate [--generate] [--run NAME]`: the comparative evaluation on `data/eval`.
//! - `pipeline [--profile P] [--from S] [--to S] [--online] [--force]`: every pipeline stage in
//!   order with manifest skips and a summary table (`pipeline` module, `docs/pipeline.md`).
//! - `test-config`: validate every config file and report which API keys are set.
//! - `check-dataset`: a small dataset from the built binaries, loaded by pandas and `datasets`
//!   through `scripts/check_dataset.py` (`check_dataset`); `.ci/run` runs it after the tests.
//! - `db up|down|status`: the SurrealDB server for the store's `ws://` mode, on loopback (`db`).
//!
//! The tidy tests (repository rules) are `#[test]`s of this crate, so `cargo test` runs them.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use anyhow::{Context, Result, bail};

mod check_dataset;
mod db;
mod pipeline;
mod setup;
mod test_config;
#[cfg(test)]
mod tidy;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  setup       install Debian packages and offline assets (idempotent)
  test        setup if needed, then run every test of the workspace
  ci          fmt-check, then test (what .ci/run runs)
  fmt-check   check formatting of the whole workspace
  env         print the environment variables pointing at the installed assets
  validate-knowledge
              check data/knowledge (ids, relations, cycles, questions) and print counts
  demo        setup, knowledge, calculator and collector on embedded defaults
  ask \"<q>\"   setup, index the knowledge base, then answer a question (the main job);
              flags after the question go to the `ask` binary (--json, --no-generate, --mode)
  evaluate    comparative evaluation on data/eval: structured answers per retrieval mode, and
              with --generate the model alone, base + GraphRAG, and the fine-tuned adapter;
              writes artifacts/eval/<run>/report.md (--run NAME, default `latest`)
  pipeline    every stage in order (collect, index, synth, dataset, train, evaluate), each skipped
              when up to date, then a summary table (--profile quick|full|tiny, --from, --to,
              --online, --force; `cargo xtask pipeline --help` for all)
  test-config validate every config file under configs/ and say which API keys are set
              (--no-build: use the stage binaries already built)
  serve       setup, index, then serve the HTTP API (--host H --port N, default 127.0.0.1:8080)
  check-dataset
              build a small dataset with the built binaries and load it with pandas and HF
              datasets (scripts/check_dataset.py, pinned packages in a cached venv)
  db up|down|status
              the SurrealDB server for the graph store's ws:// mode, in the background on
              127.0.0.1:8000 (--port, --dir, --memory; `cargo xtask db --help`)";

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Vec<String>) -> Result<()> {
    let Some((command, rest)) = args.split_first() else {
        println!("{USAGE}");
        return Ok(());
    };
    match command.as_str() {
        "setup" => {
            no_extra_args(command, rest)?;
            setup::run(&setup::Options::from_env()?).map(|_| ())
        }
        "test" => test(rest),
        "ci" => {
            no_extra_args(command, rest)?;
            fmt_check()?;
            test(&[])
        }
        "fmt-check" => {
            no_extra_args(command, rest)?;
            fmt_check()
        }
        "env" => {
            no_extra_args(command, rest)?;
            let cache = assets::AssetCache::from_env()?;
            for (key, value) in asset_env(&cache)? {
                println!("export {key}={value:?}");
            }
            Ok(())
        }
        "demo" => {
            no_extra_args(command, rest)?;
            demo()
        }
        "ask" => {
            if rest.is_empty() {
                bail!("usage: cargo xtask ask \"<question>\" [--json] [--no-generate]");
            }
            // `ask` brings the index up to date itself (with a progress bar) before answering.
            setup::run(&setup::Options::from_env()?)?;
            run_workspace_binary("ask", rest)
        }
        "serve" => {
            // The server indexes on start (`assistant.index_on_start`) while /health answers.
            setup::run(&setup::Options::from_env()?)?;
            run_workspace_binary("inference-api", rest)
        }
        "evaluate" => evaluate(rest),
        "pipeline" => pipeline::run(rest),
        "test-config" => test_config::run(rest),
        "db" => db::run(rest),
        "check-dataset" => check_dataset::run(rest),
        "validate-knowledge" => {
            no_extra_args(command, rest)?;
            validate_knowledge()
        }
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
            Ok(())
        }
        other => bail!("unknown command {other:?}\n\n{USAGE}"),
    }
}

fn no_extra_args(command: &str, rest: &[String]) -> Result<()> {
    if rest.is_empty() {
        Ok(())
    } else {
        bail!("`{command}` takes no arguments, got {rest:?}")
    }
}

/// The workspace root, from this crate's manifest directory.
pub(crate) fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}

fn fmt_check() -> Result<()> {
    println!("fmt-check: cargo fmt --all --check");
    let status = cargo_command()
        .current_dir(project_root())
        .args(["fmt", "--all", "--", "--check"])
        .status()
        .context("running cargo fmt")?;
    if !status.success() {
        bail!("code is not formatted; run `cargo fmt --all` and commit the result");
    }
    Ok(())
}

/// `cargo test` over the workspace, with the asset environment set. Extra arguments go to cargo.
fn test(extra: &[String]) -> Result<()> {
    let report = setup::run(&setup::Options::from_env()?)?;
    let cache = report.cache;
    let mut command = cargo_command();
    command
        .current_dir(project_root())
        .args(["test", "--workspace", "--no-fail-fast"])
        .args(extra);
    for (key, value) in asset_env(&cache)? {
        command.env(key, value);
    }
    println!(
        "test: cargo test --workspace --no-fail-fast {}",
        extra.join(" ")
    );
    command.stdout(Stdio::piped());
    let mut child = command.spawn().context("running cargo test")?;
    let stdout = child.stdout.take().context("cargo test has a stdout")?;
    let mut totals = TestTotals::default();
    for line in BufReader::new(stdout).lines() {
        let line = line.context("reading cargo test output")?;
        totals.add(&line);
        println!("{line}");
    }
    let status = child.wait().context("waiting for cargo test")?;
    // One closing line for the whole workspace; cargo prints one per test binary.
    println!(
        "tests: {} passed, {} failed, {} skipped",
        totals.passed, totals.failed, totals.ignored
    );
    if !status.success() {
        bail!("tests failed");
    }
    if totals.passed == 0 {
        bail!("no test ran");
    }
    Ok(())
}

/// Sums cargo's per-binary `test result:` lines.
#[derive(Debug, Default, PartialEq, Eq)]
struct TestTotals {
    passed: u64,
    failed: u64,
    ignored: u64,
}

impl TestTotals {
    fn add(&mut self, line: &str) {
        let Some(rest) = line.trim().strip_prefix("test result: ") else {
            return;
        };
        for part in rest.split(';') {
            let mut words = part.split_whitespace().rev();
            let (Some(label), Some(number)) = (words.next(), words.next()) else {
                continue;
            };
            let Ok(number) = number.parse::<u64>() else {
                continue;
            };
            match label {
                "passed" => self.passed += number,
                "failed" => self.failed += number,
                "ignored" => self.ignored += number,
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::TestTotals;

    #[test]
    fn sums_cargo_test_result_lines() {
        let mut totals = TestTotals::default();
        totals.add("test result: ok. 9 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 2.29s");
        totals
            .add("test result: FAILED. 3 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out");
        totals.add("running 5 tests");
        assert_eq!(
            totals,
            TestTotals {
                passed: 12,
                failed: 2,
                ignored: 1
            }
        );
    }
}

/// Environment variables that point builds and binaries at the installed assets: the cache, the
/// ONNX Runtime library for `ort`, and libtorch for `tch` (build and run time).
fn asset_env(cache: &assets::AssetCache) -> Result<Vec<(String, String)>> {
    let libtorch = cache.libtorch()?;
    let mut library_path: Vec<String> = libtorch
        .library_dirs
        .iter()
        .map(|d| d.display().to_string())
        .collect();
    if let Ok(existing) = std::env::var("LD_LIBRARY_PATH") {
        if !existing.is_empty() {
            library_path.push(existing);
        }
    }
    Ok(vec![
        (
            assets::CACHE_DIR_ENV.to_owned(),
            cache.root().display().to_string(),
        ),
        (
            "ORT_DYLIB_PATH".to_owned(),
            cache.onnxruntime_library()?.display().to_string(),
        ),
        (
            "LIBTORCH".to_owned(),
            libtorch.libtorch.display().to_string(),
        ),
        ("LIBTORCH_CXX11_ABI".to_owned(), "1".to_owned()),
        ("LD_LIBRARY_PATH".to_owned(), library_path.join(":")),
    ])
}

/// The main job on embedded defaults, through every component that exists today: install the
/// assets, load and validate the knowledge base, answer the design question "what sample size
/// and duration for a +5% relative lift on a 10% baseline at 80% power?" with the calculator and
/// the concepts it rests on (with their citations), and run the collector's offline source.
fn demo() -> Result<()> {
    setup::run(&setup::Options::from_env()?)?;
    let root = project_root();
    let knowledge = knowledge::load(root.join("data/knowledge"))?;
    if !knowledge.findings.is_empty() {
        bail!(
            "data/knowledge has {} problem(s); run `cargo xtask validate-knowledge`",
            knowledge.findings.len()
        );
    }
    let kb = knowledge.knowledge;
    println!(
        "\nknowledge: {} concepts, {} relations, {} playbook documents\n",
        kb.concepts.len(),
        kb.relations.len(),
        kb.playbook.len()
    );

    println!(
        "Q: What sample size do I need to detect a +5% relative lift on a 10% baseline at 80% power, and how long will it run at 20,000 users a day?\n"
    );
    cargo_run(
        "stats",
        &[
            "sample-size",
            "--baseline",
            "0.10",
            "--mde",
            "0.05",
            "--relative",
            "--power",
            "0.8",
        ],
    )?;
    println!();
    cargo_run(
        "stats",
        &[
            "duration",
            "--baseline",
            "0.10",
            "--mde",
            "0.05",
            "--relative",
            "--power",
            "0.8",
            "--daily-traffic",
            "20000",
        ],
    )?;

    println!("\nConcepts behind the answer:");
    for id in [
        "minimum-detectable-effect",
        "statistical-power",
        "sample-size",
        "test-duration",
    ] {
        let concept = kb
            .concept(id)
            .with_context(|| format!("concept {id} is missing"))?;
        println!(
            "\n## {} [concept:{}]\n{}",
            concept.name, concept.id, concept.definition
        );
        if let Some(formula) = &concept.formula {
            println!("Formula: {}", formula.text);
        }
        for source in concept.sources.iter().take(2) {
            let authors = source.authors.as_deref().unwrap_or("");
            let year = source.year.map(|y| format!(" ({y})")).unwrap_or_default();
            println!("Source: {authors}{year}, {}", source.title);
        }
    }
    println!("\nHow they connect:");
    // The drivers a user can act on when planning this test.
    let drivers = [
        "baseline-conversion-rate",
        "minimum-detectable-effect",
        "statistical-power",
        "significance-level",
        "metric-variance",
        "cuped",
        "sample-size",
    ];
    for relation in kb.relations.iter().filter(|r| {
        r.kind == knowledge::RelationKind::Affects
            && drivers.contains(&r.from.as_str())
            && (r.to == "sample-size" || r.to == "test-duration")
    }) {
        let sign = relation.sign.map(|s| format!(" ({s})")).unwrap_or_default();
        println!(
            "- {} AFFECTS {}{sign}: {}",
            relation.from, relation.to, relation.explanation
        );
    }

    println!("\nCollector, offline source (the shipped playbook):");
    cargo_run("collector", &["local", "--quiet"])
}

/// Runs one of the workspace's binaries through cargo, failing when it fails.
fn cargo_run(package: &str, args: &[&str]) -> Result<()> {
    let status = cargo_command()
        .current_dir(project_root())
        .args(["run", "--quiet", "--package", package, "--"])
        .args(args)
        .status()
        .with_context(|| format!("running {package}"))?;
    if !status.success() {
        bail!("{package} {} failed with {status}", args.join(" "));
    }
    Ok(())
}

/// Answers the evaluation sets under each configuration with the `ask` binary's batch mode,
/// then scores every configuration into one report with the evaluator (the same code as the
/// pipeline's evaluate stage, on the default paths).
fn evaluate(rest: &[String]) -> Result<()> {
    let mut generate = false;
    let mut run = "latest".to_owned();
    let mut args = rest.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--generate" => generate = true,
            "--run" => run = args.next().context("--run needs a name")?.clone(),
            other => bail!("unknown evaluate flag {other:?}; expected --generate or --run NAME"),
        }
    }
    setup::run(&setup::Options::from_env()?)?;
    let launcher = pipeline::Launcher::build_workspace()?;
    launcher.run("graphrag", &["index".to_owned()])?;
    let root = project_root();
    let plan = pipeline::EvaluatePlan {
        records_dir: root.join("artifacts/eval/records").join(&run),
        run,
        generate,
        only: None,
        sets: vec![
            PathBuf::from("data/eval/curated.jsonl"),
            PathBuf::from("data/eval/multihop.jsonl"),
        ],
        ask_args: Vec::new(),
        evaluator_args: Vec::new(),
        runs_dir: root.join("runs"),
        keywords_only: false,
    };
    pipeline::run_evaluation(&plan, &launcher).map(|_| ())
}

/// Builds every workspace binary with one cargo invocation (the pipeline's build: one feature
/// selection, so llama.cpp and SurrealDB are not rebuilt per package) and runs `bin` from the
/// project root with the asset environment, its output going straight to the terminal so that
/// streamed tokens show as they come.
fn run_workspace_binary(bin: &str, args: &[String]) -> Result<()> {
    pipeline::Launcher::build_workspace()?;
    let path = pipeline::default_bin_dir().join(bin);
    let cache = assets::AssetCache::from_env()?;
    let status = Command::new(&path)
        .current_dir(project_root())
        .args(args)
        .envs(asset_env(&cache)?)
        .status()
        .with_context(|| format!("starting {}", path.display()))?;
    if !status.success() {
        bail!("{bin} failed with {status}");
    }
    Ok(())
}

fn validate_knowledge() -> Result<()> {
    let dir = project_root().join("data/knowledge");
    let validated = knowledge::load(&dir)?;
    let counts = &validated.counts;
    println!(
        "knowledge: {} concepts, {} relations, {} playbook documents, {} questions ({} multi-hop with a path), {} worked examples",
        counts.concepts,
        counts.relations,
        counts.playbook_docs,
        counts.questions,
        counts.multi_hop_with_path,
        counts.worked_examples
    );
    let print_counts = |title: &str, map: &std::collections::BTreeMap<String, usize>| {
        println!("{title}:");
        for (key, count) in map {
            println!("  {key:<20} {count:>5}");
        }
    };
    print_counts("concepts by category", &counts.concepts_by_category);
    print_counts("relations by kind", &counts.relations_by_kind);
    print_counts("questions by intent", &counts.questions_by_intent);
    if validated.findings.is_empty() {
        println!("knowledge: valid");
        return Ok(());
    }
    for finding in &validated.findings {
        println!("data/knowledge/{finding}");
    }
    bail!("{} problem(s) in data/knowledge", validated.findings.len())
}

/// A `cargo` command without the variables `cargo run` set for this xtask process.
///
/// Build scripts that watch `CARGO_PKG_NAME`, `CARGO_MANIFEST_DIR` and the like with
/// `rerun-if-env-changed` (ring's does) compare them with cargo's own environment. Inherited
/// from `cargo xtask`, they hold xtask's values and differ from a build started in a shell,
/// so every switch between the two re-ran ring's build script and rebuilt everything above it
/// (rustls, reqwest, SurrealDB: minutes). Removing them makes both builds the same.
pub(crate) fn cargo_command() -> Command {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()));
    for (key, _) in std::env::vars_os() {
        let Some(key) = key.to_str() else { continue };
        if key.starts_with("CARGO_PKG_")
            || key.starts_with("CARGO_MANIFEST_")
            || matches!(
                key,
                "CARGO_CRATE_NAME" | "CARGO_BIN_NAME" | "CARGO_PRIMARY_PACKAGE" | "OUT_DIR"
            )
        {
            command.env_remove(key);
        }
    }
    command
}
