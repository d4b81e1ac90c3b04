//! Tidy tests: repository rules checked by `cargo test`, so they hold on every machine and not
//! only in CI.
//!
//! Run with `LIFT_BLESS=1` to regenerate the generated part of `docs/artifacts.md` after a schema
//! change (then review the diff and bump the schema version if the change is not additive).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use crate::project_root;

/// Pipeline stages: they exchange artifacts on disk and must not depend on one another.
const STAGE_CRATES: &[&str] = &["collector", "synth", "dataset", "trainer", "evaluator"];
/// Only these may serve HTTP.
const HTTP_SERVER_CRATES: &[&str] = &["inference-api"];
/// Only these may make outbound HTTP calls.
const HTTP_CLIENT_CRATES: &[&str] = &["llm", "collector"];
/// Crates whose presence in a manifest means serving HTTP.
const HTTP_SERVER_DEPENDENCIES: &[&str] = &["axum", "tower-http", "hyper-util"];
/// Crates whose presence in a manifest means making HTTP calls.
const HTTP_CLIENT_DEPENDENCIES: &[&str] = &["reqwest", "ureq", "hyper"];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if path.is_dir() {
            if name != "target" && name != "test_data" && !name.to_string_lossy().starts_with('.') {
                rust_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn workspace_rust_files() -> Vec<PathBuf> {
    let root = project_root();
    let mut files = Vec::new();
    rust_files(&root.join("crates"), &mut files);
    rust_files(&root.join("xtask"), &mut files);
    files.sort();
    files
}

fn crate_manifests() -> BTreeMap<String, toml::Table> {
    let mut manifests = BTreeMap::new();
    let mut dirs: Vec<PathBuf> = fs::read_dir(project_root().join("crates"))
        .expect("crates/ exists")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("Cargo.toml").is_file())
        .collect();
    dirs.push(project_root().join("xtask"));
    for dir in dirs {
        let text = fs::read_to_string(dir.join("Cargo.toml")).expect("readable manifest");
        let table: toml::Table = toml::from_str(&text).expect("valid manifest");
        let name = table["package"]["name"]
            .as_str()
            .expect("package name")
            .to_owned();
        manifests.insert(name, table);
    }
    manifests
}

fn dependency_names(manifest: &toml::Table) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for section in ["dependencies", "dev-dependencies", "build-dependencies"] {
        if let Some(deps) = manifest.get(section).and_then(|d| d.as_table()) {
            names.extend(deps.keys().cloned());
        }
    }
    names
}

#[test]
fn every_rust_file_opens_with_a_module_doc() {
    let offenders: Vec<String> = workspace_rust_files()
        .into_iter()
        .filter(|path| {
            let text = fs::read_to_string(path).unwrap_or_default();
            let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
            !first.starts_with("//!")
        })
        .map(|p| p.display().to_string())
        .collect();
    assert!(
        offenders.is_empty(),
        "files without a leading //! doc: {offenders:#?}"
    );
}

#[test]
fn no_ignored_tests() {
    // Built from parts so that this file does not match itself.
    let needle = format!("#[{}", "ignore");
    let offenders: Vec<String> = workspace_rust_files()
        .into_iter()
        .filter(|p| fs::read_to_string(p).unwrap_or_default().contains(&needle))
        .map(|p| p.display().to_string())
        .collect();
    assert!(
        offenders.is_empty(),
        "ignored tests are not allowed (gate slow tests on an env var instead): {offenders:#?}"
    );
}

#[test]
fn no_should_panic_tests() {
    let needle = format!("#[{}", "should_panic");
    let offenders: Vec<String> = workspace_rust_files()
        .into_iter()
        .filter(|p| fs::read_to_string(p).unwrap_or_default().contains(&needle))
        .map(|p| p.display().to_string())
        .collect();
    assert!(
        offenders.is_empty(),
        "assert on the Err instead of should_panic: {offenders:#?}"
    );
}

#[test]
fn stage_crates_do_not_depend_on_each_other() {
    let manifests = crate_manifests();
    let mut violations = Vec::new();
    for (name, manifest) in &manifests {
        let deps = dependency_names(manifest);
        if STAGE_CRATES.contains(&name.as_str()) {
            for other in STAGE_CRATES {
                if other != name && deps.contains(*other) {
                    violations.push(format!("stage {name} depends on stage {other}"));
                }
            }
        }
        for dep in HTTP_SERVER_DEPENDENCIES {
            if deps.contains(*dep) && !HTTP_SERVER_CRATES.contains(&name.as_str()) {
                violations.push(format!(
                    "{name} depends on {dep}, but only inference-api serves HTTP"
                ));
            }
        }
        for dep in HTTP_CLIENT_DEPENDENCIES {
            if deps.contains(*dep)
                && !HTTP_CLIENT_CRATES.contains(&name.as_str())
                && name != "xtask"
            {
                violations.push(format!(
                    "{name} depends on {dep}, but only llm and collector make HTTP calls"
                ));
            }
        }
    }
    assert!(violations.is_empty(), "{violations:#?}");
}

#[test]
fn every_crate_uses_workspace_lints_and_is_listed_in_the_workspace() {
    let root: toml::Table =
        toml::from_str(&fs::read_to_string(project_root().join("Cargo.toml")).unwrap()).unwrap();
    let listed = root["workspace"]["dependencies"].as_table().unwrap();
    let mut problems = Vec::new();
    for (name, manifest) in crate_manifests() {
        let lints_ok = manifest
            .get("lints")
            .and_then(|l| l.get("workspace"))
            .and_then(|w| w.as_bool())
            == Some(true);
        if !lints_ok {
            problems.push(format!("{name}: add `[lints] workspace = true`"));
        }
        if name != "xtask" && !listed.contains_key(&name) {
            problems.push(format!(
                "{name}: list it in [workspace.dependencies] of the root Cargo.toml"
            ));
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

const GENERATED_BEGIN: &str =
    "<!-- BEGIN GENERATED SCHEMAS: `LIFT_BLESS=1 cargo test -p xtask` rewrites this part -->";
const GENERATED_END: &str = "<!-- END GENERATED SCHEMAS -->";

#[test]
fn artifact_schemas_match_docs() {
    let mut generated = String::new();
    for kind in artifacts::ArtifactKind::ALL {
        generated.push('\n');
        generated.push_str(&kind.describe_markdown());
    }
    generated.push('\n');
    let path = project_root().join("docs/artifacts.md");
    let doc = fs::read_to_string(&path).expect("docs/artifacts.md exists");
    let (Some(begin), Some(end)) = (doc.find(GENERATED_BEGIN), doc.find(GENERATED_END)) else {
        panic!("docs/artifacts.md lacks the generated-schema markers");
    };
    let current = &doc[begin + GENERATED_BEGIN.len()..end];
    if current == generated {
        return;
    }
    if std::env::var_os("LIFT_BLESS").is_some() {
        let updated = format!(
            "{}{GENERATED_BEGIN}{generated}{}",
            &doc[..begin],
            &doc[end..]
        );
        fs::write(&path, updated).unwrap();
        return;
    }
    panic!(
        "docs/artifacts.md is out of date with crates/artifacts/src/schema.rs: a schema or version changed. \
         Run `LIFT_BLESS=1 cargo test -p xtask artifact_schemas_match_docs`, review the diff, and bump the \
         schema version for any change an old reader cannot handle"
    );
}
