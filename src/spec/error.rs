//! A problem in a spec or a fixture, named by file and JSON pointer.

use std::fmt;
use std::path::{Path, PathBuf};

/// A problem with a spec (or fixture) file: which file, where in it, and what.
#[derive(Debug, Clone)]
pub struct SpecError {
    pub file: PathBuf,
    /// JSON pointer into the file (empty for the whole file), or a `line N column M` position for parse errors.
    pub pointer: String,
    pub message: String,
}

impl SpecError {
    pub fn new(file: &Path, pointer: impl Into<String>, message: impl Into<String>) -> Self {
        SpecError {
            file: file.to_path_buf(),
            pointer: pointer.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.pointer.is_empty() {
            write!(f, "{}: {}", self.file.display(), self.message)
        } else if self.pointer.starts_with('/') {
            write!(f, "{}#{}: {}", self.file.display(), self.pointer, self.message)
        } else {
            write!(f, "{}: {}: {}", self.file.display(), self.pointer, self.message)
        }
    }
}

impl std::error::Error for SpecError {}
