//! A child process with its own log file (stdout and stderr), killed on
//! drop. Used for the nodes and for our own daemons in tests and the demo.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::poll::poll_until;

/// A running child process whose output goes to `<log_dir>/<name>.log`.
#[derive(Debug)]
pub struct ChildProcess {
    name: String,
    child: Child,
    log_path: PathBuf,
}

impl ChildProcess {
    /// Starts `cmd` with stdout and stderr appended to `<log_dir>/<name>.log`.
    pub fn spawn(name: &str, mut cmd: Command, log_dir: &Path) -> Result<Self> {
        let log_path = log_dir.join(format!("{name}.log"));
        let log = File::options()
            .create(true)
            .append(true)
            .open(&log_path)
            .with_context(|| format!("creating log file {}", log_path.display()))?;
        let err = log.try_clone()?;
        cmd.stdin(Stdio::null()).stdout(log).stderr(err);
        let child = cmd
            .spawn()
            .with_context(|| format!("spawning {name} ({:?})", cmd.get_program()))?;
        tracing::debug!(name, pid = child.id(), log = %log_path.display(), "spawned");
        Ok(ChildProcess {
            name: name.to_string(),
            child,
            log_path,
        })
    }

    /// The process's name (also its log file's stem).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// OS process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Path of its log file.
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// The whole log so far (lossy UTF-8).
    pub fn log(&self) -> String {
        std::fs::read(&self.log_path)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// The last `lines` lines of its log.
    pub fn log_tail(&self, lines: usize) -> String {
        let log = self.log();
        let all: Vec<&str> = log.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// `Some(status)` once the process has exited.
    pub fn exit_status(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Kills the process (SIGKILL) at once and reaps it. Idempotent.
    pub fn kill(&mut self) {
        if self.exit_status().is_none() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }

    /// Asks the process to stop (SIGTERM, so our daemons can stop their own
    /// children), waits up to `grace`, then kills it. Idempotent.
    pub fn terminate(&mut self, grace: Duration) {
        if self.exit_status().is_some() {
            return;
        }
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if sent {
            let deadline = std::time::Instant::now() + grace;
            while std::time::Instant::now() < deadline {
                if self.exit_status().is_some() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        self.kill();
    }

    /// Waits for a daemon's "listening on <addr>" line and returns the
    /// address (`ip:port`, what `--listen 127.0.0.1:0` was given).
    pub async fn listen_addr(&mut self, timeout: Duration) -> Result<String> {
        let rest = self.wait_for_log("listening on ", timeout).await?;
        Ok(rest
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ':')
            .collect())
    }

    /// Waits until a log line contains `needle` and returns the text after
    /// it (trimmed). Fails with the log tail if the process exits first or
    /// `timeout` passes.
    pub async fn wait_for_log(&mut self, needle: &str, timeout: Duration) -> Result<String> {
        let what = format!("`{needle}` in the log of {}", self.name);
        let res = poll_until(&what, timeout, Duration::from_millis(50), || {
            let found = self.log().lines().find_map(|l| {
                l.find(needle)
                    .map(|i| l[i + needle.len()..].trim().to_string())
            });
            let status = self.exit_status();
            async move {
                match (found, status) {
                    (Some(rest), _) => Ok(Ok(rest)),
                    (None, Some(st)) => bail!("process exited ({st})"),
                    (None, None) => Ok(Err("not logged yet".to_string())),
                }
            }
        })
        .await;
        res.map_err(|e| self.with_tail(e))
    }

    /// Adds this process's log tail to an error.
    pub fn with_tail(&self, e: anyhow::Error) -> anyhow::Error {
        anyhow::anyhow!(
            "{e:#}\n--- last lines of {} ({}) ---\n{}",
            self.name,
            self.log_path.display(),
            self.log_tail(40)
        )
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        self.terminate(Duration::from_secs(5));
    }
}
