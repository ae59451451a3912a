//! Integration tests: bundles of every shape the format allows, a catalogue
//! of malformed bundles, and property tests (no panic on arbitrary bytes;
//! write then read gives the same cohort).

use std::path::Path;

use chrono::NaiveDate;
use proptest::prelude::*;
use sclerad_bundle::{
    load, read_bundle, read_csv_bytes, read_xlsx_bytes, write_folder, DateFormat, ReadOptions,
};
use sclerad_model::{
    derive, validate, Cohort, FlagSource, Lesion, Problem, ProblemCounts, ReaderChoice, Severity,
    SpineFlag, ValidateOptions,
};

const HEADER: &str = "patient_id,sex,age_years,subset,onset_date,hand_xray_date,ct_date,ct_type,digital_ulcers,ild_ct,pah,death,death_date,calcinosis,acro_osteolysis,periarticular_calcification,erosion,joint_space_narrowing,subluxation,flexion_contracture,spine_anterior,spine_canal,spine_foraminal,spine_posterior";

const ROWS: [&str; 3] = [
    "N001,female,56,lcssc,2005-03-01,2015-04-01,2015-06-01,thoracic,yes,no,no,no,,yes,no,no,no,yes,no,no,yes,yes,yes,no",
    "N002,male,61.5,dcssc,2010-01-01,2015-04-01,2015-09-01,tap,no,yes,no,yes,2018-02-03,no,yes,no,no,no,no,yes,yes,no,no,yes",
    "N003,f,47,lcssc,,2016-01-10,2016-03-01,lumbar,NA,no,N/A,no,,no,no,no,no,no,no,no,no,no,no,no",
];

fn patients_csv() -> String {
    let mut s = format!("{HEADER}\n");
    for r in ROWS {
        s.push_str(r);
        s.push('\n');
    }
    s
}

fn folder(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).expect("write");
    }
    dir
}

fn check(path: &Path, options: &ReadOptions, reader: Option<&str>) -> (Cohort, Vec<Problem>) {
    let check = ValidateOptions {
        reader: reader.map(String::from),
        ..ValidateOptions::default()
    };
    let (loaded, _) = load(path, options, &check).expect("bundle readable");
    (loaded.cohort, loaded.problems)
}

fn errors(problems: &[Problem]) -> Vec<&Problem> {
    problems
        .iter()
        .filter(|p| p.severity == Severity::Error)
        .collect()
}

fn assert_clean(problems: &[Problem]) {
    let e = errors(problems);
    assert!(e.is_empty(), "unexpected errors: {e:#?}");
}

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
}

// ---------------------------------------------------------------- valid shapes

#[test]
fn comma_folder_reads_cleanly() {
    let dir = folder(&[("patients.csv", &patients_csv())]);
    let (cohort, problems) = check(dir.path(), &ReadOptions::default(), None);
    assert_clean(&problems);
    assert_eq!(cohort.patients.len(), 3);
    let p = &cohort.patients[1];
    assert_eq!(p.patient_id, "N002");
    assert_eq!(p.row, 3);
    assert_eq!(p.age_years, Some(61.5));
    assert_eq!(p.death_date, Some(d("2018-02-03")));
    assert_eq!(cohort.patients[2].digital_ulcers, None);
    assert_eq!(cohort.patients[2].pah, None);
    let derived = derive(&cohort, &Default::default(), 365);
    assert_eq!(derived[0].spine_any, Some(true));
    assert_eq!(derived[2].spine_any, Some(false));
    assert_eq!(derived[0].imaging_gap_days, Some(61));
    assert_eq!(derived[0].hand_source, FlagSource::Summary);
}

#[test]
fn semicolon_decimal_comma_bom_and_crlf_read_cleanly() {
    let text = patients_csv()
        .replace(',', ";")
        .replace("61.5", "61,5")
        .replace('\n', "\r\n");
    let dir = folder(&[("patients.csv", &format!("\u{feff}{text}"))]);
    let (cohort, problems) = check(dir.path(), &ReadOptions::default(), None);
    assert_clean(&problems);
    assert_eq!(cohort.patients[1].age_years, Some(61.5));
    assert_eq!(cohort.patients[0].patient_id, "N001");
}

#[test]
fn a_single_csv_is_read_as_patients() {
    let dir = folder(&[("cohort.csv", &patients_csv())]);
    let (cohort, problems) = check(
        &dir.path().join("cohort.csv"),
        &ReadOptions::default(),
        None,
    );
    assert_clean(&problems);
    assert_eq!(cohort.patients.len(), 3);
    assert_eq!(cohort.patients_table.file, "cohort.csv");
}

#[test]
fn day_first_dates_need_the_option() {
    let text = patients_csv().replace("2015-04-01", "01/04/2015");
    let dir = folder(&[("p.csv", &text)]);
    let path = dir.path().join("p.csv");
    let (_, problems) = check(&path, &ReadOptions::default(), None);
    let e = errors(&problems);
    assert_eq!(e.len(), 2, "{e:#?}");
    assert!(e
        .iter()
        .all(|p| p.code == "bad-date" && p.location.column.as_deref() == Some("hand_xray_date")));
    let (cohort, problems) = check(
        &path,
        &ReadOptions {
            date_format: DateFormat::Dmy,
            ..ReadOptions::default()
        },
        None,
    );
    assert_clean(&problems);
    assert_eq!(cohort.patients[0].hand_xray_date, Some(d("2015-04-01")));
}

#[test]
fn unknown_columns_are_kept_as_notes() {
    let text = patients_csv()
        .replacen(HEADER, &format!("{HEADER},BMI,Centre"), 1)
        .replace(
            "no,no,yes,yes,yes,no\n",
            "no,no,yes,yes,yes,no,22.5,Nancy\n",
        );
    let dir = folder(&[("patients.csv", &text)]);
    let (cohort, problems) = check(dir.path(), &ReadOptions::default(), None);
    assert!(
        errors(&problems).iter().all(|p| p.code == "ragged-row"),
        "{problems:#?}"
    );
    assert_eq!(cohort.patient_extra_columns, ["BMI", "Centre"]);
    assert_eq!(cohort.patients[0].extra, ["22.5", "Nancy"]);
    let notes: Vec<_> = problems
        .iter()
        .filter(|p| p.code == "unknown-column")
        .collect();
    assert_eq!(notes.len(), 2);
    assert_eq!(notes[0].severity, Severity::Note);
}

#[test]
fn header_names_match_case_insensitively_after_trimming() {
    let header = HEADER
        .replace("patient_id", " Patient_ID ")
        .replace("sex", "SEX");
    let text = patients_csv().replacen(HEADER, &header, 1);
    let dir = folder(&[("patients.csv", &text)]);
    let (cohort, problems) = check(dir.path(), &ReadOptions::default(), None);
    assert_clean(&problems);
    assert_eq!(cohort.patients.len(), 3);
}

const LONG_PATIENTS: &str = "patient_id,sex,birth_date,subset,onset_date,hand_xray_date,ct_date,ct_type,ct_levels,digital_ulcers,ild_ct,pah,death
A1,female,1960-05-01,lcssc,2008-01-01,2016-02-01,2016-05-01,thoracic,,yes,no,no,no
A2,male,1955-01-20,dcssc,2012-06-01,2016-03-01,2016-03-15,tap,t1-l5,no,yes,yes,yes
A3,female,1970-11-11,lcssc,2014-01-01,2016-04-01,2016-04-20,lumbar,,no,no,no,no
";

