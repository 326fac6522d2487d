//! `s3torrent serve`: the S3 endpoint over a local folder.

use std::num::NonZeroU64;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use s3torrent_metainfo::TorrentVersion;
use s3torrent_s3::TorrentPolicy;
use s3torrent_server::{
    AnnounceRate, Cidr, DhtConfig, Listeners, MinBodyRate, Seeding, ServerConfig, SwarmConfig,
    SwarmLimits, Tls, TrustedProxies, User,
};

/// `serve`'s flags: a contract (scripts and users depend on them).
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    #[command(flatten)]
    pub(crate) config: crate::config::ConfigArgs,
    /// The folder that holds the buckets and the database.
    #[arg(long, value_name = "DIR", default_value = "data")]
    root: PathBuf,
    /// The address to listen on; it is also the web seed's address in
    /// every torrent.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9000")]
    listen: String,
    /// Answer virtual-hosted-style requests (`BUCKET.NAME`) too.
    #[arg(long, value_name = "NAME")]
    base_domain: Option<String>,
    /// An account: access key, secret key and 12-digit account ID
    /// (repeatable). Without one, a development user is created and printed.
    #[arg(long = "user", value_name = "ACCESS:SECRET:ACCOUNT_ID")]
    users: Vec<User>,
    /// The largest object that gets a torrent, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = TorrentPolicy::AWS_MAX_OBJECT_SIZE)]
    max_torrent_size: u64,
    /// Which torrents `?torrent` answers: v1 (as Amazon S3), v2 or hybrid
    /// (BEP 52).
    #[arg(long, value_name = "v1|v2|hybrid", default_value_t = TorrentVersion::V1)]
    torrent_version: TorrentVersion,
    /// How objects are seeded: `peer` (torrents list the endpoint's
    /// tracker; the endpoint seeds as a BitTorrent peer), `web` (a BEP 19
    /// web seed, no tracker) or `both`.
    #[arg(long, value_name = "peer|web|both", default_value_t = Seeding::Peer)]
    seeding: Seeding,
    /// A further tracker for every torrent, after the endpoint's own
    /// (repeatable). Seeding as a peer, the endpoint announces itself to
    /// it (http:// and udp://; https:// is listed but not announced to).
    #[arg(long = "tracker", value_name = "URL")]
    trackers: Vec<String>,
    /// The tracker's address (`http://ADDR/announce` in torrents, or
    /// `https://` with --tls-cert, unless --announce-url).
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
    /// after the UDP tracker); off by default.
    #[arg(long, value_name = "ADDR")]
    ws_tracker_listen: Option<String>,
    /// Where the console's "Download in your browser" loads WebTorrent
    /// from: an ES module URL, the package's browser build
    /// (`dist/webtorrent.min.js`), which the endpoint does not serve.
    #[arg(long, value_name = "URL", default_value = ServerConfig::DEFAULT_WEBTORRENT_JS)]
    webtorrent_js: String,
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
    /// The S3 endpoint as clients reach it, `http(s)://HOST[:PORT]`, for
    /// the web seed in torrents; by default `http://` (`https://` with
    /// --tls-cert) and the --listen address.
    #[arg(long, value_name = "URL")]
    public_url: Option<String>,
    /// The seeding peer's address.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:6881")]
    peer_listen: String,
    /// The cap on everything uploaded (peer and GetObject bodies), in bytes
    /// per second; 0 is unlimited.
    #[arg(long, value_name = "BYTES_PER_SEC", default_value_t = 0)]
    seed_rate: u64,
    /// The seeding peer offers every piece to every peer while at most this
    /// many peers want a torrent (interested, or announced as leechers) and
    /// --seed-rate holds no sender back; past that it rations them: a few
    /// pieces to each peer, different ones, which the peers pass on.
    #[arg(long, value_name = "PEERS", default_value_t = SwarmConfig::DEFAULT_RATION_ABOVE)]
    ration_above: usize,
    /// Message stream encryption (MSE/PE, the RC4 obfuscation of
    /// libtorrent, Transmission and aria2) on the seeding peer: `prefer`
    /// accepts plain and encrypted connections and dials plain (encrypted
    /// when the leecher's announce said requirecrypto=1, or when it closed
    /// the plain dial before its handshake), `require` accepts and dials
    /// encrypted only, `off` plain only.
    #[arg(long, value_name = "prefer|require|off", default_value_t = s3torrent_server::PeerEncryption::Prefer)]
    peer_encryption: s3torrent_server::PeerEncryption,
    /// Take SSE-C (customer-provided encryption keys) over plain HTTP. S3
    /// takes them over HTTPS only, and so does serve without this flag:
    /// from requests over --tls-cert's TLS, or from a --trusted-proxy
    /// saying the client came over HTTPS; for a listener on loopback or a
    /// test suite.
    #[arg(long)]
    allow_sse_c_over_http: bool,
    #[command(flatten)]
    tls: TlsArgs,
    #[command(flatten)]
    connections: ConnectionArgs,
    #[command(flatten)]
    swarm: SwarmArgs,
    #[command(flatten)]
    dht: DhtArgs,
    /// How the per-request, per-announce and per-peer-connection lines (and
    /// warnings) are written to stderr: `text`, or `json` (one object a
    /// line). The start-up lines are plain text either way.
    #[arg(long, value_name = "text|json", default_value = "text")]
    log_format: LogFormat,
}

