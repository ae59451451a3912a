//! Who is calling: sessions (cookie + CSRF header) and API tokens, roles,
//! and login with throttling.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, Method};
use sclerad_store::{Actor, Role, User};
use sha2::{Digest, Sha256};

use crate::{AppError, AppState};

/// The session cookie.
pub const SESSION_COOKIE: &str = "sclerad_session";
/// The header that state-changing requests of a session must carry, with
/// the `csrf_token` returned at login.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Failed logins allowed before the account is locked for a while.
pub const FREE_ATTEMPTS: i64 = 5;

/// A random secret as 64 hex digits (256 bits from the operating system).
pub fn random_token() -> Result<String, AppError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| AppError::Internal(format!("no randomness from the OS: {e}")))?;
    Ok(hex(&bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What the store keeps of a secret: its SHA-256.
pub fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// Equal without leaking where they differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The seconds an account stays locked after `failures` failed logins.
pub fn lock_seconds(failures: i64) -> Option<i64> {
    (failures >= FREE_ATTEMPTS).then(|| {
        let doublings = (failures - FREE_ATTEMPTS).clamp(0, 5) as u32;
        (30_i64 << doublings).min(900)
    })
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The user.
    pub user: User,
}

impl Caller {
    /// Allowed if the caller has one of `roles`; admins may do everything.
    pub fn require(&self, roles: &[Role]) -> Result<(), AppError> {
        if self.user.role == Role::Admin || roles.contains(&self.user.role) {
            Ok(())
        } else {
            let allowed: Vec<&str> = roles.iter().map(|r| r.code()).collect();
            Err(AppError::forbidden(format!(
                "this needs the role {} (you are {})",
                allowed.join(" or "),
                self.user.role
            )))
        }
    }

    /// The caller as the audit trail names them.
    pub fn actor(&self) -> Actor {
        Actor::user(&self.user)
    }
}

fn cookie<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let bearer = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if let Some(token) = bearer {
            // Tokens are not sent by browsers on their own: no CSRF check.
            let user = state.store.token_user(&token_hash(token.trim())).await?;
            return user
                .map(|user| Caller { user })
                .ok_or(AppError::Unauthenticated);
        }
        let Some(value) = cookie(parts, SESSION_COOKIE) else {
            return Err(AppError::Unauthenticated);
        };
        let session = state
            .store
            .session(&token_hash(value), &sclerad_store::now())
            .await?
            .ok_or(AppError::Unauthenticated)?;
        if !is_safe(&parts.method) {
            let sent = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if !same(sent, &session.csrf_token) {
                return Err(AppError::forbidden(
                    "missing or wrong X-CSRF-Token header (the csrf_token returned at login)",
                ));
            }
        }
        Ok(Caller { user: session.user })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hashed() {
        let a = random_token().expect("token");
        assert_eq!(a.len(), 64);
        assert_ne!(a, random_token().expect("token"));
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), a);
        assert!(same("abc", "abc") && !same("abc", "abd") && !same("abc", "ab"));
    }

    #[test]
    fn locks_grow_then_cap() {
        assert_eq!(lock_seconds(4), None);
        assert_eq!(lock_seconds(5), Some(30));
        assert_eq!(lock_seconds(6), Some(60));
        assert_eq!(lock_seconds(50), Some(900));
    }
}
