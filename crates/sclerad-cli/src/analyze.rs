//! `sclerad analyze` and `sclerad demo`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use sclerad_analysis::{analyze, InputInfo, Results, Settings};
use sclerad_bundle::ReadOptions;
use sclerad_model::{ProblemCounts, Severity, ValidateOptions};

use crate::cli::{AnalyzeArgs, DemoArgs};
use crate::progress::Steps;
use crate::validate::{print_problems, read_options, sort_problems};

/// The settings: the file if given, then the command-line overrides.
fn settings(args: &AnalyzeArgs) -> Result<Settings> {
    let mut settings = match &args.settings {
        Some(path) => {
            // A settings file is a few hundred bytes: 1 MiB is plenty.
            let bytes = sclerad_bundle::read_file(path, 1 << 20)
                .with_context(|| format!("cannot read the settings file {}", path.display()))?;
            let text = String::from_utf8(bytes).map_err(|_| {
                anyhow::anyhow!("the settings file {} is not UTF-8 text", path.display())
            })?;
            Settings::from_toml(&text, &path.display().to_string())?
        }
        None => Settings::default(),
    };
    if let Some(reader) = &args.input.reader {
        settings.reader = Some(reader.clone());
    }
    if args.exclude_ineligible {
        settings.exclude_ineligible = true;
    }
    settings.check("the command line")?;
    Ok(settings)
}

pub fn run(args: &AnalyzeArgs) -> Result<ExitCode> {
    let settings = settings(args)?;
    run_with(
        &args.bundle,
        &args.out,
        &settings,
        &read_options(&args.input),
        &[],
    )
}

/// Validates, analyses and writes every output (the report with `about`,
/// paragraphs on where the data come from); the exit status says how it
/// went.
pub fn run_with(
    bundle: &Path,
    out: &Path,
    settings: &Settings,
    read: &ReadOptions,
    about: &[String],
) -> Result<ExitCode> {
    let steps = Steps::new(3);
    let clock = Phases::new();
    steps.step("reading and validating the bundle");
    let check = ValidateOptions {
        reader: settings.reader.clone(),
        imaging_window_days: settings.imaging_window_days,
        reader_required: true,
    };
    // The SHA-256 of the input is computed on another core while the
    // bundle is read.
    let (fingerprint, loaded) = std::thread::scope(|scope| {
        let fingerprint = scope.spawn(|| sclerad_bundle::fingerprint(bundle, read.max_file_bytes));
        let loaded = sclerad_bundle::load(bundle, read, &check);
        (fingerprint.join(), loaded)
    });
    let (loaded, _) = loaded?;
    let mut problems = loaded.problems;
    let counts = ProblemCounts::of(&problems);
    if counts.errors > 0 {
        steps.finish();
        sort_problems(&mut problems);
        problems.retain(|p| p.severity == Severity::Error);
        let mut stdout = std::io::stdout().lock();
        writeln!(
            stdout,
            "Bundle {} has {} error(s); nothing was analysed.",
            bundle.display(),
            counts.errors
        )?;
        print_problems(&mut stdout, &problems)?;
        writeln!(
            stdout,
            "Run 'sclerad validate {}' for the full list with warnings.",
            bundle.display()
        )?;
        return Ok(ExitCode::from(1));
    }
    clock.lap("read and validate");
    steps.step("analysing");
    let input = InputInfo {
        path: bundle.display().to_string(),
        sha256: match fingerprint {
            Ok(result) => result?,
            Err(panic) => std::panic::resume_unwind(panic),
        },
    };
    let results = analyze(&loaded.cohort, settings, &input)?;
    clock.lap("analyse");
    steps.step("writing results and report");
    write_outputs(&results, about, out)?;
    clock.lap("write results and report");
    steps.finish();
    clock.report();
    summary(&results, out)?;
    Ok(ExitCode::SUCCESS)
}

