//! `cargo xtask test-config`: validates every config file under `configs/` with the code that
//! reads it, and says which API keys the configs name are set, without printing any of them.
//!
//! Stage configs are checked by their own binaries (`collector --dry-run`, `synth --dry-run`,
//! `dataset --check`, `trainer --check`, `evaluator check-sets`), so the check is the stage's real
//! parser and validation rather than a copy of it; xtask stays free of the stage crates. Pipeline
//! profiles and the asset catalogue are parsed here with their own types. Files whose binaries
//! have no validate mode (the assistant, GraphRAG, server and language-model settings, prompts)
//! are checked as TOML and reported as such.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::pipeline::{Launcher, PROFILE_DIR, Profile, default_bin_dir};
use crate::project_root;

/// Environment variables named in code rather than in a config: the Anthropic key is read by
/// `llm` when `synth` or the assistant selects that provider.
const KNOWN_KEYS: &[&str] = &["ANTHROPIC_API_KEY"];

/// How one file is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Checker {
    Collector,
    Synth,
    Dataset,
    Trainer,
    Evaluator,
    Profile,
    Assets,
    Toml,
}

impl Checker {
    fn label(self) -> &'static str {
        match self {
            Self::Collector => "collector --dry-run",
            Self::Synth => "synth --dry-run",
            Self::Dataset => "dataset --check",
            Self::Trainer => "trainer --check",
            Self::Evaluator => "evaluator check-sets",
            Self::Profile => "pipeline profile",
            Self::Assets => "asset catalogue",
            Self::Toml => "TOML syntax only (its binary has no validate mode)",
        }
    }
}

/// `test-config [--no-build]`.
pub fn run(args: &[String]) -> Result<()> {
    let build = match args {
        [] => true,
        [flag] if flag == "--no-build" => false,
        other => bail!("test-config takes only --no-build, got {other:?}"),
    };
    let root = project_root();
    let mut files = Vec::new();
    toml_files(&root.join("configs"), &mut files)?;
    files.sort();
    let checkers = classify(&root, &files);
    let launcher = if checkers.values().any(|c| needs_binary(*c)) {
        Some(if build {
            Launcher::build_workspace()?
        } else {
            Launcher::existing(&default_bin_dir())?
        })
    } else {
        None
    };
    let mut failures = 0;
    let mut env_names = BTreeSet::new();
    for file in &files {
        let relative = file.strip_prefix(&root).unwrap_or(file);
        let checker = checkers.get(file).copied().unwrap_or(Checker::Toml);
        let result = parse_toml(file).and_then(|table| {
            env_names.extend(env_var_names(&toml::Value::Table(table)));
            check(&root, relative, checker, launcher.as_ref())
        });
        match result {
            Ok(()) => println!("ok      {:<45} {}", relative.display(), checker.label()),
            Err(e) => {
                failures += 1;
                println!(
                    "FAILED  {:<45} {}: {e:#}",
                    relative.display(),
                    checker.label()
                );
            }
        }
    }
    env_names.extend(KNOWN_KEYS.iter().map(|k| (*k).to_owned()));
    println!("\nAPI keys and tokens (values never printed):");
    for name in &env_names {
        let set = std::env::var(name).is_ok_and(|v| !v.trim().is_empty());
        println!("  {name:<22} {}", if set { "set" } else { "not set" });
    }
    if failures > 0 {
        bail!("{failures} config file(s) failed validation; see the lines marked FAILED");
    }
    println!("\ntest-config: {} config files valid", files.len());
    Ok(())
}

fn needs_binary(checker: Checker) -> bool {
    !matches!(checker, Checker::Profile | Checker::Assets | Checker::Toml)
}

fn toml_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let path = entry
            .with_context(|| format!("listing {}", dir.display()))?
            .path();
        if path.is_dir() {
            toml_files(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "toml") {
            out.push(path);
        }
    }
    Ok(())
}

