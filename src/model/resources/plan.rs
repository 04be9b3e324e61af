//! The decisions resource inference makes, as plain data: what each operation does ([`Action`]),
//! what a resource is, which fields a write keeps, how a list pages and filters. A request only
//! follows these; nothing here looks at a spec.

use crate::model::schema::Schema;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

/// What an operation does.
#[derive(Debug, Clone)]
pub enum Action {
    /// Serve the example or generated response; no state.
    None,
    Create {
        res: usize,
        write: Box<Write>,
        shape: Shape,
    },
    Read {
        res: usize,
        shape: Shape,
    },
    List {
        res: usize,
        plan: Box<ListPlan>,
    },
    Update {
        res: usize,
        write: Box<Write>,
        shape: Shape,
    },
    Replace {
        res: usize,
        write: Box<Write>,
        shape: Shape,
    },
    Delete {
        res: usize,
        shape: Option<Shape>,
    },
    Archive {
        res: usize,
        shape: Shape,
    },
    Restore {
        res: usize,
        shape: Shape,
    },
    /// Another action on an item (`POST /things/{id}/confirm`) whose answer is the item: the
    /// item as stored, after the action's lifecycle transition if it has one. Nothing sent is
    /// written, and, as for an action that keeps no state, it is neither a read (no example
    /// seeds state from it, no public read) nor a write.
    Act {
        res: usize,
        shape: Shape,
    },
}

impl Action {
    pub fn resource(&self) -> Option<usize> {
        match self {
            Action::None => None,
            Action::Create { res, .. }
            | Action::Read { res, .. }
            | Action::List { res, .. }
            | Action::Update { res, .. }
            | Action::Replace { res, .. }
            | Action::Delete { res, .. }
            | Action::Archive { res, .. }
            | Action::Restore { res, .. }
            | Action::Act { res, .. } => Some(*res),
        }
    }

    pub fn writes(&self) -> bool {
        !matches!(
            self,
            Action::None | Action::Read { .. } | Action::List { .. } | Action::Act { .. }
        )
    }
}

/// How ids are made.
#[derive(Debug, Clone)]
pub enum IdGen {
    /// A template with `{ulid}`, `{uuid}` or `{seq}`.
    Template(String),
    Uuid,
    Seq,
    /// A random value of the key's schema (a `pattern` without a plain prefix).
    Generated(Box<Value>),
    /// Random text shaped like this example: each digit, lower- and upper-case letter replaced
    /// by a random one of its kind.
    Like(String),
}

impl IdGen {
    /// Whether a new id takes the collection's next sequence number.
    pub fn uses_seq(&self) -> bool {
        match self {
            IdGen::Seq => true,
            IdGen::Template(t) => t.contains("{seq}"),
            _ => false,
        }
    }
}

/// A business-rule uniqueness constraint.
#[derive(Debug, Clone)]
pub struct UniqueRule {
    pub field: String,
    pub case_insensitive: bool,
    pub status: u16,
    pub code: Option<String>,
    pub message: Option<String>,
}

/// A resource: a collection (possibly under a parent) of objects with ids.
#[derive(Debug)]
pub struct Resource {
    pub spec: usize,
    /// Last static segment of the collection path, for messages (`invoices`).
    pub name: String,
    /// The collection template as written in the spec (the fixture key).
    pub collection: String,
    /// Name of the item path's id parameter.
    pub item_param: Option<String>,
    pub parent: Option<usize>,
    /// Path parameters of the collection template (ancestor ids), in order.
    pub scope_params: Vec<String>,
    pub id_field: String,
    pub id_gen: IdGen,
    pub integer_id: bool,
    /// The representation schema (what a read returns).
    pub schema_pointer: Option<String>,
    pub schema: Option<Schema>,
    pub unique: Vec<UniqueRule>,
    pub created_field: Option<String>,
    pub updated_field: Option<String>,
    /// How `created_field` and `updated_field` write a moment (their schemas' types).
    pub created_form: TimeForm,
    pub updated_form: TimeForm,
    /// DELETE archives (the spec has a restore action) rather than removes.
    pub archivable: bool,
    /// Fields that refer to other resources.
    pub references: Vec<Reference>,
    /// The operation that creates items of this resource (for inline creation by a reference).
    pub create_op: Option<usize>,
    /// The representation's shape: how items are normalised when stored.
    pub rep_shape: Shape,
    /// Anyone may read it (its read and its list allow anonymous access) while a write of it
    /// needs a credential, or its parent is shared: what it stores is everyone's, kept in the
    /// default tenant whatever credential a request carries, as public data is one set in the
    /// real API. The request stays its caller's: its idempotency key, fault rules and journal
    /// entry are the credential's.
    pub shared: bool,
}

/// A field that refers to another resource: by id, or by an inline object that is matched on a
/// unique field and created when absent (`x-specbox-resource.references`).
#[derive(Debug, Clone)]
pub struct Reference {
    pub field: String,
    /// The referenced resource (a top-level collection of the same spec).
    pub target: usize,
    /// The field an inline object is matched on; `None` refuses inline objects.
    pub match_field: Option<String>,
    /// Copy these fields of the referenced item into this object under `into`.
    pub snapshot: Option<Snapshot>,
}

