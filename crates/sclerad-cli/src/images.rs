//! `sclerad images`: DICOM instances — a quick look, taking them into a
//! study de-identified, writing them out again.

use std::collections::HashMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};
use chrono::NaiveDate;
use sclerad_dicom::intake::{ExamDates, ExamKind, Intake, Intaker, Map};
use sclerad_dicom::{read, render, Options, Read, StudySecret};
use sclerad_model::spreadsheet_safe;
use sclerad_store::{ImageFeed, ImageStored, ImageTally, NewImage, Store};

use crate::cli::{
    ImagesCommand, ImagesExportArgs, ImagesImportArgs, ImagesListenArgs, ImagesRenderArgs,
};
use crate::store::{actor, open, runtime};

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
    write_atomically(&args.out, &png)?;
    println!(
        "Wrote {} ({}×{}, frame {}).",
        args.out.display(),
        rendered.width,
        rendered.height,
        args.frame
    );
    Ok(ExitCode::SUCCESS)
}

/// Writes `bytes` beside `path`, then renames: never a half-written file.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    let part = path.with_file_name(format!(".{name}.part-{}", std::process::id()));
    if let Err(e) = std::fs::write(&part, bytes).and_then(|()| std::fs::rename(&part, path)) {
        let _ = std::fs::remove_file(&part);
        return Err(e).with_context(|| format!("cannot write {}", path.display()));
    }
    Ok(())
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

