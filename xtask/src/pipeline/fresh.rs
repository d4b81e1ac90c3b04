//! Stage fingerprints and the pipeline's own manifest.
//!
//! Each stage's fingerprint is an `artifacts::StageFingerprint`: the hash of its settings (the
//! profile's table for it, the bytes of its config file and of every project file or folder the
//! config names) and the hash of every artifact it reads. After a stage succeeds, its outputs are
//! recorded under that fingerprint in `<artifacts>/pipeline/manifest.json` (an
//! `artifacts::Manifest` whose paths are relative to the work root, so it covers `runs/` too); a
//! later run skips the stage when `Manifest::freshness` finds every recorded output unchanged on
//! disk and the fingerprint equal. The stages' own manifest (`<artifacts>/manifest.json`) is left
//! to the stages: several of them record nothing there, and those that do hash their config in
//! their own way, which xtask cannot recompute without depending on every stage crate.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use artifacts::{Freshness, Manifest, ManifestEntry, StageFingerprint, StaleReason};

/// The manifest's directory under the artifacts root.
pub const PIPELINE_DIR: &str = "pipeline";

/// Config keys whose string values (or arrays of strings) name project files or folders a stage
/// reads; their content is part of the stage's fingerprint.
const PATH_KEYS: &[&str] = &[
    "knowledge_dir",
    "llm_config",
    "prompt",
    "eval_sets",
    "extra_dir",
    "folders",
    "sets_dir",
];

/// Hex SHA-256 of a file, or of a folder's sorted file list with each file's hash (hidden files
/// left out); a missing path hashes to `absent`, so its appearance is a change too.
pub fn hash_path(path: &Path) -> Result<String> {
    if path.is_file() {
        return artifacts::sha256_file(path).with_context(|| format!("hashing {}", path.display()));
    }
    if !path.is_dir() {
        return Ok("absent".to_owned());
    }
    let mut files = Vec::new();
    collect_files(path, path, &mut files)?;
    files.sort();
    let mut listing = Vec::new();
    for relative in files {
        let hash = artifacts::sha256_file(path.join(&relative))
            .with_context(|| format!("hashing {}", path.join(&relative).display()))?;
        listing.push((relative, hash));
    }
    Ok(artifacts::config_hash(&listing))
}

fn collect_files(base: &Path, dir: &Path, out: &mut Vec<String>) -> Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let entry = entry.with_context(|| format!("listing {}", dir.display()))?;
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            collect_files(base, &path, out)?;
        } else {
            let relative = path.strip_prefix(base).unwrap_or(&path);
            out.push(relative.display().to_string());
        }
    }
    Ok(())
}

/// The project files and folders a stage config names (see [`PATH_KEYS`]), as `project:<path>`
/// keys with their hashes, plus the config file itself.
pub fn config_inputs(root: &Path, config: &Path) -> Result<BTreeMap<String, String>> {
    let mut inputs = BTreeMap::new();
    inputs.insert(
        format!("project:{}", config.display()),
        hash_path(&root.join(config))?,
    );
    let text = std::fs::read_to_string(root.join(config))
        .with_context(|| format!("reading {}", config.display()))?;
    let table: toml::Table =
        toml::from_str(&text).with_context(|| format!("parsing {}", config.display()))?;
    let mut paths = Vec::new();
    named_paths(&toml::Value::Table(table), &mut paths);
    for path in paths {
        let p = PathBuf::from(&path);
        // Absolute paths (a user's own model files) are outside the project; only project paths
        // are fingerprinted, the way a relative path in the config is read.
        if p.is_absolute() || path.is_empty() {
            continue;
        }
        inputs.insert(format!("project:{path}"), hash_path(&root.join(&p))?);
    }
    Ok(inputs)
}