/// The TLS flags, `serve`'s and `gateway`'s: both files or neither (clap
/// says so, for the command line and the config file alike).
#[derive(Debug, clap::Args)]
pub(crate) struct TlsArgs {
    /// Serve S3 and the HTTP tracker over TLS with this certificate chain
    /// (PEM, the server's certificate first); needs --tls-key. Torrents
    /// then name https:// web seeds and trackers. Both files are read again
    /// on SIGHUP.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM: PKCS#8, PKCS#1 RSA or SEC1 EC);
    /// needs --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
}

impl TlsArgs {
    /// The certificate and key, read and checked, when the flags give them
    /// (a start-up line says which certificate); the error names the file
    /// and what is wrong with it.
    pub(crate) fn load(&self, name: &str) -> Result<Option<Tls>, String> {
        let (cert, key) = match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => (cert, key),
            (None, None) => return Ok(None),
            // clap's `requires` refuses either alone.
            (Some(_), None) => return Err("--tls-cert needs --tls-key".into()),
            (None, Some(_)) => return Err("--tls-key needs --tls-cert".into()),
        };
        let tls = Tls::load(cert, key).map_err(|e| e.to_string())?;
        eprintln!(
            "{name}: TLS certificate {} (sha256 {}), key {}",
            cert.display(),
            tls.fingerprint(),
            key.display()
        );
        Ok(Some(tls))
    }
}

/// Reads the TLS certificate and key again at each SIGHUP, for new
/// handshakes (open connections keep theirs); a pair that cannot be used
/// leaves the one in use, and the log says why. Without TLS, SIGHUP is
/// logged and changes nothing: it never stops the server (systemd's
/// `ExecReload=` may send it either way). The handler is in place when
/// this returns.
#[cfg(unix)]
pub(crate) fn reload_on_sighup(endpoint: Endpoint, tls: Option<Tls>) {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hangups = match signal(SignalKind::hangup()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!(
                "{}: warning: no SIGHUP handler, so no certificate reload: {e}",
                endpoint.name()
            );
            return;
        }
    };
    tokio::spawn(async move {
        while hangups.recv().await.is_some() {
            let Some(tls) = &tls else {
                endpoint.info("SIGHUP: no --tls-cert, nothing to reload");
                continue;
            };
            let again = tls.clone();
            match tokio::task::spawn_blocking(move || again.reload()).await {
                Ok(Ok(())) => endpoint.info(&format!(
                    "SIGHUP: TLS certificate reloaded from {} (sha256 {})",
                    tls.cert_path().display(),
                    tls.fingerprint()
                )),
                Ok(Err(e)) => endpoint.warn(&format!(
                    "SIGHUP: TLS certificate not reloaded, the one in use stays (sha256 {}): {e}",
                    tls.fingerprint()
                )),
                Err(e) => endpoint.warn(&format!("SIGHUP: TLS reload failed: {e}")),
            }
        }
    });
}

/// No SIGHUP off Unix: the certificate is read at start only.
#[cfg(not(unix))]
pub(crate) fn reload_on_sighup(_endpoint: Endpoint, _tls: Option<Tls>) {}

/// Which command logs: `serve` or `gateway` (a `tracing` target is a
/// constant).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Endpoint {
    Serve,
    Gateway,
}

