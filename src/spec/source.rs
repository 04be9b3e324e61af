//! Where a document comes from: a file, or an `http(s)` URL. A spec given on the command line and
//! every `$ref` in it are one of the two, and a relative `$ref` is resolved against the document
//! that holds it, whichever kind that is (RFC 3986 for URLs, the file's directory for files).

use crate::spec::error::SpecError;
use crate::spec::fetch::{Fetcher, join_url};
use crate::spec::pointer::percent_decode;
use crate::spec::read::{parse_text, read_value};
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

/// A document's location.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Source {
    File(PathBuf),
    /// An absolute `http://` or `https://` URL, without a fragment.
    Url(String),
}

/// Real paths of directories, each resolved once (a spec's files share a few hundred).
pub type Dirs = HashMap<PathBuf, PathBuf, foldhash::fast::RandomState>;

/// The real path of the file at `path`, as the bundler keys the files it bundles: the real path of
/// its directory followed by its name, when the name is no symbolic link (one `lstat`); else what
/// the system makes of the whole path.
pub fn real_path(path: &Path, dirs: &mut Dirs) -> Result<PathBuf, String> {
    let whole = || path.canonicalize().map_err(|e| format!("{}: {e}", path.display()));
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return whole();
    };
    let Some(real_dir) = real_dir(dir, dirs) else {
        return whole();
    };
    match std::fs::symlink_metadata(path) {
        Ok(m) if !m.file_type().is_symlink() => Ok(real_dir.join(name)),
        _ => whole(),
    }
}

/// The real path of directory `dir`, each spelling resolved once and from its parent's: a `..`
/// after a real path is that path's parent, and a name is one `lstat` (a symbolic link, or a
/// name that is not there, is left to the system's `realpath`). A multi-file spec names the same
/// few directories in many spellings (`models/../../paths/x/`), and `realpath` reads every
/// component of each spelling again.
fn real_dir(dir: &Path, dirs: &mut Dirs) -> Option<PathBuf> {
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    if let Some(d) = dirs.get(dir) {
        return Some(d.clone());
    }
    let whole = || dir.canonicalize().ok();
    let real = match (dir.components().next_back(), dir.parent()) {
        (Some(Component::ParentDir), Some(parent)) => {
            let above = real_dir(parent, dirs)?;
            Some(above.parent().map_or_else(|| above.clone(), Path::to_path_buf))
        }
        (Some(Component::Normal(name)), Some(parent)) => {
            let joined = real_dir(parent, dirs)?.join(name);
            match std::fs::symlink_metadata(&joined) {
                Ok(m) if m.is_dir() => Some(joined),
                _ => whole(),
            }
        }
        // `/`, `.`, a Windows prefix: the system says.
        _ => whole(),
    }?;
    dirs.insert(dir.to_path_buf(), real.clone());
    Some(real)
}

