//! Locating the shared public test data.

use std::path::PathBuf;

/// `$HYGIE_TEST_DATA`, else `<repo>/../shared/data`. None (with a SKIP
/// message) when missing outside CI; panics when missing with `CI=true`.
pub fn data_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("HYGIE_TEST_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    if dir.join("sigma/regression_data").is_dir() {
        return Some(dir);
    }
    let msg = format!(
        "test data not found at {} (set HYGIE_TEST_DATA to the shared data folder)",
        dir.display()
    );
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{msg}");
    }
    eprintln!("SKIP: {msg}");
    None
}
