//! The API driven in-process (`Router` + `oneshot`) over real stores: a
//! SQLite file, and PostgreSQL when `SCLERAD_TEST_POSTGRES_URL` is set (see
//! `crates/sclerad-store-postgres/tests/postgres.rs`; without it, and
//! without `SCLERAD_SKIP_POSTGRES=1`, the PostgreSQL variants fail).
//! `connections` serves the application on a socket instead.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use sclerad_server::auth::{random_token, token_hash, CSRF_HEADER};
use sclerad_server::{router, AppState, Config};
use sclerad_store::{Actor, Role, Store, StudyImport};
use sclerad_store_tests::conformance::sample_tables;
use serde_json::{json, Value};
use tower::ServiceExt;

/// The server on a socket: timeouts, the connection cap, shutdown.
#[path = "api/connections.rs"]
mod connections;

/// The web pages.
#[path = "api/web.rs"]
mod web;

/// The image viewer's routes and the images API.
#[path = "api/images.rs"]
mod images;
use images::{
    data_manager_takes_images_in_from_the_page, images_are_read_through_the_readers_code_only,
};
use web::{
    adjudicator_pages_compare_accept_and_resolve, admin_pages_manage_users_tokens_and_the_trail,
    analyst_runs_the_analysis_and_reproduces_it, data_manager_builds_partial_worklists,
    data_manager_grows_a_study_from_its_page, data_manager_imports_a_study_from_redcap,
    data_manager_lists_and_edits_patients, data_manager_uploads_a_bundle_as_a_new_study,
    first_start_creates_one_admin_once, page_route_role_matrix,
    reader_pages_read_save_and_stay_blind, users_change_their_password_and_keep_their_tokens,
};

const PASSWORD: &str = "correct horse battery";

fn password_hash() -> String {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| sclerad_store::password::hash(PASSWORD).expect("hash"))
        .clone()
}

async fn sqlite() -> Option<Arc<dyn Store>> {
    let dir = tempfile::tempdir().expect("temp").keep();
    let url = format!("sqlite:{}", dir.join("api.db").display());
    Some(Arc::new(
        sclerad_store_sqlite::SqliteStore::open(&url)
            .await
            .expect("open"),
    ))
}

async fn postgres() -> Option<Arc<dyn Store>> {
    let url = sclerad_store_tests::postgres_test_database("api")?;
    Some(Arc::new(
        sclerad_store_postgres::PostgresStore::open(&url)
            .await
            .expect("open"),
    ))
}

/// A study `s` (the conformance sample), one user per role plus a second
/// reader, and an API token for each.
struct Fixture {
    app: Router,
    store: Arc<dyn Store>,
    tokens: BTreeMap<&'static str, String>,
}

const USERS: [(&str, Role); 6] = [
    ("root", Role::Admin),
    ("dm", Role::DataManager),
    ("rita", Role::Reader),
    ("rolf", Role::Reader),
    ("adj", Role::Adjudicator),
    ("stat", Role::Analyst),
];

async fn fixture(store: Arc<dyn Store>) -> Fixture {
    let cli = Actor::command_line("test");
    store
        .import_study(&cli, "s", &StudyImport::from_tables(&sample_tables()))
        .await
        .expect("import");
    let mut tokens = BTreeMap::new();
    for (name, role) in USERS {
        let user = store
            .create_user(&cli, name, role, &password_hash())
            .await
            .expect("user");
        let token = random_token().expect("token");
        store
            .create_token(
                &cli,
                user.id,
                "tests",
                &token_hash(&token),
                "9999-12-31T00:00:00Z",
            )
            .await
            .expect("token");
        tokens.insert(name, token);
    }
    let state = AppState::new(Arc::clone(&store), Config::default()).expect("state");
    Fixture {
        app: router(state),
        store,
        tokens,
    }
}

struct Reply {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    text: String,
    bytes: Vec<u8>,
}

impl Reply {
    /// A count header (`x-open-count`).
    fn count(&self, name: &str) -> u64 {
        self.headers[name]
            .to_str()
            .expect("text")
            .parse()
            .expect("count")
    }

    /// `X-Open-Count` and `X-Resolved-Count` of a disagreements list.
    fn open_and_resolved(&self) -> (u64, u64) {
        (self.count("x-open-count"), self.count("x-resolved-count"))
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }
}

async fn send(app: &Router, request: Request<Body>) -> Reply {
    let response = app.clone().oneshot(request).await.expect("response");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    Reply {
        status,
        headers,
        text: String::from_utf8_lossy(&bytes).into_owned(),
        bytes: bytes.to_vec(),
    }
}

fn request(method: Method, uri: &str, token: Option<&str>, body: Option<&Value>) -> Request<Body> {
    let mut r = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        r = r.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let body = match body {
        Some(v) => {
            r = r.header(header::CONTENT_TYPE, "application/json");
            Body::from(v.to_string())
        }
        None => Body::empty(),
    };
    r.body(body).expect("request")
}

impl Fixture {
    async fn call(
        &self,
        method: Method,
        uri: &str,
        who: Option<&str>,
        body: Option<&Value>,
    ) -> Reply {
        let token = who.map(|w| self.tokens[w].as_str());
        send(&self.app, request(method, uri, token, body)).await
    }

    async fn ok(&self, method: Method, uri: &str, who: &str, body: Option<&Value>) -> Value {
        let reply = self.call(method.clone(), uri, Some(who), body).await;
        assert!(
            reply.status.is_success(),
            "{method} {uri} as {who}: {} {}",
            reply.status,
            reply.text
        );
        reply.json()
    }

    async fn assign(&self, repeat_share: f64) {
        let body =
            json!({"readers": ["rita", "rolf"], "exams": "both", "repeat_share": repeat_share});
        self.ok(
            Method::POST,
            "/api/studies/s/assignments",
            "dm",
            Some(&body),
        )
        .await;
    }