/// What the producer hands back: the report's lines, with the index of
/// each line whose instance went to the store (in feed order).
struct Produced {
    lines: Vec<Line>,
    fed: Vec<usize>,
    tally: ImageTally,
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

pub fn import(args: &ImagesImportArgs) -> Result<ExitCode> {
    for path in &args.paths {
        std::fs::symlink_metadata(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
    }
    let limit = args.max_file_size.saturating_mul(1 << 20);
    runtime()?.block_on(async {
        let store = open(&args.db).await?;
        let study = store
            .study(&args.study)
            .await?
            .with_context(|| format!("there is no study {:?} in the store", args.study))?;
        let side = study_side(store.as_ref(), study.id).await?;
        let map = read_map(&args.map, &side)?;
        let who = actor();
        let secret = StudySecret::new(store.image_secret(&who, study.id).await?.0);
        let (tx, rx) = tokio::sync::mpsc::channel(8);
        let paths = args.paths.clone();
        let options = Options {
            allow_burned_in: args.allow_burned_in,
        };
        let side = Arc::new(side);
        let producer_side = Arc::clone(&side);
        // De-identification on its own thread, writing on the runtime's:
        // both cores busy, at most eight instances in between.
        let producer = std::thread::spawn(move || {
            let intaker = Intaker {
                map: &map,
                secret: &secret,
                patients: &producer_side.dates,
                options,
            };
            produce(&paths, limit, &intaker, &producer_side.exams, &tx)
        });
        let stored = store.import_images(&who, study.id, rx).await;
        let produced = producer
            .join()
            .map_err(|_| anyhow!("the import's reader thread failed"))?;
        // SQLite folds its write-ahead log back into the file: the images
        // do not take their size twice on disk.
        store.close().await;
        // Whichever failed first: a file the reader could not read (the
        // store then saw the feed end early), or the store (the reader
        // then only saw it stop taking images).
        match (stored, produced) {
            (Ok(summary), Ok(produced)) => finish(args, produced, summary.results),
            (Err(e), Err(reader)) if reader.to_string().contains("stopped taking") => {
                Err(anyhow!(e)).context("the images were not stored (nothing of this import was)")
            }
            (_, Err(reader)) => Err(reader).context("nothing of this import was stored"),
            (Err(e), Ok(_)) => {
                Err(anyhow!(e)).context("the images were not stored (nothing of this import was)")
            }
        }
    })
}

/// The demo's synthetic images of every patient of `cohort`, taken into
/// study `study_id` as `sclerad images import` takes files in (the map
/// from their hospital identifiers, de-identification, one audited
/// import). Returns the number of instances stored.
pub async fn import_demo_images(
    store: &dyn Store,
    who: &sclerad_store::Actor,
    study_id: i64,
    cohort: &sclerad_model::Cohort,
) -> Result<usize> {
    let side = study_side(store, study_id).await?;
    let header: Vec<String> = vec!["dicom_patient_id".into(), "patient_id".into()];
    let rows: Vec<(usize, Vec<String>)> = cohort
        .patients
        .iter()
        .enumerate()
        .map(|(i, p)| {
            (
                i + 2,
                vec![
                    sclerad_synth::images::hospital_id(&p.patient_id),
                    p.patient_id.clone(),
                ],
            )
        })
        .collect();
    let map = Map::from_table(&header, &rows, |p| side.dates.contains_key(p))
        .map_err(|problems| anyhow!("the demo's image map: {}", problems[0]))?;
    let secret = StudySecret::new(store.image_secret(who, study_id).await?.0);
    let (tx, rx) = tokio::sync::mpsc::channel(8);
    let cohort = cohort.clone();
    let producer = std::thread::spawn(move || -> Result<Produced> {
        let intaker = Intaker {
            map: &map,
            secret: &secret,
            patients: &side.dates,
            options: Options::default(),
        };
        let mut produced = Produced {
            lines: Vec::new(),
            fed: Vec::new(),
            tally: ImageTally::default(),
        };
        for patient in &cohort.patients {
            let images = sclerad_synth::images::patient_images(&cohort, patient);
            let id = &patient.patient_id;
            for (i, file) in images.hand.iter().chain(&images.ct).enumerate() {
                let intake = intaker.instance(file);
                take_one(
                    &mut produced,
                    format!("demo:{id}/{i}"),
                    intake,
                    &side.exams,
                    &tx,
                )?;
            }
        }
        tx.blocking_send(ImageFeed::End(produced.tally.clone()))
            .map_err(|_| anyhow!("the store stopped taking images"))?;
        Ok(produced)
    });
    let stored = store.import_images(who, study_id, rx).await;
    let produced = producer
        .join()
        .map_err(|_| anyhow!("the demo's image thread failed"))??;
    let summary = stored?;
    if let Some(line) = produced.lines.iter().find(|l| !l.action.is_empty()) {
        bail!(
            "a demo image was not stored: {}: {}",
            line.source,
            line.reason
        );
    }
    Ok(summary.stored)
}

fn produce(
    paths: &[PathBuf],
    limit: u64,
    intaker: &Intaker<'_>,
    exams: &HashMap<(String, ExamKind), i64>,
    tx: &tokio::sync::mpsc::Sender<ImageFeed>,
) -> Result<Produced> {
    let mut produced = Produced {
        lines: Vec::new(),
        fed: Vec::new(),
        tally: ImageTally::default(),
    };
    let mut take = |source: String, file: Result<Vec<u8>, String>| -> Result<()> {
        let intake = match file {
            Ok(bytes) => intaker.bytes(&bytes),
            Err(why) => Intake::Skipped(why),
        };
        take_one(&mut produced, source, intake, exams, tx)
    };
    for path in paths {
        walk(path, limit, &mut take)?;
    }
    let tally = produced.tally.clone();
    tx.blocking_send(ImageFeed::End(tally))
        .map_err(|_| anyhow!("the store stopped taking images"))?;
    Ok(produced)
}

fn take_one(
    produced: &mut Produced,
    source: String,
    intake: Intake,
    exams: &HashMap<(String, ExamKind), i64>,
    tx: &tokio::sync::mpsc::Sender<ImageFeed>,
) -> Result<()> {
    let mut line = Line {
        source,
        action: "",
        reason: String::new(),
        patient_id: String::new(),
        exam: String::new(),
        instance: String::new(),
        warnings: String::new(),
    };
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
            let Some(exam_id) = exams.get(&(p.patient_id.clone(), p.exam)).copied() else {
                produced.tally.refused += 1;
                line.action = "refused";
                line.reason = format!("patient {:?} has no {} exam", p.patient_id, p.exam.code());
                produced.lines.push(line);
                return Ok(());
            };
            line.patient_id = p.patient_id.clone();
            line.exam = p.exam.code().into();
            line.instance = p.sop_instance_uid.clone();
            line.warnings = p.warnings.join("; ");
            if let Some(why) = &p.overridden {
                line.reason = format!("stored on --allow-burned-in: {why}");
            }
            let p = *p;
            let image = NewImage {
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
            };
            tx.blocking_send(ImageFeed::Image(image))
                .map_err(|_| anyhow!("the store stopped taking images"))?;
            produced.fed.push(produced.lines.len());
        }
    }
    produced.lines.push(line);
    Ok(())
}

