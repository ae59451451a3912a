//! The analyst's pages: the studies; the agreement dashboard (Cohen's kappa
//! per lesion and spine segment, between readers and within a reader, with
//! intervals); and the analysis plan run on a study's current data with a
//! settings form. Each run is kept (`sclerad_store::Store::save_analysis_run`)
//! with the bundle it read, its settings, the software version and every
//! file it wrote, so it can be reopened, downloaded and reproduced.
//!
//! A run reads the study's export exactly as `sclerad analyze` reads a
//! folder (the files written to a temporary folder and loaded by
//! `sclerad-bundle`), so its results.json is the command's for that export,
//! the input's name aside.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use sclerad_analysis::results::{Agreement, AgreementKind};
use sclerad_analysis::{InputInfo, Settings, SettingsError};
use sclerad_bundle::ReadOptions;
use sclerad_model::{Modality, Problem, ProblemCounts, ValidateOptions};
use sclerad_store::{
    read_study, to_tables, AnalysisRun, NewAnalysisRun, ReadingKind, Role, RunArchive, Study,
};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::manage::{problem_rows, ProblemRow};
use super::{encode, form_value, render, study_named, PageError, Viewer};
use crate::{AppError, AppState};

/// The largest archive of a run that is unpacked to serve it (a run's
/// outputs are summaries: far smaller than this).
const UNPACK_MAX_BYTES: u64 = 1 << 30;

/// A study as the analyst's studies page lists it.
struct StudyRow {
    name: String,
    patients: u64,
    runs: usize,
    agreement_href: String,
    runs_href: String,
    export_href: String,
}

#[derive(Template)]
#[template(path = "analysis/studies.html")]
struct StudiesPage {
    viewer: Viewer,
    studies: Vec<StudyRow>,
}

/// The studies, each with its agreement, analysis runs and bundle.
pub async fn studies(State(state): State<AppState>, viewer: Viewer) -> Result<Response, PageError> {
    viewer.require(Role::Analyst)?;
    let mut studies = Vec::new();
    for s in state.store.studies().await? {
        let patients = super::patient_count(&state, s.id).await?;
        let runs = state.store.analysis_runs(s.id).await?.len();
        let q = encode(&s.name);
        studies.push(StudyRow {
            agreement_href: format!("/analysis/agreement?study={q}"),
            runs_href: format!("/analysis/runs?study={q}"),
            export_href: format!("/analysis/export?study={q}"),
            name: s.name,
            patients,
            runs,
        });
    }
    Ok(render(StatusCode::OK, &StudiesPage { viewer, studies }))
}

/// Which study.
#[derive(Deserialize)]
pub struct StudyQuery {
    study: String,
    /// A kept run whose settings fill the form.
    from: Option<i64>,
}

// ---- agreement ----

/// An agreement row as the dashboard shows it.
struct AgreementRow {
    kind: &'static str,
    modality: &'static str,
    variable: String,
    label: String,
    reader_a: String,
    reader_b: String,
    n: usize,
    both_yes: usize,
    both_no: usize,
    percent: String,
    kappa: String,
    interval: String,
    pabak: String,
    landis_koch: String,
    note: String,
}

impl From<&Agreement> for AgreementRow {
    fn from(a: &Agreement) -> Self {
        let fixed =
            |x: Option<f64>, places: usize| x.map_or_else(String::new, |v| format!("{v:.places$}"));
        AgreementRow {
            kind: match a.kind {
                AgreementKind::Inter => "inter",
                AgreementKind::Intra => "intra",
            },
            modality: match a.modality {
                Modality::HandRadiograph => "Hand radiograph",
                Modality::Ct => "CT",
            },
            label: sclerad_report::format::variable_label(&a.variable),
            variable: a.variable.clone(),
            reader_a: a.reader_a.clone(),
            reader_b: a.reader_b.clone(),
            n: a.n,
            both_yes: a.both_yes,
            both_no: a.both_no,
            percent: fixed(a.percent_agreement, 1),
            kappa: fixed(a.kappa, 2),
            interval: match (a.kappa_ci_low, a.kappa_ci_high) {
                (Some(lo), Some(hi)) => format!("{lo:.2} to {hi:.2}"),
                _ => String::new(),
            },
            pabak: fixed(a.pabak, 2),
            landis_koch: a.landis_koch.unwrap_or_default().replace('_', " "),
            note: a.note.clone().unwrap_or_default(),
        }
    }
}

