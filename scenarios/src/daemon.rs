//! One daemon process: started from its binary with flags and environment,
//! ready once it logs "listening on ADDR", killable (SIGKILL, as a crash)
//! and restartable on the same address and data directory.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use bapay_harness::ChildProcess;

/// How long a daemon may take to start listening.
pub const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The binary `name`: `$BAPAY_<NAME>_EXE`, else next to the running
/// executable (target/debug or target/debug/deps/..).
pub fn exe(name: &str) -> Result<PathBuf> {
    let var = format!("BAPAY_{}_EXE", name.to_uppercase().replace('-', "_"));
    if let Some(p) = std::env::var_os(&var) {
        return Ok(PathBuf::from(p));
    }
    let me = std::env::current_exe()?;
    for dir in me.ancestors().skip(1).take(2) {
        let p = dir.join(name);
        if p.is_file() {
            return Ok(p);
        }
    }
    bail!("no `{name}` binary next to {}: run `cargo build --workspace --bins` (make test does) or set {var}", me.display())
}

/// A daemon process and how to start it again.
pub struct Daemon {
    name: String,
    exe: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
    log_dir: PathBuf,
    /// The address it listens on (fixed after the first start).
    pub addr: String,
    proc: Option<ChildProcess>,
    starts: u32,
}

impl Daemon {
    /// Starts `exe` with `args` (without `--listen`) and `env`, logs in
    /// `log_dir`, on an OS-assigned port.
    pub async fn start(
        name: &str,
        exe: PathBuf,
        args: Vec<String>,
        env: Vec<(String, String)>,
        log_dir: &Path,
    ) -> Result<Self> {
        let mut d = Daemon {
            name: name.to_string(),
            exe,
            args,
            env,
            log_dir: log_dir.to_path_buf(),
            addr: "127.0.0.1:0".into(),
            proc: None,
            starts: 0,
        };
        d.spawn().await?;
        Ok(d)
    }

    async fn spawn(&mut self) -> Result<()> {
        let mut cmd = Command::new(&self.exe);
        cmd.args(&self.args).args(["--listen", &self.addr]);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        if std::env::var_os("RUST_LOG").is_none() {
            cmd.env("RUST_LOG", "info");
        }
        self.starts += 1;
        let log_name = if self.starts == 1 {
            self.name.clone()
        } else {
            format!("{}-{}", self.name, self.starts)
        };
        let mut p = ChildProcess::spawn(&log_name, cmd, &self.log_dir)?;
        self.addr = p
            .listen_addr(START_TIMEOUT)
            .await
            .with_context(|| format!("{} did not start", self.name))?;
        self.proc = Some(p);
        Ok(())
    }

    /// Its gRPC URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// SIGKILL (a crash: nothing is flushed or closed).
    pub fn kill(&mut self) {
        if let Some(mut p) = self.proc.take() {
            p.kill();
        }
    }

    /// Kills it if running and starts it again on the same address.
    pub async fn restart(&mut self) -> Result<()> {
        self.kill();
        self.spawn().await
    }

    /// The last lines of its log (for failure messages).
    pub fn tail(&self) -> String {
        self.proc
            .as_ref()
            .map(|p| p.log_tail(40))
            .unwrap_or_default()
    }
}