/// What a walk hands each file to: its bytes, or why it is skipped.
type Take<'a> = dyn FnMut(String, Result<Vec<u8>, String>) -> Result<()> + 'a;

/// Calls `take` with each file under `path` (a file, a folder read
/// recursively in name order, or a zip's members); symbolic links and
/// special files are not followed. An unreadable file is an error: the
/// import stops, storing nothing.
fn walk(path: &Path, limit: u64, take: &mut Take<'_>) -> Result<()> {
    let meta = std::fs::symlink_metadata(path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    if meta.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .with_context(|| format!("cannot read the folder {}", path.display()))?
            .map(|e| e.map(|e| e.path()))
            .collect::<std::io::Result<_>>()
            .with_context(|| format!("cannot read the folder {}", path.display()))?;
        entries.sort();
        for entry in entries {
            walk(&entry, limit, take)?;
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
    results: Vec<ImageStored>,
) -> Result<ExitCode> {
    let (mut new, mut unchanged, mut refused_by_store) = (0, 0, 0);
    for (index, result) in produced.fed.iter().zip(results) {
        let line = &mut produced.lines[*index];
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
                refused_by_store += 1;
                line.action = "refused";
                line.reason = why;
            }
        }
    }
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
        write_atomically(path, text.as_bytes())?;
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
        let secret = StudySecret::new(store.image_secret(&actor(), study.id).await?.0);
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

/// What every association of a listener shares.
struct Listening {
    store: Arc<dyn Store>,
    study_id: i64,
    map: Map,
    secret: StudySecret,
    side: StudySide,
    options: Options,
    who: sclerad_store::Actor,
    rt: tokio::runtime::Handle,
}

/// One association's receiver: de-identified instances spooled to a
/// private temporary folder (never the originals), stored at release.
struct AssociationReceiver<'a> {
    shared: &'a Listening,
    spool: tempfile::TempDir,
    produced: Produced,
    /// (line index, the image without its bytes, its spooled file).
    spooled: Vec<(usize, NewImage, PathBuf)>,
    n: usize,
}

