//! Transport security for every gRPC server and client: TLS with mutual
//! authentication (rustls through tonic), on by default. Each daemon has an
//! identity (a certificate naming its [`Role`] and hosts, signed by the
//! deployment's CA) used as server certificate and as client certificate
//! on its outgoing calls; it verifies every peer against the CA. The role
//! in the client's certificate is what each server's [`Policy`] checks per
//! RPC. Files come from `[tls]` (`ca_file`, `cert_file`, `key_file`), or,
//! when none is set, the daemon makes a CA and identity in
//! `<data_dir>/tls/` on first start (and an operator certificate beside
//! them), the way Core Lightning's gRPC plugin does; `bapay certs` makes
//! one PKI for a whole deployment. Plaintext only with
//! `insecure_plaintext` (`--insecure-plaintext`), refused on a listen
//! address that is not loopback, and warned about at start.

pub mod pki;
pub mod policy;
pub mod probe;
pub mod role;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity, ServerTlsConfig};

pub use policy::{Access, Policy, PolicyLayer};
pub use role::Role;

use crate::error::{Error, Result};

/// The `[tls]` section every daemon has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TlsConfig {
    /// The CA (PEM; several concatenated CAs are all trusted) that signs
    /// every peer's certificate. Empty: `<data_dir>/tls/ca.pem`.
    pub ca_file: String,
    /// This daemon's certificate (PEM), naming its role. Empty:
    /// `<data_dir>/tls/<role>.pem`.
    pub cert_file: String,
    /// Its private key (PEM, 0600). Empty: `<data_dir>/tls/<role>-key.pem`.
    pub key_file: String,
    /// Hosts (DNS names, IPs) of the certificate made on first start.
    #[serde(with = "crate::config::string_list")]
    pub hosts: Vec<String>,
    /// No TLS and no per-role checks: loopback listen addresses only.
    pub insecure_plaintext: bool,
}

impl Default for TlsConfig {
    fn default() -> Self {
        TlsConfig {
            ca_file: String::new(),
            cert_file: String::new(),
            key_file: String::new(),
            hosts: vec!["localhost".into(), "127.0.0.1".into()],
            insecure_plaintext: false,
        }
    }
}

#[derive(Clone)]
struct Files {
    ca: String,
    /// (certificate, key); None: a client that presents no certificate.
    identity: Option<(String, String)>,
}

/// A daemon's (or a client's) transport: TLS with its identity, or
/// plaintext.
#[derive(Clone)]
pub struct Tls {
    files: Option<Files>,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.files.is_some() {
            "Tls(on)"
        } else {
            "Tls(plaintext)"
        })
    }
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path)
        .map_err(|e| Error::Config(format!("tls: reading {}: {e}", path.display())))
}

