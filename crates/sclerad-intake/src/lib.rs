//! DICOM images into a study, the same way from every door — `sclerad
//! images import`, `sclerad images listen` and the data manager's images
//! page: files, folders and zip archives walked ([`walk`], [`walk_zip`]),
//! each instance de-identified and routed to its exam by
//! `sclerad_dicom::intake` with the study's map and secret
//! ([`StudyIntake`]), fed to `Store::import_images` from a thread of its
//! own while the store writes ([`fed_import`]), and what became of every
//! file kept for the report ([`Produced`], [`Line`]).
//!
//! No HTTP; the SQL is the store's. Nothing of a failed import is stored.

use std::collections::HashMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::NaiveDate;
use sclerad_dicom::intake::{ExamDates, ExamKind, Intake, Intaker, Map, Prepared};
use sclerad_dicom::{Options, StudySecret};
use sclerad_store::{
    Actor, ImageFeed, ImageImportSummary, ImageStored, ImageTally, NewImage, Store, StoreError,
};

/// Why an intake stopped (nothing of it was stored).
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    /// The store failed.
    #[error("the images were not stored (nothing of this import was): {0}")]
    Store(#[from] StoreError),
    /// A file or folder could not be read, or is larger than the limit.
    #[error("{path}: {reason}")]
    File {
        /// The file, folder or zip member.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// A file (or zip member) larger than the largest one taken.
    #[error("{path} is larger than the largest file taken ({} MiB)", limit >> 20)]
    TooLarge {
        /// The file or zip member.
        path: String,
        /// The limit, in bytes.
        limit: u64,
    },
    /// The map cannot be used: its problems, one a line.
    #[error("{0}")]
    Map(String),
    /// The store no longer takes what the reader sends (its own error says
    /// why).
    #[error("the store stopped taking images")]
    StoreStopped,
    /// The reader's thread ended abnormally.
    #[error("the import's reader thread failed")]
    ReaderFailed,
    /// A failure of the caller's own (a spool file, say).
    #[error("{0}")]
    Other(String),
}

impl IntakeError {
    fn file(path: impl std::fmt::Display, reason: impl std::fmt::Display) -> Self {
        IntakeError::File {
            path: path.to_string(),
            reason: reason.to_string(),
        }
    }
}

/// What became of one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The file (or `zip!member`, or the association's instance).
    pub source: String,
    /// `stored`, `quarantined`, `refused`, `skipped`; empty while its
    /// instance is on its way to the store.
    pub action: &'static str,
    /// Why, for anything but a plain store.
    pub reason: String,
    /// The study patient it was routed to.
    pub patient_id: String,
    /// `hand_radiograph` or `ct`.
    pub exam: String,
    /// Its new SOP Instance UID.
    pub instance: String,
    /// The de-identification's warnings, `; `-separated.
    pub warnings: String,
}

impl Line {
    /// A file not stored (yet): `action` is set when its fate is known.
    fn of(source: String) -> Line {
        Line {
            source,
            action: "",
            reason: String::new(),
            patient_id: String::new(),
            exam: String::new(),
            instance: String::new(),
            warnings: String::new(),
        }
    }

    /// The line of a de-identified instance on its way to the store.
    fn prepared(source: String, p: &Prepared) -> Line {
        Line {
            patient_id: p.patient_id.clone(),
            exam: p.exam.code().into(),
            instance: p.sop_instance_uid.clone(),
            warnings: p.warnings.join("; "),
            reason: p
                .overridden
                .as_ref()
                .map(|why| format!("stored on the override for burned-in text: {why}"))
                .unwrap_or_default(),
            ..Line::of(source)
        }
    }
}

/// What an import's reader hands back: the report's lines, with the index
/// of each line whose instance went to the store (in feed order).
#[derive(Debug, Default)]
pub struct Produced {
    /// One per file.
    pub lines: Vec<Line>,
    /// The lines whose instances were fed, in feed order.
    pub fed: Vec<usize>,
    /// The counts the store's audit event records.
    pub tally: ImageTally,
}

