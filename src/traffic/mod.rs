//! Traffic: what happens to requests besides being answered by the engine.
//!
//! Owns the bounded journal, HAR recording and its redaction, proxying to the real API with
//! contract checks, replaying a recording, turning a recording into fixtures, and sending
//! webhooks and callbacks ([`webhooks`]). It sits above
//! the request pipeline (a proxied request still gets its errors in the API's own shape) and
//! below the server, which decides per request whether the engine, the proxy or a replay answers.

pub mod har_fixtures;
pub mod journal;
pub mod proxy;
pub mod record;
pub mod redact;
pub mod replay;
pub mod webhooks;