/// Is `listen` (host:port, `:port`) a loopback address?
pub fn is_loopback(listen: &str) -> bool {
    let host = listen.rsplit_once(':').map(|(h, _)| h).unwrap_or(listen);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl Tls {
    /// Plaintext (tests of the plaintext refusal, `--insecure-plaintext`).
    pub fn plaintext() -> Tls {
        Tls { files: None }
    }

    /// TLS with these PEM files.
    pub fn from_files(ca: &Path, cert: &Path, key: &Path) -> Result<Tls> {
        Ok(Tls {
            files: Some(Files {
                ca: read(ca)?,
                identity: Some((read(cert)?, read(key)?)),
            }),
        })
    }

    /// A client that verifies servers against `ca` and presents no
    /// certificate (a stranger, or a user with the bearer token).
    pub fn ca_only(ca: &Path) -> Result<Tls> {
        Ok(Tls {
            files: Some(Files {
                ca: read(ca)?,
                identity: None,
            }),
        })
    }

    /// TLS as `role` from a directory `bapay certs` (or a daemon's first
    /// start) wrote: `ca.pem`, `<role>.pem`, `<role>-key.pem`.
    pub fn from_dir(dir: &Path, role: Role) -> Result<Tls> {
        let (cert, key) = pki::paths(dir, role);
        Tls::from_files(&dir.join("ca.pem"), &cert, &key)
    }

    /// Is TLS on?
    pub fn is_on(&self) -> bool {
        self.files.is_some()
    }

    /// The transport of a daemon of `role` listening on `listen`: the
    /// configured files, or its own CA and identity in `<data_dir>/tls/`
    /// (made on first start, with an operator certificate: `user` for
    /// the outsourcer, `admin` for the others), or plaintext if asked for
    /// (refused unless `listen` is loopback).
    pub fn for_daemon(cfg: &TlsConfig, data_dir: &Path, role: Role, listen: &str) -> Result<Tls> {
        if cfg.insecure_plaintext {
            if !is_loopback(listen) {
                return Err(Error::Config(format!(
                    "insecure_plaintext is refused on the non-loopback listen address {listen}"
                )));
            }
            tracing::warn!(
                "insecure_plaintext: no TLS and no per-role checks on {listen}; never outside one host"
            );
            return Ok(Tls::plaintext());
        }
        let given = [&cfg.ca_file, &cfg.cert_file, &cfg.key_file];
        let tls = if given.iter().all(|f| f.is_empty()) {
            let dir = data_dir.join("tls");
            first_start(&dir, role, &cfg.hosts)?;
            Tls::from_dir(&dir, role)?
        } else if given.iter().any(|f| f.is_empty()) {
            return Err(Error::Config(
                "tls: set all of ca_file, cert_file and key_file, or none".into(),
            ));
        } else {
            Tls::from_files(
                Path::new(&cfg.ca_file),
                Path::new(&cfg.cert_file),
                Path::new(&cfg.key_file),
            )?
        };
        let named = tls.own_role();
        if named != Some(role) {
            return Err(Error::Config(format!(
                "tls: the certificate names role {}, this daemon is the {role}",
                named.map(|r| r.as_str()).unwrap_or("none")
            )));
        }
        Ok(tls)
    }

    /// The role our own certificate names.
    pub fn own_role(&self) -> Option<Role> {
        let (cert, _) = self.files.as_ref()?.identity.as_ref()?;
        let der = rustls_pemfile::certs(&mut cert.as_bytes()).next()?.ok()?;
        role::role_of_der(&der)
    }

    /// The server side: our identity, client certificates verified
    /// against the CA (optional at the handshake, so health stays open;
    /// the [`Policy`] requires them per RPC). `None` in plaintext.
    pub fn server_config(&self) -> Option<ServerTlsConfig> {
        let f = self.files.as_ref()?;
        let (cert, key) = f.identity.as_ref()?;
        Some(
            ServerTlsConfig::new()
                .identity(Identity::from_pem(cert, key))
                .client_ca_root(Certificate::from_pem(&f.ca))
                .client_auth_optional(true),
        )
    }

    /// A (lazy) endpoint for `url`: with TLS, `http://` is upgraded to
    /// `https://` and the server is verified against the CA, our
    /// certificate presented; in plaintext an `https://` URL is refused
    /// (it would not be encrypted).
    pub fn endpoint(&self, url: &str) -> Result<Endpoint> {
        let bad = |e: &dyn std::fmt::Display| Error::Config(format!("{url}: {e}"));
        match &self.files {
            None => {
                if url.starts_with("https://") {
                    return Err(bad(&"an https:// URL with insecure_plaintext"));
                }
                Endpoint::from_shared(url.to_string()).map_err(|e| bad(&e))
            }
            Some(f) => {
                let url = match url.strip_prefix("http://") {
                    Some(rest) => format!("https://{rest}"),
                    None => url.to_string(),
                };
                let mut c = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(&f.ca));
                if let Some((cert, key)) = &f.identity {
                    c = c.identity(Identity::from_pem(cert, key));
                }
                Endpoint::from_shared(url)
                    .map_err(|e| bad(&e))?
                    .tls_config(c)
                    .map_err(|e| bad(&e))
            }
        }
    }
}

