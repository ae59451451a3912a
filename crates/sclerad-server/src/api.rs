//! The JSON API under `/api/`. Every handler names the roles it allows
//! (admins may do everything), takes its body through [`ApiJson`] and
//! answers errors as [`AppError`]. The OpenAPI document is generated from
//! the `#[utoipa::path]` attributes here.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sclerad_model::LevelSet;
use sclerad_store::{blinding, to_tables, Exam, PatientRecord, ReadingKind, Role, Study, WorkItem};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{
    lock_seconds, plain_text, random_code, random_token, token_hash, Caller, SESSION_COOKIE,
};
use crate::findings::{self, Coverage, Finding};
use crate::review::{self, AgreementRow, Disagreement};
use crate::{patients, ApiJson, ApiPath, ApiQuery, AppError, AppState, ErrorBody, JsonBody};

type ApiResult<T> = Result<ApiJson<T>, AppError>;

const EVERYONE: &[Role] = &[
    Role::Admin,
    Role::DataManager,
    Role::Reader,
    Role::Adjudicator,
    Role::Analyst,
];

// ---------------------------------------------------------------- health

/// Liveness.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// Always `ok`.
    pub status: &'static str,
    /// `sqlite` or `postgres`.
    pub backend: &'static str,
    /// Server version.
    pub version: &'static str,
}

/// Is the server up? (No credentials needed.)
#[utoipa::path(get, path = "/api/health", tag = "session",
    responses((status = 200, body = Health)))]
pub async fn health(State(state): State<AppState>) -> ApiJson<Health> {
    ApiJson(Health {
        status: "ok",
        backend: match state.store.backend() {
            sclerad_store::Backend::Sqlite => "sqlite",
            sclerad_store::Backend::Postgres => "postgres",
        },
        version: env!("CARGO_PKG_VERSION"),
    })
}

// ---------------------------------------------------------------- session

/// Login request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// User name.
    pub name: String,
    /// Password.
    pub password: String,
}

/// A user as the API shows them.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    /// Store id.
    pub id: i64,
    /// Login name.
    pub name: String,
    /// `admin`, `data_manager`, `reader`, `adjudicator` or `analyst`.
    pub role: String,
    /// Creation time.
    pub created_at: String,
}

impl From<&sclerad_store::User> for UserView {
    fn from(u: &sclerad_store::User) -> Self {
        UserView {
            id: u.id,
            name: u.name.clone(),
            role: u.role.code().into(),
            created_at: u.created_at.clone(),
        }
    }
}

/// A new session.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    /// Who logged in.
    pub user: UserView,
    /// Send as the `X-CSRF-Token` header with every POST, PUT, PATCH or
    /// DELETE of this session.
    pub csrf_token: String,
    /// When the session ends.
    pub expires_at: String,
}

/// Log in: sets the session cookie (Secure, HttpOnly, SameSite=Strict).
/// Five failed attempts lock the account for 30 s, doubling up to 15 min.
#[utoipa::path(post, path = "/api/login", tag = "session", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse),
        (status = 401, body = ErrorBody, description = "wrong name or password"),
        (status = 429, body = ErrorBody, description = "locked after too many failures")))]
