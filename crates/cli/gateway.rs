//! `s3torrent gateway`: `?torrent` in front of an existing S3 cluster.

use std::process::ExitCode;

use clap::Args;
use s3torrent_metainfo::TorrentVersion;
use s3torrent_s3::TorrentPolicy;
use s3torrent_server::{
    Cidr, GatewayConfig, Listeners, Seeding, TrustedProxies, UpstreamCredentials, User,
};

use crate::serve::{
    ConnectionArgs, DhtArgs, Endpoint, LogFormat, SwarmArgs, TlsArgs, bind_metrics,
    bind_udp_tracker, bind_ws_tracker, init_logging, reload_on_sighup,
};

/// `gateway`'s flags: a contract.
#[derive(Debug, Args)]
pub(crate) struct GatewayArgs {
    #[command(flatten)]
    pub(crate) config: crate::config::ConfigArgs,
    /// The cluster's S3 endpoint, `http://HOST:PORT`.
    #[arg(long, value_name = "URL")]
    upstream: String,
    /// The address to listen on; it is also the web seed's address in
    /// every torrent.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9100")]
    listen: String,
    /// A user of the cluster: access key, secret key and a 12-digit account
    /// ID (repeatable). Their `?torrent`s are checked and asked of the
    /// cluster as them; other requests pass through whoever signed them.
    #[arg(long = "user", value_name = "ACCESS:SECRET:ACCOUNT_ID")]
    users: Vec<User>,
    /// The gateway's own user on the cluster, which owns the cache bucket.
    #[arg(long, value_name = "K", requires = "upstream_secret_key")]
    upstream_access_key: Option<String>,
    /// Its secret key.
    #[arg(long, value_name = "S", requires = "upstream_access_key")]
    upstream_secret_key: Option<String>,
    /// The region the gateway signs its requests to the cluster for.
    #[arg(long, value_name = "R", default_value = "us-east-1")]
    region: String,
    /// The largest object that gets a torrent, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = TorrentPolicy::AWS_MAX_OBJECT_SIZE)]
    max_torrent_size: u64,
    /// Which torrents `?torrent` answers: v1, v2 or hybrid.
    #[arg(long, value_name = "v1|v2|hybrid", default_value_t = TorrentVersion::V1)]
    torrent_version: TorrentVersion,
    /// How objects are seeded: `web` (a BEP 19 web seed: the object's URL on
    /// the gateway), `peer` (torrents list the gateway's tracker; the
    /// gateway seeds as a BitTorrent peer, reading from the cluster) or
    /// `both`.
    #[arg(long, value_name = "peer|web|both", default_value_t = Seeding::Web)]
    seeding: Seeding,
    /// A further tracker for every torrent, after the gateway's own
    /// (repeatable). Seeding as a peer, the gateway announces itself to it
    /// (http:// and udp://; https:// is listed but not announced to).
    #[arg(long = "tracker", value_name = "URL")]
    trackers: Vec<String>,
    /// The tracker's address, for `--seeding peer` or `both`.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:6969")]
    tracker_listen: String,
    /// The tracker as clients reach it, `http(s)://HOST[:PORT]/announce`,
    /// listed in torrents; by default `http://` (`https://` with
    /// --tls-cert), the --tracker-listen address and `/announce`.
    #[arg(long, value_name = "URL")]
    announce_url: Option<String>,
    /// The UDP tracker's address (BEP 15; torrents list
    /// `udp://HOST:PORT/announce` after the HTTP tracker, HOST as in
    /// --announce-url); by default the --tracker-listen address, over UDP;
    /// `off` for none.
    #[arg(long, value_name = "ADDR|off")]
    udp_tracker_listen: Option<String>,
    /// WebTorrent's WebSocket tracker at this address, so that browsers
    /// find each other (torrents then list `ws://HOST:PORT/`, `wss://`
    /// with --tls-cert, HOST as in --announce-url, as a tier of its own
    /// after the UDP tracker); needs --seeding peer or both; off by
    /// default.
    #[arg(long, value_name = "ADDR")]
    ws_tracker_listen: Option<String>,
    /// Prometheus metrics and health checks on a listener of their own:
    /// `GET /metrics`, `/health` and `/ready` at this address; off by
    /// default.
    #[arg(long, value_name = "ADDR")]
    metrics_listen: Option<String>,
    /// A reverse proxy in front of the trackers and S3, an address or
    /// ADDRESS/PREFIX (repeatable): a request from it is taken to come
    /// from the client its X-Forwarded-For (the right-most untrusted
    /// entry) or Forwarded `for=` names, and, on S3, over the scheme its
    /// X-Forwarded-Proto or Forwarded `proto=` says (aws:SecureTransport).
    #[arg(long = "trusted-proxy", value_name = "CIDR")]
    trusted_proxies: Vec<Cidr>,
    /// The seeding peer's address, for `--seeding peer` or `both`.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:6881")]
    peer_listen: String,
    /// The cap on what the seeding peer uploads, in bytes per second; 0 is
    /// unlimited.
    #[arg(long, value_name = "BYTES_PER_SEC", default_value_t = 0)]
    seed_rate: u64,
    /// The seeding peer offers every piece to every peer while at most this
    /// many peers want a torrent (interested, or announced as leechers) and
    /// --seed-rate holds no sender back; past that it rations them: a few
    /// pieces to each peer, different ones, which the peers pass on.
    #[arg(long, value_name = "PEERS", default_value_t = s3torrent_server::SwarmConfig::DEFAULT_RATION_ABOVE)]
    ration_above: usize,
    /// Message stream encryption (MSE/PE, the RC4 obfuscation of
    /// libtorrent, Transmission and aria2) on the seeding peer: `prefer`
    /// accepts plain and encrypted connections and dials plain (encrypted
    /// when the leecher's announce said requirecrypto=1, or when it closed
    /// the plain dial before its handshake), `require` accepts and dials
    /// encrypted only, `off` plain only.
    #[arg(long, value_name = "prefer|require|off", default_value_t = s3torrent_server::PeerEncryption::Prefer)]
    peer_encryption: s3torrent_server::PeerEncryption,
    /// The cluster bucket that holds the torrents, created when missing.
    #[arg(long, value_name = "NAME", default_value = GatewayConfig::DEFAULT_CACHE_BUCKET)]
    cache_bucket: String,
    /// The gateway's address as clients reach it (`http(s)://HOST:PORT`),
    /// for the web seed in torrents; by default `http://` (`https://` with
    /// --tls-cert) and the --listen address. Replicas behind one name give that name, and share cached
    /// torrents.
    #[arg(long, value_name = "URL")]
    public_url: Option<String>,
    #[command(flatten)]
    tls: TlsArgs,
    #[command(flatten)]
    connections: ConnectionArgs,
    #[command(flatten)]
    swarm: SwarmArgs,
    #[command(flatten)]
    dht: DhtArgs,
    /// How the per-request lines are written to stderr: `text` or `json`.
    #[arg(long, value_name = "text|json", default_value = "text")]
    log_format: LogFormat,
}

