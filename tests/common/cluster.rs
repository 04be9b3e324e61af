//! Several specbox replicas acting as one sandbox, so that a state test is written once and run
//! against each store: `memory` is exactly one replica with no `--store` (the default: proves
//! the test itself is right), `redis` is N replicas started with the same specs, fixtures and
//! flags on one Redis (`--store redis://127.0.0.1:PORT/0`). A test sends its requests to
//! [`Cluster::next`] (replica `i % n`, in turn) or to a replica it names ([`Cluster::at`]), and
//! whatever it asserts must hold whichever replica answers.

use super::Server;
use super::redis::RedisServer;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Where a cluster keeps its state.
#[derive(Clone)]
pub enum Store {
    Memory,
    /// `prefix`: `--store-prefix` (specbox's default, `specbox`, when `None`).
    Redis {
        redis: Arc<RedisServer>,
        prefix: Option<String>,
    },
}

pub struct Cluster {
    // Declared before `store`: the replicas stop before the Redis they talk to.
    servers: Vec<Server>,
    next: AtomicUsize,
    store: Store,
    specs: Vec<String>,
    flags: Vec<String>,
    replicas: usize,
}

const BUNDLED_SPECS: &[&str] = &["specs"];
const BUNDLED_FLAGS: &[&str] = &["--fixtures", "fixtures"];

impl Cluster {
    /// One in-memory replica of the bundled specs and fixtures (as `Server::bundled()`).
    pub fn memory() -> Cluster {
        Cluster::start(Store::Memory, 1, BUNDLED_SPECS, BUNDLED_FLAGS)
    }

    /// `replicas` replicas of the bundled specs and fixtures on a fresh Redis of their own; `None`
    /// (after a loud `SKIPPED:` line) where no `redis-server` is installed.
    pub fn redis(replicas: usize) -> Option<Cluster> {
        let redis = Arc::new(RedisServer::start()?);
        Some(Cluster::on_redis(&redis, replicas, None))
    }

    /// `replicas` replicas of the bundled specs and fixtures on an existing Redis.
    pub fn on_redis(redis: &Arc<RedisServer>, replicas: usize, prefix: Option<&str>) -> Cluster {
        let store = Store::Redis {
            redis: redis.clone(),
            prefix: prefix.map(str::to_string),
        };
        Cluster::start(store, replicas, BUNDLED_SPECS, BUNDLED_FLAGS)
    }

    /// Starts the replicas at once (so that several find an empty Redis together, as a
    /// deployment's replicas do) and waits until each says where it listens.
    pub fn start(store: Store, replicas: usize, specs: &[&str], flags: &[&str]) -> Cluster {
        assert!(replicas >= 1);
        if matches!(store, Store::Memory) {
            assert_eq!(
                replicas, 1,
                "an in-memory store is one process: replicas would not share it"
            );
        }
        let mut cluster = Cluster {
            servers: Vec::new(),
            next: AtomicUsize::new(0),
            store,
            specs: specs.iter().map(|s| s.to_string()).collect(),
            flags: flags.iter().map(|s| s.to_string()).collect(),
            replicas,
        };
        cluster.launch();
        cluster
    }

    /// The flags every replica gets: the cluster's own, then the store's.
    fn args(&self) -> Vec<String> {
        let mut args = self.flags.clone();
        if let Store::Redis { redis, prefix } = &self.store {
            args.extend(["--store".to_string(), redis.url(0)]);
            if let Some(p) = prefix {
                args.extend(["--store-prefix".to_string(), p.clone()]);
            }
        }
        args
    }

    fn launch(&mut self) {
        let args = self.args();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let specs: Vec<&str> = self.specs.iter().map(String::as_str).collect();
        let started: Vec<Result<Server, String>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..self.replicas)
                .map(|_| scope.spawn(|| Server::try_start(&specs, &args)))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for (i, s) in started.into_iter().enumerate() {
            match s {
                Ok(s) => self.servers.push(s),
                Err(log) => panic!(
                    "replica {i} of a {} cluster did not start (specbox {}):\n{log}",
                    self.kind(),
                    args.join(" ")
                ),
            }
        }
    }

    /// Stops every replica (SIGTERM, waiting for each to exit) and starts them all again with
    /// the same specs, fixtures and flags; they listen on new ports.
    pub fn restart(&mut self) {
        for s in self.servers.drain(..) {
            let status = s.terminate();
            assert!(status.success(), "a replica exited with {status} on SIGTERM");
        }
        self.next.store(0, Ordering::Relaxed);
        self.launch();
    }

    /// `memory` or `redis`, for messages.
    pub fn kind(&self) -> &'static str {
        match self.store {
            Store::Memory => "memory",
            Store::Redis { .. } => "redis",
        }
    }

    pub fn redis_server(&self) -> Option<&Arc<RedisServer>> {
        match &self.store {
            Store::Redis { redis, .. } => Some(redis),
            Store::Memory => None,
        }
    }

    /// Replica `i % n`.
    pub fn at(&self, i: usize) -> &Server {
        &self.servers[i % self.servers.len()]
    }

    /// The replicas in turn: the first call gives replica 0, the next replica 1, ...
    pub fn next(&self) -> &Server {
        self.at(self.next.fetch_add(1, Ordering::Relaxed))
    }

    pub fn replicas(&self) -> &[Server] {
        &self.servers
    }

    /// Every replica's log, for a failure message.
    pub fn logs(&self) -> String {
        self.servers
            .iter()
            .enumerate()
            .map(|(i, s)| format!("--- replica {i} ({})\n{}", s.addr, s.log_text()))
            .collect()
    }
}