fn named_paths(value: &toml::Value, out: &mut Vec<String>) {
    let toml::Value::Table(table) = value else {
        return;
    };
    for (key, v) in table {
        if PATH_KEYS.contains(&key.as_str()) {
            match v {
                toml::Value::String(s) => out.push(s.clone()),
                toml::Value::Array(items) => {
                    out.extend(items.iter().filter_map(|i| i.as_str().map(str::to_owned)));
                }
                _ => {}
            }
        }
        named_paths(v, out);
    }
}

/// The pipeline's manifest under `<artifacts>/pipeline/`.
pub struct PipelineManifest {
    dir: PathBuf,
    work: PathBuf,
    manifest: Manifest,
}

impl PipelineManifest {
    /// Loads the manifest (empty when none exists yet); recorded paths are relative to `work`.
    pub fn load(artifacts: &Path, work: &Path) -> Result<Self> {
        let dir = artifacts.join(PIPELINE_DIR);
        let manifest = Manifest::load(&dir)
            .with_context(|| format!("reading the pipeline manifest in {}", dir.display()))?;
        Ok(Self {
            dir,
            work: work.to_path_buf(),
            manifest,
        })
    }

    /// The recorded outputs of `stage`, relative to the work root.
    pub fn outputs(&self, stage: &str) -> Vec<String> {
        self.manifest
            .artifacts
            .iter()
            .filter(|(_, e)| e.stage == stage)
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// The recorded output of `stage` whose path ends with `suffix`.
    pub fn output_ending(&self, stage: &str, suffix: &str) -> Option<PathBuf> {
        self.outputs(stage)
            .into_iter()
            .find(|k| k.ends_with(suffix))
            .map(|k| self.work.join(k))
    }

    /// Whether every recorded output of the fingerprint's stage is unchanged and was made with
    /// the same fingerprint; the reasons when not.
    pub fn freshness(&self, fingerprint: &StageFingerprint) -> Result<Freshness> {
        let outputs = self.outputs(&fingerprint.stage);
        if outputs.is_empty() {
            return Ok(Freshness::Stale(vec![StaleReason::NotRecorded]));
        }
        let mut reasons = Vec::new();
        for output in outputs {
            if let Freshness::Stale(r) = self
                .manifest
                .freshness(&self.work, &output, fingerprint)
                .with_context(|| format!("checking {output}"))?
            {
                for reason in r {
                    if !reasons.contains(&reason) {
                        reasons.push(reason);
                    }
                }
            }
        }
        Ok(if reasons.is_empty() {
            Freshness::UpToDate
        } else {
            Freshness::Stale(reasons)
        })
    }

    /// Replaces the stage's recorded outputs with `outputs` (absolute paths under the work root)
    /// and saves the manifest atomically.
    pub fn record(&mut self, fingerprint: &StageFingerprint, outputs: &[PathBuf]) -> Result<()> {
        if outputs.is_empty() {
            bail!(
                "stage {} wrote none of the outputs it should have; see its output above",
                fingerprint.stage
            );
        }
        self.manifest
            .artifacts
            .retain(|_, e| e.stage != fingerprint.stage);
        for path in outputs {
            let key = path
                .strip_prefix(&self.work)
                .with_context(|| {
                    format!(
                        "{} is outside the work root {}",
                        path.display(),
                        self.work.display()
                    )
                })?
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            let bytes = std::fs::metadata(path)
                .with_context(|| format!("reading {}", path.display()))?
                .len();
            // Parquet outputs carry their artifact name, version and rows; other files (reports,
            // adapters, stamps) are recorded by hash and size alone.
            let (artifact, schema_version, rows) = match artifacts::inspect_artifact(path) {
                Ok(h) => (h.name, h.version.to_string(), h.rows),
                Err(_) => ("file".to_owned(), String::new(), 0),
            };
            self.manifest.artifacts.insert(
                key,
                ManifestEntry {
                    artifact,
                    schema_version,
                    sha256: hash_path(path)?,
                    rows,
                    bytes,
                    stage: fingerprint.stage.clone(),
                    config_hash: fingerprint.config_hash.clone(),
                    inputs: fingerprint.inputs.clone(),
                    created_at: jiff::Timestamp::now().to_string(),
                },
            );
        }
        self.manifest
            .save(&self.dir)
            .with_context(|| format!("writing the pipeline manifest in {}", self.dir.display()))
    }
}

/// One line naming why a stage must run.
pub fn describe(reasons: &[StaleReason]) -> String {
    reasons
        .iter()
        .map(|r| match r {
            StaleReason::NotRecorded => "no recorded run".to_owned(),
            StaleReason::OutputMissing => "an output is missing".to_owned(),
            StaleReason::OutputModified => "an output was modified".to_owned(),
            StaleReason::StageChanged { recorded } => format!("recorded by stage {recorded}"),
            StaleReason::ConfigChanged => "its settings changed".to_owned(),
            StaleReason::InputChanged { path } => format!("{path} changed"),
            StaleReason::InputAdded { path } => format!("{path} is new"),
            StaleReason::InputRemoved { path } => format!("{path} is no longer read"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fingerprint(stage: &str, config: &str, input_hash: &str) -> StageFingerprint {
        StageFingerprint {
            stage: stage.to_owned(),
            config_hash: artifacts::config_hash(&config),
            inputs: BTreeMap::from([("artifacts/raw/a.parquet".to_owned(), input_hash.into())]),
        }
    }

    #[test]
    fn a_recorded_stage_is_fresh_until_its_output_settings_or_inputs_change() {
        let work = tempfile::tempdir().expect("temp dir");
        let artifacts = work.path().join("artifacts");
        std::fs::create_dir_all(artifacts.join("eval")).expect("mkdir");
        let report = artifacts.join("eval/report.md");
        std::fs::write(&report, "# report\n").expect("write");
        let fp = fingerprint("evaluate", "a", "h1");

        let mut manifest = PipelineManifest::load(&artifacts, work.path()).expect("load");
        assert_eq!(
            manifest.freshness(&fp).expect("check"),
            Freshness::Stale(vec![StaleReason::NotRecorded])
        );
        manifest
            .record(&fp, std::slice::from_ref(&report))
            .expect("record");

        let reloaded = PipelineManifest::load(&artifacts, work.path()).expect("reload");
        assert!(reloaded.freshness(&fp).expect("check").is_up_to_date());
        assert_eq!(
            reloaded.outputs("evaluate"),
            vec!["artifacts/eval/report.md"]
        );
        assert_eq!(
            reloaded
                .freshness(&fingerprint("evaluate", "b", "h1"))
                .expect("check"),
            Freshness::Stale(vec![StaleReason::ConfigChanged])
        );
        assert_eq!(
            reloaded
                .freshness(&fingerprint("evaluate", "a", "h2"))
                .expect("check"),
            Freshness::Stale(vec![StaleReason::InputChanged {
                path: "artifacts/raw/a.parquet".into()
            }])
        );
        std::fs::write(&report, "# edited\n").expect("write");
        assert_eq!(
            reloaded.freshness(&fp).expect("check"),
            Freshness::Stale(vec![StaleReason::OutputModified])
        );
    }

    #[test]
    fn a_folder_hash_changes_when_a_file_in_it_changes_or_appears() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("a.md"), "a").expect("write");
        let first = hash_path(dir.path()).expect("hash");
        assert_eq!(first, hash_path(dir.path()).expect("hash"));
        std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
        std::fs::write(dir.path().join("sub/b.md"), "b").expect("write");
        let second = hash_path(dir.path()).expect("hash");
        assert_ne!(first, second);
        std::fs::write(dir.path().join("a.md"), "changed").expect("write");
        assert_ne!(second, hash_path(dir.path()).expect("hash"));
        assert_eq!(hash_path(&dir.path().join("none")).expect("hash"), "absent");
    }
}
