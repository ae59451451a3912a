//! End-to-end tests of the `sclerad` binary: exit status, table and JSON
//! output, help texts, on the example bundles of the repository.

use std::path::PathBuf;
use std::process::{Command, Output};

fn examples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

fn sclerad(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sclerad"))
        .args(args)
        .output()
        .expect("run sclerad")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn example(name: &str) -> String {
    examples().join(name).display().to_string()
}

#[test]
fn a_clean_bundle_exits_0() {
    for bundle in ["summary-flags", "readings"] {
        let out = sclerad(&["validate", &example(bundle)]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{bundle}: {}",
            text(&out.stdout)
        );
        assert!(
            text(&out.stdout).contains("0 errors"),
            "{}",
            text(&out.stdout)
        );
    }
}

#[test]
fn a_bundle_with_errors_exits_1_and_names_row_and_column() {
    let out = sclerad(&["validate", &example("with-errors")]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    let line = stdout
        .lines()
        .find(|l| l.contains("age_years") && l.contains("156"))
        .expect("age line");
    assert!(line.starts_with("error"), "{line}");
    assert!(
        line.contains("patients.csv") && line.contains(" 4 "),
        "{line}"
    );
    assert!(stdout.contains("6 errors"), "{stdout}");
}

#[test]
fn json_output_lists_every_problem_with_its_location() {
    let out = sclerad(&["validate", &example("with-errors"), "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["valid"], false);
    assert_eq!(v["counts"]["errors"], 6);
    assert_eq!(v["patients"], 19);
    let problems = v["problems"].as_array().expect("problems");
    let dup = problems
        .iter()
        .find(|p| p["code"] == "duplicate-patient-id")
        .expect("duplicate");
    assert_eq!(dup["file"], "patients.csv");
    assert_eq!(dup["row"], 12);
    assert_eq!(dup["column"], "patient_id");
    assert_eq!(dup["value"], "NCY002");
    assert_eq!(dup["severity"], "error");
}

#[test]
fn readers_and_the_reader_flag() {
    let out = sclerad(&["validate", &example("readings"), "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["hand_readers"]["chosen"], "consensus");
    assert_eq!(
        v["hand_readers"]["present"].as_array().map(Vec::len),
        Some(3)
    );
    let out = sclerad(&[
        "validate",
        &example("readings"),
        "--reader",
        "rad2",
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["spine_readers"]["chosen"], "rad2");
    let out = sclerad(&["validate", &example("readings"), "--reader", "nobody"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).contains("reader 'nobody' has no readings"));
}

#[test]
fn date_format_flag_accepts_day_first_dates() {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = std::fs::read_to_string(examples().join("summary-flags/patients.csv")).expect("read");
    let to_dmy = |cell: &str| match cell.split('-').collect::<Vec<_>>()[..] {
        [y, m, d] if y.len() == 4 => format!("{d}/{m}/{y}"),
        _ => cell.to_string(),
    };
    let dmy: String = src
        .lines()
        .map(|l| l.split(',').map(to_dmy).collect::<Vec<_>>().join(",") + "\n")
        .collect();
    assert!(dmy.contains("/2015"));
    let path = dir.path().join("dmy.csv");
    std::fs::write(&path, &dmy).expect("write");
    let path = path.display().to_string();
    assert_eq!(sclerad(&["validate", &path]).status.code(), Some(1));
    assert_eq!(
        sclerad(&["validate", &path, "--date-format", "dmy"])
            .status
            .code(),
        Some(0)
    );
}

#[test]
fn an_xlsx_workbook_validates() {
    use rust_xlsxwriter::Workbook;
    let src = std::fs::read_to_string(examples().join("summary-flags/patients.csv")).expect("read");
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("patients").expect("name");
    for (r, line) in src.lines().enumerate() {
        for (c, cell) in line.split(',').enumerate() {
            sheet.write_string(r as u32, c as u16, cell).expect("write");
        }
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("cohort.xlsx");
    book.save(&path).expect("save");
    let out = sclerad(&["validate", &path.display().to_string()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("20 patients"));
}

#[test]
fn usage_and_io_errors_exit_2() {
    let out = sclerad(&["validate", "/no/such/bundle"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no such file or folder"));
    assert_eq!(sclerad(&["validate"]).status.code(), Some(2));
    assert_eq!(
        sclerad(&["validate", "x", "--format", "yaml"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(sclerad(&["frobnicate"]).status.code(), Some(2));
}

#[test]
fn binary_input_is_a_problem_not_a_crash() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("image.csv");
    std::fs::write(&path, [0x89u8, b'P', b'N', b'G', 0, 0, 0, 13, 0xff, 0xfe]).expect("write");
    let out = sclerad(&["validate", &path.display().to_string()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).contains("binary"));
}

#[test]
fn help_has_examples() {
    let out = sclerad(&["validate", "--help"]);
    assert_eq!(out.status.code(), Some(0));
    let help = text(&out.stdout);
    assert!(
        help.contains("Examples:") && help.contains("--date-format") && help.contains("--reader")
    );
    let out = sclerad(&["--help"]);
    assert!(text(&out.stdout).contains("validate"));
}

#[test]
fn derived_variables_are_written_only_for_a_valid_bundle() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("derived.csv");
    let p = path.display().to_string();
    let out = sclerad(&["validate", &example("readings"), "--derived", &p]);
    assert_eq!(out.status.code(), Some(0));
    let csv = std::fs::read_to_string(&path).expect("derived written");
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).expect(name);
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 10);
    for r in &rows {
        let any = ["spine_anterior", "spine_canal", "spine_posterior"]
            .iter()
            .any(|c| r[col(c)] == "yes");
        assert_eq!(r[col("spine_any")], if any { "yes" } else { "no" });
        assert_eq!(r[col("hand_source")], "readings");
        if r[col("spine_foraminal")] == "yes" {
            assert_eq!(r[col("spine_canal")], "yes");
        }
    }
    let bad = dir.path().join("bad.csv");
    let out = sclerad(&[
        "validate",
        &example("with-errors"),
        "--derived",
        &bad.display().to_string(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(!bad.exists());
    assert!(text(&out.stderr).contains("not written"));
}

#[test]
fn synth_writes_a_valid_reproducible_bundle() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = dir.path().join("a");
    let b = dir.path().join("b");
    let (a_s, b_s) = (a.display().to_string(), b.display().to_string());
    for out in [&a_s, &b_s] {
        let o = sclerad(&[
            "synth",
            "--patients",
            "60",
            "--seed",
            "4",
            "--readings",
            "long",
            "--out",
            out,
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    }
    for file in ["patients.csv", "hand_readings.csv", "spine_readings.csv"] {
        let x = std::fs::read(a.join(file)).expect("a");
        assert_eq!(x, std::fs::read(b.join(file)).expect("b"), "{file}");
    }
    let v = sclerad(&["validate", &a_s, "--format", "json"]);
    assert_eq!(v.status.code(), Some(0), "{}", text(&v.stdout));
    let json: serde_json::Value = serde_json::from_slice(&v.stdout).expect("json");
    assert_eq!(json["patients"], 60);
    // An existing bundle is not overwritten without --force.
    let again = sclerad(&["synth", "--patients", "5", "--out", &a_s]);
    assert_eq!(again.status.code(), Some(2));
    assert!(text(&again.stderr).contains("--force"));
    assert_eq!(
        sclerad(&["synth", "--patients", "0", "--out", &a_s])
            .status
            .code(),
        Some(2)
    );
}
