//! [`CalculatorError`], the daemon's one error type, and its gRPC mapping
//! (calculator.proto header): bad input INVALID_ARGUMENT with the reason,
//! unknown job NOT_FOUND, wrong job_token PERMISSION_DENIED, wrong state
//! FAILED_PRECONDITION, a conflicting repeated offer ALREADY_EXISTS, the
//! chain-adapter unreachable UNAVAILABLE, the store INTERNAL.

/// Everything a handler or the driver can fail with.
#[derive(Debug, thiserror::Error)]
pub enum CalculatorError {
    /// Malformed or refused input; the message names the field and why.
    #[error("{0}")]
    InvalidArgument(String),
    /// No offer for this job id.
    #[error("no offer for job {0}")]
    NotFound(String),
    /// The job_token does not match the offer's.
    #[error("wrong job_token")]
    PermissionDenied,
    /// The sub-task's state does not allow the call.
    #[error("{0}")]
    FailedPrecondition(String),
    /// The job id was already offered with different fields.
    #[error("job {0} already offered with different fields")]
    AlreadyExists(String),
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

/// Result with [`CalculatorError`].
pub type Result<T, E = CalculatorError> = std::result::Result<T, E>;

impl CalculatorError {
    /// INVALID_ARGUMENT naming `field`.
    pub fn invalid(field: &str, why: impl std::fmt::Display) -> Self {
        CalculatorError::InvalidArgument(format!("{field}: {why}"))
    }
}

impl From<bapay_daemon::FieldError> for CalculatorError {
    /// INVALID_ARGUMENT naming the field, as [`CalculatorError::invalid`].
    fn from(e: bapay_daemon::FieldError) -> Self {
        CalculatorError::invalid(&e.field, e.reason)
    }
}

impl From<bapay_daemon::AdapterError> for CalculatorError {
    fn from(e: bapay_daemon::AdapterError) -> Self {
        CalculatorError::Chain(e.0)
    }
}

impl From<CalculatorError> for tonic::Status {
    fn from(e: CalculatorError) -> Self {
        use tonic::Status;
        let msg = e.to_string();
        match e {
            CalculatorError::InvalidArgument(_) => Status::invalid_argument(msg),
            CalculatorError::NotFound(_) => Status::not_found(msg),
            CalculatorError::PermissionDenied => Status::permission_denied(msg),
            CalculatorError::FailedPrecondition(_) => Status::failed_precondition(msg),
            CalculatorError::AlreadyExists(_) => Status::already_exists(msg),
            CalculatorError::Unimplemented(_) => Status::unimplemented(msg),
            CalculatorError::Chain(_) => Status::unavailable(msg),
            CalculatorError::Daemon(d) => d.into(),
            CalculatorError::Internal(_) => Status::internal(msg),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        let s: tonic::Status = CalculatorError::invalid("job_id", "not 32 bytes").into();
        assert_eq!(s.code(), tonic::Code::InvalidArgument);
        assert_eq!(s.message(), "job_id: not 32 bytes");
        let s: tonic::Status = CalculatorError::PermissionDenied.into();
        assert_eq!(s.code(), tonic::Code::PermissionDenied);
        let s: tonic::Status = CalculatorError::Chain("down".into()).into();
        assert_eq!(s.code(), tonic::Code::Unavailable);
        let s: tonic::Status = CalculatorError::FailedPrecondition("x".into()).into();
        assert_eq!(s.code(), tonic::Code::FailedPrecondition);
    }
}
