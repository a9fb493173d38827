//! Bundles every file of the repository's `catalog/` folder into the library, so that the
//! binary carries the catalogue it was built with.
use std::fmt::Write as _;
use std::path::Path;

// Every path given to cargo and rustc is relative to this package: cargo reuses a build script's
// output when the workspace is moved or cloned elsewhere (CI's kept target directory, copied
// target directories), and absolute paths would then point at another checkout's catalogue.
fn main() {
    let root = Path::new("../../catalog");
    println!("cargo:rerun-if-changed=../../catalog");
    let mut files = Vec::new();
    collect(root, root, &mut files);
    files.sort();
    let mut out = String::from(
        "/// Every catalogue file, by path relative to `catalog/`.\npub static FILES: &[(&str, &str)] = &[\n",
    );
    for (rel, path) in &files {
        println!("cargo:rerun-if-changed={path}");
        let _ = writeln!(
            out,
            "    ({rel:?}, include_str!(concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/\", {path:?}))),"
        );
    }
    out.push_str("];\n");
    let dest = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("bundled.rs");
    std::fs::write(dest, out).expect("OUT_DIR is writable");
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            println!("cargo:rerun-if-changed={}", p.display());
            collect(root, &p, out);
        } else if p.extension().is_some_and(|x| x == "toml") {
            let rel = p
                .strip_prefix(root)
                .expect("under root")
                .to_string_lossy()
                .replace('\\', "/");
            let path = p.to_string_lossy().replace('\\', "/");
            out.push((rel, path));
        }
    }
}
