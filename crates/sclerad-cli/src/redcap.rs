//! `sclerad redcap`: the format's clinical record as a REDCap data
//! dictionary, a records export back into a bundle, a centre's mapping.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use sclerad_bundle::{ReadOptions, TextTables};
use sclerad_model::ProblemCounts;
use sclerad_redcap::{DateOrder, ImportOptions, Upload};

use crate::cli::{
    OutputFormat, RedcapCommand, RedcapDateArg, RedcapDictionaryArgs, RedcapImportArgs,
    RedcapMappingArgs,
};

pub fn run(command: &RedcapCommand) -> Result<ExitCode> {
    match command {
        RedcapCommand::Dictionary(args) => dictionary(args),
        RedcapCommand::Import(args) => import(args),
        RedcapCommand::Mapping(args) => mapping(args),
    }
}

/// Writes `text` to `out` atomically, or to standard output.
fn write_out(out: Option<&Path>, text: &str, what: &str) -> Result<()> {
    match out {
        Some(path) => {
            sclerad_bundle::write_file_atomically(path, text)?;
            eprintln!("Wrote {what} to {}", path.display());
        }
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(text.as_bytes())?;
            stdout.flush()?;
        }
    }
    Ok(())
}

fn dictionary(args: &RedcapDictionaryArgs) -> Result<ExitCode> {
    write_out(
        args.out.as_deref(),
        &sclerad_redcap::dictionary_csv(),
        "the REDCap data dictionary",
    )?;
    Ok(ExitCode::SUCCESS)
}

fn name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

fn mapping(args: &RedcapMappingArgs) -> Result<ExitCode> {
    let bytes = sclerad_bundle::read_file(&args.dictionary, args.max_file_size)?;
    let (dict, mut problems) = sclerad_redcap::read_dictionary(&name(&args.dictionary), &bytes);
    if ProblemCounts::of(&problems).errors > 0 {
        crate::validate::sort_problems(&mut problems);
        let mut out = std::io::stdout().lock();
        crate::validate::print_problems(&mut out, &problems)?;
        writeln!(out, "The dictionary has errors: no mapping written")?;
        return Ok(ExitCode::from(1));
    }
    let mapping = sclerad_redcap::suggest_mapping(&dict);
    write_out(
        args.out.as_deref(),
        &mapping.to_csv(),
        "the suggested mapping",
    )?;
    Ok(ExitCode::SUCCESS)
}

fn import(args: &RedcapImportArgs) -> Result<ExitCode> {
    if args.out.join("patients.csv").exists() && !args.force {
        bail!(
            "{} already holds a bundle (patients.csv); use --force to replace it",
            args.out.display()
        );
    }
    let max = args.max_file_size;
    let records = sclerad_bundle::read_file(&args.records, max)?;
    let dictionary = sclerad_bundle::read_file(&args.dictionary, max)?;
    let mapping = match &args.mapping {
        Some(p) => Some(sclerad_bundle::read_file(p, max)?),
        None => None,
    };
    let (records_name, dictionary_name) = (name(&args.records), name(&args.dictionary));
    let mapping_name = args.mapping.as_deref().map(name).unwrap_or_default();
    let mut with_problems = Vec::new();
    let with = match &args.with {
        Some(dir) => {
            let read = ReadOptions {
                max_file_bytes: max,
                ..ReadOptions::default()
            };
            let loaded = sclerad_bundle::read_bundle(dir, &read)
                .with_context(|| format!("cannot read the bundle {}", dir.display()))?;
            if loaded.cohort.hand_readings.is_none() && loaded.cohort.spine_readings.is_none() {
                bail!("{} has no readings tables to join", dir.display());
            }
            // The readings' own reading problems; its patients are not used.
            let patients = loaded.cohort.patients_table.file.clone();
            with_problems.extend(
                loaded
                    .problems
                    .iter()
                    .filter(|p| p.location.file != patients)
                    .cloned(),
            );
            let mut tables = TextTables::of(&loaded.cohort);
            tables.patients = Default::default();
            Some(tables)
        }
        None => None,
    };
    let options = ImportOptions {
        date_order: match args.date_format {
            RedcapDateArg::Ymd => DateOrder::Ymd,
            RedcapDateArg::Dmy => DateOrder::Dmy,
            RedcapDateArg::Mdy => DateOrder::Mdy,
        },
        ..ImportOptions::default()
    };
    let imported = sclerad_redcap::import(
        Upload {
            name: &records_name,
            bytes: &records,
        },
        Upload {
            name: &dictionary_name,
            bytes: &dictionary,
        },
        mapping.as_deref().map(|bytes| Upload {
            name: &mapping_name,
            bytes,
        }),
        with.as_ref(),
        &options,
    );
    let mut problems = with_problems;
    problems.extend(imported.problems.iter().cloned());
    crate::validate::sort_problems(&mut problems);
    let counts = ProblemCounts::of(&problems);
    let bundle = imported.bundle.as_ref().filter(|_| counts.errors == 0);
    if let Some(tables) = bundle {
        // With --force, readings files of an earlier bundle that this one
        // does not have must not stay behind.
        tables.write_folder(&args.out)?;
        for (file, absent) in [
            ("hand_readings.csv", tables.hand_readings.is_none()),
            ("spine_readings.csv", tables.spine_readings.is_none()),
        ] {
            let path = args.out.join(file);
            if absent && path.exists() {
                std::fs::remove_file(&path)
                    .with_context(|| format!("cannot remove the stale {}", path.display()))?;
            }
        }
    }
    let mut out = std::io::stdout().lock();
    match args.format {
        OutputFormat::Json => {
            let report = serde_json::json!({
                "records": args.records.display().to_string(),
                "written": bundle.is_some(),
                "out": args.out.display().to_string(),
                "patients": imported.cohort.patients.len(),
                "counts": counts,
                "problems": problems,
            });
            serde_json::to_writer_pretty(&mut out, &report)?;
            writeln!(out)?;
        }
        OutputFormat::Table => {
            crate::validate::print_problems(&mut out, &problems)?;
            let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
            let verdict = match bundle {
                Some(_) => format!(
                    "{} written to {}",
                    plural(imported.cohort.patients.len(), "patient"),
                    args.out.display()
                ),
                None => "NOT WRITTEN: fix the errors above".to_string(),
            };
            writeln!(
                out,
                "{}, {}, {}: {verdict}",
                plural(counts.errors, "error"),
                plural(counts.warnings, "warning"),
                plural(counts.notes, "note"),
            )?;
        }
    }
    out.flush()?;
    Ok(if bundle.is_some() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
