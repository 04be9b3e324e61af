//! Reading a multi-file spec's files on every core, before bundling needs them.
//!
//! A spec split over thousands of files (one in the corpus: 2,800 YAML files) spends about half
//! of its startup parsing them, and [`crate::spec::bundle`] reads them one at a time, as its walk
//! meets each `$ref`. Parsing does not depend on the walk: the files a document names are known
//! as soon as it is parsed. So the files are parsed here first, by one thread per core, each
//! taking the next file named and adding the files that one names; the bundler then takes each
//! parsed document from [`Prefetched`] instead of reading it.
//!
//! Nothing here decides what a spec holds. `$ref`s in literal data (examples) and in vendor
//! extensions are not followed, as the bundler mostly does not follow them either: the corpus
//! spec names 1,300 files of code samples from extensions, which bundling never reads. Where the
//! two differ (an extension a local `$ref` points into, a property named `x-...`), the bundler
//! reads the file itself, and a file read here that it never asks for is dropped. A file that
//! cannot be read or parsed is left for the bundler too, which reads it again and reports the
//! error as it always does, naming the `$ref` that led to it. Files are keyed by
//! their real path, as the bundler names them, so a symbolic link cannot give one file's
//! content for another. URLs are not fetched here: fetching is the bundler's, one at a time.
//!
//! On one core nothing is read ahead: that would only add a walk over each file.

use crate::heap::Heap;
use crate::spec::pointer::{Field, is_data};
use crate::spec::read::read_value;
use crate::spec::source::{Dirs, Source, is_url, real_path};
use crate::spec::unread::is_vendor_extension;
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};

/// Documents parsed ahead, by real path.
pub type Prefetched = HashMap<PathBuf, Value, foldhash::fast::RandomState>;

/// The most threads that parse at once (more cores than this gain little: the walk that names
/// files, and memory, are shared).
const MAX_THREADS: usize = 8;

/// Parses, on every core, the files that `root` (the document read from `source`) names by
/// `$ref`, and the files those name, and so on; at most `max_file` bytes each, regular files only.
/// Every thread builds what it parses in `heap`, if given: the heap the document is built in, so
/// that its memory goes back whole with the rest of the document's (see [`crate::heap`]).
pub fn prefetch(source: &Source, root: &Value, max_file: u64, heap: Option<&Heap>) -> Prefetched {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(MAX_THREADS);
    let Source::File(path) = source else {
        return Prefetched::default();
    };
    if threads < 2 {
        return Prefetched::default();
    }
    let mut dirs = Paths::default();
    let mut first = Vec::new();
    named_files(path, root, &mut dirs, &mut first);
    first.sort_unstable();
    first.dedup();
    if first.is_empty() {
        return Prefetched::default();
    }
    let shared = Shared {
        work: Mutex::new(Work {
            seen: first.iter().cloned().collect(),
            queue: first,
            busy: 0,
            done: Prefetched::default(),
        }),
        changed: Condvar::new(),
        max_file,
    };
    std::thread::scope(|s| {
        // A thread the system refuses is one fewer: this one parses whatever is left.
        let run = || match heap {
            Some(heap) => heap.fill(|| shared.run()),
            None => shared.run(),
        };
        for _ in 1..threads {
            let _ = std::thread::Builder::new().spawn_scoped(s, run);
        }
        run();
    });
    shared.work.into_inner().map(|w| w.done).unwrap_or_default()
}

/// The queue of files to parse and what is parsed, shared by the threads.
struct Shared {
    work: Mutex<Work>,
    /// Signalled when a file is queued or a thread runs out of work.
    changed: Condvar,
    max_file: u64,
}

struct Work {
    queue: Vec<PathBuf>,
    /// Every file ever queued (by real path), so each is parsed once.
    seen: HashSet<PathBuf, foldhash::fast::RandomState>,
    /// Threads parsing a file now: while one is, more files may come.
    busy: usize,
    done: Prefetched,
}

