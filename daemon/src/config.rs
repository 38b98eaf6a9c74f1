//! Configuration loading shared by the daemons: defaults (the target type's
//! `Default`) < a TOML file (`--config FILE`) < environment variables
//! `<PREFIX>__SECTION__KEY` (e.g. `BAPAY_ARBITER__LISTEN`,
//! `BAPAY_OUTSOURCER__ETHEREUM__CONTRACT`) < command-line flags. One loader,
//! so the three daemons layer sources the same way, and the keys every
//! role has ([`CommonConfig`], [`FairPayConfig`]) are declared once and
//! `#[serde(flatten)]`ed into each role's configuration.
//!
//! A key that no field of the target type knows (a typo) is refused with
//! its name: `serde(deny_unknown_fields)` does not work through
//! `flatten`, so [`load`] compares the keys it was given with those of the
//! serialized defaults instead.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use config::{Source, Value, ValueKind};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Log output format (`--log-format`, config key `log_format`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One JSON object per line, with the enclosing spans (machines).
    Json,
    /// One human-readable line per event, spans as a prefix (terminals).
    #[default]
    Pretty,
}

impl LogFormat {
    /// The name used in flags and configuration files.
    pub fn as_str(self) -> &'static str {
        match self {
            LogFormat::Json => "json",
            LogFormat::Pretty => "pretty",
        }
    }
}

/// The keys every role daemon has, flattened into its configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommonConfig {
    /// gRPC listen address (port 0 allowed; `:PORT` means every interface).
    pub listen: String,
    /// Directory of the key files, the database and the lock file.
    pub data_dir: PathBuf,
    /// Log format.
    pub log_format: LogFormat,
    /// The chain-adapter's gRPC URL: the role reaches the chains only
    /// through it.
    pub chain_adapter_url: String,
    /// Confirmations after which a chain fact counts as final.
    pub finality_depth: u64,
    /// Period of the background driver, ms.
    pub poll_interval_ms: u64,
    /// Transport security (`crate::tls`): on by default.
    pub tls: crate::tls::TlsConfig,
}

impl CommonConfig {
    /// The defaults of a role listening on `listen` with its data in
    /// `data_dir`.
    pub fn for_role(listen: &str, data_dir: &str, poll_interval_ms: u64) -> Self {
        CommonConfig {
            listen: listen.into(),
            data_dir: data_dir.into(),
            log_format: LogFormat::Pretty,
            chain_adapter_url: "http://127.0.0.1:50051".into(),
            finality_depth: 1,
            poll_interval_ms,
            tls: crate::tls::TlsConfig::default(),
        }
    }

    /// The role's transport: [`crate::tls::Tls::for_daemon`] on this
    /// configuration.
    pub fn tls(&self, role: crate::tls::Role) -> Result<crate::tls::Tls> {
        crate::tls::Tls::for_daemon(&self.tls, &self.data_dir, role, &self.listen)
    }

    /// `finality_depth`, at least 1.
    pub fn depth(&self) -> u64 {
        self.finality_depth.max(1)
    }
}

/// The FairPay deployment (`[ethereum]`): the same keys in every role,
/// flattened into the role's own `[ethereum]` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FairPayConfig {
    /// EIP-155 chain id (anvil: 31337).
    pub chain_id: u64,
    /// FairPay address, hex (`0x` optional); empty: the role serves no
    /// Ethereum jobs.
    pub contract: String,
}

impl Default for FairPayConfig {
    fn default() -> Self {
        FairPayConfig {
            chain_id: 31337,
            contract: String::new(),
        }
    }
}

impl FairPayConfig {
    /// The contract address; `None` if Ethereum is off (empty), an error
    /// if it is set but not an address.
    pub fn address(&self) -> Result<Option<alloy::primitives::Address>> {
        if self.contract.is_empty() {
            return Ok(None);
        }
        self.contract.parse().map(Some).map_err(|_| {
            Error::Config(format!(
                "ethereum.contract {:?} is not a 20-byte hex address",
                self.contract
            ))
        })
    }
}

/// Serde helper for list keys that may also come as one comma-separated
/// string (an environment variable: `BAPAY_CALCULATOR__TRUSTED_ARBITERS=a,b`).
pub mod string_list {
    use serde::{Deserialize, Deserializer, Serializer};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        List(Vec<String>),
        One(String),
    }

    /// Deserializes a list, or a comma-separated string (empty: no items).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
        Ok(match Either::deserialize(d)? {
            Either::List(l) => l,
            Either::One(s) => s
                .split(',')
                .map(str::trim)
                .filter(|x| !x.is_empty())
                .map(String::from)
                .collect(),
        })
    }

    /// Serializes as a list.
    pub fn serialize<S: Serializer>(v: &[String], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v)
    }
}

/// The flags every daemon has; `#[command(flatten)]` it into the daemon's
/// own clap struct and load with [`CommonArgs::load`].
#[derive(Debug, Clone, Default, clap::Args)]
pub struct CommonArgs {
    /// TOML configuration file.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// gRPC listen address (`listen`), e.g. 127.0.0.1:50061, 127.0.0.1:0 or :0.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Directory for the key files and the database (`data_dir`).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Log format (`log_format`).
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub log_format: Option<LogFormat>,
    /// gRPC URL of the chain-adapter (`chain_adapter_url`): every role daemon
    /// reaches the chains only through it.
    #[arg(long, value_name = "URL")]
    pub chain_adapter: Option<String>,
    /// No TLS and no per-role checks (`tls.insecure_plaintext`); refused
    /// unless `--listen` is a loopback address.
    #[arg(long)]
    pub insecure_plaintext: bool,
}

