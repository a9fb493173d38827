//! The one error of the audit's text inputs (the pwdump file, the directory snapshot): where in
//! the file it went wrong, and why. `DumpError` and `DirectoryError` are its names at each input.

/// A problem in an input file: at a line, or in the file as a whole (unreadable, not JSON).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    #[error("{source_name}, line {line}: {message}")]
    Line {
        source_name: String,
        line: usize,
        message: String,
    },
    #[error("{source_name}: {message}")]
    File {
        source_name: String,
        message: String,
    },
}

impl InputError {
    pub(crate) fn line(source_name: &str, line: usize, message: impl Into<String>) -> Self {
        InputError::Line {
            source_name: source_name.to_owned(),
            line,
            message: message.into(),
        }
    }

    pub(crate) fn file(source_name: &str, message: impl Into<String>) -> Self {
        InputError::File {
            source_name: source_name.to_owned(),
            message: message.into(),
        }
    }
}