const HAND: &str = "patient_id,reader,side,site,lesion,grade
A1,rad1,left,tuft_d2,acro_osteolysis,2
A1,rad1,right,soft_tissue_d3,calcinosis,1
A1,rad2,left,tuft_d2,acro_osteolysis,1
A2,rad1,,,none,
A2,rad2,right,pip_d3,flexion_contracture,
A3,rad1,left,mcp_d2,erosion,
A3,rad2,left,mcp_d2,erosion,
A1,consensus,left,tuft_d2,acro_osteolysis,2
A2,consensus,,,none,
A3,consensus,left,mcp_d2,erosion,
";

const SPINE: &str = "patient_id,reader,level,segment,foraminal,side,morphology
A1,rad1,t6,anterior,,left,punctate
A1,rad1,t7,canal,yes,right,nodular
A2,rad1,l3,posterior,no,bilateral,linear
A3,rad1,,none,,,
";

#[test]
fn long_format_readings_from_several_readers() {
    let dir = folder(&[
        ("patients.csv", LONG_PATIENTS),
        ("hand_readings.csv", HAND),
        ("spine_readings.csv", SPINE),
    ]);
    let (cohort, problems) = check(dir.path(), &ReadOptions::default(), None);
    assert_clean(&problems);
    let choice = ReaderChoice::resolve(&cohort, None);
    assert_eq!(choice.hand, Ok(Some("consensus".into())));
    assert_eq!(choice.spine, Ok(Some("rad1".into())));
    assert_eq!(choice.hand_readers, ["consensus", "rad1", "rad2"]);
    let derived = derive(&cohort, &choice.selection(), 365);
    let a1 = &derived[0];
    assert_eq!(a1.hand_source, FlagSource::Readings);
    assert_eq!(a1.lesion(Lesion::AcroOsteolysis), Some(true));
    assert_eq!(
        a1.lesion(Lesion::Calcinosis),
        Some(false),
        "consensus did not record calcinosis"
    );
    assert_eq!(a1.spine_flag(SpineFlag::Foraminal), Some(true));
    assert_eq!(a1.spine_flag(SpineFlag::Canal), Some(true));
    assert_eq!(a1.spine_flag(SpineFlag::Posterior), Some(false));
    assert_eq!(a1.spine_any, Some(true));
    assert_eq!(a1.age_years, Some(55.0));
    assert_eq!(derived[1].lesion(Lesion::FlexionContracture), Some(false));
    assert_eq!(derived[2].spine_any, Some(false));
    assert_eq!(derived[2].spine_source, FlagSource::Readings);

    // --reader rad2 gives rad2's flags for hands; spines have no rad2.
    let choice = ReaderChoice::resolve(&cohort, Some("rad2"));
    assert_eq!(choice.hand, Ok(Some("rad2".into())));
    assert!(choice.spine.is_err());
    let (_, problems) = check(dir.path(), &ReadOptions::default(), Some("rad2"));
    let e = errors(&problems);
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].code, "reader-choice");
    assert_eq!(e[0].location.file, "spine_readings.csv");
}

#[test]
fn a_patient_without_a_reading_by_the_chosen_reader_is_a_warning() {
    let hand: String = HAND
        .lines()
        .filter(|l| !l.starts_with("A3,consensus"))
        .map(|l| format!("{l}\n"))
        .collect();
    let dir = folder(&[
        ("patients.csv", LONG_PATIENTS),
        ("hand_readings.csv", &hand),
        ("spine_readings.csv", SPINE),
    ]);
    let (cohort, problems) = check(dir.path(), &ReadOptions::default(), None);
    assert_clean(&problems);
    let w: Vec<_> = problems.iter().filter(|p| p.code == "not-read").collect();
    assert_eq!(w.len(), 1, "{problems:#?}");
    assert_eq!(w[0].severity, Severity::Warning);
    assert_eq!(w[0].location.row, Some(4));
    let derived = derive(
        &cohort,
        &ReaderChoice::resolve(&cohort, None).selection(),
        365,
    );
    assert_eq!(derived[2].hand_source, FlagSource::Missing);
    assert_eq!(derived[2].lesion(Lesion::Erosion), None);
}

#[test]
fn several_readers_without_consensus_validate_with_a_note() {
    let hand: String = HAND
        .lines()
        .filter(|l| !l.contains("consensus"))
        .map(|l| format!("{l}\n"))
        .collect();
    let dir = folder(&[
        ("patients.csv", LONG_PATIENTS),
        ("hand_readings.csv", &hand),
        ("spine_readings.csv", SPINE),
    ]);
    let (_, problems) = check(dir.path(), &ReadOptions::default(), None);
    assert_clean(&problems);
    let note = problems
        .iter()
        .find(|p| p.code == "reader-choice")
        .expect("note");
    assert_eq!(note.severity, Severity::Note);
    assert!(note.message.contains("--reader"));
    // Analysis demands a choice.
    let (loaded, _) = load(
        dir.path(),
        &ReadOptions::default(),
        &ValidateOptions {
            reader_required: true,
            ..ValidateOptions::default()
        },
    )
    .expect("readable");
    assert!(errors(&loaded.problems)
        .iter()
        .any(|p| p.code == "reader-choice"));
}

fn xlsx_bundle(with_dates: bool) -> Vec<u8> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut book = Workbook::new();
    let date_format = Format::new().set_num_format("dd/mm/yyyy");
    let sheet = book.add_worksheet();
    sheet.set_name("Patients").expect("name");
    let header: Vec<&str> = LONG_PATIENTS
        .lines()
        .next()
        .expect("header")
        .split(',')
        .collect();
    for (c, h) in header.iter().enumerate() {
        sheet.write_string(0, c as u16, *h).expect("write");
    }
    for (r, line) in LONG_PATIENTS.lines().skip(1).enumerate() {
        let row = r as u32 + 1;
        for (c, cell) in line.split(',').enumerate() {
            let col = c as u16;
            if cell.is_empty() {
                continue;
            }
            if header[c].ends_with("_date") && with_dates {
                sheet
                    .write_datetime_with_format(row, col, d(cell), &date_format)
                    .expect("date");
            } else if cell == "yes" || cell == "no" {
                sheet.write_boolean(row, col, cell == "yes").expect("bool");
            } else {
                sheet.write_string(row, col, cell).expect("string");
            }
        }
    }
    for (name, text) in [("hand_readings", HAND), ("spine_readings", SPINE)] {
        let sheet = book.add_worksheet();
        sheet.set_name(name).expect("name");
        for (r, line) in text.lines().enumerate() {
            for (c, cell) in line.split(',').enumerate() {
                if let Ok(n) = cell.parse::<f64>() {
                    sheet.write_number(r as u32, c as u16, n).expect("number");
                } else if !cell.is_empty() {
                    sheet
                        .write_string(r as u32, c as u16, cell)
                        .expect("string");
                }
            }
        }
    }
    book.add_worksheet().set_name("notes").expect("name");
    book.save_to_buffer().expect("xlsx")
}

#[test]
fn xlsx_with_real_date_cells_reads_cleanly() {
    let loaded = read_xlsx_bytes("cohort.xlsx", xlsx_bundle(true), &ReadOptions::default());
    let v = sclerad_model::validate(&loaded.cohort, &ValidateOptions::default());
    assert_clean(&loaded.problems);
    assert_clean(&v.problems);
    let c = &loaded.cohort;
    assert_eq!(c.patients.len(), 3);
    assert_eq!(c.patients[0].birth_date, Some(d("1960-05-01")));
    assert_eq!(c.patients[1].hand_xray_date, Some(d("2016-03-01")));
    assert_eq!(c.patients[1].digital_ulcers, Some(false));
    assert_eq!(c.patients_table.sheet.as_deref(), Some("Patients"));
    assert_eq!(c.hand_readings.as_ref().map(|h| h.rows.len()), Some(10));
    assert_eq!(
        c.hand_readings.as_ref().map(|h| h.rows[0].grade),
        Some(Some(2))
    );
    assert!(loaded
        .problems
        .iter()
        .any(|p| p.code == "unknown-table" && p.location.sheet.as_deref() == Some("notes")));
}

