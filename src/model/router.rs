//! Routing: mounts and path templates to operations; 404 and 405.
//!
//! All routes of all specs go into one `matchit` radix tree at startup (static segments beat
//! parameters, as OpenAPI asks). Templates that matchit cannot hold, such as two parameters in
//! one segment (`/files/{name}.{ext}`), go to a short fallback list matched segment by segment.
//! Parameter names are normalised (`{p0}`, `{p1}`, ...) before insertion so that the same route
//! written with different names is caught as a duplicate with a message naming both places,
//! rather than surfacing as matchit's generic conflict. Within one spec that is a warning (OpenAPI
//! forbids such pairs, yet published specs have them): the later operations are kept beside the
//! first, and `Api::route` sends a request to one whose path parameters it fits. Between two
//! specs it is an error, which a mount resolves.

use crate::model::operation::{Operation, Spec, template_params};
use crate::spec::error::SpecError;
use crate::spec::pointer::{escape_pointer, percent_decode};
use hyper::Method;
use std::borrow::Cow;
use std::collections::HashMap;

/// A path parameter's name, shared by the route and every request that matches it.
pub type ParamName = std::sync::Arc<str>;

/// The operations at one route, each with its path parameters' names, in the order a request
/// tries them (see [`Router::alternates`]).
type Alternates = Vec<(usize, Vec<ParamName>)>;

/// What a route leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Op(usize),
    /// The OAuth2 token endpoint of a spec.
    Token(usize),
}

struct Entry {
    /// Owning spec (of the first method registered), for errors on this path.
    spec: usize,
    methods: Vec<Route>,
    /// Whether some route here carries a query (most paths have none: one comparison).
    queries: bool,
}

/// One method of a path, and what it leads to.
struct Route {
    method: Method,
    target: Target,
    names: Vec<ParamName>,
    /// The query a path key carries (`/things?beta=true`): pairs the request's query must
    /// hold for this route rather than the same method's route without one.
    when: Option<Vec<(String, String)>>,
}

/// Whether a request's query pairs (`sent`) hold each of a path key's (a key given without a
/// value, any value).
fn holds(pairs: &[(String, String)], sent: &[(Cow<'_, str>, Cow<'_, str>)]) -> bool {
    pairs
        .iter()
        .all(|(k, v)| sent.iter().any(|(sk, sv)| sk == k && (v.is_empty() || sv == v)))
}

/// The outcome of matching a request.
pub enum Match {
    Found {
        target: Target,
        /// Percent-decoded path parameters, by the names the operation uses.
        params: Vec<(ParamName, String)>,
    },
    MethodNotAllowed {
        spec: usize,
        allow: Vec<Method>,
    },
    NotFound {
        /// The spec whose mount the path falls under (for the error's shape).
        spec: Option<usize>,
    },
}

pub struct Router {
    tree: matchit::Router<usize>,
    entries: Vec<Entry>,
    fallback: Vec<(Vec<Segment>, usize)>,
    /// Mount prefixes, longest first.
    mounts: Vec<(String, usize)>,
    /// Paths of a spec that differ from an earlier one only in their parameters' names
    /// (`/contacts/{number}` beside `/contacts/{id}`), as warnings, which the caller takes (see
    /// [`Router::take_shadowed`]).
    shadowed: Vec<SpecError>,
    /// By the index of the operation the route was first registered for, every operation at
    /// that route and method with its parameters' names: the spec's order until
    /// [`Router::order_alternates`] puts them in the order a request tries them (see
    /// `Api::route`). Sorted by the first operation; empty for most specs.
    alternates: Vec<(usize, Alternates)>,
}

#[derive(Debug, Clone)]
enum Piece {
    Lit(String),
    Param,
}

type Segment = Vec<Piece>;

