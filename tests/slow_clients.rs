//! `s3torrent serve` against 200 connections that drip a request head and
//! never finish it: with the connection limit at 64, and with the process's
//! open-files limit at 128 (accept fails with `EMFILE`). Either way health
//! requests are answered, every dripper is closed by the header timeout, and
//! the log stays small (a failing accept is logged once a second at most,
//! not once per failure).

use crate::support;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::serve::request;

const DRIPPERS: usize = 200;

/// What one storm left: how long the drippers lasted, how long each health
/// request took, and serve's stderr.
struct Storm {
    last_closed: Duration,
    health: Vec<Duration>,
    stderr: Vec<String>,
}

/// Runs `serve` through `sh -c SCRIPT` (`exec "$0" "$@"` at its end runs
/// the binary with the arguments), drips 200 connections, asks for health
/// three times while they hold the server, then stops it with Ctrl-C.
fn storm(script: &str, extra: &[&str]) -> Storm {
    let root = tempfile::tempdir().unwrap();
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_s3torrent"))
        .arg("serve")
        .arg("--root")
        .arg(root.path())
        .args(["--listen", "127.0.0.1:0", "--seeding", "web"])
        .args(["--header-timeout", "2"])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sh runs");
    let (addr, reader) = support::serve::listening(&mut child);

    let started = Instant::now();
    let mut drippers: Vec<Option<TcpStream>> = (0..DRIPPERS)
        .map(|_| {
            let s = TcpStream::connect(&addr).expect("connect");
            s.set_nonblocking(true).expect("non-blocking");
            Some(s)
        })
        .collect();
    let health_addr = addr.clone();
    let health = std::thread::spawn(move || {
        (0..3)
            .map(|_| {
                let asked = Instant::now();
                let reply = request(&health_addr, "GET", "/", &[]);
                // Anonymous ListBuckets: refused, but answered.
                assert_eq!(reply.status, 403);
                asked.elapsed()
            })
            .collect::<Vec<_>>()
    });

    let head = b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ";
    let mut last_closed = Duration::ZERO;
    let mut byte = [0u8; 256];
    // Bounded: 240 rounds of 250 ms (60 s).
    for round in 0..240 {
        let b = head.get(round).copied().unwrap_or(b'a');
        for slot in drippers.iter_mut() {
            let Some(stream) = slot else { continue };
            let closed = stream.write_all(&[b]).is_err()
                || match stream.read(&mut byte) {
                    Ok(_) => true,
                    Err(e) => e.kind() != ErrorKind::WouldBlock,
                };
            if closed {
                *slot = None;
                last_closed = started.elapsed();
            }
        }
        if drippers.iter().all(Option::is_none) {
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    let open = drippers.iter().filter(|d| d.is_some()).count();
    let health = health.join().expect("health requests");
    // Still serving after the storm.
    assert_eq!(request(&addr, "GET", "/", &[]).status, 403);

    let interrupted = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(interrupted.success());
    let status = child.wait().expect("serve exits");
    let stderr = reader.join().expect("stderr reader");
    assert!(status.success(), "serve exited with {status}: {stderr:#?}");
    assert_eq!(open, 0, "{open} drippers still open after 60 s");
    Storm {
        last_closed,
        health,
        stderr,
    }
}

/// The log of a storm is small: a few dozen lines, and `accept failed` at
/// most once a second.
#[track_caller]
fn assert_small_log(storm: &Storm) -> usize {
    let bytes: usize = storm.stderr.iter().map(|l| l.len() + 1).sum();
    let accept_failed = storm
        .stderr
        .iter()
        .filter(|l| l.contains("accept failed"))
        .count();
    let seconds = storm.last_closed.as_secs() as usize;
    assert!(
        accept_failed <= seconds + 2,
        "{accept_failed} accept-failed lines in {seconds} s"
    );
    assert!(
        storm.stderr.len() < 100 && bytes < 16 * 1024,
        "{} lines, {bytes} bytes: {:#?}",
        storm.stderr.len(),
        storm.stderr
    );
    accept_failed
}

#[test]
fn two_hundred_drippers_against_64_slots() {
    let _heavy = support::heavy();
    let storm = storm("exec \"$0\" \"$@\"", &["--max-connections", "64"]);
    eprintln!(
        "64 slots: drippers closed by {:?}, health {:?}, {} log lines",
        storm.last_closed,
        storm.health,
        storm.stderr.len()
    );
    assert!(storm.health.iter().all(|t| *t < Duration::from_secs(30)));
    assert!(storm.last_closed < Duration::from_secs(30));
    assert_small_log(&storm);
}

#[test]
fn two_hundred_drippers_against_128_open_files() {
    let _heavy = support::heavy();
    // `ulimit -n` without -S or -H sets both limits, so the binary cannot
    // raise its soft limit past 128; 1024 slots, so accept meets EMFILE.
    // 1024 slots given: by default serve takes only what 128 files allow.
    let storm = storm(
        "ulimit -n 128 && exec \"$0\" \"$@\"",
        &["--max-connections", "1024"],
    );
    eprintln!(
        "128 open files: drippers closed by {:?}, health {:?}, {} log lines",
        storm.last_closed,
        storm.health,
        storm.stderr.len()
    );
    assert!(storm.health.iter().all(|t| *t < Duration::from_secs(30)));
    assert!(storm.last_closed < Duration::from_secs(30));
    let accept_failed = assert_small_log(&storm);
    // The storm did reach the limit: otherwise this proves nothing.
    assert!(
        accept_failed > 0,
        "no accept failed at 128 open files: {:#?}",
        storm.stderr
    );
}
