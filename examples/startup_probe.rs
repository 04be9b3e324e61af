//! What startup keeps: loads the specs named on the command line and builds the application as
//! `specbox serve` does, then waits for a line on stdin (or exits at once with `--exit`). Built
//! with the system allocator, so heap profilers (`valgrind --tool=massif`) see every allocation:
//!
//!     cargo build --release --example startup_probe
//!     valgrind --tool=massif target/release/examples/startup_probe --exit SPEC
use specbox::startup::{AppOptions, LoadOptions, build_app, load};
use std::path::PathBuf;

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let exit = args.iter().any(|a| a == "--exit");
    args.retain(|a| a != "--exit");
    let specs: Vec<PathBuf> = args.into_iter().map(PathBuf::from).collect();
    let started = std::time::Instant::now();
    let loaded = match load(&specs, &LoadOptions::default()) {
        Ok(l) => l,
        Err(e) => {
            for e in e {
                eprintln!("{e}");
            }
            std::process::exit(2);
        }
    };
    let app = match build_app(loaded.api, std::path::Path::new("/nonexistent"), AppOptions::default()) {
        Ok((app, _)) => app,
        Err(e) => {
            for e in e {
                eprintln!("{e}");
            }
            std::process::exit(2);
        }
    };
    eprintln!(
        "ready in {} ms ({} operations)",
        started.elapsed().as_millis(),
        app.engine.load().api.ops.len()
    );
    if !exit {
        let mut line = String::new();
        let _ = std::io::stdin().read_line(&mut line);
    }
    std::mem::forget(app);
}