impl Router {
    // Startup only (never on a request path): indices are positions in the vectors built here.
    #[allow(clippy::indexing_slicing)]
    pub fn build(specs: &[Spec], ops: &[Operation]) -> Result<Router, Vec<SpecError>> {
        let mut b = Builder {
            specs,
            errors: Vec::new(),
            shadowed: Vec::new(),
            alternates: Vec::new(),
            by_key: HashMap::new(),
            entries: Vec::new(),
            owners: HashMap::new(),
        };
        for (i, op) in ops.iter().enumerate() {
            let spec = &specs[op.spec];
            if op.route.starts_with("/__specbox") {
                b.errors.push(SpecError::new(
                    &spec.doc.path,
                    format!("/paths/{}", escape_pointer(&op.template)),
                    "paths under /__specbox/ are reserved for specbox's admin API",
                ));
                continue;
            }
            b.add(&op.route, op.method.clone(), Target::Op(i), op.spec, op.pointer.clone());
        }
        for (i, spec) in specs.iter().enumerate() {
            if let Some(route) = &spec.token_route {
                // A spec that documents its own token endpoint keeps it.
                let (key, _) = normalise(route);
                if !b.owners.contains_key(&(key, Method::POST)) {
                    b.add(
                        route,
                        Method::POST,
                        Target::Token(i),
                        i,
                        "/components/securitySchemes".into(),
                    );
                }
            }
        }
        let Builder {
            errors,
            shadowed,
            mut alternates,
            by_key,
            mut entries,
            ..
        } = b;
        if !errors.is_empty() {
            return Err(errors);
        }
        // Kept for the life of the server: at their size, not at the room pushing left.
        for e in &mut entries {
            e.methods.shrink_to_fit();
        }
        entries.shrink_to_fit();

        let mut tree = matchit::Router::new();
        let mut fallback = Vec::new();
        let mut keys: Vec<(&String, &usize)> = by_key.iter().collect();
        keys.sort();
        for (key, idx) in keys {
            if tree.insert(key.as_str(), *idx).is_err() {
                fallback.push((segments(key), *idx));
            }
        }
        let mut mounts: Vec<(String, usize)> = specs.iter().enumerate().map(|(i, s)| (s.mount.clone(), i)).collect();
        mounts.sort_by_key(|(m, _)| std::cmp::Reverse(m.len()));
        alternates.sort_unstable_by_key(|(first, _)| *first);
        Ok(Router {
            tree,
            entries,
            fallback,
            mounts,
            shadowed,
            alternates,
        })
    }

    /// The operations at the route of operation `first`, itself among them, in the order a
    /// request tries them, with their path parameters' names in the order the route's are
    /// (see [`Router::alternates`]); empty where `first` is alone at its route.
    pub fn alternates(&self, first: usize) -> &[(usize, Vec<ParamName>)] {
        if self.alternates.is_empty() {
            return &[];
        }
        match self.alternates.binary_search_by_key(&first, |(f, _)| *f) {
            Ok(i) => self.alternates.get(i).map_or(&[], |(_, a)| a.as_slice()),
            Err(_) => &[],
        }
    }

    /// Orders the operations at each shared route once, at startup: those for which `first`
    /// holds before the others, each group in the spec's order (a sort that keeps ties).
    pub fn order_alternates(&mut self, first: impl Fn(usize) -> bool) {
        for (_, ops) in &mut self.alternates {
            ops.sort_by_key(|(op, _)| !first(*op));
        }
    }

    /// The warnings about paths that differ only in their parameters' names (see
    /// [`Router::shadowed`]), once.
    pub fn take_shadowed(&mut self) -> Vec<SpecError> {
        std::mem::take(&mut self.shadowed)
    }

    /// [`Self::find_in`] for a request without a query.
    pub fn find(&self, method: &Method, path: &str) -> Match {
        self.find_in(method, path, "")
    }

