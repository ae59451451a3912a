//! The admin's pages: users (create, change role, disable and enable,
//! reset a password), every user's API tokens (list, revoke), and the
//! audit trail (a filtered view, "verify", and the head to keep as an
//! anchor). Every change is a plain form; the store records it.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use sclerad_store::{Anchor, AuditEvent, AuditFailure, AuditFilter, Role, StoreError, User};
use serde::Deserialize;

use super::account::sentence;
use super::{encode, render, PageError, Viewer};
use crate::{AppError, AppState};

/// A user row of the users page.
struct UserRow {
    user: User,
    tokens: usize,
}

/// What the last change did, shown once after the redirect.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Done {
    /// A user was created.
    Created,
    /// A role was changed.
    Role,
    /// A user was disabled.
    Disabled,
    /// A user was enabled.
    Enabled,
    /// A password was reset.
    Password,
    /// A token was revoked.
    Revoked,
}

/// The users page's query: what was just done, to whom.
#[derive(Debug, Default, Deserialize)]
pub struct DoneQuery {
    done: Option<Done>,
    #[serde(default)]
    user: String,
}

impl DoneQuery {
    /// The sentence the page shows for it.
    fn notice(&self) -> Option<String> {
        let who = &self.user;
        Some(match self.done? {
            Done::Created => format!("{who} was created."),
            Done::Role => format!(
                "{who} has a new role; their sessions ended and their API tokens were revoked."
            ),
            Done::Disabled => format!(
                "{who} is disabled: their sessions ended and their API tokens were revoked."
            ),
            Done::Enabled => format!("{who} is enabled again and can log in."),
            Done::Password => format!(
                "{who}'s password was reset; their sessions ended and their API tokens were revoked."
            ),
            Done::Revoked => format!("The API token of {who} was revoked."),
        })
    }
}

/// A refused form: which field (or `user` for a row's action), and why.
struct Problem {
    field: &'static str,
    message: String,
}

#[derive(Template)]
#[template(path = "admin/users.html")]
struct UsersPage {
    viewer: Viewer,
    rows: Vec<UserRow>,
    roles: &'static [Role],
    notice: Option<String>,
    problem: Option<Problem>,
    /// The create form's name and role, kept when it is refused.
    name: String,
    role: String,
    min_length: usize,
}

impl UsersPage {
    /// Whether the create form's field `field` was refused.
    fn refused(&self, field: &str) -> bool {
        self.problem.as_ref().is_some_and(|p| p.field == field)
    }
}

async fn users_page(
    state: &AppState,
    viewer: Viewer,
    status: StatusCode,
    notice: Option<String>,
    problem: Option<Problem>,
    create: (String, String),
) -> Result<Response, PageError> {
    let mut rows = Vec::new();
    for user in state.store.users().await? {
        let tokens = state.store.tokens(user.id).await?.len();
        rows.push(UserRow { user, tokens });
    }
    Ok(render(
        status,
        &UsersPage {
            viewer,
            rows,
            roles: Role::ALL,
            notice,
            problem,
            name: create.0,
            role: create.1,
            min_length: sclerad_store::password::MIN_LENGTH,
        },
    ))
}

/// The users, with a form to create one and each user's actions.
pub async fn users(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<DoneQuery>,
) -> Result<Response, PageError> {
    viewer.require(Role::Admin)?;
    let notice = q.notice();
    users_page(
        &state,
        viewer,
        StatusCode::OK,
        notice,
        None,
        (String::new(), Role::Reader.code().into()),
    )
    .await
}

/// The create form's fields.
#[derive(Debug, Deserialize)]
pub struct NewUserForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    password: String,
}

impl Done {
    /// Its query value (as deserialised).
    fn code(self) -> &'static str {
        match self {
            Done::Created => "created",
            Done::Role => "role",
            Done::Disabled => "disabled",
            Done::Enabled => "enabled",
            Done::Password => "password",
            Done::Revoked => "revoked",
        }
    }
}

/// The page that shows `what` was done to `name`'s account: the tokens
/// page for a revoked token, else the users page.
fn done(what: Done, name: &str) -> Response {
    let page = if what == Done::Revoked {
        "/admin/tokens"
    } else {
        "/admin/users"
    };
    Redirect::to(&format!(
        "{page}?done={}&user={}",
        what.code(),
        encode(name)
    ))
    .into_response()
}