impl CommonArgs {
    /// The flags that were given, as `(config key, value)` overrides for
    /// [`load`]. Keys: `listen`, `data_dir`, `log_format`, `chain_adapter_url`,
    /// `tls.insecure_plaintext`.
    pub fn overrides(&self) -> Vec<(String, Option<String>)> {
        vec![
            ("listen".into(), self.listen.clone()),
            (
                "data_dir".into(),
                self.data_dir.as_ref().map(|p| p.display().to_string()),
            ),
            (
                "log_format".into(),
                self.log_format.map(|f| f.as_str().to_string()),
            ),
            ("chain_adapter_url".into(), self.chain_adapter.clone()),
            (
                "tls.insecure_plaintext".into(),
                self.insecure_plaintext.then(|| "true".to_string()),
            ),
        ]
    }

    /// Loads `T` from its defaults < `--config` file < `<prefix>__...`
    /// environment variables < these flags (see [`load`]).
    pub fn load<T: DeserializeOwned + Serialize + Default>(&self, prefix: &str) -> Result<T> {
        load(prefix, self.config.as_deref(), self.overrides())
    }
}

/// Loads `T` from `T::default()` < `file` < `<prefix>__...` environment
/// variables < `overrides` (dotted keys such as `"ethereum.contract"`;
/// `None` values are skipped, so unset flags do not override anything).
/// A key in the file or the environment that `T` does not have is an
/// error naming it.
///
/// `prefix` is the whole variable prefix, e.g. `"BAPAY_OUTSOURCER"`.
pub fn load<T, K, I>(prefix: &str, file: Option<&Path>, overrides: I) -> Result<T>
where
    T: DeserializeOwned + Serialize + Default,
    K: AsRef<str>,
    I: IntoIterator<Item = (K, Option<String>)>,
{
    load_with_env(prefix, file, None, overrides)
}

/// [`load`] with the environment given explicitly (`None`: the process's).
fn load_with_env<T, K, I>(
    prefix: &str,
    file: Option<&Path>,
    env: Option<HashMap<String, String>>,
    overrides: I,
) -> Result<T>
where
    T: DeserializeOwned + Serialize + Default,
    K: AsRef<str>,
    I: IntoIterator<Item = (K, Option<String>)>,
{
    let err = |e: config::ConfigError| Error::Config(e.to_string());
    let defaults = config::Config::try_from(&T::default()).map_err(err)?;
    let known = known_keys(
        &serde_json::to_value(T::default())
            .map_err(|e| Error::Config(format!("serializing the defaults: {e}")))?,
    );
    let mut given = Vec::new();
    let mut b = config::Config::builder().add_source(defaults);
    if let Some(path) = file {
        if !path.is_file() {
            return Err(Error::Config(format!(
                "configuration file {} does not exist",
                path.display()
            )));
        }
        let source = config::File::from(path).format(config::FileFormat::Toml);
        given.extend(
            paths(&source.collect().map_err(err)?)
                .into_iter()
                .map(|k| (k, "file")),
        );
        b = b.add_source(source);
    }
    let env = config::Environment::with_prefix(prefix)
        .prefix_separator("__")
        .separator("__")
        .try_parsing(true)
        .source(env);
    given.extend(
        paths(&env.collect().map_err(err)?)
            .into_iter()
            .map(|k| (k, "environment")),
    );
    b = b.add_source(env);
    for (key, value) in overrides {
        b = b.set_override_option(key.as_ref(), value).map_err(err)?;
    }
    for (key, from) in given {
        if !is_known(&known, &key) {
            return Err(Error::Config(format!(
                "unknown configuration key {key:?} (from the {from})"
            )));
        }
    }
    b.build().map_err(err)?.try_deserialize().map_err(err)
}

/// Every dotted path of a configuration map (a table's keys are walked
/// into, anything else is a leaf).
fn paths(map: &config::Map<String, Value>) -> Vec<String> {
    fn walk(prefix: &str, v: &Value, out: &mut Vec<String>) {
        match &v.kind {
            ValueKind::Table(t) if !t.is_empty() => {
                for (k, v) in t {
                    walk(&format!("{prefix}.{k}"), v, out);
                }
            }
            _ => out.push(prefix.to_string()),
        }
    }
    let mut out = Vec::new();
    for (k, v) in map {
        walk(&k.to_lowercase(), v, &mut out);
    }
    out
}

/// The dotted paths of the serialized defaults: every path (`.0`) and
/// the leaves among them (`.1`: scalars, lists, null; objects are walked
/// into).
fn known_keys(v: &serde_json::Value) -> (BTreeSet<String>, BTreeSet<String>) {
    fn walk(
        prefix: &str,
        v: &serde_json::Value,
        all: &mut BTreeSet<String>,
        leaves: &mut BTreeSet<String>,
    ) {
        all.insert(prefix.to_string());
        match v {
            serde_json::Value::Object(m) => {
                for (k, v) in m {
                    let p = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(&p, v, all, leaves);
                }
            }
            _ => {
                leaves.insert(prefix.to_string());
            }
        }
    }
    let (mut all, mut leaves) = (BTreeSet::new(), BTreeSet::new());
    walk("", v, &mut all, &mut leaves);
    (all, leaves)
}

/// `key` is a known path, or inside a known leaf (a list's elements).
fn is_known(known: &(BTreeSet<String>, BTreeSet<String>), key: &str) -> bool {
    if known.0.contains(key) {
        return true;
    }
    let mut k = key;
    while let Some(i) = k.rfind('.') {
        k = &k[..i];
        if known.1.contains(k) {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests;
