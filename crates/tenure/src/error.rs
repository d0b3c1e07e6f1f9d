//! The CLI's one error type and its exit codes.

use std::fmt;
use std::path::Path;

/// An error the user sees: bad input (exit 2) or a failure (exit 1).
#[derive(Debug)]
pub enum CliError {
    /// Bad input or usage: `file:line:column: reason` where known.
    Input(String),
    /// Something failed that is not the input's fault (I/O, a fit that did not converge).
    Failure(String),
}

impl CliError {
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Input(_) => 2,
            CliError::Failure(_) => 1,
        }
    }
    pub fn input(msg: impl Into<String>) -> Self {
        CliError::Input(msg.into())
    }
    pub fn failure(msg: impl Into<String>) -> Self {
        CliError::Failure(msg.into())
    }
    /// A bad value at a place in a file: `file:line:column: field: reason`.
    pub fn at(file: &Path, line: usize, column: Option<usize>, reason: impl fmt::Display) -> Self {
        match column {
            Some(c) => CliError::Input(format!("{}:{line}:{c}: {reason}", file.display())),
            None => CliError::Input(format!("{}:{line}: {reason}", file.display())),
        }
    }
    /// An I/O error on a file: missing input files are the user's (exit 2), others failures.
    pub fn io(file: &Path, e: std::io::Error) -> Self {
        let msg = format!("{}: {e}", file.display());
        match e.kind() {
            std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied => {
                CliError::Input(msg)
            }
            _ => CliError::Failure(msg),
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Input(m) | CliError::Failure(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for CliError {}