impl Shared {
    /// Takes files from the queue until it is empty and no thread can add to it.
    fn run(&self) {
        let mut dirs = Paths::default();
        loop {
            let Some(path) = self.next() else { return };
            // A panic here must not leave the file counted as being parsed, or the other
            // threads would wait for it for ever: it counts as not parsed (the bundler reads it).
            let parse = std::panic::AssertUnwindSafe(|| {
                let parsed = std::fs::metadata(&path)
                    .ok()
                    .filter(|m| m.is_file() && m.len() <= self.max_file)
                    .and_then(|_| read_value(&path).ok());
                let mut named = Vec::new();
                if let Some(doc) = &parsed {
                    named_files(&path, doc, &mut dirs, &mut named);
                }
                (parsed, named)
            });
            let (parsed, named) = std::panic::catch_unwind(parse).unwrap_or_default();
            let Ok(mut work) = self.work.lock() else { return };
            let queued = work.queue.len();
            for file in named {
                if work.seen.insert(file.clone()) {
                    work.queue.push(file);
                }
            }
            if let Some(doc) = parsed {
                work.done.insert(path, doc);
            }
            work.busy -= 1;
            // Waiting threads wait for more files, or for the end.
            let wake = work.queue.len() > queued || work.busy == 0;
            drop(work);
            if wake {
                self.changed.notify_all();
            }
        }
    }

    /// The next file to parse, waiting while the queue is empty but another thread may add to it;
    /// `None` once all is parsed (or a thread panicked holding the lock).
    fn next(&self) -> Option<PathBuf> {
        let mut work = self.work.lock().ok()?;
        loop {
            if let Some(path) = work.queue.pop() {
                work.busy += 1;
                return Some(path);
            }
            if work.busy == 0 {
                return None;
            }
            work = self.changed.wait(work).ok()?;
        }
    }
}

/// Real paths by the path a `$ref` gave (relative to its file's directory), and of directories.
#[derive(Default)]
struct Paths {
    files: HashMap<PathBuf, Option<PathBuf>, foldhash::fast::RandomState>,
    dirs: Dirs,
}

/// Pushes the real path of every file that a `$ref` in `doc` (the content of the file `file`)
/// names, other than through literal data (examples, defaults) or a vendor extension.
fn named_files(file: &Path, doc: &Value, paths: &mut Paths, out: &mut Vec<PathBuf>) {
    let source = Source::File(file.to_path_buf());
    let mut walk = vec![doc];
    while let Some(value) = walk.pop() {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(r)) = map.field("$ref") {
                    let target = r.split_once('#').map_or(r.as_str(), |(t, _)| t);
                    if !target.is_empty()
                        && !is_url(target)
                        && let Source::File(path) = source.join(target)
                    {
                        let Paths { files, dirs } = paths;
                        let real = files.entry(path).or_insert_with_key(|p| real_path(p, dirs).ok());
                        out.extend(real.clone());
                    }
                }
                walk.extend(
                    map.iter()
                        .filter(|(k, v)| !is_data(k, v) && !is_vendor_extension(k))
                        .map(|(_, v)| v),
                );
            }
            Value::Array(items) => walk.extend(items),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Files named through other files are parsed, each once, under their real paths; a file
    /// that does not parse, or is named but missing, is left out (the bundler reports it), and so
    /// is one named only from a vendor extension.
    #[test]
    fn parses_every_file_reached_and_leaves_out_what_fails() {
        let d = &std::env::temp_dir().join(format!("specbox-prefetch-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(d);
        std::fs::create_dir_all(d).unwrap();
        std::fs::create_dir(d.join("sub")).unwrap();
        std::fs::write(d.join("a.yaml"), "x: {$ref: 'sub/b.yaml'}\ny: {$ref: 'missing.yaml'}\n").unwrap();
        std::fs::write(
            d.join("sub/b.yaml"),
            "z: {$ref: '../c.yaml#/k'}\nw: {$ref: '../bad.yaml'}\n",
        )
        .unwrap();
        std::fs::write(d.join("c.yaml"), "k: {type: string}\nback: {$ref: 'a.yaml'}\n").unwrap();
        std::fs::write(d.join("bad.yaml"), "k: [unclosed\n").unwrap();
        std::fs::write(d.join("samples.yaml"), "lang: curl\n").unwrap();
        let root = serde_json::json!({
            "p": {"$ref": "a.yaml"},
            "q": {"examples": {"e": {"value": {"$ref": "c.yaml"}}}, "x-samples": {"$ref": "samples.yaml"}},
        });
        let got = prefetch(&Source::File(d.join("root.yaml")), &root, 1 << 20, None);
        let real = d.canonicalize().unwrap();
        let mut names: Vec<_> = got
            .keys()
            .map(|p| p.strip_prefix(&real).unwrap().to_path_buf())
            .collect();
        names.sort();
        std::fs::remove_dir_all(d).unwrap();
        if std::thread::available_parallelism().map_or(1, |n| n.get()) < 2 {
            assert!(names.is_empty());
            return;
        }
        assert_eq!(names, ["a.yaml", "c.yaml", "sub/b.yaml"].map(PathBuf::from));
        assert_eq!(got[&real.join("c.yaml")]["k"]["type"], "string");
    }
}