#[derive(Template)]
#[template(path = "analysis/agreement.html")]
struct AgreementPage {
    viewer: Viewer,
    study: String,
    inter: Vec<AgreementRow>,
    intra: Vec<AgreementRow>,
    /// Readings with findings, per kind.
    readings: Vec<(&'static str, usize)>,
}

impl AgreementPage {
    /// The two tables: title, id, rows.
    fn sections(&self) -> [(&'static str, &'static str, &[AgreementRow]); 2] {
        [
            ("Between readers", "inter", &self.inter),
            (
                "Within a reader (first and repeat readings)",
                "intra",
                &self.intra,
            ),
        ]
    }
}

/// The agreement dashboard: the rows `sclerad analyze` gives for the
/// study's export (`sclerad_analysis::agreement`), as the API's
/// `/api/studies/{study}/agreement` does.
pub async fn agreement(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<StudyQuery>,
) -> Result<Response, PageError> {
    viewer.require(Role::Analyst)?;
    let study = study_named(&state, &query.study).await?;
    let patients = state.store.patients(study.id).await?;
    let readings = state.store.readings(study.id).await?;
    let mut counts = Vec::new();
    for kind in [
        ReadingKind::Imported,
        ReadingKind::Primary,
        ReadingKind::Repeat,
        ReadingKind::Consensus,
    ] {
        let n = readings
            .iter()
            .filter(|r| r.kind == kind && r.findings.is_some())
            .count();
        if n > 0 {
            counts.push((kind.code(), n));
        }
    }
    let rows = tokio::task::spawn_blocking(move || {
        let loaded = read_study(&study.columns, &patients, &readings);
        sclerad_analysis::agreement(&loaded.cohort)
    })
    .await
    .map_err(|e| AppError::Internal(e.to_string()))?;
    let (intra, inter): (Vec<_>, Vec<_>) = rows
        .iter()
        .map(AgreementRow::from)
        .partition(|r| r.kind == "intra");
    let page = AgreementPage {
        viewer,
        study: query.study,
        inter,
        intra,
        readings: counts,
    };
    Ok(render(StatusCode::OK, &page))
}

// ---- runs ----

/// The settings form's fields, as text.
#[derive(Debug, Clone)]
struct SettingsForm {
    reader: String,
    conf_level: String,
    imaging_window_days: String,
    min_expected_count: String,
    normality_alpha: String,
    yates: bool,
    exclude_ineligible: bool,
    pah_definition: String,
    /// Table 1's variables, separated by commas.
    table1_variables: String,
    /// The adjusted models' covariates, separated by commas.
    adjust_for: String,
}

impl SettingsForm {
    fn of(s: &Settings) -> Self {
        SettingsForm {
            reader: s.reader.clone().unwrap_or_default(),
            conf_level: s.conf_level.to_string(),
            imaging_window_days: s.imaging_window_days.to_string(),
            min_expected_count: s.min_expected_count.to_string(),
            normality_alpha: s.normality_alpha.to_string(),
            yates: s.yates,
            exclude_ineligible: s.exclude_ineligible,
            pah_definition: s.pah_definition.clone(),
            table1_variables: s.table1_variables.join(", "),
            adjust_for: s.adjust_for.join(", "),
        }
    }

