//! TLS on the S3 listener and the HTTP tracker's (rustls, its `ring`
//! provider): one certificate for both, read from PEM files, and read again
//! on [`Tls::reload`] without touching open connections.
//!
//! Every handshake asks `Current` for the certificate, so a reload is
//! one pointer swap: handshakes that start after it present the new
//! certificate, connections made before keep the session they have.
//!
//! A connection on a TLS listener is looked at before rustls sees it: a
//! first byte that cannot start a TLS handshake record is a plain HTTP
//! request sent to the TLS port, which is answered `400` in plain text
//! (as nginx does) rather than with a TLS alert the client cannot read.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use crate::edge::front::Guarded;
use crate::error::{Error, TlsFile};

/// The first byte of a TLS record that carries a handshake message (a
/// ClientHello opens with one).
const HANDSHAKE_RECORD: u8 = 0x16;

/// The body of the answer to a plain HTTP request on a TLS listener.
const PLAIN_HTTP_REFUSED: &str = "This port speaks HTTPS: use an https:// URL for it.\n";

/// How long a refused plain HTTP connection is read from after its answer,
/// so that closing it does not reset the answer away before the client
/// has read it.
const LINGER: Duration = Duration::from_secs(1);

/// The certificate and key the S3 listener and the HTTP tracker present,
/// read from PEM files: a handle that [`Tls::reload`] updates in place for
/// every listener that holds a clone of it.
///
/// ```no_run
/// # fn run() -> Result<(), s3torrent_server::Error> {
/// use s3torrent_server::Tls;
///
/// let tls = Tls::load("/etc/s3torrent/tls.crt", "/etc/s3torrent/tls.key")?;
/// println!("sha256 {}", tls.fingerprint());
/// // ... later, once the files were renewed (a bad file keeps the old pair):
/// tls.reload()?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Tls {
    inner: Arc<Inner>,
}

struct Inner {
    cert: PathBuf,
    key: PathBuf,
    provider: Arc<CryptoProvider>,
    current: Arc<Current>,
    acceptor: TlsAcceptor,
}

impl fmt::Debug for Tls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tls")
            .field("cert", &self.inner.cert)
            .field("key", &self.inner.key)
            .field("sha256", &self.fingerprint())
            .finish()
    }
}

/// The certificate every new handshake presents.
#[derive(Debug)]
struct Current(RwLock<Arc<CertifiedKey>>);

impl Current {
    fn get(&self) -> Arc<CertifiedKey> {
        Arc::clone(&self.0.read().unwrap_or_else(PoisonError::into_inner))
    }

    fn set(&self, key: Arc<CertifiedKey>) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = key;
    }
}

impl ResolvesServerCert for Current {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.get())
    }
}

impl Tls {
    /// Reads the certificate chain at `cert` (PEM, the server's own
    /// certificate first, then any intermediates) and the private key at
    /// `key` (PEM: PKCS#8, PKCS#1 RSA or SEC1 EC), and checks that the key
    /// is the certificate's. ALPN offers `http/1.1` (the front speaks
    /// HTTP/1 only); TLS 1.2 and 1.3.
    ///
    /// Fails with [`Error::Tls`], naming the file and what is wrong with
    /// it: unreadable, no PEM certificate or key in it, a key rustls
    /// cannot use, or a key that is not the certificate's.
    pub fn load(cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Result<Tls, Error> {
        let (cert, key) = (cert.into(), key.into());
        // ring, not aws-lc-rs (rustls's default, which needs cmake and
        // builds several times slower): rustls 0.23.48 marks ring's provider
        // deprecated because it has no post-quantum key exchange
        // (X25519MLKEM768); the classical groups it has are what every
        // client here offers.
        #[allow(deprecated)]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let certified = read_pair(&cert, &key, &provider)?;
        let current = Arc::new(Current(RwLock::new(Arc::new(certified))));
        let mut config = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Tls {
                what: TlsFile::Certificate,
                path: cert.clone(),
                reason: format!("no TLS version is usable: {e}"),
            })?
            .with_no_client_auth()
            .with_cert_resolver(Arc::clone(&current) as Arc<dyn ResolvesServerCert>);
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Tls {
            inner: Arc::new(Inner {
                cert,
                key,
                provider,
                current,
                acceptor: TlsAcceptor::from(Arc::new(config)),
            }),
        })
    }

    /// Reads both files again and, when they make a valid pair, presents
    /// them on every handshake from now on; open connections keep theirs.
    /// When they do not (a file missing or half written, a key that is not
    /// the certificate's), the certificate in use stays, and the error
    /// says why.
    pub fn reload(&self) -> Result<(), Error> {
        let certified = read_pair(&self.inner.cert, &self.inner.key, &self.inner.provider)?;
        self.inner.current.set(Arc::new(certified));
        Ok(())
    }

    /// The certificate file.
    pub fn cert_path(&self) -> &Path {
        &self.inner.cert
    }

    /// The private key file.
    pub fn key_path(&self) -> &Path {
        &self.inner.key
    }

    /// The SHA-256 fingerprint of the certificate in use, as `openssl x509
    /// -fingerprint -sha256` prints it (`AB:CD:…`, 32 bytes).
    pub fn fingerprint(&self) -> String {
        let current = self.inner.current.get();
        let Some(cert) = current.cert.first() else {
            return String::new();
        };
        let digest = Sha256::digest(cert.as_ref());
        let mut out = String::with_capacity(digest.len() * 3);
        for (i, byte) in digest.iter().enumerate() {
            if i > 0 {
                out.push(':');
            }
            out.push_str(&format!("{byte:02X}"));
        }
        out
    }

    /// Takes a connection just accepted on a TLS listener through its
    /// handshake, all of it within `limit`: the TLS stream, or `None` when
    /// the connection is done with (closed by the client, a failed or
    /// stalled handshake, or plain HTTP, answered `400`). `endpoint` and
    /// `client` are for the debug line that says which.
    pub(crate) async fn handshake<S: Socket>(
        &self,
        socket: S,
        limit: Duration,
        endpoint: &'static str,
        client: SocketAddr,
    ) -> Option<TlsStream<S>> {
        let outcome = tokio::time::timeout(limit, self.try_handshake(socket)).await;
        let why = match outcome {
            Ok(Ok(stream)) => return Some(stream),
            Ok(Err(why)) => why,
            Err(_) => Refused::TimedOut,
        };
        tracing::debug!(target: "serve", endpoint, %client, reason = %why, "TLS connection closed");
        None
    }

    async fn try_handshake<S: Socket>(&self, mut socket: S) -> Result<TlsStream<S>, Refused> {
        let mut first = [0u8; 1];
        match socket.tcp().peek(&mut first).await {
            Ok(0) => return Err(Refused::Closed),
            Ok(_) => {}
            Err(e) => return Err(Refused::Failed(e)),
        }
        if first[0] != HANDSHAKE_RECORD {
            refuse_plain(&mut socket).await;
            return Err(Refused::PlainHttp);
        }
        self.inner
            .acceptor
            .accept(socket)
            .await
            .map_err(Refused::Failed)
    }
}

