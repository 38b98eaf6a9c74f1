//! Tests of the parent module.
use super::*;
use clap::Parser;

#[derive(Debug, Serialize, Deserialize)]
#[serde(default)]
struct Cfg {
    #[serde(flatten)]
    common: CommonConfig,
    pool: Vec<String>,
    chain: Chain,
    ethereum: Eth,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(default)]
struct Chain {
    url: String,
    timeout_ms: u64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct Eth {
    #[serde(flatten)]
    deployment: FairPayConfig,
    min_reward_wei: String,
}

impl Default for Cfg {
    fn default() -> Self {
        Cfg {
            common: CommonConfig::for_role("127.0.0.1:50061", "data", 500),
            pool: Vec::new(),
            chain: Chain::default(),
            ethereum: Eth::default(),
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
    assert_eq!(cfg.common.listen, "127.0.0.1:50061");
    assert_eq!(cfg.chain.timeout_ms, 1000);
    assert_eq!(cfg.common.log_format, LogFormat::Pretty);
    assert_eq!(cfg.ethereum.deployment.chain_id, 31337);
}

#[test]
fn file_then_env_then_flags() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("d.toml");
    std::fs::write(
        &path,
        "listen = \"127.0.0.1:7000\"\ndata_dir = \"/file\"\npool = [\"a\", \"b\"]\n[chain]\nurl = \"http://file:1\"\ntimeout_ms = 5\n[ethereum]\ncontract = \"0xab\"\nmin_reward_wei = \"7\"\n",
    )
    .expect("write");
    let env = env(&[
        ("BAPAY_TEST__CHAIN__TIMEOUT_MS", "9"),
        ("BAPAY_TEST__DATA_DIR", "/env"),
        ("BAPAY_TEST__LOG_FORMAT", "json"),
        ("BAPAY_TEST__ETHEREUM__CHAIN_ID", "5"),
        ("BAPAY_OTHER__LISTEN", "ignored"),
    ]);
    let cli =
        Cli::try_parse_from(["d", "--listen", ":0", "--data-dir", "/flag"]).expect("flags parse");
    let cfg: Cfg =
        load_with_env("BAPAY_TEST", Some(&path), env, cli.common.overrides()).expect("loads");
    assert_eq!(cfg.common.listen, ":0"); // flag over file
    assert_eq!(cfg.common.data_dir, PathBuf::from("/flag")); // flag over env over file
    assert_eq!(cfg.chain.url, "http://file:1"); // file over default
    assert_eq!(cfg.chain.timeout_ms, 9); // env over file
    assert_eq!(cfg.common.log_format, LogFormat::Json); // env over default
    assert_eq!(cfg.pool, ["a", "b"]);
    assert_eq!(cfg.ethereum.deployment.contract, "0xab");
    assert_eq!(cfg.ethereum.deployment.chain_id, 5);
    assert_eq!(cfg.ethereum.min_reward_wei, "7");
}

#[test]
fn log_format_flag() {
    let cli = Cli::try_parse_from(["d", "--log-format", "json"]).expect("parses");
    let cfg: Cfg =
        load_with_env("BAPAY_TEST", None, env(&[]), cli.common.overrides()).expect("loads");
    assert_eq!(cfg.common.log_format, LogFormat::Json);
    assert!(Cli::try_parse_from(["d", "--log-format", "xml"]).is_err());
}

#[test]
fn bad_inputs_are_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("nope.toml");
    let r: Result<Cfg> = load_with_env("BAPAY_TEST", Some(&missing), env(&[]), NO_FLAGS);
    assert!(matches!(r, Err(Error::Config(_))));

    for (name, body) in [
        ("u.toml", "lisen = \"x\"\n"),
        ("v.toml", "[chain]\nurll = \"x\"\n"),
        ("w.toml", "[ethereum]\ncontrakt = \"x\"\n"),
    ] {
        let unknown = dir.path().join(name);
        std::fs::write(&unknown, body).expect("write");
        let r: Result<Cfg> = load_with_env("BAPAY_TEST", Some(&unknown), env(&[]), NO_FLAGS);
        assert!(
            matches!(&r, Err(Error::Config(m)) if m.contains("unknown configuration key")),
            "{body}: {r:?}"
        );
    }
    let r: Result<Cfg> = load_with_env(
        "BAPAY_TEST",
        None,
        env(&[("BAPAY_TEST__POLLL_INTERVAL_MS", "1")]),
        NO_FLAGS,
    );
    assert!(matches!(r, Err(Error::Config(m)) if m.contains("polll_interval_ms")));

    let env = env(&[("BAPAY_TEST__CHAIN__TIMEOUT_MS", "soon")]);
    let r: Result<Cfg> = load_with_env("BAPAY_TEST", None, env, NO_FLAGS);
    assert!(matches!(r, Err(Error::Config(_))));
}

#[test]
fn fairpay_address() {
    let mut f = FairPayConfig::default();
    assert_eq!(f.address().expect("empty"), None);
    f.contract = "0x5FbDB2315678afecb367f032d93F642f64180aa3".into();
    assert!(f.address().expect("ok").is_some());
    f.contract = "nope".into();
    assert!(f.address().is_err());
}