#[derive(Debug, Clone)]
pub struct Snapshot {
    pub into: String,
    pub fields: Vec<String>,
}

impl Resource {
    /// `invoices` → `invoice`, `categories` → `category`, for messages.
    pub fn singular(&self) -> String {
        singular(&self.name)
    }
}

/// `invoices` → `invoice`, `categories` → `category`, `statuses` → `status`, `Calls.json` → `Call`.
pub fn singular(name: &str) -> String {
    let n = name.split('.').next().unwrap_or(name);
    let es = ["sses", "xes", "shes", "zzes", "tches", "tuses", "iases"];
    if let Some(stem) = n.strip_suffix("ies") {
        format!("{stem}y")
    } else if es.iter().any(|e| n.ends_with(e)) {
        n.get(..n.len() - 2).unwrap_or(n).to_string()
    } else if let Some(stem) = n.strip_suffix('s') {
        stem.to_string()
    } else {
        n.to_string()
    }
}

/// A write's [`WritePlan`], made by the first request that needs it (`Write::plan`, beside
/// `write_plan`). Most writes of a large spec are never sent, and making every plan at startup
/// was a tenth of a large spec's startup. A plan reads only what the cut document keeps (the
/// body's, the representation's and the answer's schemas, the answer's examples), so it is the
/// same plan whenever it is made.
#[derive(Debug, Clone, Default)]
pub struct Write(pub(super) std::sync::OnceLock<WritePlan>);

/// Which request fields are stored, under which names, and what a new item starts from.
#[derive(Debug, Clone, Default)]
pub struct WritePlan {
    /// Declared, writable properties of the request schema; `None` stores every field.
    pub fields: Option<Vec<String>>,
    /// Defaults to apply to missing fields (from the request and representation schemas).
    pub defaults: Vec<(String, Value)>,
    /// The request body carries the object inside this property (`{"customer": {...}}`).
    pub envelope: Option<String>,
    /// Request fields stored under the representation's name or type (`FriendlyName` →
    /// `friendly_name`; a form's `"true"` → `true` where the representation says boolean).
    pub renames: Vec<Rename>,
    /// What a new item starts from: the fields the server sets, as the spec's example of the
    /// answer shows them (statuses, references, amounts the client does not send). Create only.
    pub base: Vec<(String, Value)>,
    /// The key value the example shows, so links and references in `base` that name it are
    /// rewritten with the new item's key.
    pub base_key: Option<String>,
    /// The places in `base` (a field, or a path of members down to text: HAL's `_links`, `self`,
    /// `href`) whose text names the example's item by `base_key` (a link): a create rewrites
    /// these, and only these, with the new key.
    pub rekeyed: Vec<Vec<String>>,
    /// Fields that hold a parent's key, by the path parameter that gives it (`AccountSid` →
    /// `account_sid`): a create sets them from the path, never from the example.
    pub scope_fields: Vec<(String, String, crate::model::schema::Coerce)>,
    /// Stored fields whose request schema allows what the representation's does not (a `date`
    /// sent, a `date-time` answered; an empty string where the answer wants three characters): a
    /// sent value is kept only if the representation's schema takes it, else the answer's own
    /// value (default, null or example) stands.
    pub checked: Vec<(String, std::sync::Arc<Schema>)>,
    /// Stored fields that are free-form maps (`metadata`): an update merges what it sends into
    /// the stored map, key by key (a key sent as `null` goes), as a JSON merge patch does; a
    /// replace still replaces.
    pub merged: Vec<String>,
}

/// One request field that is stored differently from how it was sent.
#[derive(Debug, Clone)]
pub struct Rename {
    pub from: String,
    pub to: String,
    /// The representation's type, when the request's differs.
    pub convert: Option<crate::model::schema::Coerce>,
}

