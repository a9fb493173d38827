//! The data directory is private (issue 25): the directory 0700, the database and its WAL and
//! shared-memory files 0600, whether the directory is new or was left wider by an older version.

#![cfg(unix)]
#![allow(clippy::unwrap_used)]

mod common;

use common::{HOSPITAL, Hygie};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

fn assert_private(dir: &Path) {
    assert_eq!(mode(dir), 0o700, "{}", dir.display());
    let mut seen = 0;
    for name in ["hygie.sqlite", "hygie.sqlite-wal", "hygie.sqlite-shm"] {
        let f = dir.join(name);
        if f.exists() {
            assert_eq!(mode(&f), 0o600, "{}", f.display());
            seen += 1;
        }
    }
    assert!(seen >= 1, "the database exists");
}

#[test]
fn the_store_is_created_private_and_a_wide_one_is_narrowed() {
    let h = Hygie::sqlite();
    h.add(&HOSPITAL);
    let dir = h.data();
    assert_private(&dir);

    // A directory and files left world-readable (as versions before issue 25 made them).
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let p = entry.unwrap().path();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    h.run(&["facility", "list"], 0);
    assert_private(&dir);
}