impl sclerad_dicom::listen::Receiver for AssociationReceiver<'_> {
    fn instance(
        &mut self,
        file: dicom_object::FileDicomObject<dicom_object::InMemDicomObject>,
    ) -> sclerad_dicom::listen::Verdict {
        use sclerad_dicom::listen::Verdict;
        self.n += 1;
        let shared = self.shared;
        let intaker = Intaker {
            map: &shared.map,
            secret: &shared.secret,
            patients: &shared.side.dates,
            options: shared.options,
        };
        let source = format!("association instance {}", self.n);
        match intaker.instance(&file) {
            Intake::Prepared(p) => {
                let Some(exam_id) = shared
                    .side
                    .exams
                    .get(&(p.patient_id.clone(), p.exam))
                    .copied()
                else {
                    return self.refuse(
                        source,
                        format!("patient {:?} has no {} exam", p.patient_id, p.exam.code()),
                    );
                };
                let path = self.spool.path().join(format!("{}.dcm", self.n));
                if let Err(e) = std::fs::write(&path, &p.data) {
                    return self.refuse(source, format!("cannot spool it: {e}"));
                }
                let p = *p;
                self.produced.lines.push(Line {
                    source,
                    action: "",
                    reason: p
                        .overridden
                        .as_ref()
                        .map(|w| format!("stored on --allow-burned-in: {w}"))
                        .unwrap_or_default(),
                    patient_id: p.patient_id.clone(),
                    exam: p.exam.code().into(),
                    instance: p.sop_instance_uid.clone(),
                    warnings: p.warnings.join("; "),
                });
                let image = NewImage {
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
                    data: Vec::new(),
                };
                self.spooled
                    .push((self.produced.lines.len() - 1, image, path));
                Verdict::Taken
            }
            Intake::Quarantined { reason, route } => {
                self.produced.tally.quarantined += 1;
                println!(
                    "{source}: quarantined ({} {}): {reason}",
                    route.patient_id,
                    route.exam.code()
                );
                Verdict::Refused(format!("quarantined: {reason}"))
            }
            Intake::Refused(why) | Intake::Skipped(why) => self.refuse(source, why),
        }
    }

    fn release(&mut self) -> Result<(), String> {
        if self.n == 0 {
            // An echo, or an association that sent nothing: no import.
            return Ok(());
        }
        let (tx, rx) = tokio::sync::mpsc::channel(8);
        let spooled: Vec<(NewImage, PathBuf)> = self
            .spooled
            .iter()
            .map(|(_, image, path)| (image.clone(), path.clone()))
            .collect();
        let tally = self.produced.tally.clone();
        let feeder = std::thread::spawn(move || -> Result<(), String> {
            for (mut image, path) in spooled {
                image.data = std::fs::read(&path).map_err(|e| format!("the spool: {e}"))?;
                tx.blocking_send(ImageFeed::Image(image))
                    .map_err(|_| "the store stopped taking images".to_string())?;
            }
            tx.blocking_send(ImageFeed::End(tally))
                .map_err(|_| "the store stopped taking images".to_string())
        });
        let shared = self.shared;
        let stored =
            shared
                .rt
                .block_on(shared.store.import_images(&shared.who, shared.study_id, rx));
        let fed = feeder
            .join()
            .map_err(|_| "the spool reader failed".to_string())?;
        let summary = stored.map_err(|e| e.to_string())?;
        fed?;
        let (mut new, mut unchanged) = (0, 0);
        for ((index, _, _), result) in self.spooled.iter().zip(&summary.results) {
            let line = &mut self.produced.lines[*index];
            match result {
                ImageStored::New(_) => {
                    new += 1;
                    line.action = "stored";
                }
                ImageStored::Unchanged(_) => {
                    unchanged += 1;
                    line.action = "stored";
                    line.reason = "stored already (unchanged)".into();
                }
                ImageStored::Refused(why) => {
                    line.action = "refused";
                    line.reason = why.clone();
                }
            }
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
            self.produced.tally.quarantined, self.produced.tally.refused
        );
        Ok(())
    }
}

impl AssociationReceiver<'_> {
    fn refuse(&mut self, source: String, why: String) -> sclerad_dicom::listen::Verdict {
        self.produced.tally.refused += 1;
        println!("{source}: refused: {why}");
        sclerad_dicom::listen::Verdict::Refused(why)
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
    let shared = rt.block_on(async {
        let store = open(&args.db).await?;
        let study = store
            .study(&args.study)
            .await?
            .with_context(|| format!("there is no study {:?} in the store", args.study))?;
        let side = study_side(store.as_ref(), study.id).await?;
        let map = read_map(&args.map, &side)?;
        let who = actor();
        let secret = StudySecret::new(store.image_secret(&who, study.id).await?.0);
        anyhow::Ok(Listening {
            store,
            study_id: study.id,
            map,
            secret,
            side,
            options: Options {
                allow_burned_in: args.allow_burned_in,
            },
            who,
            rt: rt.handle().clone(),
        })
    })?;
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
            let (shared, options, busy) = (&shared, &options, &busy);
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
                            shared,
                            spool,
                            produced: Produced {
                                lines: Vec::new(),
                                fed: Vec::new(),
                                tally: ImageTally::default(),
                            },
                            spooled: Vec::new(),
                            n: 0,
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
