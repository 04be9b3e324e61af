//! The shape of `src/`: every module's `crate::` paths are read, and the build fails when
//!
//! - two modules (files) import each other, directly or around a circle, or
//! - a folder uses a folder that `src/lib.rs` declares after it (lib.rs lists the layers, lowest
//!   first, so a lower layer never imports a higher one).
//!
//! It reads source text, not the compiler's view: `use crate::a::{b, c::D}` groups, inline
//! `crate::a::b` paths and `super::` are followed; comments and `#[cfg(test)]` modules are not
//! (a unit test may reach anywhere). The checker is tested on made-up sources below, so it is
//! known to catch what it is for.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Module path of a file under `src/` (`model/router.rs` → `model::router`, `model/mod.rs` →
/// `model`); `None` for the crate roots.
fn module_of(rel: &str) -> Option<String> {
    let rel = rel.strip_suffix(".rs")?;
    if rel == "lib" || rel == "main" {
        return None;
    }
    let rel = rel.strip_suffix("/mod").unwrap_or(rel);
    Some(rel.replace('/', "::"))
}

/// The code of a file without comments and without its `#[cfg(test)]` module.
fn code_of(text: &str) -> String {
    let text = match text.find("#[cfg(test)]") {
        Some(i) => &text[..i],
        None => text,
    };
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .map(|l| match l.find(" // ") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn ident(s: &str) -> (&str, &str) {
    let end = s.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(s.len());
    s.split_at(end)
}

/// Every path written after `crate::` (groups expanded), as segment lists.
fn crate_paths(code: &str) -> Vec<Vec<String>> {
    fn parse(rest: &str, prefix: Vec<String>, out: &mut Vec<Vec<String>>) -> usize {
        // Reads `a::b::{...}` or `a::b` from `rest`; returns how much it consumed.
        let mut path = prefix;
        let mut i = 0;
        loop {
            let s = &rest[i..];
            let trimmed = s.trim_start();
            i += s.len() - trimmed.len();
            if let Some(group) = trimmed.strip_prefix('{') {
                i += 1;
                let mut j = 0;
                loop {
                    let g = &group[j..];
                    let t = g.trim_start();
                    j += g.len() - t.len();
                    if t.starts_with('}') {
                        return i + j + 1;
                    }
                    if t.starts_with(',') {
                        j += 1;
                        continue;
                    }
                    if t.is_empty() {
                        return i + j;
                    }
                    let used = parse(t, path.clone(), out);
                    if used == 0 {
                        j += 1;
                    }
                    j += used;
                }
            }
            let (name, after) = ident(trimmed);
            if name.is_empty() {
                out.push(path);
                return i;
            }
            path.push(name.to_string());
            i += name.len();
            if after.starts_with("::") {
                i += 2;
                continue;
            }
            // `self` inside a group names the prefix itself.
            if path.last().is_some_and(|l| l == "self") {
                path.pop();
            }
            out.push(path);
            return i;
        }
    }
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(i) = code[at..].find("crate::") {
        let start = at + i;
        let before = code[..start].chars().last();
        at = start + "crate::".len();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
            continue;
        }
        at += parse(&code[at..], Vec::new(), &mut out);
    }
    out
}

/// The modules each module uses: `modules` maps a module path to its code.
fn graph(modules: &BTreeMap<String, String>) -> BTreeMap<String, BTreeSet<String>> {
    let mut edges = BTreeMap::new();
    for (module, code) in modules {
        let mut uses = BTreeSet::new();
        let mut paths = crate_paths(code);
        // `super::x` from `a::b` is `crate::a::x`.
        let parent: Vec<String> = module.split("::").map(str::to_string).collect();
        let parent = &parent[..parent.len().saturating_sub(1)];
        let mut at = 0;
        while let Some(i) = code[at..].find("super::") {
            let start = at + i;
            at = start + "super::".len();
            let (name, _) = ident(&code[at..]);
            let mut p = parent.to_vec();
            p.push(name.to_string());
            paths.push(p);
        }
        for path in paths {
            // The longest prefix that is a module.
            let target = (1..=path.len())
                .rev()
                .map(|n| path[..n].join("::"))
                .find(|m| modules.contains_key(m));
            if let Some(t) = target.filter(|t| t != module) {
                uses.insert(t);
            }
        }
        edges.insert(module.clone(), uses);
    }
    edges
}

/// Circles in the module graph (each as the list of its modules), by Tarjan's algorithm.
fn circles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct T<'a> {
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(t: &mut T<'a>, v: &'a str) {
        let n = t.index.len();
        t.index.insert(v, n);
        t.low.insert(v, n);
        t.stack.push(v);
        t.on.insert(v);
        for w in t.edges.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !t.edges.contains_key(w) {
                continue;
            }
            if !t.index.contains_key(w) {
                visit(t, w);
                let lw = t.low[w];
                let lv = t.low[v];
                t.low.insert(v, lv.min(lw));
            } else if t.on.contains(w) {
                let iw = t.index[w];
                let lv = t.low[v];
                t.low.insert(v, lv.min(iw));
            }
        }
        if t.low[v] == t.index[v] {
            let mut scc = Vec::new();
            while let Some(w) = t.stack.pop() {
                t.on.remove(w);
                scc.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if scc.len() > 1 {
                scc.sort();
                t.out.push(scc);
            }
        }
    }
    let mut t = T {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in edges.keys() {
        if !t.index.contains_key(v.as_str()) {
            visit(&mut t, v);
        }
    }
    t.out
}

/// Uses that go from a layer to one declared after it in `layers`.
fn upward(edges: &BTreeMap<String, BTreeSet<String>>, layers: &[String]) -> Vec<String> {
    let rank = |m: &str| {
        let top = m.split("::").next().unwrap_or(m);
        layers.iter().position(|l| l == top)
    };
    let mut out = Vec::new();
    for (from, tos) in edges {
        for to in tos {
            match (rank(from), rank(to)) {
                (Some(a), Some(b)) if b > a => out.push(format!("{from} uses {to}")),
                (None, _) | (_, None) => out.push(format!("{from} or {to} is not a layer declared in lib.rs")),
                _ => {}
            }
        }
    }
    out
}

fn collect(dir: &Path, root: &Path, out: &mut BTreeMap<String, String>) {
    for entry in std::fs::read_dir(dir).expect("read src/") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            collect(&path, root, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let rel = path
                .strip_prefix(root)
                .expect("under src/")
                .to_string_lossy()
                .replace('\\', "/");
            if let Some(m) = module_of(&rel) {
                let text = std::fs::read_to_string(&path).expect("read a source file");
                out.insert(m, code_of(&text));
            }
        }
    }
}

