//! Password hashing for the users a store keeps: Argon2id with the `argon2` crate's defaults (19 MiB,
//! 2 passes, 1 lane: OWASP's recommended minimum), PHC strings with a
//! random salt.

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::Argon2;

/// The shortest password accepted, in characters.
pub const MIN_LENGTH: usize = 10;
/// The longest password accepted, in bytes of UTF-8, at creation as at
/// login (a longer one could be set but never used to log in).
pub const MAX_BYTES: usize = 1_000;

/// Why a password cannot be set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    /// Too short.
    #[error("the password must have at least {MIN_LENGTH} characters")]
    TooShort,
    /// Too long, or holding a NUL.
    #[error("the password must have at most {MAX_BYTES} bytes and no NUL character")]
    TooLong,
    /// Hashing failed (no randomness from the operating system).
    #[error("password hashing failed: {0}")]
    Hashing(String),
}

/// Hashes `password` for storage.
pub fn hash(password: &str) -> Result<String, PasswordError> {
    if password.chars().count() < MIN_LENGTH {
        return Err(PasswordError::TooShort);
    }
    if !acceptable(password) {
        return Err(PasswordError::TooLong);
    }
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hashing(e.to_string()))
}

/// Whether a password could have been set: at most [`MAX_BYTES`], no NUL.
/// Login refuses any other without hashing it.
pub fn acceptable(password: &str) -> bool {
    password.len() <= MAX_BYTES && !password.contains('\0')
}

/// Whether `password` matches the stored `phc` hash. A malformed stored
/// hash never matches.
pub fn verify(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_are_salted() {
        let a = hash("correct horse battery").expect("hash");
        let b = hash("correct horse battery").expect("hash");
        assert!(a.starts_with("$argon2id$"));
        assert_ne!(a, b, "random salt");
        assert!(verify("correct horse battery", &a));
        assert!(!verify("wrong horse battery", &a));
        assert!(!verify("correct horse battery", "not a hash"));
        assert_eq!(hash("short"), Err(PasswordError::TooShort));
        // What login would refuse cannot be set.
        assert_eq!(
            hash(&"x".repeat(MAX_BYTES + 1)),
            Err(PasswordError::TooLong)
        );
        assert_eq!(hash("ten chars\0x"), Err(PasswordError::TooLong));
        assert!(hash(&"é".repeat(MAX_BYTES / 2)).is_ok());
        assert!(!acceptable(&"é".repeat(MAX_BYTES / 2 + 1)));
    }
}
