//! A throwaway anvil for one test (or the gas report).
//!
//! Spawns `$ANVIL_EXE` (else `anvil` on PATH) on a free port (`--port 0`),
//! learns the port from its "Listening on 127.0.0.1:PORT" line, copies its
//! output to a log file in a temp dir, polls `eth_chainId` until it answers,
//! and kills it on drop. Shared by the integration tests and `fairpay-gas`
//! (included by path, so it needs no feature flag).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use alloy::providers::{Provider, ProviderBuilder};
use anyhow::{anyhow, bail, Context, Result};

/// A running anvil child process.
pub struct Anvil {
    child: Child,
    url: String,
    log_path: PathBuf,
    dir: Option<tempfile::TempDir>,
}

fn anvil_exe() -> Result<PathBuf> {
    if let Some(exe) = std::env::var_os("ANVIL_EXE").filter(|v| !v.is_empty()) {
        let exe = PathBuf::from(exe);
        if exe.is_file() {
            return Ok(exe);
        }
        bail!("ANVIL_EXE={} does not exist", exe.display());
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join("anvil"))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            anyhow!(
                "anvil not found: set ANVIL_EXE or put anvil on PATH \
                 (eval \"$(scripts/install-tools.sh)\" installs the pinned one)"
            )
        })
}

impl Anvil {
    /// Starts anvil and waits until it answers JSON-RPC.
    pub async fn spawn() -> Result<Self> {
        let exe = anvil_exe()?;
        let dir = tempfile::tempdir()?;
        let log_path = dir.path().join("anvil.log");
        let mut log = std::fs::File::create(&log_path)?;
        let mut child = Command::new(&exe)
            .args(["--port", "0", "--host", "127.0.0.1", "--accounts", "1"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("spawning {}", exe.display()))?;
        let stdout = child.stdout.take().context("anvil stdout")?;
        let stderr = child.stderr.take().context("anvil stderr")?;
        let mut log_err = log.try_clone()?;
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = writeln!(log_err, "[stderr] {line}");
            }
        });
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = writeln!(log, "{line}");
                if let Some(rest) = line.trim().strip_prefix("Listening on ") {
                    if let Some(t) = tx.take() {
                        let _ = t.send(rest.trim().to_string());
                    }
                }
            }
        });
        let mut anvil = Anvil {
            child,
            url: String::new(),
            log_path,
            dir: Some(dir),
        };
        let addr = rx.recv_timeout(Duration::from_secs(60)).map_err(|_| {
            anyhow!(
                "anvil printed no 'Listening on' line within 60 s; log: {}",
                anvil.log()
            )
        })?;
        anvil.url = format!("http://{addr}");
        anvil.wait_ready().await?;
        Ok(anvil)
    }

    async fn wait_ready(&mut self) -> Result<()> {
        let provider = ProviderBuilder::new().connect_http(self.url.parse()?);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if provider.get_chain_id().await.is_ok() {
                return Ok(());
            }
            if let Some(status) = self.child.try_wait()? {
                bail!("anvil exited ({status}); log: {}", self.log());
            }
            if Instant::now() > deadline {
                bail!("anvil not ready after 60 s; log: {}", self.log());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The JSON-RPC endpoint.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Where its output goes.
    #[allow(dead_code)]
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }
}

impl Drop for Anvil {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Keep the log of a failed test for inspection.
        if std::thread::panicking() {
            if let Some(dir) = self.dir.take() {
                eprintln!(
                    "anvil log kept at {}",
                    dir.keep().join("anvil.log").display()
                );
            }
        }
    }
}
