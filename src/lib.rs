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

pub mod act;
pub mod admin;
pub mod api;
pub mod auth;
pub mod cli;
pub mod errors;
pub mod faults;
pub mod fixtures;
pub mod generate;
pub mod handler;
pub mod har_fixtures;
pub mod journal;
pub mod proxy;
pub mod record;
pub mod redact;
pub mod replay;
pub mod resources;
pub mod router;
pub mod server;
pub mod spec;
pub mod startup;
pub mod store;
pub mod validate;
pub mod watchdog;
