//! Hygie log inputs: EVTX files (the `evtx` crate, flattened natively to the
//! field names SigmaHQ rules use), JSON in the shapes users have (evtx_dump,
//! Winlogbeat/ECS, OpenWEC's `Json` output, flat), and syslog RFC 3164 / RFC 5424.
//!
//! Two pipelines share the readers and the flattening to SigmaHQ field names: the batch one
//! (`batch`: rayon over files and EVTX chunks, one aggregating consumer) and the streaming one
//! (`stream`: `Source` listeners, the on-disk `spool`, a bounded queue, detection threads, an
//! `AlertSink`). Both evaluate Sigma correlation rules: batch folds every hit sorted at the
//! end; the streaming pipelines fold them in time order through a lateness buffer whose state
//! is saved with each commit (`correlation`, shared by `stream` and `nats::correlate`).
//! `spool` holds segment files of length- and CRC-framed records (`spool::frame`, pure),
//! written by one thread with group commit and read back in order by another; its module doc
//! has the contract per source (UDP, TCP, NATS), backpressure and recovery. `nats` (cargo
//! feature `nats`, the one place that speaks NATS) runs the same `Source`s into JetStream
//! (`publish`) and is `hygie detect-worker` (`worker`); its module doc has the contract and the
//! partitioning (correlation hits go to one correlator per partition).
//!
//! Invariants: a corrupt file, record or line is an `InputError` naming it and reading goes on;
//! what a listener accepted is in the spool before detection sees it, and the stream is exactly
//! once in effect across crashes (each delivery of alerts carries the spool checkpoint the sink
//! commits with them).
//!
//! To add an input format: `read` and a flattener, with a test against the samples; a transport:
//! one more `Source` that acknowledges upstream after `SourceCtx::send_lines_durable`.

pub mod batch;
pub mod correlation;
#[cfg(feature = "nats")]
pub mod nats;
pub mod openwec;
pub mod read;
pub mod spool;
pub mod stream;
pub mod syslog;
pub mod windows;

pub use read::{
    Format, InputError, format_of, json_to_event, list_log_files, read_bytes, read_file,
};
pub use syslog::{SyslogError, parse_line};