impl Endpoint {
    fn name(self) -> &'static str {
        match self {
            Endpoint::Serve => "serve",
            Endpoint::Gateway => "gateway",
        }
    }

    fn info(self, message: &str) {
        match self {
            Endpoint::Serve => tracing::info!(target: "serve", "{message}"),
            Endpoint::Gateway => tracing::info!(target: "gateway", "{message}"),
        }
    }

    fn warn(self, message: &str) {
        match self {
            Endpoint::Serve => tracing::warn!(target: "serve", "{message}"),
            Endpoint::Gateway => tracing::warn!(target: "gateway", "{message}"),
        }
    }
}

/// The flags of the tracker's and the seeding peer's limits, `serve`'s and
/// `gateway`'s.
#[derive(Debug, clap::Args)]
pub(crate) struct SwarmArgs {
    /// Announces a minute the tracker answers from one client (an address
    /// and the peer id it announces as), and from one address over all its
    /// clients; without /PER_ADDRESS, 25 times PER_CLIENT.
    #[arg(long, value_name = "PER_CLIENT[/PER_ADDRESS]", default_value_t = AnnounceRate::DEFAULT)]
    announce_rate: AnnounceRate,
    /// How many peer connections one address (an IPv6 /64) holds at once.
    #[arg(long, value_name = "N", default_value_t = SwarmLimits::DEFAULT_PEERS_PER_ADDRESS)]
    peers_per_address: std::num::NonZeroUsize,
    /// How long, in seconds, a peer connection has to complete its
    /// handshake before it may be closed to admit a newcomer when the
    /// peer's (or its address's) connection slots run out.
    #[arg(long, value_name = "SECS", default_value_t = SwarmLimits::DEFAULT_HANDSHAKE_GRACE.as_secs())]
    handshake_grace: u64,
}

impl SwarmArgs {
    /// The limits these flags give.
    pub(crate) fn limits(&self) -> SwarmLimits {
        let mut limits = SwarmLimits::default();
        limits.announce_rate = self.announce_rate;
        limits.peers_per_address = self.peers_per_address;
        limits.handshake_grace = Duration::from_secs(self.handshake_grace);
        limits
    }
}

/// The flags of the DHT node, `serve`'s and `gateway`'s.
#[derive(Debug, clap::Args)]
pub(crate) struct DhtArgs {
    /// Put every served object in the Mainline DHT (BEP 5): announce its
    /// info-hash with the seeding peer's port, again every --dht-interval,
    /// and no more once it stops being served, so that a magnet link with
    /// only its info-hash (`xt`) finds the endpoint. For a public endpoint;
    /// needs --seeding peer or both. Off by default.
    #[arg(long)]
    dht: bool,
    /// The DHT node's UDP address (IPv4); by default the --peer-listen
    /// address and port, over UDP.
    #[arg(long, value_name = "ADDR", requires = "dht")]
    dht_listen: Option<std::net::SocketAddr>,
    /// A node to join the DHT through (repeatable); by default the public
    /// routers: router.bittorrent.com:6881, router.utorrent.com:6881,
    /// dht.transmissionbt.com:6881 and dht.libtorrent.org:25401.
    #[arg(long = "dht-bootstrap", value_name = "HOST:PORT", requires = "dht")]
    dht_bootstrap: Vec<String>,
    /// Seconds between two announces of a served object.
    #[arg(long, value_name = "SECS", requires = "dht",
          default_value_t = DhtConfig::DEFAULT_INTERVAL.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..))]
    dht_interval: u64,
}

impl DhtArgs {
    /// The DHT node these flags ask for, if any.
    pub(crate) fn config(&self) -> Option<DhtConfig> {
        if !self.dht {
            return None;
        }
        let mut config = DhtConfig::default();
        config.listen = self.dht_listen;
        if !self.dht_bootstrap.is_empty() {
            config.bootstrap = self.dht_bootstrap.clone();
        }
        config.interval = Duration::from_secs(self.dht_interval);
        Some(config)
    }
}

