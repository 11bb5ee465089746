//! Where things are: the workspace root and the binaries cargo built for this test run.

use std::path::{Path, PathBuf};

/// The workspace root (the directory holding the root `Cargo.toml`).
pub fn repo_root() -> PathBuf {
    let tests_crate = Path::new(env!("CARGO_MANIFEST_DIR"));
    tests_crate.parent().unwrap_or(tests_crate).to_path_buf()
}

/// The directory cargo puts the workspace's binaries in for this build
/// (`target/debug` normally). Found from the running test executable, which lives in
/// `<target>/<profile>/deps/`; else `$CARGO_TARGET_DIR/debug`; else `<repo>/target/debug`.
pub fn target_profile_dir() -> PathBuf {
    if let Ok(exe) = std::env::current_exe()
        && let Some(deps) = exe.parent()
        && deps.file_name().is_some_and(|n| n == "deps")
        && let Some(profile) = deps.parent()
    {
        return profile.to_path_buf();
    }
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            let dir = if dir.is_relative() {
                repo_root().join(dir)
            } else {
                dir
            };
            dir.join("debug")
        }
        None => repo_root().join("target").join("debug"),
    }
}

/// The workspace binary `name` if it has been built.
pub fn try_binary_path(name: &str) -> Option<PathBuf> {
    let path = target_profile_dir().join(name);
    path.is_file().then_some(path)
}

/// The workspace binary `name` (e.g. `"fake-ci"`, `"publish-workload"`). Panics with the
/// command to build it when it is missing.
pub fn binary_path(name: &str) -> PathBuf {
    try_binary_path(name).unwrap_or_else(|| {
        panic!(
            "{} is not built: run `cargo build --workspace --bins` (or `cargo build --bin {name}`) before the integration tests",
            target_profile_dir().join(name).display()
        )
    })
}
