//! The crate's one error type, and its mapping to gRPC status codes so the
//! daemons can return it from their handlers with `?`.

use std::path::PathBuf;

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the shared daemon plumbing.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Configuration could not be read, parsed or layered.
    #[error("configuration: {0}")]
    Config(String),
    /// A key file is missing, malformed, or has unsafe permissions. Never
    /// carries key material.
    #[error("key file {}: {reason}", path.display())]
    Key {
        /// The key file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The database failed or holds something this binary cannot read.
    #[error("store: {0}")]
    Store(String),
    /// No job with this id.
    #[error("job {0} not found")]
    JobNotFound(String),
    /// Optimistic concurrency: the job's version is not the expected one
    /// (`expected: None` means "the job must not exist yet").
    #[error("job {job}: expected version {expected:?}, found {found:?}")]
    VersionConflict {
        /// Job id.
        job: String,
        /// The version the caller based its write on.
        expected: Option<u64>,
        /// The version in the store.
        found: Option<u64>,
    },
    /// A journal step cannot move from its current status.
    #[error("step {seq}: {reason}")]
    Step {
        /// Step sequence number.
        seq: u64,
        /// Why the transition is refused.
        reason: String,
    },
    /// Binding or running the gRPC server.
    #[error("server: {0}")]
    Server(String),
    /// Installing the log subscriber.
    #[error("telemetry: {0}")]
    Telemetry(String),
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::Store(e.to_string())
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::Store(format!("json: {e}"))
    }
}

impl From<Error> for tonic::Status {
    fn from(e: Error) -> Self {
        match &e {
            Error::JobNotFound(_) => tonic::Status::not_found(e.to_string()),
            Error::VersionConflict { .. } | Error::Step { .. } => {
                tonic::Status::aborted(e.to_string())
            }
            Error::Config(_) | Error::Key { .. } => {
                tonic::Status::failed_precondition(e.to_string())
            }
            Error::Store(_) | Error::Server(_) | Error::Telemetry(_) => {
                tonic::Status::internal(e.to_string())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_codes() {
        let s: tonic::Status = Error::JobNotFound("j1".into()).into();
        assert_eq!(s.code(), tonic::Code::NotFound);
        let s: tonic::Status = Error::VersionConflict {
            job: "j1".into(),
            expected: Some(1),
            found: Some(2),
        }
        .into();
        assert_eq!(s.code(), tonic::Code::Aborted);
        let s: tonic::Status = Error::Store("disk".into()).into();
        assert_eq!(s.code(), tonic::Code::Internal);
    }
}
