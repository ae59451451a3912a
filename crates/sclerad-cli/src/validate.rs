//! `sclerad validate`.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use sclerad_bundle::{DateFormat, ReadOptions};
use sclerad_model::{Problem, ProblemCounts, ReaderChoice, ReaderChoiceError, ValidateOptions};
use serde::Serialize;

use crate::cli::{DateFormatArg, InputArgs, OutputFormat, ValidateArgs};

pub fn read_options(input: &InputArgs) -> ReadOptions {
    ReadOptions {
        date_format: match input.date_format {
            DateFormatArg::Iso => DateFormat::Iso,
            DateFormatArg::Dmy => DateFormat::Dmy,
        },
        max_file_bytes: input.max_file_size,
    }
}

#[derive(Serialize)]
struct ReaderReport<'a> {
    present: &'a [String],
    chosen: Option<String>,
}

fn reader_report<'a>(
    present: &'a [String],
    r: &Result<Option<String>, ReaderChoiceError>,
) -> ReaderReport<'a> {
    ReaderReport {
        present,
        chosen: r.clone().ok().flatten(),
    }
}

#[derive(Serialize)]
struct Report<'a> {
    bundle: String,
    valid: bool,
    counts: ProblemCounts,
    patients: usize,
    hand_readings: Option<usize>,
    spine_readings: Option<usize>,
    hand_readers: ReaderReport<'a>,
    spine_readers: ReaderReport<'a>,
    problems: &'a [Problem],
}

pub fn run(args: &ValidateArgs) -> Result<ExitCode> {
    let check = ValidateOptions {
        reader: args.input.reader.clone(),
        ..ValidateOptions::default()
    };
    let (loaded, validation) =
        sclerad_bundle::load(&args.bundle, &read_options(&args.input), &check)?;
    let mut problems = loaded.problems;
    sort_problems(&mut problems);
    let counts = ProblemCounts::of(&problems);
    let cohort = &loaded.cohort;
    let readers: &ReaderChoice = &validation.readers;
    let report = Report {
        bundle: args.bundle.display().to_string(),
        valid: counts.errors == 0,
        counts,
        patients: cohort.patients.len(),
        hand_readings: cohort.hand_readings.as_ref().map(|r| r.rows.len()),
        spine_readings: cohort.spine_readings.as_ref().map(|r| r.rows.len()),
        hand_readers: reader_report(&readers.hand_readers, &readers.hand),
        spine_readers: reader_report(&readers.spine_readers, &readers.spine),
        problems: &problems,
    };
    let mut derived_note = None;
    if let Some(path) = &args.derived {
        if counts.errors == 0 {
            let derived = sclerad_model::derive(
                cohort,
                &readers.selection(),
                sclerad_model::DEFAULT_IMAGING_WINDOW_DAYS,
            );
            sclerad_bundle::write_file_atomically(path, &sclerad_bundle::derived_csv(&derived))?;
            derived_note = Some(format!("Derived variables written to {}", path.display()));
        } else {
            derived_note = Some(format!(
                "{} not written: the bundle has errors",
                path.display()
            ));
        }
    }
    let mut out = std::io::stdout().lock();
    match args.format {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &report)?;
            writeln!(out)?;
        }
        OutputFormat::Table => print_table(&mut out, &report)?,
    }
    out.flush()?;
    if let Some(note) = derived_note {
        eprintln!("{note}");
    }
    Ok(if counts.errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn shorten(s: &str, max: usize) -> String {
    let one_line = s.replace(['\n', '\r'], "⏎");
    if one_line.chars().count() <= max {
        one_line
    } else {
        let mut t: String = one_line.chars().take(max - 1).collect();
        t.push('…');
        t
    }
}

fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

fn print_table(out: &mut impl Write, r: &Report<'_>) -> std::io::Result<()> {
    writeln!(out, "Bundle {}", r.bundle)?;
    let mut read = vec![plural(r.patients, "patient")];
    for (n, what, readers) in [
        (r.hand_readings, "hand reading", &r.hand_readers),
        (r.spine_readings, "spine reading", &r.spine_readers),
    ] {
        if let Some(n) = n {
            let mut s = plural(n, what);
            if !readers.present.is_empty() {
                s.push_str(&format!(" by {}", readers.present.join(", ")));
                if let Some(chosen) = &readers.chosen {
                    s.push_str(&format!(" (using {chosen})"));
                }
            }
            read.push(s);
        }
    }
    writeln!(out, "Read: {}", read.join("; "))?;
    print_problems(out, r.problems)?;
    let c = r.counts;
    let verdict = if c.errors == 0 {
        "OK, ready for analysis"
    } else {
        "NOT VALID: fix the errors above"
    };
    writeln!(
        out,
        "{}, {}, {}: {verdict}",
        plural(c.errors, "error"),
        plural(c.warnings, "warning"),
        plural(c.notes, "note"),
    )?;
    Ok(())
}

/// The problems as an aligned table (nothing when there are none).
pub fn print_problems(out: &mut impl Write, problems: &[Problem]) -> std::io::Result<()> {
    if !problems.is_empty() {
        let rows: Vec<[String; 6]> = problems
            .iter()
            .map(|p| {
                // Long names are shortened in the table (JSON has them whole).
                let file = match &p.location.sheet {
                    Some(sheet) => format!("{} [{}]", p.location.file, shorten(sheet, 40)),
                    None => shorten(&p.location.file, 60),
                };
                [
                    p.severity.to_string(),
                    file,
                    p.location
                        .row
                        .map(|r| r.to_string())
                        .unwrap_or_else(|| "-".into()),
                    p.location
                        .column
                        .as_deref()
                        .map(|c| shorten(c, 40))
                        .unwrap_or_else(|| "-".into()),
                    p.value
                        .as_deref()
                        .map(|v| format!("{:?}", shorten(v, 24)))
                        .unwrap_or_else(|| "-".into()),
                    p.message.clone(),
                ]
            })
            .collect();
        let header = ["SEVERITY", "FILE", "ROW", "COLUMN", "VALUE", "PROBLEM"].map(String::from);
        let mut widths = header.clone().map(|h| h.chars().count());
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row.iter()).take(5) {
                *w = (*w).max(cell.chars().count());
            }
        }
        writeln!(out)?;
        for row in std::iter::once(&header).chain(rows.iter()) {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate() {
                if i < 5 {
                    // Padded by hand: a format width is limited to 65,535.
                    line.push_str(cell);
                    let pad = widths[i].saturating_sub(cell.chars().count()) + 2;
                    line.extend(std::iter::repeat_n(' ', pad));
                } else {
                    line.push_str(cell);
                }
            }
            writeln!(out, "{}", line.trim_end())?;
        }
        writeln!(out)?;
    }
    Ok(())
}

pub use sclerad_model::sort_problems;
