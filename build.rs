//! Release builds lay the program's code out in the order of `build/code-order.txt`.
//!
//! The kernel maps a program's code in 64 kB windows around each page it faults in, and a link
//! without an order scatters the couple of MB that startup and serving run across nearly all of the
//! 13 MB of text: a small spec's idle RSS was 10 MB of code pages, most of which nothing ran. The
//! list (written by `bench/code_order.py`, which runs the release binary under valgrind) puts those
//! functions first, together; the linker (lld) places every function it does not name as it would
//! have anyway, so a list that has gone stale costs memory, never correctness.
//!
//! Only where the linker is known to be lld: rustc's own, the default for x86_64 Linux from Rust
//! 1.90. Other linkers (GNU ld, a configured `linker`) either lack the option or spell it another
//! way. `SPECBOX_CODE_ORDER=off` leaves the layout to the linker.

use std::env;
use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build/code-order.txt");
    println!("cargo:rerun-if-env-changed=SPECBOX_CODE_ORDER");
    let release = env::var("PROFILE").is_ok_and(|p| p == "release");
    let target = env::var("TARGET").unwrap_or_default();
    let off = env::var("SPECBOX_CODE_ORDER").is_ok_and(|v| v == "off");
    if !release || off || target != "x86_64-unknown-linux-gnu" || !linked_by_rust_lld() {
        return;
    }
    let Ok(dir) = env::var("CARGO_MANIFEST_DIR") else {
        return;
    };
    let order = Path::new(&dir).join("build").join("code-order.txt");
    if order.is_file() {
        println!(
            "cargo:rustc-link-arg-bins=-Wl,--symbol-ordering-file={}",
            order.display()
        );
        // Names the list has and this build lacks (a function inlined away, a hash that moved) are
        // expected: the list is a layout hint, regenerated now and then.
        println!("cargo:rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
    }
}

/// Whether the link will be rustc's self-contained lld: rustc 1.90 or newer, and neither a linker
/// nor a linker flavour chosen in the configuration or the flags.
fn linked_by_rust_lld() -> bool {
    if env::var_os("RUSTC_LINKER").is_some() {
        return false;
    }
    let flags = env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    if flags.contains("linker") || flags.contains("fuse-ld") {
        return false;
    }
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let Ok(out) = Command::new(rustc).arg("--version").output() else {
        return false;
    };
    // "rustc 1.95.0 (59807616e 2026-04-14)"
    let text = String::from_utf8_lossy(&out.stdout);
    let mut numbers = text
        .split_whitespace()
        .nth(1)
        .unwrap_or("")
        .split('.')
        .map(|n| n.parse::<u32>().unwrap_or(0));
    let (major, minor) = (numbers.next().unwrap_or(0), numbers.next().unwrap_or(0));
    (major, minor) >= (1, 90)
}