/// What `analyze` writes into its output folder; a folder holding anything
/// else is not replaced.
const OUTPUTS: [&str; 4] = ["results.json", "report.html", "tables", "figures"];

/// The prefix of the staging folders of runs into `out` (hidden, beside it).
fn staging_prefix(name: &str) -> String {
    format!(".{name}.sclerad-run-")
}

/// Writes every output into a fresh staging folder beside `out`, then puts
/// it in place as a whole: `out` holds one complete run or the other,
/// never a mixture, whenever the process is stopped. On Linux the two
/// folders are exchanged in one step (`renameat2(RENAME_EXCHANGE)`); the
/// previous run, then in the staging folder, is removed. Staging folders
/// left by interrupted runs are removed first.
fn write_outputs(results: &Results, about: &[String], out: &Path) -> Result<()> {
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = out
        .file_name()
        .map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned());
    match std::fs::symlink_metadata(out) {
        Ok(meta) if !meta.is_dir() => {
            anyhow::bail!("{} exists and is not a folder", out.display())
        }
        Ok(_) => {
            let foreign: Vec<String> = std::fs::read_dir(out)
                .with_context(|| format!("cannot read {}", out.display()))?
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| !OUTPUTS.contains(&n.as_str()))
                .collect();
            if !foreign.is_empty() {
                anyhow::bail!(
                    "{} holds files sclerad analyze did not write ({}); it is replaced as a whole by each run, so give an empty or new folder",
                    out.display(),
                    foreign.join(", ")
                );
            }
        }
        Err(_) => std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?,
    }
    remove_leftovers(parent, &name);
    let staging = parent.join(format!("{}{}", staging_prefix(&name), std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    let written = (|| -> Result<()> {
        std::fs::create_dir(&staging)
            .with_context(|| format!("cannot create {}", staging.display()))?;
        let mut put = |rel: &str, bytes: &[u8]| -> Result<()> {
            let path = staging.join(rel);
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            std::fs::write(&path, bytes)
                .with_context(|| format!("cannot write {}", path.display()))?;
            Ok(())
        };
        let json = serde_json::to_string_pretty(results)?;
        put("results.json", json.as_bytes())?;
        crate::report::write(results, about, &mut put)?;
        Ok(())
    })();
    let outcome = written.and_then(|()| {
        replace_folder(&staging, out)
            .with_context(|| format!("cannot put the results in place at {}", out.display()))
    });
    // The staging folder now holds the previous run, or the failed one.
    let _ = std::fs::remove_dir_all(&staging);
    outcome
}

/// Puts folder `new` at `old`'s place in one step when the system can: the
/// two are exchanged, so `new` then holds what `old` held. Where `old` does
/// not exist, `new` is simply renamed.
fn replace_folder(new: &Path, old: &Path) -> std::io::Result<()> {
    if std::fs::symlink_metadata(old).is_err() {
        return std::fs::rename(new, old);
    }
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::ffi::OsStrExt;
        let c = |p: &Path| {
            std::ffi::CString::new(p.as_os_str().as_bytes())
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))
        };
        let (a, b) = (c(new)?, c(old)?);
        // SAFETY: both are valid NUL-terminated paths for the whole call.
        let done = unsafe {
            libc::renameat2(
                libc::AT_FDCWD,
                a.as_ptr(),
                libc::AT_FDCWD,
                b.as_ptr(),
                libc::RENAME_EXCHANGE,
            )
        };
        if done == 0 {
            return Ok(());
        }
        let e = std::io::Error::last_os_error();
        // Only where the file system cannot exchange: fall back below.
        if !matches!(e.raw_os_error(), Some(libc::EINVAL) | Some(libc::ENOSYS)) {
            return Err(e);
        }
    }
    // Two renames: `old` is briefly absent, never mixed.
    let mut aside = new.as_os_str().to_owned();
    aside.push(".previous");
    let aside = PathBuf::from(aside);
    std::fs::rename(old, &aside)?;
    std::fs::rename(new, old)?;
    std::fs::rename(&aside, new)
}