impl Produced {
    /// Marks each fed line with what the store did; (stored now, stored
    /// already, refused by the store).
    pub fn apply(&mut self, results: &[ImageStored]) -> (usize, usize, usize) {
        let (mut new, mut unchanged, mut refused) = (0, 0, 0);
        for (index, result) in self.fed.iter().zip(results) {
            let line = &mut self.lines[*index];
            match result {
                ImageStored::New(_) => {
                    new += 1;
                    line.action = "stored";
                }
                ImageStored::Unchanged(_) => {
                    unchanged += 1;
                    line.action = "stored";
                    if line.reason.is_empty() {
                        line.reason = "stored already (unchanged)".into();
                    }
                }
                ImageStored::Refused(why) => {
                    refused += 1;
                    line.action = "refused";
                    line.reason = why.clone();
                }
            }
        }
        (new, unchanged, refused)
    }
}

/// The study's side of an intake: who is in it, their exams.
pub struct StudySide {
    dates: HashMap<String, ExamDates>,
    exams: HashMap<(String, ExamKind), i64>,
}

impl StudySide {
    /// The study's patients and exams, from the store.
    pub async fn of(store: &dyn Store, study_id: i64) -> Result<StudySide, StoreError> {
        let mut dates = HashMap::new();
        let mut exams = HashMap::new();
        let parse = |d: &Option<String>| {
            d.as_deref()
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        };
        for p in store.patients(study_id).await? {
            dates.insert(
                p.patient_id.clone(),
                ExamDates {
                    hand_radiograph: parse(&p.hand_radiograph.date),
                    ct: parse(&p.ct.date),
                },
            );
            exams.insert(
                (p.patient_id.clone(), ExamKind::HandRadiograph),
                p.hand_radiograph.id,
            );
            exams.insert((p.patient_id, ExamKind::Ct), p.ct.id);
        }
        Ok(StudySide { dates, exams })
    }

    /// Reads the map file `name` (its bytes), every problem named with its
    /// row and column; a study patient it names must be in the study.
    pub fn read_map(&self, name: &str, bytes: &[u8]) -> Result<Map, IntakeError> {
        let table = match sclerad_bundle::read_plain_csv_bytes(name, bytes) {
            Ok(table) => table,
            Err(problems) => {
                let mut text = format!("the map {name} cannot be read:");
                for p in problems.iter().take(20) {
                    text.push_str(&format!("\n  {}: {}", p.location, p.message));
                }
                return Err(IntakeError::Map(text));
            }
        };
        let rows: Vec<(usize, Vec<String>)> = table
            .rows
            .into_iter()
            .map(|(n, cells)| (n as usize, cells))
            .collect();
        Map::from_table(&table.header, &rows, |p| self.dates.contains_key(p)).map_err(|problems| {
            let mut text = format!("the map {name} has problems:");
            for p in problems.iter().take(50) {
                text.push_str(&format!("\n  {name}: {p}"));
            }
            if problems.len() > 50 {
                text.push_str(&format!("\n  … and {} more", problems.len() - 50));
            }
            IntakeError::Map(text)
        })
    }
}

/// Everything an intake into one study needs, read from the store and the
/// map once.
pub struct StudyIntake {
    /// The store.
    pub store: Arc<dyn Store>,
    /// The study.
    pub study_id: i64,
    map: Map,
    secret: StudySecret,
    side: StudySide,
    options: Options,
    /// Who takes the images in (the audit trail's actor).
    pub who: Actor,
}

impl StudyIntake {
    /// The intake of study `study_id` by `who`, routing with the map file
    /// `map_name` (its bytes).
    pub async fn open(
        store: Arc<dyn Store>,
        who: Actor,
        study_id: i64,
        map_name: &str,
        map_bytes: &[u8],
        options: Options,
    ) -> Result<StudyIntake, IntakeError> {
        let side = StudySide::of(store.as_ref(), study_id).await?;
        let map = side.read_map(map_name, map_bytes)?;
        let secret = StudySecret::new(store.image_secret(&who, study_id).await?.0);
        Ok(StudyIntake {
            store,
            study_id,
            map,
            secret,
            side,
            options,
            who,
        })
    }