#[test]
fn xlsx_text_dates_are_parsed_like_csv() {
    let loaded = read_xlsx_bytes("cohort.xlsx", xlsx_bundle(false), &ReadOptions::default());
    assert_clean(&loaded.problems);
    assert_eq!(loaded.cohort.patients[2].ct_date, Some(d("2016-04-20")));
}

#[test]
fn xlsx_number_in_a_date_column_is_an_error_not_a_guess() {
    use rust_xlsxwriter::Workbook;
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("patients").expect("name");
    let header = [
        "patient_id",
        "sex",
        "subset",
        "age_years",
        "onset_date",
        "digital_ulcers",
        "ild_ct",
        "pah",
        "death",
    ];
    for (c, h) in header.iter().enumerate() {
        sheet.write_string(0, c as u16, *h).expect("write");
    }
    for (c, v) in ["P1", "f", "lcssc", "50"].iter().enumerate() {
        sheet.write_string(1, c as u16, *v).expect("write");
    }
    sheet.write_number(1, 4, 42000.0).expect("write");
    let bytes = book.save_to_buffer().expect("xlsx");
    let loaded = read_xlsx_bytes("c.xlsx", bytes, &ReadOptions::default());
    let e = errors(&loaded.problems);
    let bad = e.iter().find(|p| p.code == "bad-date").expect("bad-date");
    assert_eq!(bad.location.row, Some(2));
    assert_eq!(bad.location.column.as_deref(), Some("onset_date"));
    assert_eq!(bad.location.sheet.as_deref(), Some("patients"));
}

// ------------------------------------------------------------ malformed catalogue

