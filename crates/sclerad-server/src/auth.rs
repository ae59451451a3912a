//! Who is calling: sessions (cookie + CSRF header) and API tokens, roles,
//! and login with throttling.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method};
use sclerad_store::{Actor, Role, User};
use sha2::{Digest, Sha256};

use crate::{AppError, AppState};

/// The session cookie.
pub const SESSION_COOKIE: &str = "sclerad_session";
/// The `Set-Cookie` value that opens a session with secret `token` for
/// `seconds` (Secure, HttpOnly, SameSite=Strict), or, with `None`, ends it.
pub fn session_cookie(token: Option<&str>, seconds: i64) -> Result<HeaderValue, AppError> {
    let (value, max_age) = match token {
        Some(t) => (t, seconds),
        None => ("", 0),
    };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age={max_age}"
    ))
    .map_err(|e| AppError::Internal(e.to_string()))
}

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
    Ok(sclerad_model::hex(&bytes))
}

/// Whether `text` can be a name, code or identifier sent by a client: not
/// empty, not huge, no control characters (PostgreSQL refuses NUL).
pub fn plain_text(text: &str, max: usize) -> bool {
    !text.is_empty() && text.len() <= max && !text.chars().any(char::is_control)
}

/// Login bookkeeping kept in the server process: one attempt at a time per
/// name (so a burst of parallel guesses cannot all slip past the lock
/// check), failures of unknown names (so they are throttled like real
/// ones), and a bound on concurrent password hashing (19 MiB each).
#[derive(Debug)]
pub struct LoginGuard {
    per_name: tokio::sync::Mutex<
        std::collections::HashMap<String, std::sync::Arc<tokio::sync::Mutex<()>>>,
    >,
    unknown: std::sync::Mutex<std::collections::HashMap<String, (i64, i64)>>,
    hashing: tokio::sync::Semaphore,
}

impl Default for LoginGuard {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        LoginGuard {
            per_name: Default::default(),
            unknown: Default::default(),
            hashing: tokio::sync::Semaphore::new(cores * 2),
        }
    }
}

impl LoginGuard {
    /// Waits for this name's turn; the guard ends it.
    pub async fn turn(&self, name: &str) -> tokio::sync::OwnedMutexGuard<()> {
        let lock = {
            let mut map = self.per_name.lock().await;
            if map.len() > 10_000 {
                map.retain(|_, m| std::sync::Arc::strong_count(m) > 1);
            }
            std::sync::Arc::clone(map.entry(name.to_string()).or_default())
        };
        lock.lock_owned().await
    }

    /// A permit to hash or verify one password; waits when too many run.
    pub async fn hashing(&self) -> Result<tokio::sync::SemaphorePermit<'_>, AppError> {
        match tokio::time::timeout(std::time::Duration::from_secs(10), self.hashing.acquire()).await
        {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(AppError::Busy),
        }
    }

    /// Seconds an unknown name stays locked at `now` (unix milliseconds).
    pub fn unknown_locked(&self, name: &str, now: i64) -> Option<i64> {
        let map = self.unknown.lock().ok()?;
        map.get(name)
            .and_then(|(_, until)| seconds_left(*until, now))
    }

    /// Records a failed login of an unknown name at `now` (unix
    /// milliseconds).
    pub fn unknown_failed(&self, name: &str, now: i64) {
        if let Ok(mut map) = self.unknown.lock() {
            if map.len() > 10_000 {
                map.retain(|_, (_, until)| *until > now);
            }
            let entry = map.entry(name.to_string()).or_insert((0, 0));
            entry.0 += 1;
            if let Some(seconds) = lock_seconds(entry.0) {
                entry.1 = now + seconds * 1000;
            }
        }
    }
}

/// API tokens recently found valid, so a script's every request does not
/// cost a database lookup. An entry lives [`TokenCache::TTL`]; revoking a
/// token through this server clears the cache at once, so only another
/// server process on the same database can honour a revoked token, and for
/// at most that long.
#[derive(Debug, Default)]
pub struct TokenCache {
    entries: std::sync::Mutex<std::collections::HashMap<String, (User, std::time::Instant)>>,
}

impl TokenCache {
    /// How long a looked-up token is trusted without asking the store.
    pub const TTL: std::time::Duration = std::time::Duration::from_secs(5);

    /// The user of a token hash seen valid less than [`Self::TTL`] ago.
    pub fn get(&self, hash: &str) -> Option<User> {
        let entries = self.entries.lock().ok()?;
        entries
            .get(hash)
            .filter(|(_, at)| at.elapsed() < Self::TTL)
            .map(|(user, _)| user.clone())
    }

    /// Remembers that `hash` belongs to `user`.
    pub fn put(&self, hash: String, user: User) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() > 10_000 {
                entries.retain(|_, (_, at)| at.elapsed() < Self::TTL);
            }
            entries.insert(hash, (user, std::time::Instant::now()));
        }
    }

    /// Forgets every token (after a revocation).
    pub fn clear(&self) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.clear();
        }
    }
}