    /// The de-identifier and router of one instance.
    pub fn intaker(&self) -> Intaker<'_> {
        Intaker {
            map: &self.map,
            secret: &self.secret,
            patients: &self.side.dates,
            options: self.options,
        }
    }

    /// Where one file's intake goes: its report line, and its instance to
    /// `send` when it is to be stored.
    pub fn take(
        &self,
        produced: &mut Produced,
        source: String,
        intake: Intake,
        send: &mut dyn FnMut(NewImage) -> Result<(), IntakeError>,
    ) -> Result<(), IntakeError> {
        let mut line = Line::of(source);
        match intake {
            Intake::Skipped(why) => {
                produced.tally.skipped += 1;
                line.action = "skipped";
                line.reason = why;
            }
            Intake::Refused(why) => {
                produced.tally.refused += 1;
                line.action = "refused";
                line.reason = why;
            }
            Intake::Quarantined { reason, route } => {
                produced.tally.quarantined += 1;
                line.action = "quarantined";
                line.reason = format!(
                    "{reason}; not stored: once a person has checked its pixels, take it in again with the override for burned-in text"
                );
                line.patient_id = route.patient_id;
                line.exam = route.exam.code().into();
            }
            Intake::Prepared(p) => {
                let key = (p.patient_id.clone(), p.exam);
                let Some(exam_id) = self.side.exams.get(&key).copied() else {
                    produced.tally.refused += 1;
                    line.action = "refused";
                    line.reason =
                        format!("patient {:?} has no {} exam", p.patient_id, p.exam.code());
                    produced.lines.push(line);
                    return Ok(());
                };
                line = Line::prepared(line.source, &p);
                send(new_image(exam_id, *p))?;
                produced.fed.push(produced.lines.len());
            }
        }
        produced.lines.push(line);
        Ok(())
    }
}

/// The store's row of a prepared instance of exam `exam_id`.
fn new_image(exam_id: i64, p: Prepared) -> NewImage {
    NewImage {
        exam_id,
        sop_instance_uid: p.sop_instance_uid,
        series_uid: p.series_uid,
        sop_class_uid: p.sop_class_uid,
        modality: p.modality,
        instance_number: p.instance_number,
        position: p.position,
        rows: p.rows,
        columns: p.columns,
        frames: p.frames,
        overridden: p.overridden,
        date_gap_days: p.date_gap_days,
        body_part: p.body_part,
        data: p.data,
    }
}

/// A sender of instances into the store's feed, from the reader's thread.
pub fn sender(
    tx: &tokio::sync::mpsc::Sender<ImageFeed>,
) -> impl FnMut(NewImage) -> Result<(), IntakeError> + '_ {
    move |image| {
        tx.blocking_send(ImageFeed::Image(image))
            .map_err(|_| IntakeError::StoreStopped)
    }
}

/// One import: `feed` runs on its own thread — reading, de-identifying,
/// sending each instance and then the end — while the store writes what
/// it sends (both cores busy, at most eight instances in between). The
/// error is whichever failed first: the reader (the store then saw the
/// feed end early) or the store (the reader then saw it stop taking
/// images). Nothing of a failed import is stored.
pub async fn fed_import<T: Send + 'static>(
    store: &dyn Store,
    who: &Actor,
    study_id: i64,
    feed: impl FnOnce(&tokio::sync::mpsc::Sender<ImageFeed>) -> Result<T, IntakeError> + Send + 'static,
) -> Result<(T, ImageImportSummary), IntakeError> {
    let (tx, rx) = tokio::sync::mpsc::channel(8);
    let reader = std::thread::spawn(move || feed(&tx));
    let stored = store.import_images(who, study_id, rx).await;
    let read = reader.join().map_err(|_| IntakeError::ReaderFailed)?;
    match (stored, read) {
        (Ok(summary), Ok(value)) => Ok((value, summary)),
        (Err(e), Err(IntakeError::StoreStopped)) => Err(IntakeError::Store(e)),
        (_, Err(reader)) => Err(reader),
        (Err(e), Ok(_)) => Err(IntakeError::Store(e)),
    }
}

