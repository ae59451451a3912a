//! `sclerad images`: DICOM instances — a quick look, taking them into a
//! study de-identified, writing them out again.

use std::collections::HashMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};
use chrono::NaiveDate;
use sclerad_dicom::intake::{ExamDates, ExamKind, Intake, Intaker, Map, Prepared};
use sclerad_dicom::{read, render, Options, Read, StudySecret};
use sclerad_model::spreadsheet_safe;
use sclerad_store::{ImageFeed, ImageStored, ImageTally, NewImage, Role, Store};

use crate::cli::{
    ImagesCommand, ImagesExportArgs, ImagesImportArgs, ImagesListenArgs, ImagesRenderArgs,
};
use crate::store::{acting, open, runtime};

pub fn run(command: &ImagesCommand) -> Result<ExitCode> {
    match command {
        ImagesCommand::Render(args) => render_file(args),
        ImagesCommand::Import(args) => import(args),
        ImagesCommand::Export(args) => export(args),
        ImagesCommand::Listen(args) => listen(args),
    }
}

/// Files larger than this are not read (a DICOM instance of a hand
/// radiograph or a CT slice is a few MB; a multi-frame series may be more).
const MAX_FILE: u64 = 2 << 30;

fn render_file(args: &ImagesRenderArgs) -> Result<ExitCode> {
    let path = &args.file;
    let meta =
        std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    if !meta.is_file() {
        bail!("{} is not a regular file", path.display());
    }
    if meta.len() > MAX_FILE {
        bail!(
            "{} is {} bytes, more than the 2 GiB this command reads",
            path.display(),
            meta.len()
        );
    }
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let file = match read(&bytes) {
        Read::Instance(file) => file,
        Read::Skipped(why) | Read::Refused(why) => bail!("{}: {why}", path.display()),
    };
    let rendered = render::render(&file, args.frame, args.window)
        .with_context(|| format!("cannot render {}", path.display()))?;
    let png = render::png(&rendered)?;
    sclerad_bundle::write_bytes_atomically(&args.out, &png)?;
    println!(
        "Wrote {} ({}×{}, frame {}).",
        args.out.display(),
        rendered.width,
        rendered.height,
        args.frame
    );
    Ok(ExitCode::SUCCESS)
}

// ---- import ----

/// What became of one file, for the report.
struct Line {
    source: String,
    action: &'static str,
    reason: String,
    patient_id: String,
    exam: String,
    instance: String,
    warnings: String,
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
                .map(|why| format!("stored on --allow-burned-in: {why}"))
                .unwrap_or_default(),
            ..Line::of(source)
        }
    }
}

/// What an import's reader hands back: the report's lines, with the index
/// of each line whose instance went to the store (in feed order).
#[derive(Default)]
struct Produced {
    lines: Vec<Line>,
    fed: Vec<usize>,
    tally: ImageTally,
}

