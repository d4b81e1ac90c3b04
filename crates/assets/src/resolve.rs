//! The asset cache on disk and the typed accessors binaries use.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::{AssetSpec, Catalog, CatalogError};

/// Environment variable overriding the cache directory.
pub const CACHE_DIR_ENV: &str = "LIFT_CACHE_DIR";

/// Why an asset cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum AssetError {
    /// The catalogue is broken.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// No cache directory can be determined.
    #[error(
        "cannot choose an asset cache directory: neither {CACHE_DIR_ENV}, XDG_CACHE_HOME nor HOME is set"
    )]
    NoCacheDir,
    /// The asset name is not in the catalogue.
    #[error("unknown asset {name}; configs/assets.toml lists {known}")]
    Unknown {
        /// The name asked for.
        name: String,
        /// The names available.
        known: String,
    },
    /// The asset is missing or damaged.
    #[error("asset {name} is not usable ({status}) in {dir}; run `cargo xtask setup`")]
    NotInstalled {
        /// The asset.
        name: String,
        /// Where it was looked for.
        dir: PathBuf,
        /// What is wrong.
        status: AssetStatus,
    },
    /// Reading a file to hash it failed.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// The state of one asset on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssetStatus {
    /// Every verified file is present with its hash.
    Installed,
    /// The asset directory or one of its verified files is absent.
    Missing {
        /// The first absent file, relative to the asset directory.
        path: String,
    },
    /// A verified file has the wrong content (truncated, corrupted or replaced).
    Corrupt {
        /// The file, relative to the asset directory.
        path: String,
        /// Its actual sha256.
        found_sha256: String,
    },
}

impl std::fmt::Display for AssetStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Installed => write!(f, "installed"),
            Self::Missing { path } => write!(f, "{path} is missing"),
            Self::Corrupt { path, found_sha256 } => {
                write!(
                    f,
                    "{path} has sha256 {found_sha256}, which is not the recorded one"
                )
            }
        }
    }
}

/// Files of the sentence-embedding model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbeddingModelFiles {
    /// The ONNX model.
    pub onnx: PathBuf,
    /// The HF tokenizer.
    pub tokenizer: PathBuf,
    /// The model config.
    pub config: PathBuf,
    /// Special tokens.
    pub special_tokens_map: PathBuf,
    /// Tokenizer config.
    pub tokenizer_config: PathBuf,
    /// The pooling config of sentence-transformers.
    pub pooling_config: PathBuf,
}

/// Where libtorch is, as `tch`'s build and run time need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LibtorchPaths {
    /// The value for `LIBTORCH` (holds `lib/` and `include/`).
    pub libtorch: PathBuf,
    /// Directories for `LD_LIBRARY_PATH` at run time.
    pub library_dirs: Vec<PathBuf>,
}

/// The cache directory together with the catalogue describing what should be in it.
#[derive(Debug, Clone)]
pub struct AssetCache {
    root: PathBuf,
    catalog: Catalog,
}

impl AssetCache {
    /// The cache at `$LIFT_CACHE_DIR`, else `$XDG_CACHE_HOME/lift`, else `~/.cache/lift`, with the
    /// built-in catalogue.
    pub fn from_env() -> Result<Self, AssetError> {
        let root = cache_dir_from(
            std::env::var_os(CACHE_DIR_ENV),
            std::env::var_os("XDG_CACHE_HOME"),
            std::env::var_os("HOME"),
        )
        .ok_or(AssetError::NoCacheDir)?;
        Ok(Self::new(root, Catalog::builtin()?))
    }

    /// A cache at `root` described by `catalog`.
    pub fn new(root: impl Into<PathBuf>, catalog: Catalog) -> Self {
        Self {
            root: root.into(),
            catalog,
        }
    }

