//! The addresses torrents name: the web seed's base (`public_url`) and the
//! endpoint's tracker (`announce_url`), given or the listeners' own.

mod support;

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
        config.public_url = Some("https://files.example.com/".into());
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tracker_is_the_announce_url() {
    let temp = temp_root();
    let bind = || tokio::net::TcpListener::bind("127.0.0.1:0");
    let (s3, tracker, peer) = (
        bind().await.unwrap(),
        bind().await.unwrap(),
        bind().await.unwrap(),
    );
    let addr = s3.local_addr().unwrap();
    let listeners = Listeners::with_swarm(s3, tracker, peer);
    let server = Server::start_on_listeners(temp.path(), listeners, |config| {
        config.seeding = Seeding::Both;
        config.announce_url = Some("https://tracker.example.com:8443/announce".into());
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_public_url_that_is_no_url_is_refused() {
    let temp = temp_root();
    for bad in ["files.example.com", "ftp://files.example.com"] {
        match support::try_start_configured(temp.path(), |c| c.public_url = Some(bad.into())).await
        {
            Err(Error::Config(why)) => assert!(why.contains("--public-url"), "{why}"),
            other => panic!("{bad:?}: {other:?}"),
        }
    }
}

/// The peer seeds v1 and hybrid torrents only: a v2-only torrent with no
/// web seed would reach no one, so that configuration does not start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v2_only_torrents_need_the_web_seed() {
    let temp = temp_root();
    let refused = support::try_start_configured(temp.path(), |c| {
        c.torrent_version = s3torrent_metainfo::TorrentVersion::V2;
        c.seeding = Seeding::Peer;
    })
    .await;
    match refused {
        Err(Error::Config(why)) => assert!(why.contains("--seeding web"), "{why}"),
        other => panic!("v2 with peer seeding: {other:?}"),
    }
    // As a web seed it serves (for the 2 s try_start gives it).
    support::try_start_configured(temp.path(), |c| {
        c.torrent_version = s3torrent_metainfo::TorrentVersion::V2;
    })
    .await
    .expect("v2 as a web seed");
}