    /// The disagreements list of study `s`, as the adjudicator gets it.
    async fn disagreements(&self) -> Reply {
        let reply = self
            .call(
                Method::GET,
                "/api/studies/s/disagreements",
                Some("adj"),
                None,
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        reply
    }

    async fn worklist(&self, reader: &str) -> Vec<Value> {
        match self.ok(Method::GET, "/api/worklist", reader, None).await {
            Value::Array(items) => items,
            other => panic!("worklist: {other}"),
        }
    }
}

/// Which roles each operation allows (admins: all). Every operation of the
/// OpenAPI document must be listed, so a new route cannot skip the matrix.
fn allowed() -> BTreeMap<(&'static str, &'static str), &'static [&'static str]> {
    const ALL: &[&str] = &["root", "dm", "rita", "adj", "stat"];
    BTreeMap::from([
        (("GET", "/api/me"), ALL),
        (("POST", "/api/me/password"), ALL),
        (("POST", "/api/logout"), ALL),
        (("GET", "/api/tokens"), ALL),
        (("POST", "/api/tokens"), ALL),
        (("DELETE", "/api/tokens/{id}"), ALL),
        (("GET", "/api/users"), &["root"][..]),
        (("POST", "/api/users"), &["root"][..]),
        (("GET", "/api/studies"), &["root", "dm", "adj", "stat"][..]),
        (
            ("GET", "/api/studies/{study}/patients"),
            &["root", "dm"][..],
        ),
        (
            ("GET", "/api/studies/{study}/patients/{patient_id}"),
            &["root", "dm"][..],
        ),
        (
            ("PATCH", "/api/studies/{study}/patients/{patient_id}"),
            &["root", "dm"][..],
        ),
        (
            ("GET", "/api/studies/{study}/export"),
            &["root", "dm", "stat"][..],
        ),
        (("GET", "/api/studies/{study}/images"), &["root", "dm"][..]),
        (
            ("POST", "/api/studies/{study}/assignments"),
            &["root", "dm"][..],
        ),
        (("GET", "/api/worklist"), &["root", "rita"][..]),
        (("GET", "/api/worklist/{code}"), &["root", "rita"][..]),
        (("PUT", "/api/worklist/{code}"), &["root", "rita"][..]),
        (
            ("GET", "/api/studies/{study}/disagreements"),
            &["root", "adj"][..],
        ),
        (
            ("PUT", "/api/studies/{study}/exams/{exam_id}/consensus"),
            &["root", "adj"][..],
        ),
        (
            ("GET", "/api/studies/{study}/agreement"),
            &["root", "adj", "stat"][..],
        ),
        (("GET", "/api/audit"), &["root"][..]),
        (("GET", "/api/audit/verify"), &["root"][..]),
    ])
}

/// Routes that answer without credentials.
const PUBLIC: [(&str, &str); 2] = [("GET", "/api/health"), ("POST", "/api/login")];

fn operations() -> BTreeSet<(String, String)> {
    let doc = serde_json::to_value(sclerad_server::openapi()).expect("openapi");
    let mut ops = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("item").keys() {
            ops.insert((method.to_uppercase(), path.clone()));
        }
    }
    ops
}

async fn route_role_matrix(store: Arc<dyn Store>) {
    let f = fixture(store).await;
    f.assign(0.0).await;
    let code = f.worklist("rita").await[0]["code"]
        .as_str()
        .expect("code")
        .to_string();
    let p = f.store.study("s").await.expect("read").expect("s");
    let exam = f.store.patients(p.id).await.expect("patients")[1].ct.id;

    let table = allowed();
    let ops = operations();
    let listed: BTreeSet<(String, String)> = table
        .keys()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .chain(PUBLIC.iter().map(|(m, p)| (m.to_string(), p.to_string())))
        .collect();
    assert_eq!(ops, listed, "every operation is in the role matrix");

    for ((method, path), roles) in &table {
        let uri = path
            .replace("{study}", "s")
            .replace("{patient_id}", "P01")
            .replace("{code}", &code)
            .replace("{exam_id}", &exam.to_string())
            .replace("{id}", "999999");
        let method: Method = method.parse().expect("method");
        let body = match method {
            Method::GET => None,
            _ => Some(json!({})),
        };
        let anonymous = f.call(method.clone(), &uri, None, body.as_ref()).await;
        assert_eq!(
            anonymous.status,
            StatusCode::UNAUTHORIZED,
            "{method} {uri} without credentials"
        );
        assert_eq!(anonymous.json()["error"], "unauthenticated");
        let forged = send(
            &f.app,
            request(method.clone(), &uri, Some("not-a-token"), body.as_ref()),
        )
        .await;
        assert_eq!(
            forged.status,
            StatusCode::UNAUTHORIZED,
            "{method} {uri} with a forged token"
        );
        for who in ["root", "dm", "rita", "adj", "stat"] {
            let reply = f.call(method.clone(), &uri, Some(who), body.as_ref()).await;
            if roles.contains(&who) {
                assert!(
                    reply.status != StatusCode::FORBIDDEN
                        && reply.status != StatusCode::UNAUTHORIZED,
                    "{method} {uri} as {who}: {} {}",
                    reply.status,
                    reply.text
                );
            } else {
                assert_eq!(
                    reply.status,
                    StatusCode::FORBIDDEN,
                    "{method} {uri} as {who}: {}",
                    reply.text
                );
                assert_eq!(reply.json()["error"], "forbidden");
            }
            assert!(
                reply.status != StatusCode::INTERNAL_SERVER_ERROR,
                "{method} {uri} as {who}: {}",
                reply.text
            );
        }
    }
    for (method, path) in PUBLIC {
        let method: Method = method.parse().expect("method");
        let body = (method == Method::POST).then(|| json!({"name": "nobody", "password": "x"}));
        let reply = f.call(method, path, None, body.as_ref()).await;
        assert!(reply.status == StatusCode::OK || reply.status == StatusCode::UNAUTHORIZED);
    }
    let doc = f.call(Method::GET, "/api/openapi.json", None, None).await;
    assert_eq!(doc.status, StatusCode::OK);
    assert!(doc.json()["paths"]["/api/worklist/{code}"].is_object());
}

