//! The HTTP front: keep-alive at full speed, and limits that hold against
//! slow or hostile clients (header read timeout, idle keep-alive timeout,
//! minimum body rate, connection slots).

use crate::support;

use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use s3torrent_server::MinBodyRate;
use support::{Server, key_path, temp_root};

/// Reads one HTTP/1.1 answer (head and a `Content-Length` body) from
/// `stream`, keeping bytes past it in `buf`: the status, the head and the
/// body.
async fn read_answer(stream: &mut TcpStream, buf: &mut Vec<u8>) -> (u16, String, Vec<u8>) {
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            let length = head
                .to_ascii_lowercase()
                .lines()
                .find_map(|l| l.strip_prefix("content-length:").map(str::to_owned))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if buf.len() >= end + 4 + length {
                let body = buf[end + 4..end + 4 + length].to_vec();
                buf.drain(..end + 4 + length);
                let status = head
                    .split(' ')
                    .nth(1)
                    .and_then(|s| s.parse().ok())
                    .expect("a status line");
                return (status, head, body);
            }
        }
        let n = stream.read(&mut chunk).await.expect("read an answer");
        assert!(n > 0, "the server closed the connection mid-answer");
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// An anonymous GET of the public object on a new connection: its status.
async fn health(addr: SocketAddr) -> u16 {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(
            format!("GET /front/public.bin HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .await
        .expect("send");
    let mut buf = Vec::new();
    read_answer(&mut stream, &mut buf).await.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_alive_gets_are_not_delayed() {
    let temp = temp_root();
    let server = Server::start(temp.path()).await;
    let body = support::public_object(&server, "front", 1024, 7).await;
    let addr = server.addr;

    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let request = format!("GET /front/public.bin HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    let mut buf = Vec::new();
    let started = Instant::now();
    for i in 0..50 {
        stream.write_all(request.as_bytes()).await.expect("send");
        let (status, head, got) =
            tokio::time::timeout(Duration::from_secs(5), read_answer(&mut stream, &mut buf))
                .await
                .expect("an answer within 5 s");
        assert_eq!(status, 200, "request {i}: {head}");
        assert_eq!(got, body, "request {i}");
    }
    let elapsed = started.elapsed();
    eprintln!("50 keep-alive GETs of 1 KiB on one connection: {elapsed:?}");
    assert!(
        elapsed < Duration::from_secs(1),
        "50 keep-alive GETs took {elapsed:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dripping_clients_neither_starve_nor_stay() {
    const DRIPPERS: usize = 200;
    let temp = temp_root();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let server = Server::start_configured(temp.path(), listener, |config| {
        config.front.max_connections = NonZeroUsize::new(64).expect("not zero");
        config.front.header_read_timeout = Some(Duration::from_secs(2));
    })
    .await;
    support::public_object(&server, "front", 1024, 7).await;
    let addr = server.addr;

    // 200 connections, each sending a byte of a request head every 500 ms
    // and never finishing it; each reports how long until it was closed.
    let started = Instant::now();
    let mut drippers = Vec::new();
    for _ in 0..DRIPPERS {
        let stream = TcpStream::connect(addr).await.expect("connect");
        drippers.push(tokio::spawn(async move {
            let mut stream = stream;
            let head = b"GET /front/public.bin HTTP/1.1\r\nHost: x\r\nX-Slow: ";
            let mut byte = [0u8; 1];
            // Bounded: 60 s of dripping at most.
            for i in 0..120 {
                let b = head.get(i).copied().unwrap_or(b'a');
                if stream.write_all(&[b]).await.is_err() {
                    return Some(started.elapsed());
                }
                match tokio::time::timeout(Duration::from_millis(500), stream.read(&mut byte)).await
                {
                    Ok(Ok(0) | Err(_)) => return Some(started.elapsed()),
                    Ok(Ok(_)) => {} // an answer would be a bug; the close follows
                    Err(_) => {}    // still open
                }
            }
            None
        }));
    }

    // Health requests on new connections, while the drippers hold every
    // slot: answered once the timeout frees slots (200 / 64 rounds of 2 s).
    for i in 0..3 {
        let asked = Instant::now();
        let status = tokio::time::timeout(Duration::from_secs(20), health(addr))
            .await
            .unwrap_or_else(|_| panic!("health request {i}: no answer within 20 s"));
        assert_eq!(status, 200, "health request {i}");
        eprintln!("health request {i} answered in {:?}", asked.elapsed());
    }

    let mut closed_at = Vec::new();
    for d in drippers {
        let at = d.await.expect("dripper").expect("closed by the server");
        closed_at.push(at);
    }
    let last = closed_at.iter().max().copied().unwrap_or_default();
    eprintln!("{DRIPPERS} dripping connections all closed by {last:?}");
    assert!(
        last < Duration::from_secs(30),
        "last dripper closed at {last:?}"
    );
    // Still serving after the storm.
    assert_eq!(health(addr).await, 200);
    server.stop().await;
}

/// Whether the server closes `stream` within `within`: reads until EOF or
/// an error (a reset), discarding what arrives.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let mut chunk = [0u8; 4096];
    tokio::time::timeout(within, async {
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await
    .is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_keep_alive_and_slow_heads_have_their_own_clocks() {
    let temp = temp_root();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let server = Server::start_configured(temp.path(), listener, |config| {
        config.front.header_read_timeout = Some(Duration::from_secs(1));
        config.front.idle_timeout = Some(Duration::from_secs(3));
    })
    .await;
    let body = support::public_object(&server, "front", 1024, 7).await;
    let addr = server.addr;
    let request = format!("GET /front/public.bin HTTP/1.1\r\nHost: {addr}\r\n\r\n");

    // Idle for twice the header timeout between two requests: still open,
    // and the next request is answered.
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let mut buf = Vec::new();
    stream.write_all(request.as_bytes()).await.expect("send");
    let (status, _, got) = read_answer(&mut stream, &mut buf).await;
    assert_eq!((status, got.len()), (200, body.len()));
    tokio::time::sleep(Duration::from_secs(2)).await;
    stream.write_all(request.as_bytes()).await.expect("send");
    let (status, head, got) =
        tokio::time::timeout(Duration::from_secs(5), read_answer(&mut stream, &mut buf))
            .await
            .expect("an answer after 2 s idle");
    assert_eq!(status, 200, "{head}");
    assert_eq!(got, body);

    // Then idle past the idle timeout: closed, not before it.
    let idle_from = Instant::now();
    assert!(
        closed_within(&mut stream, Duration::from_secs(8)).await,
        "an idle connection stayed open 8 s"
    );
    let idle = idle_from.elapsed();
    eprintln!("idle keep-alive connection closed after {idle:?}");
    assert!(
        idle >= Duration::from_millis(2800) && idle < Duration::from_millis(4500),
        "closed after {idle:?}, the idle timeout is 3 s"
    );

    // On a keep-alive connection, a next head that drips is cut by the
    // header timeout from its first byte, long before the idle timeout.
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut buf = Vec::new();
    assert_eq!(read_answer(&mut stream, &mut buf).await.0, 200);
    let head_from = Instant::now();
    let mut cut = None;
    for b in request.bytes().take(40) {
        if stream.write_all(&[b]).await.is_err() {
            cut = Some(head_from.elapsed());
            break;
        }
        if closed_within(&mut stream, Duration::from_millis(200)).await {
            cut = Some(head_from.elapsed());
            break;
        }
    }
    let cut = cut.expect("a dripping head was not cut within 8 s");
    eprintln!("a dripping second head was cut after {cut:?}");
    assert!(
        cut >= Duration::from_millis(800) && cut < Duration::from_millis(2500),
        "cut after {cut:?}, the header timeout is 1 s"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dripping_body_gets_request_timeout_and_a_fast_one_is_untouched() {
    let temp = temp_root();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let server = Server::start_configured(temp.path(), listener, |config| {
        config.front.min_body_rate = Some(
            MinBodyRate::new(
                std::num::NonZeroU64::new(256 * 1024).expect("not zero"),
                Duration::from_secs(1),
                Duration::from_secs(1),
            )
            .expect("a valid rate"),
        );
    })
    .await;
    let alice = server.alice();
    alice.create_bucket("front").await.ok();

    // At full speed: 16 MiB in one PutObject, read back whole.
    let big = support::pseudo_random(16 << 20, 11);
    let put = alice
        .put_object("front", "fast.bin", &[], big.clone())
        .await;
    assert_eq!(put.status, 200, "{}", put.text());
    let got = alice.get_object("front", "fast.bin").await.ok();
    assert!(got.body == big, "the fast upload came back different");

    // Dripping: a signed PutObject declaring 1 MiB, its body sent at
    // 10 bytes every 100 ms (100 B/s against 256 KiB/s).
    let target = alice.presign_raw("PUT", &key_path("front", "slow.bin"), &[], &[]);
    let mut stream = TcpStream::connect(server.addr).await.expect("connect");
    stream
        .write_all(
            format!(
                "PUT {target} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\n\r\n",
                server.addr,
                1 << 20
            )
            .as_bytes(),
        )
        .await
        .expect("send the head");
    let started = Instant::now();
    let mut answer = Vec::new();
    let mut closed = false;
    let mut chunk = [0u8; 4096];
    // Bounded: 100 drips (10 s) at most.
    for _ in 0..100 {
        if stream.write_all(&[b'x'; 10]).await.is_err() {
            break;
        }
        match tokio::time::timeout(Duration::from_millis(100), stream.read(&mut chunk)).await {
            Ok(Ok(0) | Err(_)) => {
                closed = true;
                break;
            }
            Ok(Ok(n)) => answer.extend_from_slice(&chunk[..n]),
            Err(_) => {}
        }
    }
    if !closed {
        closed = closed_within(&mut stream, Duration::from_secs(2)).await;
    }
    let elapsed = started.elapsed();
    let text = String::from_utf8_lossy(&answer).into_owned();
    eprintln!("a dripping body was answered after {elapsed:?}: {text}");
    assert!(text.starts_with("HTTP/1.1 400 "), "{text}");
    assert!(text.contains("<Code>RequestTimeout</Code>"), "{text}");
    assert!(
        text.to_ascii_lowercase().contains("connection: close"),
        "{text}"
    );
    assert!(closed, "the connection stayed open after RequestTimeout");
    // Grace (1 s) and one window (1 s) of waiting, then the cut.
    assert!(
        elapsed >= Duration::from_millis(1800) && elapsed < Duration::from_secs(6),
        "cut after {elapsed:?}"
    );
    // Nothing of it was stored.
    alice
        .get_object("front", "slow.bin")
        .await
        .assert_error(404, "NoSuchKey");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_closed_by_the_send_timeout() {
    const SIZE: usize = 32 << 20;
    let temp = temp_root();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    // One connection slot: the stalled reader below holds it.
    let server = Server::start_configured(temp.path(), listener, |config| {
        config.front.send_timeout = Some(Duration::from_secs(1));
        config.front.max_connections = NonZeroUsize::new(1).expect("not zero");
    })
    .await;
    support::public_object(&server, "front", SIZE, 5).await;
    let addr = server.addr;

    // Asks for 32 MiB and reads none of it: more than the socket buffers
    // hold, so the server's writes stall.
    let mut stalled = TcpStream::connect(addr).await.expect("connect");
    stalled
        .write_all(format!("GET /front/public.bin HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes())
        .await
        .expect("send");
    tokio::time::sleep(Duration::from_millis(300)).await;

    // The one slot frees once the send timeout closes the stalled one.
    let asked = Instant::now();
    let status = tokio::time::timeout(Duration::from_secs(10), health(addr))
        .await
        .expect("a health request answered within 10 s");
    assert_eq!(status, 200);
    let waited = asked.elapsed();
    eprintln!("health answered after {waited:?} behind a stalled reader");
    assert!(waited < Duration::from_secs(5), "{waited:?}");

    // The stalled client got part of the answer, then the close.
    let mut got = 0usize;
    let mut chunk = vec![0u8; 1 << 16];
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match stalled.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got += n,
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the stalled connection is still open");
    assert!(got < SIZE, "all {got} bytes arrived");
    server.stop().await;
}

/// A stand-in for a cluster: answers every request on every connection,
/// once its body is in, with the same small 200 and its own request ID,
/// until the test ends.
async fn fake_upstream() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("its address");
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    // A whole request (its head and its Content-Length body)
                    // gets the answer.
                    while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let length = String::from_utf8_lossy(&buf[..end])
                            .to_ascii_lowercase()
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:").map(str::to_owned))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        if buf.len() < end + 4 + length {
                            break;
                        }
                        buf.drain(..end + 4 + length);
                        let answer = "HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\
                                      x-amz-request-id: UPSTREAM1\r\n\r\nupstream";
                        if socket.write_all(answer.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                    match socket.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
            });
        }
    });
    addr
}

/// The gateway's front is serve's: the idle keep-alive and header clocks
/// hold there too, and an answer passed through keeps the cluster's
/// request ID.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_has_the_same_clocks() {
    let upstream = fake_upstream().await;
    let mut config = s3torrent_server::GatewayConfig::new(format!("http://{upstream}"));
    config.front.header_read_timeout = Some(Duration::from_secs(1));
    config.front.idle_timeout = Some(Duration::from_secs(3));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("its address");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let gateway = tokio::spawn(s3torrent_server::gateway(
        config,
        s3torrent_server::Listeners::s3(listener),
        async {
            let _ = stopped.await;
        },
    ));
    let request = format!("GET /bucket/key HTTP/1.1\r\nHost: {addr}\r\n\r\n");

    // Passed through, twice on one connection with 2 s idle between.
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let mut buf = Vec::new();
    for _ in 0..2 {
        stream.write_all(request.as_bytes()).await.expect("send");
        let (status, head, body) =
            tokio::time::timeout(Duration::from_secs(5), read_answer(&mut stream, &mut buf))
                .await
                .expect("an answer");
        assert_eq!((status, body.as_slice()), (200, &b"upstream"[..]), "{head}");
        assert!(
            head.to_ascii_lowercase()
                .contains("x-amz-request-id: upstream1"),
            "the cluster's request ID: {head}"
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    // Idle past the idle timeout (3 s, 2 of them gone): closed.
    let idle_from = Instant::now();
    assert!(
        closed_within(&mut stream, Duration::from_secs(6)).await,
        "an idle connection stayed open"
    );
    let idle = idle_from.elapsed();
    assert!(
        idle >= Duration::from_millis(500) && idle < Duration::from_millis(2500),
        "closed {idle:?} after the last 2 s of idle; the idle timeout is 3 s"
    );

    // A head that drips from the accept on is cut by the header timeout.
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let head_from = Instant::now();
    let mut cut = None;
    for b in request.bytes().take(40) {
        if stream.write_all(&[b]).await.is_err()
            || closed_within(&mut stream, Duration::from_millis(200)).await
        {
            cut = Some(head_from.elapsed());
            break;
        }
    }
    let cut = cut.expect("a dripping head was not cut within 8 s");
    assert!(
        cut >= Duration::from_millis(800) && cut < Duration::from_millis(2500),
        "cut after {cut:?}, the header timeout is 1 s"
    );
    let _ = stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(15), gateway).await;
}

/// A body passed through the gateway is held to the minimum rate too: a
/// dripping upload is cut off with `RequestTimeout`, a fast one reaches the
/// cluster.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_cuts_a_dripping_upload() {
    let upstream = fake_upstream().await;
    let mut config = s3torrent_server::GatewayConfig::new(format!("http://{upstream}"));
    config.front.min_body_rate = Some(
        MinBodyRate::new(
            std::num::NonZeroU64::new(1000).unwrap(),
            Duration::from_secs(1),
            Duration::from_secs(1),
        )
        .unwrap(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("its address");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let gateway = tokio::spawn(s3torrent_server::gateway(
        config,
        s3torrent_server::Listeners::s3(listener),
        async {
            let _ = stopped.await;
        },
    ));
    let length = 100_000;
    let head =
        format!("PUT /bucket/key HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {length}\r\n\r\n");

    // All at once: passed through.
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(head.as_bytes()).await.expect("send");
    stream.write_all(&vec![b'x'; length]).await.expect("send");
    let mut buf = Vec::new();
    let (status, head_back, body) =
        tokio::time::timeout(Duration::from_secs(5), read_answer(&mut stream, &mut buf))
            .await
            .expect("an answer");
    assert_eq!(
        (status, body.as_slice()),
        (200, &b"upstream"[..]),
        "{head_back}"
    );

    // Ten bytes every 300 ms (33 B/s against 1000): RequestTimeout after
    // the 1 s grace and a 1 s window, not after the whole body's 50 minutes.
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (mut reader, mut writer) = stream.into_split();
    writer.write_all(head.as_bytes()).await.expect("send");
    let from = Instant::now();
    let dripper = tokio::spawn(async move {
        for _ in 0..30 {
            if writer.write_all(&[b'x'; 10]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    });
    let mut answer = Vec::new();
    let mut chunk = [0u8; 4096];
    let read = tokio::time::timeout(Duration::from_secs(8), async {
        loop {
            match reader.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&chunk[..n]),
            }
            if String::from_utf8_lossy(&answer).contains("</Error>") {
                break;
            }
        }
    })
    .await;
    assert!(read.is_ok(), "no answer within 8 s");
    let text = String::from_utf8_lossy(&answer).into_owned();
    dripper.abort();
    assert!(text.starts_with("HTTP/1.1 400"), "{text}");
    assert!(text.contains("<Code>RequestTimeout</Code>"), "{text}");
    let took = from.elapsed();
    assert!(
        took >= Duration::from_millis(1500) && took < Duration::from_secs(6),
        "answered after {took:?}: 1 s of grace and a 1 s window"
    );
    let _ = stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(15), gateway).await;
}
