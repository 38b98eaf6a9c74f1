//! Each daemon's own secret keys (PROTOCOL.md §1: every role holds its keys
//! and trusts nobody with them). A key lives in `<data_dir>/<name>.key`
//! (64 hex digits), created with mode 0600 on first start, published
//! atomically (temporary file, fsync, then a no-clobber link into place) so a
//! crash never leaves a half-written key and two racing starts agree on one
//! key. A key file any other user can read or write is refused. Secrets never
//! appear in `Debug` output or errors, and are erased on drop (best effort).

use std::fmt;
use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use alloy::primitives::Address;
use bitcoin::secp256k1::{self, Keypair, PublicKey, XOnlyPublicKey};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// Largest key file we read (hex, optional `0x`, whitespace).
const MAX_KEY_FILE: u64 = 256;

/// A secp256k1 secret key. `Debug` prints only the x-only public key; the
/// secret is erased when this is dropped.
pub struct SecretKey {
    keypair: Keypair,
}

impl SecretKey {
    /// Parses 32 bytes; refuses zero and values >= the curve order.
    pub fn from_bytes(bytes: &[u8; 32]) -> std::result::Result<Self, secp256k1::Error> {
        let sk = secp256k1::SecretKey::from_slice(bytes)?;
        Ok(Self::from_secret(sk))
    }

    /// A fresh random key (OS randomness).
    pub fn generate() -> Self {
        Self::from_secret(secp256k1::SecretKey::new(&mut secp256k1::rand::thread_rng()))
    }

    fn from_secret(mut sk: secp256k1::SecretKey) -> Self {
        let keypair = Keypair::from_secret_key(&secp256k1::Secp256k1::signing_only(), &sk);
        sk.non_secure_erase();
        SecretKey { keypair }
    }

    /// The keypair, for signing (e.g. `secp.sign_schnorr(&msg, key.keypair())`).
    /// Borrow it; copies escape the erase-on-drop.
    pub fn keypair(&self) -> &Keypair {
        &self.keypair
    }

    /// The x-only (BIP-340, Taproot) public key.
    pub fn x_only_public_key(&self) -> XOnlyPublicKey {
        self.keypair.x_only_public_key().0
    }

    /// The full public key.
    pub fn public_key(&self) -> PublicKey {
        self.keypair.public_key()
    }

    /// The Ethereum address of this key.
    pub fn eth_address(&self) -> Address {
        eth_address(&self.public_key())
    }

    /// An alloy signer for Ethereum transactions and messages with this key.
    pub fn eth_signer(&self) -> alloy::signers::local::PrivateKeySigner {
        let bytes = Zeroizing::new(self.keypair.secret_bytes());
        // Any valid secp256k1 secret is a valid k256 signing key.
        alloy::signers::local::PrivateKeySigner::from_bytes(&(*bytes).into())
            .expect("a secp256k1 secret key is a valid k256 scalar")
    }

    /// Writes the secret as 64 lowercase hex digits.
    fn to_hex(&self) -> Zeroizing<String> {
        let bytes = Zeroizing::new(self.keypair.secret_bytes());
        Zeroizing::new(hex::encode(*bytes))
    }
}