pub async fn login(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Response, AppError> {
    let wrong = || AppError::Unauthenticated;
    if !plain_text(&req.name, 200) || req.password.len() > 1_000 || req.password.contains('\0') {
        return Err(wrong());
    }
    // One attempt per name at a time: the lock check, the verification and
    // the failure count happen together.
    let _turn = state.logins.turn(&req.name).await;
    let creds = state.store.credentials(&req.name).await?;
    let now = chrono::Utc::now();
    let locked_for = match &creds {
        Some(c) => c
            .locked_until
            .as_deref()
            .and_then(|u| chrono::DateTime::parse_from_rfc3339(u).ok())
            .map(|u| (u.with_timezone(&chrono::Utc) - now).num_seconds())
            .filter(|left| *left > 0),
        None => state.logins.unknown_locked(&req.name, now.timestamp()),
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
    let password = req.password.clone();
    let permit = state.logins.hashing().await?;
    let ok = tokio::task::spawn_blocking(move || sclerad_store::password::verify(&password, &hash))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
    drop(permit);
    let Some(creds) = creds else {
        state.logins.unknown_failed(&req.name, now.timestamp());
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
    state.store.record_login(creds.user.id, true, None).await?;
    let token = random_token()?;
    let csrf = random_token()?;
    let expires = now + chrono::Duration::seconds(state.config.session_seconds);
    let expires_at = sclerad_store::migrate::timestamp(expires);
    state
        .store
        .create_session(creds.user.id, &token_hash(&token), &csrf, &expires_at)
        .await?;
    let cookie = format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age={}",
        state.config.session_seconds
    );
    let mut response = ApiJson(LoginResponse {
        user: UserView::from(&creds.user),
        csrf_token: csrf,
        expires_at,
    })
    .into_response();
    let value = HeaderValue::from_str(&cookie).map_err(|e| AppError::Internal(e.to_string()))?;
    response.headers_mut().insert(header::SET_COOKIE, value);
    Ok(response)
}

/// Log out: ends this session.
#[utoipa::path(post, path = "/api/logout", tag = "session",
    responses((status = 204), (status = 401, body = ErrorBody)),
    security(("session" = [])))]
pub async fn logout(
    State(state): State<AppState>,
    _caller: Caller,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let value = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|p| p.trim().split_once('='))
        .find(|(k, _)| *k == SESSION_COOKIE)
        .map(|(_, v)| v.to_string());
    if let Some(v) = value {
        state.store.delete_session(&token_hash(&v)).await?;
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "sclerad_session=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0",
        ),
    );
    Ok(response)
}

/// Who am I?
#[utoipa::path(get, path = "/api/me", tag = "session",
    responses((status = 200, body = UserView), (status = 401, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
pub async fn me(caller: Caller) -> ApiResult<UserView> {
    caller.require(EVERYONE)?;
    Ok(ApiJson(UserView::from(&caller.user)))
}

/// A request for an API token.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// What the token is for.
    pub label: String,
}

/// A new API token; the secret is shown only here.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// Token id.
    pub id: i64,
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    /// Label.
    pub label: String,
}

/// Create an API token for scripts, acting as the caller.
#[utoipa::path(post, path = "/api/tokens", tag = "session", request_body = TokenRequest,
    responses((status = 201, body = TokenResponse), (status = 401, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
pub async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    body: JsonBody,
) -> Result<(StatusCode, ApiJson<TokenResponse>), AppError> {
    caller.require(EVERYONE)?;
    let req: TokenRequest = body.parse()?;

    let label = req.label.trim();
    if !plain_text(label, 200) {
        return Err(AppError::invalid(
            "label",
            "1 to 200 characters, no control characters",
        ));
    }
    let token = random_token()?;
    let stored = state
        .store
        .create_token(&caller.actor(), caller.user.id, label, &token_hash(&token))
        .await?;
    Ok((
        StatusCode::CREATED,
        ApiJson(TokenResponse {
            id: stored.id,
            token,
            label: stored.label,
        }),
    ))
}

/// An API token as listed (never its secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenView {
    /// Token id.
    pub id: i64,
    /// Label.
    pub label: String,
    /// Creation time.
    pub created_at: String,
}

