//! A PostgreSQL server for the tests: the one `IDSTITCH_TEST_PG` names (a connection URL to a
//! superuser's database, as `.ci/run` exports it), else a throwaway cluster started here from
//! the machine's PostgreSQL binaries (initdb and pg_ctl as the `postgres` user when running
//! as root, which initdb refuses) on a free local port, with trust authentication on
//! 127.0.0.1. A watchdog shell stops that cluster and removes its directory once this test
//! process has exited, so it is stopped however the tests end. Without binaries there is no
//! server: [`server`] prints why and the tests return.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// A server to connect to: a URL without the database name, `postgres://USER@HOST:PORT`.
pub struct Server {
    base: String,
}

impl Server {
    /// The URL of database `name` on the server.
    pub fn url(&self, name: &str) -> String {
        format!("{}/{name}", self.base)
    }

    /// A fresh database of the test's own (dropped first if a failed run left it), so that
    /// tests run in parallel; its URL.
    pub fn database(&self, test: &str) -> String {
        let name = format!("idstitch_{test}_{}", std::process::id());
        let mut admin = postgres::Client::connect(&self.url("postgres"), postgres::NoTls)
            .expect("connect to the test server's postgres database");
        admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name}")).unwrap();
        admin.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
        self.url(&name)
    }
}

/// The server, started at the first call; `None` (with the reason printed) where there is no
/// PostgreSQL.
pub fn server() -> Option<&'static Server> {
    static SERVER: OnceLock<Option<Server>> = OnceLock::new();
    let server = SERVER.get_or_init(|| match std::env::var("IDSTITCH_TEST_PG") {
        Ok(url) if !url.trim().is_empty() => {
            let url = url.trim().trim_end_matches('/');
            // The URL names a database; the tests make their own beside it.
            let base = match url.split_once("://").map(|(_, rest)| rest.contains('/')) {
                Some(true) => url.rsplit_once('/').map_or(url, |(b, _)| b),
                _ => url,
            };
            Some(Server { base: base.to_string() })
        }
        _ => match bin_dir() {
            Some(bin) => Some(start(&bin)),
            None => {
                println!(
                    "skipped: no PostgreSQL binaries (no IDSTITCH_TEST_PG, no `pg_config \
                     --bindir`, no /usr/lib/postgresql/*/bin/initdb)"
                );
                None
            }
        },
    });
    if server.is_none() {
        println!("skipped: no PostgreSQL server for this test");
    }
    server.as_ref()
}

/// The directory of initdb and pg_ctl: `pg_config --bindir`, else the newest
/// `/usr/lib/postgresql/*/bin`.
fn bin_dir() -> Option<PathBuf> {
    let has_initdb = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if out.status.success() && has_initdb(&dir) {
            return Some(dir);
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            Some((v, e.path().join("bin")))
        })
        .filter(|(_, dir)| has_initdb(dir))
        .collect();
    versions.sort();
    versions.pop().map(|(_, dir)| dir)
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

/// Runs a PostgreSQL program, as the `postgres` user when we are root.
fn pg_command(bin: &Path, program: &str, root: bool) -> Command {
    if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin.join(program));
        c
    } else {
        Command::new(bin.join(program))
    }
}

// The watchdog is never waited for: it is to outlive this process.
#[allow(clippy::zombie_processes)]
fn start(bin: &Path) -> Server {
    let root = is_root();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dir = std::env::temp_dir().join(format!("idstitch-pg-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    if root {
        let status = Command::new("chown").arg("postgres").arg(&dir).status().unwrap();
        assert!(status.success(), "chown postgres {}", dir.display());
    }
    let data = dir.join("data");
    let out = pg_command(bin, "initdb", root)
        .arg("-D")
        .arg(&data)
        .args(["-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8", "--no-locale"])
        .output()
        .unwrap();
    assert!(out.status.success(), "initdb: {}", String::from_utf8_lossy(&out.stderr));
    let options =
        format!("-p {port} -c listen_addresses=127.0.0.1 -k {} -c fsync=off", dir.display());
    let out = pg_command(bin, "pg_ctl", root)
        .arg("-D")
        .arg(&data)
        .args(["-o", &options, "-l"])
        .arg(dir.join("log"))
        .args(["-w", "start"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "pg_ctl start: {}", String::from_utf8_lossy(&out.stderr));
    // Stops the cluster once this process is gone, however the tests end.
    let stop = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 1; done; {runas}{pg_ctl} -D {data} -m immediate stop; rm -rf {dir}",
        pid = std::process::id(),
        runas = if root { "runuser -u postgres -- " } else { "" },
        pg_ctl = bin.join("pg_ctl").display(),
        data = data.display(),
        dir = dir.display(),
    );
    Command::new("sh")
        .args(["-c", &stop])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the watchdog");
    Server { base: format!("postgres://postgres@127.0.0.1:{port}") }
}
