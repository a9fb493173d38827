//! The security plan of each facility: facilities and the declarations made about their
//! measures, evidence, check runs, and the statuses derived from them (the precomputed views of
//! `current`, the full recomputation of `history`). Writes go `facilities`/`checks` → `current`,
//! decoding of shared rows lives in `crate::rows`, so no module here imports back.

pub(crate) mod checks;
pub(crate) mod current;
pub(crate) mod evidence;
pub(crate) mod facilities;
mod history;
