//! Schema migrations: each back end lists its own SQL files; which of them
//! still need applying is decided here, the same way for both.

use sha2::{Digest, Sha256};

use crate::{StoreError, StoreResult};

/// One migration: a numbered SQL script.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// Version, from 1, in application order.
    pub version: i64,
    /// Short description (the file name).
    pub name: &'static str,
    /// The SQL (several statements).
    pub sql: &'static str,
}

impl Migration {
    /// SHA-256 of the SQL, recorded when applied: a migration edited after
    /// it was applied somewhere is refused rather than silently skipped.
    pub fn checksum(&self) -> String {
        sclerad_model::hex(&Sha256::digest(self.sql.as_bytes()))
    }
}

/// The migrations of `all` not yet in `applied` (version, checksum), or an
/// error if the database was migrated by a newer sclerad or a migration
/// changed after it was applied.
pub fn pending<'a>(
    all: &'a [Migration],
    applied: &[(i64, String)],
) -> StoreResult<Vec<&'a Migration>> {
    for (version, checksum) in applied {
        match all.iter().find(|m| m.version == *version) {
            None => {
                return Err(StoreError::Backend(format!(
                    "the database has migration {version}, which this sclerad does not know: it was created by a newer version"
                )))
            }
            Some(m) if m.checksum() != *checksum => {
                return Err(StoreError::Backend(format!(
                    "migration {version} ({}) differs from the one applied to this database",
                    m.name
                )))
            }
            Some(_) => {}
        }
    }
    Ok(all
        .iter()
        .filter(|m| !applied.iter().any(|(v, _)| *v == m.version))
        .collect())
}

/// The current time as stored: RFC 3339, UTC, microseconds.
pub fn now() -> String {
    timestamp(chrono::Utc::now())
}

/// `at` as stored.
pub fn timestamp(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Migration; 2] = [
        Migration {
            version: 1,
            name: "init",
            sql: "CREATE TABLE a (x INTEGER);",
        },
        Migration {
            version: 2,
            name: "more",
            sql: "CREATE TABLE b (x INTEGER);",
        },
    ];

    #[test]
    fn pending_skips_applied_and_refuses_unknown_or_changed() {
        assert_eq!(pending(&ALL, &[]).map(|p| p.len()), Ok(2));
        let applied = [(1, ALL[0].checksum())];
        assert_eq!(pending(&ALL, &applied).map(|p| p[0].version), Ok(2));
        assert!(pending(&ALL, &[(3, "x".into())]).is_err());
        assert!(pending(&ALL, &[(1, "changed".into())]).is_err());
    }
}