/// Makes `<dir>/ca.pem`, the role's identity and an operator certificate
/// unless the role's files are there.
fn first_start(dir: &Path, role: Role, hosts: &[String]) -> Result<()> {
    let (cert, _) = pki::paths(dir, role);
    if cert.exists() && dir.join("ca.pem").exists() {
        return Ok(());
    }
    let ca = pki::Ca::generate(role.as_str())?;
    pki::write_file(&dir.join("ca.pem"), &ca.cert_pem, false)?;
    pki::write_file(&dir.join("ca-key.pem"), &ca.key_pem(), true)?;
    pki::write_identity(dir, role, &ca.issue(role, hosts)?)?;
    let operator = if role == Role::Outsourcer {
        Role::User
    } else {
        Role::Admin
    };
    pki::write_identity(dir, operator, &ca.issue(operator, &[])?)?;
    tracing::info!(dir = %dir.display(), "made a CA, the {role} certificate and an {operator} certificate for the operator");
    Ok(())
}

/// A 32-byte random bearer token in `path` (0600), made on first use;
/// returns it (hex).
pub fn token_file(path: &Path) -> Result<String> {
    if let Ok(t) = std::fs::read_to_string(path) {
        let t = t.trim().to_string();
        if t.len() == 64 {
            return Ok(t);
        }
    }
    let mut b = [0u8; 32];
    rand_bytes(&mut b);
    let t = hex::encode(b);
    pki::write_file(path, &t, true)?;
    Ok(t)
}

fn rand_bytes(b: &mut [u8]) {
    use bitcoin::secp256k1::rand::RngCore;
    bitcoin::secp256k1::rand::thread_rng().fill_bytes(b);
}

/// `<data_dir>/user.token`: the outsourcer's bearer token file.
pub fn user_token_path(data_dir: &Path) -> PathBuf {
    data_dir.join("user.token")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_start_makes_a_pki_and_plaintext_is_loopback_only() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = TlsConfig::default();
        let t = Tls::for_daemon(&cfg, dir.path(), Role::Calculator, "127.0.0.1:0").unwrap();
        assert!(t.is_on());
        assert_eq!(t.own_role(), Some(Role::Calculator));
        assert!(dir.path().join("tls/admin.pem").exists());
        // Same files on the next start.
        let again = std::fs::read(dir.path().join("tls/ca.pem")).unwrap();
        Tls::for_daemon(&cfg, dir.path(), Role::Calculator, "127.0.0.1:0").unwrap();
        assert_eq!(std::fs::read(dir.path().join("tls/ca.pem")).unwrap(), again);
        // Another role's certificate is refused.
        assert!(Tls::for_daemon(&cfg, dir.path(), Role::Arbiter, "127.0.0.1:0").is_ok());
        let wrong = TlsConfig {
            ca_file: dir.path().join("tls/ca.pem").display().to_string(),
            cert_file: dir.path().join("tls/admin.pem").display().to_string(),
            key_file: dir.path().join("tls/admin-key.pem").display().to_string(),
            ..TlsConfig::default()
        };
        assert!(Tls::for_daemon(&wrong, dir.path(), Role::Calculator, "127.0.0.1:0").is_err());
        let plain = TlsConfig {
            insecure_plaintext: true,
            ..TlsConfig::default()
        };
        assert!(
            !Tls::for_daemon(&plain, dir.path(), Role::Calculator, "127.0.0.1:0")
                .unwrap()
                .is_on()
        );
        assert!(Tls::for_daemon(&plain, dir.path(), Role::Calculator, "0.0.0.0:1").is_err());
        assert!(Tls::for_daemon(&plain, dir.path(), Role::Calculator, ":1").is_err());
        assert!(is_loopback("[::1]:5") && is_loopback("localhost:1"));
    }

    #[test]
    fn tokens_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("user.token");
        let t = token_file(&p).unwrap();
        assert_eq!(t.len(), 64);
        assert_eq!(token_file(&p).unwrap(), t);
    }
}