/// Removes the staging folders of earlier runs into `name` whose process
/// is gone (a run stopped before it could clean up).
fn remove_leftovers(parent: &Path, name: &str) {
    let prefix = staging_prefix(name);
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let file = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = file.strip_prefix(&prefix) else {
            continue;
        };
        let pid = pid.trim_end_matches(".previous");
        let alive = pid != std::process::id().to_string() && Path::new("/proc").join(pid).exists();
        if !alive {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

fn summary(results: &Results, out: &Path) -> std::io::Result<()> {
    let mut o = std::io::stdout().lock();
    let p = &results.population;
    writeln!(
        o,
        "Analysed {} patients ({} lcSSc, {} dcSSc; {} women).",
        p.n, p.lcssc_n, p.dcssc_n, p.female_n
    )?;
    let significant: Vec<&str> = results
        .comparisons
        .iter()
        .filter(|c| c.p_value.is_some_and(|p| p < 0.05))
        .map(|c| c.id.as_str())
        .collect();
    writeln!(
        o,
        "{} comparisons, {} with p < 0.05 before adjustment; {} survival analyses; {} agreement rows.",
        results.comparisons.len(),
        significant.len(),
        results.survival.iter().filter(|s| s.test != sclerad_analysis::results::SurvivalTest::NotComputable).count(),
        results.agreement.len()
    )?;
    for w in &results.warnings {
        writeln!(o, "warning: {w}")?;
    }
    writeln!(o, "Results: {}", out.join("results.json").display())?;
    writeln!(o, "Report:  {}", out.join("report.html").display())?;
    Ok(())
}

pub fn demo(args: &DemoArgs) -> Result<ExitCode> {
    let bundle = args.out.join("bundle");
    let results = args.out.join("results");
    let cohort = sclerad_synth::nancy_demo();
    sclerad_bundle::write_folder(&cohort, &bundle)?;
    println!(
        "Wrote the demo cohort ({} patients shaped like the Nancy study, read by rad1, rad2 and their consensus) to {}",
        cohort.patients.len(),
        bundle.display()
    );
    // The patients' images, beside the bundle (not in it: the bundle is
    // the clinical record), drawn to agree with the consensus readings.
    let files = sclerad_synth::images::write_images(&cohort, &args.out)
        .with_context(|| format!("cannot write the demo's images into {}", args.out.display()))?;
    println!(
        "Wrote {files} synthetic DICOM files (a hand radiograph and a CT series per patient, agreeing with the readings) to {} and their map to {}",
        args.out.join("images").display(),
        args.out.join("images-map.csv").display()
    );
    let analysed = run_with(
        &bundle,
        &results,
        &Settings::default(),
        &ReadOptions::default(),
        &sclerad_synth::demo_description(),
    )?;
    if !args.serve {
        return Ok(analysed);
    }
    crate::store::demo_serve(&args.out, &cohort, args.bind)
}

/// Wall-clock time of each phase, printed to stderr when the environment
/// variable `SCLERAD_TIMINGS` is set (for benchmarks).
struct Phases {
    enabled: bool,
    start: std::time::Instant,
    laps: std::cell::RefCell<Vec<(&'static str, std::time::Instant)>>,
}

impl Phases {
    fn new() -> Self {
        Phases {
            enabled: std::env::var_os("SCLERAD_TIMINGS").is_some(),
            start: std::time::Instant::now(),
            laps: std::cell::RefCell::new(Vec::new()),
        }
    }

    fn lap(&self, name: &'static str) {
        self.laps
            .borrow_mut()
            .push((name, std::time::Instant::now()));
    }

    fn report(&self) {
        if !self.enabled {
            return;
        }
        let mut previous = self.start;
        for (name, at) in self.laps.borrow().iter() {
            eprintln!("{name}: {:.3} s", (*at - previous).as_secs_f64());
            previous = *at;
        }
    }
}