    /// The cache directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The catalogue.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The asset's spec.
    pub fn spec(&self, name: &str) -> Result<&AssetSpec, AssetError> {
        self.catalog.asset(name).ok_or_else(|| AssetError::Unknown {
            name: name.to_owned(),
            known: self
                .catalog
                .assets
                .iter()
                .map(|a| a.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        })
    }

    /// The directory holding the asset: its `local_dir` when configured, else `<cache>/<name>`.
    pub fn asset_dir(&self, name: &str) -> Result<PathBuf, AssetError> {
        let spec = self.spec(name)?;
        Ok(spec
            .local_dir
            .clone()
            .unwrap_or_else(|| self.root.join(&spec.name)))
    }

    /// Checks every verified file of the asset by hash.
    pub fn status(&self, name: &str) -> Result<AssetStatus, AssetError> {
        let spec = self.spec(name)?;
        verify_dir(spec, &self.asset_dir(name)?)
    }

    /// The asset's directory, after checking that each of its verified files is present.
    ///
    /// Only presence is checked here, so that starting a binary costs no hashing; `status` (run by
    /// `cargo xtask setup`) checks content.
    pub fn installed_dir(&self, name: &str) -> Result<PathBuf, AssetError> {
        let spec = self.spec(name)?;
        let dir = self.asset_dir(name)?;
        match spec
            .verify
            .iter()
            .find(|file| !dir.join(&file.path).is_file())
        {
            None => Ok(dir),
            Some(file) => Err(AssetError::NotInstalled {
                name: name.to_owned(),
                dir,
                status: AssetStatus::Missing {
                    path: file.path.clone(),
                },
            }),
        }
    }

    /// The default chat model (SmolLM2-135M-Instruct Q4_1 GGUF).
    pub fn chat_model_gguf(&self) -> Result<PathBuf, AssetError> {
        Ok(self
            .installed_dir(crate::CHAT_MODEL_ASSET)?
            .join("SmolLM2-135M-Instruct.Q4_1.gguf"))
    }

    /// The sentence-embedding model files.
    pub fn embedding_model(&self) -> Result<EmbeddingModelFiles, AssetError> {
        let dir = self.installed_dir(crate::EMBEDDING_MODEL_ASSET)?;
        Ok(EmbeddingModelFiles {
            onnx: dir.join("model.onnx"),
            tokenizer: dir.join("tokenizer.json"),
            config: dir.join("config.json"),
            special_tokens_map: dir.join("special_tokens_map.json"),
            tokenizer_config: dir.join("tokenizer_config.json"),
            pooling_config: dir.join("1_Pooling/config.json"),
        })
    }

    /// The ONNX Runtime shared library, the value for `ORT_DYLIB_PATH`.
    pub fn onnxruntime_library(&self) -> Result<PathBuf, AssetError> {
        Ok(self
            .installed_dir(crate::ONNXRUNTIME_ASSET)?
            .join("libonnxruntime.so.1.31.1"))
    }

    /// libtorch for `tch`.
    pub fn libtorch(&self) -> Result<LibtorchPaths, AssetError> {
        let dir = self.installed_dir(crate::LIBTORCH_ASSET)?;
        Ok(LibtorchPaths {
            libtorch: dir.join("torch"),
            library_dirs: vec![dir.join("torch/lib"), dir.join("nvidia/cu13/lib")],
        })
    }
}

/// Checks an asset's verified files inside `dir`.
fn verify_dir(spec: &AssetSpec, dir: &Path) -> Result<AssetStatus, AssetError> {
    for file in &spec.verify {
        let path = dir.join(&file.path);
        if !path.is_file() {
            return Ok(AssetStatus::Missing {
                path: file.path.clone(),
            });
        }
        let found = sha256_file(&path)?;
        if found != file.sha256 {
            return Ok(AssetStatus::Corrupt {
                path: file.path.clone(),
                found_sha256: found,
            });
        }
    }
    Ok(AssetStatus::Installed)
}

/// Lowercase hex sha256 of a file, streamed.
pub fn sha256_file(path: &Path) -> Result<String, AssetError> {
    let io = |source| AssetError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::open(path).map_err(io)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buffer).map_err(io)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

fn cache_dir_from(
    explicit: Option<std::ffi::OsString>,
    xdg: Option<std::ffi::OsString>,
    home: Option<std::ffi::OsString>,
) -> Option<PathBuf> {
    let non_empty = |v: Option<std::ffi::OsString>| v.filter(|v| !v.is_empty()).map(PathBuf::from);
    non_empty(explicit)
        .or_else(|| non_empty(xdg).map(|x| x.join("lift")))
        .or_else(|| non_empty(home).map(|h| h.join(".cache/lift")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog_for(text_sha: &str) -> Catalog {
        Catalog::parse(&format!(
            r#"
format = 1
[pip]
python_version = "3.11"
platforms = ["any"]
[debian]
packages = []
[[asset]]
name = "tiny"
description = "a test asset"
[[asset.wheels]]
package = "tiny"
version = "1.0"
wheel_sha256 = "{zero}"
[[asset.extract]]
from = "tiny/a.txt"
to = "a.txt"
[[asset.verify]]
path = "a.txt"
sha256 = "{text_sha}"
"#,
            zero = "0".repeat(64)
        ))
        .unwrap()
    }

    #[test]
    fn status_tracks_missing_corrupt_and_installed_files() {
        // sha256 of "hello\n".
        let hello = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03";
        let cache_dir = tempfile::tempdir().unwrap();
        let cache = AssetCache::new(cache_dir.path(), catalog_for(hello));
        assert_eq!(
            cache.status("tiny").unwrap(),
            AssetStatus::Missing {
                path: "a.txt".into()
            }
        );
        assert!(matches!(
            cache.installed_dir("tiny"),
            Err(AssetError::NotInstalled { .. })
        ));

        std::fs::create_dir_all(cache_dir.path().join("tiny")).unwrap();
        std::fs::write(cache_dir.path().join("tiny/a.txt"), "hell").unwrap();
        assert!(matches!(
            cache.status("tiny").unwrap(),
            AssetStatus::Corrupt { .. }
        ));
        // Resolving only checks presence; content is setup's job.
        assert!(cache.installed_dir("tiny").is_ok());

        std::fs::write(cache_dir.path().join("tiny/a.txt"), "hello\n").unwrap();
        assert_eq!(cache.status("tiny").unwrap(), AssetStatus::Installed);
        assert_eq!(
            cache.installed_dir("tiny").unwrap(),
            cache_dir.path().join("tiny")
        );

        let err = cache.status("nope").unwrap_err();
        assert!(err.to_string().contains("lists tiny"), "{err}");
    }

    #[test]
    fn cache_dir_precedence() {
        let os = |s: &str| Some(std::ffi::OsString::from(s));
        assert_eq!(
            cache_dir_from(os("/x"), os("/xdg"), os("/home/u")),
            Some("/x".into())
        );
        assert_eq!(
            cache_dir_from(os(""), os("/xdg"), os("/home/u")),
            Some("/xdg/lift".into())
        );
        assert_eq!(
            cache_dir_from(None, None, os("/home/u")),
            Some("/home/u/.cache/lift".into())
        );
        assert_eq!(cache_dir_from(None, None, None), None);
    }
}