    fn from_pairs(form: &[(String, String)]) -> Self {
        let get = |name: &str| form_value(form, name).trim().to_string();
        SettingsForm {
            reader: get("reader"),
            conf_level: get("conf_level"),
            imaging_window_days: get("imaging_window_days"),
            min_expected_count: get("min_expected_count"),
            normality_alpha: get("normality_alpha"),
            yates: !get("yates").is_empty(),
            exclude_ineligible: !get("exclude_ineligible").is_empty(),
            pah_definition: get("pah_definition"),
            table1_variables: get("table1_variables"),
            adjust_for: get("adjust_for"),
        }
    }

    /// The settings, or the first field refused and why.
    fn settings(&self) -> Result<Settings, (String, String)> {
        let number = |field: &str, text: &str| -> Result<f64, (String, String)> {
            text.replace(',', ".")
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .ok_or_else(|| (field.to_string(), format!("{text:?} is not a number")))
        };
        let days = self.imaging_window_days.parse::<i64>().map_err(|_| {
            (
                "imaging_window_days".to_string(),
                format!(
                    "{:?} is not a whole number of days",
                    self.imaging_window_days
                ),
            )
        })?;
        let settings = Settings {
            reader: (!self.reader.is_empty()).then(|| self.reader.clone()),
            conf_level: number("conf_level", &self.conf_level)?,
            imaging_window_days: days,
            min_expected_count: number("min_expected_count", &self.min_expected_count)?,
            normality_alpha: number("normality_alpha", &self.normality_alpha)?,
            yates: self.yates,
            exclude_ineligible: self.exclude_ineligible,
            pah_definition: if self.pah_definition.is_empty() {
                Settings::default().pah_definition
            } else {
                self.pah_definition.clone()
            },
            adjust_for: if self.adjust_for.is_empty() {
                Settings::default().adjust_for
            } else {
                list(&self.adjust_for)
            },
            table1_variables: if self.table1_variables.is_empty() {
                Settings::default().table1_variables
            } else {
                list(&self.table1_variables)
            },
        };
        settings.check("the settings form").map_err(|e| match &e {
            SettingsError::Invalid {
                key, value, reason, ..
            } => (key.to_string(), format!("{value}: {reason}")),
            other => ("settings".to_string(), other.to_string()),
        })?;
        Ok(settings)
    }
}

/// A comma-separated list of names.
fn list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(String::from)
        .collect()
}

/// A kept run as the runs table lists it.
struct RunRow {
    id: i64,
    created_at: String,
    actor: String,
    patients: i64,
    input: String,
    software_version: String,
}

impl From<&AnalysisRun> for RunRow {
    fn from(r: &AnalysisRun) -> Self {
        RunRow {
            id: r.id,
            created_at: r.created_at.clone(),
            actor: r.actor.clone(),
            patients: r.patients,
            input: r.input_sha256.chars().take(12).collect(),
            software_version: r.software_version.clone(),
        }
    }
}

#[derive(Template)]
#[template(path = "analysis/runs.html")]
struct RunsPage {
    viewer: Viewer,
    study: String,
    form: SettingsForm,
    /// Readers the study's readings name, for the reader field.
    readers: Vec<String>,
    runs: Vec<RunRow>,
    /// A refused field, and why.
    problem: Option<(String, String)>,
    /// The bundle's problems, when they stopped the run.
    problems: Vec<ProblemRow>,
    errors: usize,
    export_href: String,
}

impl RunsPage {
    /// Whether the form's field `field` was refused.
    fn refused(&self, field: &str) -> bool {
        self.problem.as_ref().is_some_and(|(f, _)| f == field)
    }
}

async fn runs_page(
    state: &AppState,
    viewer: Viewer,
    study: &Study,
    form: SettingsForm,
) -> Result<RunsPage, PageError> {
    let mut readers: Vec<String> = state
        .store
        .readings(study.id)
        .await?
        .into_iter()
        .filter(|r| r.findings.is_some())
        .map(|r| match r.kind {
            ReadingKind::Consensus => "consensus".to_string(),
            _ => r.reader,
        })
        .collect();
    readers.sort();
    readers.dedup();
    let runs = state.store.analysis_runs(study.id).await?;
    Ok(RunsPage {
        viewer,
        study: study.name.clone(),
        form,
        readers,
        runs: runs.iter().map(RunRow::from).collect(),
        problem: None,
        problems: Vec::new(),
        errors: 0,
        export_href: format!("/analysis/export?study={}", encode(&study.name)),
    })
}

