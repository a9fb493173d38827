//! The breach corpus: Have I Been Pwned's NTLM list, imported once into a compact index file
//! that audits memory-map and query.
//!
//! - `import` (module `import`): streams the list (tens of GB, `HASH:COUNT` lines sorted by
//!   hash) with bounded memory, checks every line and the order, and writes the index to a
//!   temporary file renamed into place only when the whole list was valid.
//! - `BreachIndex` (module `index`): the on-disk format and the lookups, one or a million at a
//!   time.
//!
//! Unsafe code lives in two places of this module tree, each with its safety argument:
//! `map_file_range` below (memory maps) and the CPU dispatch of `import::parse_lines`.

mod import;
mod index;

pub use import::{ImportStats, import, import_file};
pub(crate) use index::count_of_class;
pub use index::{BreachIndex, ENTRY_LEN, MAGIC};

use memmap2::Mmap;
use std::fs::File;
use std::path::Path;

/// Problems reported before an import gives up reading.
const MAX_PROBLEMS: usize = 20;

/// What is wrong with one line of the breach list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineProblem {
    pub line: u64,
    pub message: &'static str,
}

#[derive(Debug, thiserror::Error)]
pub enum BreachError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {} invalid line(s){}, index not written: {}", problems.len(), if *more { " (first ones only)" } else { "" }, render(problems))]
    Input {
        path: String,
        problems: Vec<LineProblem>,
        more: bool,
    },
    #[error("{path}: not a Hygie breach index: {message}")]
    Format { path: String, message: String },
}

fn render(problems: &[LineProblem]) -> String {
    problems
        .iter()
        .map(|p| format!("line {}: {}", p.line, p.message))
        .collect::<Vec<_>>()
        .join("; ")
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> BreachError + '_ {
    move |source| BreachError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Map a file read-only: the whole file, or `len` bytes from `offset`, with every page mapped
/// at once when `populate` (one system call instead of a page fault every few pages, for
/// windows that are read nearly entirely).
#[allow(unsafe_code)]
fn map_file_range(file: &File, range: Option<(u64, usize, bool)>) -> std::io::Result<Mmap> {
    let mut opts = memmap2::MmapOptions::new();
    if let Some((offset, len, populate)) = range {
        opts.offset(offset).len(len);
        if populate {
            opts.populate();
        }
    }
    // SAFETY: memmap2 requires that the file is not modified while mapped. Hygie never modifies
    // an index in place: `import` writes a new file and renames it over the old path, which leaves
    // the mapped inode untouched. Only an outside process truncating or rewriting the file in
    // place could break this, as with any memory-mapped reader. The breach list read by
    // `import_file` and the hash dump read by `pwdump::parse_file` are mapped here too: they are
    // only read, and an outside change to them while they are read is the same risk as for the
    // index.
    unsafe { opts.map(file) }
}

fn map_file(file: &File) -> std::io::Result<Mmap> {
    map_file_range(file, None)
}

/// A whole file of `len` bytes mapped with every page at once, for a file read from end to end
/// (a dump).
pub(crate) fn map_whole(file: &File, len: u64) -> std::io::Result<Mmap> {
    let len = usize::try_from(len).map_err(|_| std::io::Error::other("file too large to map"))?;
    map_file_range(file, Some((0, len, true)))
}
