//! `sclerad stats`: the statistics engine as immediate commands, like
//! Stata's `tabi`/`cci`, for a quick check.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use sclerad_stats::immediate;
use serde::Serialize;

use crate::cli::{GroupsArgs, StatsCommand, SurvivalArgs, TableArgs};

pub fn run(command: &StatsCommand) -> Result<ExitCode> {
    match command {
        StatsCommand::Table(args) => table(args),
        StatsCommand::Groups(args) => groups(args),
        StatsCommand::Survival(args) => survival(args),
    }
}

fn show(v: Option<f64>) -> String {
    match v {
        Some(x) if x.is_finite() => format!("{x:.6}"),
        Some(x) if x == f64::INFINITY => "Inf".into(),
        _ => "-".into(),
    }
}

fn emit<T: Serialize>(json: bool, value: &T, lines: &[(&str, String)]) -> Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, value)?;
        writeln!(out)?;
    } else {
        let width = lines.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        for (k, v) in lines {
            writeln!(out, "{k:<width$}  {v}")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn table(args: &TableArgs) -> Result<ExitCode> {
    let [a, b, c, d] = [args.a, args.b, args.c, args.d];
    let t = immediate::table(a, b, c, d).context("cannot test this table")?;
    let lines = [
        (
            "table",
            format!("a={a} b={b} / c={c} d={d} (exposed/unexposed × outcome yes/no)"),
        ),
        ("p_chi_square", show(t.p_chi_square)),
        ("p_chi_square_yates", show(t.p_chi_square_yates)),
        ("p_fisher", show(Some(t.p_fisher))),
        ("odds_ratio (conditional MLE)", show(Some(t.odds_ratio))),
        (
            "95% CI (exact)",
            format!("{} – {}", show(Some(t.or_ci_low)), show(Some(t.or_ci_high))),
        ),
        ("odds_ratio (Wald)", show(t.or_wald)),
        (
            "95% CI (Woolf)",
            format!("{} – {}", show(t.or_wald_ci_low), show(t.or_wald_ci_high)),
        ),
        ("risk_ratio", show(t.risk_ratio)),
        (
            "95% CI",
            format!("{} – {}", show(t.rr_ci_low), show(t.rr_ci_high)),
        ),
    ];
    emit(args.json, &t, &lines)
}

fn groups(args: &GroupsArgs) -> Result<ExitCode> {
    let g = immediate::groups(&args.x, &args.y).context("cannot compare these groups")?;
    let lines = [
        ("n_x / n_y", format!("{} / {}", args.x.len(), args.y.len())),
        ("p_welch", show(g.p_welch)),
        ("p_student", show(g.p_student)),
        ("p_mann_whitney", show(g.p_mann_whitney)),
        ("w", show(g.w)),
        ("p_shapiro_x", show(g.p_shapiro_x)),
        ("p_shapiro_y", show(g.p_shapiro_y)),
    ];
    emit(args.json, &g, &lines)
}

fn survival(args: &SurvivalArgs) -> Result<ExitCode> {
    let table =
        match sclerad_bundle::read_plain_csv(&args.file, sclerad_bundle::DEFAULT_MAX_FILE_BYTES)? {
            Ok(t) => t,
            Err(problems) => {
                for p in problems {
                    eprintln!("{p}");
                }
                return Ok(ExitCode::from(1));
            }
        };
    let mut missing = Vec::new();
    let mut col = |name: &str| {
        let i = table.column(name);
        if i.is_none() {
            missing.push(name.to_string());
        }
        i.unwrap_or(0)
    };
    let (ti, ei, gi) = (col("time"), col("event"), col("group"));
    if !missing.is_empty() {
        bail!(
            "{}: missing column(s) {}; the file needs time,event,group",
            table.name,
            missing.join(", ")
        );
    }
    let (mut time, mut event, mut group) = (Vec::new(), Vec::new(), Vec::new());
    let mut errors = Vec::new();
    for (row, cells) in &table.rows {
        let at = |c: &str| format!("{}, row {row}, column {c}", table.name);
        let t = cells[ti].replace(',', if table.decimal_comma { "." } else { "," });
        match t.parse::<f64>() {
            Ok(x) if x.is_finite() && x >= 0.0 => time.push(x),
            _ => errors.push(format!("{}: '{}' is not a time ≥ 0", at("time"), cells[ti])),
        }
        match cells[ei].to_ascii_lowercase().as_str() {
            "1" | "yes" | "true" => event.push(true),
            "0" | "no" | "false" => event.push(false),
            other => errors.push(format!(
                "{}: '{other}' is not an event (1 or 0)",
                at("event")
            )),
        }
        match cells[gi].as_str() {
            "1" => group.push(1u8),
            "0" => group.push(0u8),
            other => errors.push(format!(
                "{}: '{other}' is not a group (1 or 0)",
                at("group")
            )),
        }
    }
    if !errors.is_empty() {
        for e in &errors {
            eprintln!("error: {e}");
        }
        return Ok(ExitCode::from(1));
    }
    let s = immediate::survival(&time, &event, &group).context("cannot compare survival")?;
    let events = event.iter().filter(|e| **e).count();
    let lines = [
        ("n / events", format!("{} / {events}", time.len())),
        ("p_logrank", show(s.p_logrank)),
        ("hazard_ratio (group 1 vs 0)", show(s.hazard_ratio)),
        (
            "95% CI (Wald)",
            format!("{} – {}", show(s.hr_ci_low), show(s.hr_ci_high)),
        ),
        ("p_wald", show(s.p_wald)),
        ("p_lr", show(s.p_lr)),
    ];
    emit(args.json, &s, &lines)
}