/// The flags of the HTTP front's connections, `serve`'s and `gateway`'s.
#[derive(Debug, clap::Args)]
pub(crate) struct ConnectionArgs {
    /// How many client connections are served at once; at the limit a
    /// quiet one (idle keep-alive, or nothing sent since its accept) is
    /// closed for a newcomer, and without one newcomers wait for a free
    /// slot. By default what the open-files limit allows (each connection
    /// may hold a data file too), at most 1024.
    #[arg(long, value_name = "N")]
    max_connections: Option<std::num::NonZeroUsize>,
    /// How long a client has to send a request's head, in seconds, from the
    /// accept or from the first byte of a keep-alive connection's next
    /// request; 0 waits for ever.
    #[arg(long, value_name = "SECS", default_value_t = ServerConfig::DEFAULT_HEADER_READ_TIMEOUT.as_secs())]
    header_timeout: u64,
    /// How long an idle keep-alive connection is kept for its next request,
    /// in seconds; 0 keeps it for ever.
    #[arg(long, value_name = "SECS", default_value_t = ServerConfig::DEFAULT_IDLE_TIMEOUT.as_secs())]
    idle_timeout: u64,
    /// How long an answer may wait for the client to read more of it, in
    /// seconds, before the connection is closed; 0 waits for ever.
    #[arg(long, value_name = "SECS", default_value_t = ServerConfig::DEFAULT_SEND_TIMEOUT.as_secs())]
    send_timeout: u64,
    /// The slowest a request body (an upload) may arrive, in bytes per
    /// second over each --body-window, after --body-grace; a slower one is
    /// answered `RequestTimeout` and its connection closed. 0 lets bodies
    /// take for ever.
    #[arg(long, value_name = "BYTES_PER_SEC", default_value_t = MinBodyRate::DEFAULT.bytes_per_second().get())]
    min_body_rate: u64,
    /// The window --min-body-rate is measured over, in seconds (not 0).
    #[arg(long, value_name = "SECS", default_value_t = MinBodyRate::DEFAULT.window().as_secs(), value_parser = clap::value_parser!(u64).range(1..))]
    body_window: u64,
    /// How long a request body may take before --min-body-rate applies, in
    /// seconds.
    #[arg(long, value_name = "SECS", default_value_t = MinBodyRate::DEFAULT.grace().as_secs())]
    body_grace: u64,
}

impl ConnectionArgs {
    /// Every connection is a file descriptor: takes the hard limit, which
    /// the default soft one (often 1024) is far below, and gives
    /// `--max-connections`: as given, or what the limit allows
    /// ([`ServerConfig::max_connections_for`]). Warns (a start-up line,
    /// `NAME: warning: ...`) when a given one is more than the limit allows.
    pub(crate) fn max_connections(&self, name: &str, seeding: Seeding) -> std::num::NonZeroUsize {
        let limit = match rlimit::increase_nofile_limit(u64::MAX) {
            Ok(limit) => Some(limit),
            Err(e) => {
                eprintln!("{name}: warning: cannot raise the open files limit: {e}");
                rlimit::getrlimit(rlimit::Resource::NOFILE)
                    .ok()
                    .map(|(soft, _)| soft)
            }
        };
        let allowed = limit.map(|l| ServerConfig::max_connections_for(l, seeding));
        match (self.max_connections, allowed) {
            (Some(given), Some(allowed)) if given > allowed => {
                eprintln!(
                    "{name}: warning: open files limited to {}, which allows {allowed} connections, below --max-connections {given}",
                    limit.unwrap_or_default()
                );
                given
            }
            (Some(given), _) => given,
            (None, Some(allowed)) => allowed,
            (None, None) => ServerConfig::DEFAULT_MAX_CONNECTIONS,
        }
    }

    /// `--min-body-rate` over `--body-window` after `--body-grace`; `None`
    /// for a rate of 0.
    pub(crate) fn min_body_rate(&self) -> Result<Option<MinBodyRate>, String> {
        match NonZeroU64::new(self.min_body_rate) {
            None => Ok(None),
            Some(rate) => MinBodyRate::new(
                rate,
                Duration::from_secs(self.body_window),
                Duration::from_secs(self.body_grace),
            )
            .map(Some)
            .map_err(|e| e.to_string()),
        }
    }

    /// The header, idle and send timeouts, `None` for 0 (for ever).
    pub(crate) fn timeouts(&self) -> [Option<Duration>; 3] {
        let seconds = |secs: u64| (secs > 0).then(|| Duration::from_secs(secs));
        [
            seconds(self.header_timeout),
            seconds(self.idle_timeout),
            seconds(self.send_timeout),
        ]
    }
}

/// `--log-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum LogFormat {
    /// `TIME LEVEL TARGET: MESSAGE field=value ...`.
    Text,
    /// One JSON object a line, the fields at its top level.
    Json,
}

