//! Configuration loading shared by the daemons: defaults (the target type's
//! `#[serde(default)]`) < a TOML file (`--config FILE`) < environment
//! variables `<PREFIX>__SECTION__KEY` (e.g. `BAPAY_ARBITER__LISTEN`,
//! `BAPAY_OUTSOURCER__CHAIN__URL`) < command-line flags. One loader, so the
//! three daemons layer sources the same way the chain-adapter does.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::error::{Error, Result};

/// Log output format (`--log-format`, config key `log_format`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
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

/// The flags every daemon has; `#[command(flatten)]` it into the daemon's
/// own clap struct and pass [`CommonArgs::overrides`] to [`load`].
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
}

impl CommonArgs {
    /// The flags that were given, as `(config key, value)` overrides for
    /// [`load`]. Keys: `listen`, `data_dir`, `log_format`, `chain_adapter_url`.
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
        ]
    }

    /// Loads `T` from defaults < `--config` file < `<prefix>__...`
    /// environment variables < these flags (see [`load`]).
    pub fn load<T: DeserializeOwned>(&self, prefix: &str) -> Result<T> {
        load(prefix, self.config.as_deref(), self.overrides())
    }
}

/// Loads `T` from defaults < `file` < `<prefix>__...` environment variables <
/// `overrides` (dotted keys such as `"chain.url"`; `None` values are skipped,
/// so unset flags do not override anything).
///
/// `prefix` is the whole variable prefix, e.g. `"BAPAY_OUTSOURCER"`. Give `T`
/// (and its sections) `#[serde(default)]` so absent keys take the defaults.
pub fn load<T, K, I>(prefix: &str, file: Option<&Path>, overrides: I) -> Result<T>
where
    T: DeserializeOwned,
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
    T: DeserializeOwned,
    K: AsRef<str>,
    I: IntoIterator<Item = (K, Option<String>)>,
{
    let err = |e: config::ConfigError| Error::Config(e.to_string());
    let mut b = config::Config::builder();
    if let Some(path) = file {
        if !path.is_file() {
            return Err(Error::Config(format!(
                "configuration file {} does not exist",
                path.display()
            )));
        }
        b = b.add_source(config::File::from(path).format(config::FileFormat::Toml));
    }
    b = b.add_source(
        config::Environment::with_prefix(prefix)
            .prefix_separator("__")
            .separator("__")
            .try_parsing(true)
            .source(env),
    );
    for (key, value) in overrides {
        b = b.set_override_option(key.as_ref(), value).map_err(err)?;
    }
    b.build().map_err(err)?.try_deserialize().map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    struct Cfg {
        listen: String,
        data_dir: PathBuf,
        log_format: LogFormat,
        chain: Chain,
    }

    #[derive(Debug, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    struct Chain {
        url: String,
        timeout_ms: u64,
    }

    impl Default for Cfg {
        fn default() -> Self {
            Cfg {
                listen: "127.0.0.1:50061".into(),
                data_dir: "data".into(),
                log_format: LogFormat::Pretty,
                chain: Chain::default(),
            }
        }
    }

    impl Default for Chain {
        fn default() -> Self {
            Chain {
                url: "http://127.0.0.1:50051".into(),
                timeout_ms: 1000,
            }
        }
    }

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        common: CommonArgs,
    }

    fn env(pairs: &[(&str, &str)]) -> Option<HashMap<String, String>> {
        Some(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    const NO_FLAGS: [(&str, Option<String>); 0] = [];

    #[test]
    fn defaults_only() {
        let cfg: Cfg = load_with_env("BAPAY_TEST", None, env(&[]), NO_FLAGS).expect("loads");
        assert_eq!(cfg.listen, "127.0.0.1:50061");
        assert_eq!(cfg.chain.timeout_ms, 1000);
        assert_eq!(cfg.log_format, LogFormat::Pretty);
    }

    #[test]
    fn file_then_env_then_flags() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("d.toml");
        std::fs::write(
            &path,
            "listen = \"127.0.0.1:7000\"\ndata_dir = \"/file\"\n[chain]\nurl = \"http://file:1\"\ntimeout_ms = 5\n",
        )
        .expect("write");
        let env = env(&[
            ("BAPAY_TEST__CHAIN__TIMEOUT_MS", "9"),
            ("BAPAY_TEST__DATA_DIR", "/env"),
            ("BAPAY_TEST__LOG_FORMAT", "json"),
            ("BAPAY_OTHER__LISTEN", "ignored"),
        ]);
        let cli = Cli::try_parse_from(["d", "--listen", ":0", "--data-dir", "/flag"])
            .expect("flags parse");
        let cfg: Cfg =
            load_with_env("BAPAY_TEST", Some(&path), env, cli.common.overrides()).expect("loads");
        assert_eq!(cfg.listen, ":0"); // flag over file
        assert_eq!(cfg.data_dir, PathBuf::from("/flag")); // flag over env over file
        assert_eq!(cfg.chain.url, "http://file:1"); // file over default
        assert_eq!(cfg.chain.timeout_ms, 9); // env over file
        assert_eq!(cfg.log_format, LogFormat::Json); // env over default
    }

    #[test]
    fn log_format_flag() {
        let cli = Cli::try_parse_from(["d", "--log-format", "json"]).expect("parses");
        let cfg: Cfg =
            load_with_env("BAPAY_TEST", None, env(&[]), cli.common.overrides()).expect("loads");
        assert_eq!(cfg.log_format, LogFormat::Json);
        assert!(Cli::try_parse_from(["d", "--log-format", "xml"]).is_err());
    }

    #[test]
    fn bad_inputs_are_errors() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("nope.toml");
        let r: Result<Cfg> = load_with_env("BAPAY_TEST", Some(&missing), env(&[]), NO_FLAGS);
        assert!(matches!(r, Err(Error::Config(_))));

        let unknown = dir.path().join("u.toml");
        std::fs::write(&unknown, "lisen = \"x\"\n").expect("write");
        let r: Result<Cfg> = load_with_env("BAPAY_TEST", Some(&unknown), env(&[]), NO_FLAGS);
        assert!(matches!(r, Err(Error::Config(_))));

        let env = env(&[("BAPAY_TEST__CHAIN__TIMEOUT_MS", "soon")]);
        let r: Result<Cfg> = load_with_env("BAPAY_TEST", None, env, NO_FLAGS);
        assert!(matches!(r, Err(Error::Config(_))));
    }
}