    /// The route of a request. Where a path key carries a query (`/things?beta=true`) beside
    /// the same path without one, a request whose query holds those pairs takes the first; a path
    /// whose only route of a method carries a query takes any request of that method.
    pub fn find_in(&self, method: &Method, path: &str, query: &str) -> Match {
        // matchit's parameters borrow the path; they are decoded straight into the result, by the
        // names the matched operation uses, with no list in between (this runs on every request).
        let matched = self.tree.at(path);
        let (idx, fallback_values) = match &matched {
            Ok(m) => (*m.value, None),
            Err(_) => match self
                .fallback
                .iter()
                .find_map(|(segs, idx)| match_segments(segs, path).map(|v| (*idx, v)))
            {
                Some((idx, values)) => (idx, Some(values)),
                None => {
                    return Match::NotFound {
                        spec: self.spec_for_path(path),
                    };
                }
            },
        };
        let Some(entry) = self.entries.get(idx) else {
            return Match::NotFound { spec: None };
        };
        let found = if entry.queries {
            match by_query(entry, method, query) {
                Some(r) => Some(r),
                // Routes of this method tell operations apart by query, and none fits this one.
                None if entry.methods.iter().any(|r| r.method == *method) => {
                    return Match::NotFound { spec: Some(entry.spec) };
                }
                None => None,
            }
        } else {
            // HEAD is answered by GET when the spec does not declare it.
            entry.methods.iter().find(|r| r.method == *method).or_else(|| {
                (method == Method::HEAD)
                    .then(|| entry.methods.iter().find(|r| r.method == Method::GET))
                    .flatten()
            })
        };
        let Some(Route { target, names, .. }) = found else {
            let mut allow: Vec<Method> = Vec::new();
            for r in &entry.methods {
                if !allow.contains(&r.method) {
                    allow.push(r.method.clone());
                }
            }
            return Match::MethodNotAllowed {
                spec: entry.spec,
                allow,
            };
        };
        let params = match (matched, fallback_values) {
            (Ok(m), _) => names
                .iter()
                .cloned()
                .zip(m.params.iter().map(|(_, v)| percent_decode(v).into_owned()))
                .collect(),
            (Err(_), values) => names.iter().cloned().zip(values.unwrap_or_default()).collect(),
        };
        Match::Found {
            target: *target,
            params,
        }
    }

    /// The spec whose mount prefix covers `path` (longest mount wins).
    pub fn spec_for_path(&self, path: &str) -> Option<usize> {
        self.mounts
            .iter()
            .find(|(m, _)| m == "/" || path == m || path.starts_with(&format!("{m}/")))
            .map(|(_, i)| *i)
    }
}

/// The route of a path whose routes tell operations apart by query (see [`Router::find_in`]); HEAD
/// is answered by GET when the spec does not declare it. Kept apart from the common path, which
/// compares methods only.
#[cold]
fn by_query<'e>(entry: &'e Entry, method: &Method, query: &str) -> Option<&'e Route> {
    let sent: Vec<_> = crate::exchange::parts::form_pairs_borrowed(query.as_bytes()).collect();
    let pick = |method: &Method| {
        let (mut plain, mut first, mut count) = (None, None, 0);
        for r in entry.methods.iter().filter(|r| r.method == *method) {
            count += 1;
            first.get_or_insert(r);
            match &r.when {
                None => {
                    plain.get_or_insert(r);
                }
                Some(pairs) if holds(pairs, &sent) => return Some(r),
                Some(_) => {}
            }
        }
        // No route's query holds: the route without one, or the only route there is.
        plain.or(first.filter(|_| count == 1))
    };
    pick(method).or_else(|| (method == Method::HEAD).then(|| pick(&Method::GET)).flatten())
}

struct Builder<'a> {
    specs: &'a [Spec],
    errors: Vec<SpecError>,
    shadowed: Vec<SpecError>,
    alternates: Vec<(usize, Alternates)>,
    by_key: HashMap<String, usize>,
    entries: Vec<Entry>,
    /// Who registered each (route key, method), for duplicate messages, and what it leads to.
    owners: HashMap<(String, Method), (usize, String, Target)>,
}