async fn readers_never_see_clinical_data(store: Arc<dyn Store>) {
    let f = fixture(store).await;
    f.assign(0.34).await;
    // The other reader reads first, with findings rita never records.
    for item in f.worklist("rolf").await {
        let findings = if item["modality"] == "ct" {
            json!([{"level": "l5", "segment": "posterior", "morphology": "mass"}])
        } else {
            json!([{"side": "right", "site": "mcp_d5", "lesion": "subluxation", "grade": 3}])
        };
        let code = item["code"].as_str().expect("code");
        let body = json!({"version": 0, "findings": findings});
        let reply = f
            .call(
                Method::PUT,
                &format!("/api/worklist/{code}"),
                Some("rolf"),
                Some(&body),
            )
            .await;
        // A CT that does not reach l5 refuses the finding; that is fine here.
        assert!(
            reply.status == StatusCode::OK || reply.status == StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            reply.text
        );
    }
    let mut seen = String::new();
    for item in f.worklist("rita").await {
        let code = item["code"].as_str().expect("code").to_string();
        seen.push_str(&item.to_string());
        let one = f
            .ok(Method::GET, &format!("/api/worklist/{code}"), "rita", None)
            .await;
        seen.push_str(&one.to_string());
        let findings = if item["modality"] == "ct" {
            json!([{"level": "t12", "segment": "anterior"}])
        } else {
            json!([{"side": "left", "site": "tuft_d2", "lesion": "calcinosis"}])
        };
        let saved = f
            .ok(
                Method::PUT,
                &format!("/api/worklist/{code}"),
                "rita",
                Some(&json!({"version": 0, "findings": findings})),
            )
            .await;
        seen.push_str(&saved.to_string());
    }
    assert!(
        seen.contains("tuft_d2"),
        "the reader's own findings come back"
    );
    for secret in [
        "P01",
        "P02",
        "P03",
        "patient",
        "female",
        "male",
        "lcssc",
        "dcssc",
        "2017-03-01",
        "2016-01-10",
        "2017-06-02",
        "Nancy",
        "épaule",
        "death",
        "age",
        "\"reader",
        "ana",
        "ben",
        "rolf",
        "mcp_d5",
        "subluxation",
        "posterior",
        "mass",
    ] {
        assert!(!seen.contains(secret), "a reader saw {secret:?}: {seen}");
    }
    // Codes differ between readers and between presentations.
    let rita: BTreeSet<String> = f
        .worklist("rita")
        .await
        .iter()
        .map(|w| w["code"].to_string())
        .collect();
    let rolf: BTreeSet<String> = f
        .worklist("rolf")
        .await
        .iter()
        .map(|w| w["code"].to_string())
        .collect();
    assert!(rita.is_disjoint(&rolf));
    assert_eq!(rita.len(), 6 + 2, "3 patients × 2 exams, plus 34 % repeats");
    // Another reader's code is simply not found.
    let theirs = rolf
        .iter()
        .next()
        .expect("code")
        .trim_matches('"')
        .to_string();
    let reply = f
        .call(
            Method::GET,
            &format!("/api/worklist/{theirs}"),
            Some("rita"),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
}

async fn sessions_need_csrf_and_logins_are_throttled(store: Arc<dyn Store>) {
    let f = fixture(store).await;
    let login = |name: &str, password: &str| {
        request(
            Method::POST,
            "/api/login",
            None,
            Some(&json!({"name": name, "password": password})),
        )
    };
    let reply = send(&f.app, login("dm", PASSWORD)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let cookie = reply.headers[header::SET_COOKIE]
        .to_str()
        .expect("cookie")
        .to_string();
    for attribute in ["HttpOnly", "Secure", "SameSite=Strict"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    let session = cookie.split(';').next().expect("pair").to_string();
    let csrf = reply.json()["csrf_token"]
        .as_str()
        .expect("csrf")
        .to_string();
    let with_cookie = |method: Method, uri: &str, csrf: Option<&str>, body: Option<Value>| {
        let mut r = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::COOKIE, &session)
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(c) = csrf {
            r = r.header(CSRF_HEADER, c);
        }
        r.body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
            .expect("request")
    };
    let me = send(&f.app, with_cookie(Method::GET, "/api/me", None, None)).await;
    assert_eq!(me.json()["name"], "dm");
    let edit = json!({"version": 1, "cells": {"death": "yes"}});
    let no_csrf = send(
        &f.app,
        with_cookie(
            Method::PATCH,
            "/api/studies/s/patients/P01",
            None,
            Some(edit.clone()),
        ),
    )
    .await;
    assert_eq!(no_csrf.status, StatusCode::FORBIDDEN);
    let wrong = send(
        &f.app,
        with_cookie(
            Method::PATCH,
            "/api/studies/s/patients/P01",
            Some("0000"),
            Some(edit.clone()),
        ),
    )
    .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    let right = send(
        &f.app,
        with_cookie(
            Method::PATCH,
            "/api/studies/s/patients/P01",
            Some(&csrf),
            Some(edit),
        ),
    )
    .await;
    assert_eq!(right.status, StatusCode::OK, "{}", right.text);
    let out = send(
        &f.app,
        with_cookie(Method::POST, "/api/logout", Some(&csrf), None),
    )
    .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    let after = send(&f.app, with_cookie(Method::GET, "/api/me", None, None)).await;
    assert_eq!(
        after.status,
        StatusCode::UNAUTHORIZED,
        "the session is gone"
    );

    // Five wrong passwords, then even the right one waits.
    for _ in 0..5 {
        assert_eq!(
            send(&f.app, login("stat", "wrong password!")).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    let locked = send(&f.app, login("stat", PASSWORD)).await;
    assert_eq!(
        locked.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        locked.text
    );
    assert!(locked.headers.contains_key(header::RETRY_AFTER));
    let unknown = send(&f.app, login("nobody", PASSWORD)).await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.json()["error"], "unauthenticated");
    // Unknown names are throttled like real ones: no way to tell them apart.
    for _ in 0..4 {
        send(&f.app, login("nobody", PASSWORD)).await;
    }
    let unknown_locked = send(&f.app, login("nobody", PASSWORD)).await;
    assert_eq!(unknown_locked.status, StatusCode::TOO_MANY_REQUESTS);
    // The same wait for both, to the second.
    assert_eq!(locked.headers[header::RETRY_AFTER], "30");
    assert_eq!(unknown_locked.headers[header::RETRY_AFTER], "30");
    assert_eq!(locked.json()["message"], unknown_locked.json()["message"]);

    // A burst of parallel guesses: at most five are checked, the rest wait
    // for the lock.
    let mut guesses = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let app = f.app.clone();
        let request = login("adj", "wrong password!");
        guesses.spawn(async move { send(&app, request).await.status });
    }
    let statuses = guesses.join_all().await;
    let checked = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!((checked, refused), (5, 15));
    // A revoked token stops working at once, even just after use.
    let created = f
        .ok(
            Method::POST,
            "/api/tokens",
            "dm",
            Some(&json!({"label": "script"})),
        )
        .await;
    let token = created["token"].as_str().expect("token").to_string();
    let me = send(&f.app, request(Method::GET, "/api/me", Some(&token), None)).await;
    assert_eq!(me.status, StatusCode::OK);
    // Tokens expire: 90 days unless asked, never past the server's maximum.
    let expires = created["expires_at"].as_str().expect("expiry");
    let in_90 = chrono::Utc::now() + chrono::Duration::days(90);
    let expires_at = chrono::DateTime::parse_from_rfc3339(expires).expect("rfc 3339");
    assert!(
        (expires_at.with_timezone(&chrono::Utc) - in_90)
            .num_seconds()
            .abs()
            < 60
    );
    for days in [0, 366] {
        let refused = f
            .call(
                Method::POST,
                "/api/tokens",
                Some("dm"),
                Some(&json!({"label": "long", "days": days})),
            )
            .await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{days}");
        assert_eq!(refused.json()["field"], "days");
    }
    let short = f
        .ok(
            Method::POST,
            "/api/tokens",
            "dm",
            Some(&json!({"label": "a day", "days": 1})),
        )
        .await;
    assert!(short["expires_at"].as_str().is_some_and(|e| e < expires));
    let listed = f.ok(Method::GET, "/api/tokens", "dm", None).await;
    assert!(listed.to_string().contains("script") && !listed.to_string().contains(&token));
    let id = created["id"].as_i64().expect("id");
    let other = f
        .call(
            Method::DELETE,
            &format!("/api/tokens/{id}"),
            Some("stat"),
            None,
        )
        .await;
    assert_eq!(
        other.status,
        StatusCode::NOT_FOUND,
        "not someone else's token"
    );
    let revoked = send(
        &f.app,
        request(
            Method::DELETE,
            &format!("/api/tokens/{id}"),
            Some(&token),
            None,
        ),
    )
    .await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT);
    let after = send(&f.app, request(Method::GET, "/api/me", Some(&token), None)).await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);
    // NUL and control characters are a failed login, not a server error.
    let odd = send(&f.app, login("a\u{0}b", "x\u{0}")).await;
    assert_eq!(odd.status, StatusCode::UNAUTHORIZED);

    // Logging out everywhere ends every session of the user; a password
    // change ends them too, and the tokens on request.
    let session_of = |reply: &Reply| -> (String, String) {
        let cookie = reply.headers[header::SET_COOKIE]
            .to_str()
            .expect("cookie")
            .split(';')
            .next()
            .expect("pair")
            .to_string();
        let csrf = reply.json()["csrf_token"]
            .as_str()
            .expect("csrf")
            .to_string();
        (cookie, csrf)
    };
    let as_session = |method: Method, uri: &str, s: &(String, String), body: Option<Value>| {
        let mut r = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::COOKIE, &s.0)
            .header(CSRF_HEADER, &s.1);
        if body.is_some() {
            r = r.header(header::CONTENT_TYPE, "application/json");
        }
        r.body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
            .expect("request")
    };
    let one = session_of(&send(&f.app, login("rolf", PASSWORD)).await);
    let two = session_of(&send(&f.app, login("rolf", PASSWORD)).await);
    let me = |s: &(String, String)| as_session(Method::GET, "/api/me", s, None);
    assert_eq!(send(&f.app, me(&two)).await.status, StatusCode::OK);
    let out = send(
        &f.app,
        as_session(Method::POST, "/api/logout?everywhere=true", &one, None),
    )
    .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT, "{}", out.text);
    assert_eq!(
        send(&f.app, me(&two)).await.status,
        StatusCode::UNAUTHORIZED
    );
    let rolf_token = f.tokens["rolf"].clone();
    let by_token = |t: &str| request(Method::GET, "/api/me", Some(t), None);
    assert_eq!(
        send(&f.app, by_token(&rolf_token)).await.status,
        StatusCode::OK
    );

    let three = session_of(&send(&f.app, login("rolf", PASSWORD)).await);
    let change = |current: &str| json!({"current_password": current, "new_password": "a brand new passphrase", "end_tokens": true});
    let wrong = send(
        &f.app,
        as_session(
            Method::POST,
            "/api/me/password",
            &three,
            Some(change("not it at all")),
        ),
    )
    .await;
    assert_eq!(
        wrong.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        wrong.text
    );
    assert_eq!(wrong.json()["field"], "current_password");
    let changed = send(
        &f.app,
        as_session(
            Method::POST,
            "/api/me/password",
            &three,
            Some(change(PASSWORD)),
        ),
    )
    .await;
    assert_eq!(changed.status, StatusCode::NO_CONTENT, "{}", changed.text);
    assert_eq!(
        send(&f.app, me(&three)).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        send(&f.app, by_token(&rolf_token)).await.status,
        StatusCode::UNAUTHORIZED,
        "tokens revoked on request"
    );
    assert_eq!(
        send(&f.app, login("rolf", PASSWORD)).await.status,
        StatusCode::UNAUTHORIZED
    );
    let four = session_of(&send(&f.app, login("rolf", "a brand new passphrase")).await);
    // Guessing the current password through a session is throttled like
    // logging in: five wrong guesses, then a wait.
    for _ in 0..5 {
        let guess = send(
            &f.app,
            as_session(
                Method::POST,
                "/api/me/password",
                &four,
                Some(change("a wrong guess!!")),
            ),
        )
        .await;
        assert_eq!(
            guess.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            guess.text
        );
    }
    let locked = send(
        &f.app,
        as_session(
            Method::POST,
            "/api/me/password",
            &four,
            Some(change("a brand new passphrase")),
        ),
    )
    .await;
    assert_eq!(
        locked.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        locked.text
    );
}

