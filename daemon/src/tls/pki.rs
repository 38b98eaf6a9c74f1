//! The deployment's certificates, made with rcgen: a CA, and one
//! certificate per role and host signed by it (server and client use, the
//! role as a SAN URI, the hosts as DNS / IP SANs). `bapay certs` makes a
//! whole deployment's set in one directory; a daemon started without
//! configured files makes its own CA and identity in `<data_dir>/tls/` on
//! first start, plus an operator certificate, like Core Lightning's gRPC
//! plugin. Private keys are written 0600.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};

use super::role::Role;
use crate::error::{Error, Result};

/// A CA: its certificate (PEM) and key.
pub struct Ca {
    /// The CA certificate, PEM.
    pub cert_pem: String,
    key_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl std::fmt::Debug for Ca {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ca").finish_non_exhaustive()
    }
}

/// A certificate and its private key, PEM.
#[derive(Clone)]
pub struct Identity {
    /// The certificate, PEM.
    pub cert_pem: String,
    /// The private key, PEM.
    pub key_pem: String,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity").finish_non_exhaustive()
    }
}

fn err(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Config(format!("{what}: {e}"))
}

impl Ca {
    /// A fresh CA named `name`.
    pub fn generate(name: &str) -> Result<Ca> {
        let key = KeyPair::generate().map_err(|e| err("CA key", e))?;
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, format!("BAPay CA {name}"));
        params.distinguished_name = dn;
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let cert = params
            .self_signed(&key)
            .map_err(|e| err("CA certificate", e))?;
        Ok(Ca {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            issuer: Issuer::new(params, key),
        })
    }

    /// The CA of `cert_pem` and `key_pem` (as [`Ca::write`] stored them).
    pub fn load(cert_pem: &str, key_pem: &str) -> Result<Ca> {
        let key = KeyPair::from_pem(key_pem).map_err(|e| err("CA key", e))?;
        let issuer =
            Issuer::from_ca_cert_pem(cert_pem, key).map_err(|e| err("CA certificate", e))?;
        Ok(Ca {
            cert_pem: cert_pem.to_string(),
            key_pem: key_pem.to_string(),
            issuer,
        })
    }

    /// The CA key, PEM.
    pub fn key_pem(&self) -> String {
        self.key_pem.clone()
    }

    /// A certificate for `role` valid for `hosts` (DNS names or IPs; may be
    /// empty for a client-only identity), for both server and client use.
    pub fn issue(&self, role: Role, hosts: &[String]) -> Result<Identity> {
        let key = KeyPair::generate().map_err(|e| err("key", e))?;
        let mut params = CertificateParams::new(hosts.to_vec()).map_err(|e| err("hosts", e))?;
        let uri = role.uri().try_into().map_err(|e| err("role URI", e))?;
        params.subject_alt_names.push(SanType::URI(uri));
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, format!("bapay {role}"));
        params.distinguished_name = dn;
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let cert = params
            .signed_by(&key, &self.issuer)
            .map_err(|e| err("certificate", e))?;
        Ok(Identity {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }
}

/// Writes `contents` to `path`; `secret`: 0600, created fresh.
pub fn write_file(path: &Path, contents: &str, secret: bool) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| err(&dir.display().to_string(), e))?;
    }
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    if secret {
        o.mode(0o600);
    }
    let mut f = o
        .open(path)
        .map_err(|e| err(&path.display().to_string(), e))?;
    f.write_all(contents.as_bytes())
        .map_err(|e| err(&path.display().to_string(), e))
}

/// Where a directory of certificates keeps a role's files:
/// `<dir>/<role>.pem`, `<dir>/<role>-key.pem`, and the CA's `ca.pem`.
pub fn paths(dir: &Path, role: Role) -> (PathBuf, PathBuf) {
    (
        dir.join(format!("{role}.pem")),
        dir.join(format!("{role}-key.pem")),
    )
}

/// The environment giving a daemon (variable prefix `prefix`, e.g.
/// `BAPAY_CALCULATOR`) the certificate of `role` in the directory `dir`
/// ([`deployment`]'s layout): `<prefix>__TLS__{CA,CERT,KEY}_FILE`.
pub fn env(prefix: &str, dir: &Path, role: Role) -> [(String, PathBuf); 3] {
    let (cert, key) = paths(dir, role);
    [
        (format!("{prefix}__TLS__CA_FILE"), dir.join("ca.pem")),
        (format!("{prefix}__TLS__CERT_FILE"), cert),
        (format!("{prefix}__TLS__KEY_FILE"), key),
    ]
}

/// Writes an identity as `<dir>/<role>.pem` and `<dir>/<role>-key.pem`.
pub fn write_identity(dir: &Path, role: Role, id: &Identity) -> Result<()> {
    let (cert, key) = paths(dir, role);
    write_file(&cert, &id.cert_pem, false)?;
    write_file(&key, &id.key_pem, true)
}

/// A whole deployment in `dir` (what `bapay certs` writes): `ca.pem`,
/// `ca-key.pem`, and one identity per role in `roles` for `hosts`.
pub fn deployment(dir: &Path, name: &str, roles: &[Role], hosts: &[String]) -> Result<()> {
    let ca = Ca::generate(name)?;
    write_file(&dir.join("ca.pem"), &ca.cert_pem, false)?;
    write_file(&dir.join("ca-key.pem"), &ca.key_pem(), true)?;
    for &r in roles {
        write_identity(dir, r, &ca.issue(r, hosts)?)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::role::role_of_der;

    #[test]
    fn issued_certificates_name_their_role() {
        let ca = Ca::generate("test").unwrap();
        let id = ca.issue(Role::Calculator, &["localhost".into()]).unwrap();
        let pem = id.cert_pem.clone();
        let der = rustls_pemfile::certs(&mut pem.as_bytes())
            .next()
            .unwrap()
            .unwrap()
            .into_owned();
        assert_eq!(role_of_der(&der), Some(Role::Calculator));
        let again = Ca::load(&ca.cert_pem, &ca.key_pem()).unwrap();
        again.issue(Role::User, &[]).unwrap();
    }

    #[test]
    fn keys_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        deployment(dir.path(), "t", &[Role::Admin], &["127.0.0.1".into()]).unwrap();
        let mode = |p: &str| {
            std::fs::metadata(dir.path().join(p))
                .unwrap()
                .permissions()
                .mode()
                & 0o777
        };
        assert_eq!(mode("ca-key.pem"), 0o600);
        assert_eq!(mode("admin-key.pem"), 0o600);
    }
}