/// What the store keeps of a secret: its SHA-256.
pub fn token_hash(token: &str) -> String {
    sclerad_model::hex(&Sha256::digest(token.as_bytes()))
}

/// Equal without leaking where they differ.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Whole seconds, rounded up, from `now` to `until` (unix milliseconds),
/// if `until` is still ahead.
pub fn seconds_left(until: i64, now: i64) -> Option<i64> {
    let left = until - now;
    (left > 0).then(|| (left + 999) / 1000)
}

/// The seconds an account stays locked after `failures` failed logins.
pub fn lock_seconds(failures: i64) -> Option<i64> {
    (failures >= FREE_ATTEMPTS).then(|| {
        let doublings = (failures - FREE_ATTEMPTS).clamp(0, 5) as u32;
        (30_i64 << doublings).min(900)
    })
}

/// A session just opened by [`open_session`].
#[derive(Debug)]
pub struct OpenedSession {
    /// Whose.
    pub user: User,
    /// The cookie's secret (only its hash is stored).
    pub token: String,
    /// What the session's state-changing requests must carry.
    pub csrf_token: String,
    /// When it ends (RFC 3339).
    pub expires_at: String,
}

/// Checks `name` and `password` and opens a session: the one login of the
/// API and of the pages. Five failed attempts lock the account for 30 s,
/// doubling up to 15 min; unknown names are throttled and timed alike.
pub async fn open_session(
    state: &AppState,
    name: &str,
    password: &str,
) -> Result<OpenedSession, AppError> {
    let wrong = || AppError::Unauthenticated;
    if !plain_text(name, 200) || !sclerad_store::password::acceptable(password) {
        return Err(wrong());
    }
    // One attempt per name at a time: the lock check, the verification and
    // the failure count happen together.
    // Names are stored in one form (NFKC): a compatibility form typed at
    // login is the same name.
    let name = sclerad_store::login_name(name);
    let _turn = state.logins.turn(&name).await;
    let creds = state.store.credentials(&name).await?;
    let now = chrono::Utc::now();
    // Known and unknown names count down alike (whole seconds, rounded up),
    // so Retry-After cannot tell them apart.
    let locked_for = match &creds {
        Some(c) => c
            .locked_until
            .as_deref()
            .and_then(|u| chrono::DateTime::parse_from_rfc3339(u).ok())
            .and_then(|u| seconds_left(u.timestamp_millis(), now.timestamp_millis())),
        None => state.logins.unknown_locked(&name, now.timestamp_millis()),
    };
    if let Some(left) = locked_for {
        return Err(AppError::TooManyAttempts(left));
    }
    // Verify on a blocking thread (Argon2 takes tens of milliseconds and
    // 19 MiB), a bounded number at a time; an unknown name is verified
    // against a dummy hash so it takes as long.
    let hash = creds
        .as_ref()
        .map_or_else(|| state.dummy_hash.to_string(), |c| c.password_hash.clone());
    let password = password.to_string();
    let permit = state.logins.hashing().await?;
    let ok = tokio::task::spawn_blocking(move || sclerad_store::password::verify(&password, &hash))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
    drop(permit);
    let Some(creds) = creds else {
        state.logins.unknown_failed(&name, now.timestamp_millis());
        return Err(wrong());
    };
    if !ok {
        let failures = creds.failed_logins + 1;
        let until = lock_seconds(failures)
            .map(|s| sclerad_store::migrate::timestamp(now + chrono::Duration::seconds(s)));
        state
            .store
            .record_login(creds.user.id, false, until.as_deref())
            .await?;
        return Err(wrong());
    }
    // A disabled user is refused as a wrong password is, once the
    // password was checked: the answer does not tell a guesser which.
    if creds.user.disabled {
        return Err(wrong());
    }
    state.store.record_login(creds.user.id, true, None).await?;
    let token = random_token()?;
    let csrf_token = random_token()?;
    let expires = now + chrono::Duration::seconds(state.config.session_seconds);
    let expires_at = sclerad_store::migrate::timestamp(expires);
    state
        .store
        .create_session(creds.user.id, &token_hash(&token), &csrf_token, &expires_at)
        .await?;
    Ok(OpenedSession {
        user: creds.user,
        token,
        csrf_token,
        expires_at,
    })
}

