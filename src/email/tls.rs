//! TLS to the SMTP relay, over sockets opened here with `TCP_NODELAY`.
//!
//! STARTTLS goes through lettre (`AsyncSmtpConnection::starttls` upgrades the socket it was given).
//! Implicit TLS (`security = "tls"`, usually port 465) is done here with tokio-rustls, because lettre's
//! own implicit-TLS connect opens its socket itself and keeps Nagle's algorithm on: every email's final
//! `.` line then waits for the server's delayed ACK, about 40 ms per email on Linux. The encrypted
//! stream is handed to lettre as an ordinary one (`connect_with_transport`), which then speaks SMTP over
//! it. Both modes trust the same roots: the bundled Mozilla roots (webpki-roots), plus the certificates
//! of `email.smtp.ca_file` for a relay with a private CA; both use rustls with ring, as lettre does.

use anyhow::{Context, bail};
use lettre::transport::smtp::client::{AsyncTokioStream, Certificate, TlsParameters, TlsParametersBuilder};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// The certificates of a PEM file (`email.smtp.ca_file`); an empty path is none.
pub fn extra_roots(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    if path.as_os_str().is_empty() {
        return Ok(Vec::new());
    }
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(Iterator::collect::<Result<Vec<_>, _>>)
        .with_context(|| {
            format!(
                "email.smtp.ca_file: cannot read PEM certificates from {}",
                path.display()
            )
        })?;
    if certs.is_empty() {
        bail!(
            "email.smtp.ca_file: {} holds no certificate (expected PEM: -----BEGIN CERTIFICATE-----)",
            path.display()
        );
    }
    Ok(certs)
}

/// lettre's parameters for STARTTLS to `host`, trusting the bundled roots and `extra`.
pub fn starttls_parameters(host: &str, extra: &[CertificateDer<'static>]) -> anyhow::Result<TlsParameters> {
    let mut builder = TlsParametersBuilder::new(host.to_owned());
    for cert in extra {
        let cert = Certificate::from_der(cert.to_vec()).context("email.smtp.ca_file: a certificate lettre refuses")?;
        builder = builder.add_root_certificate(cert);
    }
    builder
        .build_rustls()
        .with_context(|| format!("preparing TLS for {host:?}"))
}

/// Implicit TLS to one relay: the client configuration and the name its certificate must carry.
#[derive(Clone)]
pub struct ImplicitTls {
    config: Arc<rustls::ClientConfig>,
    server_name: ServerName<'static>,
}

impl std::fmt::Debug for ImplicitTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImplicitTls")
            .field("server_name", &self.server_name)
            .finish_non_exhaustive()
    }
}

impl ImplicitTls {
    pub fn new(host: &str, extra: &[CertificateDer<'static>]) -> anyhow::Result<ImplicitTls> {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        for cert in extra {
            roots
                .add(cert.clone())
                .context("email.smtp.ca_file: a certificate rustls refuses as a root")?;
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(rustls::ALL_VERSIONS)
            .context("preparing TLS")?
            .with_root_certificates(roots)
            .with_no_client_auth();
        // A bracketed IPv6 literal is an address, not a name.
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let server_name = ServerName::try_from(bare.to_owned())
            .with_context(|| format!("email.smtp.host: {host:?} is neither a DNS name nor an IP address"))?;
        Ok(ImplicitTls {
            config: Arc::new(config),
            server_name,
        })
    }

    /// The TLS handshake over `tcp`; the stream for lettre to speak SMTP over.
    pub async fn connect(&self, tcp: TcpStream) -> io::Result<Box<dyn AsyncTokioStream>> {
        let connector = tokio_rustls::TlsConnector::from(Arc::clone(&self.config));
        let stream = connector.connect(self.server_name.clone(), tcp).await?;
        Ok(Box::new(TlsSocket(stream)))
    }
}

/// A TCP connection with `TCP_NODELAY` set: each SMTP command and the message's end leave at once.
pub async fn nodelay_tcp(host: &str, port: u16) -> io::Result<TcpStream> {
    let tcp = TcpStream::connect((host.trim_start_matches('[').trim_end_matches(']'), port)).await?;
    tcp.set_nodelay(true)?;
    Ok(tcp)
}

/// An implicit-TLS stream as lettre takes it.
#[derive(Debug)]
struct TlsSocket(tokio_rustls::client::TlsStream<TcpStream>);

impl AsyncTokioStream for TlsSocket {
    fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.0.get_ref().0.peer_addr()
    }
}

impl AsyncRead for TlsSocket {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for TlsSocket {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }
}
