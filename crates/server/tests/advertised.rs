//! The addresses torrents name: the web seed's base (`public_url`) and the
//! endpoint's tracker (`announce_url`), given or the listeners' own.

use crate::support;

use s3torrent_metainfo::Torrent;
use s3torrent_server::{Error, Listeners, Seeding};
use support::{Server, temp_root};

async fn torrent_of(server: &Server, path: &str) -> Torrent {
    let r = server.anonymous().get(&format!("{path}?torrent")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    Torrent::from_bytes(r.body).expect("a torrent")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_seed_is_the_public_url() {
    let temp = temp_root();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let server = Server::start_configured(temp.path(), listener, |config| {
        config.front.public_url = Some("https://files.example.com/".into());
    })
    .await;
    support::public_object(&server, "adv", 1000, 3).await;
    let torrent = torrent_of(&server, "/adv/public.bin").await;
    assert_eq!(
        torrent.web_seeds(),
        ["https://files.example.com/adv/public.bin".to_owned()]
    );
    assert_eq!(torrent.announce(), None, "web seeding runs no tracker");
    server.stop().await;
}

/// S3, tracker and peer listeners on loopback, and the S3 and peer
/// addresses.
async fn swarm_listeners() -> (Listeners, std::net::SocketAddr, std::net::SocketAddr) {
    let bind = || tokio::net::TcpListener::bind("127.0.0.1:0");
    let (s3, tracker, peer) = (
        bind().await.expect("bind"),
        bind().await.expect("bind"),
        bind().await.expect("bind"),
    );
    let (addr, peer_addr) = (s3.local_addr().unwrap(), peer.local_addr().unwrap());
    (Listeners::with_swarm(s3, tracker, peer), addr, peer_addr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tracker_is_the_announce_url() {
    let temp = temp_root();
    let (listeners, addr, _) = swarm_listeners().await;
    let server = Server::start_on_listeners(temp.path(), listeners, |config| {
        config.swarm.seeding = Seeding::Both;
        config.front.announce_url = Some("https://tracker.example.com:8443/announce".into());
    })
    .await;
    support::public_object(&server, "adv", 1000, 4).await;
    let torrent = torrent_of(&server, "/adv/public.bin").await;
    assert_eq!(
        torrent.announce(),
        Some("https://tracker.example.com:8443/announce")
    );
    // No public URL: the web seed is the S3 listener's own address.
    assert_eq!(
        torrent.web_seeds(),
        [format!("http://{addr}/adv/public.bin")]
    );
    server.stop().await;
}

/// With a UDP tracker, torrents list it as the second tier: the
/// announce URL's host (an IPv6 one in brackets) and the UDP socket's port.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_udp_tracker_follows_the_announce_url_host() {
    for (given, host) in [
        (
            "https://tracker.example.com:8443/announce",
            "tracker.example.com",
        ),
        ("http://[2001:db8::5]/announce", "[2001:db8::5]"),
        (
            "http://user@tracker.example.net:80/x/announce",
            "tracker.example.net",
        ),
    ] {
        let temp = temp_root();
        let (mut listeners, _, _) = swarm_listeners().await;
        listeners
            .bind_udp_tracker(Some("127.0.0.1:0"))
            .await
            .expect("bind UDP");
        let udp_port = listeners
            .swarm
            .as_ref()
            .and_then(|s| s.udp_tracker.as_ref())
            .map(|u| u.local_addr().unwrap().port())
            .expect("a UDP socket");
        let server = Server::start_on_listeners(temp.path(), listeners, |config| {
            config.swarm.seeding = Seeding::Peer;
            config.front.announce_url = Some(given.into());
        })
        .await;
        support::public_object(&server, "adv", 1000, 6).await;
        let torrent = torrent_of(&server, "/adv/public.bin").await;
        assert_eq!(
            torrent.trackers(),
            [
                given.to_owned(),
                format!("udp://{host}:{udp_port}/announce")
            ]
        );
        server.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_public_url_that_is_no_url_is_refused() {
    let temp = temp_root();
    for bad in ["files.example.com", "ftp://files.example.com"] {
        match support::try_start_configured(temp.path(), |c| c.front.public_url = Some(bad.into()))
            .await
        {
            Err(Error::Config(why)) => assert!(why.contains("--public-url"), "{why}"),
            other => panic!("{bad:?}: {other:?}"),
        }
    }
}

/// `--torrent-version v2 --seeding peer` starts: the torrent names the
/// tracker and no web seed, and the endpoint's peer answers a handshake
/// under the v2 info-hash truncated to 20 bytes with the same info-hash and
/// BEP 52's v2 bit (`reserved[7] & 0x10`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v2_only_torrents_are_seeded_by_the_peer() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let temp = temp_root();
    let (listeners, _, peer_addr) = swarm_listeners().await;
    let server = Server::start_on_listeners(temp.path(), listeners, |config| {
        config.swarm.seeding = Seeding::Peer;
        config.front.torrent_version = s3torrent_metainfo::TorrentVersion::V2;
    })
    .await;
    support::public_object(&server, "adv", 40_000, 5).await;
    let torrent = torrent_of(&server, "/adv/public.bin").await;
    assert_eq!(torrent.version(), s3torrent_metainfo::TorrentVersion::V2);
    assert!(torrent.web_seeds().is_empty(), "{:?}", torrent.web_seeds());
    assert!(torrent.announce().is_some());
    let v2 = torrent.info_hash_v2().expect("a v2 info-hash");
    let truncated: [u8; 20] = v2.as_bytes()[..20].try_into().unwrap();

    let mut hello = vec![19u8];
    hello.extend_from_slice(b"BitTorrent protocol");
    hello.extend_from_slice(&[0, 0, 0, 0, 0, 0x10, 0, 0x14]); // BEP 10, 6, 52
    hello.extend_from_slice(&truncated);
    hello.extend_from_slice(b"-XX0001-advertisedv2");
    let mut conn = tokio::net::TcpStream::connect(peer_addr).await.unwrap();
    conn.write_all(&hello).await.unwrap();
    let mut answer = [0u8; 68];
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        conn.read_exact(&mut answer),
    )
    .await
    .expect("the peer answers")
    .expect("a whole handshake");
    assert_eq!(&answer[..20], &hello[..20]);
    assert_eq!(
        answer[27] & 0x10,
        0x10,
        "v2 bit in {:02x?}",
        &answer[20..28]
    );
    assert_eq!(&answer[28..48], &truncated);
    server.stop().await;
}