/// Which checker reads each file: the shipped names, and every file a pipeline profile names for
/// a stage.
fn classify(root: &Path, files: &[PathBuf]) -> BTreeMap<PathBuf, Checker> {
    let mut out = BTreeMap::new();
    for file in files {
        let relative = file.strip_prefix(root).unwrap_or(file);
        // By file name, wherever it sits: a profile's own copy of a stage config
        // (`configs/pipeline/qa-test/collector.toml`) is that stage's file too.
        let name = relative
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let checker = if relative.parent() == Some(Path::new(PROFILE_DIR)) {
            Checker::Profile
        } else if relative == Path::new("configs/assets.toml") {
            Checker::Assets
        } else if name == "collector.toml" {
            Checker::Collector
        } else if name == "synth.toml" {
            Checker::Synth
        } else if name == "dataset.toml" {
            Checker::Dataset
        } else if name == "evaluator.toml" {
            Checker::Evaluator
        } else if name.starts_with("train") {
            Checker::Trainer
        } else {
            Checker::Toml
        };
        out.insert(file.clone(), checker);
    }
    // A profile's stage configs are checked by that stage, whatever they are called; an invalid
    // profile is reported on its own line.
    for file in files {
        if out.get(file) != Some(&Checker::Profile) {
            continue;
        }
        let Ok((profile, _)) = Profile::load(root, &file.to_string_lossy()) else {
            continue;
        };
        for (path, checker) in [
            (&profile.collect.config, Checker::Collector),
            (&profile.synth.config, Checker::Synth),
            (&profile.dataset.config, Checker::Dataset),
            (&profile.train.config, Checker::Trainer),
            (&profile.evaluate.config, Checker::Evaluator),
        ] {
            out.insert(root.join(path), checker);
        }
    }
    out
}

fn parse_toml(path: &Path) -> Result<toml::Table> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("{} is not valid TOML", path.display()))
}

fn check(
    root: &Path,
    relative: &Path,
    checker: Checker,
    launcher: Option<&Launcher>,
) -> Result<()> {
    let config = relative.display().to_string();
    let binary = |bin: &str, args: &[&str]| -> Result<()> {
        let launcher = launcher.context("the stage binaries are not available")?;
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        launcher.check(bin, &args)
    };
    match checker {
        Checker::Toml => Ok(()),
        Checker::Profile => Profile::load(root, &config).map(|_| ()),
        Checker::Assets => {
            let text = std::fs::read_to_string(root.join(relative))?;
            assets::Catalog::parse(&text)
                .map(|_| ())
                .context("not a valid asset catalogue")
        }
        Checker::Collector => binary("collector", &["--config", &config, "--dry-run", "all"]),
        Checker::Synth => binary("synth", &["--config", &config, "--dry-run"]),
        Checker::Dataset => binary("dataset", &["--config", &config, "--check"]),
        Checker::Trainer => binary("trainer", &["--config", &config, "--check"]),
        Checker::Evaluator => binary("evaluator", &["--config", &config, "check-sets"]),
    }
}

/// Names of environment variables a config points at: string values of keys ending in `_env`.
fn env_var_names(value: &toml::Value) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    if let toml::Value::Table(table) = value {
        for (key, v) in table {
            match v {
                toml::Value::String(s) if key.ends_with("_env") && !s.trim().is_empty() => {
                    names.insert(s.clone());
                }
                toml::Value::Table(_) => names.extend(env_var_names(v)),
                toml::Value::Array(items) => {
                    for item in items {
                        names.extend(env_var_names(item));
                    }
                }
                _ => {}
            }
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_var_names_are_found_at_any_depth_and_only_under_env_keys() {
        let table: toml::Table = toml::from_str(
            "key_env = \"STACKEXCHANGE_KEY\"\nname = \"NOT_A_KEY\"\n[server.auth]\ntoken_env = \"LIFT_API_TOKEN\"\n[[models]]\napi_key_env = \"OTHER\"\n",
        )
        .expect("valid TOML");
        let names = env_var_names(&toml::Value::Table(table));
        assert_eq!(
            names.into_iter().collect::<Vec<_>>(),
            vec!["LIFT_API_TOKEN", "OTHER", "STACKEXCHANGE_KEY"]
        );
    }

    #[test]
    fn every_shipped_stage_config_has_a_real_checker() {
        let root = project_root();
        let mut files = Vec::new();
        toml_files(&root.join("configs"), &mut files).expect("configs/ lists");
        let checkers = classify(&root, &files);
        let of = |p: &str| checkers.get(&root.join(p)).copied();
        assert_eq!(of("configs/collector.toml"), Some(Checker::Collector));
        assert_eq!(of("configs/train-smollm2-cpu.toml"), Some(Checker::Trainer));
        assert_eq!(of("configs/pipeline/tiny.toml"), Some(Checker::Profile));
        assert_eq!(
            of("configs/pipeline/tiny/train.toml"),
            Some(Checker::Trainer)
        );
        assert_eq!(of("configs/assets.toml"), Some(Checker::Assets));
        assert_eq!(
            of("configs/pipeline/qa-test/collector.toml"),
            Some(Checker::Collector)
        );
        assert_eq!(of("configs/llm.toml"), Some(Checker::Toml));
    }
}