/// The layers, lowest first: the `pub mod` lines of lib.rs in order.
fn layers(lib: &str) -> Vec<String> {
    lib.lines()
        .filter_map(|l| l.trim().strip_prefix("pub mod ")?.strip_suffix(';'))
        .map(str::to_string)
        .collect()
}

#[test]
fn src_has_no_import_circle_and_no_upward_use() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut modules = BTreeMap::new();
    collect(&src, &src, &mut modules);
    assert!(
        modules.len() > 20,
        "expected the modules of src/, found {}",
        modules.len()
    );
    let edges = graph(&modules);
    let found = circles(&edges);
    assert!(
        found.is_empty(),
        "modules that import each other in a circle: {found:?}"
    );
    let lib = std::fs::read_to_string(src.join("lib.rs")).expect("read lib.rs");
    let layers = layers(&lib);
    let wrong = upward(&edges, &layers);
    assert!(
        wrong.is_empty(),
        "layers in lib.rs order are {layers:?}; uses against that order:\n{}",
        wrong.join("\n")
    );
}

fn made_up(files: &[(&str, &str)]) -> BTreeMap<String, BTreeSet<String>> {
    let modules = files
        .iter()
        .map(|(m, code)| (m.to_string(), code_of(code)))
        .collect::<BTreeMap<_, _>>();
    graph(&modules)
}

#[test]
fn the_checker_finds_circles_through_groups_inline_paths_and_super() {
    let edges = made_up(&[
        ("a", "use crate::b::{self, x::Y};"),
        ("b", "pub mod x;"),
        ("b::x", "fn f() { crate::c::g(); }"),
        ("c", "use super::a::Thing;\n// use crate::b; (a comment is not a use)"),
    ]);
    assert_eq!(edges["a"], BTreeSet::from(["b".to_string(), "b::x".to_string()]));
    assert_eq!(edges["b::x"], BTreeSet::from(["c".to_string()]));
    // `c` is top level: its `super::a` is `crate::a`, which closes a ─► b::x ─► c ─► a.
    assert_eq!(edges["c"], BTreeSet::from(["a".to_string()]));
    assert_eq!(
        circles(&edges),
        vec![vec!["a".to_string(), "b::x".to_string(), "c".to_string()]]
    );

    let line = made_up(&[("a", "use crate::b::x::Y;"), ("b", ""), ("b::x", "use crate::b::Z;")]);
    assert!(
        circles(&line).is_empty(),
        "a child using its parent's items, with no way back, is no circle"
    );
    let wrong = upward(&line, &["a".to_string(), "b".to_string()]);
    assert_eq!(wrong, vec!["a uses b::x".to_string()]);
    assert!(upward(&line, &["b".to_string(), "a".to_string()]).is_empty());
}

#[test]
fn test_modules_and_strings_that_merely_contain_the_word_are_not_uses() {
    let edges = made_up(&[
        ("a", "fn f() {}\n#[cfg(test)]\nmod tests { use crate::b::X; }"),
        ("b", "const S: &str = \"not_crate::a\";"),
    ]);
    assert!(edges["a"].is_empty());
    assert!(edges["b"].is_empty());
}
