//! The rustls client configuration of a `tls://` or `relp+tls://` collector:
//! CA file → root store, optional client certificate, server name.
//!
//! The aws-lc-rs provider (rustls' default, with post-quantum key exchange)
//! is named explicitly rather than installed process-wide, so this crate
//! neither depends on nor changes the application's own choice of rustls
//! provider.

use std::io;
use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};

use super::TlsSettings;
use crate::error::{Error, ErrorKind, Result};

/// Where Debian/Ubuntu and RHEL/Fedora keep the system's CA bundle.
const SYSTEM_CA_BUNDLES: [&str; 2] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
];

/// What the connector needs: the client config and the name to verify.
#[derive(Debug, Clone)]
pub(crate) struct TlsClient {
    pub(crate) config: Arc<ClientConfig>,
    pub(crate) server_name: ServerName<'static>,
}

fn file_error(path: &Path, source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Error {
    Error::io(
        ErrorKind::TlsFile,
        path.to_path_buf(),
        io::Error::new(io::ErrorKind::InvalidData, source),
    )
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| file_error(path, e))?
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| file_error(path, e))?;
    if certs.is_empty() {
        return Err(file_error(path, "no CERTIFICATE in the PEM file"));
    }
    Ok(certs)
}

/// Builds the client of `settings`, to verify the collector as `host`
/// unless a server name was configured.
pub(crate) fn client(settings: &TlsSettings, host: &str) -> Result<TlsClient> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let name = settings.server_name.as_deref().unwrap_or(host);
    let server_name = ServerName::try_from(name.to_owned()).map_err(|e| {
        Error::invalid_config(format!(
            "TLS server name {name:?} is neither a DNS name nor an IP address: {e}"
        ))
    })?;
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::invalid_config(format!("TLS: {e}")))?;
    let builder = if settings.accept_invalid_certs {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(
                provider.signature_verification_algorithms,
            )))
    } else {
        let mut roots = RootCertStore::empty();
        let ca_file = match &settings.ca_file {
            Some(path) => path.clone(),
            None => SYSTEM_CA_BUNDLES
                .iter()
                .map(Path::new)
                .find(|p| p.exists())
                .ok_or_else(|| {
                    Error::invalid_config("TLS: no ca_file given and no system CA bundle found")
                })?
                .to_path_buf(),
        };
        for cert in certificates(&ca_file)? {
            roots.add(cert).map_err(|e| file_error(&ca_file, e))?;
        }
        builder.with_root_certificates(roots)
    };
    let config = match &settings.client_auth {
        None => builder.with_no_client_auth(),
        Some((cert_path, key_path)) => {
            let chain = certificates(cert_path)?;
            let key =
                PrivateKeyDer::from_pem_file(key_path).map_err(|e| file_error(key_path, e))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| file_error(key_path, e))?
        }
    };
    Ok(TlsClient {
        config: Arc::new(config),
        server_name,
    })
}

/// `danger_accept_invalid_certs(true)`: any certificate and name pass, but
/// the handshake signatures are still checked, so the session is at least
/// keyed to the certificate the server showed.
#[derive(Debug)]
struct AcceptAnyCertificate(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}
