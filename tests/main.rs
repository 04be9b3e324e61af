//! Every integration test, as one test binary (Cargo.toml sets `autotests = false`).
//!
//! Each file below is one area, tested the way a user meets it: over HTTP (or a real browser, or a
//! real Redis) against a real specbox process on an ephemeral 127.0.0.1 port, through the harness in
//! `common/`. They are modules of one crate rather than a crate each because every test binary
//! links the whole of specbox and its dependencies: one link instead of twenty, a fraction of the
//! build time and disk. Run one area with `cargo test --test integration store::`, one test with
//! its full name.

mod common;

mod corpus;
mod dashboard;
mod faults;
mod foundation;
mod layers;
mod library;
mod lifecycle;
mod limits;
mod loading;
mod prism;
mod realworld;
mod record;
mod regressions;
mod relations;
mod shared;
mod state;
mod store;
mod tls;
mod watch;
mod webhooks;
