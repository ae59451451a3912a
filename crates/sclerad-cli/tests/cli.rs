//! End-to-end tests of the `sclerad` binary: exit status, table and JSON
//! output, help texts, on the example bundles of the repository.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
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
    // The same workbook analysed: the input's fingerprint is the file's.
    let results = dir.path().join("results");
    let out = sclerad(&[
        "analyze",
        &path.display().to_string(),
        "--out",
        &results.display().to_string(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(results.join("results.json")).expect("results"),
    )
    .expect("json");
    assert_eq!(json["population"]["n"], 20);
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
    // Every command has examples in its help.
    for command in [
        &["analyze", "--help"][..],
        &["demo", "--help"],
        &["synth", "--help"],
        &["stats", "--help"],
        &["stats", "table", "--help"],
        &["stats", "groups", "--help"],
        &["stats", "survival", "--help"],
        &["import", "--help"],
        &["export", "--help"],
        &["user", "add", "--help"],
        &["user", "list", "--help"],
        &["user", "disable", "--help"],
        &["user", "enable", "--help"],
        &["user", "role", "--help"],
        &["user", "password", "--help"],
        &["audit", "verify", "--help"],
        &["images", "render", "--help"],
    ] {
        let out = sclerad(command);
        assert_eq!(out.status.code(), Some(0), "{command:?}");
        assert!(text(&out.stdout).contains("Examples:"), "{command:?}");
    }
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

fn sclerad_in(dir: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sclerad"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run sclerad")
}

#[test]
fn demo_in_an_empty_folder_writes_bundle_results_and_report() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = sclerad_in(dir.path(), &["demo"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(text(&out.stdout).contains("report.html"));
    let root = dir.path().join("sclerad-demo");
    assert!(root.join("bundle/patients.csv").exists());
    // The images beside the bundle, with their map: one hospital patient
    // folder per patient.
    let map = std::fs::read_to_string(root.join("images-map.csv")).expect("the map");
    assert_eq!(map.lines().count(), 78, "{map}");
    assert_eq!(
        std::fs::read_dir(root.join("images"))
            .expect("images")
            .count(),
        77
    );
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("results/results.json")).expect("results"),
    )
    .expect("json");
    assert_eq!(json["population"]["n"], 77);
    assert_eq!(json["population"]["female_n"], 68);
    assert_eq!(json["population"]["lcssc_n"], 55);
    let age = json["population"]["age_mean"].as_f64().expect("age");
    assert!((age - 56.9).abs() < 1e-9);
    let html = std::fs::read_to_string(root.join("results/report.html")).expect("report");
    assert!(html.contains("<svg"));
    // The report says the data are synthetic, how they are built and what
    // of the abstract they reproduce; a study's own report does not.
    let about = html
        .split("<div class=\"box\" data-about>")
        .nth(1)
        .and_then(|rest| rest.split("</div>").next())
        .expect("the demo's report says what its data are");
    for words in [
        "These are not patients&#39; data",
        "How it is built",
        "What it reproduces",
        "foraminal calcification with death (0.001), the only lesion related to death",
    ] {
        assert!(about.contains(words), "{words}: {about}");
    }
    let own = dir.path().join("own");
    assert_eq!(
        sclerad_in(
            dir.path(),
            &[
                "analyze",
                "sclerad-demo/bundle",
                "--out",
                own.to_str().expect("path")
            ]
        )
        .status
        .code(),
        Some(0)
    );
    let own_html = std::fs::read_to_string(own.join("report.html")).expect("report");
    assert!(!own_html.contains("data-about"));
    for figure in [
        "prevalence.svg",
        "spine_heatmap.svg",
        "forest_prognosis.svg",
        "km_spine_foraminal.svg",
    ] {
        assert!(
            root.join("results/figures").join(figure).exists(),
            "{figure}"
        );
    }
    assert!(root.join("results/tables/tables.xlsx").exists());
    assert!(root.join("results/tables/comparisons.csv").exists());
    // The demo is reproducible: a second run gives the same results.
    let first = std::fs::read_to_string(root.join("results/results.json")).expect("results");
    assert_eq!(sclerad_in(dir.path(), &["demo"]).status.code(), Some(0));
    assert_eq!(
        first,
        std::fs::read_to_string(root.join("results/results.json")).expect("results")
    );
}

#[test]
fn analyze_refuses_a_bundle_with_errors_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out_dir = dir.path().join("out");
    let out = sclerad(&[
        "analyze",
        &example("with-errors"),
        "--out",
        &out_dir.display().to_string(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).contains("nothing was analysed"));
    assert!(text(&out.stdout).contains("age_years"));
    assert!(!out_dir.exists());
}

