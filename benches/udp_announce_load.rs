//! `udp_announce_load`: BEP 15 announces at a UDP tracker as fast as it
//! answers them, from many source addresses, and how many it answered.
//!
//! ```text
//! cargo run --release -p s3torrent-benches --example udp_announce_load -- \
//!     --tracker 127.0.0.1:6969 --hashes HASHES [--seconds 10] [--warmup 1] \
//!     [--sources 16] [--first-source 127.0.0.2] [--window 32] [--numwant 50] \
//!     [--leechers 75]
//! ```
//!
//! HASHES is a file of info-hashes, 40 hex digits a line (ones the tracker
//! serves). Each of `--sources` threads owns a socket bound to its own
//! loopback address (`--first-source` and the addresses after it: Linux's
//! loopback takes all of 127.0.0.0/8), connects (BEP 15's connect), then
//! keeps `--window` announces in flight: each answer is counted and
//! replaced by a new announce (a random info-hash of the file, a random
//! peer id and port, `--leechers` percent of them leechers, the rest
//! seeders); after 200 ms without an
//! answer the window is sent again (the tracker dropped packets). Answers
//! during the first `--warmup` seconds are not counted. Prints one line of
//! JSON: answered announces, per second, the mean peers an answer listed,
//! error answers, stalls (the 200 ms timeouts) and every answered
//! announce, the warm-up's included (for CPU time per announce).

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

/// How long a socket waits for an answer before it sends its window again.
const STALL: Duration = Duration::from_millis(200);
/// BEP 15's connect magic.
const PROTOCOL_ID: u64 = 0x0417_2710_1980;

/// What one thread counted.
#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    answered: u64,
    /// Answers during the warm-up too.
    all_answered: u64,
    peers: u64,
    errors: u64,
    stalls: u64,
}

struct Options {
    tracker: SocketAddr,
    hashes: Vec<[u8; 20]>,
    seconds: f64,
    warmup: f64,
    sources: u32,
    first_source: Ipv4Addr,
    window: u32,
    numwant: i32,
    leechers: u64,
}

fn usage(why: &str) -> ! {
    eprintln!("udp_announce_load: {why}");
    eprintln!(
        "usage: udp_announce_load --tracker ADDR --hashes FILE [--seconds S] [--warmup S] \
         [--sources N] [--first-source IPV4] [--window N] [--numwant N] [--leechers PERCENT]"
    );
    std::process::exit(2)
}

fn options() -> Options {
    let mut args = std::env::args().skip(1);
    let (mut tracker, mut hashes) = (None, None);
    let mut o = Options {
        tracker: SocketAddr::from(([127, 0, 0, 1], 6969)),
        hashes: Vec::new(),
        seconds: 10.0,
        warmup: 1.0,
        sources: 16,
        first_source: Ipv4Addr::new(127, 0, 0, 2),
        window: 32,
        numwant: 50,
        leechers: 75,
    };
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .unwrap_or_else(|| usage(&format!("{flag} needs a value")));
        match flag.as_str() {
            "--tracker" => tracker = Some(parse(&flag, &value)),
            "--hashes" => hashes = Some(value),
            "--seconds" => o.seconds = parse(&flag, &value),
            "--warmup" => o.warmup = parse(&flag, &value),
            "--sources" => o.sources = parse(&flag, &value),
            "--first-source" => o.first_source = parse(&flag, &value),
            "--window" => o.window = parse(&flag, &value),
            "--numwant" => o.numwant = parse(&flag, &value),
            "--leechers" => o.leechers = parse(&flag, &value),
            _ => usage(&format!("unknown flag {flag}")),
        }
    }
    o.tracker = tracker.unwrap_or_else(|| usage("--tracker is required"));
    let file = hashes.unwrap_or_else(|| usage("--hashes is required"));
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| usage(&format!("{file}: {e}")));
    o.hashes = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| hex20(l.trim()).unwrap_or_else(|| usage(&format!("{file}: not a hash: {l}"))))
        .collect();
    if o.hashes.is_empty() || o.sources == 0 || o.window == 0 {
        usage("needs a hash, a source and a window of at least one");
    }
    o
}

fn parse<T: std::str::FromStr>(flag: &str, value: &str) -> T {
    value
        .parse()
        .unwrap_or_else(|_| usage(&format!("{flag} {value}: not a valid value")))
}

