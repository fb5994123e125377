//! Throwaway PostgreSQL clusters for tests (feature `pg-harness`): a primary, optionally with a
//! synchronous streaming replica, on loopback ports, in a temp directory, stopped cleanly when the
//! handle drops (also when the test panics) or, for [`PgCluster::shared`], when the process exits.
//!
//! It runs Debian's server binaries (`/usr/lib/postgresql/*/bin`, from the `postgresql` package that
//! `scripts/test` installs). PostgreSQL refuses to run as root, so a root caller runs every server
//! binary as the `postgres` OS user, owner of the temp directory.

use std::ffi::CString;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use tempfile::TempDir;
use uuid::Uuid;

/// A primary and, with [`PgCluster::start_with_replica`], a synchronous standby of it.
pub struct PgCluster {
    dir: TempDir,
    bin: PathBuf,
    /// uid and gid to run the server as, when this process is root.
    owner: Option<(u32, u32)>,
    nodes: Vec<Node>,
    primary: AtomicUsize,
}

struct Node {
    data: PathBuf,
    port: u16,
    postmaster: Mutex<Option<Child>>,
}

static SHARED: OnceLock<PgCluster> = OnceLock::new();

extern "C" fn stop_shared() {
    if let Some(cluster) = SHARED.get() {
        cluster.stop();
        let _ = std::fs::remove_dir_all(cluster.dir.path());
    }
}

impl PgCluster {
    /// A primary alone.
    pub fn start() -> PgCluster {
        let cluster = Self::init(2);
        cluster.start_node(0);
        cluster
    }

    /// A primary and a streaming replica that every commit waits for (`synchronous_commit = on`,
    /// `synchronous_standby_names = '*'`), so an acknowledged commit survives losing the primary.
    pub fn start_with_replica() -> PgCluster {
        let cluster = Self::init(2);
        cluster.start_node(0);
        let standby = &cluster.nodes[1];
        cluster.run(
            cluster
                .server_command("pg_basebackup")
                .args(["-h", "127.0.0.1", "-U", "postgres", "-X", "stream", "-R"])
                .args([
                    "--checkpoint=fast",
                    "-p",
                    &cluster.nodes[0].port.to_string(),
                ])
                .arg("-D")
                .arg(&standby.data),
        );
        cluster.start_node(1);
        // Naming the standby before it streams would make every commit wait for it forever.
        cluster.wait_for(
            0,
            "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'",
            "1",
        );
        cluster.psql(0, "ALTER SYSTEM SET synchronous_standby_names = '*'");
        cluster.psql(0, "SELECT pg_reload_conf()");
        cluster.wait_for(
            0,
            "SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'",
            "1",
        );
        cluster
    }