#[test]
fn analyze_writes_the_contract_and_reads_settings() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out_dir = dir.path().join("out");
    let settings = dir.path().join("study.toml");
    std::fs::write(&settings, "yates = true\nreader = \"rad1\"\n").expect("write");
    let out = sclerad(&[
        "analyze",
        &example("readings"),
        "--out",
        &out_dir.display().to_string(),
        "--settings",
        &settings.display().to_string(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out_dir.join("results.json")).expect("results"),
    )
    .expect("json");
    assert_eq!(json["format"], "sclerad-results/1");
    assert_eq!(json["settings"]["yates"], true);
    assert_eq!(json["readers"]["hand"], "rad1");
    assert_eq!(json["input"]["sha256"].as_str().map(str::len), Some(64));
    assert!(json["comparisons"]
        .as_array()
        .is_some_and(|c| c.len() == 93));
    let html = std::fs::read_to_string(out_dir.join("report.html")).expect("report");
    let without_xmlns = html.replace("http://www.w3.org/2000/svg", "");
    assert!(
        !without_xmlns.contains("http://") && !without_xmlns.contains("https://"),
        "the report loads nothing"
    );

    std::fs::write(&settings, "yates = maybe\n").expect("write");
    let out = sclerad(&[
        "analyze",
        &example("readings"),
        "--out",
        &out_dir.display().to_string(),
        "--settings",
        &settings.display().to_string(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("study.toml"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn stats_table_matches_fisher_test_in_r() {
    let out = sclerad(&["stats", "table", "4", "5", "2", "66", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    // R: fisher.test(matrix(c(4, 2, 5, 66), nrow = 2))$p.value
    let p = v["p_fisher"].as_f64().expect("p");
    assert!((p - 0.001_247_101_463_395_623_5).abs() < 1e-12, "{p}");
    for key in [
        "p_chi_square",
        "p_chi_square_yates",
        "odds_ratio",
        "or_ci_low",
        "or_ci_high",
    ] {
        assert!(v[key].as_f64().is_some(), "{key}");
    }
    let human = sclerad(&["stats", "table", "4", "5", "2", "66"]);
    assert!(text(&human.stdout).contains("p_fisher"));
    assert_eq!(
        sclerad(&["stats", "table", "1", "2", "3"]).status.code(),
        Some(2)
    );
}

#[test]
fn stats_groups_and_survival() {
    let out = sclerad(&[
        "stats",
        "groups",
        "--x",
        "1.2,3.4,2.2,5.0",
        "--y",
        "0.5,-1.5,0.7,1.1,0.2",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    for key in [
        "p_welch",
        "p_student",
        "p_mann_whitney",
        "w",
        "p_shapiro_x",
        "p_shapiro_y",
    ] {
        assert!(v.get(key).is_some(), "{key}");
    }
    // R: wilcox.test(c(1.2, 3.4, 2.2, 5), c(0.5, -1.5, 0.7, 1.1, 0.2))$statistic
    assert_eq!(v["w"].as_f64(), Some(20.0));
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("fu.csv");
    std::fs::write(
        &file,
        "time,event,group\n1,1,1\n3,1,1\n5,0,1\n6.5,1,1\n2,1,0\n4,0,0\n5.5,1,0\n7,1,0\n8,0,0\n9,0,1\n",
    )
    .expect("write");
    let out = sclerad(&["stats", "survival", &file.display().to_string(), "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    for key in [
        "p_logrank",
        "hazard_ratio",
        "hr_ci_low",
        "hr_ci_high",
        "p_wald",
        "p_lr",
    ] {
        assert!(v[key].as_f64().is_some(), "{key}: {v}");
    }
    std::fs::write(&file, "time,event,group\n1,1,1\n2,x,0\n").expect("write");
    let out = sclerad(&["stats", "survival", &file.display().to_string()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("row 3, column event"),
        "{}",
        text(&out.stderr)
    );
}

fn sclerad_with_stdin(args: &[&str], stdin: &str) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_sclerad"))
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run sclerad");
    // A command that refuses its arguments exits without reading stdin:
    // the write may then fail with a broken pipe, which is not the test's
    // concern.
    if let Some(mut input) = child.stdin.take() {
        let _ = input.write_all(stdin.as_bytes());
    }
    child.wait_with_output().expect("wait")
}

/// `results.json` without what names the input file.
fn results_without_input(dir: &std::path::Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("results.json")).expect("results.json");
    let mut v: serde_json::Value = serde_json::from_str(&text).expect("json");
    if let Some(o) = v.as_object_mut() {
        o.remove("input");
    }
    v
}

/// Import, export, analyse: the same results as the original bundle, for
/// every store URL given.
fn round_trip_through(db: &str, dir: &std::path::Path) {
    let bundle = dir.join("bundle");
    let run = |args: &[&str]| {
        let out = sclerad(args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            text(&out.stderr)
        );
        out
    };
    let b = bundle.display().to_string();
    run(&[
        "synth",
        "--patients",
        "150",
        "--seed",
        "9",
        "--readings",
        "long",
        "--readers",
        "rad1,rad2,consensus",
        "--out",
        &b,
    ]);
    // An unknown column and odd text must survive too.
    let patients = bundle.join("patients.csv");
    let csv = std::fs::read_to_string(&patients).expect("patients");
    let mut lines: Vec<String> = csv.lines().map(String::from).collect();
    lines[0].push_str(",centre_note");
    for (i, l) in lines.iter_mut().enumerate().skip(1) {
        l.push_str(if i % 2 == 0 {
            ",\"Nancy, 'B' <b>\""
        } else {
            ","
        });
    }
    std::fs::write(&patients, lines.join("\n") + "\n").expect("write");

    run(&["import", &b, "--study", "rt", "--db", db]);
    let e = dir.join("export").display().to_string();
    run(&["export", "--study", "rt", "--out", &e, "--db", db]);
    let ra = dir.join("ra").display().to_string();
    let rb = dir.join("rb").display().to_string();
    run(&["analyze", &b, "--out", &ra]);
    run(&["analyze", &e, "--out", &rb]);
    assert_eq!(
        results_without_input(&dir.join("ra")),
        results_without_input(&dir.join("rb")),
        "the exported bundle analyses exactly like the original"
    );
    let exported = std::fs::read_to_string(dir.join("export/patients.csv")).expect("export");
    assert!(
        exported.starts_with(lines[0].as_str()),
        "columns in their order"
    );
    assert!(exported.contains("\"Nancy, 'B' <b>\""));
    for file in ["hand_readings.csv", "spine_readings.csv"] {
        let count = |p: PathBuf| {
            std::fs::read_to_string(p)
                .expect("readings")
                .lines()
                .count()
        };
        assert_eq!(
            count(bundle.join(file)),
            count(dir.join("export").join(file)),
            "{file}"
        );
    }
    let out = run(&["audit", "verify", "--db", db]);
    // The import and the digests of its rows (study, patients, exams,
    // readings).
    assert!(
        text(&out.stdout).contains("Audit trail intact: 5 events"),
        "{}",
        text(&out.stdout)
    );
    assert!(
        text(&out.stdout).contains("Not checked without --anchor"),
        "verify says what it cannot prove: {}",
        text(&out.stdout)
    );
}

#[test]
fn import_export_round_trip_on_sqlite() {
    let dir = tempfile::tempdir().expect("temp");
    let db = format!("sqlite:{}", dir.path().join("study.db").display());
    round_trip_through(&db, dir.path());
}

/// A fresh PostgreSQL database, or `None` when skipped on purpose.
fn postgres_database(name: &str) -> Option<String> {
    sclerad_store_tests::postgres_test_database(&format!("cli_{name}"))
}

#[test]
fn import_export_round_trip_on_postgres() {
    let Some(db) = postgres_database("rt") else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp");
    round_trip_through(&db, dir.path());
}

#[test]
fn import_refuses_a_bundle_with_problems_and_leaves_the_store_untouched() {
    let dir = tempfile::tempdir().expect("temp");
    let db = format!("sqlite:{}", dir.path().join("study.db").display());
    let out = sclerad(&[
        "import",
        &example("with-errors"),
        "--study",
        "bad",
        "--db",
        &db,
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("age_years") && stderr.contains("nothing was imported"),
        "{stderr}"
    );
    let out = sclerad(&[
        "export",
        "--study",
        "bad",
        "--out",
        &dir.path().join("x").display().to_string(),
        "--db",
        &db,
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("no study named"),
        "{}",
        text(&out.stderr)
    );
    let out = sclerad(&["audit", "verify", "--db", &db]);
    assert!(
        text(&out.stdout).contains(" 0 events"),
        "{}",
        text(&out.stdout)
    );
    // The same name can be imported once, then never again.
    let good = example("readings");
    assert_eq!(
        sclerad(&["import", &good, "--study", "ok", "--db", &db])
            .status
            .code(),
        Some(0)
    );
    let again = sclerad(&["import", &good, "--study", "ok", "--db", &db]);
    assert_eq!(again.status.code(), Some(2));
    assert!(text(&again.stderr).contains("already in the store"));
    // Study names are checked as the API checks them.
    let long = "s".repeat(201);
    for bad in ["", " ok2", "a\tb", long.as_str()] {
        let out = sclerad(&["import", &good, "--study", bad, "--db", &db]);
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
        assert!(
            text(&out.stderr).contains("study name"),
            "{}",
            text(&out.stderr)
        );
    }
}

#[test]
fn users_come_with_a_password_from_stdin_never_an_argument() {
    let dir = tempfile::tempdir().expect("temp");
    let db = format!("sqlite:{}", dir.path().join("study.db").display());
    let out = sclerad_with_stdin(
        &["user", "add", "ana", "--role", "reader", "--db", &db],
        "a long passphrase\n",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = sclerad_with_stdin(
        &["user", "add", "ana", "--role", "admin", "--db", &db],
        "another passphrase\n",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("exists already"));
    let out = sclerad_with_stdin(
        &["user", "add", "ben", "--role", "analyst", "--db", &db],
        "short\n",
    );
    assert_eq!(out.status.code(), Some(2));
    let out = sclerad_with_stdin(
        &["user", "add", "consensus", "--role", "reader", "--db", &db],
        "a long passphrase\n",
    );
    assert_eq!(out.status.code(), Some(2));
    let out = sclerad(&[
        "user",
        "add",
        "cy",
        "--role",
        "reader",
        "--password",
        "x",
        "--db",
        &db,
    ]);
    assert_eq!(out.status.code(), Some(2), "no password argument exists");
    let list = text(&sclerad(&["user", "list", "--db", &db]).stdout);
    assert!(
        list.contains("ana") && list.contains("reader") && !list.contains("ben"),
        "{list}"
    );
    let stored = std::fs::read(dir.path().join("study.db")).expect("db");
    assert!(
        !String::from_utf8_lossy(&stored).contains("a long passphrase"),
        "only the hash is stored"
    );
}

/// `sclerad` with standard input, in an environment without the user
/// variables (`USER`, `USERNAME`, `LOGNAME`) unless `user` gives one.
fn sclerad_as_account(args: &[&str], stdin: &str, user: Option<&str>) -> Output {
    use std::io::Write;
    let mut command = Command::new(env!("CARGO_BIN_EXE_sclerad"));
    command
        .args(args)
        .env_remove("USER")
        .env_remove("USERNAME")
        .env_remove("LOGNAME")
        .env_remove("SCLERAD_AS")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    if let Some(user) = user {
        command.env("USER", user);
    }
    let mut child = command.spawn().expect("run sclerad");
    if let Some(mut input) = child.stdin.take() {
        let _ = input.write_all(stdin.as_bytes());
    }
    child.wait_with_output().expect("wait")
}

/// The actors of the audit trail's change events, in order (row digest
/// events left out).
fn trail_actors(db: &str) -> Vec<(String, String, String)> {
    tokio::runtime::Runtime::new().expect("rt").block_on(async {
        let pool = sqlx::SqlitePool::connect(db).await.expect("open");
        let rows: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT actor, action, entity FROM audit_events WHERE action <> 'digest' ORDER BY seq",
        )
        .fetch_all(&pool)
        .await
        .expect("events");
        pool.close().await;
        rows
    })
}

#[test]
fn users_are_disabled_given_roles_and_the_command_line_acts_as_one() {
    let dir = tempfile::tempdir().expect("temp");
    let db = format!("sqlite:{}", dir.path().join("study.db").display());
    let pass = "a long passphrase\n";
    // The first admin, made by the operating-system account: named, even
    // with no user variable set (the account of the process's uid).
    let out = sclerad_as_account(
        &["user", "add", "boss", "--role", "admin", "--db", &db],
        pass,
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = sclerad_as_account(
        &[
            "user",
            "add",
            "dana",
            "--role",
            "data_manager",
            "--db",
            &db,
            "--as",
            "boss",
        ],
        pass,
        Some("ignored"),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = sclerad_as_account(
        &["user", "add", "rita", "--role", "reader", "--db", &db],
        pass,
        Some("ops"),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = sclerad_as_account(
        &[
            "import",
            &example("readings"),
            "--study",
            "s",
            "--db",
            &db,
            "--as",
            "dana",
        ],
        "",
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    // --as is checked against the store: an unknown user, a role that may
    // not, a disabled user; nothing is written for any of them.
    let before = trail_actors(&db).len();
    let readings = example("readings");
    let import_as = |who: &'static str| -> Vec<String> {
        ["import", readings.as_str(), "--study", "t", "--as", who]
            .map(String::from)
            .to_vec()
    };
    for (args, says) in [
        (import_as("nobody"), "no such user"),
        (
            import_as("rita"),
            "needs the role admin or data_manager (the user is reader)",
        ),
        (
            ["user", "disable", "rita", "--as", "dana"]
                .map(String::from)
                .to_vec(),
            "needs the role admin (the user is data_manager)",
        ),
    ] {
        let mut full: Vec<&str> = args.iter().map(String::as_str).collect();
        full.extend(["--db", &db]);
        let out = sclerad_as_account(&full, "", Some("ops"));
        assert_eq!(
            out.status.code(),
            Some(2),
            "{full:?}: {}",
            text(&out.stderr)
        );
        assert!(
            text(&out.stderr).contains(says),
            "{full:?}: {}",
            text(&out.stderr)
        );
    }
    assert_eq!(trail_actors(&db).len(), before, "refused: nothing written");

    // Disable, enable, a new role, a new password, by the admin.
    let run = |args: &[&str], stdin: &str| {
        let mut full: Vec<&str> = args.to_vec();
        full.extend(["--db", &db, "--as", "boss"]);
        let out = sclerad_as_account(&full, stdin, Some("ops"));
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            text(&out.stderr)
        );
        text(&out.stdout)
    };
    assert!(run(&["user", "disable", "rita"], "").contains("Disabled user \"rita\""));
    assert!(run(&["user", "disable", "rita"], "").contains("disabled already"));
    let list = text(&sclerad(&["user", "list", "--db", &db]).stdout);
    let rita_line = list
        .lines()
        .find(|l| l.starts_with("rita"))
        .expect("rita listed");
    assert!(rita_line.ends_with("disabled"), "{list}");
    let out = sclerad_as_account(
        &[
            "import",
            &example("readings"),
            "--study",
            "u",
            "--db",
            &db,
            "--as",
            "rita",
        ],
        "",
        None,
    );
    assert!(
        text(&out.stderr).contains("the user is disabled"),
        "{}",
        text(&out.stderr)
    );
    assert!(run(&["user", "enable", "rita"], "").contains("Enabled user \"rita\""));
    assert!(run(&["user", "role", "rita", "--role", "adjudicator"], "")
        .contains("now has the role adjudicator (was reader)"));
    assert!(
        run(&["user", "password", "rita"], "another long passphrase\n")
            .contains("Set the password")
    );
    let out = sclerad_as_account(
        &["user", "password", "rita", "--db", &db, "--as", "boss"],
        "short\n",
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("at least 10 characters"),
        "{}",
        text(&out.stderr)
    );
    // The only admin cannot disable themselves.
    let out = sclerad_as_account(
        &["user", "disable", "boss", "--db", &db, "--as", "boss"],
        "",
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("only admin"),
        "{}",
        text(&out.stderr)
    );
    let out = sclerad_as_account(
        &["user", "enable", "ghost", "--db", &db, "--as", "boss"],
        "",
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("no user \"ghost\""),
        "{}",
        text(&out.stderr)
    );

    // The trail names who did each thing; never an unknown actor.
    let actors = trail_actors(&db);
    assert!(
        actors.iter().all(|(who, _, _)| !who.contains("unknown")),
        "{actors:?}"
    );
    let first = &actors[0].0;
    assert!(first.starts_with("cli:") && first.len() > 4, "{actors:?}");
    let wanted = [
        ("boss", "create", "user"),
        ("cli:ops", "create", "user"),
        ("dana", "import", "study"),
        ("boss", "disable", "user"),
        ("boss", "enable", "user"),
        ("boss", "role", "user"),
        ("boss", "password", "user"),
    ];
    let got: Vec<(&str, &str, &str)> = actors[1..]
        .iter()
        .map(|(a, b, c)| (a.as_str(), b.as_str(), c.as_str()))
        .collect();
    assert_eq!(got, wanted);
    let out = sclerad(&["audit", "verify", "--db", &db]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
}

#[test]
fn audit_verify_names_the_first_altered_event() {
    let dir = tempfile::tempdir().expect("temp");
    let path = dir.path().join("study.db");
    let db = format!("sqlite:{}", path.display());
    for name in ["ana", "ben", "cyd"] {
        let out = sclerad_with_stdin(
            &["user", "add", name, "--role", "reader", "--db", &db],
            "a long passphrase\n",
        );
        assert_eq!(out.status.code(), Some(0));
    }
    assert_eq!(
        sclerad(&["audit", "verify", "--db", &db]).status.code(),
        Some(0)
    );
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let pool = sqlx::SqlitePool::connect(&db).await.expect("open");
        sqlx::raw_sql("DROP TRIGGER audit_events_no_update; UPDATE audit_events SET actor = 'cli:mallory' WHERE seq = 2;")
            .execute(&pool)
            .await
            .expect("tamper");
        pool.close().await;
    });
    let out = sclerad(&["audit", "verify", "--db", &db]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("event 2"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn export_force_leaves_no_stale_readings_file() {
    let dir = tempfile::tempdir().expect("temp");
    let db = format!("sqlite:{}", dir.path().join("study.db").display());
    let out_dir = dir.path().join("out");
    std::fs::create_dir_all(&out_dir).expect("mkdir");
    std::fs::write(out_dir.join("patients.csv"), "old\n").expect("write");
    std::fs::write(out_dir.join("spine_readings.csv"), "old\n").expect("write");
    let out = sclerad(&[
        "import",
        &example("summary-flags"),
        "--study",
        "s",
        "--db",
        &db,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let o = out_dir.display().to_string();
    let refused = sclerad(&["export", "--study", "s", "--out", &o, "--db", &db]);
    assert_eq!(
        refused.status.code(),
        Some(2),
        "an existing bundle needs --force"
    );
    let out = sclerad(&[
        "export", "--study", "s", "--out", &o, "--db", &db, "--force",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(!out_dir.join("spine_readings.csv").exists());
    assert_eq!(sclerad(&["validate", &o]).status.code(), Some(0));
}

/// A minimal HTTP/1.1 exchange over loopback: status code and body.
fn http(addr: &str, method: &str, path: &str, body: &str) -> (u16, String) {
    let (status, _, body) = http_with(addr, method, path, &[], body);
    (status, body)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

#[test]
fn serve_in_an_empty_folder_creates_the_store_and_refuses_every_operation_without_credentials() {
    let dir = tempfile::tempdir().expect("temp");
    let addr = format!("127.0.0.1:{}", free_port());
    let child = Command::new(env!("CARGO_BIN_EXE_sclerad"))
        .args(["serve", "--bind", &addr])
        .current_dir(dir.path())
        .env_remove("SCLERAD_DB")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("serve");
    let mut child = child;
    // First start: the one-time link to create the first admin.
    let link = {
        use std::io::BufRead;
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = std::io::BufReader::new(stdout).lines();
        let first = lines.next().expect("a line").expect("text");
        assert!(
            first.starts_with("First start: this store has no user yet."),
            "{first}"
        );
        let link = lines.next().expect("the link").expect("text");
        let prefix = format!("http://{addr}/setup/");
        let link = link.trim().to_string();
        assert!(link.starts_with(&prefix), "{link}");
        link[format!("http://{addr}").len()..].to_string()
    };
    let mut up = false;
    for _ in 0..100 {
        if std::net::TcpStream::connect(&addr).is_ok() {
            up = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(up, "the server listens");
    assert!(
        dir.path().join("sclerad.db").exists(),
        "sclerad.db is created"
    );
    let (status, health) = http(&addr, "GET", "/api/health", "");
    assert_eq!(status, 200, "{health}");
    let (status, doc) = http(&addr, "GET", "/api/openapi.json", "");
    assert_eq!(status, 200);
    let doc: serde_json::Value = serde_json::from_str(&doc).expect("openapi json");
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("item").keys() {
            if path == "/api/health" || path == "/api/login" {
                continue;
            }
            let uri = path
                .replace("{study}", "s")
                .replace("{patient_id}", "P1")
                .replace("{code}", "H-X")
                .replace("{exam_id}", "1");
            let (status, body) = http(&addr, &method.to_uppercase(), &uri, "{}");
            assert_eq!(status, 401, "{method} {uri}: {body}");
            checked += 1;
        }
    }
    assert!(checked >= 15, "{checked} operations checked");
    let (status, _) = http(&addr, "GET", "/api/docs/", "");
    assert_eq!(status, 200, "Swagger UI is served from the binary");
    let (status, form) = http(&addr, "GET", &link, "");
    assert_eq!(status, 200, "{form}");
    assert!(form.contains("data-form=\"first-admin\""), "{form}");
    let (status, _) = http(&addr, "GET", "/setup/another", "");
    assert_eq!(status, 404);
    // SIGTERM: graceful shutdown, exit 0.
    let pid = child.id().to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("shutting down"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        text(&out.stderr).contains("audit chain head anchor=0:"),
        "the chain head is logged at start: {}",
        text(&out.stderr)
    );
}

/// An import killed with SIGKILL half-way leaves the store as it was: no
/// study or the whole study, a verifiable audit trail, a store that opens.
fn killed_import_leaves_no_trace(db: &str, dir: &std::path::Path) {
    let bundle = dir.join("big").display().to_string();
    let out = sclerad(&[
        "synth",
        "--patients",
        "5000",
        "--seed",
        "3",
        "--out",
        &bundle,
    ]);
    assert_eq!(out.status.code(), Some(0));
    // How long a whole import takes here; reading and validating are a few
    // per cent of it, so the kills below land inside the transaction.
    let start = std::time::Instant::now();
    let full = sclerad(&["import", &bundle, "--study", "full", "--db", db]);
    assert_eq!(full.status.code(), Some(0), "{}", text(&full.stderr));
    let whole = start.elapsed();
    let mut absent = 0;
    for quarter in 1..=3 {
        let study = format!("k{quarter}");
        let mut child = Command::new(env!("CARGO_BIN_EXE_sclerad"))
            .args(["import", &bundle, "--study", &study, "--db", db])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("import");
        std::thread::sleep(whole * quarter / 4);
        let _ = child.kill();
        let _ = child.wait();
        let verify = sclerad(&["audit", "verify", "--db", db]);
        assert_eq!(verify.status.code(), Some(0), "{}", text(&verify.stderr));
        let out_dir = dir.join(format!("out{quarter}"));
        let o = out_dir.display().to_string();
        let export = sclerad(&["export", "--study", &study, "--out", &o, "--db", db]);
        if export.status.code() == Some(0) {
            // Committed before the kill: all of it is there.
            let rows = std::fs::read_to_string(out_dir.join("patients.csv"))
                .expect("patients")
                .lines()
                .count();
            assert_eq!(rows, 5001);
        } else {
            assert!(
                text(&export.stderr).contains("no study named"),
                "{}",
                text(&export.stderr)
            );
            absent += 1;
        }
    }
    assert!(absent >= 1, "at least one kill landed before the commit");
    // The store still takes writes.
    let small = example("readings");
    assert_eq!(
        sclerad(&["import", &small, "--study", "after", "--db", db])
            .status
            .code(),
        Some(0)
    );
}

#[test]
fn a_killed_import_leaves_no_trace_on_sqlite() {
    let dir = tempfile::tempdir().expect("temp");
    let db = format!("sqlite:{}", dir.path().join("study.db").display());
    killed_import_leaves_no_trace(&db, dir.path());
}

#[test]
fn a_killed_import_leaves_no_trace_on_postgres() {
    let Some(db) = postgres_database("kill") else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp");
    killed_import_leaves_no_trace(&db, dir.path());
}

#[test]
fn an_anchor_catches_a_trail_rewritten_with_new_hashes() {
    let dir = tempfile::tempdir().expect("temp");
    let db = format!("sqlite:{}", dir.path().join("study.db").display());
    for name in ["ana", "ben", "cyd"] {
        let out = sclerad_with_stdin(
            &["user", "add", name, "--role", "reader", "--db", &db],
            "a long passphrase\n",
        );
        assert_eq!(out.status.code(), Some(0));
    }
    let out = sclerad(&["audit", "verify", "--db", &db]);
    let stdout = text(&out.stdout);
    let anchor = stdout
        .lines()
        .find_map(|l| l.strip_prefix("Chain head (record it outside the database): "))
        .expect("head line")
        .to_string();
    // Three users, each created and its row digested: six events.
    assert!(anchor.starts_with("6:"), "{anchor}");

    // Someone with the file rewrites event 2 and recomputes every hash
    // after it, and the head: the chain alone is consistent again.
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let pool = sqlx::SqlitePool::connect(&db).await.expect("open");
        sqlx::raw_sql("DROP TRIGGER audit_events_no_update")
            .execute(&pool)
            .await
            .expect("drop trigger");
        let store = sclerad_store_sqlite::SqliteStore::open(&db)
            .await
            .expect("store");
        use sclerad_store::Store;
        let mut events = store.audit_events(0, 10).await.expect("events");
        events[1].actor = "cli:mallory".into();
        for i in 1..events.len() {
            events[i].prev_hash = events[i - 1].hash.clone();
            events[i].hash = events[i].expected_hash();
            sqlx::query(
                "UPDATE audit_events SET actor = $1, prev_hash = $2, hash = $3 WHERE seq = $4",
            )
            .bind(&events[i].actor)
            .bind(&events[i].prev_hash)
            .bind(&events[i].hash)
            .bind(events[i].seq)
            .execute(&pool)
            .await
            .expect("rewrite");
        }
        sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1")
            .bind(&events[events.len() - 1].hash)
            .execute(&pool)
            .await
            .expect("head");
        pool.close().await;
    });
    assert_eq!(
        sclerad(&["audit", "verify", "--db", &db]).status.code(),
        Some(0)
    );
    let out = sclerad(&["audit", "verify", "--db", &db, "--anchor", &anchor]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("event 6") && text(&out.stderr).contains("anchor"),
        "{}",
        text(&out.stderr)
    );
    let bad = sclerad(&["audit", "verify", "--db", &db, "--anchor", "x"]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn audit_verify_names_a_row_edited_in_the_database() {
    let dir = tempfile::tempdir().expect("temp");
    let db = format!("sqlite:{}", dir.path().join("study.db").display());
    let out = sclerad_with_stdin(
        &["user", "add", "rita", "--role", "reader", "--db", &db],
        "a long passphrase\n",
    );
    assert_eq!(out.status.code(), Some(0));
    let out = sclerad(&["audit", "verify", "--db", &db]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("(1 rows)"),
        "{}",
        text(&out.stdout)
    );
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let pool = sqlx::SqlitePool::connect(&db).await.expect("open");
        sqlx::query("UPDATE users SET role = 'admin' WHERE name = 'rita'")
            .execute(&pool)
            .await
            .expect("edit");
        pool.close().await;
    });
    let out = sclerad(&["audit", "verify", "--db", &db]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("users row 1 (name \"rita\")") && err.contains("changed outside sclerad"),
        "{err}"
    );
}

/// An HTTP/1.1 exchange over loopback with extra request headers: status,
/// response headers and body.
fn http_with(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    let extra: String = headers
        .iter()
        .map(|(k, v)| format!("{k}: {v}\r\n"))
        .collect();
    // JSON unless the headers say otherwise.
    let json = if headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
    {
        ""
    } else {
        "Content-Type: application/json\r\n"
    };
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{json}{extra}Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    (status, head.to_string(), body.to_string())
}

/// One agreement implementation: `sclerad analyze` on a bundle and the
/// server's agreement of the same bundle imported give the same rows —
/// inter and intra, same n, kappa and intervals, every interval inside
/// [−1, 1].
#[test]
fn analyze_and_the_server_give_the_same_agreement() {
    let dir = tempfile::tempdir().expect("temp");
    let path = |p: &str| dir.path().join(p).display().to_string();
    let (bundle, results) = (path("bundle"), path("results"));
    let out = sclerad(&[
        "synth",
        "--patients",
        "80",
        "--seed",
        "11",
        "--readings",
        "long",
        "--readers",
        "rad1,rad2,rad1#repeat,consensus",
        "--out",
        &bundle,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = sclerad(&["analyze", &bundle, "--out", &results]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let analysed: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("results/results.json")).expect("results"),
    )
    .expect("json");
    let expected = analysed["agreement"].as_array().expect("agreement").clone();

    let db = format!("sqlite:{}", path("study.db"));
    let out = sclerad(&["import", &bundle, "--study", "s", "--db", &db]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = sclerad_with_stdin(
        &["user", "add", "stat", "--role", "analyst", "--db", &db],
        "a long passphrase\n",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let addr = format!("127.0.0.1:{}", free_port());
    let mut child = Command::new(env!("CARGO_BIN_EXE_sclerad"))
        .args(["serve", "--bind", &addr, "--db", &db])
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("serve");
    let up = (0..100).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(100));
        std::net::TcpStream::connect(&addr).is_ok()
    });
    assert!(up, "the server listens");
    let (status, head, body) = http_with(
        &addr,
        "POST",
        "/api/login",
        &[],
        r#"{"name": "stat", "password": "a long passphrase"}"#,
    );
    assert_eq!(status, 200, "{body}");
    let cookie = head
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .and_then(|c| c.split(';').next())
        .expect("session cookie")
        .to_string();
    let (status, _, body) = http_with(
        &addr,
        "GET",
        "/api/studies/s/agreement",
        &[("Cookie", &cookie)],
        "",
    );
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(status, 200, "{body}");
    let served: serde_json::Value = serde_json::from_str(&body).expect("json");
    let rows = served["rows"].as_array().expect("rows");

    let kinds =
        |rows: &[serde_json::Value], kind: &str| rows.iter().filter(|r| r["kind"] == kind).count();
    // rad1 × rad2 (inter) and rad1 × rad1#repeat (intra), 7 lesions and 5
    // spine flags each; consensus is not a reader.
    assert_eq!(kinds(&expected, "inter"), 12, "{expected:?}");
    assert_eq!(kinds(&expected, "intra"), 12, "{expected:?}");
    assert!(expected
        .iter()
        .all(|r| r["reader_a"] != "consensus" && r["reader_b"] != "consensus"));
    assert!(expected.iter().any(|r| r["kappa"].is_f64()));
    for r in &expected {
        for bound in ["kappa_ci_low", "kappa_ci_high"] {
            if let Some(x) = r[bound].as_f64() {
                assert!((-1.0..=1.0).contains(&x), "{bound} {x} in {r}");
            }
        }
    }
    assert_eq!(rows, &expected, "the server's rows equal analyze's");
}

/// A valid bundle with a 70,000-character column name validates, in the
/// table and in JSON (a format width cannot hold it: no panic).
#[test]
fn a_huge_column_name_is_a_note_not_a_crash() {
    let dir = tempfile::tempdir().expect("temp");
    let original =
        std::fs::read_to_string(examples().join("summary-flags/patients.csv")).expect("example");
    let name = "n".repeat(70_000);
    let mut lines = original.lines();
    let mut out = format!("{},{name}\n", lines.next().expect("header"));
    for line in lines.filter(|l| !l.is_empty()) {
        out.push_str(line);
        out.push_str(",x\n");
    }
    let bundle = dir.path().join("patients.csv");
    std::fs::write(&bundle, out).expect("write");
    let b = bundle.display().to_string();
    let table = sclerad(&["validate", &b]);
    assert_eq!(table.status.code(), Some(0), "{}", text_of(&table));
    assert!(
        text(&table.stdout).contains("1 note"),
        "{}",
        text_of(&table)
    );
    let json = sclerad(&["validate", &b, "--format", "json"]);
    assert_eq!(json.status.code(), Some(0), "{}", text_of(&json));
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json");
    assert!(v.to_string().contains(&name), "JSON keeps the whole name");
}

fn text_of(out: &Output) -> String {
    format!("{}{}", text(&out.stdout), text(&out.stderr))
}

/// `sclerad ARGS`, ended (and the test failed) if it runs past `seconds`.
fn sclerad_within(args: &[&str], seconds: u64) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sclerad"));
    command.args(args);
    output_within(command, args, seconds)
}

/// The output of `command` (sclerad `args`), killed and failing the test
/// if it runs longer than `seconds`.
fn output_within(mut command: Command, args: &[&str], seconds: u64) -> Output {
    let child = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run sclerad");
    let pid = child.id();
    let (done, wait) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(child.wait_with_output());
    });
    match wait.recv_timeout(std::time::Duration::from_secs(seconds)) {
        Ok(out) => out.expect("wait"),
        Err(_) => {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            panic!("sclerad {args:?} still running after {seconds} s");
        }
    }
}

/// `sclerad ARGS` under a 2 GiB address-space limit and a deadline.
fn sclerad_limited(args: &[&str], seconds: u64) -> Output {
    let mut command = Command::new("sh");
    command
        .args([
            "-c",
            "ulimit -v 2097152 && exec \"$0\" \"$@\"",
            env!("CARGO_BIN_EXE_sclerad"),
        ])
        .args(args);
    output_within(command, args, seconds)
}

/// The largest resident size of any child waited for so far, in KiB.
fn children_peak_kib() -> i64 {
    // SAFETY: getrusage writes into the struct it is given, nothing else.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let read = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    assert_eq!(read, 0, "getrusage");
    usage.ru_maxrss
}

/// A catalogue of hostile files through `validate`, `analyze` and `import`,
/// each under a 2 GiB address-space limit and a deadline: every run ends
/// with exit 1 or 2 and a message naming the problem, never a panic or an
/// abort; no run's resident memory reaches 1 GiB. (Bombs that take
/// seconds to expand even in a release build are in BENCHMARKS.md.)
#[test]
fn hostile_files_end_cleanly_within_bounded_memory() {
    let dir = tempfile::tempdir().expect("temp");
    let example =
        std::fs::read_to_string(examples().join("summary-flags/patients.csv")).expect("example");
    let header = example.lines().next().expect("header");
    let inline = |v: &str| sclerad_bundle::handmade::inline(v);
    let head_row = format!(
        "<row>{}</row>",
        header.split(',').map(inline).collect::<String>()
    );
    let mut files: Vec<(&str, Vec<u8>, &str)> = vec![
        // A lone cell at Excel's last address, and one far beyond it.
        (
            "far.xlsx",
            sclerad_bundle::handmade::workbook(&format!(
                r#"{head_row}<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>"#
            )),
            "1048576",
        ),
        (
            "beyond.xlsx",
            sclerad_bundle::handmade::workbook(
                r#"<row r="1000000000"><c r="A1000000000" t="inlineStr"><is><t>x</t></is></c></row>"#,
            ),
            "beyond what a spreadsheet can hold",
        ),
        // One row of two million cells (a 10 KB file).
        (
            "wide.xlsx",
            sclerad_bundle::handmade::workbook(&format!(
                "{head_row}<row>{}</row>",
                inline("x").repeat(2_000_000)
            )),
            "beyond what a spreadsheet can hold",
        ),
        // A 100,000-character cell: more than a spreadsheet cell holds.
        (
            "long-cell.xlsx",
            sclerad_bundle::handmade::workbook(&format!(
                "{head_row}<row>{}{}</row>",
                inline(&"A".repeat(100_000)),
                inline("female")
            )),
            "32,767",
        ),
        (
            "garbage.xlsx",
            (0..50_000u32)
                .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
                .collect(),
            "cannot be read as an .xlsx workbook",
        ),
        ("utf16.csv", b"\xff\xfep\x00a\x00t\x00".to_vec(), "utf-8"),
        (
            "nul.csv",
            format!("{header}\nP1\0,female,50,lcssc,no,no,no,no\n").into_bytes(),
            "NUL",
        ),
        (
            "quote.csv",
            format!("{header}\n\"P1,female,50,lcssc,no,no,no,no\n").into_bytes(),
            "never closed",
        ),
        ("empty.csv", Vec::new(), "empty"),
    ];
    // A file full of invalid cells: problems capped, the rest counted.
    let mut invalid = format!("{header}\n");
    for i in 0..20_000 {
        invalid.push_str(&format!("P{i},x,old,zz,maybe,perhaps,si,no?\n"));
    }
    files.push(("invalid.csv", invalid.into_bytes(), "more"));
    for (name, bytes, expected) in &files {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).expect("write");
        let p = path.display().to_string();
        let out_dir = dir.path().join("out").display().to_string();
        let db = format!("sqlite:{}", dir.path().join("h.db").display());
        for args in [
            vec!["validate", p.as_str()],
            vec!["analyze", p.as_str(), "--out", out_dir.as_str()],
            vec!["import", p.as_str(), "--study", "h", "--db", db.as_str()],
        ] {
            let out = sclerad_limited(&args, 120);
            let all = text_of(&out);
            assert!(
                matches!(out.status.code(), Some(1 | 2)),
                "{name} {args:?}: exit {:?}: {all}",
                out.status
            );
            assert!(
                !all.contains("panicked") && !all.contains("memory allocation"),
                "{name}: {all}"
            );
            assert!(
                all.to_lowercase().contains(&expected.to_lowercase()),
                "{name} {args:?} does not name {expected:?}: {}",
                &all[..all.len().min(2000)]
            );
        }
    }
    // The valid bundle with a 70,000-character column name validates.
    let (head, rest) = example.split_once('\n').expect("header");
    let long = format!(
        "{head},{}\n{}",
        "n".repeat(70_000),
        rest.lines().map(|l| format!("{l},x\n")).collect::<String>()
    );
    let path = dir.path().join("long-name.csv");
    std::fs::write(&path, long).expect("write");
    let out = sclerad_limited(&["validate", &path.display().to_string()], 120);
    assert_eq!(out.status.code(), Some(0), "{}", text_of(&out));
    assert!(
        children_peak_kib() < 1 << 20,
        "peak {} KiB",
        children_peak_kib()
    );
}

/// Only regular files are read, within a size limit a flag can raise: a
/// pipe, a device or an oversized file is refused at once (exit 2, naming
/// it), never read until memory runs out or waited on for ever.
#[test]
fn pipes_devices_and_oversized_files_are_refused() {
    let dir = tempfile::tempdir().expect("temp");
    // A pipe as patients.csv, alone and inside a folder bundle.
    let folder = dir.path().join("bundle");
    std::fs::create_dir(&folder).expect("dir");
    let fifo = folder.join("patients.csv");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    let f = fifo.display().to_string();
    let b = folder.display().to_string();
    for args in [
        vec!["validate", f.as_str()],
        vec!["validate", b.as_str()],
        vec!["analyze", b.as_str(), "--out", "/nonexistent/never"],
    ] {
        let out = sclerad_within(&args, 30);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text_of(&out));
        assert!(
            text(&out.stderr).contains("not a regular file"),
            "{args:?}: {}",
            text_of(&out)
        );
    }
    // /dev/zero behind a bundle name.
    let zero = dir.path().join("zero.csv");
    std::os::unix::fs::symlink("/dev/zero", &zero).expect("symlink");
    let out = sclerad_within(&["validate", &zero.display().to_string()], 30);
    assert_eq!(out.status.code(), Some(2), "{}", text_of(&out));
    assert!(text(&out.stderr).contains("not a regular file"));
    // A file over the limit; the flag raises it.
    let example = examples().join("summary-flags");
    let e = example.display().to_string();
    let out = sclerad_within(&["validate", &e, "--max-file-size", "1K"], 30);
    assert_eq!(out.status.code(), Some(2), "{}", text_of(&out));
    assert!(
        text(&out.stderr).contains("limit of 1024 bytes")
            && text(&out.stderr).contains("--max-file-size"),
        "{}",
        text_of(&out)
    );
    let out = sclerad_within(&["validate", &e, "--max-file-size", "2MiB"], 30);
    assert_eq!(out.status.code(), Some(0), "{}", text_of(&out));
    let out = sclerad_within(&["validate", &e, "--max-file-size", "lots"], 30);
    assert_eq!(out.status.code(), Some(2), "{}", text_of(&out));
}

/// A patient id a spreadsheet would run (`=HYPERLINK(…)`): a warning at
/// validation, defused in the derived-variables CSV, byte-exact in an
/// export (for round trips).
#[test]
fn formula_like_ids_are_defused_for_people_and_kept_for_round_trips() {
    let dir = tempfile::tempdir().expect("temp");
    let original =
        std::fs::read_to_string(examples().join("summary-flags/patients.csv")).expect("example");
    let mut lines: Vec<String> = original.lines().map(str::to_string).collect();
    let first_id = lines[1].split(',').next().expect("id").to_string();
    let formula = r#"=HYPERLINK("http://example.invalid","click")"#;
    let quoted = format!("\"{}\"", formula.replace('"', "\"\""));
    lines[1] = lines[1].replacen(&first_id, &quoted, 1);
    let bundle = dir.path().join("bundle");
    std::fs::create_dir(&bundle).expect("dir");
    std::fs::write(bundle.join("patients.csv"), lines.join("\n") + "\n").expect("write");
    let b = bundle.display().to_string();
    let derived = dir.path().join("derived.csv");
    let out = sclerad(&["validate", &b, "--derived", &derived.display().to_string()]);
    assert_eq!(out.status.code(), Some(0), "{}", text_of(&out));
    assert!(
        text(&out.stdout).contains("formula-like-value") || text(&out.stdout).contains("formula"),
        "{}",
        text_of(&out)
    );
    let json = sclerad(&["validate", &b, "--format", "json"]);
    assert!(
        text(&json.stdout).contains("formula-like-value"),
        "{}",
        text_of(&json)
    );
    let written = std::fs::read_to_string(&derived).expect("derived");
    assert!(written.contains("\"'=HYPERLINK("), "{written}");
    assert!(!written.contains(",=HYPERLINK") && !written.starts_with("=HYPERLINK"));
    // The store and its export keep the id exactly.
    let db = format!("sqlite:{}", dir.path().join("s.db").display());
    let out = sclerad(&["import", &b, "--study", "s", "--db", &db]);
    assert_eq!(out.status.code(), Some(0), "{}", text_of(&out));
    let exported = dir.path().join("export");
    let out = sclerad(&[
        "export",
        "--study",
        "s",
        "--out",
        &exported.display().to_string(),
        "--db",
        &db,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text_of(&out));
    let export = std::fs::read_to_string(exported.join("patients.csv")).expect("export");
    assert!(export.contains(&quoted), "{export}");
    assert!(!export.contains("'=HYPERLINK"));
}

/// Every file of an analysis folder by relative path, with its bytes (the
/// workbook, which records when it was written, by its presence only; the
/// report without the minute it was generated at).
fn snapshot(dir: &std::path::Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.filter_map(Result::ok) {
            let path = e.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let rel = path
                .strip_prefix(dir)
                .expect("inside")
                .display()
                .to_string();
            let bytes = if rel.ends_with(".xlsx") {
                Vec::new()
            } else if rel.ends_with(".html") {
                without_timestamps(&std::fs::read_to_string(&path).unwrap_or_default()).into_bytes()
            } else {
                std::fs::read(&path).unwrap_or_default()
            };
            out.insert(rel, bytes);
        }
    }
    out
}

/// `text` with every `YYYY-MM-DD HH:MM UTC` replaced by a placeholder.
fn without_timestamps(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let shape = b"dddd-dd-dd dd:dd UTC";
    while i < b.len() {
        let fits = b.len() - i >= shape.len()
            && shape.iter().zip(&b[i..]).all(|(s, c)| {
                if *s == b'd' {
                    c.is_ascii_digit()
                } else {
                    s == c
                }
            });
        if fits {
            out.push_str("<time>");
            i += shape.len();
        } else {
            let ch = text[i..].chars().next().unwrap_or(' ');
            out.push(ch);
            i += ch.len_utf8().max(1);
        }
    }
    out
}

/// `analyze --out DIR` killed at any moment leaves DIR holding one
/// complete run or the other, never a mixture; the next run removes what
/// the killed one left beside it.
#[test]
fn a_killed_analysis_leaves_one_complete_run() {
    let dir = tempfile::tempdir().expect("temp");
    let path = |p: &str| dir.path().join(p).display().to_string();
    for (bundle, seed) in [("a", "3"), ("b", "4")] {
        let out = sclerad(&[
            "synth",
            "--patients",
            "3000",
            "--seed",
            seed,
            "--out",
            &path(bundle),
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", text_of(&out));
    }
    let out_dir = dir.path().join("results");
    let o = out_dir.display().to_string();
    let run = |bundle: &str| sclerad(&["analyze", &path(bundle), "--out", &o]);
    assert_eq!(run("b").status.code(), Some(0));
    let run_b = snapshot(&out_dir);
    assert_eq!(run("a").status.code(), Some(0));
    let run_a = snapshot(&out_dir);
    assert!(run_a.len() > 10 && run_a != run_b);
    // Two runs of the same bundle write the same files; how long one takes
    // here sets the kill moments (the machine may be busy).
    let started = std::time::Instant::now();
    assert_eq!(run("a").status.code(), Some(0));
    let whole = started.elapsed().as_millis() as u64;
    assert!(snapshot(&out_dir) == run_a, "analyze is deterministic");
    // Kill runs of b over a at moments spread over a whole run and past it,
    // until both outcomes were seen (48 kills at most).
    let mut outcomes = BTreeSet::new();
    for k in 0..48u64 {
        if k >= 24 && outcomes.len() == 2 {
            break;
        }
        let at = (k % 24) * whole * 3 / 2 / 24 + k / 24 * whole / 48;
        let bundle = if k % 2 == 0 { "b" } else { "a" };
        let mut child = Command::new(env!("CARGO_BIN_EXE_sclerad"))
            .args(["analyze", &path(bundle), "--out", &o])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("analyze");
        std::thread::sleep(std::time::Duration::from_millis(at));
        let _ = child.kill();
        let _ = child.wait();
        let now = snapshot(&out_dir);
        let which = if now == run_a {
            "a"
        } else if now == run_b {
            "b"
        } else {
            let differ = |run: &BTreeMap<String, Vec<u8>>| -> Vec<String> {
                now.keys()
                    .chain(run.keys())
                    .filter(|f| now.get(*f) != run.get(*f))
                    .cloned()
                    .collect()
            };
            panic!(
                "after a kill at {} ms the folder is neither run: differs from a in {:?}, from b in {:?}",
                at,
                differ(&run_a),
                differ(&run_b)
            )
        };
        outcomes.insert(which);
    }
    assert_eq!(
        outcomes.len(),
        2,
        "both runs were seen complete: {outcomes:?}"
    );
    assert_eq!(run("a").status.code(), Some(0));
    let last = snapshot(&out_dir);
    let differing: Vec<&String> = last
        .keys()
        .chain(run_a.keys())
        .filter(|k| last.get(*k) != run_a.get(*k))
        .collect();
    assert!(
        differing.is_empty(),
        "files differ from run a: {differing:?}"
    );
    let leftovers: Vec<String> = std::fs::read_dir(dir.path())
        .expect("list")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("sclerad-run"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // A folder holding other files is not replaced.
    std::fs::write(out_dir.join("notes.txt"), "mine").expect("write");
    let refused = run("b");
    assert_eq!(refused.status.code(), Some(2), "{}", text_of(&refused));
    assert!(text(&refused.stderr).contains("notes.txt"));
    assert_eq!(
        std::fs::read_to_string(out_dir.join("notes.txt")).expect("kept"),
        "mine"
    );
}

/// A file full of invalid cells: every problem is counted, the first of
/// each kind listed, the rest in one line ("… and N more"), in the table
/// and in JSON.
#[test]
fn problems_are_capped_per_kind_with_the_count_of_the_rest() {
    let dir = tempfile::tempdir().expect("temp");
    let mut csv = String::from("patient_id,sex,age_years,subset\n");
    for i in 0..20_000 {
        csv.push_str(&format!("P{i},x,old,lcssc\n"));
    }
    let path = dir.path().join("patients.csv");
    std::fs::write(&path, csv).expect("write");
    let p = path.display().to_string();
    let table = sclerad(&["validate", &p]);
    assert_eq!(table.status.code(), Some(1));
    let stdout = text(&table.stdout);
    assert!(stdout.len() < 200_000, "{} bytes of output", stdout.len());
    assert!(
        stdout.contains("… and 19,900 more unknown-code problems in column sex"),
        "{}",
        &stdout[stdout.len().saturating_sub(3_000)..]
    );
    let json = sclerad(&["validate", &p, "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json");
    let problems = v["problems"].as_array().expect("problems");
    assert!(problems.len() < 1_000, "{} problems listed", problems.len());
    let omitted: u64 = problems.iter().filter_map(|p| p["omitted"].as_u64()).sum();
    assert!(omitted >= 2 * 19_900, "{omitted}");
    // The counts still say how many there are.
    assert!(
        stdout.contains("40016 errors"),
        "{}",
        &stdout[stdout.len() - 200..]
    );
    assert_eq!(v["counts"]["errors"], 40016, "{}", v["counts"]);
}

/// `sclerad demo --serve`: the demo imported, a user per role with a
/// printed password, worklists for the two readers, the server answering;
/// a printed reader logs in and finds their worklist, without a patient id.
#[test]
fn demo_serve_prints_users_who_can_log_in() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().expect("temp");
    let out = dir.path().join("demo");
    let mut child = Command::new(env!("CARGO_BIN_EXE_sclerad"))
        .args(["demo", "--serve", "--bind", "127.0.0.1:0", "--out"])
        .arg(&out)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("run sclerad");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = std::io::BufReader::new(stdout).lines();
    let mut addr = None;
    let mut users: Vec<(String, String, String)> = Vec::new();
    while users.len() < 6 {
        let line = lines.next().expect("more output").expect("line");
        if let Some(rest) = line.strip_prefix("Open http://") {
            addr = rest.split('/').next().map(String::from);
        } else if addr.is_some() {
            let words: Vec<&str> = line.split(' ').collect();
            assert_eq!(words.len(), 3, "ROLE NAME PASSWORD: {line}");
            users.push((words[0].into(), words[1].into(), words[2].into()));
        }
    }
    let addr = addr.expect("the URL");
    let roles: Vec<&str> = users.iter().map(|(r, _, _)| r.as_str()).collect();
    assert_eq!(
        roles,
        [
            "admin",
            "data_manager",
            "reader",
            "reader",
            "adjudicator",
            "analyst"
        ]
    );
    let (_, name, password) = &users[2];
    let form = format!("name={name}&password={password}&next=%2Fread");
    let form_type = [("Content-Type", "application/x-www-form-urlencoded")];
    let (status, head, _) = http_with(&addr, "POST", "/login", &form_type, &form);
    assert_eq!(status, 303, "{head}");
    let cookie = head
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: sclerad_session="))
        .and_then(|c| c.split(';').next())
        .expect("a session cookie")
        .to_string();
    let session = format!("sclerad_session={cookie}");
    let (status, _, page) = http_with(&addr, "GET", "/read", &[("Cookie", &session)], "");
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(status, 200, "{page}");
    let codes = page.matches("data-code=").count();
    assert!(
        codes > 77,
        "both exams of 77 patients and some repeats: {codes}"
    );
    let cohort = sclerad_synth::nancy_demo();
    for p in &cohort.patients {
        assert!(
            !page.contains(&format!(">{}<", p.patient_id)),
            "{}",
            p.patient_id
        );
    }
    // A second run finds the store of the first and says so.
    let again = sclerad(&[
        "demo",
        "--serve",
        "--bind",
        "127.0.0.1:0",
        "--out",
        &out.display().to_string(),
    ]);
    assert_eq!(again.status.code(), Some(2));
    assert!(
        text(&again.stderr).contains("sclerad.db exists"),
        "{}",
        text(&again.stderr)
    );
}

/// `sclerad images render`: a CT slice of pydicom's test files as a PNG
/// through the bone window; bad windows, frames and files are refused,
/// exit 2, naming what is wrong, and no PNG is left behind.
#[test]
fn images_render_writes_a_png_of_a_dicom_frame() {
    let dir = tempfile::tempdir().expect("temp");
    let ct = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../sclerad-dicom/tests/data/CT_small.dcm")
        .display()
        .to_string();
    let png = dir.path().join("slice.png");
    let p = png.display().to_string();
    let out = sclerad(&["images", "render", &ct, "--out", &p, "--window", "bone"]);
    assert_eq!(out.status.code(), Some(0), "{}", text_of(&out));
    assert!(text(&out.stdout).contains("128×128"), "{}", text_of(&out));
    let bytes = std::fs::read(&png).expect("the PNG");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .expect("dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "{leftovers:?}");

    let bad_window = sclerad(&["images", "render", &ct, "--out", &p, "--window", "40"]);
    assert_eq!(bad_window.status.code(), Some(2));
    assert!(
        text(&bad_window.stderr).contains("CENTER,WIDTH"),
        "{}",
        text_of(&bad_window)
    );
    let no_frame = sclerad(&["images", "render", &ct, "--out", &p, "--frame", "3"]);
    assert_eq!(no_frame.status.code(), Some(2));
    assert!(
        text(&no_frame.stderr).contains("frame 3 does not exist"),
        "{}",
        text_of(&no_frame)
    );
    let readme = dir.path().join("README.txt");
    std::fs::write(&readme, "Insert the CD").expect("write");
    let r = readme.display().to_string();
    let other = dir.path().join("other.png").display().to_string();
    let not_dicom = sclerad(&["images", "render", &r, "--out", &other]);
    assert_eq!(not_dicom.status.code(), Some(2));
    assert!(
        text(&not_dicom.stderr).contains("README.txt")
            && text(&not_dicom.stderr).contains("not a DICOM file"),
        "{}",
        text_of(&not_dicom)
    );
    assert!(!std::path::Path::new(&other).exists());
}

// ---- images import and export ----

mod images {
    use super::*;
    use dicom_core::value::{DataSetSequence, PrimitiveValue};
    use dicom_core::{DataElement, Tag, VR};
    use dicom_dictionary_std::tags;
    use dicom_object::{open_file, DefaultDicomObject, InMemDicomObject};
    use std::path::Path;

    fn edit(from: &Path, to: &Path, change: impl FnOnce(&mut DefaultDicomObject)) {
        let mut obj = open_file(from).expect("open a synthetic file");
        change(&mut obj);
        let mut bytes = Vec::new();
        obj.write_all(&mut bytes).expect("write");
        std::fs::write(to, bytes).expect("write the file");
    }

    fn put(obj: &mut DefaultDicomObject, tag: Tag, vr: VR, value: &str) {
        obj.put(DataElement::new(tag, vr, PrimitiveValue::from(value)));
    }

    fn string(obj: &InMemDicomObject, tag: Tag) -> String {
        obj.get(tag)
            .and_then(|e| e.value().to_str().ok())
            .map(|s| s.trim_end_matches(['\0', ' ']).to_string())
            .unwrap_or_default()
    }

    fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .expect("dir")
            .map(|e| e.expect("entry").path())
            .collect();
        entries.sort();
        for e in entries {
            if e.is_dir() {
                files_under(&e, out);
            } else {
                out.push(e);
            }
        }
    }

    /// Every UI value of a data set, nested sequences included.
    fn uids(obj: &InMemDicomObject, out: &mut BTreeSet<String>) {
        for e in obj.iter() {
            if e.vr() == VR::UI {
                if let Ok(v) = e.value().to_str() {
                    let v = v.trim_end_matches(['\0', ' ']).to_string();
                    if !v.starts_with("1.2.840.10008.") && !v.is_empty() {
                        out.insert(v);
                    }
                }
            }
            if let Some(items) = e.items() {
                for item in items {
                    uids(item, out);
                }
            }
        }
    }

    fn private_tags(obj: &InMemDicomObject) -> Vec<Tag> {
        let mut found = Vec::new();
        for e in obj.iter() {
            if e.header().tag.group() % 2 == 1 {
                found.push(e.header().tag);
            }
            if let Some(items) = e.items() {
                for item in items {
                    found.extend(private_tags(item));
                }
            }
        }
        found
    }

    fn date(obj: &InMemDicomObject, tag: Tag) -> chrono::NaiveDate {
        chrono::NaiveDate::parse_from_str(&string(obj, tag), "%Y%m%d").expect("a date")
    }

    /// `sclerad images import` and `export` on synthetic hospital files
    /// with identifiers planted wherever real files hide them, plus files
    /// that must be quarantined, refused or skipped: nothing identifying
    /// survives, no private tag remains, the provenance attributes are
    /// set, UIDs and references stay consistent, each patient's date
    /// interval is unchanged, the report names every file and why, a
    /// second import stores nothing twice, and the override stores a
    /// checked instance.
    #[test]
    fn import_deidentifies_reports_and_export_writes_what_was_stored() {
        let dir = tempfile::tempdir().expect("temp");
        let d = dir.path();
        let bundle = d.join("b");
        let b = bundle.display().to_string();
        let out = sclerad(&[
            "synth",
            "--patients",
            "3",
            "--readings",
            "long",
            "--images",
            "--out",
            &b,
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", text_of(&out));
        let db = format!("sqlite:{}", d.join("s.db").display());
        let out = sclerad(&["import", &b, "--study", "s", "--db", &db]);
        assert_eq!(out.status.code(), Some(0), "{}", text_of(&out));

        // The hospital's files: the synthetic ones, one slice with more
        // identifiers planted, and an extra folder of trouble.
        let images = bundle.join("images");
        let mut sources = Vec::new();
        files_under(&images, &mut sources);
        let ct = sources
            .iter()
            .find(|p| p.display().to_string().contains("/ct/IM0003"))
            .expect("a CT slice")
            .clone();
        let hand = sources
            .iter()
            .find(|p| p.display().to_string().contains("/hand/"))
            .expect("a radiograph")
            .clone();
        let neighbour = ct.with_file_name("IM0002.dcm");
        let neighbour_uid = string(
            &open_file(&neighbour).expect("open"),
            tags::SOP_INSTANCE_UID,
        );
        edit(&ct.clone(), &ct, |o| {
            put(
                o,
                tags::IMAGE_COMMENTS,
                VR::LT,
                "seen with Mrs MARTIN-PLANTED, room 12",
            );
            put(o, tags::OPERATORS_NAME, VR::PN, "OPERATOR^PLANTED");
            put(o, tags::DEVICE_SERIAL_NUMBER, VR::LO, "SN-PLANTED-998877");
            put(
                o,
                tags::INSTITUTION_ADDRESS,
                VR::ST,
                "29 avenue PLANTED, Nancy",
            );
            put(o, tags::PATIENT_ADDRESS, VR::LO, "3 rue PLANTED");
            put(o, tags::INSTANCE_CREATION_DATE, VR::DA, "20100611");
            put(o, Tag(0x0009, 0x0010), VR::LO, "ACME PLANTED");
            put(o, Tag(0x0009, 0x1001), VR::LO, "PRIVATE-PLANTED");
            let reference = InMemDicomObject::from_element_iter([
                DataElement::new(
                    tags::REFERENCED_SOP_CLASS_UID,
                    VR::UI,
                    PrimitiveValue::from("1.2.840.10008.5.1.4.1.1.2"),
                ),
                DataElement::new(
                    tags::REFERENCED_SOP_INSTANCE_UID,
                    VR::UI,
                    PrimitiveValue::from(neighbour_uid.as_str()),
                ),
            ]);
            o.put(DataElement::new(
                tags::REFERENCED_IMAGE_SEQUENCE,
                VR::SQ,
                DataSetSequence::from(vec![reference]),
            ));
            let equipment = InMemDicomObject::from_element_iter([
                DataElement::new(
                    tags::CONTRIBUTION_DATE_TIME,
                    VR::DT,
                    PrimitiveValue::from("20100612101500"),
                ),
                DataElement::new(
                    tags::CONTRIBUTION_DESCRIPTION,
                    VR::ST,
                    PrimitiveValue::from("edited by PLANTED"),
                ),
            ]);
            o.put(DataElement::new(
                tags::CONTRIBUTING_EQUIPMENT_SEQUENCE,
                VR::SQ,
                DataSetSequence::from(vec![equipment]),
            ));
        });
        let extra = d.join("extra");
        std::fs::create_dir(&extra).expect("dir");
        std::fs::write(
            extra.join("README.TXT"),
            "Insert the CD; the viewer is VIEWER.EXE",
        )
        .expect("write");
        std::fs::copy(
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../sclerad-dicom/tests/data/DICOMDIR-empty.dcm"),
            extra.join("DICOMDIR"),
        )
        .expect("copy");
        let slice = std::fs::read(&neighbour).expect("read");
        std::fs::write(extra.join("cut.dcm"), &slice[..slice.len() / 2]).expect("write");
        edit(&hand, &extra.join("burned.dcm"), |o| {
            put(o, tags::BURNED_IN_ANNOTATION, VR::CS, "YES");
            put(o, tags::SOP_INSTANCE_UID, VR::UI, "1.3.6.1.4.1.59999.1001");
        });
        edit(&hand, &extra.join("us.dcm"), |o| {
            put(
                o,
                tags::SOP_CLASS_UID,
                VR::UI,
                "1.2.840.10008.5.1.4.1.1.6.1",
            );
            put(o, tags::SOP_INSTANCE_UID, VR::UI, "1.3.6.1.4.1.59999.1002");
        });
        edit(&hand, &extra.join("stranger.dcm"), |o| {
            put(o, tags::PATIENT_ID, VR::LO, "NOT-IN-THE-MAP");
            put(o, tags::SOP_INSTANCE_UID, VR::UI, "1.3.6.1.4.1.59999.1003");
        });
        // What must not survive: every identifier of the sources.
        let mut needles: BTreeSet<String> = BTreeSet::new();
        let mut source_uids = BTreeSet::new();
        let mut source_dates: BTreeMap<String, (chrono::NaiveDate, chrono::NaiveDate)> =
            BTreeMap::new();
        for path in &sources {
            let o = open_file(path).expect("open");
            for tag in [
                tags::PATIENT_ID,
                tags::PATIENT_NAME,
                tags::PATIENT_BIRTH_DATE,
                tags::ACCESSION_NUMBER,
                tags::INSTITUTION_NAME,
                tags::REFERRING_PHYSICIAN_NAME,
            ] {
                let v = string(&o, tag);
                needles.insert(v.clone());
                // The family name alone too.
                if let Some((family, _)) = v.split_once('^') {
                    needles.insert(family.to_string());
                }
            }
            uids(&o, &mut source_uids);
            let pid = string(&o, tags::PATIENT_ID);
            let entry = source_dates
                .entry(pid)
                .or_insert((date(&o, tags::STUDY_DATE), date(&o, tags::STUDY_DATE)));
            if path.display().to_string().contains("/hand/") {
                entry.0 = date(&o, tags::STUDY_DATE);
            } else {
                entry.1 = date(&o, tags::STUDY_DATE);
            }
        }
        needles.extend(
            [
                "PLANTED",
                "HOSPPACS",
                "HOSPITAL_PACS",
                "Brabois",
                "1.3.6.1.4.1.59999.1001",
                "1.3.6.1.4.1.59999.1002",
            ]
            .map(String::from),
        );
        needles.extend(source_uids.iter().cloned());
        needles.retain(|n| n.len() >= 4);

        let zip_path = d.join("extra.zip");
        let status = Command::new("zip")
            .arg("-qr")
            .arg(&zip_path)
            .arg(".")
            .current_dir(&extra)
            .status();
        let zipped = status.map(|s| s.success()).unwrap_or(false);
        let map = bundle.join("images-map.csv").display().to_string();
        let report = d.join("report.csv");
        let r = report.display().to_string();
        let imgs = images.display().to_string();
        let ex = if zipped {
            zip_path.display().to_string()
        } else {
            extra.display().to_string()
        };
        let out = sclerad(&[
            "images", "import", &imgs, &ex, "--study", "s", "--db", &db, "--map", &map, "--report",
            &r,
        ]);
        assert_eq!(out.status.code(), Some(1), "{}", text_of(&out));
        let report_text = std::fs::read_to_string(&report).expect("report");
        let lines: Vec<&str> = report_text.lines().collect();
        assert_eq!(
            lines[0],
            "source,action,reason,patient_id,exam,instance,warnings"
        );
        assert_eq!(lines.len() - 1, sources.len() + 6, "{report_text}");
        let line_of = |name: &str| {
            lines
                .iter()
                .find(|l| l.split(',').next().is_some_and(|s| s.ends_with(name)))
                .unwrap_or_else(|| panic!("{name} in the report:\n{report_text}"))
                .to_string()
        };
        for (name, action, why) in [
            ("README.TXT", "skipped", "not a DICOM file"),
            ("DICOMDIR", "skipped", "DICOMDIR"),
            ("cut.dcm", "refused", ""),
            ("burned.dcm", "quarantined", "Burned In Annotation"),
            ("us.dcm", "quarantined", "ultrasound"),
            ("stranger.dcm", "refused", "not in the map"),
        ] {
            let line = line_of(name);
            assert!(
                line.contains(&format!(",{action},")) && line.contains(why),
                "{name}: {line}"
            );
        }
        assert!(
            lines[1..]
                .iter()
                .filter(|l| l.contains("/images/"))
                .all(|l| l.contains(",stored,")),
            "{report_text}"
        );
        let stdout = text(&out.stdout);
        assert!(
            stdout.contains(&format!("{} stored", plural_instances(sources.len())))
                && stdout.contains("2 quarantined")
                && stdout.contains("2 refused")
                && stdout.contains("2 skipped"),
            "{stdout}"
        );

        // Again, through a symbolic link to the folder (a path given is
        // followed): nothing stored twice.
        let link = d.join("cd-link");
        std::os::unix::fs::symlink(&images, &link).expect("symlink");
        let linked = link.display().to_string();
        let again = sclerad(&[
            "images", "import", &linked, "--study", "s", "--db", &db, "--map", &map,
        ]);
        assert_eq!(again.status.code(), Some(0), "{}", text_of(&again));
        assert!(
            text(&again.stdout).contains(&format!(
                "0 instances stored, {} stored already",
                sources.len()
            )),
            "{}",
            text_of(&again)
        );
        // The data manager checked the burned-in radiograph: stored.
        let burned = extra.join("burned.dcm").display().to_string();
        let checked = sclerad(&[
            "images",
            "import",
            &burned,
            "--study",
            "s",
            "--db",
            &db,
            "--map",
            &map,
            "--allow-burned-in",
            "--report",
            &r,
        ]);
        assert_eq!(checked.status.code(), Some(0), "{}", text_of(&checked));
        let report_text = std::fs::read_to_string(&report).expect("report");
        assert!(
            report_text.contains(
                ",stored,stored on the override for burned-in text: Burned In Annotation is YES"
            ),
            "{report_text}"
        );

        let exported = d.join("exported");
        let e = exported.display().to_string();
        let out = sclerad(&["images", "export", "--study", "s", "--db", &db, "--out", &e]);
        assert_eq!(out.status.code(), Some(0), "{}", text_of(&out));
        let mut files = Vec::new();
        files_under(&exported, &mut files);
        assert_eq!(files.len(), sources.len() + 1);
        let mut series: BTreeMap<String, BTreeSet<(String, String, String)>> = BTreeMap::new();
        let mut by_uid = BTreeSet::new();
        let mut exported_dates: BTreeMap<
            String,
            (Option<chrono::NaiveDate>, Option<chrono::NaiveDate>),
        > = BTreeMap::new();
        let mut references = Vec::new();
        for path in &files {
            let raw = std::fs::read(path).expect("read");
            let lossy = String::from_utf8_lossy(&raw);
            for needle in &needles {
                assert!(
                    !lossy.contains(needle.as_str()),
                    "{} holds {needle:?}",
                    path.display()
                );
            }
            let o = open_file(path).expect("an exported file is DICOM");
            assert!(
                private_tags(&o).is_empty(),
                "{}: private tags",
                path.display()
            );
            assert_eq!(string(&o, tags::PATIENT_IDENTITY_REMOVED), "YES");
            assert_eq!(
                string(&o, tags::LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED),
                "MODIFIED"
            );
            assert!(o.get(tags::DEIDENTIFICATION_METHOD_CODE_SEQUENCE).is_some());
            assert!(string(&o, tags::PATIENT_BIRTH_DATE).is_empty());
            let pseudonym = string(&o, tags::PATIENT_ID);
            assert!(pseudonym.starts_with("SCL-"), "{pseudonym}");
            assert!(path.display().to_string().contains(&pseudonym));
            let uid = string(&o, tags::SOP_INSTANCE_UID);
            assert_eq!(o.meta().media_storage_sop_instance_uid(), uid);
            assert!(uid.starts_with("2.25."));
            by_uid.insert(uid);
            let exam = if path.display().to_string().contains("/ct/") {
                "ct"
            } else {
                "hand"
            };
            series
                .entry(format!("{pseudonym}/{exam}"))
                .or_default()
                .insert((
                    string(&o, tags::STUDY_INSTANCE_UID),
                    string(&o, tags::SERIES_INSTANCE_UID),
                    string(&o, tags::FRAME_OF_REFERENCE_UID),
                ));
            let entry = exported_dates.entry(pseudonym).or_default();
            if exam == "ct" {
                entry.1 = Some(date(&o, tags::STUDY_DATE));
            } else {
                entry.0 = Some(date(&o, tags::STUDY_DATE));
            }
            if let Some(items) = o
                .get(tags::REFERENCED_IMAGE_SEQUENCE)
                .and_then(|e| e.items())
            {
                references.push(string(&items[0], tags::REFERENCED_SOP_INSTANCE_UID));
                assert!(o
                    .get(tags::IMAGE_COMMENTS)
                    .is_none_or(|e| e.value().to_str().map_or(true, |s| s.trim().is_empty())));
                let equipment = o
                    .get(tags::CONTRIBUTING_EQUIPMENT_SEQUENCE)
                    .and_then(|e| e.items())
                    .expect("contributing equipment kept");
                let shifted = string(&equipment[0], tags::CONTRIBUTION_DATE_TIME);
                assert!(!shifted.starts_with("20100612"), "{shifted}");
            }
        }
        // One study, series and frame of reference per exam.
        assert!(series.values().all(|s| s.len() == 1), "{series:?}");
        assert_eq!(references.len(), 1);
        assert!(
            by_uid.contains(&references[0]),
            "the reference follows its slice"
        );
        // The interval between a patient's radiograph and CT survives.
        let source_intervals: BTreeSet<i64> = source_dates
            .values()
            .map(|(h, c)| (*c - *h).num_days())
            .collect();
        let exported_intervals: BTreeSet<i64> = exported_dates
            .values()
            .filter_map(|(h, c)| Some((c.as_ref()?.signed_duration_since(*h.as_ref()?)).num_days()))
            .collect();
        assert_eq!(source_intervals, exported_intervals);
        // And the dates themselves moved (a shift of 1 to 10 years).
        let source_pairs: BTreeSet<_> = source_dates.values().copied().collect();
        for (h, c) in exported_dates.values() {
            let pair = (h.expect("a radiograph"), c.expect("a CT"));
            assert!(!source_pairs.contains(&pair), "{pair:?} not shifted");
        }
        // And the trail proves it all.
        let verify = sclerad(&["audit", "verify", "--db", &db]);
        assert_eq!(verify.status.code(), Some(0), "{}", text_of(&verify));
        // Export refuses a folder that holds something.
        let again = sclerad(&["images", "export", "--study", "s", "--db", &db, "--out", &e]);
        assert_eq!(again.status.code(), Some(2), "{}", text_of(&again));
    }

    fn plural_instances(n: usize) -> String {
        format!("{n} {}", if n == 1 { "instance" } else { "instances" })
    }

    /// A bad map is refused before anything is stored, naming the file,
    /// row and column.
    #[test]
    fn a_bad_map_names_row_and_column_and_stores_nothing() {
        let dir = tempfile::tempdir().expect("temp");
        let d = dir.path();
        let b = d.join("b").display().to_string();
        let out = sclerad(&[
            "synth",
            "--patients",
            "2",
            "--readings",
            "long",
            "--out",
            &b,
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", text_of(&out));
        let db = format!("sqlite:{}", d.join("s.db").display());
        assert_eq!(
            sclerad(&["import", &b, "--study", "s", "--db", &db])
                .status
                .code(),
            Some(0)
        );
        let map = d.join("map.csv");
        std::fs::write(
            &map,
            "dicom_patient_id,patient_id,exam\nH1,S0001,hand\nH2,NOPE,\nH1,S0002,ct\n",
        )
        .expect("write");
        let m = map.display().to_string();
        let out = sclerad(&[
            "images", "import", &b, "--study", "s", "--db", &db, "--map", &m,
        ]);
        assert_eq!(out.status.code(), Some(2), "{}", text_of(&out));
        let err = text(&out.stderr);
        assert!(
            err.contains("row 2, column exam") && err.contains("\"hand\" is not an exam"),
            "{err}"
        );
        assert!(
            err.contains("row 3, column patient_id") && err.contains("\"NOPE\""),
            "{err}"
        );
        let unknown = sclerad(&[
            "images", "import", &b, "--study", "nope", "--db", &db, "--map", &m,
        ]);
        assert_eq!(unknown.status.code(), Some(2));
        assert!(
            text(&unknown.stderr).contains("no study \"nope\""),
            "{}",
            text_of(&unknown)
        );
        // A good map, but a file past the size limit half-way: exit 2,
        // nothing of the import stored.
        let b2 = d.join("b2").display().to_string();
        let out = sclerad(&[
            "synth",
            "--patients",
            "2",
            "--readings",
            "long",
            "--images",
            "--out",
            &b2,
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", text_of(&out));
        let db2 = format!("sqlite:{}", d.join("s2.db").display());
        assert_eq!(
            sclerad(&["import", &b2, "--study", "s", "--db", &db2])
                .status
                .code(),
            Some(0)
        );
        let big = d.join("b2/images/zz-big.dcm");
        std::fs::write(&big, vec![0u8; 2 << 20]).expect("write");
        let map2 = d.join("b2/images-map.csv").display().to_string();
        let images = d.join("b2/images").display().to_string();
        let out = sclerad(&[
            "images",
            "import",
            &images,
            "--study",
            "s",
            "--db",
            &db2,
            "--map",
            &map2,
            "--max-file-size",
            "1",
        ]);
        assert_eq!(out.status.code(), Some(2), "{}", text_of(&out));
        assert!(
            text(&out.stderr).contains("zz-big.dcm")
                && text(&out.stderr).contains("--max-file-size"),
            "{}",
            text_of(&out)
        );
        let e = d.join("none").display().to_string();
        let exported = sclerad(&[
            "images", "export", "--study", "s", "--db", &db2, "--out", &e,
        ]);
        assert!(
            text(&exported.stdout).contains("Wrote 0 instances"),
            "{}",
            text_of(&exported)
        );
    }
}

/// DICOM networking on loopback: `sclerad images listen` receiving from
/// DCMTK's `storescu` and from Orthanc.
mod listen {
    use super::*;
    use std::io::{BufRead, Read, Write};
    use std::process::{Child, Stdio};

    /// A program of DCMTK or Orthanc, or `None` (and the test passes,
    /// saying so) only when `SCLERAD_SKIP_DICOM_NETWORK=1`.
    fn program(name: &str) -> Option<PathBuf> {
        let found = std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|p| p.join(name))
                .find(|p| p.is_file())
        });
        if found.is_none() {
            assert!(
                std::env::var("SCLERAD_SKIP_DICOM_NETWORK").as_deref() == Ok("1"),
                "{name} is not installed (Debian: apt-get install dcmtk orthanc); \
                 set SCLERAD_SKIP_DICOM_NETWORK=1 to skip the DICOM network tests"
            );
            eprintln!("skipped: no {name}");
        }
        found
    }

    struct Listener {
        child: Child,
        addr: String,
    }

    impl Drop for Listener {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    fn start_listener(db: &str, map: &str) -> Listener {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sclerad"))
            .args([
                "images",
                "listen",
                "--study",
                "s",
                "--db",
                db,
                "--map",
                map,
                "--bind",
                "127.0.0.1:0",
                "--ae",
                "SCLERAD",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("run sclerad images listen");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = std::io::BufReader::new(stdout).lines();
        let first = lines.next().expect("a line").expect("text");
        let addr = first
            .split(" on ")
            .nth(1)
            .and_then(|rest| rest.split(',').next())
            .expect("the address")
            .to_string();
        std::thread::spawn(move || for _ in lines {});
        Listener { child, addr }
    }

    /// A study of two synthetic patients with images; the database URL and
    /// the images' map.
    fn study(d: &std::path::Path) -> (String, String, PathBuf) {
        let b = d.join("b");
        let bs = b.display().to_string();
        let out = sclerad(&[
            "synth",
            "--patients",
            "2",
            "--readings",
            "long",
            "--images",
            "--out",
            &bs,
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", text_of(&out));
        let db = format!("sqlite:{}", d.join("s.db").display());
        assert_eq!(
            sclerad(&["import", &bs, "--study", "s", "--db", &db])
                .status
                .code(),
            Some(0)
        );
        (
            db,
            b.join("images-map.csv").display().to_string(),
            b.join("images"),
        )
    }

    fn exported(d: &std::path::Path, db: &str, name: &str) -> Vec<PathBuf> {
        let out_dir = d.join(name);
        let e = out_dir.display().to_string();
        let out = sclerad(&["images", "export", "--study", "s", "--db", db, "--out", &e]);
        assert_eq!(out.status.code(), Some(0), "{}", text_of(&out));
        let mut files = Vec::new();
        let mut stack = vec![out_dir];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).expect("dir") {
                let p = entry.expect("entry").path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    files.push(p);
                }
            }
        }
        files
    }

    fn series_files(images: &std::path::Path, exam: &str) -> Vec<String> {
        let patient = std::fs::read_dir(images)
            .expect("images")
            .map(|e| e.expect("entry").path())
            .min()
            .expect("a patient");
        let mut files: Vec<String> = std::fs::read_dir(patient.join(exam))
            .expect("exam folder")
            .map(|e| e.expect("entry").path().display().to_string())
            .collect();
        files.sort();
        files
    }

    /// `storescu` pushing a CT series lands it, de-identified; an instance
    /// of a patient the map does not know is answered with a failure and
    /// not stored; the trail proves it.
    #[test]
    fn storescu_pushes_a_ct_series_into_the_study() {
        let Some(storescu) = program("storescu") else {
            return;
        };
        let dir = tempfile::tempdir().expect("temp");
        let d = dir.path();
        let (db, map, images) = study(d);
        let listener = start_listener(&db, &map);
        let (host, port) = listener.addr.rsplit_once(':').expect("host:port");
        let slices = series_files(&images, "ct");
        let out = Command::new(&storescu)
            .args(["-aec", "SCLERAD", host, port])
            .args(&slices)
            .output()
            .expect("run storescu");
        assert!(out.status.success(), "storescu: {}", text_of(&out));
        // A file of a patient not in the map: refused, with a reason.
        let stranger = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../sclerad-dicom/tests/data/CT_small.dcm");
        let out = Command::new(&storescu)
            .args(["-aec", "SCLERAD", host, port])
            .arg(&stranger)
            .output()
            .expect("run storescu");
        assert!(
            !out.status.success(),
            "the stranger was accepted: {}",
            text_of(&out)
        );
        drop(listener);
        let files = exported(d, &db, "exported");
        assert_eq!(
            files.len(),
            slices.len(),
            "every slice stored, nothing else"
        );
        let hospital_id = std::fs::read_to_string(&map)
            .expect("map")
            .lines()
            .nth(1)
            .and_then(|l| l.split(',').next().map(String::from))
            .expect("a hospital id");
        for f in &files {
            let raw = String::from_utf8_lossy(&std::fs::read(f).expect("read")).into_owned();
            assert!(
                !raw.contains(&hospital_id) && !raw.contains("CHRU"),
                "{}",
                f.display()
            );
            assert!(f.display().to_string().contains("/SCL-"), "{}", f.display());
        }
        let verify = sclerad(&["audit", "verify", "--db", &db]);
        assert_eq!(verify.status.code(), Some(0), "{}", text_of(&verify));
    }

    fn http(port: u16, method: &str, path: &str, body: &[u8]) -> (u16, String) {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect to Orthanc");
        let head = format!(
            "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        s.write_all(head.as_bytes()).expect("send");
        s.write_all(body).expect("send");
        let mut reply = Vec::new();
        s.read_to_end(&mut reply).expect("read");
        let reply = String::from_utf8_lossy(&reply).into_owned();
        let status = reply
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let body = reply
            .split_once("\r\n\r\n")
            .map_or("", |(_, b)| b)
            .to_string();
        (status, body)
    }

    fn free_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port")
    }

    /// Orthanc (a PACS) sends a radiograph and a CT series it holds to the
    /// listener, configured as one of its modalities: both land,
    /// de-identified.
    #[test]
    fn orthanc_sends_a_study_to_the_listener() {
        let Some(orthanc) = program("Orthanc") else {
            return;
        };
        let dir = tempfile::tempdir().expect("temp");
        let d = dir.path();
        let (db, map, images) = study(d);
        let listener = start_listener(&db, &map);
        let (_, port) = listener.addr.rsplit_once(':').expect("host:port");
        let (http_port, dicom_port) = (free_port(), free_port());
        let config = json_config(d, http_port, dicom_port, port);
        let mut pacs = Command::new(orthanc)
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("run Orthanc");
        let started = std::time::Instant::now();
        while http_port_closed(http_port) {
            assert!(started.elapsed().as_secs() < 60, "Orthanc did not start");
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        let mut files = series_files(&images, "ct");
        files.extend(series_files(&images, "hand"));
        let mut ids = Vec::new();
        for f in &files {
            let (status, body) = http(
                http_port,
                "POST",
                "/instances",
                &std::fs::read(f).expect("read"),
            );
            assert_eq!(status, 200, "upload {f}: {body}");
            let v: serde_json::Value = serde_json::from_str(&body).expect("json");
            ids.push(v["ID"].as_str().expect("an id").to_string());
        }
        let request = serde_json::json!({ "Resources": ids, "Synchronous": true }).to_string();
        let (status, body) = http(
            http_port,
            "POST",
            "/modalities/sclerad/store",
            request.as_bytes(),
        );
        let _ = pacs.kill();
        let _ = pacs.wait();
        assert_eq!(status, 200, "Orthanc's C-STORE: {body}");
        drop(listener);
        let stored = exported(d, &db, "exported");
        assert_eq!(stored.len(), files.len(), "Orthanc's instances stored");
        assert!(stored
            .iter()
            .any(|p| p.display().to_string().contains("/hand_radiograph/")));
        assert!(stored
            .iter()
            .any(|p| p.display().to_string().contains("/ct/")));
    }

    fn http_port_closed(port: u16) -> bool {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err()
    }

    fn json_config(d: &std::path::Path, http: u16, dicom: u16, listener: &str) -> PathBuf {
        let storage = d.join("orthanc-db");
        let config = serde_json::json!({
            "Name": "sclerad-test-pacs",
            "StorageDirectory": storage.display().to_string(),
            "IndexDirectory": storage.display().to_string(),
            "HttpPort": http,
            "DicomPort": dicom,
            "DicomAet": "TESTPACS",
            "RemoteAccessAllowed": false,
            "AuthenticationEnabled": false,
            "HttpServerEnabled": true,
            "Plugins": [],
            "DicomModalities": { "sclerad": ["SCLERAD", "127.0.0.1", listener.parse::<u16>().expect("port")] },
        });
        let path = d.join("orthanc.json");
        std::fs::write(&path, config.to_string()).expect("write the config");
        path
    }
}

/// Whether the problems table `printed` has a row at `file`, `row`,
/// `column`.
fn problem_at(printed: &str, file: &str, row: &str, column: &str) -> bool {
    printed.lines().any(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        fields.get(1..4) == Some(&[file, row, column][..])
    })
}

/// `bundle`'s files split by patient: those of the first `keep` patients
/// into `first`, the others into `rest` (each file with its header).
fn split_bundle(bundle: &Path, keep: usize, first: &Path, rest: &Path) {
    std::fs::create_dir_all(first).expect("first");
    std::fs::create_dir_all(rest).expect("rest");
    let patients = std::fs::read_to_string(bundle.join("patients.csv")).expect("patients");
    let mut lines = patients.lines();
    let header = lines.next().expect("header").to_string();
    let rows: Vec<&str> = lines.collect();
    let id = |line: &str| line.split(',').next().unwrap_or_default().to_string();
    let kept: std::collections::HashSet<String> = rows[..keep].iter().map(|l| id(l)).collect();
    for file in ["patients.csv", "hand_readings.csv", "spine_readings.csv"] {
        let Ok(csv) = std::fs::read_to_string(bundle.join(file)) else {
            continue;
        };
        let mut lines = csv.lines();
        let header = lines.next().expect("header");
        assert!(header.starts_with("patient_id,"), "{file}: {header}");
        let (mut a, mut b) = (vec![header.to_string()], vec![header.to_string()]);
        for line in lines {
            if kept.contains(&id(line)) {
                a.push(line.to_string());
            } else {
                b.push(line.to_string());
            }
        }
        std::fs::write(first.join(file), a.join("\n") + "\n").expect("write");
        std::fs::write(rest.join(file), b.join("\n") + "\n").expect("write");
    }
    assert!(header.starts_with("patient_id,"));
}

/// A study imported in two parts, the second with `--append`, is the
/// study imported whole: the same export analyses the same; appending
/// again, or a bundle with a bad cell, or to no study, is refused with
/// nothing written; the trail names the append.
fn append_through(db: &str, dir: &Path) {
    let run = |args: &[&str]| {
        let out = sclerad(args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", text_of(&out));
        out
    };
    let whole = dir.join("whole");
    let w = whole.display().to_string();
    run(&[
        "synth",
        "--patients",
        "120",
        "--seed",
        "21",
        "--readings",
        "long",
        "--readers",
        "rad1,rad2,consensus",
        "--out",
        &w,
    ]);
    let (first, rest) = (dir.join("first"), dir.join("rest"));
    split_bundle(&whole, 90, &first, &rest);
    let (f, r) = (first.display().to_string(), rest.display().to_string());
    run(&["import", &f, "--study", "grown", "--db", db]);
    let out = run(&["import", &r, "--study", "grown", "--append", "--db", db]);
    assert!(
        text(&out.stdout).contains("30 patients") && text(&out.stdout).contains("120 patients now"),
        "{}",
        text_of(&out)
    );
    let e = dir.join("export").display().to_string();
    run(&["export", "--study", "grown", "--out", &e, "--db", db]);
    let (ra, rb) = (dir.join("ra"), dir.join("rb"));
    run(&["analyze", &w, "--out", &ra.display().to_string()]);
    run(&["analyze", &e, "--out", &rb.display().to_string()]);
    assert_eq!(
        results_without_input(&ra),
        results_without_input(&rb),
        "imported in two parts, the study analyses as the whole bundle"
    );

    // The same patients again: each refused at its row, nothing written.
    let again = sclerad(&["import", &r, "--study", "grown", "--append", "--db", db]);
    assert_eq!(again.status.code(), Some(1), "{}", text_of(&again));
    let said = text(&again.stderr);
    assert!(said.contains("nothing was appended"), "{said}");
    assert!(
        !said.contains("the study's") || said.contains("error     the study's"),
        "the study's own warnings are not the appender's: {said}"
    );
    assert!(
        problem_at(&said, "patients.csv", "2", "patient_id"),
        "{said}"
    );
    assert!(
        problem_at(&said, "hand_readings.csv", "2", "reader"),
        "{said}"
    );
    assert!(
        !problem_at(&said, "hand_readings.csv", "3", "reader"),
        "one problem a reading: {said}"
    );
    // A bad cell, at its row and column.
    let bad = dir.join("bad");
    std::fs::create_dir_all(&bad).expect("bad");
    let header = std::fs::read_to_string(whole.join("patients.csv")).expect("patients");
    let header = header.lines().next().expect("header").to_string();
    let columns: Vec<&str> = header.split(',').collect();
    let row = |id: &str, subset: &str| {
        columns
            .iter()
            .map(|c| match *c {
                "patient_id" => id.to_string(),
                "subset" => subset.to_string(),
                "sex" => "female".to_string(),
                _ => String::new(),
            })
            .collect::<Vec<_>>()
            .join(",")
    };
    std::fs::write(
        bad.join("patients.csv"),
        format!(
            "{header}\n{}\n{}\n",
            row("NEW1", "lcssc"),
            row("NEW2", "limited-ish")
        ),
    )
    .expect("write");
    let out = sclerad(&[
        "import",
        &bad.display().to_string(),
        "--study",
        "grown",
        "--append",
        "--db",
        db,
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text_of(&out));
    assert!(
        problem_at(&text(&out.stderr), "patients.csv", "3", "subset"),
        "{}",
        text_of(&out)
    );
    let out = sclerad(&[
        "import",
        &bad.display().to_string(),
        "--study",
        "nowhere",
        "--append",
        "--db",
        db,
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text_of(&out));
    assert!(
        text(&out.stderr).contains("no study named \"nowhere\""),
        "{}",
        text_of(&out)
    );

    let e2 = dir.join("export2").display().to_string();
    run(&["export", "--study", "grown", "--out", &e2, "--db", db]);
    assert_eq!(
        std::fs::read(dir.join("export/patients.csv")).expect("export"),
        std::fs::read(dir.join("export2/patients.csv")).expect("export2"),
        "nothing was written by the refusals"
    );
    let out = run(&["audit", "verify", "--db", db]);
    assert!(
        text(&out.stdout).contains("Audit trail intact"),
        "{}",
        text_of(&out)
    );
}

#[test]
fn a_study_grows_with_append_on_sqlite() {
    let dir = tempfile::tempdir().expect("temp");
    let db = format!("sqlite:{}", dir.path().join("study.db").display());
    append_through(&db, dir.path());
}

#[test]
fn a_study_grows_with_append_on_postgres() {
    let Some(db) = postgres_database("append") else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp");
    append_through(&db, dir.path());
}

/// `sclerad redcap`: the dictionary, a raw records export of a synthetic
/// bundle imported back (with its readings) to the same derived variables,
/// a refused export writing nothing, and a suggested mapping.
#[test]
fn redcap_dictionary_import_and_mapping() {
    let dir = tempfile::tempdir().expect("tempdir");
    let at = |name: &str| dir.path().join(name).display().to_string();
    let out = sclerad(&["redcap", "dictionary", "--out", &at("dict.csv")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = sclerad(&["redcap", "dictionary"]);
    let dict = std::fs::read_to_string(at("dict.csv")).expect("dict");
    assert_eq!(text(&stdout.stdout), dict);
    let fields: Vec<String> = dict
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap_or("").to_string())
        .collect();
    assert_eq!(fields[0], "patient_id");

    let synth = sclerad(&[
        "synth",
        "--patients",
        "25",
        "--seed",
        "4",
        "--readings",
        "long",
        "--out",
        &at("orig"),
    ]);
    assert_eq!(synth.status.code(), Some(0), "{}", text(&synth.stderr));
    // The records export, as REDCap writes it: 1/0 for yes/no.
    let patients = std::fs::read_to_string(dir.path().join("orig/patients.csv")).expect("patients");
    let mut lines = patients.lines();
    let columns: Vec<&str> = lines.next().expect("header").split(',').collect();
    let mut records = fields.join(",") + ",clinical_record_complete\n";
    let yes_no: Vec<&str> = dict
        .lines()
        .filter(|l| l.contains(",yesno,"))
        .map(|l| l.split(',').next().unwrap_or(""))
        .collect();
    for line in lines {
        let cells: Vec<&str> = line.split(',').collect();
        let row: Vec<String> = fields
            .iter()
            .map(|f| {
                let column = if f == "periarticular_calc" {
                    "periarticular_calcification"
                } else {
                    f
                };
                let value = columns
                    .iter()
                    .position(|c| *c == column)
                    .map_or("", |i| cells[i]);
                match value {
                    "yes" if yes_no.contains(&f.as_str()) => "1".to_string(),
                    "no" if yes_no.contains(&f.as_str()) => "0".to_string(),
                    v => v.to_string(),
                }
            })
            .collect();
        records.push_str(&(row.join(",") + ",2\n"));
    }
    std::fs::write(at("records.csv"), &records).expect("records");
    let import = sclerad(&[
        "redcap",
        "import",
        &at("records.csv"),
        "--dictionary",
        &at("dict.csv"),
        "--with",
        &at("orig"),
        "--out",
        &at("imported"),
    ]);
    assert_eq!(
        import.status.code(),
        Some(0),
        "{}{}",
        text(&import.stdout),
        text(&import.stderr)
    );
    assert!(
        text(&import.stdout).contains("25 patients written to"),
        "{}",
        text(&import.stdout)
    );
    for bundle in ["orig", "imported"] {
        let v = sclerad(&[
            "validate",
            &at(bundle),
            "--derived",
            &at(&format!("{bundle}-derived.csv")),
        ]);
        assert_eq!(v.status.code(), Some(0), "{}", text(&v.stdout));
    }
    assert_eq!(
        std::fs::read_to_string(at("orig-derived.csv")).expect("derived"),
        std::fs::read_to_string(at("imported-derived.csv")).expect("derived"),
        "the same derived variables"
    );
    // Again into the same folder: refused without --force.
    let again = sclerad(&[
        "redcap",
        "import",
        &at("records.csv"),
        "--dictionary",
        &at("dict.csv"),
        "--out",
        &at("imported"),
    ]);
    assert_eq!(again.status.code(), Some(2));
    assert!(
        text(&again.stderr).contains("--force"),
        "{}",
        text(&again.stderr)
    );

    // A sex coded 3 on the second record: exit 1, the row and field named,
    // nothing written.
    let sex = fields.iter().position(|f| f == "sex").expect("sex");
    let mut bad_lines: Vec<String> = records.lines().map(String::from).collect();
    let mut cells: Vec<String> = bad_lines[2].split(',').map(String::from).collect();
    cells[sex] = "3".into();
    bad_lines[2] = cells.join(",");
    std::fs::write(at("bad.csv"), bad_lines.join("\n") + "\n").expect("bad");
    let bad = sclerad(&[
        "redcap",
        "import",
        &at("bad.csv"),
        "--dictionary",
        &at("dict.csv"),
        "--out",
        &at("never"),
        "--format",
        "json",
    ]);
    assert_eq!(bad.status.code(), Some(1), "{}", text(&bad.stderr));
    let report: serde_json::Value = serde_json::from_slice(&bad.stdout).expect("json");
    let problem = report["problems"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["code"] == "unknown-code"))
        .expect("an unknown-code problem");
    assert_eq!(
        (
            problem["file"].as_str(),
            problem["row"].as_u64(),
            problem["column"].as_str()
        ),
        (Some("bad.csv"), Some(3), Some("sex"))
    );
    assert_eq!(report["written"], false);
    assert!(!dir.path().join("never/patients.csv").exists());

    // The suggested mapping of sclerad's own dictionary maps each field to
    // its column.
    let mapping = sclerad(&["redcap", "mapping", "--dictionary", &at("dict.csv")]);
    assert_eq!(mapping.status.code(), Some(0), "{}", text(&mapping.stderr));
    let mapping = text(&mapping.stdout);
    assert!(
        mapping.starts_with("redcap_field,choice,column,value,redcap_label\n"),
        "{mapping}"
    );
    assert!(
        mapping.contains("\nperiarticular_calc,,periarticular_calcification,,"),
        "{mapping}"
    );
}

/// `sclerad serve --tls-cert --tls-key`: files that are not a certificate
/// or a key are refused at start, naming the file, a certificate without
/// its key by the argument parser; with the test certificate, the first
/// start's link is https and a plain HTTP request gets no HTTP answer.
#[test]
fn serve_takes_a_tls_certificate_and_names_a_bad_one() {
    let fixtures = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../sclerad-server/tests/fixtures/tls"
    );
    let cert = format!("{fixtures}/cert.pem");
    let key = format!("{fixtures}/key.pem");
    let dir = tempfile::tempdir().expect("dir");
    let db = format!("sqlite:{}", dir.path().join("s.db").display());
    let addr = format!("127.0.0.1:{}", free_port());
    let alone = sclerad_within(
        &["serve", "--db", &db, "--bind", &addr, "--tls-cert", &cert],
        30,
    );
    assert_eq!(alone.status.code(), Some(2), "{}", text_of(&alone));
    assert!(
        text(&alone.stderr).contains("--tls-key"),
        "{}",
        text_of(&alone)
    );
    let swapped = sclerad_within(
        &[
            "serve",
            "--db",
            &db,
            "--bind",
            &addr,
            "--tls-cert",
            &key,
            "--tls-key",
            &cert,
        ],
        30,
    );
    assert_ne!(swapped.status.code(), Some(0));
    assert!(
        text(&swapped.stderr).contains(&format!("{key}: holds no certificate")),
        "{}",
        text_of(&swapped)
    );
    let missing = format!("{fixtures}/nope.pem");
    let absent = sclerad_within(
        &[
            "serve",
            "--db",
            &db,
            "--bind",
            &addr,
            "--tls-cert",
            &missing,
            "--tls-key",
            &key,
        ],
        30,
    );
    assert_ne!(absent.status.code(), Some(0));
    assert!(
        text(&absent.stderr).contains("nope.pem"),
        "{}",
        text_of(&absent)
    );

    let mut child = Command::new(env!("CARGO_BIN_EXE_sclerad"))
        .args([
            "serve",
            "--db",
            &db,
            "--bind",
            &addr,
            "--tls-cert",
            &cert,
            "--tls-key",
            &key,
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("serve");
    let stdout = child.stdout.take().expect("stdout");
    let link = std::io::BufRead::lines(std::io::BufReader::new(stdout))
        .map_while(Result::ok)
        .find(|l| l.trim().contains("/setup/"));
    let plain = std::net::TcpStream::connect(&addr).and_then(|mut s| {
        use std::io::{Read, Write};
        s.set_read_timeout(Some(std::time::Duration::from_secs(5)))?;
        s.write_all(b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")?;
        let mut buf = Vec::new();
        let _ = s.read_to_end(&mut buf);
        Ok(buf)
    });
    let _ = child.kill();
    let _ = child.wait();
    let link = link.expect("the first-start link");
    assert!(
        link.trim().starts_with(&format!("https://{addr}/setup/")),
        "{link}"
    );
    let plain = plain.expect("connect");
    assert!(!String::from_utf8_lossy(&plain).contains("HTTP/1.1 200"));
}