/// A disabled user is stopped at once: the open session, the API token
/// and the next login (refused as a wrong password is); enabled again, the
/// login works and the revoked token stays revoked.
async fn a_disabled_user_is_stopped_at_once(store: Arc<dyn Store>) {
    let f = fixture(store).await;
    let login = || {
        request(
            Method::POST,
            "/api/login",
            None,
            Some(&json!({"name": "rita", "password": PASSWORD})),
        )
    };
    let reply = send(&f.app, login()).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let session = reply.headers[header::SET_COOKIE]
        .to_str()
        .expect("cookie")
        .split(';')
        .next()
        .expect("pair")
        .to_string();
    let me_by_cookie = || {
        Request::builder()
            .uri("/api/me")
            .header(header::COOKIE, &session)
            .body(Body::empty())
            .expect("request")
    };
    // The token is not used before the disable: a token this server saw
    // valid is trusted for TokenCache::TTL without asking the store (a
    // disable through this server clears that at once; one by another
    // process on the store takes at most that long).
    let token = f.tokens["rita"].clone();
    assert_eq!(send(&f.app, me_by_cookie()).await.status, StatusCode::OK);
    assert!(f
        .store
        .token_user(&token_hash(&token), &sclerad_store::now())
        .await
        .expect("read")
        .is_some());

    let rita = f
        .store
        .credentials("rita")
        .await
        .expect("read")
        .expect("rita")
        .user;
    f.store
        .set_disabled(&Actor::command_line("test"), rita.id, true)
        .await
        .expect("disable");
    assert_eq!(
        send(&f.app, me_by_cookie()).await.status,
        StatusCode::UNAUTHORIZED
    );
    let by_token = request(Method::GET, "/api/worklist", Some(&token), None);
    assert_eq!(
        send(&f.app, by_token).await.status,
        StatusCode::UNAUTHORIZED
    );
    let page = Request::builder()
        .uri("/read")
        .header(header::COOKIE, &session)
        .body(Body::empty())
        .expect("request");
    let page = send(&f.app, page).await;
    assert!(
        page.status == StatusCode::SEE_OTHER
            && page.headers[header::LOCATION]
                .to_str()
                .is_ok_and(|l| l.starts_with("/login")),
        "{} {:?}",
        page.status,
        page.headers
    );
    let refused = send(&f.app, login()).await;
    let wrong = send(
        &f.app,
        request(
            Method::POST,
            "/api/login",
            None,
            Some(&json!({"name": "rolf", "password": "not the password"})),
        ),
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        (refused.status, refused.text),
        (wrong.status, wrong.text),
        "refused as a wrong password is"
    );

    f.store
        .set_disabled(&Actor::command_line("test"), rita.id, false)
        .await
        .expect("enable");
    assert_eq!(send(&f.app, login()).await.status, StatusCode::OK);
    let by_token = request(Method::GET, "/api/worklist", Some(&token), None);
    assert_eq!(
        send(&f.app, by_token).await.status,
        StatusCode::UNAUTHORIZED,
        "revoked at the disable"
    );
}