/// The study's runs and the settings form (the defaults, or the settings
/// of the run `from`).
pub async fn runs(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<StudyQuery>,
) -> Result<Response, PageError> {
    viewer.require(Role::Analyst)?;
    let study = study_named(&state, &query.study).await?;
    let mut settings = Settings::default();
    if let Some(id) = query.from {
        let run = kept_run(&state, id).await?;
        if run.study_id == study.id {
            settings = Settings::from_toml(&run.settings, &format!("run {id}"))
                .map_err(|e| AppError::Internal(e.to_string()))?;
        }
    }
    let page = runs_page(&state, viewer, &study, SettingsForm::of(&settings)).await?;
    Ok(render(StatusCode::OK, &page))
}

/// What a run produced.
struct Analysed {
    results_sha256: String,
    input_sha256: String,
    patients: usize,
    /// results.json first, then every report file.
    outputs: Vec<(String, Vec<u8>)>,
}

/// Why a run produced nothing.
enum Refused {
    /// The bundle has errors: nothing analysed.
    Problems(Vec<Problem>),
    /// A field of the settings, and why.
    Field(String, String),
}

/// The input's name in the results: the folder the study's bundle zip
/// unpacks to, the study's name (so `sclerad analyze NAME` of that folder,
/// or of `sclerad export --out NAME`, records the same input).
fn input_label(study: &str) -> String {
    bundle_folder(study)
}

/// The folder of a study's bundle: its name, with no path separator.
fn bundle_folder(study: &str) -> String {
    study
        .chars()
        .map(|c| if matches!(c, '/' | '\\') { '_' } else { c })
        .collect()
}

/// Analyses the bundle `files` with `settings` as `sclerad analyze`
/// analyses a folder holding them, and renders every output.
fn analyse(
    files: &[(String, Vec<u8>)],
    settings: &Settings,
    label: &str,
    generated: &str,
) -> Result<Result<Analysed, Refused>, AppError> {
    let internal = |e: &dyn std::fmt::Display| AppError::Internal(e.to_string());
    let dir = tempfile::tempdir().map_err(|e| internal(&e))?;
    for (name, bytes) in files {
        std::fs::write(dir.path().join(name), bytes).map_err(|e| internal(&e))?;
    }
    let check = ValidateOptions {
        reader: settings.reader.clone(),
        imaging_window_days: settings.imaging_window_days,
        reader_required: true,
    };
    let (loaded, _) = sclerad_bundle::load(dir.path(), &ReadOptions::default(), &check)
        .map_err(|e| internal(&e))?;
    if ProblemCounts::of(&loaded.problems).errors > 0 {
        return Ok(Err(Refused::Problems(loaded.problems)));
    }
    let input = InputInfo {
        path: label.to_string(),
        sha256: sclerad_bundle::fingerprint_files(files),
    };
    let results = match sclerad_analysis::analyze(&loaded.cohort, settings, &input) {
        Ok(results) => results,
        Err(e @ sclerad_analysis::AnalysisError::Reader { .. }) => {
            return Ok(Err(Refused::Field("reader".into(), e.to_string())))
        }
        Err(e) => return Ok(Err(Refused::Field("settings".into(), e.to_string()))),
    };
    let json = serde_json::to_string_pretty(&results).map_err(|e| internal(&e))?;
    let context =
        sclerad_report::ReportContext::new(format!("sclerad analysis of {label}"), generated);
    let mut outputs = vec![("results.json".to_string(), json.into_bytes())];
    outputs.extend(sclerad_report::report_files(&results, &context).map_err(|e| internal(&e))?);
    Ok(Ok(Analysed {
        results_sha256: sclerad_model::hex(&Sha256::digest(&outputs[0].1)),
        input_sha256: input.sha256,
        patients: loaded.cohort.patients.len(),
        outputs,
    }))
}

