//! Test support for the study store, used only by tests (a dev-dependency
//! of the back ends, the server and the command line; never of production
//! code): the conformance suite every back end must pass
//! ([`conformance_tests!`]) and a fresh PostgreSQL database per test.

pub mod conformance;

/// A fresh, empty PostgreSQL database for one test, on the server named by
/// `SCLERAD_TEST_POSTGRES_URL` (a superuser URL; `scripts/test-postgres.sh
/// start` prints one), created with `psql`. `None` when the PostgreSQL
/// tests are skipped on purpose (`SCLERAD_SKIP_POSTGRES=1`); with neither
/// variable set it panics, so a missing server never passes silently.
pub fn postgres_test_database(prefix: &str) -> Option<String> {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let Ok(admin) = std::env::var("SCLERAD_TEST_POSTGRES_URL") else {
        if std::env::var_os("SCLERAD_SKIP_POSTGRES").is_some() {
            return None;
        }
        panic!(
            "SCLERAD_TEST_POSTGRES_URL is not set: run `eval \"$(scripts/test-postgres.sh start)\"` \
             first, or set SCLERAD_SKIP_POSTGRES=1 to skip the PostgreSQL tests"
        );
    };
    let name = format!(
        "sclerad_{prefix}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    for sql in [
        format!("DROP DATABASE IF EXISTS {name}"),
        format!("CREATE DATABASE {name}"),
    ] {
        let out = std::process::Command::new("psql")
            .args([admin.as_str(), "-q", "-c", &sql])
            .output()
            .expect("run psql");
        assert!(
            out.status.success(),
            "{sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
    Some(format!("{base}/{name}"))
}
