//! specbox: a stateful sandbox for HTTP APIs, driven by their OpenAPI 3.0/3.1 specs.
//!
//! The engine is generic: nothing here knows any particular API. What is particular to an API
//! lives in its OpenAPI document (plus `x-specbox-*` extensions) and its fixtures.
//!
//! Startup turns specs into an immutable [`api::Api`] (routes, compiled validators, inferred
//! resources, error templates); each request then flows through [`handler`] as plain values.

#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)
)]

// Layers, lowest first. A module may use the ones above it in this list, never one below it
// (tests/layers.rs checks this, and that no two modules import each other in a circle).
pub mod admin;
pub mod exchange;
pub mod http;
pub mod model;
pub mod pipeline;
pub mod spec;
pub mod startup;
pub mod state;
pub mod traffic;