/// The study's current data as bundle files.
async fn current_files(
    state: &AppState,
    study: &Study,
) -> Result<Vec<(String, Vec<u8>)>, PageError> {
    let patients = state.store.patients(study.id).await?;
    let readings = state.store.readings(study.id).await?;
    let columns = study.columns.clone();
    tokio::task::spawn_blocking(move || {
        to_tables(&columns, &patients, &readings)
            .files()
            .into_iter()
            .map(|(name, bytes)| (name.to_string(), bytes))
            .collect()
    })
    .await
    .map_err(|e| PageError::App(AppError::Internal(e.to_string())))
}

/// Runs the analysis on the study's current data with the form's settings
/// and keeps the run; its page follows. A bundle with errors, or settings
/// refused, shows the form again with the problems and keeps nothing.
pub async fn run(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    viewer.require(Role::Analyst)?;
    viewer.check_csrf(form_value(&form, "csrf").trim())?;
    let study = study_named(&state, form_value(&form, "study").trim()).await?;
    let given = SettingsForm::from_pairs(&form);
    let mut page = runs_page(&state, viewer, &study, given.clone()).await?;
    let settings = match given.settings() {
        Ok(s) => s,
        Err(problem) => {
            page.problem = Some(problem);
            return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page));
        }
    };
    let files = current_files(&state, &study).await?;
    let label = input_label(&study.name);
    let generated = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string();
    let for_run = settings.clone();
    let done = tokio::task::spawn_blocking(move || {
        let analysed = analyse(&files, &for_run, &label, &generated)?;
        let zipped = match analysed {
            Ok(a) => {
                let input =
                    sclerad_bundle::zip(&files).map_err(|e| AppError::Internal(e.to_string()))?;
                let outputs = sclerad_bundle::zip(&a.outputs)
                    .map_err(|e| AppError::Internal(e.to_string()))?;
                Ok((a, input, outputs))
            }
            Err(refused) => Err(refused),
        };
        Ok::<_, AppError>(zipped)
    })
    .await
    .map_err(|e| AppError::Internal(e.to_string()))??;
    match done {
        Ok((analysed, input, outputs)) => {
            let kept = state
                .store
                .save_analysis_run(
                    &page.viewer.actor(),
                    study.id,
                    NewAnalysisRun {
                        settings: settings.to_toml(),
                        software_version: env!("CARGO_PKG_VERSION").to_string(),
                        input_sha256: analysed.input_sha256,
                        results_sha256: analysed.results_sha256,
                        patients: i64::try_from(analysed.patients).unwrap_or(i64::MAX),
                        input,
                        outputs,
                    },
                )
                .await?;
            Ok(Redirect::to(&format!("/analysis/runs/{}", kept.id)).into_response())
        }
        Err(Refused::Problems(problems)) => {
            let (rows, counts) = problem_rows(problems);
            page.problems = rows;
            page.errors = counts.errors;
            page.problem = Some((
                "bundle".into(),
                format!(
                    "The study's data has {} error(s) that stop the analysis: nothing was run. A data manager corrects them.",
                    counts.errors
                ),
            ));
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(Refused::Field(field, message)) => {
            page.problem = Some((field, message));
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
    }
}

/// A kept run, or the page's 404.
async fn kept_run(state: &AppState, id: i64) -> Result<AnalysisRun, PageError> {
    Ok(state
        .store
        .analysis_run(id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no analysis run {id}")))?)
}

/// The study a run analysed.
async fn study_of_run(state: &AppState, run: &AnalysisRun) -> Result<Study, PageError> {
    Ok(state
        .store
        .studies()
        .await?
        .into_iter()
        .find(|s| s.id == run.study_id)
        .ok_or_else(|| AppError::NotFound("the run's study is gone".into()))?)
}

/// A run's archive, checked against the SHA-256 its row (proven by the
/// audit trail) records, and unpacked.
async fn archive_files(
    state: &AppState,
    run: &AnalysisRun,
    which: RunArchive,
) -> Result<Vec<(String, Vec<u8>)>, PageError> {
    let bytes = state
        .store
        .analysis_run_archive(run.id, which)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no analysis run {}", run.id)))?;
    let expected = match which {
        RunArchive::Input => &run.input_zip_sha256,
        RunArchive::Outputs => &run.outputs_sha256,
    };
    if &sclerad_model::hex(&Sha256::digest(&bytes)) != expected {
        return Err(AppError::Internal(format!(
            "the kept {} of run {} is not what was recorded (its SHA-256 differs): run 'sclerad audit verify'",
            which.column(),
            run.id
        ))
        .into());
    }
    let name = format!("run-{}-{}.zip", run.id, which.column());
    sclerad_bundle::unzip(&name, &bytes, UNPACK_MAX_BYTES, UNPACK_MAX_BYTES)
        .map_err(|e| PageError::App(AppError::Internal(e.to_string())))
}

/// A file of a run, as its page links it.
struct OutputFile {
    path: String,
    href: String,
    bytes: usize,
}

/// The outcome of a reproduction.
struct Reproduction {
    identical: bool,
    results_sha256: String,
}

#[derive(Template)]
#[template(path = "analysis/run.html")]
struct RunPage {
    viewer: Viewer,
    study: String,
    run: AnalysisRun,
    files: Vec<OutputFile>,
    input_href: String,
    again_href: String,
    runs_href: String,
    /// Whether the study's data is still the run's input.
    data_unchanged: bool,
    /// The sclerad version serving the page.
    version: &'static str,
    reproduced: Option<Reproduction>,
}

async fn run_view(
    state: &AppState,
    viewer: Viewer,
    run: AnalysisRun,
    reproduced: Option<Reproduction>,
) -> Result<RunPage, PageError> {
    let study = study_of_run(state, &run).await?;
    let outputs = archive_files(state, &run, RunArchive::Outputs).await?;
    let current = current_files(state, &study).await?;
    let files = outputs
        .iter()
        .map(|(path, bytes)| OutputFile {
            href: format!("/analysis/runs/{}/files/{path}", run.id),
            path: path.clone(),
            bytes: bytes.len(),
        })
        .collect();
    let q = encode(&study.name);
    Ok(RunPage {
        viewer,
        files,
        input_href: format!("/analysis/runs/{}/input.zip", run.id),
        again_href: format!("/analysis/runs?study={q}&from={}", run.id),
        runs_href: format!("/analysis/runs?study={q}"),
        data_unchanged: sclerad_bundle::fingerprint_files(&current) == run.input_sha256,
        version: env!("CARGO_PKG_VERSION"),
        study: study.name,
        run,
        reproduced,
    })
}

/// A kept run: what it read, its settings, its files, its report.
pub async fn run_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    viewer.require(Role::Analyst)?;
    let run = kept_run(&state, id).await?;
    let page = run_view(&state, viewer, run, None).await?;
    Ok(render(StatusCode::OK, &page))
}

/// Runs the analysis again on the run's kept input with its settings and
/// says whether results.json comes out identical.
pub async fn reproduce(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    viewer.require(Role::Analyst)?;
    viewer.check_csrf(form_value(&form, "csrf").trim())?;
    let run = kept_run(&state, id).await?;
    let study = study_of_run(&state, &run).await?;
    let files = archive_files(&state, &run, RunArchive::Input).await?;
    let settings = Settings::from_toml(&run.settings, &format!("run {id}"))
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let label = input_label(&study.name);
    let generated = run.created_at.clone();
    let again = tokio::task::spawn_blocking(move || analyse(&files, &settings, &label, &generated))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))??;
    let results_sha256 = match again {
        Ok(a) => a.results_sha256,
        Err(_) => {
            return Err(AppError::Internal(format!(
                "run {id}'s kept input no longer analyses with its settings"
            ))
            .into())
        }
    };
    let reproduced = Reproduction {
        identical: results_sha256 == run.results_sha256,
        results_sha256,
    };
    let page = run_view(&state, viewer, run, Some(reproduced)).await?;
    Ok(render(StatusCode::OK, &page))
}

