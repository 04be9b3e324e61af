//! The steps of the store interface ([`crate::state::store::Store`]): what a caller hands over
//! and gets back. Below both backends, so each can speak them without knowing the other.

use crate::model::errors::{ApiError, ErrorKind};
use crate::model::resources::plan::Resource;
use crate::state::item::{Claim, Entry};
use crate::state::memory::CollectionKey;

/// The collection a request works on, and the ancestors its path names (each must exist).
pub struct Scope<'a> {
    pub key: CollectionKey,
    /// Nearest first: the parent item, its parent, ...
    pub parents: Vec<Parent<'a>>,
}

pub struct Parent<'a> {
    pub r: &'a Resource,
    pub key: CollectionKey,
    pub id: String,
}

/// An item ready to be stored: its key, its JSON text, the unique values it claims.
pub struct Prepared {
    pub key: String,
    pub entry: Entry,
    pub claims: Vec<Claim>,
}

/// Builds the item to insert, given the collection's next sequence number (for `{seq}` ids).
pub type Prepare<'a> = Box<dyn FnOnce(u64) -> Result<Prepared, ApiError> + Send + 'a>;

/// One item of a create: the collection's own, or an object a reference creates inline.
pub struct Insert<'a> {
    pub r: &'a Resource,
    pub key: CollectionKey,
    pub prepare: Prepare<'a>,
    /// Conflicts name their field under this one (`owner.email` for an inline `owner`).
    pub field_prefix: Option<String>,
}

/// Where a page starts.
#[derive(Debug, Clone, Copy)]
pub enum From {
    /// Listed items after this slot (a cursor), or from the start.
    After(Option<usize>),
    /// Listed items before this slot (a `before` cursor), nearest last in the page.
    Before(usize),
    /// The `n`-th listed item on (offset and page-number pagination).
    Offset(usize),
}

/// Which items a page is made of.
pub struct PageQuery<'a> {
    pub from: From,
    pub limit: usize,
    /// Items must pass this (filters); `None`: every listed item.
    pub keep: Option<&'a (dyn Fn(&Entry) -> bool + Sync)>,
    /// Only this item (an exact filter on a unique field, answered by its index): `Some(None)`
    /// when the index holds no item for the value.
    pub only: Option<(usize, String)>,
    /// Count every matching item (an envelope that reports a total).
    pub total: bool,
}

/// A page: items with their slots (cursors), and what lies around it.
#[derive(Default)]
pub struct Page {
    pub items: Vec<(usize, Entry)>,
    pub has_next: bool,
    pub has_prev: bool,
    pub total: Option<usize>,
}

/// What an `Idempotency-Key` finds.
pub enum Claimed {
    /// Nobody had it: this request runs, and [`Store::idem_finish`] keeps its answer.
    New,
    /// The first request's answer, to replay.
    Replay {
        status: u16,
        content_type: Option<String>,
        body: bytes::Bytes,
    },
    /// Used with another request.
    Mismatch,
    /// The first request is still running.
    Pending,
}

/// The error of a store that cannot be reached: a 503 in the API's own error shape.
pub fn unavailable(detail: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        503,
        ErrorKind::Unavailable,
        format!("the sandbox's state store is unavailable ({detail}); retry shortly"),
    )
}
