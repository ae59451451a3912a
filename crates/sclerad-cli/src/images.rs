//! `sclerad images`: DICOM instances — a quick look, taking them into a
//! study de-identified, writing them out again.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};
use sclerad_dicom::intake::ExamKind;
use sclerad_dicom::{read, render, Options, Read, StudySecret};
use sclerad_intake::{IntakeError, Line, Produced, StudyIntake};
use sclerad_model::spreadsheet_safe;
use sclerad_store::{ImageFeed, ImageStored, NewImage, Role, Store};

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

/// An intake error as the command line says it: a file too large names the
/// flag that raises the limit.
fn intake_error(e: IntakeError) -> anyhow::Error {
    match e {
        IntakeError::TooLarge { path, limit } => anyhow!(
            "{path} is larger than --max-file-size ({} MiB)",
            limit >> 20
        ),
        other => anyhow!(other),
    }
}

/// The intake into study `study` of the store `db`, as `act_as`, with the
/// map file `map`.
async fn open_intake(
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
    let who = acting(store.as_ref(), act_as, &[Role::DataManager]).await?;
    let bytes = sclerad_bundle::read_file(map, 64 << 20)
        .with_context(|| format!("cannot read the map {}", map.display()))?;
    StudyIntake::open(
        store,
        who,
        found.id,
        &map.display().to_string(),
        &bytes,
        options,
    )
    .await
    .map_err(intake_error)
}

/// Reads every file under `paths` into the intake and the store.
async fn import_paths(
    intake: Arc<StudyIntake>,
    paths: Vec<PathBuf>,
    limit: u64,
) -> Result<(Produced, sclerad_store::ImageImportSummary)> {
    let store = Arc::clone(&intake.store);
    let result = sclerad_intake::import_paths(intake, paths, limit, true).await;
    // SQLite folds its write-ahead log back into the file: the images do
    // not take their size twice on disk.
    store.close().await;
    result.map_err(intake_error)
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
        let intake = open_intake(&args.db, &args.act_as, &args.study, &args.map, options).await?;
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
    let intake = open_intake(
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
        let mut send = |mut image: NewImage| -> Result<(), IntakeError> {
            std::fs::write(&spool, std::mem::take(&mut image.data)).map_err(|e| {
                IntakeError::Other(format!("cannot spool it in {}: {e}", spool.display()))
            })?;
            spooled = Some(image);
            Ok(())
        };
        let taken = self
            .intake
            .take(&mut self.produced, source, intake, &mut send);
        if let Err(e) = taken {
            // It could not be spooled: refused (no line was written for it).
            self.produced.tally.refused += 1;
            println!("association instance {}: refused: {e}", self.received);
            return Verdict::Refused(e.to_string());
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
        let stored = self.rt.block_on(sclerad_intake::fed_import(
            intake.store.as_ref(),
            &intake.who,
            intake.study_id,
            move |tx| {
                let mut send = sclerad_intake::sender(tx);
                for (mut image, path) in spooled {
                    image.data = std::fs::read(&path).map_err(|e| {
                        IntakeError::Other(format!("cannot read the spool {}: {e}", path.display()))
                    })?;
                    send(image)?;
                }
                tx.blocking_send(ImageFeed::End(tally))
                    .map_err(|_| IntakeError::StoreStopped)?;
                Ok(())
            },
        ));
        let ((), summary) = stored.map_err(|e| e.to_string())?;
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
    let intake = Arc::new(rt.block_on(open_intake(
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