impl Builder<'_> {
    // Startup only (never on a request path): indices are positions in the vectors built here.
    #[allow(clippy::indexing_slicing)]
    fn add(&mut self, route: &str, method: Method, target: Target, spec: usize, pointer: String) {
        // A query in a path key (`/things?beta=true`) is not part of the path: it tells this
        // route from the same path's route without it.
        let (path, query) = match route.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (route, None),
        };
        let (key, names) = normalise(path);
        let owner = match query {
            Some(q) => format!("{key}?{q}"),
            None => key.clone(),
        };
        if let Some((other_spec, other_ptr, other_target)) = self.owners.get(&(owner.clone(), method.clone())) {
            let this = &self.specs[spec];
            let other = &self.specs[*other_spec];
            if *other_spec == spec {
                // OpenAPI forbids two paths that differ only in their parameters' names, and
                // published specs have them (`/things/{thingId}`, a UUID, beside
                // `/things/{thingNumber}`, a number): both are served, a request going to one
                // whose path parameters it fits.
                let message = format!(
                    "duplicate route {method} {route}: same as {other_ptr}; a request goes to one of them whose path parameters it fits"
                );
                self.shadowed.push(SpecError::new(&this.doc.path, pointer, message));
                if let (Target::Op(first), Target::Op(later)) = (*other_target, target) {
                    let names = names.into_iter().map(ParamName::from).collect();
                    match self.alternates.iter_mut().find(|(f, _)| *f == first) {
                        Some((_, ops)) => ops.push((later, names)),
                        None => {
                            // The first operation, under the names its route matched by.
                            let first_names = self
                                .by_key
                                .get(&key)
                                .and_then(|i| self.entries.get(*i))
                                .and_then(|e| e.methods.iter().find(|r| r.target == *other_target))
                                .map(|r| r.names.clone())
                                .unwrap_or_default();
                            self.alternates
                                .push((first, vec![(first, first_names), (later, names)]));
                        }
                    }
                }
            } else {
                let message = format!(
                    "route {method} {route} is also served by {}#{other_ptr}: two specs claim the same route (give one a different mount with --mount or x-specbox-mount)",
                    other.doc.path.display()
                );
                self.errors.push(SpecError::new(&this.doc.path, pointer, message));
            }
            return;
        }
        self.owners.insert((owner, method.clone()), (spec, pointer, target));
        let entries = &mut self.entries;
        let idx = *self.by_key.entry(key).or_insert_with(|| {
            entries.push(Entry {
                spec,
                methods: Vec::new(),
                queries: false,
            });
            entries.len() - 1
        });
        let when = query.map(|q| crate::exchange::parts::form_pairs(q.as_bytes()).collect());
        entries[idx].queries |= when.is_some();
        entries[idx].methods.push(Route {
            method,
            target,
            names: names.into_iter().map(ParamName::from).collect(),
            when,
        });
    }
}

/// `/pets/{id}` → (`/pets/{p0}`, [`id`]).
fn normalise(route: &str) -> (String, Vec<String>) {
    let names = template_params(route);
    let mut key = String::with_capacity(route.len());
    let mut rest = route;
    let mut i = 0;
    while let Some(start) = rest.find('{') {
        let Some(end) = rest[start..].find('}') else {
            break;
        };
        key.push_str(&rest[..start]);
        key.push_str(&format!("{{p{i}}}"));
        i += 1;
        rest = &rest[start + end + 1..];
    }
    key.push_str(rest);
    (key, names)
}

fn segments(key: &str) -> Vec<Segment> {
    key.split('/')
        .map(|seg| {
            let mut pieces = Vec::new();
            let mut rest = seg;
            while let Some(start) = rest.find('{') {
                if start > 0 {
                    pieces.push(Piece::Lit(rest[..start].to_string()));
                }
                let end = rest[start..].find('}').map_or(rest.len(), |e| start + e + 1);
                pieces.push(Piece::Param);
                rest = &rest[end..];
            }
            if !rest.is_empty() {
                pieces.push(Piece::Lit(rest.to_string()));
            }
            pieces
        })
        .collect()
}

/// Matches a path against fallback segments; a parameter takes the shortest text up to the
/// next literal of its segment (so `{name}.{ext}` splits at the first dot).
fn match_segments(segs: &[Segment], path: &str) -> Option<Vec<String>> {
    let parts: Vec<&str> = path.split('/').collect();
    if parts.len() != segs.len() {
        return None;
    }
    let mut values = Vec::new();
    for (seg, part) in segs.iter().zip(parts) {
        let mut rest = part;
        for (i, piece) in seg.iter().enumerate() {
            match piece {
                Piece::Lit(l) => rest = rest.strip_prefix(l.as_str())?,
                Piece::Param => {
                    let value = match seg.get(i + 1) {
                        Some(Piece::Lit(next)) => {
                            let at = rest.find(next.as_str())?;
                            let (v, r) = rest.split_at(at);
                            rest = r;
                            v
                        }
                        _ => std::mem::take(&mut rest),
                    };
                    if value.is_empty() {
                        return None;
                    }
                    values.push(percent_decode(value).into_owned());
                }
            }
        }
        if !rest.is_empty() {
            return None;
        }
    }
    Some(values)
}
