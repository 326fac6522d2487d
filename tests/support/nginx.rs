//! A real nginx as the reverse proxy in front of `serve`: the repository's
//! `examples/nginx/s3torrent.conf` (the one the README quotes), its
//! addresses templated, run in the foreground from a prefix of its own.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::swarm::Killed;

/// The example configuration, as committed.
pub(crate) const EXAMPLE: &str = include_str!("../../examples/nginx/s3torrent.conf");

/// Where nginx is: on `PATH`, or Debian's `/usr/sbin/nginx` (not on a
/// user's `PATH`); `None` if neither runs.
pub(crate) fn nginx_program() -> Option<PathBuf> {
    ["nginx", "/usr/sbin/nginx"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| Command::new(p).arg("-v").output().is_ok())
}

/// A running nginx (one process), stopped (killed) when dropped.
pub(crate) struct Nginx {
    _child: Killed,
    /// Its access log (nginx's `combined` format: the client's address first).
    pub(crate) access_log: PathBuf,
    error_log: PathBuf,
}

impl Nginx {
    /// Starts `program` with the example's server block, `listen 80` and
    /// its two upstreams (`127.0.0.1:9000`, the S3 endpoint, and
    /// `127.0.0.1:6969`, the tracker) replaced by `addr` (`127.0.0.1:PORT`,
    /// a free port: `support::swarm::free_port`), `s3` and `tracker`; everything it
    /// writes lives under `dir`. Waits (10 s at most) until it accepts
    /// connections, or fails the test with its error log.
    pub(crate) fn start(program: &Path, dir: &Path, addr: &str, s3: &str, tracker: &str) -> Nginx {
        Self::launch(program, dir, addr, &format!("listen {addr};"), s3, tracker)
    }

    /// [`Nginx::start`] with nginx terminating TLS on `addr`
    /// (`listen ADDR ssl`) with the certificate `cert` and its key `key`
    /// (PEM files), and speaking plain HTTP to `s3` and `tracker`.
    pub(crate) fn start_tls(
        program: &Path,
        dir: &Path,
        addr: &str,
        (cert, key): (&Path, &Path),
        s3: &str,
        tracker: &str,
    ) -> Nginx {
        let listen = format!(
            "listen {addr} ssl;\n    ssl_certificate {};\n    ssl_certificate_key {};",
            cert.display(),
            key.display()
        );
        Self::launch(program, dir, addr, &listen, s3, tracker)
    }

    fn launch(
        program: &Path,
        dir: &Path,
        addr: &str,
        listen: &str,
        s3: &str,
        tracker: &str,
    ) -> Nginx {
        let prefix = dir.join("nginx");
        std::fs::create_dir_all(prefix.join("tmp")).unwrap();
        let mut server = EXAMPLE.to_owned();
        for (from, to) in [
            ("listen 80;", listen.to_owned()),
            ("http://127.0.0.1:9000;", format!("http://{s3};")),
            ("http://127.0.0.1:6969;", format!("http://{tracker};")),
        ] {
            assert!(server.contains(from), "the example has no {from:?}");
            server = server.replace(from, &to);
        }
        std::fs::write(prefix.join("s3torrent.conf"), server).unwrap();
        let (access_log, error_log) = (prefix.join("access.log"), prefix.join("error.log"));
        let p = prefix.display();
        // One process in the foreground (no master and workers): killing
        // it stops everything, and nothing runs as another user.
        let main = format!(
            "daemon off;\n\
             master_process off;\n\
             pid {p}/nginx.pid;\n\
             error_log {p}/error.log info;\n\
             events {{ worker_connections 256; }}\n\
             http {{\n\
             access_log {p}/access.log;\n\
             client_body_temp_path {p}/tmp/body;\n\
             proxy_temp_path {p}/tmp/proxy;\n\
             fastcgi_temp_path {p}/tmp/fastcgi;\n\
             uwsgi_temp_path {p}/tmp/uwsgi;\n\
             scgi_temp_path {p}/tmp/scgi;\n\
             include {p}/s3torrent.conf;\n\
             }}\n"
        );
        std::fs::write(prefix.join("nginx.conf"), main).unwrap();
        let child = Command::new(program)
            .arg("-p")
            .arg(&prefix)
            .arg("-c")
            .arg(prefix.join("nginx.conf"))
            .arg("-e")
            .arg(&error_log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nginx starts");
        let mut child = Killed(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if std::net::TcpStream::connect(addr).is_ok() {
                break;
            }
            let exited = child.0.try_wait().ok().flatten();
            if exited.is_some() || Instant::now() > deadline {
                panic!(
                    "nginx is not listening on {addr} ({exited:?}): {}",
                    std::fs::read_to_string(&error_log).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Nginx {
            _child: child,
            access_log,
            error_log,
        }
    }

    /// Its access log's lines so far.
    pub(crate) fn access_lines(&self) -> Vec<String> {
        std::fs::read_to_string(&self.access_log)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// Its error log so far (for failure messages).
    pub(crate) fn errors(&self) -> String {
        std::fs::read_to_string(&self.error_log).unwrap_or_default()
    }
}
