//! Opening a role daemon's home and its server, once for the three
//! daemons: the data directory (0700) and its exclusive lock, the 0600 key
//! file, the sqlite journal, its TLS identity (`crate::tls`), and the gRPC
//! server with its per-RPC policy, health (the role's service marked
//! SERVING) and reflection.
//!
//! The lock exists because two processes on one data directory would both
//! believe they own its state: two arbiters could sign two Redeem_i for one
//! escrow, two calculators could sign two conflicting fundings. The second
//! process is refused at start with the reason.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::server::Router;

use crate::clock::{Clock, SystemClock};
use crate::config::CommonConfig;
use crate::error::{Error, Result};
use crate::keys::{KeyStore, SecretKey};
use crate::server::BoundServer;
use crate::store::SqliteStore;

/// An exclusive lock on a data directory, held while the value lives.
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
    path: PathBuf,
}

impl DataDirLock {
    /// Takes `dir/<name>.lock` (creating `dir` at mode 0700); refuses if
    /// another process holds it.
    pub fn take(dir: &Path, name: &str) -> Result<Self> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| Error::Config(format!("creating {}: {e}", dir.display())))?;
        let path = dir.join(format!("{name}.lock"));
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| Error::Config(format!("opening {}: {e}", path.display())))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(Error::Config(format!(
                    "data directory {} is in use by another {name} process (lock {} held); \
                     one directory serves one daemon",
                    dir.display(),
                    path.display()
                )))
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(Error::Config(format!("locking {}: {e}", path.display())))
            }
        }
        use std::io::Write;
        let mut f = &file;
        let _ = f.set_len(0);
        let _ = writeln!(f, "{}", std::process::id());
        Ok(DataDirLock { _file: file, path })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// A role's durable home: its lock, key, journal and clock.
#[derive(Debug)]
pub struct RoleHome {
    /// The data directory lock (released on drop).
    pub lock: DataDirLock,
    /// The role's secret key (`<name>.key`).
    pub key: SecretKey,
    /// The journal (`<name>.sqlite`).
    pub store: Arc<SqliteStore>,
    /// The wall clock.
    pub clock: Arc<dyn Clock>,
    /// Its transport (TLS identity, or plaintext): for its server and its
    /// clients.
    pub tls: crate::tls::Tls,
}

/// Opens `common.data_dir` for the role `name` (e.g. `"arbiter"`): takes
/// the lock, then loads or creates the key and opens the journal.
pub fn open(common: &CommonConfig, name: &str) -> Result<RoleHome> {
    let dir = &common.data_dir;
    let lock = DataDirLock::take(dir, name)?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let key = KeyStore::new(dir).load_or_create(name)?;
    let store = SqliteStore::open(&dir.join(format!("{name}.sqlite")), clock.clone())?;
    let role = crate::tls::Role::parse(name)
        .ok_or_else(|| Error::Config(format!("{name} is not a BAPay role")))?;
    let tls = common.tls(role)?;
    Ok(RoleHome {
        lock,
        key,
        store: Arc::new(store),
        clock,
        tls,
    })
}

/// Binds the role's gRPC server on `listen` with health and reflection
/// (over `descriptor`), the services `add` adds, and `service` (its full
/// gRPC name) reported SERVING.
pub async fn bind<F>(
    listen: &str,
    tls: &crate::tls::Tls,
    policy: crate::tls::Policy,
    descriptor: &'static [u8],
    service: &str,
    add: F,
) -> Result<BoundServer>
where
    F: FnOnce(Router) -> Router,
{
    let server = crate::server::bind(listen, tls, policy, &[descriptor], add).await?;
    server
        .health()
        .set_service_status(service, tonic_health::ServingStatus::Serving)
        .await;
    Ok(server)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_process_per_data_dir() {
        let dir = tempfile::tempdir().expect("tempdir");
        let common = CommonConfig::for_role("127.0.0.1:0", "x", 100);
        let common = CommonConfig {
            data_dir: dir.path().join("home"),
            ..common
        };
        let first = open(&common, "arbiter").expect("opens");
        let second = open(&common, "arbiter").expect_err("refused");
        assert!(
            second.to_string().contains("in use by another arbiter"),
            "{second}"
        );
        let key = first.key.x_only_public_key();
        drop(first);
        let again = open(&common, "arbiter").expect("reopens after release");
        assert_eq!(again.key.x_only_public_key(), key);
    }
}