/// The caller's API tokens.
#[utoipa::path(get, path = "/api/tokens", tag = "session",
    responses((status = 200, body = Vec<TokenView>), (status = 401, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
pub async fn list_tokens(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Vec<TokenView>> {
    caller.require(EVERYONE)?;
    let tokens = state.store.tokens(caller.user.id).await?;
    Ok(ApiJson(
        tokens
            .into_iter()
            .map(|t| TokenView {
                id: t.id,
                label: t.label,
                created_at: t.created_at,
            })
            .collect(),
    ))
}

/// Revoke an API token: the caller's own, or anyone's for an admin.
#[utoipa::path(delete, path = "/api/tokens/{id}", tag = "session",
    params(("id" = i64, Path, description = "token id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
pub async fn revoke_token(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, AppError> {
    caller.require(EVERYONE)?;
    let id: i64 = id
        .parse()
        .map_err(|_| AppError::NotFound(format!("API token {id:?} not found")))?;
    let owner = (caller.user.role != Role::Admin).then_some(caller.user.id);
    state.store.revoke_token(&caller.actor(), id, owner).await?;
    state.tokens.clear();
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------- users

/// List users (admin).
#[utoipa::path(get, path = "/api/users", tag = "admin",
    responses((status = 200, body = Vec<UserView>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
pub async fn list_users(State(state): State<AppState>, caller: Caller) -> ApiResult<Vec<UserView>> {
    caller.require(&[Role::Admin])?;
    let users = state.store.users().await?;
    Ok(ApiJson(users.iter().map(UserView::from).collect()))
}

/// A new user.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    /// Login name: 1–64 characters, no spaces.
    pub name: String,
    /// Role.
    pub role: String,
    /// At least 10 characters.
    pub password: String,
}

/// Create a user (admin).
#[utoipa::path(post, path = "/api/users", tag = "admin", request_body = NewUser,
    responses((status = 201, body = UserView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
pub async fn create_user(
    State(state): State<AppState>,
    caller: Caller,
    body: JsonBody,
) -> Result<(StatusCode, ApiJson<UserView>), AppError> {
    caller.require(&[Role::Admin])?;
    let req: NewUser = body.parse()?;

    let name = req.name.trim();
    if name.is_empty()
        || name.len() > 64
        || name.chars().any(|c| c.is_control() || c.is_whitespace())
    {
        return Err(AppError::invalid(
            "name",
            "1 to 64 characters, no spaces or control characters",
        ));
    }
    if name == sclerad_model::CONSENSUS || name.contains('#') {
        return Err(AppError::invalid(
            "name",
            "'consensus' and names with '#' are reserved",
        ));
    }
    let role = Role::parse(&req.role).ok_or_else(|| {
        AppError::invalid(
            "role",
            "one of admin, data_manager, reader, adjudicator, analyst",
        )
    })?;
    let password = req.password;
    let hash = tokio::task::spawn_blocking(move || sclerad_store::password::hash(&password))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?
        .map_err(|e| AppError::invalid("password", e.to_string()))?;
    let user = state
        .store
        .create_user(&caller.actor(), name, role, &hash)
        .await?;
    Ok((StatusCode::CREATED, ApiJson(UserView::from(&user))))
}

// ---------------------------------------------------------------- studies

/// A study.
#[derive(Debug, Serialize, ToSchema)]
pub struct StudyView {
    /// Store id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Creation time.
    pub created_at: String,
    /// The patients table's columns.
    pub columns: Vec<String>,
}

impl From<&Study> for StudyView {
    fn from(s: &Study) -> Self {
        StudyView {
            id: s.id,
            name: s.name.clone(),
            created_at: s.created_at.clone(),
            columns: s.columns.patients.clone(),
        }
    }
}

async fn study(state: &AppState, name: &str) -> Result<Study, AppError> {
    if !plain_text(name, 500) {
        return Err(AppError::NotFound(format!("study {name:?} not found")));
    }
    state
        .store
        .study(name)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("study {name:?} not found")))
}

/// List studies (not for readers: they see only their worklist).
#[utoipa::path(get, path = "/api/studies", tag = "studies",
    responses((status = 200, body = Vec<StudyView>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
pub async fn list_studies(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Vec<StudyView>> {
    caller.require(&[Role::DataManager, Role::Adjudicator, Role::Analyst])?;
    let studies = state.store.studies().await?;
    Ok(ApiJson(studies.iter().map(StudyView::from).collect()))
}

/// A patient's clinical record and exams.
#[derive(Debug, Serialize, ToSchema)]
pub struct PatientView {
    /// The study's patient identifier.
    pub patient_id: String,
    /// Every cell of the patients row but the exam columns.
    #[schema(value_type = Object)]
    pub cells: BTreeMap<String, String>,
    /// The hand radiograph.
    #[schema(value_type = Object)]
    pub hand_radiograph: Exam,
    /// The CT.
    #[schema(value_type = Object)]
    pub ct: Exam,
    /// Send back with an edit.
    pub version: i64,
}

impl From<PatientRecord> for PatientView {
    fn from(p: PatientRecord) -> Self {
        PatientView {
            patient_id: p.patient_id,
            cells: p.cells,
            hand_radiograph: p.hand_radiograph,
            ct: p.ct,
            version: p.version,
        }
    }
}

/// Patients of a study (data managers).
#[utoipa::path(get, path = "/api/studies/{study}/patients", tag = "studies",
    params(("study" = String, Path, description = "study name")),
    responses((status = 200, body = Vec<PatientView>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
pub async fn list_patients(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<Vec<PatientView>> {
    caller.require(&[Role::DataManager])?;
    let study = study(&state, &name).await?;
    let patients = state.store.patients(study.id).await?;
    Ok(ApiJson(
        patients.into_iter().map(PatientView::from).collect(),
    ))
}

/// One patient (data managers).
#[utoipa::path(get, path = "/api/studies/{study}/patients/{patient_id}", tag = "studies",
    params(("study" = String, Path, description = "study name"), ("patient_id" = String, Path, description = "patient identifier")),
    responses((status = 200, body = PatientView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
pub async fn get_patient(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((name, patient_id)): ApiPath<(String, String)>,
) -> ApiResult<PatientView> {
    caller.require(&[Role::DataManager])?;
    let study = study(&state, &name).await?;
    known_text(&patient_id, "patient")?;
    let p = state
        .store
        .patient(study.id, &patient_id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("patient {patient_id:?} not found")))?;
    Ok(ApiJson(PatientView::from(p)))
}

/// An edit of a patient's record.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatientEdit {
    /// The version the edit is based on (409 if it is no longer current).
    pub version: i64,
    /// Columns to change, as they would be written in the bundle; `null`
    /// clears a cell.
    #[schema(value_type = Object)]
    pub cells: BTreeMap<String, Option<String>>,
}

/// Edit a patient's record (data managers). Checked with the bundle
/// format's rules; a stale version gets 409 and nothing is written.
#[utoipa::path(patch, path = "/api/studies/{study}/patients/{patient_id}", tag = "studies",
    request_body = PatientEdit,
    params(("study" = String, Path, description = "study name"), ("patient_id" = String, Path, description = "patient identifier")),
    responses((status = 200, body = PatientView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
pub async fn edit_patient(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((name, patient_id)): ApiPath<(String, String)>,
    body: JsonBody,
) -> ApiResult<PatientView> {
    caller.require(&[Role::DataManager])?;
    let edit: PatientEdit = body.parse()?;
    let study = study(&state, &name).await?;
    known_text(&patient_id, "patient")?;
    let current = state
        .store
        .patient(study.id, &patient_id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("patient {patient_id:?} not found")))?;
    let edited = patients::edit(&study.columns, &current, &edit.cells)?;
    let saved = state
        .store
        .update_patient(&caller.actor(), study.id, &edited, edit.version)
        .await?;
    Ok(ApiJson(PatientView::from(saved)))
}

/// A bundle as tables of text cells.
#[derive(Debug, Serialize, ToSchema)]
pub struct TableView {
    /// Column names.
    pub columns: Vec<String>,
    /// Rows of cells.
    pub rows: Vec<Vec<String>>,
}

/// The study as the bundle `sclerad export` writes.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExportView {
    /// `patients`.
    pub patients: TableView,
    /// `hand_readings`, if any.
    pub hand_readings: Option<TableView>,
    /// `spine_readings`, if any.
    pub spine_readings: Option<TableView>,
}

/// Export a study's tables (data managers, analysts).
#[utoipa::path(get, path = "/api/studies/{study}/export", tag = "studies",
    params(("study" = String, Path, description = "study name")),
    responses((status = 200, body = ExportView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
pub async fn export(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<ExportView> {
    caller.require(&[Role::DataManager, Role::Analyst])?;
    let study = study(&state, &name).await?;
    let patients = state.store.patients(study.id).await?;
    let readings = state.store.readings(study.id).await?;
    let t = to_tables(&study.columns, &patients, &readings);
    let view = |t: sclerad_bundle::TextTable| TableView {
        columns: t.columns,
        rows: t.rows,
    };
    Ok(ApiJson(ExportView {
        patients: view(t.patients),
        hand_readings: t.hand_readings.map(view),
        spine_readings: t.spine_readings.map(view),
    }))
}

// ---------------------------------------------------------------- assignments

/// Which exams to assign.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ExamChoice {
    /// Hand radiographs only.
    HandRadiograph,
    /// CTs only.
    Ct,
    /// Both.
    Both,
}

/// A request to build blinded worklists.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignmentRequest {
    /// Reader user names.
    pub readers: Vec<String>,
    /// Which exams.
    pub exams: ExamChoice,
    /// Share (0–0.5) of exams presented a second time, later and under a new
    /// code, for intra-reader agreement.
    #[serde(default)]
    pub repeat_share: f64,
}

/// How many assignments were made.
#[derive(Debug, Serialize, ToSchema)]
pub struct AssignmentResponse {
    /// Assignments created.
    pub created: usize,
}

/// Build blinded worklists: every reader gets every chosen exam once, in a
/// random order of their own, under random codes (data managers).
#[utoipa::path(post, path = "/api/studies/{study}/assignments", tag = "reading", request_body = AssignmentRequest,
    params(("study" = String, Path, description = "study name")),
    responses((status = 201, body = AssignmentResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
pub async fn create_assignments(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(name): ApiPath<String>,
    body: JsonBody,
) -> Result<(StatusCode, ApiJson<AssignmentResponse>), AppError> {
    caller.require(&[Role::DataManager])?;
    let req: AssignmentRequest = body.parse()?;

    if !(0.0..=0.5).contains(&req.repeat_share) {
        return Err(AppError::invalid("repeat_share", "between 0 and 0.5"));
    }
    if req.readers.is_empty() || req.readers.len() > 50 {
        return Err(AppError::invalid("readers", "1 to 50 reader names"));
    }
    let study = study(&state, &name).await?;
    let users = state.store.users().await?;
    // Readings are told apart by reader name: a server reader must not
    // share a name with a reader of the imported readings.
    let imported: BTreeSet<String> = state
        .store
        .readings(study.id)
        .await?
        .into_iter()
        .filter(|r| matches!(r.kind, ReadingKind::Imported | ReadingKind::Consensus))
        .map(|r| r.reader)
        .collect();
    let mut reader_ids = Vec::new();
    for (i, r) in req.readers.iter().enumerate() {
        let field = format!("readers[{i}]");
        let user = users
            .iter()
            .find(|u| &u.name == r)
            .ok_or_else(|| AppError::invalid(&field, format!("no user named {r:?}")))?;
        if user.role != Role::Reader {
            return Err(AppError::invalid(field, format!("{r:?} is not a reader")));
        }
        if reader_ids.contains(&user.id) {
            return Err(AppError::invalid(field, format!("{r:?} is listed twice")));
        }
        if imported.contains(r) {
            return Err(AppError::invalid(
                field,
                format!("the imported readings of this study already have a reader named {r:?}"),
            ));
        }
        reader_ids.push(user.id);
    }
    let patients = state.store.patients(study.id).await?;
    let mut exams = Vec::new();
    for p in &patients {
        if req.exams != ExamChoice::Ct {
            exams.push((p.hand_radiograph.id, 'H'));
        }
        if req.exams != ExamChoice::HandRadiograph {
            exams.push((p.ct.id, 'C'));
        }
    }
    let mut next: HashMap<i64, i64> = HashMap::new();
    for &id in &reader_ids {
        let list = state.store.worklist(id).await?;
        next.insert(id, list.last().map_or(0, |w| w.position + 1));
    }
    let mut seed = [0u8; 8];
    getrandom::fill(&mut seed).map_err(|e| AppError::Internal(e.to_string()))?;
    let mut rng = blinding::Shuffler::new(u64::from_le_bytes(seed));
    let mut plan = blinding::plan(&exams, &reader_ids, req.repeat_share, &next, &mut rng);
    // Codes straight from the OS: none can be predicted from another.
    for a in &mut plan {
        let prefix = a.code.chars().next().unwrap_or('X');
        a.code = random_code(prefix)?;
    }
    let created = state
        .store
        .create_assignments(&caller.actor(), study.id, &plan)
        .await?;
    Ok((StatusCode::CREATED, ApiJson(AssignmentResponse { created })))
}

// ---------------------------------------------------------------- reading

/// One exam of a reader's worklist: a pseudonymous code and what the reader
/// needs to read it. Nothing here identifies the patient.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkItemView {
    /// Pseudonymous code of this presentation.
    pub code: String,
    /// Position in the reader's own order.
    pub position: i64,
    /// `hand_radiograph` or `ct`.
    pub modality: String,
    /// CT type.
    pub ct_type: Option<String>,
    /// Levels the CT covers.
    pub ct_levels: Option<String>,
    /// Whether a reading was saved.
    pub read: bool,
    /// The findings saved so far.
    pub findings: Vec<Finding>,
    /// Send back with the next save.
    pub version: i64,
}

impl From<WorkItem> for WorkItemView {
    fn from(w: WorkItem) -> Self {
        WorkItemView {
            code: w.code,
            position: w.position,
            modality: w.modality.code().into(),
            ct_type: w.ct_type,
            ct_levels: w.ct_levels,
            read: w.findings.is_some(),
            findings: w
                .findings
                .as_deref()
                .map(findings::from_cells)
                .unwrap_or_default(),
            version: w.version,
        }
    }
}

/// The caller's worklist (readers).
#[utoipa::path(get, path = "/api/worklist", tag = "reading",
    responses((status = 200, body = Vec<WorkItemView>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
pub async fn worklist(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Vec<WorkItemView>> {
    caller.require(&[Role::Reader])?;
    let list = state.store.worklist(caller.user.id).await?;
    Ok(ApiJson(list.into_iter().map(WorkItemView::from).collect()))
}

async fn work_item(state: &AppState, caller: &Caller, code: &str) -> Result<WorkItem, AppError> {
    known_text(code, "exam code")?;
    state
        .store
        .work_item(caller.user.id, code)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("exam code {code:?} is not in your worklist")))
}

/// One exam of the caller's worklist (readers).
#[utoipa::path(get, path = "/api/worklist/{code}", tag = "reading",
    params(("code" = String, Path, description = "pseudonymous exam code")),
    responses((status = 200, body = WorkItemView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
pub async fn get_work_item(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(code): ApiPath<String>,
) -> ApiResult<WorkItemView> {
    caller.require(&[Role::Reader])?;
    Ok(ApiJson(WorkItemView::from(
        work_item(&state, &caller, &code).await?,
    )))
}

/// Findings to save.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FindingsSave {
    /// The version the save is based on (0 for a first reading).
    pub version: i64,
    /// Every finding; an empty list records "read, nothing found".
    pub findings: Vec<Finding>,
}

/// A path segment no record can have is simply not found.
fn known_text(text: &str, what: &str) -> Result<(), AppError> {
    if plain_text(text, 500) {
        Ok(())
    } else {
        Err(AppError::NotFound(format!("{what} {text:?} not found")))
    }
}

fn coverage(ct_type: Option<&str>, ct_levels: Option<&str>) -> Coverage {
    let levels = ct_levels.and_then(|l| LevelSet::parse(l).ok());
    let by_type = ct_type
        .and_then(sclerad_model::CtType::parse)
        .map(LevelSet::default_for);
    Coverage(levels.or(by_type))
}

/// Save the caller's reading of an exam (readers). 409 if someone saved
/// since `version`.
#[utoipa::path(put, path = "/api/worklist/{code}", tag = "reading", request_body = FindingsSave,
    params(("code" = String, Path, description = "pseudonymous exam code")),
    responses((status = 200, body = WorkItemView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
pub async fn save_reading(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(code): ApiPath<String>,
    body: JsonBody,
) -> ApiResult<WorkItemView> {
    caller.require(&[Role::Reader])?;
    let save: FindingsSave = body.parse()?;
    known_text(&code, "exam code")?;
    if save.findings.len() > findings::MAX_FINDINGS {
        return Err(AppError::invalid(
            "findings",
            "at most 2000 findings per exam",
        ));
    }
    // The findings are checked against the exam inside the saving
    // transaction: one round trip, and the rules see what is written.
    let submitted = save.findings;
    let check: sclerad_store::FindingsCheck = Box::new(move |item| {
        let coverage = coverage(item.ct_type.as_deref(), item.ct_levels.as_deref());
        findings::check(&submitted, item.modality, coverage).map_err(|e| match e {
            AppError::Invalid { field, message } => {
                sclerad_store::StoreError::Invalid { field, message }
            }
            other => sclerad_store::StoreError::Backend(format!("{other:?}")),
        })
    });
    let saved = state
        .store
        .save_reading_checked(&caller.actor(), caller.user.id, &code, check, save.version)
        .await?;
    Ok(ApiJson(WorkItemView::from(saved)))
}

// ---------------------------------------------------------------- adjudication

/// Exams whose readers disagree (adjudicators).
#[utoipa::path(get, path = "/api/studies/{study}/disagreements", tag = "adjudication",
    params(("study" = String, Path, description = "study name")),
    responses((status = 200, body = Vec<Disagreement>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
pub async fn disagreements(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<Vec<Disagreement>> {
    caller.require(&[Role::Adjudicator])?;
    let study = study(&state, &name).await?;
    let readings = state.store.readings(study.id).await?;
    Ok(ApiJson(review::disagreements(&readings)))
}

/// The consensus reading as saved.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsensusView {
    /// The exam.
    pub exam_id: i64,
    /// Findings.
    pub findings: Vec<Finding>,
    /// Send back with the next save.
    pub version: i64,
}

/// Save the consensus reading of an exam (adjudicators); it becomes the
/// reading `consensus` of the study.
#[utoipa::path(put, path = "/api/studies/{study}/exams/{exam_id}/consensus", tag = "adjudication",
    request_body = FindingsSave,
    params(("study" = String, Path, description = "study name"), ("exam_id" = i64, Path, description = "exam id")),
    responses((status = 200, body = ConsensusView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
pub async fn save_consensus(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((name, exam_id)): ApiPath<(String, String)>,
    body: JsonBody,
) -> ApiResult<ConsensusView> {
    caller.require(&[Role::Adjudicator])?;
    let exam_id: i64 = exam_id
        .parse()
        .map_err(|_| AppError::NotFound(format!("exam {exam_id:?} not found")))?;
    let save: FindingsSave = body.parse()?;
    let study = study(&state, &name).await?;
    let patients = state.store.patients(study.id).await?;
    let exam = patients
        .iter()
        .flat_map(|p| [&p.hand_radiograph, &p.ct])
        .find(|e| e.id == exam_id)
        .ok_or_else(|| AppError::NotFound(format!("exam {exam_id} is not in study {name:?}")))?;
    let cells = findings::check(
        &save.findings,
        exam.modality,
        coverage(exam.ct_type.as_deref(), exam.ct_levels.as_deref()),
    )?;
    let saved = state
        .store
        .save_consensus(&caller.actor(), exam_id, &cells, save.version)
        .await?;
    Ok(ApiJson(ConsensusView {
        exam_id,
        findings: saved
            .findings
            .as_deref()
            .map(findings::from_cells)
            .unwrap_or_default(),
        version: saved.version,
    }))
}

// ---------------------------------------------------------------- analysis

/// Agreement statistics of a study.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgreementView {
    /// One row per reader pair (or reader, for intra-reader), modality and flag.
    pub rows: Vec<AgreementRow>,
    /// Readings counted (first, repeat) per kind.
    pub readings: BTreeMap<String, usize>,
}

/// Cohen's kappa per lesion and spine segment, between readers and within
/// a reader (analysts, adjudicators).
#[utoipa::path(get, path = "/api/studies/{study}/agreement", tag = "analysis",
    params(("study" = String, Path, description = "study name")),
    responses((status = 200, body = AgreementView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
pub async fn agreement(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<AgreementView> {
    caller.require(&[Role::Analyst, Role::Adjudicator])?;
    let study = study(&state, &name).await?;
    let readings = state.store.readings(study.id).await?;
    let mut counts = BTreeMap::new();
    for r in readings.iter().filter(|r| r.findings.is_some()) {
        let kind = match r.kind {
            ReadingKind::Imported => "imported",
            ReadingKind::Primary => "primary",
            ReadingKind::Repeat => "repeat",
            ReadingKind::Consensus => "consensus",
        };
        *counts.entry(kind.to_string()).or_insert(0) += 1;
    }
    Ok(ApiJson(AgreementView {
        rows: review::agreement(&readings),
        readings: counts,
    }))
}

// ---------------------------------------------------------------- audit

/// Which audit events.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Events after this sequence number (default 0).
    #[serde(default)]
    pub after: i64,
    /// At most this many (default 100, at most 1000).
    #[serde(default = "default_limit")]
    pub limit: i64,
}

fn default_limit() -> i64 {
    100
}

/// One audit event.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventView {
    /// Sequence number.
    pub seq: i64,
    /// When.
    pub at: String,
    /// Who.
    pub actor: String,
    /// What.
    pub action: String,
    /// Kind of record.
    pub entity: String,
    /// Which record.
    pub entity_id: String,
    /// Before (JSON text).
    pub before: Option<String>,
    /// After (JSON text).
    pub after: Option<String>,
    /// Previous hash.
    pub prev_hash: String,
    /// This event's hash.
    pub hash: String,
}

/// Audit events in order (admins).
#[utoipa::path(get, path = "/api/audit", tag = "admin", params(AuditQuery),
    responses((status = 200, body = Vec<AuditEventView>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
pub async fn audit_events(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> ApiResult<Vec<AuditEventView>> {
    caller.require(&[Role::Admin])?;
    let events = state
        .store
        .audit_events(q.after.max(0), q.limit.clamp(1, 1000))
        .await?;
    Ok(ApiJson(
        events
            .into_iter()
            .map(|e| AuditEventView {
                seq: e.seq,
                at: e.at,
                actor: e.actor,
                action: e.action,
                entity: e.entity,
                entity_id: e.entity_id,
                before: e.before,
                after: e.after,
                prev_hash: e.prev_hash,
                hash: e.hash,
            })
            .collect(),
    ))
}

/// The result of checking the audit chain.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditVerification {
    /// Whether every link checks out.
    pub intact: bool,
    /// Events checked.
    pub events: i64,
    /// The first broken event, if any.
    pub broken_at: Option<i64>,
    /// Why it is broken.
    pub reason: Option<String>,
}

/// Check the whole audit chain (admins).
#[utoipa::path(get, path = "/api/audit/verify", tag = "admin",
    responses((status = 200, body = AuditVerification), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
pub async fn audit_verify(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<AuditVerification> {
    caller.require(&[Role::Admin])?;
    Ok(ApiJson(
        match sclerad_store::verify_audit(state.store.as_ref()).await? {
            Ok(events) => AuditVerification {
                intact: true,
                events,
                broken_at: None,
                reason: None,
            },
            Err(broken) => AuditVerification {
                intact: false,
                events: broken.seq - 1,
                broken_at: Some(broken.seq),
                reason: Some(broken.reason),
            },
        },
    ))
}
