//! The study store: what a sclerad server keeps, behind one interface with
//! two back ends (`sclerad-store-sqlite`, `sclerad-store-postgres`).
//!
//! Every method is atomic. Every method that changes data takes the
//! [`Actor`] and writes its [`audit`] event in the same transaction as the
//! change, so the data and the trail never disagree. (Readers' saves are
//! group-committed: the saves waiting at one moment share one transaction,
//! each checked and audited as if alone, each answered after the commit.) Editable records carry a version:
//! an edit names the version it was based on and fails with
//! [`StoreError::Conflict`] if the record has moved on, writing nothing.
//!
//! The back ends hold SQL only; what can be decided without a database
//! (splitting a bundle into records, the hash chain, worklist planning) is
//! here, once.

pub mod audit;
pub mod blinding;
pub mod codec;
mod edit;
mod error;
pub mod images;
pub mod migrate;
pub mod password;
pub mod proof;
pub mod records;
pub mod review;
pub mod runs;
mod types;

pub use audit::{Anchor, AuditEvent, AuditFilter, BrokenLink, ChainVerifier, NewEvent};
pub use edit::{
    check_append, check_patient_edit, edit_patient, CheckedAppend, FieldProblem, MAX_CELL_CHARS,
};
pub use error::{StoreError, StoreResult};
pub use images::{
    check_images, ExamImages, Image, ImageFeed, ImageImportSummary, ImageProblem, ImageSecret,
    ImageStored, ImageTally, NewImage,
};
pub use migrate::{now, Migration};
pub use proof::{AuditFailure, RowMismatch, Verified};
pub use records::{read_study, to_tables, StudyImport};
pub use runs::{AnalysisRun, NewAnalysisRun, RunArchive, RUN_ARCHIVE_MAX_BYTES};
pub use types::{
    check_study_name, check_user_name, login_name, looks_like, Actor, ApiToken, Cells, Credentials,
    Exam, Modality, NewAssignment, Page, Paged, PatientRecord, Reading, ReadingKind, Role, Session,
    Study, StudyColumns, User, WorkItem,
};

use async_trait::async_trait;
use sclerad_model::Finding;

/// Which database a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An embedded SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// Summary of an import.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ImportSummary {
    /// The new study.
    pub study: Study,
    /// Patients imported.
    pub patients: usize,
    /// Readings imported (one per patient, exam and reader).
    pub readings: usize,
}