/// One malformed bundle: a change to the valid one and the problem expected.
struct Case {
    name: &'static str,
    files: Vec<(&'static str, String)>,
    code: &'static str,
    file: &'static str,
    row: Option<u32>,
    column: Option<&'static str>,
}

fn with_row(i: usize, from: &str, to: &str) -> String {
    let mut rows = ROWS.map(String::from);
    assert!(rows[i].contains(from), "{from}");
    rows[i] = rows[i].replacen(from, to, 1);
    format!("{HEADER}\n{}\n", rows.join("\n"))
}

fn replace_row(i: usize, row: &str) -> String {
    let mut rows = ROWS.map(String::from);
    rows[i] = row.to_string();
    format!("{HEADER}\n{}\n", rows.join("\n"))
}

fn patients_only(
    name: &'static str,
    text: String,
    code: &'static str,
    row: Option<u32>,
    column: Option<&'static str>,
) -> Case {
    Case {
        name,
        files: vec![("patients.csv", text)],
        code,
        file: "patients.csv",
        row,
        column,
    }
}

fn catalogue() -> Vec<Case> {
    let long = |hand: &str, spine: &str| {
        vec![
            ("patients.csv", LONG_PATIENTS.to_string()),
            ("hand_readings.csv", hand.to_string()),
            ("spine_readings.csv", spine.to_string()),
        ]
    };
    let hand_case = |name, line: &str, code, row, column| Case {
        name,
        files: long(&format!("{HAND}{line}\n"), SPINE),
        code,
        file: "hand_readings.csv",
        row: Some(row),
        column,
    };
    let spine_case = |name, line: &str, code, row, column| Case {
        name,
        files: long(HAND, &format!("{SPINE}{line}\n")),
        code,
        file: "spine_readings.csv",
        row: Some(row),
        column,
    };
    vec![
        patients_only(
            "unknown subset",
            with_row(0, "lcssc", "limited"),
            "unknown-code",
            Some(2),
            Some("subset"),
        ),
        patients_only(
            "unknown sex",
            with_row(1, "male", "w"),
            "unknown-code",
            Some(3),
            Some("sex"),
        ),
        patients_only(
            "unknown ct type",
            with_row(2, "lumbar", "cervical"),
            "unknown-code",
            Some(4),
            Some("ct_type"),
        ),
        patients_only(
            "bad boolean",
            with_row(0, "thoracic,yes", "thoracic,oui"),
            "bad-boolean",
            Some(2),
            Some("digital_ulcers"),
        ),
        patients_only(
            "bad date",
            with_row(1, "2015-09-01", "2015-13-01"),
            "bad-date",
            Some(3),
            Some("ct_date"),
        ),
        patients_only(
            "text date",
            with_row(1, "2015-09-01", "Sept 2015"),
            "bad-date",
            Some(3),
            Some("ct_date"),
        ),
        patients_only(
            "age too high",
            with_row(0, ",56,", ",156,"),
            "out-of-range",
            Some(2),
            Some("age_years"),
        ),
        patients_only(
            "age zero",
            with_row(0, ",56,", ",0,"),
            "out-of-range",
            Some(2),
            Some("age_years"),
        ),
        patients_only(
            "age not a number",
            with_row(0, ",56,", ",fifty,"),
            "bad-number",
            Some(2),
            Some("age_years"),
        ),
        patients_only(
            "decimal comma in a comma file",
            with_row(1, "61.5", "\"61,5\""),
            "bad-number",
            Some(3),
            Some("age_years"),
        ),
        patients_only(
            "duplicate id",
            with_row(2, "N003", "N001"),
            "duplicate-patient-id",
            Some(4),
            Some("patient_id"),
        ),
        patients_only(
            "empty id",
            with_row(2, "N003", ""),
            "missing-cell",
            Some(4),
            Some("patient_id"),
        ),
        patients_only(
            "empty sex",
            with_row(2, ",f,", ",,"),
            "missing-cell",
            Some(4),
            Some("sex"),
        ),
        patients_only(
            "NA subset",
            with_row(2, "lcssc", "NA"),
            "missing-cell",
            Some(4),
            Some("subset"),
        ),
        patients_only(
            "ragged short",
            replace_row(1, ROWS[1].rsplit_once(',').map_or("", |(a, _)| a)),
            "ragged-row",
            Some(3),
            Some("spine_posterior"),
        ),
        patients_only(
            "ragged long",
            replace_row(0, &format!("{},extra", ROWS[0])),
            "ragged-row",
            Some(2),
            Some("#25 (past the last column)"),
        ),
        patients_only(
            "missing column",
            patients_csv().replacen(",death,", ",died,", 1),
            "missing-column",
            Some(1),
            Some("death"),
        ),
        patients_only(
            "missing key column",
            patients_csv().replacen("subset", "cutaneous", 1),
            "missing-column",
            Some(1),
            Some("subset"),
        ),
        patients_only(
            "missing lesion column",
            patients_csv().replacen(",erosion,", ",erosions,", 1),
            "missing-column",
            Some(1),
            Some("erosion"),
        ),
        patients_only(
            "neither age nor birth date",
            patients_csv().replacen("age_years", "age", 1),
            "missing-column",
            Some(1),
            Some("age_years"),
        ),
        patients_only(
            "duplicate column",
            patients_csv().replacen("ct_type", "sex", 1),
            "duplicate-column",
            Some(1),
            Some("sex"),
        ),
        patients_only(
            "death before imaging",
            with_row(1, "2018-02-03", "2014-02-03"),
            "date-order",
            Some(3),
            Some("death_date"),
        ),
        patients_only(
            "death before onset",
            with_row(1, "2018-02-03", "2009-02-03")
                .replace("2015-04-01,2015-09-01", "2009-01-01,2009-01-02"),
            "date-order",
            Some(3),
            Some("death_date"),
        ),
        patients_only(
            "death date without death",
            with_row(0, "no,no,,yes", "no,no,2019-01-01,yes"),
            "death-date-without-death",
            Some(2),
            Some("death_date"),
        ),
        patients_only(
            "onset after imaging",
            with_row(0, "2005-03-01", "2016-03-01"),
            "date-order",
            Some(2),
            Some("onset_date"),
        ),
        patients_only(
            "foraminal without canal",
            with_row(0, "yes,yes,yes,no", "yes,no,yes,no"),
            "foraminal-without-canal",
            Some(2),
            Some("spine_foraminal"),
        ),
        patients_only("empty file", String::new(), "empty-file", None, None),
        patients_only("header only", format!("{HEADER}\n"), "no-rows", None, None),
        patients_only(
            "unclosed quote",
            with_row(1, "N002", "\"N002"),
            "unclosed-quote",
            Some(3),
            None,
        ),
        Case {
            name: "no patients.csv",
            files: vec![("patient.csv", patients_csv())],
            code: "missing-table",
            file: "",
            row: None,
            column: None,
        },
        hand_case(
            "acro-osteolysis outside the tufts",
            "A3,rad1,left,dip_d2,acro_osteolysis,",
            "lesion-site",
            12,
            Some("site"),
        ),
        hand_case(
            "flexion contracture at the wrist",
            "A3,rad1,left,wrist,flexion_contracture,",
            "lesion-site",
            12,
            Some("site"),
        ),
        hand_case(
            "calcinosis at a joint",
            "A3,rad1,left,mcp_d2,calcinosis,",
            "lesion-site",
            12,
            Some("site"),
        ),
        hand_case(
            "unknown site",
            "A3,rad1,left,dip_d1,erosion,",
            "unknown-code",
            12,
            Some("site"),
        ),
        hand_case(
            "unknown lesion",
            "A3,rad1,left,dip_d2,osteophyte,",
            "unknown-code",
            12,
            Some("lesion"),
        ),
        hand_case(
            "lesion without side",
            "A3,rad1,,dip_d2,erosion,",
            "missing-cell",
            12,
            Some("side"),
        ),
        hand_case(
            "grade out of range",
            "A3,rad1,left,dip_d2,erosion,5",
            "out-of-range",
            12,
            Some("grade"),
        ),
        hand_case(
            "reading for an unknown patient",
            "Z9,rad1,left,dip_d2,erosion,",
            "unknown-patient",
            12,
            Some("patient_id"),
        ),
        hand_case(
            "empty reader",
            "A3,,left,dip_d2,erosion,",
            "missing-cell",
            12,
            Some("reader"),
        ),
        spine_case(
            "level outside a thoracic CT",
            "A1,rad1,l3,anterior,,,",
            "level-not-covered",
            6,
            Some("level"),
        ),
        spine_case(
            "level outside explicit ct_levels",
            "A2,rad1,c5,anterior,,,",
            "level-not-covered",
            6,
            Some("level"),
        ),
        spine_case(
            "unknown level",
            "A1,rad1,t13,anterior,,,",
            "unknown-code",
            6,
            Some("level"),
        ),
        spine_case(
            "foraminal outside the canal",
            "A1,rad1,t8,posterior,yes,,",
            "foraminal-outside-canal",
            6,
            Some("foraminal"),
        ),
        spine_case(
            "calcification without level",
            "A1,rad1,,anterior,,,",
            "missing-cell",
            6,
            Some("level"),
        ),
        spine_case(
            "unknown morphology",
            "A1,rad1,t8,anterior,,,blob",
            "unknown-code",
            6,
            Some("morphology"),
        ),
        spine_case(
            "spine reading for an unknown patient",
            "Z9,rad1,t8,anterior,,,",
            "unknown-patient",
            6,
            Some("patient_id"),
        ),
        Case {
            name: "summary contradicts readings",
            files: vec![
                (
                    "patients.csv",
                    LONG_PATIENTS
                        .replace("ct_levels,", "ct_levels,erosion,")
                        .replace("thoracic,,", "thoracic,,yes,")
                        .replace("t1-l5,", "t1-l5,,")
                        .replace("lumbar,,", "lumbar,,no,"),
                ),
                ("hand_readings.csv", HAND.to_string()),
            ],
            code: "summary-contradicts-readings",
            file: "patients.csv",
            row: Some(2),
            column: Some("erosion"),
        },
        Case {
            name: "readings header only",
            files: long("patient_id,reader,side,site,lesion\n", SPINE),
            code: "no-rows",
            file: "hand_readings.csv",
            row: None,
            column: None,
        },
        Case {
            name: "readings missing a column",
            files: long(&HAND.replacen("site", "location", 1), SPINE),
            code: "missing-column",
            file: "hand_readings.csv",
            row: Some(1),
            column: Some("site"),
        },
        Case {
            name: "non-UTF-8 readings",
            files: long(&HAND.replacen("rad2", "r\u{e9}ad2", 1), SPINE),
            code: "not-utf8",
            file: "hand_readings.csv",
            row: Some(4),
            column: Some("reader"),
        },
    ]
}

#[test]
fn every_malformed_bundle_names_its_problem() {
    let mut failures = Vec::new();
    for case in catalogue() {
        let dir = tempfile::tempdir().expect("tempdir");
        for (name, text) in &case.files {
            let bytes = if case.code == "not-utf8" && *name == "hand_readings.csv" {
                text.replace('\u{e9}', "\u{1}")
                    .into_bytes()
                    .into_iter()
                    .map(|b| if b == 1 { 0xE9 } else { b })
                    .collect()
            } else {
                text.clone().into_bytes()
            };
            std::fs::write(dir.path().join(name), bytes).expect("write");
        }
        let (_, problems) = check(dir.path(), &ReadOptions::default(), None);
        let found = problems.iter().any(|p| {
            p.severity == Severity::Error
                && p.code == case.code
                && (case.file.is_empty() || p.location.file == case.file)
                && p.location.row == case.row
                && p.location.column.as_deref() == case.column
        });
        if !found {
            failures.push(format!(
                "{}: expected {} at {} row {:?} column {:?}; got {problems:#?}",
                case.name, case.code, case.file, case.row, case.column
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn all_problems_are_collected_not_just_the_first() {
    let text = with_row(0, ",56,", ",156,")
        .replace("lumbar", "cervical")
        .replace("2015-09-01", "2015-13-01");
    let dir = folder(&[("patients.csv", &text)]);
    let (_, problems) = check(dir.path(), &ReadOptions::default(), None);
    assert_eq!(ProblemCounts::of(&problems).errors, 3, "{problems:#?}");
}

#[test]
fn a_missing_path_is_an_io_error_not_a_problem() {
    let err = read_bundle(Path::new("/nonexistent/bundle"), &ReadOptions::default())
        .expect_err("missing");
    assert!(err.to_string().contains("no such file"));
    let dir = folder(&[("cohort.ods", "x")]);
    let err =
        read_bundle(&dir.path().join("cohort.ods"), &ReadOptions::default()).expect_err("kind");
    assert!(err.to_string().contains("not a bundle"));
}

#[test]
fn a_corrupt_workbook_is_a_problem() {
    let loaded = read_xlsx_bytes(
        "c.xlsx",
        b"PK\x03\x04garbage".to_vec(),
        &ReadOptions::default(),
    );
    assert_eq!(loaded.problems[0].code, "bad-workbook");
    let loaded = read_xlsx_bytes("c.xlsx", Vec::new(), &ReadOptions::default());
    assert_eq!(loaded.problems[0].code, "bad-workbook");
}

// ------------------------------------------------------------------ properties

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let loaded = read_csv_bytes("fuzz.csv", &bytes, &ReadOptions::default());
        let _ = sclerad_model::validate(&loaded.cohort, &ValidateOptions::default());
        let _ = read_xlsx_bytes("fuzz.xlsx", bytes, &ReadOptions::default());
    }

    #[test]
    fn csv_like_text_never_panics(text in "[a-z0-9_,;\"\n\r .:/-]{0,600}") {
        let with_header = format!("{HEADER}\n{text}");
        for t in [&text, &with_header] {
            let loaded = read_csv_bytes("fuzz.csv", t.as_bytes(), &ReadOptions { date_format: DateFormat::Dmy, ..ReadOptions::default() });
            let _ = sclerad_model::validate(&loaded.cohort, &ValidateOptions::default());
        }
    }
}

mod round_trip {
    use super::*;
    use sclerad_model::{
        CtType, HandReading, HandSide, HandSite, LevelSet, Morphology, Patient, PatientColumn,
        Readings, Sex, SpineReading, SpineSegment, SpineSide, Subset, TableName, VertebralLevel,
    };

    fn opt<T: std::fmt::Debug + Clone + 'static>(
        s: impl Strategy<Value = T> + 'static,
    ) -> BoxedStrategy<Option<T>> {
        proptest::option::of(s).boxed()
    }

    fn date() -> impl Strategy<Value = NaiveDate> {
        (0i64..40_000).prop_map(|days| {
            NaiveDate::from_ymd_opt(1920, 1, 1).expect("epoch") + chrono::Duration::days(days)
        })
    }

    fn number(lo: f64, hi: f64) -> impl Strategy<Value = f64> {
        (lo..hi).prop_filter("open interval", move |x| *x > lo && *x < hi)
    }

    fn bools<const N: usize>() -> impl Strategy<Value = [Option<bool>; N]> {
        proptest::array::uniform::<_, N>(proptest::option::of(any::<bool>()))
    }

    fn text() -> impl Strategy<Value = String> {
        // `NA` in any case is the format's missing-value marker, not text.
        "[A-Za-z0-9][A-Za-z0-9 ,;\"_-]{0,8}[A-Za-z0-9]"
            .prop_filter("not a missing-value marker", |t| {
                !t.eq_ignore_ascii_case("na")
            })
    }

    fn patient() -> impl Strategy<Value = Patient> {
        let a = (
            prop_oneof![Just(Sex::Female), Just(Sex::Male)],
            prop_oneof![Just(Subset::Limited), Just(Subset::Diffuse)],
            opt(number(0.0, 120.0)),
            opt(date()),
            opt(date()),
            opt(number(0.0, 100.0)),
            opt(date()),
            opt(date()),
            opt(prop_oneof![
                Just(CtType::Thoracic),
                Just(CtType::ThoracoAbdominoPelvic),
                Just(CtType::Lumbar)
            ]),
            opt((0usize..25, 0usize..25).prop_map(|(a, b)| {
                let (a, b) = (a.min(b), a.max(b));
                LevelSet::range(
                    VertebralLevel::from_index(a).expect("level"),
                    VertebralLevel::from_index(b).expect("level"),
                )
            })),
        );
        let b = (
            bools::<5>(),
            opt(number(0.0, 250.0)),
            opt(number(0.0, 250.0)),
            opt(number(0.0, 200.0)),
            opt(0u8..=51),
            opt(date()),
            opt(date()),
            bools::<11>(),
            bools::<7>(),
            bools::<4>(),
            proptest::collection::vec(text(), 2),
        );
        (a, b).prop_map(|(a, b)| {
            let mut p = Patient::new(0, "", a.0, a.1);
            p.age_years = a.2;
            p.birth_date = a.3;
            p.onset_date = a.4;
            p.disease_duration_years = a.5;
            p.hand_xray_date = a.6;
            p.ct_date = a.7;
            p.ct_type = a.8;
            p.ct_levels = a.9;
            [
                p.digital_ulcers,
                p.ild_ct,
                p.restrictive_syndrome,
                p.pah,
                p.death,
            ] = b.0;
            p.fvc_pct_pred = b.1;
            p.tlc_pct_pred = b.2;
            p.mpap_mmhg = b.3;
            p.mrss = b.4;
            p.death_date = b.5;
            p.last_followup_date = b.6;
            for (item, v) in PatientColumn::ACR_EULAR_ITEMS.iter().zip(b.7) {
                if let Some(slot) = p.acr_eular.get_mut(*item) {
                    *slot = v;
                }
            }
            p.hand = b.8;
            p.spine = b.9;
            p.extra = b.10;
            p
        })
    }

    fn pick<T: Copy + std::fmt::Debug + 'static>(all: &'static [T]) -> impl Strategy<Value = T> {
        (0..all.len()).prop_map(move |i| all[i])
    }

    fn cohort() -> impl Strategy<Value = Cohort> {
        let hand = (
            0usize..8,
            text(),
            opt(pick(HandSide::ALL)),
            opt(pick(HandSite::ALL)),
            opt(pick(Lesion::ALL)),
            opt(0u8..=3),
            text(),
        );
        let spine = (
            0usize..8,
            text(),
            opt((0usize..25).prop_map(|i| VertebralLevel::from_index(i).expect("level"))),
            opt(pick(SpineSegment::ALL)),
            opt(any::<bool>()),
            opt(pick(SpineSide::ALL)),
            opt(pick(Morphology::ALL)),
        );
        (
            proptest::collection::vec(patient(), 1..8),
            proptest::collection::vec(hand, 1..12),
            proptest::collection::vec(spine, 1..12),
            any::<bool>(),
        )
            .prop_map(|(mut patients, hand, spine, with_readings)| {
                for (i, p) in patients.iter_mut().enumerate() {
                    p.row = i as u32 + 2;
                    p.patient_id = format!("P{i:03}");
                }
                let ids: Vec<String> = patients.iter().map(|p| p.patient_id.clone()).collect();
                let id = |i: usize| ids[i % ids.len()].clone();
                let hand_readings = with_readings.then(|| Readings {
                    table: TableName::file("hand_readings.csv"),
                    rows: hand
                        .iter()
                        .enumerate()
                        .map(|(i, h)| HandReading {
                            row: i as u32 + 2,
                            patient_id: id(h.0),
                            reader: h.1.clone(),
                            side: h.2,
                            site: h.3,
                            lesion: h.4,
                            grade: h.5,
                            // Every third reading marked on an image.
                            mark: (i % 3 == 0).then(|| sclerad_model::ImageMark {
                                image_uid: format!("2.25.{}", 1000 + i),
                                frame: (i % 2 == 0).then_some(2),
                                point: (i % 4 != 3).then_some((i as f64 + 0.5, 17.25)),
                            }),
                            extra: vec![h.6.clone()],
                        })
                        .collect(),
                    extra_columns: vec!["Comment".into()],
                });
                let spine_readings = with_readings.then(|| Readings {
                    table: TableName::file("spine_readings.csv"),
                    rows: spine
                        .iter()
                        .enumerate()
                        .map(|(i, s)| SpineReading {
                            row: i as u32 + 2,
                            patient_id: id(s.0),
                            reader: s.1.clone(),
                            level: s.2,
                            segment: s.3,
                            foraminal: s.4,
                            side: s.5,
                            morphology: s.6,
                            mark: (i % 2 == 1).then(|| sclerad_model::ImageMark {
                                image_uid: format!("2.25.{}", 2000 + i),
                                frame: None,
                                point: Some((31.0, i as f64 * 1.5)),
                            }),
                            extra: Vec::new(),
                        })
                        .collect(),
                    extra_columns: Vec::new(),
                });
                // Summary columns are kept beside readings: the writer must not drop them.
                let columns = sclerad_model::ColumnSet::all();
                Cohort {
                    patients_table: TableName::file("patients.csv"),
                    all_patient_ids: ids.clone(),
                    patients,
                    patient_columns: columns,
                    patient_extra_columns: vec!["BMI note".into(), "centre".into()],
                    hand_readings,
                    spine_readings,
                }
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

        /// A cohort written as a bundle and read back is unchanged: every
        /// field, row number and kept column.
        #[test]
        fn written_bundles_read_back_unchanged(cohort in cohort()) {
            let dir = tempfile::tempdir().expect("tempdir");
            write_folder(&cohort, dir.path()).expect("write");
            let loaded = read_bundle(dir.path(), &ReadOptions::default()).expect("read");
            let cell_errors: Vec<_> = loaded.problems.iter().filter(|p| p.severity == Severity::Error).collect();
            prop_assert!(cell_errors.is_empty(), "{:#?}", cell_errors);
            prop_assert_eq!(&loaded.cohort, &cohort);
        }
    }

    #[test]
    fn files_in_memory_are_the_folder_byte_for_byte_and_fingerprint_alike() {
        let dir = folder(&[("patients.csv", &patients_csv())]);
        let first = read_bundle(dir.path(), &ReadOptions::default()).expect("read");
        let tables = sclerad_bundle::TextTables::of(&first.cohort);
        let out = tempfile::tempdir().expect("tempdir");
        tables.write_folder(out.path()).expect("write");
        let files = tables.files();
        assert_eq!(files.len(), 1);
        for (name, bytes) in &files {
            assert_eq!(
                &std::fs::read(out.path().join(name)).expect("read"),
                bytes,
                "{name}"
            );
        }
        assert_eq!(
            sclerad_bundle::fingerprint_files(&files),
            sclerad_bundle::fingerprint(out.path(), 1 << 30).expect("fingerprint")
        );
        // As a zip, and back: the same files.
        let zipped = sclerad_bundle::zip(&files).expect("zip");
        let back = sclerad_bundle::unzip("b.zip", &zipped, 1 << 20, 1 << 20).expect("unzip");
        assert_eq!(back[0].0, "patients.csv");
        assert_eq!(back[0].1, files[0].1);
    }

    #[test]
    fn a_partial_column_set_round_trips() {
        let dir = folder(&[("patients.csv", &patients_csv())]);
        let first = read_bundle(dir.path(), &ReadOptions::default()).expect("read");
        let out = tempfile::tempdir().expect("tempdir");
        write_folder(&first.cohort, out.path()).expect("write");
        let second = read_bundle(out.path(), &ReadOptions::default()).expect("read");
        assert_eq!(first.cohort, second.cohort);
        let header = std::fs::read_to_string(out.path().join("patients.csv")).expect("read");
        assert!(header.starts_with("patient_id,sex,age_years,subset,onset_date,"));
        assert!(!header.lines().next().expect("header").contains("mrss"));
    }
}

/// A file large enough to be read in parallel chunks gives the same rows,
/// row numbers and problems as reading it in one piece would.
#[test]
fn a_large_file_is_read_in_chunks_with_exact_row_numbers() {
    let mut text = format!("{HEADER}\n");
    let n = 40_000;
    let mut expected_row = Vec::new();
    let mut row = 1u32;
    for i in 0..n {
        let base = ROWS[i % 3].replacen(&format!("N00{}", i % 3 + 1), &format!("P{i:06}"), 1);
        let line = if i == n / 2 {
            // A quoted line break (one spreadsheet row) and a blank line.
            base.replacen("lcssc", "\"lc\nssc\"", 1)
                .replacen("dcssc", "\"dc\nssc\"", 1)
                + "\n"
        } else if i == n - 4 {
            base.replacen(",56,", ",156,", 1)
        } else {
            base
        };
        text.push_str(&line);
        text.push('\n');
        row += 1;
        expected_row.push(row);
        if i == n / 2 {
            row += 1; // the blank line
        }
    }
    assert!(
        text.len() > 4 << 20,
        "the test must exercise the parallel path"
    );
    let loaded = read_csv_bytes("big.csv", text.as_bytes(), &ReadOptions::default());
    let errors: Vec<_> = loaded
        .problems
        .iter()
        .filter(|p| p.severity == Severity::Error)
        .collect();
    // The quoted cell is not a valid subset; the age is out of range.
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert_eq!(errors[0].location.row, Some(expected_row[n / 2]));
    assert_eq!(errors[0].location.column.as_deref(), Some("subset"));
    assert_eq!(errors[1].location.row, Some(expected_row[n - 4]));
    assert_eq!(errors[1].location.column.as_deref(), Some("age_years"));
    let patients = &loaded.cohort.patients;
    assert_eq!(patients.len(), n - 1);
    assert_eq!(loaded.cohort.all_patient_ids.len(), n);
    for p in patients {
        let i: usize = p.patient_id[1..].parse().expect("id");
        assert_eq!(p.row, expected_row[i], "{}", p.patient_id);
    }
    assert!(
        patients.windows(2).all(|w| w[0].row < w[1].row),
        "patients keep file order"
    );
}

/// The same without any quote: the fast way of cutting the file (counting
/// newlines) keeps exact row numbers too, blank lines included.
#[test]
fn a_large_file_without_quotes_keeps_exact_row_numbers() {
    let mut text = format!("{HEADER}\n");
    let n = 40_000;
    let mut expected_row = Vec::new();
    let mut row = 1u32;
    for i in 0..n {
        let line = ROWS[i % 3].replacen(&format!("N00{}", i % 3 + 1), &format!("P{i:06}"), 1);
        let line = if i == n - 4 {
            line.replacen(",56,", ",156,", 1)
        } else {
            line
        };
        text.push_str(&line);
        text.push('\n');
        row += 1;
        expected_row.push(row);
        if i % 9_999 == 0 {
            text.push('\n');
            row += 1;
        }
    }
    assert!(text.len() > 4 << 20 && !text.contains('"'));
    let loaded = read_csv_bytes("big.csv", text.as_bytes(), &ReadOptions::default());
    let errors: Vec<_> = loaded
        .problems
        .iter()
        .filter(|p| p.severity == Severity::Error)
        .collect();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0].location.row, Some(expected_row[n - 4]));
    assert_eq!(loaded.cohort.patients.len(), n);
    for p in &loaded.cohort.patients {
        let i: usize = p.patient_id[1..].parse().expect("id");
        assert_eq!(p.row, expected_row[i], "{}", p.patient_id);
    }
}

/// A reader spelled `Consensus` is taken as the consensus reading: said,
/// not silent; a reader or id that starts like a formula is flagged.
#[test]
fn consensus_spellings_and_formula_like_names_are_warned_about() {
    use sclerad_bundle::{read_text_tables, TextTable, TextTables};
    let table = |columns: &[&str], rows: &[&[&str]]| TextTable {
        columns: columns.iter().map(|c| c.to_string()).collect(),
        rows: rows
            .iter()
            .map(|r| r.iter().map(|c| c.to_string()).collect())
            .collect(),
    };
    let tables = TextTables {
        patients: table(
            &["patient_id", "sex", "age_years", "subset"],
            &[
                &["P1", "female", "50", "lcssc"],
                &["+P2", "male", "60", "dcssc"],
            ],
        ),
        hand_readings: Some(table(
            &["patient_id", "reader", "side", "site", "lesion", "grade"],
            &[
                &["P1", "Consensus", "", "", "none", ""],
                &["+P2", "Consensus", "", "", "none", ""],
                &["P1", "@rad", "", "", "none", ""],
            ],
        )),
        spine_readings: None,
    };
    let loaded = read_text_tables(&tables, &ReadOptions::default());
    let v = validate(&loaded.cohort, &ValidateOptions::default());
    let with =
        |code: &str| -> Vec<&Problem> { v.problems.iter().filter(|p| p.code == code).collect() };
    let spelling = with("consensus-spelling");
    assert_eq!(spelling.len(), 1, "once per reader: {spelling:?}");
    assert_eq!(spelling[0].location.row, Some(2));
    assert_eq!(spelling[0].severity, Severity::Error, "refused, not warned");
    let formula = with("formula-like-value");
    assert_eq!(formula.len(), 2, "{formula:?}");
    assert!(formula.iter().all(|p| p.severity == Severity::Warning));
}

/// Rows are typed as the sheet is read (a bounded queue ahead): many more
/// rows than the queue holds, blank rows and gaps between them, all read;
/// a sheet listing its rows out of order reads the same.
#[test]
fn workbook_rows_stream_in_order_and_out_of_order_sheets_read_the_same() {
    use sclerad_bundle::handmade;
    let header = ["patient_id", "sex", "age_years", "subset"];
    let mut rows = vec![handmade::row(1, &header)];
    let n = 5000;
    for i in 0..n {
        // Every third row number skipped: gaps read as blank rows.
        let number = 2 + i * 3 / 2;
        let id = format!("P{i}");
        let sex = if i % 2 == 0 { "female" } else { "male" };
        rows.push(handmade::row(number as u64, &[&id, sex, "50", "lcssc"]));
    }
    let ordered = handmade::workbook(&rows.concat());
    let loaded = read_xlsx_bytes("rows.xlsx", ordered, &ReadOptions::default());
    assert_eq!(
        loaded.cohort.patients.len(),
        n,
        "{:?}",
        &loaded.problems[..3.min(loaded.problems.len())]
    );
    assert_eq!(loaded.cohort.patients[4321].patient_id, "P4321");
    rows[1..].reverse();
    let shuffled = handmade::workbook(&rows.concat());
    let again = read_xlsx_bytes("rows.xlsx", shuffled, &ReadOptions::default());
    let ids = |l: &sclerad_bundle::Loaded| -> Vec<String> {
        l.cohort
            .patients
            .iter()
            .map(|p| p.patient_id.clone())
            .collect()
    };
    assert_eq!(ids(&again), ids(&loaded));
    // Rows out of order with the header listed last: still the header.
    let mut late = rows[1..].to_vec();
    late.push(rows[0].clone());
    let late = read_xlsx_bytes(
        "rows.xlsx",
        handmade::workbook(&late.concat()),
        &ReadOptions::default(),
    );
    assert_eq!(ids(&late), ids(&loaded));
}

/// A workbook's memory follows the cells it holds, never the extent a
/// cell's address claims: a lone cell at XFD1048576 (Excel's last) once
/// built a dense range of 17 billion cells.
#[test]
fn far_away_cells_do_not_inflate_a_workbook() {
    use rust_xlsxwriter::Workbook;
    // Alone: the header row would reach column XFD.
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("patients").expect("name");
    sheet.write_string(1_048_575, 16_383, "x").expect("write");
    let bytes = book.save_to_buffer().expect("xlsx");
    assert!(bytes.len() < 10_000, "{} bytes", bytes.len());
    let loaded = read_xlsx_bytes("far.xlsx", bytes, &ReadOptions::default());
    let too_large: Vec<&Problem> = loaded
        .problems
        .iter()
        .filter(|p| p.code == "sheet-too-large")
        .collect();
    assert_eq!(too_large.len(), 1, "{:?}", loaded.problems);
    assert!(
        too_large[0].message.contains("XFD"),
        "{}",
        too_large[0].message
    );
    // Beside a real table: one more row, too long, named as such.
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("patients").expect("name");
    for (c, h) in ["patient_id", "sex", "age_years", "subset"]
        .iter()
        .enumerate()
    {
        sheet.write_string(0, c as u16, *h).expect("header");
    }
    for (c, v) in ["P1", "female", "50", "lcssc"].iter().enumerate() {
        sheet.write_string(1, c as u16, *v).expect("row");
    }
    sheet.write_string(1_048_575, 16_383, "x").expect("far");
    let loaded = read_xlsx_bytes(
        "far.xlsx",
        book.save_to_buffer().expect("xlsx"),
        &ReadOptions::default(),
    );
    assert_eq!(loaded.cohort.patients.len(), 1);
    let ragged: Vec<&Problem> = loaded
        .problems
        .iter()
        .filter(|p| p.code == "ragged-row")
        .collect();
    assert_eq!(ragged.len(), 1, "{:?}", loaded.problems);
    assert_eq!(ragged[0].location.row, Some(1_048_576));
}

mod workbook_cells {
    use super::*;

    /// Any cell value anywhere a worksheet allows.
    fn cell() -> impl Strategy<Value = (u32, u16, String)> {
        (
            prop_oneof![0u32..40, 1_048_000u32..1_048_576],
            prop_oneof![0u16..12, 16_000u16..16_384],
            prop_oneof![
                "[a-z_]{1,12}".prop_map(String::from),
                any::<String>(),
                Just("=1+1".to_string()),
                Just(String::new()),
            ],
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// Workbooks made of arbitrary cells at arbitrary places, as text,
        /// numbers or booleans, read without a panic and within the cells
        /// they hold.
        #[test]
        fn arbitrary_cells_never_panic(cells in proptest::collection::vec((cell(), 0u8..3), 0..40)) {
            use rust_xlsxwriter::Workbook;
            let mut book = Workbook::new();
            for name in ["patients", "hand_readings"] {
                let sheet = book.add_worksheet();
                sheet.set_name(name).expect("name");
                for ((row, col, text), kind) in &cells {
                    let _ = match kind {
                        0 => sheet.write_string(*row, *col, text).map(|_| ()),
                        1 => sheet.write_number(*row, *col, text.len() as f64 - 3.5).map(|_| ()),
                        _ => sheet.write_boolean(*row, *col, text.is_empty()).map(|_| ()),
                    };
                }
            }
            let bytes = book.save_to_buffer().expect("xlsx");
            let loaded = read_xlsx_bytes("cells.xlsx", bytes, &ReadOptions::default());
            let _ = sclerad_model::validate(&loaded.cohort, &ValidateOptions::default());
            prop_assert!(loaded.cohort.patients.len() <= cells.len());
        }

        /// Workbooks no spreadsheet program would write: cells of any
        /// type tag with any text, at any address (past a sheet's limits
        /// too), rows in any order, under a real header. Read without a
        /// panic; every patient read is a row present.
        #[test]
        fn handmade_cells_never_panic(
            cells in proptest::collection::vec(
                (
                    prop_oneof![0u64..6, 0u64..2_000_000],
                    prop_oneof![0u64..12, 0u64..20_000],
                    prop_oneof![
                        Just("inlineStr"), Just("str"), Just("s"), Just("n"),
                        Just("b"), Just("e"), Just("d"), Just("zz"),
                    ],
                    prop_oneof![
                        any::<String>(),
                        Just("1".to_string()),
                        Just("-1e308".to_string()),
                        Just("NaN".to_string()),
                        Just("2019-02-30".to_string()),
                        Just("#DIV/0!".to_string()),
                        "[a-z]{0,8}".prop_map(String::from),
                    ],
                ),
                0..40,
            )
        ) {
            use sclerad_bundle::handmade;
            let header = handmade::row(1, &["patient_id", "sex", "age_years", "subset", "death"]);
            let body: String = cells
                .iter()
                .map(|(row, column, kind, text)| {
                    format!("<row r=\"{}\">{}</row>", row + 2, handmade::cell(row + 1, *column, kind, text))
                })
                .collect();
            let bytes = handmade::workbook(&format!("{header}{body}"));
            let loaded = read_xlsx_bytes("handmade.xlsx", bytes, &ReadOptions::default());
            let _ = sclerad_model::validate(&loaded.cohort, &ValidateOptions::default());
            prop_assert!(loaded.cohort.patients.len() <= cells.len());
        }
    }
}

/// Past the first 100 of a kind, rejected cells are only counted; the
/// count stays exact across the chunks a large file is typed in (in
/// parallel), and the first 100 listed are the file's first.
#[test]
fn rejected_cells_past_the_cap_are_counted_exactly_across_chunks() {
    let header = "patient_id,sex,age_years,subset,onset_date,digital_ulcers,ild_ct,pah,death";
    let mut text = format!("{header}\n");
    let rows = 300_000;
    for i in 0..rows {
        text.push_str(&format!("P{i},female,61,lcssc,2001-01-01,maybe,no,no,no\n"));
    }
    assert!(text.len() > 8 << 20, "large enough to be cut into chunks");
    let loaded =
        sclerad_bundle::read_csv_bytes("big.csv", text.as_bytes(), &ReadOptions::default());
    let listed: Vec<&Problem> = loaded
        .problems
        .iter()
        .filter(|p| p.code == "bad-boolean" && p.omitted == 0)
        .collect();
    assert_eq!(listed.len(), 100);
    assert_eq!(listed[0].location.row, Some(2), "the file's first");
    assert_eq!(listed[99].location.row, Some(101));
    let counted: u64 = loaded
        .problems
        .iter()
        .filter(|p| p.code == "bad-boolean")
        .map(|p| p.omitted)
        .sum();
    assert_eq!(counted, rows as u64 - 100);
}

// ---------------------------------------------------------------- append

#[test]
fn an_appended_bundle_is_checked_against_the_study() {
    let study_dir = folder(&[("patients.csv", &patients_csv())]);
    let (study, problems) = check(study_dir.path(), &ReadOptions::default(), None);
    assert_clean(&problems);
    let study = sclerad_bundle::TextTables::of(&study);
    let append = |text: &str| {
        let dir = folder(&[("patients.csv", text)]);
        let loaded = read_bundle(dir.path(), &ReadOptions::default()).expect("readable");
        sclerad_bundle::append(
            &study,
            &loaded,
            &ReadOptions::default(),
            &ValidateOptions::default(),
        )
    };

    // A new patient with fewer columns: the others are left empty.
    let clean = append(
        "patient_id,subset,sex,age_years,hand_xray_date,ct_date,ct_type\n\
         N004,dcssc,male,52,2017-01-01,2017-02-01,thoracic\n",
    );
    assert_clean(&clean.problems);
    assert_eq!(clean.tables.patients.columns, study.patients.columns);
    assert_eq!(clean.tables.patients.rows.len(), 1);
    let row = &clean.tables.patients.rows[0];
    let at = |name: &str| {
        let i = study.patients.columns.iter().position(|c| c == name);
        i.map(|i| row[i].as_str())
    };
    assert_eq!(
        (at("patient_id"), at("subset"), at("death")),
        (Some("N004"), Some("dcssc"), Some(""))
    );

    // A bad cell is the appended file's own problem: shown as read, and
    // the rows are not checked against the study until it is mended.
    let bad = append(
        "patient_id,subset,sex,age_years\n\
         N004,dcssc,male,52\n\
         N001,lcssc,female,40\n\
         N005,lcssc,female,400\n",
    );
    let e = errors(&bad.problems);
    assert_eq!(e.len(), 1, "{e:#?}");
    assert_eq!(
        (e[0].location.row, e[0].location.column.as_deref()),
        (Some(4), Some("age_years"))
    );
    // A patient id the study has, and one the appended file has twice:
    // at their rows of the appended file, none at the study's.
    let twice = append(
        "patient_id,subset,sex,age_years\n\
         N004,dcssc,male,52\n\
         N001,lcssc,female,40\n\
         N005,lcssc,female,40\n\
         N005,lcssc,female,41\n",
    );
    let e = errors(&twice.problems);
    assert!(!e.is_empty(), "{e:#?}");
    assert!(
        e.iter()
            .all(|p| p.location.file == "patients.csv" && p.location.row.is_some()),
        "{e:#?}"
    );
    let rows: Vec<Option<u32>> = e.iter().map(|p| p.location.row).collect();
    assert!(
        e.iter()
            .any(|p| p.location.row == Some(3) && p.message.contains("N001")),
        "N001 at row 3: {e:#?}"
    );
    assert!(
        e.iter()
            .any(|p| p.location.row == Some(5) && p.message.contains("N005")),
        "the second N005 at row 5: {rows:?} {e:#?}"
    );

    // A column the study does not have.
    let other = append("patient_id,subset,sex,centre\nN006,lcssc,female,Metz\n");
    let e = errors(&other.problems);
    assert_eq!(e.len(), 1, "{e:#?}");
    assert_eq!(e[0].code, "column-not-in-study");
    assert_eq!(
        (e[0].location.row, e[0].location.column.as_deref()),
        (Some(1), Some("centre"))
    );
}

#[test]
fn an_appended_reading_the_study_holds_is_refused() {
    let study_dir = folder(&[
        ("patients.csv", LONG_PATIENTS),
        ("hand_readings.csv", HAND),
        ("spine_readings.csv", SPINE),
    ]);
    let (study, problems) = check(study_dir.path(), &ReadOptions::default(), None);
    assert_clean(&problems);
    let study = sclerad_bundle::TextTables::of(&study);
    let held = &study.hand_readings.as_ref().expect("hand").rows[0];
    let columns = &study.hand_readings.as_ref().expect("hand").columns;
    let patient = &held[columns.iter().position(|c| c == "patient_id").expect("id")];
    let reader = &held[columns.iter().position(|c| c == "reader").expect("reader")];
    // The patients file of an append of readings only: no rows.
    let dir = folder(&[
        ("patients.csv", "patient_id,subset\n"),
        (
            "hand_readings.csv",
            &format!(
                "patient_id,reader,side,site,lesion,grade\n\
                 {patient},{reader},,,none,\n{patient},rad9,,,none,\n"
            ),
        ),
    ]);
    let loaded = read_bundle(dir.path(), &ReadOptions::default()).expect("readable");
    let appended = sclerad_bundle::append(
        &study,
        &loaded,
        &ReadOptions::default(),
        &ValidateOptions::default(),
    );
    let e = errors(&appended.problems);
    assert_eq!(e.len(), 1, "{e:#?}");
    assert_eq!(e[0].code, "reading-in-study");
    assert_eq!(
        (e[0].location.file.as_str(), e[0].location.row),
        ("hand_readings.csv", Some(2))
    );
}