/// How a stored object is shaped into a response body. Clones share the declared properties
/// and their index: every operation of a resource carries its shape, and a schema with dozens of
/// properties made each copy kilobytes (megabytes in all for a large spec).
#[derive(Debug, Clone, Default)]
pub struct Shape {
    /// Declared properties of the response schema; empty with `keep_all` = pass through.
    pub props: Arc<[ShapeProp]>,
    pub keep_all: bool,
    /// The schema this shape was made from: when it is the resource's representation, a stored
    /// item (normalised to it at write time) is sent as stored.
    pub pointer: Option<String>,
    /// Each property's place in `props`, by name: a body's fields come in any order, and a
    /// schema can declare dozens of properties.
    pub(super) index: Arc<HashMap<String, usize, foldhash::fast::RandomState>>,
    /// The answer wraps the item in this property (`{"customer": {...}}`, `{"data": {...}}`).
    pub envelope: Option<String>,
    /// What the wrapper carries beside the item, as the spec's example of the answer shows it
    /// (`"errors": []`, `"related_resources": {...}`).
    pub beside: Vec<(String, Value)>,
    /// Some property is `writeOnly`: a stored item is never sent as stored text.
    pub(super) hides: bool,
    /// Fields the schema does not declare that the answer's example shows, where the schema
    /// leaves other members free (`"mode": "live"` beside declared `id` and `amount`): sent as
    /// the item holds them.
    pub extras: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct ShapeProp {
    pub name: String,
    /// `"name":`, the name as JSON text with the colon: written before every stored value.
    pub(super) json_key: Box<[u8]>,
    /// Missing values read back as `null` (the schema allows it and requires the field, or
    /// allows it and the API writes explicit nulls).
    pub null_if_missing: bool,
    /// A generated value for a required field the object does not have.
    pub fill: Option<Value>,
    /// `writeOnly`: stored, never sent.
    pub hidden: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// `limit` + `after`/`before` cursors.
    Cursor,
    /// `page` + `per_page`.
    Page,
    /// `offset` + `limit`.
    Offset,
    /// Just a `limit` (the first N), or nothing: the whole list.
    First,
}

/// How a field's schema writes a moment: RFC 3339 text (a `date-time`, or a field such as
/// `created_at` whose schema names no other type), a date, or Unix seconds or milliseconds (an
/// `integer` or `number` field, such as a `created_at` of Unix seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimeForm {
    /// RFC 3339 (`2026-12-07T06:20:00Z`).
    #[default]
    Text,
    Date,
    /// RFC 2822 in GMT (`Mon, 07 Dec 2026 06:20:00 +0000`), as older form APIs write dates.
    Rfc2822,
    UnixSeconds,
    UnixMillis,
}

impl TimeForm {
    /// A numeric form (the field is a Unix time).
    pub fn is_unix(self) -> bool {
        matches!(self, TimeForm::UnixSeconds | TimeForm::UnixMillis)
    }
}

/// What one envelope field of a list response carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvField {
    StartCursor,
    EndCursor,
    /// The key of the page's first item (`first_id`): a cursor for APIs that page by item keys.
    FirstKey,
    /// The key of the page's last item (`last_id`).
    LastKey,
    HasNext,
    HasPrevious,
    HasMore,
    Page,
    PerPage,
    Total,
    TotalPages,
    Offset,
    Limit,
}

impl ListPlan {
    /// Every paging field the envelope answers, nested ones too.
    pub fn envelope_fields(&self) -> impl Iterator<Item = EnvField> + '_ {
        let nested = self.nested.iter().flat_map(|n| n.envelope.iter());
        self.envelope.iter().chain(nested).map(|(_, f)| *f)
    }
}

/// An envelope property that is an object of paging fields (`"meta": {"limit", "offset", "total"}`,
/// `"pagination": {"next_cursor"}`): its paging fields, and its others as the example shows them.
#[derive(Debug, Clone)]
pub struct NestedEnvelope {
    pub name: String,
    pub envelope: Vec<(String, EnvField)>,
    pub fill: Vec<(String, Value)>,
    /// As [`ListPlan::unfilled`].
    pub unfilled: Vec<(String, Value)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchKind {
    Exact,
    Contains,
    Prefix,
    Gte,
    Lte,
}

#[derive(Debug, Clone)]
pub struct Filter {
    pub param: String,
    pub field: String,
    pub kind: MatchKind,
    pub case_insensitive: bool,
}

/// How a list operation pages, filters and shapes.
#[derive(Debug, Clone)]
pub struct ListPlan {
    pub style: Style,
    /// The array property of the envelope; `None` when the response is a bare array.
    pub items_field: Option<String>,
    pub limit_param: Option<String>,
    pub after_param: Option<String>,
    pub before_param: Option<String>,
    pub page_param: Option<String>,
    pub offset_param: Option<String>,
    pub default_limit: usize,
    pub max_limit: Option<usize>,
    pub envelope: Vec<(String, EnvField)>,
    /// The envelope's cursor is a number (the slot itself), not opaque text.
    pub numeric_cursor: bool,
    /// `first_id`/`last_id` are text where the items' keys are numbers (the schema says string).
    pub keys_as_text: bool,
    /// Other required envelope fields, with a generated value.
    pub envelope_fill: Vec<(String, Value)>,
    /// What a paging field of `envelope` answers when the page gives it no value (the cursors
    /// of an empty page): `null` where its schema allows, else as the example shows it, else
    /// generated where it is required. A field not here is left out then.
    pub unfilled: Vec<(String, Value)>,
    /// Envelope objects that page in fields of their own (`"meta": {"total": 3}`), after the items.
    pub nested: Vec<NestedEnvelope>,
    pub filters: Vec<Filter>,
    pub item_shape: Shape,
}

#[cfg(test)]
mod tests {
    use super::singular;

    #[test]
    fn plurals_become_singular() {
        for (plural, one) in [
            ("invoices", "invoice"),
            ("categories", "category"),
            ("addresses", "address"),
            ("boxes", "box"),
            ("matches", "match"),
            ("statuses", "status"),
            ("aliases", "alias"),
            ("Calls.json", "Call"),
            ("data", "data"),
        ] {
            assert_eq!(singular(plural), one, "{plural}");
        }
    }
}