async fn concurrent_edits_lose_nothing(store: Arc<dyn Store>) {
    let f = fixture(store).await;
    let edit = |v: &str| json!({"version": 1, "cells": {"centre_note": v}});
    let (first, second) = (edit("first"), edit("second"));
    let (a, b) = tokio::join!(
        f.call(
            Method::PATCH,
            "/api/studies/s/patients/P02",
            Some("dm"),
            Some(&first)
        ),
        f.call(
            Method::PATCH,
            "/api/studies/s/patients/P02",
            Some("root"),
            Some(&second)
        ),
    );
    let statuses = BTreeSet::from([a.status, b.status]);
    assert_eq!(
        statuses,
        BTreeSet::from([StatusCode::OK, StatusCode::CONFLICT]),
        "{} / {}",
        a.text,
        b.text
    );
    let (winner, loser) = if a.status == StatusCode::OK {
        (&a, &b)
    } else {
        (&b, &a)
    };
    assert_eq!(loser.json()["current_version"], 2);
    let now = f
        .ok(Method::GET, "/api/studies/s/patients/P02", "dm", None)
        .await;
    assert_eq!(
        now["cells"]["centre_note"],
        winner.json()["cells"]["centre_note"]
    );
    assert_eq!(now["version"], 2);
}

async fn hostile_payloads_are_refused_or_stored_inert(store: Arc<dyn Store>) {
    let f = fixture(store).await;
    let uri = "/api/studies/s/patients/P01";
    // Oversized body: 413 before parsing.
    let huge = json!({"version": 1, "cells": {"centre_note": "x".repeat(2 << 20)}});
    let reply = f.call(Method::PATCH, uri, Some("dm"), Some(&huge)).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(reply.json()["error"], "payload_too_large");
    // Malformed JSON, wrong types, unknown fields: 400 with a JSON body.
    let bad = Request::builder()
        .method(Method::PATCH)
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {}", f.tokens["dm"]))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{\"version\": 1, \"cells\": "))
        .expect("request");
    let reply = send(&f.app, bad).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.json()["error"], "bad_request");
    // A body only as JSON, and nothing after the value.
    let raw = |content_type: Option<&str>, body: &'static str| {
        let mut r = Request::builder()
            .method(Method::PATCH)
            .uri(uri)
            .header(header::AUTHORIZATION, format!("Bearer {}", f.tokens["dm"]));
        if let Some(t) = content_type {
            r = r.header(header::CONTENT_TYPE, t);
        }
        r.body(Body::from(body)).expect("request")
    };
    let edit = r#"{"version": 1, "cells": {"centre_note": "n"}}"#;
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
    ] {
        let reply = send(&f.app, raw(content_type, edit)).await;
        assert_eq!(
            reply.status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{content_type:?}"
        );
        assert_eq!(reply.json()["error"], "unsupported_media_type");
    }
    let trailing = r#"{"version": 1, "cells": {"centre_note": "n"}} {"version": 9}"#;
    let reply = send(&f.app, raw(Some("application/json"), trailing)).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    assert!(reply.text.contains("after the value"), "{}", reply.text);
    // A role is checked before the body: 403, not 415, for a reader.
    let mut as_reader = raw(None, edit);
    as_reader.headers_mut().insert(
        header::AUTHORIZATION,
        format!("Bearer {}", f.tokens["rita"])
            .parse()
            .expect("header"),
    );
    assert_eq!(send(&f.app, as_reader).await.status, StatusCode::FORBIDDEN);
    // A password login would refuse cannot be set.
    let long = json!({"name": "longpw", "role": "reader", "password": "p".repeat(1_001)});
    let reply = f
        .call(Method::POST, "/api/users", Some("root"), Some(&long))
        .await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.text
    );
    assert_eq!(reply.json()["field"], "password");
    for body in [
        json!({"version": "one", "cells": {}}),
        json!({"version": 1, "cells": {}, "admin": true}),
    ] {
        let reply = f.call(Method::PATCH, uri, Some("dm"), Some(&body)).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    }
    // Invalid cells: 422 naming the field; nothing written.
    for (cells, field) in [
        (json!({"age_years": "abc"}), "age_years"),
        (json!({"patient_id": "P99"}), "patient_id"),
        (json!({"no_such_column": "1"}), "no_such_column"),
        (json!({"sex": "x"}), "sex"),
        (json!({"centre_note": "a\u{0}b"}), "centre_note"),
    ] {
        let reply = f
            .call(
                Method::PATCH,
                uri,
                Some("dm"),
                Some(&json!({"version": 1, "cells": cells})),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            reply.text
        );
        assert_eq!(reply.json()["field"], field, "{}", reply.text);
    }
    // Injection strings are data: stored and returned unchanged, as JSON.
    let sql = "'; DROP TABLE patients; --";
    let html = "<script>alert('x')</script>";
    let reply = f
        .ok(
            Method::PATCH,
            uri,
            "dm",
            Some(&json!({"version": 1, "cells": {"centre_note": format!("{sql}{html}")}})),
        )
        .await;
    assert_eq!(reply["cells"]["centre_note"], format!("{sql}{html}"));
    let again = f.call(Method::GET, uri, Some("dm"), None).await;
    assert_eq!(again.headers[header::CONTENT_TYPE], "application/json");
    assert_eq!(again.json()["cells"]["centre_note"], format!("{sql}{html}"));
    assert_eq!(
        f.ok(Method::GET, "/api/studies/s/patients", "dm", None)
            .await
            .as_array()
            .map(Vec::len),
        Some(3)
    );
    // Findings that break the format's rules: 422 naming the finding.
    f.assign(0.0).await;
    let hand = f
        .worklist("rita")
        .await
        .into_iter()
        .find(|w| w["modality"] == "hand_radiograph")
        .expect("hand exam");
    let code = hand["code"].as_str().expect("code");
    let wrong = json!({"version": 0, "findings": [{"side": "left", "site": "wrist", "lesion": "acro_osteolysis"}]});
    let reply = f
        .call(
            Method::PUT,
            &format!("/api/worklist/{code}"),
            Some("rita"),
            Some(&wrong),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.json()["field"], "findings[0].site");
    // Odd paths and methods: JSON errors, never a 500.
    let consensus = json!({"version": 0, "findings": []});
    let reply = f
        .call(
            Method::PUT,
            "/api/studies/s/exams/abc/consensus",
            Some("adj"),
            Some(&consensus),
        )
        .await;
    assert_eq!(
        (reply.status, reply.json()["error"].clone()),
        (StatusCode::NOT_FOUND, json!("not_found"))
    );
    let reply = f
        .call(
            Method::PUT,
            "/api/studies/s/exams/abc/consensus",
            Some("rita"),
            Some(&consensus),
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::FORBIDDEN,
        "the role is checked first"
    );
    for uri in [
        "/api/studies/a%00b/patients",
        "/api/worklist/H-%00",
        "/api/studies/s/patients/P%0001",
    ] {
        let who = if uri.contains("worklist") {
            "rita"
        } else {
            "dm"
        };
        let reply = f.call(Method::GET, uri, Some(who), None).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{uri}: {}", reply.text);
    }
    let reply = f
        .call(
            Method::POST,
            "/api/tokens",
            Some("dm"),
            Some(&json!({"label": "a\u{0}b"})),
        )
        .await;
    assert_eq!(
        (reply.status, reply.json()["field"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("label"))
    );
    let reply = f
        .call(Method::GET, "/api/audit?limit=abc", Some("root"), None)
        .await;
    assert_eq!(
        (reply.status, reply.json()["error"].clone()),
        (StatusCode::BAD_REQUEST, json!("bad_request"))
    );
    let reply = f
        .call(Method::DELETE, "/api/worklist", Some("rita"), None)
        .await;
    assert_eq!(
        (reply.status, reply.json()["error"].clone()),
        (StatusCode::METHOD_NOT_ALLOWED, json!("method_not_allowed"))
    );
    let reply = f
        .call(
            Method::PATCH,
            uri,
            Some("dm"),
            Some(&json!({"version": "one", "cells": {}})),
        )
        .await;
    assert_eq!(
        (reply.status, reply.json()["field"].clone()),
        (StatusCode::BAD_REQUEST, json!("version"))
    );
    let reply = f
        .call(
            Method::PUT,
            &format!("/api/worklist/{code}"),
            Some("rita"),
            Some(&json!({"version": 0, "findings": [{"grade": "high"}]})),
        )
        .await;
    assert_eq!(
        (reply.status, reply.json()["field"].clone()),
        (StatusCode::BAD_REQUEST, json!("findings[0].grade"))
    );
    // Assigning twice the same reader, an unknown one, or a reader whose
    // name the imported readings already use.
    f.store
        .create_user(
            &Actor::command_line("test"),
            "ana",
            Role::Reader,
            &password_hash(),
        )
        .await
        .expect("user");
    for (readers, field) in [
        (json!(["ana"]), "readers[0]"),
        (json!(["rita", "rita"]), "readers[1]"),
        (json!(["rita", "nobody"]), "readers[1]"),
    ] {
        let body = json!({"readers": readers, "exams": "ct", "repeat_share": 0.0});
        let reply = f
            .call(
                Method::POST,
                "/api/studies/s/assignments",
                Some("dm"),
                Some(&body),
            )
            .await;
        assert_eq!(
            (reply.status, reply.json()["field"].clone()),
            (StatusCode::UNPROCESSABLE_ENTITY, json!(field)),
            "{}",
            reply.text
        );
    }
    let reply = f
        .call(Method::GET, "/api/no/such/route", Some("rita"), None)
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.json()["error"], "not_found");
}