/// Reads every file under `paths` into the intake and the store; `limit`
/// is the largest file (or zip member) read. `follow` says whether the
/// given paths are followed when they are symbolic links (links inside
/// folders never are).
pub async fn import_paths(
    intake: Arc<StudyIntake>,
    paths: Vec<PathBuf>,
    limit: u64,
    follow: bool,
) -> Result<(Produced, ImageImportSummary), IntakeError> {
    let reader = Arc::clone(&intake);
    fed_import(
        intake.store.as_ref(),
        &intake.who,
        intake.study_id,
        move |tx| {
            let intaker = reader.intaker();
            let mut produced = Produced::default();
            let mut send = sender(tx);
            let mut take = |source: String, file: Result<Vec<u8>, String>| {
                let intake = match file {
                    Ok(bytes) => intaker.bytes(&bytes),
                    Err(why) => Intake::Skipped(why),
                };
                reader.take(&mut produced, source, intake, &mut send)
            };
            for path in &paths {
                walk(path, limit, follow, &mut take)?;
            }
            tx.blocking_send(ImageFeed::End(produced.tally.clone()))
                .map_err(|_| IntakeError::StoreStopped)?;
            Ok(produced)
        },
    )
    .await
}

/// What a walk hands each file to: its name and bytes, or why it is
/// skipped.
pub type Take<'a> = dyn FnMut(String, Result<Vec<u8>, String>) -> Result<(), IntakeError> + 'a;

/// Calls `take` with each file under `path` (a file, a folder read
/// recursively in name order, or a zip's members). `path` itself is
/// followed if it is a symbolic link and `follow` is set; links and
/// special files inside folders are skipped. An unreadable file, or one
/// larger than `limit`, is an error: the import stops, storing nothing.
pub fn walk(path: &Path, limit: u64, follow: bool, take: &mut Take<'_>) -> Result<(), IntakeError> {
    let meta = if follow {
        std::fs::metadata(path)
    } else {
        std::fs::symlink_metadata(path)
    }
    .map_err(|e| IntakeError::file(path.display(), format!("cannot be read ({e})")))?;
    if meta.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .and_then(|d| {
                d.map(|e| e.map(|e| e.path()))
                    .collect::<std::io::Result<_>>()
            })
            .map_err(|e| {
                IntakeError::file(path.display(), format!("cannot read the folder ({e})"))
            })?;
        entries.sort();
        for entry in entries {
            walk(&entry, limit, false, take)?;
        }
        return Ok(());
    }
    let source = path.display().to_string();
    if !meta.is_file() {
        let what = if meta.file_type().is_symlink() {
            "a symbolic link (not followed)"
        } else {
            "not a regular file"
        };
        return take(source, Err(what.into()));
    }
    if meta.len() > limit {
        return Err(IntakeError::TooLarge {
            path: source,
            limit,
        });
    }
    let bytes = sclerad_bundle::read_file(path, limit)
        .map_err(|e| IntakeError::file(&source, format!("cannot be read ({e})")))?;
    if bytes.starts_with(b"PK\x03\x04") {
        return walk_zip(&source, bytes, limit, take);
    }
    take(source, Ok(bytes))
}

/// Calls `take` with each member of the zip archive `bytes` (named
/// `source`), folders left out, each at most `limit` bytes as read (a
/// declared size may lie).
pub fn walk_zip(
    source: &str,
    bytes: Vec<u8>,
    limit: u64,
    take: &mut Take<'_>,
) -> Result<(), IntakeError> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| IntakeError::file(source, format!("not a readable zip file ({e})")))?;
    for i in 0..archive.len() {
        let mut member = archive
            .by_index(i)
            .map_err(|e| IntakeError::file(source, format!("member {i} cannot be read ({e})")))?;
        if member.is_dir() {
            continue;
        }
        let name = match member.name() {
            Ok(name) => format!("{source}!{name}"),
            Err(_) => format!("{source}!(member {i})"),
        };
        let too_large = || IntakeError::TooLarge {
            path: name.clone(),
            limit,
        };
        if member.size() > limit {
            return Err(too_large());
        }
        let mut data = Vec::with_capacity(usize::try_from(member.size()).unwrap_or(0));
        (&mut member)
            .take(limit + 1)
            .read_to_end(&mut data)
            .map_err(|e| IntakeError::file(&name, format!("cannot be read ({e})")))?;
        if data.len() as u64 > limit {
            return Err(too_large());
        }
        take(name, Ok(data))?;
    }
    Ok(())
}