/// Installs the global `tracing` subscriber: the fmt layer over stderr
/// written in batches by a thread of its own ([`crate::log_writer`]), so
/// that a request never waits on a write to stderr, nor wakes a thread for
/// each line. Lines are never dropped: were 16 MiB of them queued, loggers
/// would wait for the writer. The guard writes what is queued when it is
/// dropped; keep it until the process ends.
pub(crate) fn init_logging(format: LogFormat) -> crate::log_writer::Guard {
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;

    let (writer, guard) = crate::log_writer::stderr();
    let (text, json) = match format {
        LogFormat::Text => (
            Some(
                tracing_subscriber::fmt::layer()
                    .with_writer(writer)
                    .event_format(TextLine),
            ),
            None,
        ),
        LogFormat::Json => (
            None,
            Some(
                tracing_subscriber::fmt::layer()
                    .with_writer(writer)
                    .json()
                    .flatten_event(true)
                    .with_current_span(false)
                    .with_span_list(false),
            ),
        ),
    };
    // The server's own events only (targets `serve`, `tracker`, `peer`, `dht`): s3s
    // logs every refused anonymous request as an error, which it is not here.
    let ours = tracing_subscriber::filter::Targets::new()
        .with_target("serve", tracing::Level::INFO)
        .with_target("tracker", tracing::Level::INFO)
        .with_target("peer", tracing::Level::INFO)
        .with_target("dht", tracing::Level::INFO)
        .with_target("gateway", tracing::Level::INFO);
    let installed = tracing_subscriber::registry()
        .with(text)
        .with(json)
        .with(ours)
        .try_init();
    if let Err(e) = installed {
        eprintln!("serve: warning: logging not set up: {e}");
    }
    guard
}

/// `--log-format text`: `TIME LEVEL TARGET: MESSAGE field=value ...`, the
/// shape of tracing-subscriber's default format without spans (the server
/// opens none), in fewer formatting calls: one such line is formatted on
/// every request's path, and the default format's per-field styling cost
/// about a tenth of a cached `?torrent` (callgrind). Strings are quoted and
/// escaped (`{:?}`), so a path cannot break a line.
struct TextLine;

impl<S, N> tracing_subscriber::fmt::FormatEvent<S, N> for TextLine
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    N: for<'a> tracing_subscriber::fmt::FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &tracing_subscriber::fmt::FmtContext<'_, S, N>,
        mut writer: tracing_subscriber::fmt::format::Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        line_time(&mut writer, std::time::SystemTime::now())?;
        let meta = event.metadata();
        writer.write_str(match *meta.level() {
            tracing::Level::ERROR => " ERROR ",
            tracing::Level::WARN => "  WARN ",
            tracing::Level::INFO => "  INFO ",
            tracing::Level::DEBUG => " DEBUG ",
            _ => " TRACE ",
        })?;
        writer.write_str(meta.target())?;
        writer.write_str(":")?;
        let mut fields = TextFields {
            writer: &mut writer,
            result: Ok(()),
        };
        event.record(&mut fields);
        fields.result?;
        writer.write_char('\n')
    }
}

/// Writes `now` as tracing-subscriber's `SystemTime` does (RFC 3339, UTC,
/// microseconds: `2026-12-07T23:25:00.123456Z`), the date and time of day
/// formatted once a second per thread.
fn line_time(
    writer: &mut tracing_subscriber::fmt::format::Writer<'_>,
    now: std::time::SystemTime,
) -> std::fmt::Result {
    use tracing_subscriber::fmt::time::FormatTime as _;

    thread_local! {
        static SECOND: std::cell::RefCell<(i64, String)> =
            const { std::cell::RefCell::new((0, String::new())) };
    }
    let since = now.duration_since(std::time::UNIX_EPOCH).ok();
    let second = since.and_then(|d| i64::try_from(d.as_secs()).ok());
    let (Some(since), Some(second)) = (since, second) else {
        return tracing_subscriber::fmt::time::SystemTime.format_time(writer);
    };
    SECOND.with_borrow_mut(|(cached, text)| {
        if *cached != second || text.is_empty() {
            let Ok(t) = jiff::Timestamp::from_second(second) else {
                return tracing_subscriber::fmt::time::SystemTime.format_time(writer);
            };
            *text = t.strftime("%Y-%m-%dT%H:%M:%S").to_string();
            *cached = second;
        }
        writer.write_str(text)?;
        let mut fraction = *b".000000Z";
        let mut micros = since.subsec_micros();
        for digit in fraction[1..7].iter_mut().rev() {
            *digit = b'0' + u8::try_from(micros % 10).unwrap_or(0);
            micros /= 10;
        }
        writer.write_str(std::str::from_utf8(&fraction).unwrap_or(".000000Z"))
    })
}