async fn double_reading_adjudication_agreement_export(store: Arc<dyn Store>) {
    let f = fixture(store).await;
    f.assign(0.5).await;
    // rita sees calcinosis on every hand; rolf sees nothing: every hand
    // exam is a disagreement. On CT both see nothing.
    for (reader, hand) in [
        (
            "rita",
            json!([{"side": "right", "site": "soft_tissue_d3", "lesion": "calcinosis", "grade": 3}]),
        ),
        ("rolf", json!([])),
    ] {
        for item in f.worklist(reader).await {
            let findings = if item["modality"] == "ct" {
                json!([])
            } else {
                hand.clone()
            };
            let code = item["code"].as_str().expect("code");
            f.ok(
                Method::PUT,
                &format!("/api/worklist/{code}"),
                reader,
                Some(&json!({"version": 0, "findings": findings})),
            )
            .await;
        }
    }
    let list = f
        .ok(Method::GET, "/api/studies/s/disagreements", "adj", None)
        .await;
    let list = list.as_array().expect("list");
    // The three hand exams (rita: calcinosis, rolf: none), and P02's CT,
    // where the imported reader ana saw a canal calcification and the two
    // server readers nothing. The other CTs agree and are not listed.
    let study = f.store.study("s").await.expect("read").expect("s");
    let patients = f.store.patients(study.id).await.expect("patients");
    let mut expected: Vec<i64> = patients.iter().map(|p| p.hand_radiograph.id).collect();
    expected.push(patients[1].ct.id);
    expected.sort();
    let mut listed: Vec<i64> = list
        .iter()
        .map(|d| d["exam_id"].as_i64().expect("id"))
        .collect();
    listed.sort();
    assert_eq!(listed, expected, "{list:?}");
    for d in list {
        assert!(!d.to_string().contains("P0"), "no patient identifiers: {d}");
    }
    let p01 = list
        .iter()
        .find(|d| d["exam_id"] == patients[0].hand_radiograph.id)
        .expect("P01 hand");
    assert_eq!(p01["flags"], json!(["acro_osteolysis", "calcinosis"]));
    let readers: BTreeSet<&str> = p01["readings"]
        .as_array()
        .expect("readings")
        .iter()
        .filter_map(|r| r["reader"].as_str())
        .collect();
    assert_eq!(readers, BTreeSet::from(["ana", "ben", "rita", "rolf"]));

    let exam = patients[2].hand_radiograph.id;
    let consensus = json!({"version": 0, "findings": [{"side": "right", "site": "soft_tissue_d3", "lesion": "calcinosis"}]});
    let saved = f
        .ok(
            Method::PUT,
            &format!("/api/studies/s/exams/{exam}/consensus"),
            "adj",
            Some(&consensus),
        )
        .await;
    assert_eq!(saved["version"], 1);
    let stale = f
        .call(
            Method::PUT,
            &format!("/api/studies/s/exams/{exam}/consensus"),
            Some("adj"),
            Some(&consensus),
        )
        .await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    assert_eq!(stale.json()["current_version"], 1);

    // A reader's findings, exactly as the list gives them, are a valid
    // consensus (grades as numbers, foraminal as a boolean); the exam is
    // then resolved, shows its consensus and leaves the open part of the
    // list, which comes first.
    let listed = f.disagreements().await;
    let (open, resolved) = (
        listed.count("x-open-count"),
        listed.count("x-resolved-count"),
    );
    // The consensus saved above, and the sample's imported ones.
    assert!(resolved >= 1);
    let items = listed.json();
    let items = items.as_array().expect("list").clone();
    assert!(items
        .iter()
        .take(open as usize)
        .all(|d| d["resolved"] == false));
    let done = items
        .iter()
        .find(|d| d["exam_id"] == exam)
        .expect("resolved exam");
    assert_eq!(
        (done["resolved"].clone(), done["consensus_version"].clone()),
        (json!(true), json!(1))
    );
    assert_eq!(done["consensus"], consensus["findings"]);
    let ct = items
        .iter()
        .find(|d| d["resolved"] == false && d["modality"] == "ct")
        .expect("an open CT disagreement");
    let taken = ct["readings"]
        .as_array()
        .expect("readings")
        .iter()
        .find(|r| !r["findings"].as_array().expect("findings").is_empty())
        .expect("a reader who found something");
    for finding in taken["findings"].as_array().expect("findings") {
        assert!(
            finding.get("foraminal").is_none_or(Value::is_boolean),
            "{finding}"
        );
    }
    let body = json!({"version": ct["consensus_version"], "findings": taken["findings"]});
    let saved = f
        .ok(
            Method::PUT,
            &format!("/api/studies/s/exams/{}/consensus", ct["exam_id"]),
            "adj",
            Some(&body),
        )
        .await;
    assert_eq!(saved["findings"], taken["findings"]);
    let after = f.disagreements().await;
    assert_eq!(after.count("x-open-count"), open - 1);
    // An imported consensus is the exam's consensus: a save takes it over
    // (its version), and the exam still has one consensus reading.
    let imported = items
        .iter()
        .find(|d| d["resolved"] == true && d["exam_id"] != exam)
        .expect("an exam resolved by an imported consensus");
    let body = json!({"version": imported["consensus_version"], "findings": []});
    let uri = format!("/api/studies/s/exams/{}/consensus", imported["exam_id"]);
    let taken = f.ok(Method::PUT, &uri, "adj", Some(&body)).await;
    assert_eq!(
        taken["version"],
        imported["consensus_version"].as_i64().expect("v") + 1
    );
    let study = f.store.study("s").await.expect("read").expect("s");
    let consensus_readings = f
        .store
        .readings(study.id)
        .await
        .expect("readings")
        .into_iter()
        .filter(|r| {
            r.exam_id == imported["exam_id"].as_i64().expect("id") && r.reader == "consensus"
        })
        .count();
    assert_eq!(consensus_readings, 1);
    assert_eq!(after.count("x-resolved-count"), resolved + 1);
    let rita = items
        .iter()
        .flat_map(|d| d["readings"].as_array().expect("readings").iter())
        .find(|r| r["reader"] == "rita")
        .expect("rita's reading");
    assert_eq!(
        rita["findings"],
        json!([{"side": "right", "site": "soft_tissue_d3", "lesion": "calcinosis", "grade": 3}]),
        "grades are numbers"
    );

    let agreement = f
        .ok(Method::GET, "/api/studies/s/agreement", "stat", None)
        .await;
    let rows = agreement["rows"].as_array().expect("rows");
    let row = |kind: &str, a: &str, b: &str, flag: &str| {
        rows.iter()
            .find(|r| {
                r["kind"] == kind
                    && r["reader_a"] == a
                    && r["reader_b"] == b
                    && r["variable"] == flag
            })
            .unwrap_or_else(|| panic!("no {kind} {a}/{b} {flag} row in {agreement}"))
            .clone()
    };
    // rita always yes, rolf always no: no agreement beyond chance.
    let calcinosis = row("inter", "rita", "rolf", "calcinosis");
    assert_eq!(
        (
            calcinosis["n"].as_u64(),
            calcinosis["percent_agreement"].as_f64()
        ),
        (Some(3), Some(0.0))
    );
    assert_eq!(calcinosis["kappa"].as_f64(), Some(0.0));
    // Both agree on every CT (nothing): kappa is undefined, agreement 1.
    let canal = row("inter", "rita", "rolf", "spine_canal");
    assert_eq!(
        (canal["percent_agreement"].as_f64(), canal["kappa"].as_f64()),
        (Some(100.0), None)
    );
    assert!(canal["note"].is_string());
    assert!(
        rows.iter().all(|r| {
            let inside = |v: &Value| v.as_f64().is_none_or(|x| (-1.0..=1.0).contains(&x));
            inside(&r["kappa_ci_low"]) && inside(&r["kappa_ci_high"])
        }),
        "every interval inside [-1, 1]"
    );
    // Repeats were read as the first time: perfect intra-reader agreement.
    let intra: Vec<&Value> = rows.iter().filter(|r| r["kind"] == "intra").collect();
    assert!(!intra.is_empty());
    assert!(
        intra
            .iter()
            .all(|r| r["percent_agreement"].as_f64() == Some(100.0)),
        "{intra:?}"
    );
    assert_eq!(
        agreement["readings"]["repeat"].as_u64(),
        Some(6),
        "3 repeats for each reader"
    );

    let export = f
        .ok(Method::GET, "/api/studies/s/export", "stat", None)
        .await;
    let mut readers: BTreeSet<String> = BTreeSet::new();
    for table in ["hand_readings", "spine_readings"] {
        for r in export[table]["rows"].as_array().expect("rows") {
            readers.insert(r[1].as_str().unwrap_or("").to_string());
        }
    }
    for r in [
        "ana",
        "ben",
        "rita",
        "rolf",
        "rita#repeat",
        "rolf#repeat",
        "consensus",
    ] {
        assert!(readers.contains(r), "{r} in {readers:?}");
    }
    let verify = f.ok(Method::GET, "/api/audit/verify", "root", None).await;
    assert_eq!(verify["intact"], true, "{verify}");
    let events = f
        .ok(Method::GET, "/api/audit?after=0&limit=1000", "root", None)
        .await;
    let actors: BTreeSet<String> = events
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["actor"].as_str().unwrap_or("").to_string())
        .collect();
    for who in ["dm", "rita", "rolf", "adj"] {
        assert!(actors.contains(who), "{who} in the audit trail: {actors:?}");
    }
}