impl Produced {
    /// Marks each fed line with what the store did; (stored now, stored
    /// already, refused by the store).
    fn apply(&mut self, results: &[ImageStored]) -> (usize, usize, usize) {
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
struct StudySide {
    dates: HashMap<String, ExamDates>,
    exams: HashMap<(String, ExamKind), i64>,
}

async fn study_side(store: &dyn Store, study_id: i64) -> Result<StudySide> {
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

/// Reads the map file, every problem named with its row and column.
fn read_map(path: &Path, side: &StudySide) -> Result<Map> {
    let table = match sclerad_bundle::read_plain_csv(path, 64 << 20)
        .with_context(|| format!("cannot read the map {}", path.display()))?
    {
        Ok(table) => table,
        Err(problems) => {
            let mut text = format!("the map {} cannot be read:", path.display());
            for p in problems.iter().take(20) {
                text.push_str(&format!("\n  {}: {}", p.location, p.message));
            }
            bail!(text)
        }
    };
    let rows: Vec<(usize, Vec<String>)> = table
        .rows
        .into_iter()
        .map(|(n, cells)| (n as usize, cells))
        .collect();
    Map::from_table(&table.header, &rows, |p| side.dates.contains_key(p)).map_err(|problems| {
        let mut text = format!("the map {} has problems:", path.display());
        for p in problems.iter().take(50) {
            text.push_str(&format!("\n  {}: {p}", path.display()));
        }
        if problems.len() > 50 {
            text.push_str(&format!("\n  … and {} more", problems.len() - 50));
        }
        anyhow!(text)
    })
}

/// Everything an intake into one study needs, read from the store and the
/// map once.
struct StudyIntake {
    store: Arc<dyn Store>,
    study_id: i64,
    map: Map,
    secret: StudySecret,
    side: StudySide,
    options: Options,
    who: sclerad_store::Actor,
}

impl StudyIntake {
    async fn open(
        db: &crate::cli::DbArgs,
        act_as: &crate::cli::ActAs,
        study: &str,
        map: &Path,
        options: Options,
    ) -> Result<StudyIntake> {
        let store = open(db).await?;
        let found = store
            .study(study)
            .await?
            .with_context(|| format!("there is no study {study:?} in the store"))?;
        let side = study_side(store.as_ref(), found.id).await?;
        let map = read_map(map, &side)?;
        let who = acting(store.as_ref(), act_as, &[Role::DataManager]).await?;
        let secret = StudySecret::new(store.image_secret(&who, found.id).await?.0);
        Ok(StudyIntake {
            store,
            study_id: found.id,
            map,
            secret,
            side,
            options,
            who,
        })
    }

    fn intaker(&self) -> Intaker<'_> {
        Intaker {
            map: &self.map,
            secret: &self.secret,
            patients: &self.side.dates,
            options: self.options,
        }
    }

    /// Where one file's intake goes: its report line, and its instance to
    /// `send` when it is to be stored.
    fn take(
        &self,
        produced: &mut Produced,
        source: String,
        intake: Intake,
        send: &mut dyn FnMut(NewImage) -> Result<()>,
    ) -> Result<()> {
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
                    "{reason}; not stored: once its pixels are checked, import it again with --allow-burned-in"
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

/// The store no longer takes what the reader sends (it failed: its own
/// error says why).
#[derive(Debug)]
struct StoreStopped;

impl std::fmt::Display for StoreStopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the store stopped taking images")
    }
}

impl std::error::Error for StoreStopped {}

fn sender(tx: &tokio::sync::mpsc::Sender<ImageFeed>) -> impl FnMut(NewImage) -> Result<()> + '_ {
    move |image| {
        tx.blocking_send(ImageFeed::Image(image))
            .map_err(|_| anyhow!(StoreStopped))
    }
}

/// One import: `feed` runs on its own thread — reading, de-identifying,
/// sending each instance and then the end — while the store writes what
/// it sends (both cores busy, at most eight instances in between). The
/// error is whichever failed first: the reader (the store then saw the
/// feed end early) or the store (the reader then saw it stop taking
/// images). Nothing of a failed import is stored.
async fn fed_import<T: Send + 'static>(
    store: &dyn Store,
    who: &sclerad_store::Actor,
    study_id: i64,
    feed: impl FnOnce(&tokio::sync::mpsc::Sender<ImageFeed>) -> Result<T> + Send + 'static,
) -> Result<(T, sclerad_store::ImageImportSummary)> {
    let (tx, rx) = tokio::sync::mpsc::channel(8);
    let reader = std::thread::spawn(move || feed(&tx));
    let stored = store.import_images(who, study_id, rx).await;
    let read = reader
        .join()
        .map_err(|_| anyhow!("the import's reader thread failed"))?;
    match (stored, read) {
        (Ok(summary), Ok(value)) => Ok((value, summary)),
        (Err(e), Err(reader)) if reader.is::<StoreStopped>() => {
            Err(anyhow!(e)).context("the images were not stored (nothing of this import was)")
        }
        (_, Err(reader)) => Err(reader).context("nothing of this import was stored"),
        (Err(e), Ok(_)) => {
            Err(anyhow!(e)).context("the images were not stored (nothing of this import was)")
        }
    }
}

