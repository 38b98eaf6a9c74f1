//! [`ArbiterError`], the daemon's one error type, and its gRPC mapping
//! (arbiter.proto header): bad input INVALID_ARGUMENT with the reason,
//! unknown dispute NOT_FOUND, nothing to judge here (not this arbiter's
//! terms, Ethereum) FAILED_PRECONDITION, unresponsive evidence
//! UNIMPLEMENTED, the chain-adapter unreachable UNAVAILABLE, the store
//! INTERNAL.

/// Everything a handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ArbiterError {
    /// Malformed or refused input; the message names the field and why.
    #[error("{0}")]
    InvalidArgument(String),
    /// No dispute with this id.
    #[error("no dispute {0}")]
    NotFound(String),
    /// Nothing to judge here (not T's terms, chain not served).
    #[error("{0}")]
    FailedPrecondition(String),
    /// Not implemented yet in this daemon.
    #[error("{0} is not implemented yet")]
    Unimplemented(&'static str),
    /// The chain-adapter failed or is unreachable.
    #[error("chain-adapter: {0}")]
    Chain(String),
    /// The store or the key files.
    #[error(transparent)]
    Daemon(#[from] bapay_daemon::Error),
    /// A core computation failed on stored (not outside) data.
    #[error("internal: {0}")]
    Internal(String),
}

/// Result with [`ArbiterError`].
pub type Result<T, E = ArbiterError> = std::result::Result<T, E>;

impl ArbiterError {
    /// INVALID_ARGUMENT naming `field`.
    pub fn invalid(field: &str, why: impl std::fmt::Display) -> Self {
        ArbiterError::InvalidArgument(format!("{field}: {why}"))
    }
}

impl From<bapay_daemon::FieldError> for ArbiterError {
    /// INVALID_ARGUMENT naming the field, as [`ArbiterError::invalid`].
    fn from(e: bapay_daemon::FieldError) -> Self {
        ArbiterError::invalid(&e.field, e.reason)
    }
}

impl From<bapay_daemon::AdapterError> for ArbiterError {
    fn from(e: bapay_daemon::AdapterError) -> Self {
        ArbiterError::Chain(e.0)
    }
}

impl From<ArbiterError> for tonic::Status {
    fn from(e: ArbiterError) -> Self {
        use tonic::Status;
        let msg = e.to_string();
        match e {
            ArbiterError::InvalidArgument(_) => Status::invalid_argument(msg),
            ArbiterError::NotFound(_) => Status::not_found(msg),
            ArbiterError::FailedPrecondition(_) => Status::failed_precondition(msg),
            ArbiterError::Unimplemented(_) => Status::unimplemented(msg),
            ArbiterError::Chain(_) => Status::unavailable(msg),
            ArbiterError::Daemon(d) => d.into(),
            ArbiterError::Internal(_) => Status::internal(msg),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        let s: tonic::Status = ArbiterError::invalid("job_id", "not 32 bytes").into();
        assert_eq!(s.code(), tonic::Code::InvalidArgument);
        assert_eq!(s.message(), "job_id: not 32 bytes");
        let s: tonic::Status = ArbiterError::NotFound("x".into()).into();
        assert_eq!(s.code(), tonic::Code::NotFound);
        let s: tonic::Status = ArbiterError::FailedPrecondition("x".into()).into();
        assert_eq!(s.code(), tonic::Code::FailedPrecondition);
    }
}
