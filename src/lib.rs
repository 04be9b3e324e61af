//! specbox: a stateful sandbox for HTTP APIs, driven by their OpenAPI (2.0 to 3.2) specs.
//!
//! The engine is generic: nothing here knows any particular API. What is particular to an API
//! lives in its OpenAPI document (plus `x-specbox-*` extensions) and its fixtures.
//!
//! Startup turns specs into an immutable [`model::Api`] (routes, compiled validators, inferred
//! resources, error templates); each request then flows through [`pipeline`] as plain values.

#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)
)]

// The layers, lowest first: a module may use those declared before it, never one after it
// (tests/layers.rs checks this order, and that no two modules import each other in a circle).
// Each is separated by its comment so that rustfmt keeps this order.

// Where memory comes from: mimalloc, and heaps of their own for what is freed whole.
pub mod heap;
// The values every stage passes along: request, reply, body, tenant name.
pub mod exchange;
// Reading documents: files, `$ref`s, 3.0 normalisation.
pub mod spec;
// The compiled, immutable API: operations, routes, schemas, resources, examples, error shapes.
pub mod model;
// What is remembered between requests: the store, fixtures, stored items and unique keys.
pub mod state;
// One request through the engine: credentials, faults, validation, acting on state, errors.
pub mod pipeline;
// Around the engine: journal, recording, redaction, proxy, replay, fixtures from recordings.
pub mod traffic;
// Flags and building the running application from specs and fixtures.
pub mod startup;
// The `/__specbox/` API.
pub mod admin;
// The HTTP server: accept loop, limits, watchdog, graceful shutdown; admin or engine per request.
pub mod http;
// specbox as a library for a project's own tests: a sandbox started and stopped in-process.
pub mod sandbox;

pub use sandbox::Sandbox;