/// Reads every file under `paths` into the intake and the store.
async fn import_paths(
    intake: Arc<StudyIntake>,
    paths: Vec<PathBuf>,
    limit: u64,
) -> Result<(Produced, sclerad_store::ImageImportSummary)> {
    let reader = Arc::clone(&intake);
    let result = fed_import(
        intake.store.as_ref(),
        &intake.who,
        intake.study_id,
        move |tx| {
            let intaker = reader.intaker();
            let mut produced = Produced::default();
            let mut send = sender(tx);
            let mut take = |source: String, file: Result<Vec<u8>, String>| -> Result<()> {
                let intake = match file {
                    Ok(bytes) => intaker.bytes(&bytes),
                    Err(why) => Intake::Skipped(why),
                };
                reader.take(&mut produced, source, intake, &mut send)
            };
            for path in &paths {
                walk(path, limit, true, &mut take)?;
            }
            tx.blocking_send(ImageFeed::End(produced.tally.clone()))
                .map_err(|_| anyhow!(StoreStopped))?;
            Ok(produced)
        },
    )
    .await;
    // SQLite folds its write-ahead log back into the file: the images do
    // not take their size twice on disk.
    intake.store.close().await;
    result
}

pub fn import(args: &ImagesImportArgs) -> Result<ExitCode> {
    for path in &args.paths {
        std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    }
    let limit = args.max_file_size.saturating_mul(1 << 20);
    let options = Options {
        allow_burned_in: args.allow_burned_in,
    };
    runtime()?.block_on(async {
        let intake =
            StudyIntake::open(&args.db, &args.act_as, &args.study, &args.map, options).await?;
        let (produced, summary) = import_paths(Arc::new(intake), args.paths.clone(), limit).await?;
        finish(args, produced, &summary.results)
    })
}

/// The demo's synthetic images (written under `images` with their map),
/// taken into study `study` exactly as `sclerad images import` takes
/// files in. Returns the number of instances stored.
pub async fn import_demo_images(
    db: &crate::cli::DbArgs,
    study: &str,
    images: &Path,
    map: &Path,
) -> Result<usize> {
    let intake = StudyIntake::open(
        db,
        &crate::cli::ActAs::default(),
        study,
        map,
        Options::default(),
    )
    .await?;
    let (produced, summary) =
        import_paths(Arc::new(intake), vec![images.to_path_buf()], 64 << 20).await?;
    if let Some(line) = produced
        .lines
        .iter()
        .find(|l| l.action == "quarantined" || l.action == "refused" || l.action == "skipped")
    {
        bail!(
            "a demo image was not stored: {}: {}",
            line.source,
            line.reason
        );
    }
    Ok(summary.stored)
}

/// What a walk hands each file to: its bytes, or why it is skipped.
type Take<'a> = dyn FnMut(String, Result<Vec<u8>, String>) -> Result<()> + 'a;

/// Calls `take` with each file under `path` (a file, a folder read
/// recursively in name order, or a zip's members). A path given on the
/// command line is followed if it is a symbolic link (`follow`); links and
/// special files inside folders are skipped. An unreadable file is an
/// error: the import stops, storing nothing.
fn walk(path: &Path, limit: u64, follow: bool, take: &mut Take<'_>) -> Result<()> {
    let meta = if follow {
        std::fs::metadata(path)
    } else {
        std::fs::symlink_metadata(path)
    }
    .with_context(|| format!("cannot read {}", path.display()))?;
    if meta.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .with_context(|| format!("cannot read the folder {}", path.display()))?
            .map(|e| e.map(|e| e.path()))
            .collect::<std::io::Result<_>>()
            .with_context(|| format!("cannot read the folder {}", path.display()))?;
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
        bail!(
            "{source} is {} bytes, more than --max-file-size ({} MiB)",
            meta.len(),
            limit >> 20
        );
    }
    let bytes =
        sclerad_bundle::read_file(path, limit).with_context(|| format!("cannot read {source}"))?;
    if bytes.starts_with(b"PK\x03\x04") {
        return walk_zip(&source, bytes, limit, take);
    }
    take(source, Ok(bytes))
}