pub(crate) fn run(args: GatewayArgs) -> ExitCode {
    let _log_guard = init_logging(args.log_format);
    let mut config = GatewayConfig::new(args.upstream);
    config.users = args.users;
    config.upstream_credentials = match (args.upstream_access_key, args.upstream_secret_key) {
        (Some(k), Some(s)) => Some(UpstreamCredentials::new(k, s)),
        _ => None,
    };
    config.region = args.region;
    config.front.max_torrent_size = args.max_torrent_size;
    config.front.torrent_version = args.torrent_version;
    config.swarm.seeding = args.seeding;
    config.swarm.seed_rate = std::num::NonZeroU64::new(args.seed_rate);
    config.swarm.ration_above = args.ration_above;
    config.swarm.peer_encryption = args.peer_encryption;
    config.front.trusted_proxies = TrustedProxies::new(args.trusted_proxies);
    config.cache_bucket = args.cache_bucket;
    config.front.public_url = args.public_url;
    config.front.announce_url = args.announce_url;
    config.front.trackers = args.trackers;
    config.front.max_connections = args.connections.max_connections("gateway", args.seeding);
    config.swarm.limits = args.swarm.limits();
    config.swarm.dht = args.dht.config();
    config.front.min_body_rate = match args.connections.min_body_rate() {
        Ok(rate) => rate,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    [
        config.front.header_read_timeout,
        config.front.idle_timeout,
        config.front.send_timeout,
    ] = args.connections.timeouts();
    let tls = match args.tls.load("gateway") {
        Ok(tls) => tls,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: tokio runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let started = runtime.block_on(async {
        let mut listeners = Listeners::bind(
            &args.listen,
            config.swarm.seeding,
            &args.tracker_listen,
            &args.peer_listen,
        )
        .await
        .map_err(|e| e.to_string())?;
        bind_udp_tracker(&mut listeners, args.udp_tracker_listen.as_deref()).await?;
        bind_ws_tracker(
            &mut listeners,
            args.ws_tracker_listen.as_deref(),
            config.swarm.seeding,
        )
        .await?;
        bind_metrics(&mut listeners, args.metrics_listen.as_deref()).await?;
        reload_on_sighup(Endpoint::Gateway, tls.clone());
        listeners.tls = tls;
        s3torrent_server::gateway(config, listeners, crate::shutdown_signal())
            .await
            .map_err(|e| e.to_string())
    });
    match started {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}