/// The policy of a kept report shown in its run's page: its own inline
/// style and figures, nothing else, framed only by this site.
const REPORT_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; \
     frame-ancestors 'self'; form-action 'none'; base-uri 'none'; sandbox";

/// One output file of a run (`?download` to save the report rather than
/// show it).
pub async fn run_file(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((id, path)): Path<(i64, String)>,
) -> Result<Response, PageError> {
    viewer.require(Role::Analyst)?;
    let run = kept_run(&state, id).await?;
    let outputs = archive_files(&state, &run, RunArchive::Outputs).await?;
    let Some((name, bytes)) = outputs.into_iter().find(|(name, _)| *name == path) else {
        return Err(AppError::NotFound(format!("run {id} has no file {path:?}")).into());
    };
    let base = name.rsplit('/').next().unwrap_or("file").to_string();
    let kind = match base.rsplit('.').next() {
        Some("json") => "application/json",
        Some("html") => "text/html; charset=utf-8",
        Some("csv") => "text/csv; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("xlsx") => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        _ => "application/octet-stream",
    };
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    if name == "report.html" {
        // Shown in the run's page: its own policy, framed by this site.
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(REPORT_POLICY),
        );
        headers.insert(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("SAMEORIGIN"),
        );
    } else {
        attachment(headers, &format!("run-{id}-{base}"));
    }
    Ok(response)
}