fn walk_zip(source: &str, bytes: Vec<u8>, limit: u64, take: &mut Take<'_>) -> Result<()> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .with_context(|| format!("{source}: not a readable zip file"))?;
    for i in 0..archive.len() {
        let mut member = archive
            .by_index(i)
            .with_context(|| format!("{source}: member {i} cannot be read"))?;
        if member.is_dir() {
            continue;
        }
        let name = match member.name() {
            Ok(name) => format!("{source}!{name}"),
            Err(_) => format!("{source}!(member {i})"),
        };
        if member.size() > limit {
            bail!(
                "{name} is {} bytes, more than --max-file-size ({} MiB)",
                member.size(),
                limit >> 20
            );
        }
        let mut data = Vec::with_capacity(usize::try_from(member.size()).unwrap_or(0));
        // The declared size may lie (a zip bomb): read at most the limit.
        (&mut member)
            .take(limit + 1)
            .read_to_end(&mut data)
            .with_context(|| format!("cannot read {name}"))?;
        if data.len() as u64 > limit {
            bail!(
                "{name} is larger than --max-file-size ({} MiB)",
                limit >> 20
            );
        }
        take(name, Ok(data))?;
    }
    Ok(())
}

fn finish(
    args: &ImagesImportArgs,
    mut produced: Produced,
    results: &[ImageStored],
) -> Result<ExitCode> {
    let (new, unchanged, refused_by_store) = produced.apply(results);
    let tally = &produced.tally;
    let refused = tally.refused + refused_by_store;
    if let Some(path) = &args.report {
        let mut text = String::from("source,action,reason,patient_id,exam,instance,warnings\n");
        for l in &produced.lines {
            let cells = [
                l.source.as_str(),
                l.action,
                &l.reason,
                &l.patient_id,
                &l.exam,
                &l.instance,
                &l.warnings,
            ];
            let quoted: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
            text.push_str(&quoted.join(","));
            text.push('\n');
        }
        sclerad_bundle::write_bytes_atomically(path, text.as_bytes())?;
    }
    let warned = produced
        .lines
        .iter()
        .filter(|l| l.action == "stored" && !l.warnings.is_empty())
        .count();
    println!(
        "{}: {} stored, {unchanged} stored already, {} quarantined, {refused} refused, {} skipped{}.",
        plural(produced.lines.len(), "file", "files"),
        plural(new, "instance", "instances"),
        tally.quarantined,
        tally.skipped,
        if warned > 0 {
            format!("; {warned} with warnings")
        } else {
            String::new()
        }
    );
    let notable: Vec<&Line> = produced
        .lines
        .iter()
        .filter(|l| l.action == "quarantined" || l.action == "refused")
        .collect();
    for l in notable.iter().take(20) {
        eprintln!("{}: {}: {}", l.source, l.action, l.reason);
    }
    if notable.len() > 20 {
        eprintln!(
            "… and {} more{}",
            notable.len() - 20,
            if args.report.is_some() {
                " (every file is in the report)"
            } else {
                " (--report REPORT.csv lists every file)"
            }
        );
    }
    if let Some(path) = &args.report {
        println!("Report: {}", path.display());
    }
    Ok(if tally.quarantined + refused > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// One CSV cell: quoted when needed, and defused when a spreadsheet would
/// run it as a formula (the report is for people).
fn csv_cell(text: &str) -> String {
    let text = spreadsheet_safe(text);
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.into_owned()
    }
}

// ---- export ----

fn export(args: &ImagesExportArgs) -> Result<ExitCode> {
    let out = &args.out;
    if let Ok(mut entries) = std::fs::read_dir(out) {
        if entries.next().is_some() {
            bail!("{} is not empty: export into a new folder", out.display());
        }
    } else if out.exists() {
        bail!("{} exists and is not a folder", out.display());
    }
    runtime()?.block_on(async {
        let store = open(&args.db).await?;
        let study = store
            .study(&args.study)
            .await?
            .with_context(|| format!("there is no study {:?} in the store", args.study))?;
        let who = acting(store.as_ref(), &args.act_as, &[Role::DataManager]).await?;
        let secret = StudySecret::new(store.image_secret(&who, study.id).await?.0);
        // Exam → (pseudonym, exam code).
        let mut exams: HashMap<i64, (String, &'static str)> = HashMap::new();
        for p in store.patients(study.id).await? {
            let pseudonym = secret.pseudonym(&p.patient_id);
            exams.insert(
                p.hand_radiograph.id,
                (pseudonym.clone(), ExamKind::HandRadiograph.code()),
            );
            exams.insert(p.ct.id, (pseudonym, ExamKind::Ct.code()));
        }
        let parent = out
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
        let staging = tempdir_in(parent, out)?;
        let written = write_images(store.as_ref(), study.id, &exams, &staging).await;
        let count = match written {
            Ok(count) => count,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&staging);
                return Err(e);
            }
        };
        // An empty folder given as --out is replaced by the staged one.
        let _ = std::fs::remove_dir(out);
        if let Err(e) = std::fs::rename(&staging, out) {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(e).with_context(|| format!("cannot write {}", out.display()));
        }
        println!("Wrote {count} instances to {}.", out.display());
        Ok(ExitCode::SUCCESS)
    })
}

