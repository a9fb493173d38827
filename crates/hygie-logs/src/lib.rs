//! Hygie log inputs: EVTX files (the `evtx` crate, flattened natively to the
//! field names SigmaHQ rules use), JSON in the shapes users have (evtx_dump,
//! Winlogbeat/ECS, flat), and syslog RFC 3164 / RFC 5424.

pub mod batch;
#[cfg(feature = "nats")]
pub mod nats;
pub mod read;
pub mod spool;
pub mod stream;
pub mod syslog;
pub mod windows;

pub use read::{
    Format, InputError, format_of, json_to_event, list_log_files, read_bytes, read_file,
};
pub use syslog::{SyslogError, parse_line};
