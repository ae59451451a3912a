//! The audit trail (admins).

use axum::extract::State;
use sclerad_store::{AuditFailure, Role};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ApiResult;
use crate::auth::Caller;
use crate::{ApiJson, ApiQuery, AppState, ErrorBody};

/// This area's routes, with their OpenAPI operations.
pub(super) fn routes(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router
        .routes(routes!(audit_events))
        .routes(routes!(audit_verify))
}

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

/// How many bytes of `before` and `after` records one page of events
/// holds at most (one event at least, however large).
const AUDIT_PAGE_BYTES: usize = 4 << 20;

/// Audit events in order (admins); a page ends early once it holds 4 MiB
/// of records: go on from its last `seq`.
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
    // A page stops early once it holds AUDIT_PAGE_BYTES of records (row
    // digests of a large import run to 190 KB an event); the caller goes on
    // from its last `seq`.
    let mut bytes = 0;
    let events = events.into_iter().take_while(|e| {
        let fits = bytes < AUDIT_PAGE_BYTES;
        bytes += e.before.as_ref().map_or(0, String::len) + e.after.as_ref().map_or(0, String::len);
        fits
    });
    Ok(ApiJson(
        events
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

/// The result of checking the audit trail and the data against it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditVerification {
    /// Whether every link checks out and every current row is what the
    /// trail records.
    pub intact: bool,
    /// Events checked (when the chain is broken: before the break).
    pub events: i64,
    /// Current rows checked against the trail (0 unless intact).
    pub rows: u64,
    /// The first broken event, if the chain is broken.
    pub broken_at: Option<i64>,
    /// The first row that differs from the trail, if the chain is intact
    /// but the data is not.
    pub row: Option<DifferingRow>,
    /// What is wrong.
    pub reason: Option<String>,
}

/// A row that is not what the audit trail records.
#[derive(Debug, Serialize, ToSchema)]
pub struct DifferingRow {
    /// Its table.
    pub table: String,
    /// Its id.
    pub id: i64,
}

/// Check the whole audit chain, and every current row against it (admins).
#[utoipa::path(get, path = "/api/audit/verify", tag = "admin",
    responses((status = 200, body = AuditVerification), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
pub async fn audit_verify(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<AuditVerification> {
    caller.require(&[Role::Admin])?;
    Ok(ApiJson(match state.store.verify_trail(&[]).await? {
        Ok(proved) => AuditVerification {
            intact: true,
            events: proved.events,
            rows: proved.rows,
            broken_at: None,
            row: None,
            reason: None,
        },
        Err(failure) => match &failure {
            AuditFailure::Chain(broken) => AuditVerification {
                intact: false,
                events: broken.seq - 1,
                rows: 0,
                broken_at: Some(broken.seq),
                row: None,
                reason: Some(broken.reason.clone()),
            },
            AuditFailure::Rows { first, .. } => AuditVerification {
                intact: false,
                events: 0,
                rows: 0,
                broken_at: None,
                row: Some(DifferingRow {
                    table: first.table.into(),
                    id: first.id,
                }),
                reason: Some(failure.to_string()),
            },
        },
    }))
}
