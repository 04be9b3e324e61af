//! Injected failures: what a request asks for with `Prefer`, and what is decided for it.
//!
//! Prism's `Prefer` syntax (`code=500`, `example=name`, `dynamic=true`) is honoured so that a
//! test suite written against Prism runs unchanged; `delay=` and `fault=` extend it. The outcome
//! of this module is a plain [`Directives`] value that the rest of the pipeline follows.

use std::time::Duration;

/// A transport-level failure, for testing a client's handling of broken connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetFault {
    /// Reset the connection (TCP RST) instead of answering.
    Reset,
    /// Close the connection without writing anything.
    Empty,
    /// Write bytes that are not HTTP, then close.
    Malformed,
}

impl NetFault {
    pub fn parse(s: &str) -> Option<NetFault> {
        match s {
            "reset" | "connection_reset" => Some(NetFault::Reset),
            "empty" | "empty_response" | "close" => Some(NetFault::Empty),
            "malformed" | "garbage" => Some(NetFault::Malformed),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            NetFault::Reset => "reset",
            NetFault::Empty => "empty",
            NetFault::Malformed => "malformed",
        }
    }
}

/// What `Prefer` asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Prefer {
    pub code: Option<u16>,
    pub example: Option<String>,
    pub dynamic: bool,
    pub delay: Option<Duration>,
    pub fault: Option<NetFault>,
}

impl Prefer {
    /// Parses `code=500, example=foo; dynamic=true` (commas or semicolons, spaces ignored).
    /// Unknown preferences are ignored, as RFC 7240 asks.
    pub fn parse<'a>(values: impl Iterator<Item = &'a str>) -> Prefer {
        let mut p = Prefer::default();
        for value in values {
            for part in value.split([',', ';']) {
                let Some((k, v)) = part.trim().split_once('=') else {
                    continue;
                };
                let v = v.trim().trim_matches('"');
                match k.trim().to_ascii_lowercase().as_str() {
                    "code" => p.code = v.parse().ok().filter(|c| (100..600).contains(c)),
                    "example" => p.example = Some(v.to_string()),
                    "dynamic" => p.dynamic = v.eq_ignore_ascii_case("true"),
                    "delay" => p.delay = v.parse::<u64>().ok().map(Duration::from_millis),
                    "fault" => p.fault = NetFault::parse(&v.to_ascii_lowercase()),
                    _ => {}
                }
            }
        }
        p
    }
}

/// What the pipeline must do on top of answering: wait, or break the connection.
#[derive(Debug, Clone, Default)]
pub struct Directives {
    pub delay: Option<Duration>,
    pub fault: Option<NetFault>,
}