/// Whether `{:?}` writes `value` as it is between quotes: printable ASCII
/// but `"` and `\\`.
fn quotes_as_it_is(value: &str) -> bool {
    value
        .bytes()
        .all(|b| (b' '..=b'~').contains(&b) && b != b'"' && b != b'\\')
}

/// `n`'s decimal digits, written into the end of `out`: what `{n}` writes,
/// without the formatter's padding machinery.
fn decimal(n: u64, out: &mut [u8; 20]) -> &str {
    let end = out.len();
    let at = digits_before(n, out, end);
    std::str::from_utf8(&out[at..]).unwrap_or("0")
}

/// Writes `n`'s decimal digits into `out` so that they end at `end` (which
/// leaves room for them); where they start.
fn digits_before(mut n: u64, out: &mut [u8], end: usize) -> usize {
    let mut at = end;
    loop {
        at -= 1;
        out[at] = b'0' + u8::try_from(n % 10).unwrap_or(0);
        n /= 10;
        if n == 0 {
            return at;
        }
    }
}

/// `value` as `{}` writes it, when it is a whole number of thousandths
/// below 10^12 (the logs' milliseconds, to the microsecond: `0.123`,
/// `12.5`, `7`); `None` for any other (`{}` writes it then).
fn thousandths(value: f64, out: &mut [u8; 24]) -> Option<&str> {
    if value.is_sign_negative() || !(0.0..1e12).contains(&value) {
        return None;
    }
    let scaled = (value * 1000.0).round();
    // Such a value is exactly the double nearest to its thousandths, whose
    // shortest round-trip form (what `{}` writes) is their decimal form:
    // doubles this size are far closer together than a thousandth.
    if scaled / 1000.0 != value {
        return None;
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let n = scaled as u64;
    let (whole, fraction) = (n / 1000, n % 1000);
    let mut at = out.len();
    if fraction != 0 {
        let mut f = fraction;
        let mut width = 3;
        while f % 10 == 0 {
            f /= 10;
            width -= 1;
        }
        for _ in 0..width {
            at -= 1;
            out[at] = b'0' + u8::try_from(f % 10).unwrap_or(0);
            f /= 10;
        }
        at -= 1;
        out[at] = b'.';
    }
    let at = digits_before(whole, out, at);
    std::str::from_utf8(&out[at..]).ok()
}

/// Writes an event's fields for [`TextLine`]: ` MESSAGE` for the message,
/// ` name=value` for the others.
struct TextFields<'w, 'a> {
    writer: &'w mut tracing_subscriber::fmt::format::Writer<'a>,
    result: std::fmt::Result,
}

impl TextFields<'_, '_> {
    fn field(&mut self, field: &tracing::field::Field, value: std::fmt::Arguments<'_>) {
        if self.result.is_err() {
            return;
        }
        self.result = (|| {
            self.writer.write_char(' ')?;
            if field.name() != "message" {
                self.writer.write_str(field.name())?;
                self.writer.write_char('=')?;
            }
            self.writer.write_fmt(value)
        })();
    }
}

impl tracing::field::Visit for TextFields<'_, '_> {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == "message" {
            self.field(field, format_args!("{value}"));
        } else if quotes_as_it_is(value) {
            // What `{:?}` writes of a string with nothing to escape.
            self.field(field, format_args!("\"{value}\""));
        } else {
            self.field(field, format_args!("{value:?}"));
        }
    }

    fn record_u64(&mut self, field: &tracing::field::Field, value: u64) {
        let mut digits = [0; 20];
        self.field(field, format_args!("{}", decimal(value, &mut digits)));
    }

    fn record_i64(&mut self, field: &tracing::field::Field, value: i64) {
        let mut digits = [0; 20];
        let sign = if value < 0 { "-" } else { "" };
        let magnitude = decimal(value.unsigned_abs(), &mut digits);
        self.field(field, format_args!("{sign}{magnitude}"));
    }

    fn record_f64(&mut self, field: &tracing::field::Field, value: f64) {
        let mut digits = [0; 24];
        match thousandths(value, &mut digits) {
            Some(text) => self.field(field, format_args!("{text}")),
            None => self.field(field, format_args!("{value}")),
        }
    }

    fn record_bool(&mut self, field: &tracing::field::Field, value: bool) {
        self.field(field, format_args!("{value}"));
    }

    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.field(field, format_args!("{value:?}"));
    }
}