/// Changes `user`'s own password, given the current one: a wrong current
/// password counts as a failed login (a stolen session cannot guess
/// faster than the login page) and is refused as field
/// `current_password`, a new one the rules refuse as `new_password`. Every
/// session of the user ends; with `end_tokens`, the API tokens too.
pub async fn change_own_password(
    state: &AppState,
    user: &User,
    current: &str,
    new_password: String,
    end_tokens: bool,
) -> Result<(), AppError> {
    let creds = state
        .store
        .credentials(&user.name)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    // Wrong current passwords count as failed logins: a stolen session
    // cannot be used to guess the password faster than the login page.
    let _turn = state.logins.turn(&creds.user.name).await;
    let now = chrono::Utc::now();
    let locked_for = creds
        .locked_until
        .as_deref()
        .and_then(|u| chrono::DateTime::parse_from_rfc3339(u).ok())
        .and_then(|u| seconds_left(u.timestamp_millis(), now.timestamp_millis()));
    if let Some(left) = locked_for {
        return Err(AppError::TooManyAttempts(left));
    }
    let permit = state.logins.hashing().await?;
    let (current, stored) = (current.to_string(), creds.password_hash.clone());
    let right = sclerad_store::password::acceptable(&current)
        && tokio::task::spawn_blocking(move || sclerad_store::password::verify(&current, &stored))
            .await
            .map_err(|e| AppError::Internal(e.to_string()))?;
    if !right {
        let until = lock_seconds(creds.failed_logins + 1)
            .map(|s| sclerad_store::migrate::timestamp(now + chrono::Duration::seconds(s)));
        state
            .store
            .record_login(creds.user.id, false, until.as_deref())
            .await?;
        return Err(AppError::invalid(
            "current_password",
            "this is not the current password",
        ));
    }
    let new = new_password;
    let hash = tokio::task::spawn_blocking(move || sclerad_store::password::hash(&new))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?
        .map_err(|e| AppError::invalid("new_password", e.to_string()))?;
    drop(permit);
    state
        .store
        .set_password(&Actor::user(user), user.id, &hash, end_tokens)
        .await?;
    if end_tokens {
        state.tokens.clear();
    }
    Ok(())
}

/// A new API token for `user`, labelled `label`, lasting `days` (the
/// server's default when `None`, at most its maximum): the stored token
/// and its secret, shown once. Refuses a bad label as field `label` and
/// a bad duration as `days`.
pub async fn issue_token(
    state: &AppState,
    user: &User,
    label: &str,
    days: Option<u32>,
) -> Result<(sclerad_store::ApiToken, String), AppError> {
    let label = label.trim();
    if !plain_text(label, 200) {
        return Err(AppError::invalid(
            "label",
            "1 to 200 characters, no control characters",
        ));
    }
    let (default, max) = (state.config.token_days_default, state.config.token_days_max);
    let days = days.unwrap_or(default.min(max));
    if days == 0 || days > max {
        return Err(AppError::invalid(
            "days",
            format!("1 to {max} days (the most this server allows)"),
        ));
    }
    let expires_at = sclerad_store::migrate::timestamp(
        chrono::Utc::now() + chrono::Duration::days(i64::from(days)),
    );
    let token = random_token()?;
    let stored = state
        .store
        .create_token(
            &Actor::user(user),
            user.id,
            label,
            &token_hash(&token),
            &expires_at,
        )
        .await?;
    Ok((stored, token))
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

/// The value of cookie `name` among a request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
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
            let hash = token_hash(token.trim());
            if let Some(user) = state.tokens.get(&hash) {
                return Ok(Caller { user });
            }
            let user = state.store.token_user(&hash, &sclerad_store::now()).await?;
            let user = user.ok_or(AppError::Unauthenticated)?;
            state.tokens.put(hash, user.clone());
            return Ok(Caller { user });
        }
        let Some(value) = cookie(&parts.headers, SESSION_COOKIE) else {
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
        let cookie = session_cookie(Some("abc"), 60).expect("cookie");
        assert!(cookie
            .to_str()
            .is_ok_and(|c| c.starts_with("sclerad_session=abc;")));
        let gone = session_cookie(None, 60).expect("cookie");
        assert!(gone.to_str().is_ok_and(|c| c.contains("Max-Age=0")));
        assert!(plain_text("P01", 10) && !plain_text("a\u{0}b", 10) && !plain_text("", 10));
    }

    #[test]
    fn locks_count_down_in_whole_seconds() {
        assert_eq!(seconds_left(30_000, 0), Some(30));
        assert_eq!(seconds_left(30_000, 1), Some(30));
        assert_eq!(seconds_left(30_000, 29_001), Some(1));
        assert_eq!(seconds_left(30_000, 30_000), None);
        let guard = LoginGuard::default();
        for _ in 0..FREE_ATTEMPTS {
            guard.unknown_failed("nobody", 1_000);
        }
        assert_eq!(guard.unknown_locked("nobody", 1_250), Some(30));
    }

    #[test]
    fn locks_grow_then_cap() {
        assert_eq!(lock_seconds(4), None);
        assert_eq!(lock_seconds(5), Some(30));
        assert_eq!(lock_seconds(6), Some(60));
        assert_eq!(lock_seconds(50), Some(900));
    }
}