/// A password hashed on a blocking thread; the rules' refusal as a
/// problem of `field`.
async fn hashed(
    password: String,
    field: &'static str,
) -> Result<Result<String, Problem>, AppError> {
    let hashed = tokio::task::spawn_blocking(move || sclerad_store::password::hash(&password))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(match hashed {
        Ok(hash) => Ok(hash),
        Err(sclerad_store::password::PasswordError::Hashing(e)) => {
            return Err(AppError::Internal(e))
        }
        Err(e) => Err(Problem {
            field,
            message: sentence(&e.to_string()),
        }),
    })
}

/// Creates a user.
pub async fn create_user(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<NewUserForm>,
) -> Result<Response, PageError> {
    viewer.require(Role::Admin)?;
    viewer.check_csrf(&form.csrf)?;
    let kept = (form.name.clone(), form.role.clone());
    let refuse = |problem: Problem, viewer: Viewer| {
        users_page(
            &state,
            viewer,
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            Some(problem),
            kept.clone(),
        )
    };
    let name = form.name.trim();
    if let Err(e) = sclerad_store::check_user_name(name) {
        let message = match e {
            StoreError::Invalid { message, .. } => sentence(&message),
            other => return Err(other.into()),
        };
        return refuse(
            Problem {
                field: "name",
                message,
            },
            viewer,
        )
        .await;
    }
    let Some(role) = Role::parse(&form.role) else {
        return refuse(
            Problem {
                field: "role",
                message: format!("Choose one of {}.", Role::expected()),
            },
            viewer,
        )
        .await;
    };
    let hash = match hashed(form.password, "password").await? {
        Ok(hash) => hash,
        Err(problem) => return refuse(problem, viewer).await,
    };
    match state
        .store
        .create_user(&viewer.actor(), name, role, &hash)
        .await
    {
        Ok(user) => Ok(done(Done::Created, &user.name)),
        Err(StoreError::Invalid { message, .. }) => {
            refuse(
                Problem {
                    field: "name",
                    message: sentence(&message),
                },
                viewer,
            )
            .await
        }
        Err(StoreError::AlreadyExists { .. }) => {
            refuse(
                Problem {
                    field: "name",
                    message: format!("There is a user named {name:?} already."),
                },
                viewer,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

/// What a user row's forms send: the action (the button pressed) and
/// its field.
#[derive(Debug, Deserialize)]
pub struct UserChangeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    password: String,
}

/// Changes user `id`: `role`, `disable`, `enable` or `reset-password`.
/// Each ends the user's sessions and revokes their tokens (but enable).
pub async fn change_user(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<UserChangeForm>,
) -> Result<Response, PageError> {
    viewer.require(Role::Admin)?;
    viewer.check_csrf(&form.csrf)?;
    let users = state.store.users().await?;
    let user = id
        .parse::<i64>()
        .ok()
        .and_then(|id| users.into_iter().find(|u| u.id == id))
        .ok_or_else(|| AppError::NotFound(format!("user {id:?} not found")))?;
    let actor = viewer.actor();
    let refuse = |message: String, viewer: Viewer| {
        users_page(
            &state,
            viewer,
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            Some(Problem {
                field: "user",
                message: format!("{}: {}", user.name, sentence(&message)),
            }),
            (String::new(), Role::Reader.code().into()),
        )
    };
    let changed = match form.action.as_str() {
        "role" => {
            let Some(role) = Role::parse(&form.role) else {
                return refuse(format!("choose one of {}", Role::expected()), viewer).await;
            };
            state
                .store
                .set_role(&actor, user.id, role)
                .await
                .map(|_| Done::Role)
        }
        "disable" => state
            .store
            .set_disabled(&actor, user.id, true)
            .await
            .map(|_| Done::Disabled),
        "enable" => state
            .store
            .set_disabled(&actor, user.id, false)
            .await
            .map(|_| Done::Enabled),
        "reset-password" => {
            let hash = match hashed(form.password, "user").await? {
                Ok(hash) => hash,
                Err(problem) => return refuse(problem.message, viewer).await,
            };
            state
                .store
                .set_password(&actor, user.id, &hash, true)
                .await
                .map(|()| Done::Password)
        }
        other => {
            return Err(AppError::invalid(
                "action",
                format!("{other:?}: expected role, disable, enable or reset-password"),
            )
            .into())
        }
    };
    match changed {
        Ok(what) => {
            // Tokens this server trusted for a while are asked about again.
            state.tokens.clear();
            Ok(done(what, &user.name))
        }
        Err(StoreError::Invalid { message, .. }) => refuse(message, viewer).await,
        Err(e) => Err(e.into()),
    }
}

/// A token row of the tokens page.
struct TokenRow {
    id: i64,
    user: String,
    label: String,
    created_at: String,
    expires_at: String,
    expired: bool,
}

#[derive(Template)]
#[template(path = "admin/tokens.html")]
struct TokensPage {
    viewer: Viewer,
    rows: Vec<TokenRow>,
    notice: Option<String>,
    days_default: u32,
    days_max: u32,
}

/// Every user's API tokens (never their secrets), soonest to expire first.
pub async fn tokens(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<DoneQuery>,
) -> Result<Response, PageError> {
    viewer.require(Role::Admin)?;
    let now = sclerad_store::now();
    let mut rows = Vec::new();
    for user in state.store.users().await? {
        for t in state.store.tokens(user.id).await? {
            rows.push(TokenRow {
                id: t.id,
                user: user.name.clone(),
                label: t.label,
                expired: t.expires_at <= now,
                created_at: t.created_at,
                expires_at: t.expires_at,
            });
        }
    }
    rows.sort_by(|a, b| (&a.expires_at, a.id).cmp(&(&b.expires_at, b.id)));
    Ok(render(
        StatusCode::OK,
        &TokensPage {
            notice: q.notice(),
            viewer,
            rows,
            days_default: state
                .config
                .token_days_default
                .min(state.config.token_days_max),
            days_max: state.config.token_days_max,
        },
    ))
}

/// A form with only its CSRF field.
#[derive(Debug, Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

/// Revokes any user's token `id`.
pub async fn revoke_token(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, PageError> {
    viewer.require(Role::Admin)?;
    viewer.check_csrf(&form.csrf)?;
    let not_found = || AppError::NotFound(format!("API token {id:?} not found"));
    let id: i64 = id.parse().map_err(|_| not_found())?;
    let mut owner = None;
    for user in state.store.users().await? {
        if state
            .store
            .tokens(user.id)
            .await?
            .iter()
            .any(|t| t.id == id)
        {
            owner = Some(user.name);
            break;
        }
    }
    let owner = owner.ok_or_else(not_found)?;
    state.store.revoke_token(&viewer.actor(), id, None).await?;
    state.tokens.clear();
    Ok(done(Done::Revoked, &owner))
}

/// How many events the audit view shows a page.
const AUDIT_PAGE: i64 = 100;

/// The audit view's filter, as its form sends it (empty fields: any).
#[derive(Debug, Default, Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    entity: String,
    #[serde(default)]
    record: String,
    /// First day (YYYY-MM-DD), included.
    #[serde(default)]
    from: String,
    /// Last day (YYYY-MM-DD), included.
    #[serde(default)]
    until: String,
    /// Events before this sequence number (the next page back).
    #[serde(default)]
    before: Option<i64>,
}

impl AuditQuery {
    /// The store's filter, or the field that is not a day.
    fn filter(&self) -> Result<AuditFilter, Problem> {
        let text = |t: &str| {
            let t = t.trim();
            (!t.is_empty()).then(|| t.to_string())
        };
        let day = |field: &'static str, t: &str| -> Result<Option<chrono::NaiveDate>, Problem> {
            let t = t.trim();
            if t.is_empty() {
                return Ok(None);
            }
            chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d")
                .map(Some)
                .map_err(|_| Problem {
                    field,
                    message: format!("{t:?} is not a day: write it as 2026-12-03."),
                })
        };
        let from = day("from", &self.from)?;
        let until = day("until", &self.until)?;
        Ok(AuditFilter {
            actor: text(&self.actor),
            action: text(&self.action),
            entity: text(&self.entity),
            entity_id: text(&self.record),
            from: from.map(|d| d.format("%Y-%m-%d").to_string()),
            // Up to the end of that day: before the next one starts.
            until: until
                .and_then(|d| d.succ_opt())
                .map(|d| d.format("%Y-%m-%d").to_string()),
        })
    }

    /// This filter's query string, for the next page's link.
    fn query(&self, before: i64) -> String {
        let pairs = [
            ("actor", &self.actor),
            ("action", &self.action),
            ("entity", &self.entity),
            ("record", &self.record),
            ("from", &self.from),
            ("until", &self.until),
        ];
        let mut q: Vec<String> = pairs
            .iter()
            .filter(|(_, v)| !v.trim().is_empty())
            .map(|(k, v)| format!("{k}={}", encode(v.trim())))
            .collect();
        q.push(format!("before={before}"));
        q.join("&")
    }
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditPage {
    viewer: Viewer,
    q: AuditQuery,
    events: Vec<AuditEvent>,
    problem: Option<Problem>,
    head: Option<(i64, String)>,
    older: Option<String>,
    cut: usize,
}

impl AuditPage {
    /// Whether the filter's field `field` was refused.
    fn refused(&self, field: &str) -> bool {
        self.problem.as_ref().is_some_and(|p| p.field == field)
    }
}

/// The audit trail, newest first, filtered; the chain head to copy.
pub async fn audit(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<AuditQuery>,
) -> Result<Response, PageError> {
    viewer.require(Role::Admin)?;
    let head = state.store.audit_head().await?;
    let (status, events, problem, older) = match q.filter() {
        Ok(filter) => {
            let events = state
                .store
                .audit_search(&filter, q.before, AUDIT_PAGE + 1)
                .await?;
            let more = events.len() > usize::try_from(AUDIT_PAGE).unwrap_or(100);
            let mut events = events;
            events.truncate(usize::try_from(AUDIT_PAGE).unwrap_or(100));
            let older = more
                .then(|| {
                    events
                        .last()
                        .map(|e| format!("/admin/audit?{}", q.query(e.seq)))
                })
                .flatten();
            (StatusCode::OK, events, None, older)
        }
        Err(problem) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Vec::new(),
            Some(problem),
            None,
        ),
    };
    Ok(render(
        status,
        &AuditPage {
            viewer,
            q,
            events,
            problem,
            head,
            older,
            cut: sclerad_store::audit::SEARCH_RECORD_CHARS,
        },
    ))
}

/// What "verify" found.
enum Outcome {
    Intact { events: i64, rows: u64 },
    Broken { message: String },
}

#[derive(Template)]
#[template(path = "admin/verify.html")]
struct VerifyPage {
    viewer: Viewer,
    outcome: Option<Outcome>,
    anchors: String,
    problem: Option<String>,
    head: Option<(i64, String)>,
}

/// The verify form's anchors (`SEQ:HASH`, one a line or separated by
/// spaces).
#[derive(Debug, Default, Deserialize)]
pub struct VerifyQuery {
    #[serde(default)]
    anchors: String,
    #[serde(default)]
    run: Option<String>,
}

/// Verifies the whole trail and every current row against it, with the
/// anchors given, and says what a trail without anchors cannot prove.
pub async fn verify(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<VerifyQuery>,
) -> Result<Response, PageError> {
    viewer.require(Role::Admin)?;
    let anchors: Result<Vec<Anchor>, String> =
        q.anchors.split_whitespace().map(str::parse).collect();
    let (status, outcome, problem) = match anchors {
        Err(e) => (StatusCode::UNPROCESSABLE_ENTITY, None, Some(sentence(&e))),
        Ok(_) if q.run.is_none() => (StatusCode::OK, None, None),
        Ok(anchors) => {
            let outcome = match state.store.verify_trail(&anchors).await? {
                Ok(v) => Outcome::Intact {
                    events: v.events,
                    rows: v.rows,
                },
                Err(failure) => Outcome::Broken {
                    message: match &failure {
                        AuditFailure::Chain(broken) => {
                            format!("Event {} is broken: {}", broken.seq, broken.reason)
                        }
                        AuditFailure::Rows { .. } => {
                            format!("The data is not what the trail records: {failure}")
                        }
                    },
                },
            };
            (StatusCode::OK, Some(outcome), None)
        }
    };
    let head = state.store.audit_head().await?;
    Ok(render(
        status,
        &VerifyPage {
            viewer,
            outcome,
            anchors: q.anchors,
            problem,
            head,
        },
    ))
}