pub(crate) fn run(args: ServeArgs) -> ExitCode {
    // Declared first, so dropped last: after the runtime (and whatever its
    // tasks still log) is gone, on every return from here, Ctrl-C included
    // (the server returns from a graceful shutdown), it flushes the last lines.
    let _log_guard = init_logging(args.log_format);
    let mut config = ServerConfig::default();
    config.root = args.root;
    config.base_domain = args.base_domain;
    config.users = args.users;
    config.front.max_torrent_size = args.max_torrent_size;
    config.front.torrent_version = args.torrent_version;
    config.swarm.seeding = args.seeding;
    config.front.trackers = args.trackers;
    config.front.public_url = args.public_url;
    config.front.announce_url = args.announce_url;
    config.webtorrent_js = args.webtorrent_js;
    config.swarm.seed_rate = NonZeroU64::new(args.seed_rate);
    config.swarm.ration_above = args.ration_above;
    config.swarm.peer_encryption = args.peer_encryption;
    config.sse_c_over_http = if args.allow_sse_c_over_http {
        s3torrent_server::SseCOverHttp::Allow
    } else {
        s3torrent_server::SseCOverHttp::Refuse
    };
    config.front.trusted_proxies = TrustedProxies::new(args.trusted_proxies);
    config.front.max_connections = args.connections.max_connections("serve", args.seeding);
    config.swarm.limits = args.swarm.limits();
    config.swarm.dht = args.dht.config();
    [
        config.front.header_read_timeout,
        config.front.idle_timeout,
        config.front.send_timeout,
    ] = args.connections.timeouts();
    config.front.min_body_rate = match args.connections.min_body_rate() {
        Ok(rate) => rate,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    // Read before anything is bound: a file that cannot be used is a
    // configuration error (exit 2), named with what is wrong with it.
    let tls = match args.tls.load("serve") {
        Ok(tls) => tls,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if config.users.is_empty() {
        let (a, s, acct) = User::DEVELOPMENT;
        config.users.push(User::development());
        eprintln!("serve: development credentials: access key {a}, secret key {s}, account {acct}");
        eprintln!(
            "serve:   export AWS_ACCESS_KEY_ID={a} AWS_SECRET_ACCESS_KEY={s} AWS_DEFAULT_REGION=us-east-1"
        );
    }
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
    match runtime.block_on(start(
        config,
        &args.listen,
        &args.tracker_listen,
        [
            args.udp_tracker_listen.as_deref(),
            args.ws_tracker_listen.as_deref(),
        ],
        &args.peer_listen,
        args.metrics_listen.as_deref(),
        tls,
    )) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

async fn start(
    config: ServerConfig,
    listen: &str,
    tracker: &str,
    [udp_tracker, ws_tracker]: [Option<&str>; 2],
    peer: &str,
    metrics: Option<&str>,
    tls: Option<Tls>,
) -> Result<(), String> {
    let mut listeners = Listeners::bind(listen, config.swarm.seeding, tracker, peer)
        .await
        .map_err(|e| e.to_string())?;
    bind_udp_tracker(&mut listeners, udp_tracker).await?;
    bind_ws_tracker(&mut listeners, ws_tracker, config.swarm.seeding).await?;
    bind_metrics(&mut listeners, metrics).await?;
    reload_on_sighup(Endpoint::Serve, tls.clone());
    listeners.tls = tls;
    s3torrent_server::serve(config, listeners, crate::shutdown_signal())
        .await
        .map_err(|e| e.to_string())
}

/// Binds the WebSocket tracker when --ws-tracker-listen gives an address;
/// it runs beside the tracker, which `seeding` must run.
pub(crate) async fn bind_ws_tracker(
    listeners: &mut Listeners,
    flag: Option<&str>,
    seeding: Seeding,
) -> Result<(), String> {
    let Some(addr) = flag else {
        return Ok(());
    };
    if !seeding.has_peer() {
        return Err(format!(
            "--ws-tracker-listen runs beside the tracker, which seeding {seeding} does not run: \
             use --seeding peer or both"
        ));
    }
    listeners
        .bind_ws_tracker(addr)
        .await
        .map_err(|e| e.to_string())
}

/// Binds the metrics listener when --metrics-listen gives an address.
pub(crate) async fn bind_metrics(
    listeners: &mut Listeners,
    flag: Option<&str>,
) -> Result<(), String> {
    match flag {
        Some(addr) => listeners
            .bind_metrics(addr)
            .await
            .map_err(|e| e.to_string()),
        None => Ok(()),
    }
}

/// Binds the UDP tracker as --udp-tracker-listen says: `off`, an address,
/// or (absent) the HTTP tracker's address over UDP.
pub(crate) async fn bind_udp_tracker(
    listeners: &mut Listeners,
    flag: Option<&str>,
) -> Result<(), String> {
    if flag == Some("off") {
        return Ok(());
    }
    listeners
        .bind_udp_tracker(flag)
        .await
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use tracing_subscriber::fmt::format::Writer;
    use tracing_subscriber::fmt::time::FormatTime as _;

    fn ours(now: std::time::SystemTime) -> String {
        let mut out = String::new();
        super::line_time(&mut Writer::new(&mut out), now).unwrap();
        out
    }

    /// A string said to need no escape is written by `{:?}` as it is,
    /// quoted: every ASCII character, alone and among others.
    #[test]
    fn strings_quoted_as_they_are_are_debugs() {
        let mut samples: Vec<String> = (0u8..128).map(|b| char::from(b).to_string()).collect();
        samples.extend(
            [
                "",
                "served",
                "/announce",
                "refused: no such key",
                "a\u{e9}b",
            ]
            .map(String::from),
        );
        samples.push(
            (32u8..127)
                .map(char::from)
                .filter(|c| *c != '"' && *c != '\\')
                .collect(),
        );
        for s in samples {
            if super::quotes_as_it_is(&s) {
                assert_eq!(format!("{s:?}"), format!("\"{s}\""), "{s:?}");
            } else if s.is_ascii() {
                // (Printable non-ASCII is not escaped either, but takes
                // the long way.)
                assert_ne!(format!("{s:?}"), format!("\"{s}\""), "{s:?}");
            }
        }
    }

    /// Milliseconds to the microsecond are written as `{}` writes them;
    /// anything else is left to `{}`.
    #[test]
    fn thousandths_are_displays_digits() {
        let mut checked = 0;
        let mut k: u64 = 0;
        while k < 2_000_000_000_000 {
            let value = k as f64 / 1000.0;
            let mut out = [0; 24];
            assert_eq!(
                super::thousandths(value, &mut out),
                Some(value.to_string().as_str()),
                "{k}"
            );
            checked += 1;
            k = k * 3 / 2 + 1 + (k % 7);
        }
        assert!(checked > 50);
        for k in 0..5000u64 {
            let value = k as f64 / 1000.0;
            let mut out = [0; 24];
            assert_eq!(
                super::thousandths(value, &mut out),
                Some(value.to_string().as_str()),
                "{k}"
            );
        }
        for odd in [
            -1.0,
            -0.0,
            0.0001,
            1.0 / 3.0,
            f64::NAN,
            f64::INFINITY,
            1e12,
            2.5e15,
        ] {
            let mut out = [0; 24];
            assert_eq!(super::thousandths(odd, &mut out), None, "{odd}");
        }
    }

    /// Numbers are written as `{}` writes them.
    #[test]
    fn decimal_is_displays_digits() {
        for n in [
            0,
            1,
            9,
            10,
            99,
            100,
            12_345,
            u64::from(u32::MAX),
            u64::MAX - 1,
            u64::MAX,
        ] {
            let mut out = [0; 20];
            assert_eq!(super::decimal(n, &mut out), n.to_string());
        }
    }

    /// The cached line time reads as tracing-subscriber's own, now, and
    /// for set instants (the date as Python's datetime gives it).
    #[test]
    fn line_time_is_tracing_subscribers_format() {
        let at =
            |secs, micros| UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_micros(micros);
        assert_eq!(ours(at(1_796_000_000, 123)), "2026-11-30T00:53:20.000123Z");
        assert_eq!(
            ours(at(1_796_000_000, 999_999)),
            "2026-11-30T00:53:20.999999Z"
        );
        assert_eq!(ours(at(1_796_000_001, 0)), "2026-11-30T00:53:21.000000Z");
        assert_eq!(ours(at(0, 5)), "1970-01-01T00:00:00.000005Z");
        // Against tracing-subscriber's formatter, to the second (it reads
        // the clock itself: again if a second turned in between).
        for _ in 0..3 {
            let mut theirs = String::new();
            tracing_subscriber::fmt::time::SystemTime
                .format_time(&mut Writer::new(&mut theirs))
                .unwrap();
            let mine = ours(std::time::SystemTime::now());
            assert_eq!(mine.len(), theirs.len(), "{mine} / {theirs}");
            if mine[..19] == theirs[..19] {
                return;
            }
        }
        panic!("never the same second as tracing-subscriber's");
    }
}