/// Marks a response as a file to save under `name`.
fn attachment(headers: &mut axum::http::HeaderMap, name: &str) {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{safe}\"")) {
        headers.insert(HeaderName::from_static("content-disposition"), value);
    }
}

/// The bundle a run read, as a zip.
pub async fn run_input(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    viewer.require(Role::Analyst)?;
    let run = kept_run(&state, id).await?;
    // Checked against the recorded digest before it is served.
    archive_files(&state, &run, RunArchive::Input).await?;
    let bytes = state
        .store
        .analysis_run_archive(run.id, RunArchive::Input)
        .await?
        .unwrap_or_default();
    Ok(zip_response(bytes, &format!("run-{id}-input.zip")))
}

fn zip_response(bytes: Vec<u8>, name: &str) -> Response {
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/zip"),
    );
    attachment(headers, name);
    response
}

/// The study's current data as a zip bundle, for the analyst: the files
/// `sclerad export` writes, which `sclerad analyze` reads once unpacked.
pub async fn analysis_export(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<StudyQuery>,
) -> Result<Response, PageError> {
    viewer.require(Role::Analyst)?;
    export(&state, &query.study).await
}

/// The same, for the data manager.
pub async fn manage_export(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<StudyQuery>,
) -> Result<Response, PageError> {
    viewer.require(Role::DataManager)?;
    export(&state, &query.study).await
}

async fn export(state: &AppState, name: &str) -> Result<Response, PageError> {
    let study = study_named(state, name).await?;
    // In a folder named after the study: unpacked, it is the bundle
    // `sclerad analyze NAME` reads.
    let folder = bundle_folder(&study.name);
    let files: Vec<(String, Vec<u8>)> = current_files(state, &study)
        .await?
        .into_iter()
        .map(|(name, bytes)| (format!("{folder}/{name}"), bytes))
        .collect();
    let bytes = tokio::task::spawn_blocking(move || sclerad_bundle::zip(&files))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?
        .map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(zip_response(bytes, &format!("{}-bundle.zip", study.name)))
}