/// Lists come a page at a time: `limit` and `offset`, the whole length in
/// `X-Total-Count`, a `Link` to the next page; walking the links gives the
/// whole list once, in order.
async fn lists_are_paged(store: Arc<dyn Store>) {
    let f = fixture(store).await;
    f.assign(0.5).await;
    let whole = f.worklist("rita").await;
    assert!(whole.len() >= 4, "{}", whole.len());
    let mut walked = Vec::new();
    let mut uri = "/api/worklist?limit=2".to_string();
    loop {
        let reply = f.call(Method::GET, &uri, Some("rita"), None).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        assert_eq!(
            reply.headers["x-total-count"],
            whole.len().to_string().as_str()
        );
        let page = reply.json();
        let page = page.as_array().expect("array");
        assert!(page.len() <= 2);
        walked.extend(page.iter().cloned());
        let Some(link) = reply.headers.get(header::LINK) else {
            break;
        };
        let link = link.to_str().expect("ascii");
        let next = link
            .strip_prefix("<?")
            .and_then(|l| l.split_once(">; rel=\"next\""))
            .map(|(q, _)| q)
            .unwrap_or_else(|| panic!("{link}"));
        uri = format!("/api/worklist?{next}");
    }
    assert_eq!(walked, whole);

    for (uri, who, total) in [
        ("/api/studies/s/patients?limit=1&offset=1", "dm", 3),
        ("/api/users?limit=1", "root", 6),
        ("/api/studies?limit=1", "dm", 1),
    ] {
        let reply = f.call(Method::GET, uri, Some(who), None).await;
        assert_eq!(reply.status, StatusCode::OK, "{uri}: {}", reply.text);
        assert_eq!(reply.json().as_array().map(Vec::len), Some(1), "{uri}");
        assert_eq!(reply.headers["x-total-count"], total.to_string().as_str());
    }
    let second = f
        .ok(
            Method::GET,
            "/api/studies/s/patients?limit=1&offset=1",
            "dm",
            None,
        )
        .await;
    assert_eq!(second[0]["patient_id"], "P02");
    // Past the end: an empty page; limits above 1000 are brought down.
    let past = f
        .ok(Method::GET, "/api/studies/s/patients?offset=99", "dm", None)
        .await;
    assert_eq!(past, json!([]));
    let bad = f
        .call(Method::GET, "/api/worklist?limit=-1", Some("rita"), None)
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

/// The export is streamed a page at a time; across several pages of
/// patients and readings it is exactly the study's tables joined whole.
async fn exports_stream_the_whole_study(store: Arc<dyn Store>) {
    let f = fixture(store).await;
    let cohort = sclerad_synth::generate(&sclerad_synth::SynthOptions {
        // More than one import batch (2,000 rows) of patients too.
        patients: 2100,
        seed: 7,
        readings: sclerad_synth::ReadingsMode::Long(vec!["rad1".into(), "rad2".into()]),
        ..Default::default()
    });
    let tables = sclerad_bundle::TextTables::of(&cohort);
    let import = StudyImport::from_tables(&tables);
    let study = f
        .store
        .import_study(&Actor::command_line("t"), "big", &import)
        .await
        .expect("import")
        .study;
    let patients = f.store.patients(study.id).await.expect("patients");
    let readings = f.store.readings(study.id).await.expect("readings");
    assert!(
        readings.len() > 250,
        "more than two pages: {}",
        readings.len()
    );
    // Imported in several batches, every row digested as written.
    let proved = sclerad_store::verify_audit(f.store.as_ref())
        .await
        .expect("read")
        .expect("the trail proves the rows");
    assert!(proved.rows as usize > patients.len() * 3 + readings.len());
    let whole = sclerad_store::to_tables(&study.columns, &patients, &readings);
    let view = |t: Option<sclerad_bundle::TextTable>| match t {
        Some(t) => json!({"columns": t.columns, "rows": t.rows}),
        None => Value::Null,
    };
    let expected = json!({
        "patients": view(Some(whole.patients)),
        "hand_readings": view(whole.hand_readings),
        "spine_readings": view(whole.spine_readings),
    });
    let reply = f
        .call(Method::GET, "/api/studies/big/export", Some("stat"), None)
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.headers[header::CONTENT_TYPE], "application/json");
    assert_eq!(reply.json(), expected);
    // The small study, whose readings tables hold only some readers.
    let small = f
        .ok(Method::GET, "/api/studies/s/export", "stat", None)
        .await;
    let s = f.store.study("s").await.expect("read").expect("s");
    let whole = sclerad_store::to_tables(
        &s.columns,
        &f.store.patients(s.id).await.expect("patients"),
        &f.store.readings(s.id).await.expect("readings"),
    );
    assert_eq!(small["patients"]["rows"], json!(whole.patients.rows));
    assert_eq!(small["hand_readings"], view(whole.hand_readings), "{small}");
}

