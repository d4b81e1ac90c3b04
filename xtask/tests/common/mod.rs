//! Helpers shared by xtask's integration tests: where the workspace binaries they start are.

use std::path::{Path, PathBuf};

/// `target/<profile>`, the directory above this test executable's `deps/`, after checking that
/// `binaries` are built there. `cargo test --workspace` builds every workspace binary before it
/// runs any test; a nested `cargo build` inside a test would wait forever on the target lock.
pub fn bin_dir(binaries: &[&str]) -> PathBuf {
    let exe = std::env::current_exe().expect("the test knows its own path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test executables live in target/<profile>/deps")
        .to_path_buf();
    let missing: Vec<&str> = binaries
        .iter()
        .copied()
        .filter(|b| !dir.join(b).is_file())
        .collect();
    assert!(
        missing.is_empty(),
        "the binaries {missing:?} are not built in {}; run this test with `cargo test --workspace` (or `cargo xtask test`), which builds every workspace binary first",
        dir.display()
    );
    dir
}