    /// One primary for the whole test process, stopped when the process exits. Tests share it by
    /// each working in its own schema ([`PgCluster::fresh_schema_url`]).
    pub fn shared() -> &'static PgCluster {
        SHARED.get_or_init(|| {
            let cluster = Self::start();
            // SAFETY: registers a plain function with no arguments; it runs once at process exit.
            unsafe { libc::atexit(stop_shared) };
            cluster
        })
    }

    fn init(nodes: usize) -> PgCluster {
        let bin = server_bin();
        let dir = tempfile::Builder::new()
            .prefix("woo-pg-")
            .tempdir()
            .expect("a temp dir for PostgreSQL");
        let owner = if unsafe { libc::geteuid() } == 0 {
            let owner = postgres_user();
            std::os::unix::fs::chown(dir.path(), Some(owner.0), Some(owner.1))
                .expect("the temp dir can be given to the postgres user");
            Some(owner)
        } else {
            None
        };
        let ports = free_ports(nodes);
        let nodes = ports
            .into_iter()
            .enumerate()
            .map(|(n, port)| Node {
                data: dir.path().join(format!("node{n}")),
                port,
                postmaster: Mutex::new(None),
            })
            .collect();
        let cluster = PgCluster {
            dir,
            bin,
            owner,
            nodes,
            primary: AtomicUsize::new(0),
        };
        let primary = &cluster.nodes[0];
        cluster.run(
            cluster
                .server_command("initdb")
                .args([
                    "-U",
                    "postgres",
                    "-A",
                    "trust",
                    "-E",
                    "UTF8",
                    "--locale=C",
                    "--no-sync",
                ])
                .arg("-D")
                .arg(&primary.data),
        );
        let mut conf = OpenOptions::new()
            .append(true)
            .open(primary.data.join("postgresql.conf"))
            .expect("initdb wrote postgresql.conf");
        // Loopback only; the unix socket stays inside the temp dir. Durability as in production.
        writeln!(
            conf,
            "listen_addresses = '127.0.0.1'\nunix_socket_directories = '{}'\nmax_connections = 200\n\
             fsync = on\nsynchronous_commit = on\nwal_level = replica\nmax_wal_senders = 5\n\
             wal_keep_size = '256MB'\nhot_standby = on",
            cluster.dir.path().display()
        )
        .expect("postgresql.conf is writable");
        cluster
    }

    /// A libpq URL listing every node, for a client that must follow the primary.
    pub fn url(&self, database: &str) -> String {
        let hosts: Vec<String> = self
            .nodes
            .iter()
            .filter(|n| n.data.exists())
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        format!(
            "postgres://postgres@{}/{database}?target_session_attrs=read-write&connect_timeout=5",
            hosts.join(",")
        )
    }

    /// Creates a schema of its own in database `postgres` and returns a URL whose connections
    /// work in it, so tests sharing the cluster never see each other's log.
    pub fn fresh_schema_url(&self) -> String {
        let schema = format!("t_{}", Uuid::new_v4().simple());
        self.psql(self.primary(), &format!("CREATE SCHEMA {schema}"));
        format!(
            "{}&options=-c%20search_path%3D{schema}",
            self.url("postgres")
        )
    }

    /// The node that is the primary now (0 until [`PgCluster::promote_replica`]).
    pub fn primary(&self) -> usize {
        self.primary.load(Ordering::SeqCst)
    }

    pub fn port(&self, node: usize) -> u16 {
        self.nodes[node].port
    }

    /// The server log of `node`, for a test that shows it when something fails.
    pub fn log_path(&self, node: usize) -> PathBuf {
        self.dir.path().join(format!("node{node}.log"))
    }

    /// Runs one SQL command with psql on `node` as the `postgres` superuser and returns its
    /// unaligned output. Panics with psql's message if it fails.
    pub fn psql(&self, node: usize, sql: &str) -> String {
        let output = self.psql_output(node, sql);
        assert!(
            output.status.success(),
            "psql on node {node} failed for {sql:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }

    fn psql_output(&self, node: usize, sql: &str) -> Output {
        Command::new(self.bin.join("psql"))
            .args([
                "-X",
                "-q",
                "-At",
                "-v",
                "ON_ERROR_STOP=1",
                "-U",
                "postgres",
                "-d",
                "postgres",
            ])
            .arg("-h")
            .arg(self.dir.path())
            .args(["-p", &self.nodes[node].port.to_string(), "-c", sql])
            .stdin(Stdio::null())
            .output()
            .expect("psql runs")
    }

    /// Kills the primary's postmaster and every backend of it with SIGKILL, as a machine loss
    /// would: all of them are stopped (SIGSTOP) first, so no backend sees the postmaster die and
    /// reacts (a backend waiting for the replica would stop waiting and let other sessions see its
    /// unreplicated commit).
    pub fn kill_primary(&self) {
        let node = &self.nodes[self.primary()];
        let mut postmaster = node
            .postmaster
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(mut child) = postmaster.take() {
            let pid = child.id() as i32;
            // SAFETY: plain kill(2) of processes this harness started.
            unsafe { libc::kill(pid, libc::SIGSTOP) };
            let backends = children_of(pid);
            for &backend in &backends {
                unsafe { libc::kill(backend, libc::SIGSTOP) };
            }
            for &process in backends.iter().chain([&pid]) {
                unsafe { libc::kill(process, libc::SIGKILL) };
            }
            let _ = child.wait();
        }
    }

    /// Promotes the replica (`pg_ctl promote`) and makes it the primary of this handle. It stops
    /// waiting for a synchronous standby, since it has none.
    pub fn promote_replica(&self) {
        let replica = 1 - self.primary();
        self.run(
            self.server_command("pg_ctl")
                .args(["promote", "-w", "-t", "60", "-D"])
                .arg(&self.nodes[replica].data),
        );
        self.psql(replica, "ALTER SYSTEM SET synchronous_standby_names = ''");
        self.psql(replica, "SELECT pg_reload_conf()");
        self.primary.store(replica, Ordering::SeqCst);
    }

    /// Stops every running node with a fast shutdown (SIGINT), killing one that takes over 20 s.
    pub fn stop(&self) {
        for node in &self.nodes {
            let mut postmaster = node
                .postmaster
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if let Some(mut child) = postmaster.take() {
                // SAFETY: plain kill(2) of a process this harness started.
                unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
                let deadline = Instant::now() + Duration::from_secs(20);
                while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(20));
                }
                if matches!(child.try_wait(), Ok(None)) {
                    let _ = child.kill();
                    let _ = child.wait();
                }
            }
        }
    }

    fn start_node(&self, n: usize) {
        let node = &self.nodes[n];
        let log =
            File::create(self.dir.path().join(format!("node{n}.log"))).expect("a server log file");
        // The postmaster is this process's child (not detached by pg_ctl), so stop() can wait for
        // it and its output never holds a test's pipes open.
        let child = self
            .server_command("postgres")
            .arg("-D")
            .arg(&node.data)
            .args(["-p", &node.port.to_string()])
            .stdout(log.try_clone().expect("the log file"))
            .stderr(log)
            .spawn()
            .expect("the postgres server starts");
        *node
            .postmaster
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(child);
        self.wait_for(n, "SELECT 1", "1");
    }

    /// Waits up to 60 s until `sql` on `node` answers `expected`.
    fn wait_for(&self, node: usize, sql: &str, expected: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let output = self.psql_output(node, sql);
            if output.status.success() && String::from_utf8_lossy(&output.stdout).trim() == expected
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "node {node} never answered {expected} to {sql:?}; last: {}{}; server log: {}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr),
                std::fs::read_to_string(self.log_path(node)).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn server_command(&self, program: &str) -> Command {
        let mut command = Command::new(self.bin.join(program));
        command.current_dir(self.dir.path()).stdin(Stdio::null());
        if let Some((uid, gid)) = self.owner {
            command.uid(uid).gid(gid);
        }
        command
    }

    fn run(&self, command: &mut Command) {
        let output = command.output().expect("a PostgreSQL tool runs");
        assert!(
            output.status.success(),
            "{command:?} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The newest installed server's bin directory.
fn server_bin() -> PathBuf {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin).expect(
        "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin; \
         scripts/test installs Debian's postgresql package, or run `apt-get install postgresql`",
    )
}

fn postgres_user() -> (u32, u32) {
    let name = CString::new("postgres").expect("no NUL in a literal");
    // SAFETY: getpwnam with a valid C string; the result is read at once, before any other call.
    let entry = unsafe { libc::getpwnam(name.as_ptr()) };
    assert!(
        !entry.is_null(),
        "running as root and there is no `postgres` OS user to run PostgreSQL as (it refuses root)"
    );
    unsafe { ((*entry).pw_uid, (*entry).pw_gid) }
}

/// Distinct free loopback ports, all held at once while choosing so none repeats.
fn free_ports(count: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..count)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("a free loopback port"))
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().expect("a bound address").port())
        .collect()
}

/// The processes whose parent is `pid` (a postmaster's backends), from /proc.
fn children_of(pid: i32) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| {
            let child: i32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            // The command name sits in parentheses and may contain spaces; the parent pid is the
            // second field after it.
            let after_name = &stat[stat.rfind(')')? + 1..];
            let parent: i32 = after_name.split_whitespace().nth(1)?.parse().ok()?;
            (parent == pid).then_some(child)
        })
        .collect()
}