/// Whether `s` is an absolute http(s) URL (scheme case-insensitive, as RFC 3986 has it).
pub fn is_url(s: &str) -> bool {
    let lower = s.get(..8).unwrap_or(s).to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

impl Source {
    /// A command-line argument: a URL when it looks like one, else a path.
    pub fn from_arg(arg: &Path) -> Source {
        match arg.to_str() {
            Some(s) if is_url(s) => Source::Url(s.split('#').next().unwrap_or(s).to_string()),
            _ => Source::File(arg.to_path_buf()),
        }
    }

    /// How messages name the document ([`SpecError::file`] is a path; a URL is kept as its text).
    pub fn path(&self) -> PathBuf {
        match self {
            Source::File(p) => p.clone(),
            Source::Url(u) => PathBuf::from(u),
        }
    }

    /// The last segment of the path: `openapi.yaml` for both `specs/openapi.yaml` and
    /// `https://h/v1/openapi.yaml?x=1`.
    pub fn file_name(&self) -> Option<String> {
        match self {
            Source::File(p) => p.file_name().map(|n| n.to_string_lossy().into_owned()),
            Source::Url(u) => {
                let path = u.split(['?', '#']).next().unwrap_or(u);
                let after_host = path.split_once("://").map_or(path, |(_, rest)| rest);
                let (_, path) = after_host.split_once('/')?;
                let last = path.rsplit('/').next().filter(|s| !s.is_empty())?;
                Some(percent_decode(last).into_owned())
            }
        }
    }

    /// The file name without its extension (`openapi` for `openapi.yaml`): a spec's name, which its
    /// fixtures directory, `--mount` and `--proxy` use.
    pub fn stem(&self) -> Option<String> {
        let name = self.file_name()?;
        Some(Path::new(&name).file_stem()?.to_string_lossy().into_owned())
    }

    /// The document that `target` (the part of a `$ref` before `#`) names, relative to this one.
    pub fn join(&self, target: &str) -> Source {
        if is_url(target) {
            return Source::Url(target.to_string());
        }
        match self {
            Source::File(p) => {
                let base = p.parent().unwrap_or_else(|| Path::new("."));
                Source::File(base.join(percent_decode(target).as_ref()))
            }
            Source::Url(base) => Source::Url(join_url(base, target)),
        }
    }

    /// Reads and parses the document; a URL is fetched with `fetcher` (created on first use).
    pub fn read(&self, fetcher: &mut Option<Fetcher>) -> Result<Value, SpecError> {
        match self {
            Source::File(p) => read_value(p),
            Source::Url(u) => {
                let path = self.path();
                let fetcher = match fetcher {
                    Some(f) => f,
                    None => fetcher.insert(Fetcher::new().map_err(|e| SpecError::new(&path, "", e))?),
                };
                let text = fetcher
                    .get_text(u)
                    .map_err(|e| SpecError::new(&path, "", format!("cannot fetch {u}: {e}")))?;
                parse_text(&url_as_path(u), &text).map_err(|mut e| {
                    e.file = path;
                    e
                })
            }
        }
    }
}

/// A URL's path, as a `Path` whose extension says the format (`.json`, `.yaml`).
fn url_as_path(url: &str) -> PathBuf {
    PathBuf::from(url.split(['?', '#']).next().unwrap_or(url))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A directory spelled through `..`, through `.`, or through a symbolic link (whose `..` is
    /// the link target's parent, not the link's) has the real path `realpath` gives it.
    #[test]
    fn a_directory_has_its_real_path_however_it_is_spelled() {
        let d = std::env::temp_dir().join(format!("specbox-real-dir-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join("a/b/c")).unwrap();
        std::fs::create_dir_all(d.join("x/y")).unwrap();
        std::os::unix::fs::symlink(d.join("x/y"), d.join("a/link")).unwrap();
        let mut dirs = Dirs::default();
        for spelling in [
            "a/b/c",
            "a/b/c/../..",
            "a/./b/../b/c/..",
            "a/link",
            "a/link/..",
            "a/link/../y/..",
        ] {
            let dir = d.join(spelling);
            assert_eq!(real_dir(&dir, &mut dirs), dir.canonicalize().ok(), "{spelling}");
        }
        assert_eq!(real_dir(&d.join("a/missing/.."), &mut dirs), None);
        std::fs::write(d.join("x/f.yaml"), "{}").unwrap();
        let file = d.join("a/link/../f.yaml");
        assert_eq!(real_path(&file, &mut dirs).ok(), file.canonicalize().ok());
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn names_of_files_and_urls() {
        let url = Source::from_arg(Path::new("https://h/v1/pet%20store.json?x=1#frag"));
        assert_eq!(url, Source::Url("https://h/v1/pet%20store.json?x=1".into()));
        assert_eq!(url.file_name().as_deref(), Some("pet store.json"));
        assert_eq!(url.stem().as_deref(), Some("pet store"));
        assert_eq!(Source::Url("https://h".into()).file_name(), None);
        let file = Source::from_arg(Path::new("specs/a.yaml"));
        assert_eq!(file.stem().as_deref(), Some("a"));
        assert_eq!(file.join("b%20c.yaml"), Source::File(PathBuf::from("specs/b c.yaml")));
        assert_eq!(file.join("https://h/x.yaml"), Source::Url("https://h/x.yaml".into()));
    }
}
