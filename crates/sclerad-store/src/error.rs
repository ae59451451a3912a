//! The one error type of every store operation.

/// Why a store operation failed. The back end's own error is kept as text:
/// callers decide on the kind, never on a driver's error type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The record does not exist.
    #[error("{what} not found")]
    NotFound {
        /// What was looked for (`study "nancy"`, `exam code H-…`).
        what: String,
    },
    /// A record with that key exists already.
    #[error("{what} already exists")]
    AlreadyExists {
        /// The duplicate (`user "alice"`).
        what: String,
    },
    /// An edit was based on an outdated version: nothing was written.
    #[error("{what} was changed by someone else (version {current} is current, the edit was based on {expected})")]
    Conflict {
        /// The record.
        what: String,
        /// The version the edit was based on.
        expected: i64,
        /// The version stored now.
        current: i64,
    },
    /// The request is not valid for the stored data.
    #[error("{field}: {message}")]
    Invalid {
        /// The field at fault.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// The database failed or refused (connection, constraint, corruption).
    #[error("database error: {0}")]
    Backend(String),
}

impl StoreError {
    /// A [`StoreError::NotFound`].
    pub fn not_found(what: impl Into<String>) -> Self {
        StoreError::NotFound { what: what.into() }
    }

    /// A [`StoreError::Invalid`].
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        StoreError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl From<sclerad_model::FindingError> for StoreError {
    fn from(e: sclerad_model::FindingError) -> Self {
        StoreError::Invalid {
            field: e.field,
            message: e.message,
        }
    }
}

/// Result of a store operation.
pub type StoreResult<T> = Result<T, StoreError>;
