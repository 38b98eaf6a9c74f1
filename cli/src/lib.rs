//! The `bapay` command line as a library, so the demo runner and the
//! scenario tests print the same report and watch jobs the same way:
//! [`report`] (a job as readable text: state, output, verification,
//! calculators, every transfer and the net totals), [`watch`] (follow
//! WatchJob to the end, printing progress, optionally mining regtest blocks
//! so a local demo moves), [`regtest`] (faucet and mining through the
//! chain-adapter, for local chains only).

pub mod regtest;
pub mod report;
pub mod watch;

use std::path::PathBuf;
use std::sync::RwLock;

use bapay_daemon::tls::{Role, Tls};
use tonic::transport::Channel;

/// Where the client's certificates are: a directory as `bapay certs` (or
/// a daemon's first start, `<data_dir>/tls/`) writes it, with `ca.pem` and
/// `<role>.pem` / `<role>-key.pem` for the roles it calls as (`user` for
/// the outsourcer, `admin` for the chain-adapter's regtest helpers). `None`:
/// plaintext (daemons started with `--insecure-plaintext`).
static TLS_DIR: RwLock<Option<PathBuf>> = RwLock::new(None);

/// The role [`channel`] presents: `user` unless set (`bapay --as ROLE`,
/// e.g. a calculator's host asking the arbiter for its id).
static ROLE: RwLock<Role> = RwLock::new(Role::User);

/// Sets the certificate directory every [`channel`] uses (once, at start).
pub fn set_tls_dir(dir: Option<PathBuf>) {
    *TLS_DIR.write().unwrap_or_else(|p| p.into_inner()) = dir;
}

/// Sets the role [`channel`] presents (once, at start).
pub fn set_role(role: Role) {
    *ROLE.write().unwrap_or_else(|p| p.into_inner()) = role;
}

/// The transport for calls as `role`.
pub fn tls_as(role: Role) -> anyhow::Result<Tls> {
    let dir = TLS_DIR.read().unwrap_or_else(|p| p.into_inner()).clone();
    match dir {
        None => Ok(Tls::plaintext()),
        Some(d) => Tls::from_dir(&d, role).map_err(|e| {
            anyhow::anyhow!("{e} (certificates for the {role} role in {})", d.display())
        }),
    }
}

/// A lazily connecting channel to `url` as the user (the outsourcer's
/// operator; calculators and the arbiter answer GetInfo to it), or the
/// role [`set_role`] chose.
pub fn channel(url: &str) -> anyhow::Result<Channel> {
    channel_as(*ROLE.read().unwrap_or_else(|p| p.into_inner()), url)
}

/// A lazily connecting channel to `url` presenting `role`'s certificate.
pub fn channel_as(role: Role, url: &str) -> anyhow::Result<Channel> {
    Ok(tls_as(role)?
        .endpoint(url)
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .connect_lazy())
}
