//! The store's error type: database failures, and the named constraints callers act on.

/// A failure in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A row that the caller asked for does not exist. Only a lookup that means it (by an id
    /// or a name a client gave) answers this; a statement that expected a row and found none
    /// (`sqlx::Error::RowNotFound`) is a bug, and stays a database error (500, logged).
    #[error("not found")]
    NotFound,
    /// A named unique or check constraint refused the write.
    #[error("constraint {0} violated")]
    Constraint(String),
    /// The row changed since the caller read it.
    #[error("stale version")]
    StaleVersion,
    #[error("database unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
    /// A stored value that the code cannot interpret; a bug or a manual edit.
    #[error("unexpected stored value {value:?} in {column}")]
    Corrupt { column: &'static str, value: String },
    #[error("could not generate a signing key: {0}")]
    KeyGeneration(String),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error(transparent)]
    Database(sqlx::Error),
}

impl StoreError {
    pub(crate) fn corrupt(column: &'static str, value: &str) -> Self {
        StoreError::Corrupt { column, value: value.to_owned() }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        match error {
            sqlx::Error::Database(ref e) if e.constraint().is_some() => {
                StoreError::Constraint(e.constraint().unwrap_or_default().to_owned())
            }
            // The server is gone, refuses connections or is still starting: no connection
            // within the acquire timeout, a socket cut mid-query (an immediate shutdown).
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::WorkerCrashed => StoreError::Unavailable(error),
            // Connection exceptions (08…) and operator intervention (57P01 admin shutdown,
            // 57P02 crash shutdown, 57P03 cannot connect now, 57P05 idle session timeout).
            sqlx::Error::Database(ref e)
                if e.code().is_some_and(|c| c.starts_with("08") || c.starts_with("57P")) =>
            {
                StoreError::Unavailable(error)
            }
            other => StoreError::Database(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Error, ErrorKind};

    use super::StoreError;

    #[test]
    fn the_errors_of_a_database_that_is_gone_mean_unavailable() {
        let gone = [
            sqlx::Error::PoolTimedOut,
            sqlx::Error::PoolClosed,
            sqlx::Error::WorkerCrashed,
            sqlx::Error::Io(Error::from(ErrorKind::ConnectionRefused)),
            sqlx::Error::Io(Error::from(ErrorKind::ConnectionReset)),
            sqlx::Error::Io(Error::from(ErrorKind::UnexpectedEof)),
            sqlx::Error::Io(Error::from(ErrorKind::BrokenPipe)),
        ];
        for error in gone {
            let shown = error.to_string();
            assert!(matches!(StoreError::from(error), StoreError::Unavailable(_)), "{shown}");
        }
        // A statement that expected a row and found none is a bug, not "no such record".
        assert!(matches!(StoreError::from(sqlx::Error::RowNotFound), StoreError::Database(_)));
        assert!(matches!(
            StoreError::from(sqlx::Error::Protocol("bug".to_owned())),
            StoreError::Database(_)
        ));
    }
}