fn tempdir_in(parent: &Path, out: &Path) -> Result<PathBuf> {
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "images".into());
    let staging = parent.join(format!(".{name}.partial-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir(&staging)
        .with_context(|| format!("cannot create {}", staging.display()))?;
    Ok(staging)
}

async fn write_images(
    store: &dyn Store,
    study_id: i64,
    exams: &HashMap<i64, (String, &'static str)>,
    dir: &Path,
) -> Result<usize> {
    use sha2::Digest as _;
    let mut after = 0;
    let mut count = 0;
    loop {
        let page = store.images_after(study_id, after, 500).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        for image in &page {
            let (pseudonym, exam) = exams
                .get(&image.exam_id)
                .with_context(|| format!("image {} has no exam in the study", image.id))?;
            let data = store
                .image_data(image.id)
                .await?
                .with_context(|| format!("image {} has gone", image.id))?;
            if sclerad_model::hex(&sha2::Sha256::digest(&data)) != image.sha256 {
                bail!(
                    "image {} does not match its recorded SHA-256 (run `sclerad audit verify`): nothing was exported",
                    image.id
                );
            }
            // UIDs become file names: digits and dots only.
            for uid in [&image.series_uid, &image.sop_instance_uid] {
                if uid.is_empty() || !uid.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
                    bail!(
                        "image {} has a UID that is not digits and dots: nothing was exported",
                        image.id
                    );
                }
            }
            let folder = dir.join(pseudonym).join(exam).join(&image.series_uid);
            std::fs::create_dir_all(&folder)
                .with_context(|| format!("cannot create {}", folder.display()))?;
            let path = folder.join(format!("{}.dcm", image.sop_instance_uid));
            std::fs::write(&path, &data)
                .with_context(|| format!("cannot write {}", path.display()))?;
            count += 1;
        }
    }
    Ok(count)
}

// ---- listen ----

/// One association's receiver: de-identified instances spooled to a
/// private temporary folder (never the originals), stored at release.
struct AssociationReceiver<'a> {
    intake: &'a Arc<StudyIntake>,
    rt: &'a tokio::runtime::Handle,
    spool: tempfile::TempDir,
    produced: Produced,
    /// The fed instances without their bytes, and where they are spooled.
    spooled: Vec<(NewImage, PathBuf)>,
    received: usize,
}