/// One study store.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// The database kind.
    fn backend(&self) -> Backend;

    /// Closes the store's connections, letting the database tidy up
    /// (SQLite checkpoints its write-ahead log into the file). A command
    /// that wrote much calls it before it ends.
    async fn close(&self) {}

    // ---- users, sessions, tokens ----

    /// Creates a user. Fails with `Invalid` for a name [`check_user_name`]
    /// refuses, `AlreadyExists` for a taken name.
    async fn create_user(
        &self,
        actor: &Actor,
        name: &str,
        role: Role,
        password_hash: &str,
    ) -> StoreResult<User>;
    /// All users, by name.
    async fn users(&self) -> StoreResult<Vec<User>>;
    /// A user and what login needs, by name.
    async fn credentials(&self, name: &str) -> StoreResult<Option<Credentials>>;
    /// Records a login attempt: a success clears the failure count, a
    /// failure increments it and sets `locked_until` (RFC 3339) if given.
    async fn record_login(
        &self,
        user_id: i64,
        success: bool,
        locked_until: Option<&str>,
    ) -> StoreResult<()>;
    /// Opens a session.
    async fn create_session(
        &self,
        user_id: i64,
        token_hash: &str,
        csrf_token: &str,
        expires_at: &str,
    ) -> StoreResult<()>;
    /// The session with this token hash, if it exists and has not expired
    /// at `now` (RFC 3339).
    async fn session(&self, token_hash: &str, now: &str) -> StoreResult<Option<Session>>;
    /// Closes a session (no error if it is gone).
    async fn delete_session(&self, token_hash: &str) -> StoreResult<()>;
    /// Ends every session of `user_id` and, with `end_tokens`, revokes
    /// every API token of the user, in one transaction (audited when tokens
    /// are revoked). Returns the number of tokens revoked.
    async fn end_sessions(
        &self,
        actor: &Actor,
        user_id: i64,
        end_tokens: bool,
    ) -> StoreResult<usize>;
    /// Sets a user's password hash and ends every session of the user (and,
    /// with `end_tokens`, revokes the user's API tokens) in the same
    /// transaction, so a changed password locks out whoever knew the old
    /// one. The event records the change, never the hash.
    async fn set_password(
        &self,
        actor: &Actor,
        user_id: i64,
        password_hash: &str,
        end_tokens: bool,
    ) -> StoreResult<()>;
    /// Disables (`true`) or enables a user. Disabling ends every session
    /// of the user and revokes every API token in the same transaction;
    /// while disabled, the user can neither log in nor use a session or a
    /// token. Setting the state the user has already changes and records
    /// nothing. Fails with `NotFound` for an unknown user and `Invalid` for
    /// the last enabled admin. Returns the user as it now is.
    async fn set_disabled(&self, actor: &Actor, user_id: i64, disabled: bool) -> StoreResult<User>;
    /// Gives a user another role, ending the user's sessions and revoking
    /// the user's API tokens in the same transaction (they were granted
    /// for the old role). Fails with `NotFound` for an unknown user and
    /// `Invalid` when it would leave no enabled admin. Returns the user as
    /// it now is.
    async fn set_role(&self, actor: &Actor, user_id: i64, role: Role) -> StoreResult<User>;
    /// Creates an API token for `user_id`, valid until `expires_at`
    /// (RFC 3339); only its hash is stored.
    async fn create_token(
        &self,
        actor: &Actor,
        user_id: i64,
        label: &str,
        token_hash: &str,
        expires_at: &str,
    ) -> StoreResult<ApiToken>;
    /// The owner of a token that has not expired at `now` (RFC 3339).
    async fn token_user(&self, token_hash: &str, now: &str) -> StoreResult<Option<User>>;
    /// The tokens of a user, oldest first.
    async fn tokens(&self, user_id: i64) -> StoreResult<Vec<ApiToken>>;
    /// Revokes (deletes) token `id`; with `owner`, only if it is theirs.
    async fn revoke_token(&self, actor: &Actor, id: i64, owner: Option<i64>) -> StoreResult<()>;

    // ---- studies, patients, exams ----

    /// Imports a validated bundle as a new study, all or nothing. Fails with
    /// `Invalid` for a name [`check_study_name`] refuses.
    async fn import_study(
        &self,
        actor: &Actor,
        name: &str,
        import: &StudyImport<'_>,
    ) -> StoreResult<ImportSummary>;
    /// Adds the patients and readings of `import` to study `name`, all or
    /// nothing: new patients after the study's own, readings of new or
    /// existing patients. The import was validated together with the
    /// study as it was when it held `checked_patients` patients
    /// (`sclerad_bundle::append`); a study that has had patients added
    /// since is a `Conflict`, to be checked again. Refused (`Invalid`)
    /// when the import's patients columns are not the study's, a readings
    /// table's columns differ from the study's, or a reading (patient,
    /// exam, reader, first or repeat) is in the study already, read or
    /// only assigned; a patient id the study has is `AlreadyExists`.
    async fn append_to_study(
        &self,
        actor: &Actor,
        name: &str,
        import: &StudyImport<'_>,
        checked_patients: usize,
    ) -> StoreResult<ImportSummary>;
    /// All studies, by name.
    async fn studies(&self) -> StoreResult<Vec<Study>>;
    /// A study by name.
    async fn study(&self, name: &str) -> StoreResult<Option<Study>>;
    /// Patients of a study, in import order, with their exams.
    async fn patients(&self, study_id: i64) -> StoreResult<Vec<PatientRecord>>;
    /// One page of a study's patients, in import order, and their number.
    async fn patients_page(&self, study_id: i64, page: Page) -> StoreResult<Paged<PatientRecord>>;
    /// One patient.
    async fn patient(&self, study_id: i64, patient_id: &str) -> StoreResult<Option<PatientRecord>>;
    /// Replaces a patient's cells and exams if `expected_version` is
    /// current; returns the stored record with its new version. The record
    /// is stored as given: an edit from a person is first checked with the
    /// format's rules by [`edit_patient`], which gives the record to store.
    async fn update_patient(
        &self,
        actor: &Actor,
        study_id: i64,
        record: &PatientRecord,
        expected_version: i64,
    ) -> StoreResult<PatientRecord>;

    // ---- readings ----

    /// Every reading of a study (imported, primary, repeat, consensus), in
    /// creation order.
    async fn readings(&self, study_id: i64) -> StoreResult<Vec<Reading>>;
    /// Up to `limit` readings of a study with ids above `after`, in
    /// creation (id) order: [`Store::readings`] a page at a time.
    async fn readings_after(
        &self,
        study_id: i64,
        after: i64,
        limit: i64,
    ) -> StoreResult<Vec<Reading>>;
    /// Creates assignments and their empty readings. Fails, writing
    /// nothing, if a reader already has that exam in the same kind.
    async fn create_assignments(
        &self,
        actor: &Actor,
        study_id: i64,
        assignments: &[NewAssignment],
    ) -> StoreResult<usize>;
    /// A reader's worklist, in their own order.
    async fn worklist(&self, reader_id: i64) -> StoreResult<Vec<WorkItem>>;
    /// One page of a reader's worklist, in their own order, and its length.
    async fn worklist_page(&self, reader_id: i64, page: Page) -> StoreResult<Paged<WorkItem>>;
    /// One item of a reader's worklist, by code (`None` if the code is not
    /// the reader's).
    async fn work_item(&self, reader_id: i64, code: &str) -> StoreResult<Option<WorkItem>>;
    /// Saves a reader's findings for the exam presented under `code`,
    /// checked inside the saving transaction against the exam as it is
    /// there (modality, CT coverage) with the format's rules
    /// ([`sclerad_model::check_findings`]): a finding the format refuses
    /// fails this save only, as [`StoreError::Invalid`] naming the field,
    /// and writes nothing. An empty list records "read, nothing found".
    /// Saves waiting at the same moment share one transaction.
    async fn save_reading(
        &self,
        actor: &Actor,
        reader_id: i64,
        code: &str,
        findings: &[Finding],
        expected_version: i64,
    ) -> StoreResult<WorkItem>;
    /// Saves the consensus reading of exam `exam_id` of study `study_id`
    /// (`expected_version` 0 when there is none yet), checked like
    /// [`Store::save_reading`]; `NotFound` if the exam is not in the study.
    async fn save_consensus(
        &self,
        actor: &Actor,
        study_id: i64,
        exam_id: i64,
        findings: &[Finding],
        expected_version: i64,
    ) -> StoreResult<Reading>;

    // ---- images ----

    /// The study's image secret, created (and audited, never shown) at
    /// the first call.
    async fn image_secret(&self, actor: &Actor, study_id: i64) -> StoreResult<ImageSecret>;
    /// Stores the instances `feed` brings, in one transaction with one
    /// audit event (and the row digests), when the feed ends with
    /// [`ImageFeed::End`]; writes nothing if it closes without its end or
    /// anything fails. An instance whose UID is stored already is
    /// `Unchanged` if its bytes are the same, else `Refused`. Memory: the
    /// instance being written and one small result per instance.
    async fn import_images(
        &self,
        actor: &Actor,
        study_id: i64,
        feed: tokio::sync::mpsc::Receiver<ImageFeed>,
    ) -> StoreResult<ImageImportSummary>;
    /// The images of an exam: by series, then position along the slice
    /// normal, then instance number.
    async fn exam_images(&self, exam_id: i64) -> StoreResult<Vec<Image>>;
    /// Up to `limit` images of a study with ids above `after`, in id order.
    async fn images_after(&self, study_id: i64, after: i64, limit: i64) -> StoreResult<Vec<Image>>;
    /// The exam a reader's worklist code presents, for the server to find
    /// its images (`None` if the code is not the reader's). The exam id
    /// never goes to the reader: ids of one patient's exams are close.
    async fn work_item_exam(&self, reader_id: i64, code: &str) -> StoreResult<Option<i64>>;
    /// The bytes of image `id`, if it exists.
    async fn image_data(&self, id: i64) -> StoreResult<Option<Vec<u8>>>;

    // ---- analysis runs ----

    /// Keeps a run of the analysis on study `study_id`, with its row
    /// digest and an `analyse` event on the study. Refused as `Invalid`
    /// when an archive is larger than [`RUN_ARCHIVE_MAX_BYTES`].
    async fn save_analysis_run(
        &self,
        actor: &Actor,
        study_id: i64,
        run: NewAnalysisRun,
    ) -> StoreResult<AnalysisRun>;
    /// The runs kept of a study, newest first.
    async fn analysis_runs(&self, study_id: i64) -> StoreResult<Vec<AnalysisRun>>;
    /// Run `run_id`, if it exists.
    async fn analysis_run(&self, run_id: i64) -> StoreResult<Option<AnalysisRun>>;
    /// One archive of run `run_id`, if the run exists.
    async fn analysis_run_archive(
        &self,
        run_id: i64,
        archive: RunArchive,
    ) -> StoreResult<Option<Vec<u8>>>;

    // ---- audit ----

    /// Up to `limit` events with `seq > after`, in order.
    async fn audit_events(&self, after: i64, limit: i64) -> StoreResult<Vec<AuditEvent>>;
    /// Up to `limit` events matching `filter` with `seq < before` (all
    /// when `None`), newest first; `before` and `after` cut to
    /// [`audit::SEARCH_RECORD_CHARS`] characters (the chain is verified
    /// from [`Store::audit_events`], never from these).
    async fn audit_search(
        &self,
        filter: &AuditFilter,
        before: Option<i64>,
        limit: i64,
    ) -> StoreResult<Vec<AuditEvent>>;
    /// The chain head: the last event's sequence number and hash.
    async fn audit_head(&self) -> StoreResult<Option<(i64, String)>>;
    /// Verifies, in one snapshot of the database, the audit chain event by
    /// event (with `anchors`, hashes recorded outside the database) and
    /// then every current row of the proven tables against the digest the
    /// trail last recorded of it ([`proof`]). Returns what was checked, or
    /// the first broken link, or the first row that differs (and how many
    /// do). Memory: one entry per proven row.
    async fn verify_trail(&self, anchors: &[Anchor])
        -> StoreResult<Result<Verified, AuditFailure>>;
}

/// Verifies the audit trail of `store` and its data against it
/// ([`Store::verify_trail`]) without anchors.
pub async fn verify_audit(store: &dyn Store) -> StoreResult<Result<Verified, AuditFailure>> {
    store.verify_trail(&[]).await
}