/// Why a connection on a TLS listener ended before its handshake did.
#[derive(Debug)]
enum Refused {
    Closed,
    PlainHttp,
    TimedOut,
    Failed(io::Error),
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refused::Closed => f.write_str("closed before its handshake"),
            Refused::PlainHttp => f.write_str("plain HTTP on the TLS port, answered 400"),
            Refused::TimedOut => f.write_str("handshake timed out"),
            Refused::Failed(e) => write!(f, "handshake failed: {e}"),
        }
    }
}

/// A socket a TLS listener accepted, and the TCP stream under it (whose
/// first byte is peeked at).
pub(crate) trait Socket: AsyncRead + AsyncWrite + Unpin {
    /// The TCP stream.
    fn tcp(&self) -> &TcpStream;
}

impl Socket for TcpStream {
    fn tcp(&self) -> &TcpStream {
        self
    }
}

impl Socket for Guarded<TcpStream> {
    fn tcp(&self) -> &TcpStream {
        self.get_ref()
    }
}

/// Answers a plain HTTP request on a TLS listener with a plain `400` and
/// closes: the head it sent is read first, and what follows for a moment
/// after, so that the close does not reset the answer away.
async fn refuse_plain<S: AsyncRead + AsyncWrite + Unpin>(socket: &mut S) {
    let mut buf = [0u8; 4096];
    let _ = socket.read(&mut buf).await;
    let answer = format!(
        "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{PLAIN_HTTP_REFUSED}",
        PLAIN_HTTP_REFUSED.len()
    );
    if socket.write_all(answer.as_bytes()).await.is_err() {
        return;
    }
    let _ = socket.shutdown().await;
    let _ = tokio::time::timeout(LINGER, async {
        while matches!(socket.read(&mut buf).await, Ok(n) if n > 0) {}
    })
    .await;
}

/// The certificate chain at `cert` with the private key at `key`, checked
/// to belong together.
fn read_pair(cert: &Path, key: &Path, provider: &CryptoProvider) -> Result<CertifiedKey, Error> {
    let bad_cert = |reason: String| Error::Tls {
        what: TlsFile::Certificate,
        path: cert.to_owned(),
        reason,
    };
    let bad_key = |reason: String| Error::Tls {
        what: TlsFile::PrivateKey,
        path: key.to_owned(),
        reason,
    };
    let cert_pem = std::fs::read(cert).map_err(|e| bad_cert(format!("cannot be read: {e}")))?;
    let key_pem = std::fs::read(key).map_err(|e| bad_key(format!("cannot be read: {e}")))?;
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad_cert(format!("not valid PEM: {e}")))?;
    if chain.is_empty() {
        return Err(bad_cert(
            "holds no certificate (expected PEM \"-----BEGIN CERTIFICATE-----\")".into(),
        ));
    }
    let private = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| match e {
        rustls_pki_types::pem::Error::NoItemsFound => bad_key(
            "holds no private key (expected PEM \"-----BEGIN PRIVATE KEY-----\", \
             \"RSA PRIVATE KEY\" or \"EC PRIVATE KEY\")"
                .into(),
        ),
        e => bad_key(format!("not valid PEM: {e}")),
    })?;
    let signing = provider
        .key_provider
        .load_private_key(private)
        .map_err(|e| bad_key(format!("not a usable private key: {e}")))?;
    let certified = CertifiedKey::new(chain, signing);
    match certified.keys_match() {
        Ok(()) => Ok(certified),
        Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch)) => {
            Err(bad_key(format!(
                "is not the key of the certificate {} (their public keys differ)",
                cert.display()
            )))
        }
        Err(rustls::Error::InconsistentKeys(_)) => Err(bad_key(format!(
            "cannot be checked against the certificate {}",
            cert.display()
        ))),
        Err(e) => Err(bad_cert(format!(
            "its first certificate is not usable: {e}"
        ))),
    }
}
