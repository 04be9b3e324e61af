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
    /// A warning that came with errors: not fatal itself, but reported beside them, since it may
    /// be why they happened (a `$ref` to nothing, a keyword ignored).
    pub warning: bool,
}

impl SpecError {
    pub fn new(file: &Path, pointer: impl Into<String>, message: impl Into<String>) -> Self {
        SpecError {
            file: file.to_path_buf(),
            pointer: pointer.into(),
            message: message.into(),
            warning: false,
        }
    }

    /// This problem as a warning that comes with errors (see [`Self::warning`]).
    pub fn as_warning(mut self) -> Self {
        self.warning = true;
        self
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

/// Something in a document that cannot be converted or applied (a Swagger 2.0 document, an overlay), with where it
/// is. It names no file: the converter and the overlay applier work on values, and the loader, which knows the
/// file, turns each into a [`SpecError`] with [`Problem::in_file`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// JSON pointer (RFC 6901) into the document that has the problem: the Swagger document for the converter, the
    /// overlay document for the overlay module. Empty for the document as a whole.
    pub pointer: String,
    /// What is wrong, in words a spec author can act on.
    pub message: String,
}

impl Problem {
    /// Builds a problem; a convenience so call sites read as one line.
    pub fn new(pointer: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            pointer: pointer.into(),
            message: message.into(),
        }
    }

    /// The problem as a [`SpecError`] of `file`.
    pub fn in_file(self, file: &Path) -> SpecError {
        SpecError {
            file: file.to_path_buf(),
            pointer: self.pointer,
            message: self.message,
            warning: false,
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.pointer.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.pointer, self.message)
        }
    }
}