impl sclerad_dicom::listen::Receiver for AssociationReceiver<'_> {
    fn instance(
        &mut self,
        file: dicom_object::FileDicomObject<dicom_object::InMemDicomObject>,
    ) -> sclerad_dicom::listen::Verdict {
        use sclerad_dicom::listen::Verdict;
        self.received += 1;
        let source = format!("association instance {}", self.received);
        let intake = self.intake.intaker().instance(&file);
        let lines = self.produced.lines.len();
        let spool = self.spool.path().join(format!("{}.dcm", self.received));
        let mut spooled = None;
        let mut send = |mut image: NewImage| -> Result<()> {
            std::fs::write(&spool, std::mem::take(&mut image.data))
                .with_context(|| format!("cannot spool it in {}", spool.display()))?;
            spooled = Some(image);
            Ok(())
        };
        let taken = self
            .intake
            .take(&mut self.produced, source, intake, &mut send);
        if let Err(e) = taken {
            // It could not be spooled: refused (no line was written for it).
            self.produced.tally.refused += 1;
            println!("association instance {}: refused: {e:#}", self.received);
            return Verdict::Refused(format!("{e:#}"));
        }
        let line = &self.produced.lines[lines];
        match spooled {
            Some(image) => {
                self.spooled.push((image, spool));
                Verdict::Taken
            }
            None => {
                println!("{}: {}: {}", line.source, line.action, line.reason);
                Verdict::Refused(format!("{}: {}", line.action, line.reason))
            }
        }
    }

    fn release(&mut self) -> Result<(), String> {
        if self.received == 0 {
            // An echo, or an association that sent nothing: no import.
            return Ok(());
        }
        let spooled = self.spooled.clone();
        let tally = self.produced.tally.clone();
        let intake = self.intake;
        let stored = self.rt.block_on(fed_import(
            intake.store.as_ref(),
            &intake.who,
            intake.study_id,
            move |tx| {
                let mut send = sender(tx);
                for (mut image, path) in spooled {
                    image.data = std::fs::read(&path)
                        .with_context(|| format!("cannot read the spool {}", path.display()))?;
                    send(image)?;
                }
                tx.blocking_send(ImageFeed::End(tally))
                    .map_err(|_| anyhow!(StoreStopped))?;
                Ok(())
            },
        ));
        let ((), summary) = stored.map_err(|e| format!("{e:#}"))?;
        let (new, unchanged, refused) = self.produced.apply(&summary.results);
        for &index in &self.produced.fed {
            let line = &self.produced.lines[index];
            println!(
                "{}: {} {} {} {}{}",
                line.source,
                line.action,
                line.patient_id,
                line.exam,
                line.instance,
                if line.warnings.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", line.warnings)
                }
            );
        }
        println!(
            "Association released: {new} stored, {unchanged} stored already, {} quarantined, {} refused.",
            self.produced.tally.quarantined,
            self.produced.tally.refused + refused
        );
        Ok(())
    }
}

fn listen(args: &ImagesListenArgs) -> Result<ExitCode> {
    let ae = args.ae.trim();
    if ae.is_empty()
        || ae.len() > 16
        || !ae.bytes().all(|b| (0x20..0x7f).contains(&b) && b != b'\\')
    {
        bail!("--ae {ae:?}: an AE title is 1 to 16 characters of printable ASCII, without a backslash");
    }
    let rt = runtime()?;
    let options = Options {
        allow_burned_in: args.allow_burned_in,
    };
    let intake = Arc::new(rt.block_on(StudyIntake::open(
        &args.db,
        &args.act_as,
        &args.study,
        &args.map,
        options,
    ))?);
    let listener = std::net::TcpListener::bind(args.bind)
        .with_context(|| format!("cannot listen on {}", args.bind))?;
    let addr = listener.local_addr()?;
    println!(
        "Listening for DICOM C-STORE as {ae} on {addr}, into study {:?} (Ctrl-C stops).",
        args.study
    );
    let options = sclerad_dicom::listen::ListenOptions {
        ae_title: ae.to_string(),
        max_pdu_length: 65536,
        timeout: std::time::Duration::from_secs(120),
    };
    let busy = std::sync::atomic::AtomicU32::new(0);
    let handle = rt.handle().clone();
    std::thread::scope(|scope| {
        for stream in listener.incoming() {
            let stream = match stream {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("a connection failed: {e}");
                    continue;
                }
            };
            if busy.load(std::sync::atomic::Ordering::SeqCst) >= args.associations {
                eprintln!(
                    "a connection refused: {} associations at once already",
                    args.associations
                );
                drop(stream);
                continue;
            }
            busy.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let (intake, rt, options, busy) = (&intake, &handle, &options, &busy);
            scope.spawn(move || {
                let peer = stream
                    .peer_addr()
                    .map(|a| a.to_string())
                    .unwrap_or_default();
                let outcome = tempfile::Builder::new()
                    .prefix("sclerad-listen-")
                    .tempdir()
                    .map_err(|e| e.to_string())
                    .and_then(|spool| {
                        let mut receiver = AssociationReceiver {
                            intake,
                            rt,
                            spool,
                            produced: Produced::default(),
                            spooled: Vec::new(),
                            received: 0,
                        };
                        sclerad_dicom::listen::serve(stream, options, &mut receiver)
                            .map_err(|e| e.to_string())
                    });
                match outcome {
                    Ok(served) => println!(
                        "Association from {} ({peer}) ended: {} C-STORE requests.",
                        served.calling_ae, served.stores
                    ),
                    Err(e) => eprintln!("Association from {peer}: {e}"),
                }
                busy.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
            });
        }
    });
    Ok(ExitCode::SUCCESS)
}
