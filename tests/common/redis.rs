//! A real `redis-server` for the tests of the Redis store: found on the machine, started on a free
//! 127.0.0.1 port in its own temporary directory, stopped and started again on the same port and
//! directory (to prove what specbox does while Redis is away), and killed on drop.
//!
//! Persistence is an append-only file fsynced on every write and no snapshots
//! (`--appendonly yes --appendfsync always --save ""`): what Redis acknowledged before a stop is
//! there after the start, so a test can tell "specbox lost it" from "Redis lost it".
//!
//! The client is a few lines of RESP over `std::net::TcpStream`, like the HTTP client in mod.rs:
//! the tests need PING, FLUSHALL, INFO, DBSIZE and SCAN, and nothing here should hide what the
//! server answered.
//!
//! Where no `redis-server` can be found, [`RedisServer::start`] prints a loud `SKIPPED:` line on
//! stderr and returns `None`; the test then returns (`.ci/run` installs Debian's `redis-server`,
//! so CI always runs them).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Where `redis-server` is: `$SPECBOX_TEST_REDIS_SERVER`, then `PATH`, then the usual places.
pub fn find_redis_server() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("SPECBOX_TEST_REDIS_SERVER") {
        return Some(PathBuf::from(p)).filter(|p| p.is_file());
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join("redis-server"))
        .chain(["/usr/bin/redis-server", "/usr/local/bin/redis-server"].map(PathBuf::from))
        .find(|p| p.is_file())
}

/// Prints the loud line a test prints when it cannot run here.
pub fn skipped(why: &str) {
    let test = std::thread::current().name().unwrap_or("a test").to_string();
    // Straight to the process's stderr: the test harness captures `eprintln!` of passing tests,
    // and this line must be seen in a plain `cargo test`.
    let _ = writeln!(
        std::io::stderr(),
        "\nSKIPPED: {why}: {test} did not run (apt-get install redis-server, as .ci/run does)\n"
    );
}

/// One RESP reply.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Status(String),
    Error(String),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<Reply>>),
}

impl Reply {
    pub fn text(&self) -> String {
        match self {
            Reply::Status(s) | Reply::Error(s) => s.clone(),
            Reply::Int(i) => i.to_string(),
            Reply::Bulk(Some(b)) => String::from_utf8_lossy(b).into_owned(),
            Reply::Bulk(None) | Reply::Array(None) => String::new(),
            Reply::Array(Some(items)) => items.iter().map(Reply::text).collect::<Vec<_>>().join("\n"),
        }
    }
}

/// A connection to a Redis server.
pub struct Conn {
    reader: BufReader<TcpStream>,
}

impl Conn {
    pub fn connect(port: u16) -> std::io::Result<Conn> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        stream.set_write_timeout(Some(Duration::from_secs(30)))?;
        Ok(Conn {
            reader: BufReader::new(stream),
        })
    }

    /// Sends one command (as an array of bulk strings) and reads its reply.
    pub fn cmd(&mut self, args: &[&str]) -> std::io::Result<Reply> {
        let mut out = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            out.extend_from_slice(a.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        self.reader.get_mut().write_all(&out)?;
        self.read_reply()
    }

    fn read_reply(&mut self) -> std::io::Result<Reply> {
        let bad = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string());
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "redis closed the connection",
            ));
        }
        let line = line.trim_end_matches("\r\n");
        let (kind, rest) = line.split_at(1.min(line.len()));
        let number = || rest.parse::<i64>().map_err(|_| bad(line));
        Ok(match kind {
            "+" => Reply::Status(rest.to_string()),
            "-" => Reply::Error(rest.to_string()),
            ":" => Reply::Int(number()?),
            "$" => match number()? {
                n if n < 0 => Reply::Bulk(None),
                n => {
                    let mut buf = vec![0; n as usize + 2];
                    self.reader.read_exact(&mut buf)?;
                    buf.truncate(n as usize);
                    Reply::Bulk(Some(buf))
                }
            },
            "*" => match number()? {
                n if n < 0 => Reply::Array(None),
                n => Reply::Array(Some((0..n).map(|_| self.read_reply()).collect::<Result<_, _>>()?)),
            },
            _ => return Err(bad(line)),
        })
    }
}

/// A `redis-server` process of the test's own, killed (and its directory removed) on drop.
pub struct RedisServer {
    bin: PathBuf,
    pub port: u16,
    pub dir: PathBuf,
    child: Mutex<Option<Child>>,
}