macro_rules! on_both_backends {
    ($($check:ident),+ $(,)?) => {
        mod sqlite_backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    let Some(store) = super::sqlite().await else { return };
                    super::$check(store).await;
                }
            )+
        }
        mod postgres_backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    let Some(store) = super::postgres().await else { return };
                    super::$check(store).await;
                }
            )+
        }
    };
}

on_both_backends!(
    route_role_matrix,
    readers_never_see_clinical_data,
    sessions_need_csrf_and_logins_are_throttled,
    a_disabled_user_is_stopped_at_once,
    concurrent_edits_lose_nothing,
    hostile_payloads_are_refused_or_stored_inert,
    double_reading_adjudication_agreement_export,
    lists_are_paged,
    exports_stream_the_whole_study,
    reader_pages_read_save_and_stay_blind,
    adjudicator_pages_compare_accept_and_resolve,
    page_route_role_matrix,
    first_start_creates_one_admin_once,
    admin_pages_manage_users_tokens_and_the_trail,
    users_change_their_password_and_keep_their_tokens,
    data_manager_uploads_a_bundle_as_a_new_study,
    data_manager_grows_a_study_from_its_page,
    data_manager_lists_and_edits_patients,
    data_manager_builds_partial_worklists,
    analyst_runs_the_analysis_and_reproduces_it,
    data_manager_imports_a_study_from_redcap,
    data_manager_takes_images_in_from_the_page,
    images_are_read_through_the_readers_code_only,
);

/// The OpenAPI schemas of findings and agreement rows describe exactly the
/// fields the API sends (the model's `Finding`, the analysis's
/// `Agreement`), so the document cannot drift from the types.
#[test]
fn schemas_name_the_fields_the_api_sends() {
    let doc = serde_json::to_value(sclerad_server::openapi()).expect("openapi");
    let properties = |schema: &str| -> BTreeSet<String> {
        doc["components"]["schemas"][schema]["properties"]
            .as_object()
            .unwrap_or_else(|| panic!("no schema {schema}"))
            .keys()
            .cloned()
            .collect()
    };
    let keys =
        |v: Value| -> BTreeSet<String> { v.as_object().expect("object").keys().cloned().collect() };
    let finding = sclerad_model::Finding {
        side: Some("left".into()),
        site: Some("tuft_d1".into()),
        lesion: Some("calcinosis".into()),
        grade: Some(1),
        level: Some("t4".into()),
        segment: Some("canal".into()),
        foraminal: Some(true),
        morphology: Some("nodular".into()),
        image_uid: Some("2.25.1".into()),
        frame: Some(1),
        x: Some(1.5),
        y: Some(2.0),
    };
    assert_eq!(
        properties("Finding"),
        keys(serde_json::to_value(finding).expect("json"))
    );
    let row = sclerad_analysis::results::Agreement {
        kind: sclerad_analysis::results::AgreementKind::Intra,
        modality: sclerad_model::Modality::Ct,
        variable: "spine_canal".into(),
        reader_a: "a".into(),
        reader_b: "a".into(),
        n: 1,
        both_yes: 1,
        both_no: 0,
        percent_agreement: Some(100.0),
        kappa: None,
        kappa_se: None,
        kappa_ci_low: None,
        kappa_ci_high: None,
        pabak: Some(1.0),
        landis_koch: None,
        graded_n: Some(3),
        weighted_kappa: Some(0.5),
        weighted_kappa_se: Some(0.1),
        note: Some("undefined".into()),
    };
    assert_eq!(
        properties("AgreementRow"),
        keys(serde_json::to_value(row).expect("json"))
    );
}
