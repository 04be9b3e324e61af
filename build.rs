//! Release builds lay the program's code out in the order of `build/code-order.txt`.
//!
//! The kernel maps a program's code in 64 kB windows around each page it faults in, and a link
//! without an order scatters the couple of MB that startup and serving run across nearly all of the
//! 13 MB of text: a small spec's idle RSS was 15 MB, 10 MB of it code pages, most of which nothing
//! had run. The list (written by `bench/code_order.py`, which runs the release binary under
//! valgrind) puts those functions first, together; the linker places every function it does not
//! name as it would have anyway, so a list gone stale costs memory, never correctness.
//!
//! Only a linker that reads `--symbol-ordering-file` (lld, mold) can be given the list, and which
//! linker a build uses is not knowable from here (rustc's own lld is the default for x86_64 Linux
//! in rustup's builds from Rust 1.90, not in every distribution's; a configuration may choose
//! another). So a trivial program is linked first with the same rustc, target, flags and linker,
//! and the list is given only if that link takes the option. `SPECBOX_CODE_ORDER=off` leaves the
//! layout to the linker.

use std::env;
use std::path::Path;
use std::process::{Command, Stdio};

fn main() {
    println!("cargo:rerun-if-changed=build/code-order.txt");
    println!("cargo:rerun-if-env-changed=SPECBOX_CODE_ORDER");
    // A linker chosen in the configuration reaches this script only as RUSTC_LINKER, which does
    // not rerun it by itself; the environment's spelling of that setting does.
    println!("cargo:rerun-if-env-changed=CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER");
    let release = env::var("PROFILE").is_ok_and(|p| p == "release");
    let off = env::var("SPECBOX_CODE_ORDER").is_ok_and(|v| v == "off");
    let target = env::var("TARGET").unwrap_or_default();
    if !release || off || !target.contains("-linux-") {
        return;
    }
    let (Some(dir), Some(out)) = (env::var_os("CARGO_MANIFEST_DIR"), env::var_os("OUT_DIR")) else {
        return;
    };
    let order = Path::new(&dir).join("build").join("code-order.txt");
    // `-Xlinker` passes the option whole (`-Wl,` would split a path at its commas).
    let Some(option) = order.to_str().map(|p| format!("--symbol-ordering-file={p}")) else {
        return;
    };
    if !order.is_file() || !links_with(&target, Path::new(&out)) {
        return;
    }
    for arg in ["-Xlinker", &option, "-Xlinker", "--no-warn-symbol-ordering"] {
        println!("cargo:rustc-link-arg-bins={arg}");
    }
}

/// Whether a program linked as this build's binaries are (same rustc, target, flags and linker)
/// takes an ordering file. An empty one is enough: an unknown option fails the link.
fn links_with(target: &str, out: &Path) -> bool {
    let probe = out.join("code_order_probe.rs");
    let empty = out.join("code_order_probe.order");
    if std::fs::write(&probe, "fn main() {}\n").is_err() || std::fs::write(&empty, "").is_err() {
        return false;
    }
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let mut cmd = Command::new(rustc);
    cmd.arg("--target")
        .arg(target)
        .arg("--crate-name")
        .arg("code_order_probe");
    cmd.arg("-o").arg(out.join("code_order_probe"));
    // The build's own flags (RUSTFLAGS, a target's rustflags), which may choose the linker.
    if let Ok(flags) = env::var("CARGO_ENCODED_RUSTFLAGS") {
        cmd.args(flags.split('\x1f').filter(|f| !f.is_empty()));
    }
    if let Ok(linker) = env::var("RUSTC_LINKER") {
        cmd.arg("-C").arg(format!("linker={linker}"));
    }
    let probe_option = format!("--symbol-ordering-file={}", empty.display());
    for arg in ["-Xlinker", &probe_option, "-Xlinker", "--no-warn-symbol-ordering"] {
        cmd.arg("-C").arg(format!("link-arg={arg}"));
    }
    cmd.arg(&probe).stdout(Stdio::null()).stderr(Stdio::null());
    cmd.status().is_ok_and(|s| s.success())
}