impl RedisServer {
    /// Starts a fresh Redis; `None` (after the `SKIPPED:` line) where none is installed.
    pub fn start() -> Option<RedisServer> {
        let Some(bin) = find_redis_server() else {
            skipped("redis-server not found (not on PATH, not /usr/bin/redis-server, no $SPECBOX_TEST_REDIS_SERVER)");
            return None;
        };
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "specbox-redis-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("redis temp dir");
        // A free port is only free until someone takes it: another test may win the race between
        // our probe and Redis's bind, so a start that fails to bind tries the next free port.
        let mut last = String::new();
        for _ in 0..5 {
            let port = free_port();
            let server = RedisServer {
                bin: bin.clone(),
                port,
                dir: dir.clone(),
                child: Mutex::new(None),
            };
            match server.try_start_again() {
                Ok(()) => return Some(server),
                Err(log) => last = log,
            }
        }
        panic!("redis-server did not start:\n{last}");
    }

    /// `redis://127.0.0.1:PORT/DB`, for `--store`.
    pub fn url(&self, db: u32) -> String {
        format!("redis://127.0.0.1:{}/{db}", self.port)
    }

    fn log_path(&self) -> PathBuf {
        self.dir.join("redis.log")
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Starts the process (again, after [`RedisServer::stop`]) on the same port and directory, and
    /// waits until it answers PING (it answers `-LOADING` while it replays its append-only file).
    pub fn start_again(&self) {
        self.try_start_again()
            .unwrap_or_else(|log| panic!("redis-server did not start again on port {}:\n{log}", self.port));
    }

    fn try_start_again(&self) -> Result<(), String> {
        let mut slot = self.child.lock().unwrap();
        assert!(slot.is_none(), "redis-server is already running");
        let child = Command::new(&self.bin)
            .current_dir(&self.dir)
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--dir", path_str(&self.dir)])
            .args(["--appendonly", "yes", "--appendfsync", "always", "--save", ""])
            .args(["--daemonize", "no", "--protected-mode", "no"])
            .args(["--logfile", path_str(&self.log_path())])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("spawn {}: {e}", self.bin.display()))?;
        *slot = Some(child);
        // A bound, not a timing: a Redis that never answers fails the test instead of hanging it.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if self.ping() {
                return Ok(());
            }
            let exited = slot.as_mut().unwrap().try_wait().ok().flatten();
            if exited.is_some() || Instant::now() > deadline {
                let mut child = slot.take().unwrap();
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("exit {exited:?}; log:\n{}", self.log_text()));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Kills the process (SIGKILL: a crash, not a shutdown; with `appendfsync always` nothing it
    /// acknowledged is lost) and waits until it is gone.
    pub fn stop(&self) {
        if let Some(mut child) = self.child.lock().unwrap().take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn is_running(&self) -> bool {
        self.child.lock().unwrap().is_some()
    }

    /// One command on a new connection.
    pub fn cmd(&self, args: &[&str]) -> std::io::Result<Reply> {
        Conn::connect(self.port)?.cmd(args)
    }

    pub fn ping(&self) -> bool {
        matches!(self.cmd(&["PING"]), Ok(Reply::Status(s)) if s == "PONG")
    }

    pub fn flushall(&self) {
        let r = self.cmd(&["FLUSHALL"]).expect("FLUSHALL");
        assert_eq!(r, Reply::Status("OK".into()));
    }

    pub fn dbsize(&self) -> i64 {
        match self.cmd(&["DBSIZE"]).expect("DBSIZE") {
            Reply::Int(n) => n,
            other => panic!("DBSIZE answered {other:?}"),
        }
    }

    /// `INFO section` as name → value.
    pub fn info(&self, section: &str) -> HashMap<String, String> {
        let text = self.cmd(&["INFO", section]).expect("INFO").text();
        text.lines()
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.to_string(), v.trim().to_string()))
            .collect()
    }

    /// Every key of database 0 (SCAN, so a large database does not block the server).
    pub fn keys(&self) -> Vec<String> {
        let mut conn = Conn::connect(self.port).expect("connect to redis");
        let mut cursor = "0".to_string();
        let mut keys = Vec::new();
        loop {
            let reply = conn.cmd(&["SCAN", &cursor, "COUNT", "1000"]).expect("SCAN");
            let Reply::Array(Some(parts)) = reply else {
                panic!("SCAN answered {reply:?}")
            };
            cursor = parts[0].text();
            if let Reply::Array(Some(batch)) = &parts[1] {
                keys.extend(batch.iter().map(Reply::text));
            }
            if cursor == "0" {
                return keys;
            }
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("temp dir path is UTF-8")
}

/// A port nothing listens on now (the OS's pick for port 0).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}
