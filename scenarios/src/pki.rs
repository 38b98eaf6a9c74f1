//! The certificates of a test network: one deployment PKI per process
//! (`bapay certs`' layout), the environment that gives each daemon its
//! role's certificate, and the clients' certificate directory.

use std::path::PathBuf;

use anyhow::Result;

/// The process's deployment PKI (`bapay certs`' layout: `ca.pem` and one
/// certificate per role for localhost / 127.0.0.1), made once and shared by
/// every network of the process, and set as the clients' certificates
/// (`bapay_cli::set_tls_dir`).
pub fn pki() -> Result<PathBuf> {
    use bapay_daemon::tls::{pki, Role};
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    if let Some(d) = DIR.get() {
        return Ok(d.clone());
    }
    let dir = bapay_harness::temp_dir("bapay-pki")?.keep();
    pki::deployment(
        &dir,
        "scenarios",
        &Role::ALL,
        &["localhost".into(), "127.0.0.1".into()],
    )?;
    let d = DIR.get_or_init(|| dir).clone();
    bapay_cli::set_tls_dir(Some(d.clone()));
    Ok(d)
}

/// The environment that gives a daemon (variable prefix `prefix`, e.g.
/// `BAPAY_CALCULATOR`) the PKI's certificate of `role`.
pub fn tls_env(prefix: &str, role: bapay_daemon::tls::Role) -> Result<Vec<(String, String)>> {
    let dir = pki()?;
    Ok(bapay_daemon::tls::pki::env(prefix, &dir, role)
        .into_iter()
        .map(|(k, v)| (k, v.display().to_string()))
        .collect())
}
