//! State: what the sandbox remembers between requests.
//!
//! Owns the per-tenant store (collections in creation order, unique indexes, idempotency
//! records, the sandbox clock's offset and its timers of timed transitions), the rules that keep
//! its keys unique, and seeding it from fixtures. [`store`] is the one interface the pipeline
//! uses, each step atomic ([`step`] holds what the steps take and give); [`memory`] and
//! [`redis`] are its two backends, chosen at startup, and [`item`] what both store. It knows the
//! compiled model (which resource a collection belongs to) but nothing of HTTP: the request
//! pipeline above it decides what to store, this layer only keeps it consistent.

pub mod examples;
pub mod fixtures;
pub mod item;
pub mod memory;
pub mod redis;
pub mod step;
pub mod store;
