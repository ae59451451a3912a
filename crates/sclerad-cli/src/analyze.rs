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
    )
}

/// Validates, analyses and writes every output; the exit status says how
/// it went.
pub fn run_with(
    bundle: &Path,
    out: &Path,
    settings: &Settings,
    read: &ReadOptions,
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
    write_outputs(&results, out)?;
    clock.lap("write results and report");
    steps.finish();
    clock.report();
    summary(&results, out)?;
    Ok(ExitCode::SUCCESS)
}

/// Writes every output into a fresh temporary folder beside `out`, then
/// moves each file into place, so an interrupted run leaves no half-written
/// file.
fn write_outputs(results: &Results, out: &Path) -> Result<()> {
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = out
        .file_name()
        .map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned());
    let staging = parent.join(format!(".{name}.sclerad-{}.tmp", std::process::id()));
    let result = (|| -> Result<Vec<PathBuf>> {
        let mut files = Vec::new();
        std::fs::create_dir_all(&staging)
            .with_context(|| format!("cannot create {}", staging.display()))?;
        let mut put = |rel: &str, bytes: &[u8]| -> Result<()> {
            let path = staging.join(rel);
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            std::fs::write(&path, bytes)
                .with_context(|| format!("cannot write {}", path.display()))?;
            files.push(PathBuf::from(rel));
            Ok(())
        };
        let json = serde_json::to_string_pretty(results)?;
        put("results.json", json.as_bytes())?;
        crate::report::write(results, &mut put)?;
        Ok(files)
    })();
    let outcome = result.and_then(|files| {
        for rel in &files {
            let target = out.join(rel);
            if let Some(dir) = target.parent() {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create {}", dir.display()))?;
            }
            std::fs::rename(staging.join(rel), &target)
                .with_context(|| format!("cannot move {} into place", target.display()))?;
        }
        Ok(())
    });
    let _ = std::fs::remove_dir_all(&staging);
    outcome
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
    run_with(
        &bundle,
        &results,
        &Settings::default(),
        &ReadOptions::default(),
    )
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
