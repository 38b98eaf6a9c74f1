//! Finding the node binaries: an explicit `*_EXE` variable (what
//! `scripts/install-tools.sh` prints), else `PATH`, else an error that says
//! how to install them.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

/// Resolves `name` (e.g. "bitcoind") from the environment variable `env_var`
/// (e.g. "BITCOIND_EXE"), then from `PATH`.
pub fn find_executable(env_var: &str, name: &str) -> Result<PathBuf> {
    if let Some(p) = std::env::var_os(env_var).filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        if is_executable(&p) {
            return Ok(p);
        }
        bail!("{env_var}={} is not an executable file", p.display());
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(name);
            if is_executable(&candidate) {
                return Ok(candidate);
            }
        }
    }
    bail!(
        "`{name}` not found: set {env_var} or put it on PATH. Install the pinned tools with \
         `make test` or `eval \"$(scripts/install-tools.sh)\"` from the repository root"
    )
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}