fn hex20(s: &str) -> Option<[u8; 20]> {
    let mut out = [0; 20];
    if s.len() != 40 {
        return None;
    }
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// xorshift64*: enough randomness for peer ids and ports.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// A connect request; the connection id from its answer, or `None` after
/// a stall.
fn connect(socket: &UdpSocket, rng: &mut Rng) -> Option<u64> {
    let tid = rng.next() as u32;
    let mut packet = PROTOCOL_ID.to_be_bytes().to_vec();
    packet.extend_from_slice(&0u32.to_be_bytes());
    packet.extend_from_slice(&tid.to_be_bytes());
    socket.send(&packet).ok()?;
    let mut buf = [0; 64];
    let deadline = Instant::now() + STALL;
    while Instant::now() < deadline {
        let Ok(n) = socket.recv(&mut buf) else {
            return None;
        };
        if n == 16 && buf[..4] == [0, 0, 0, 0] && buf[4..8] == tid.to_be_bytes() {
            let mut id = [0; 8];
            id.copy_from_slice(&buf[8..16]);
            return Some(u64::from_be_bytes(id));
        }
    }
    None
}

/// One random announce (98 bytes) with connection id `cid`.
fn announce(cid: u64, o: &Options, rng: &mut Rng) -> [u8; 98] {
    let mut p = [0; 98];
    p[..8].copy_from_slice(&cid.to_be_bytes());
    p[8..12].copy_from_slice(&1u32.to_be_bytes());
    p[12..16].copy_from_slice(&(rng.next() as u32).to_be_bytes());
    let hash = o.hashes[(rng.next() % o.hashes.len() as u64) as usize];
    p[16..36].copy_from_slice(&hash);
    p[36..44].copy_from_slice(b"-UL0001-");
    for b in &mut p[44..56] {
        *b = b'a' + (rng.next() % 26) as u8;
    }
    let left: u64 = if rng.next() % 100 < o.leechers {
        1_000_000
    } else {
        0
    };
    p[64..72].copy_from_slice(&left.to_be_bytes());
    p[88..92].copy_from_slice(&(rng.next() as u32).to_be_bytes());
    p[92..96].copy_from_slice(&o.numwant.to_be_bytes());
    let port = 1024 + (rng.next() % 64_000) as u16;
    p[96..98].copy_from_slice(&port.to_be_bytes());
    p
}

/// One source's loop until `stop`: the answers after `counting` starts.
fn run(source: Ipv4Addr, o: &Options, counting: Instant, stop: &AtomicBool, seed: u64) -> Counts {
    let socket = UdpSocket::bind((source, 0))
        .unwrap_or_else(|e| panic!("bind {source}: {e} (is 127.0.0.0/8 on lo?)"));
    socket.connect(o.tracker).expect("connect the socket");
    socket.set_read_timeout(Some(STALL)).expect("a timeout");
    let mut rng = Rng(seed | 1);
    let mut counts = Counts::default();
    let mut buf = [0; 2048];
    let mut cid = None;
    while !stop.load(Ordering::Relaxed) {
        let Some(id) = cid.or_else(|| connect(&socket, &mut rng)) else {
            counts.stalls += 1;
            continue;
        };
        if cid.is_none() {
            cid = Some(id);
            for _ in 0..o.window {
                let _ = socket.send(&announce(id, o, &mut rng));
            }
        }
        match socket.recv(&mut buf) {
            Ok(n) if n >= 20 && buf[..4] == [0, 0, 0, 1] => {
                counts.all_answered += 1;
                if Instant::now() >= counting {
                    counts.answered += 1;
                    counts.peers += ((n - 20) / 6) as u64;
                }
                let _ = socket.send(&announce(id, o, &mut rng));
            }
            Ok(_) => {
                // An error answer (an expired connection id, a refusal):
                // connect again and refill the window.
                counts.errors += 1;
                cid = None;
            }
            Err(_) => {
                counts.stalls += 1;
                for _ in 0..o.window {
                    let _ = socket.send(&announce(id, o, &mut rng));
                }
            }
        }
    }
    counts
}

fn main() {
    let o = Arc::new(options());
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let counting = started + Duration::from_secs_f64(o.warmup);
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64);
    let threads: Vec<_> = (0..o.sources)
        .map(|i| {
            let (o, stop) = (Arc::clone(&o), Arc::clone(&stop));
            let source = Ipv4Addr::from(u32::from(o.first_source) + i);
            let seed = nanos ^ (u64::from(i) + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            std::thread::spawn(move || run(source, &o, counting, &stop, seed))
        })
        .collect();
    std::thread::sleep(Duration::from_secs_f64(o.warmup + o.seconds));
    stop.store(true, Ordering::Relaxed);
    let measured = counting.elapsed().as_secs_f64();
    let mut total = Counts::default();
    for t in threads {
        let c = t.join().expect("a load thread");
        total.answered += c.answered;
        total.all_answered += c.all_answered;
        total.peers += c.peers;
        total.errors += c.errors;
        total.stalls += c.stalls;
    }
    let mean_peers = if total.answered == 0 {
        0.0
    } else {
        total.peers as f64 / total.answered as f64
    };
    println!(
        "{{\"announces\": {}, \"seconds\": {measured:.3}, \"per_second\": {:.1}, \
         \"mean_peers\": {mean_peers:.1}, \"errors\": {}, \"stalls\": {}, \
         \"all_answered\": {}}}",
        total.answered,
        total.answered as f64 / measured,
        total.errors,
        total.stalls,
        total.all_answered
    );
}