impl Drop for SecretKey {
    fn drop(&mut self) {
        self.keypair.non_secure_erase();
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretKey")
            .field(
                "x_only_public_key",
                &format_args!("{}", self.x_only_public_key()),
            )
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// The Ethereum address of a secp256k1 public key (FairPay's rule).
pub use bapay_fairpay::job::address_of as eth_address;

/// Key files of one daemon, in one directory.
#[derive(Debug, Clone)]
pub struct KeyStore {
    dir: PathBuf,
}

impl KeyStore {
    /// Key files under `dir` (usually the daemon's `data_dir`).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        KeyStore { dir: dir.into() }
    }

    /// `<dir>/<name>.key`. Names are `[A-Za-z0-9_-]+`.
    pub fn path(&self, name: &str) -> Result<PathBuf> {
        let ok = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !ok {
            return Err(Error::Key {
                path: self.dir.join(name),
                reason: "key names are letters, digits, '_' and '-'".into(),
            });
        }
        Ok(self.dir.join(format!("{name}.key")))
    }

    /// Loads `<dir>/<name>.key`, creating it (and `dir`, mode 0700) with a
    /// fresh random key if it does not exist.
    pub fn load_or_create(&self, name: &str) -> Result<SecretKey> {
        let path = self.path(name)?;
        match load(&path) {
            Err(Error::Key { .. }) if !path.exists() => {}
            other => return other,
        }
        let key = SecretKey::generate();
        if create(&self.dir, &path, &key)? {
            tracing::info!(
                path = %path.display(),
                x_only_public_key = %key.x_only_public_key(),
                "created key file"
            );
            Ok(key)
        } else {
            // Someone else created it first: theirs wins.
            load(&path)
        }
    }
}

/// Loads a key file (e.g. one configured explicitly). Refuses files other
/// users can read or write, files that are not regular files, and anything
/// that is not 32 bytes of hex (optional `0x`, surrounding whitespace).
pub fn load(path: &Path) -> Result<SecretKey> {
    let bad = |reason: String| Error::Key {
        path: path.to_path_buf(),
        reason,
    };
    let meta = fs::metadata(path).map_err(|e| bad(e.to_string()))?;
    if !meta.is_file() {
        return Err(bad("not a regular file".into()));
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(bad(format!(
            "mode {mode:04o} lets other users read or write it; run `chmod 600 {}`",
            path.display()
        )));
    }
    let mut text = Zeroizing::new(String::new());
    fs::File::open(path)
        .and_then(|f| f.take(MAX_KEY_FILE + 1).read_to_string(&mut text))
        .map_err(|e| bad(e.to_string()))?;
    if text.len() as u64 > MAX_KEY_FILE {
        return Err(bad("too long for a key file".into()));
    }
    let trimmed = text.trim();
    let digits = trimmed.strip_prefix("0x").unwrap_or(trimmed);
    let mut bytes = Zeroizing::new([0u8; 32]);
    hex::decode_to_slice(digits, &mut bytes[..])
        .map_err(|_| bad("expected 64 hex digits".into()))?;
    SecretKey::from_bytes(&bytes).map_err(|_| bad("not a valid secp256k1 secret key".into()))
}

/// Writes `key` to a 0600 temporary file in `dir`, fsyncs it, then links it
/// to `path` unless `path` exists. Returns whether ours was published.
fn create(dir: &Path, path: &Path, key: &SecretKey) -> Result<bool> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let bad = |p: &Path, e: std::io::Error| Error::Key {
        path: p.to_path_buf(),
        reason: e.to_string(),
    };
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| bad(dir, e))?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}-{}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("key"),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let written = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        let mut line = key.to_hex();
        line.push('\n');
        f.write_all(line.as_bytes())?;
        f.sync_all()
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(bad(&tmp, e));
    }
    let linked = fs::hard_link(&tmp, path);
    let _ = fs::remove_file(&tmp);
    match linked {
        Ok(()) => {
            // Make the new directory entry durable too.
            fs::File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| bad(dir, e))?;
            Ok(true)
        }
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(bad(path, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// anvil's first dev account.
    const ANVIL0: &str = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
    const ANVIL0_ADDR: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";

    fn mode(p: &Path) -> u32 {
        fs::metadata(p).expect("metadata").permissions().mode() & 0o777
    }

    #[test]
    fn created_once_with_0600_then_reloaded() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        let ks = KeyStore::new(&data);
        let k1 = ks.load_or_create("bitcoin").expect("creates");
        let path = ks.path("bitcoin").expect("path");
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&data), 0o700);
        let k2 = ks.load_or_create("bitcoin").expect("reloads");
        assert_eq!(k1.x_only_public_key(), k2.x_only_public_key());
        let k3 = ks.load_or_create("ethereum").expect("second key");
        assert_ne!(k1.x_only_public_key(), k3.x_only_public_key());
        // No temporary files left behind.
        let names: Vec<_> = fs::read_dir(&data)
            .expect("read_dir")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }

    #[test]
    fn group_or_world_accessible_file_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ks = KeyStore::new(dir.path());
        ks.load_or_create("k").expect("creates");
        let path = ks.path("k").expect("path");
        for m in [0o644, 0o640, 0o604, 0o620] {
            fs::set_permissions(&path, fs::Permissions::from_mode(m)).expect("chmod");
            let err = ks.load_or_create("k").expect_err("refused");
            let msg = err.to_string();
            assert!(msg.contains("chmod 600"), "{msg}");
        }
        fs::set_permissions(&path, fs::Permissions::from_mode(0o400)).expect("chmod");
        ks.load_or_create("k").expect("0400 is fine");
    }

    #[test]
    fn configured_key_file_and_eth_address() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("anvil0.key");
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .expect("open");
        writeln!(f, "  0x{ANVIL0}  ").expect("write");
        let key = load(&path).expect("loads");
        let want: Address = ANVIL0_ADDR.parse().expect("address");
        assert_eq!(key.eth_address(), want);
        assert_eq!(key.eth_signer().address(), want);
    }

    #[test]
    fn malformed_files_refused_without_echoing_them() {
        let dir = tempfile::tempdir().expect("tempdir");
        let secretish = "00".repeat(31) + "zz";
        let cases = [
            secretish.clone(),
            "00".repeat(32), // zero is not a key
            "ff".repeat(32), // above the curve order
            "ab".repeat(16), // too short
            "a".repeat(300), // too long
        ];
        for (i, body) in cases.iter().enumerate() {
            let path = dir.path().join(format!("{i}.key"));
            let mut f = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
                .expect("open");
            f.write_all(body.as_bytes()).expect("write");
            let msg = load(&path).expect_err("refused").to_string();
            assert!(!msg.contains(&secretish), "{msg}");
        }
        assert!(load(&dir.path().join("missing.key")).is_err());
        assert!(load(dir.path()).is_err()); // a directory
    }

    #[test]
    fn bad_names_refused() {
        let ks = KeyStore::new("/nonexistent");
        for name in ["", "../x", "a/b", "a.key", "ü"] {
            assert!(ks.path(name).is_err(), "{name}");
        }
    }

    #[test]
    fn debug_redacts_the_secret() {
        let bytes: [u8; 32] = hex::decode(ANVIL0)
            .expect("hex")
            .try_into()
            .expect("32 bytes");
        let key = SecretKey::from_bytes(&bytes).expect("key");
        let dbg = format!("{key:?}");
        assert!(!dbg.contains(ANVIL0), "{dbg}");
        assert!(dbg.contains("redacted"), "{dbg}");
        assert!(dbg.contains(&key.x_only_public_key().to_string()), "{dbg}");
    }
}
