//! REDCap: the dictionary, records exports written by an independent
//! writer coming back as the same bundle (and the same analysis), mappings,
//! and every problem at its place.

use std::collections::BTreeSet;

use sclerad_analysis::{analyze, InputInfo, Settings};
use sclerad_bundle::{ReadOptions, TextTables};
use sclerad_model::{Cohort, PatientColumn, Problem, Severity, ValidateOptions};
use sclerad_redcap::{
    dictionary_csv, format_dictionary, import, read_dictionary, suggest_mapping, DateOrder,
    FieldType, ImportOptions, Imported, Upload, DICTIONARY_HEADERS,
};
use sclerad_synth::{generate, ReadingsMode, SynthOptions};

/// A synthetic bundle with readings by two radiologists and a consensus,
/// as read back from its folder (validated, no errors).
fn bundle(dir: &std::path::Path, patients: usize, seed: u64) -> Cohort {
    let cohort = generate(&SynthOptions {
        patients,
        seed,
        readings: ReadingsMode::Long(vec!["rad1".into(), "rad2".into(), "consensus".into()]),
        ..Default::default()
    });
    sclerad_bundle::write_folder(&cohort, dir).expect("write");
    let (loaded, _) =
        sclerad_bundle::load(dir, &ReadOptions::default(), &ValidateOptions::default())
            .expect("load");
    let errors: Vec<&Problem> = loaded
        .problems
        .iter()
        .filter(|p| p.severity == Severity::Error)
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    loaded.cohort
}

fn quote(cell: &str) -> String {
    if cell.contains([',', '"', '\n']) {
        format!("\"{}\"", cell.replace('"', "\"\""))
    } else {
        cell.to_string()
    }
}

fn csv_line(cells: &[String]) -> String {
    let quoted: Vec<String> = cells.iter().map(|c| quote(c)).collect();
    quoted.join(",") + "\n"
}

/// The column a field of sclerad's dictionary stands for, by this test's
/// own reading of the names.
fn column_of(field: &str) -> &str {
    if field == "periarticular_calc" {
        "periarticular_calcification"
    } else {
        field
    }
}

/// A records export as REDCap writes it ("CSV / Microsoft Excel (raw
/// data)"), written independently of the importer: every field of the
/// dictionary in order, yes/no as 1/0, radio fields as their raw codes,
/// dates in `date` order, then the form's `_complete` column.
fn records_export(cohort: &Cohort, date: fn(&str) -> String) -> String {
    let dict = format_dictionary();
    let text = TextTables::of(cohort);
    let at = |name: &str| text.patients.columns.iter().position(|c| c == name);
    let mut header: Vec<String> = dict.fields.iter().map(|f| f.name.clone()).collect();
    header.push("clinical_record_complete".into());
    let mut out = csv_line(&header);
    for row in &text.patients.rows {
        let mut cells = Vec::new();
        for f in &dict.fields {
            let value = at(column_of(&f.name)).map_or("", |i| row[i].as_str());
            cells.push(match (f.field_type, value) {
                (_, "") => String::new(),
                (FieldType::YesNo, "yes") => "1".into(),
                (FieldType::YesNo, "no") => "0".into(),
                (FieldType::YesNo, other) => panic!("not a boolean: {other}"),
                _ if f.validation == "date_ymd" => date(value),
                _ => value.to_string(),
            });
        }
        cells.push("2".into());
        out.push_str(&csv_line(&cells));
    }
    out
}

fn ymd(d: &str) -> String {
    d.to_string()
}

fn dmy(d: &str) -> String {
    let p: Vec<&str> = d.split('-').collect();
    format!("{}-{}-{}", p[2], p[1], p[0])
}

fn readings(cohort: &Cohort) -> TextTables {
    let mut t = TextTables::of(cohort);
    t.patients = Default::default();
    t
}

fn run(
    records: &str,
    dictionary: &str,
    mapping: Option<&str>,
    with: Option<&TextTables>,
    date_order: DateOrder,
) -> Imported {
    import(
        Upload {
            name: "records.csv",
            bytes: records.as_bytes(),
        },
        Upload {
            name: "dictionary.csv",
            bytes: dictionary.as_bytes(),
        },
        mapping.map(|m| Upload {
            name: "mapping.csv",
            bytes: m.as_bytes(),
        }),
        with,
        &ImportOptions {
            date_order,
            ..Default::default()
        },
    )
}

fn errors(imported: &Imported) -> Vec<&Problem> {
    imported
        .problems
        .iter()
        .filter(|p| p.severity == Severity::Error)
        .collect()
}

/// The analysis of a bundle folder, without its provenance.
fn analysis(dir: &std::path::Path) -> serde_json::Value {
    let (loaded, _) =
        sclerad_bundle::load(dir, &ReadOptions::default(), &ValidateOptions::default())
            .expect("load");
    let input = InputInfo {
        path: "bundle".into(),
        sha256: "-".into(),
    };
    let results = analyze(&loaded.cohort, &Settings::default(), &input).expect("analysis");
    let mut value = serde_json::to_value(&results).expect("json");
    if let Some(o) = value.as_object_mut() {
        o.remove("input");
    }
    value
}

#[test]
fn the_dictionary_has_redcaps_headers_and_a_field_per_column() {
    let text = dictionary_csv();
    let mut lines = text.lines();
    let header = lines.next().expect("header");
    assert_eq!(
        header.matches(',').count(),
        17 + 2,
        "two commas inside a quoted header"
    );
    assert!(header.starts_with("Variable / Field Name,Form Name,Section Header,Field Type,"));
    assert!(header.contains("\"Choices, Calculations, OR Slider Labels\""));
    let (dict, problems) = read_dictionary("dict.csv", text.as_bytes());
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(dict.fields.len(), PatientColumn::ALL.len());
    assert_eq!(DICTIONARY_HEADERS.len(), 18);
    let field = |name: &str| dict.field(name).expect(name).clone();
    let id = &dict.fields[0];
    assert_eq!(
        (id.name.as_str(), id.field_type, id.required),
        ("patient_id", FieldType::Text, true)
    );
    let sex = field("sex");
    assert_eq!(sex.field_type, FieldType::Radio);
    assert_eq!(sex.choices_text(), "female, Female | male, Male");
    assert!(sex.required);
    assert_eq!(
        field("ct_type").choices_text(),
        "thoracic, Thoracic CT | tap, Thoraco-abdomino-pelvic CT | lumbar, Lumbar CT"
    );
    let age = field("age_years");
    assert_eq!(
        (age.validation.as_str(), age.min.as_str(), age.max.as_str()),
        ("number", "0", "120")
    );
    assert!(
        age.note.contains("Greater than 0 and less than 120"),
        "{}",
        age.note
    );
    let mrss = field("mrss");
    assert_eq!(
        (
            mrss.validation.as_str(),
            mrss.min.as_str(),
            mrss.max.as_str()
        ),
        ("integer", "0", "51")
    );
    assert_eq!(field("birth_date").validation, "date_ymd");
    assert!(field("birth_date").identifier);
    assert_eq!(field("digital_ulcers").field_type, FieldType::YesNo);
    assert!(!field("digital_ulcers").required);
    assert_eq!(field("ct_levels").field_type, FieldType::Text);
    assert_eq!(field("death_date").branching, "[death] = '1'");
    assert!(
        dict.field("periarticular_calc").is_some(),
        "27 characters is over REDCap's 26"
    );
    assert!(dict.field("spine_foraminal").is_some());
    // Read back, it is the dictionary written.
    let mut again = format_dictionary();
    for (a, b) in again.fields.iter_mut().zip(&dict.fields) {
        a.row = b.row;
    }
    assert_eq!(again.fields, dict.fields);
}

#[test]
fn the_committed_dictionary_is_the_generated_one() {
    let committed = include_str!("../../../docs/redcap-dictionary.csv");
    assert_eq!(
        committed,
        dictionary_csv(),
        "docs/redcap-dictionary.csv is out of date: run `sclerad redcap dictionary --out docs/redcap-dictionary.csv`"
    );
}

#[test]
fn a_raw_export_comes_back_as_the_same_bundle_and_analysis() {
    let tmp = tempfile::tempdir().expect("tmp");
    let original_dir = tmp.path().join("original");
    let original = bundle(&original_dir, 60, 11);
    let dictionary = dictionary_csv();
    for (dates, order) in [
        (ymd as fn(&str) -> String, DateOrder::Ymd),
        (dmy, DateOrder::Dmy),
    ] {
        let records = records_export(&original, dates);
        let imported = run(
            &records,
            &dictionary,
            None,
            Some(&readings(&original)),
            order,
        );
        assert!(errors(&imported).is_empty(), "{:?}", errors(&imported));
        assert_eq!(imported.cohort.patients.len(), original.patients.len());
        for (a, b) in imported.cohort.patients.iter().zip(&original.patients) {
            assert_eq!(a, b, "patient {} ({order:?})", b.patient_id);
        }
        for c in original.patient_columns.iter() {
            assert!(imported.cohort.patient_columns.contains(c), "{c}");
        }
        assert_eq!(imported.cohort.hand_readings, original.hand_readings);
        assert_eq!(imported.cohort.spine_readings, original.spine_readings);
        let out = tmp.path().join(format!("imported-{order:?}"));
        imported
            .bundle
            .as_ref()
            .expect("a bundle")
            .write_folder(&out)
            .expect("write");
        assert_eq!(analysis(&out), analysis(&original_dir), "{order:?}");
    }
}

/// A centre's own dictionary: its record ID, sex coded 1/2, and the three
/// antibodies as one checkbox field; the rest as sclerad names them.
fn centre_dictionary() -> String {
    let mut dict = format_dictionary();
    for f in &mut dict.fields {
        match f.name.as_str() {
            "patient_id" => f.name = "record_id".into(),
            "sex" => {
                f.name = "sex_pt".into();
                f.choices = vec![
                    sclerad_redcap::Choice {
                        code: "1".into(),
                        label: "Female".into(),
                    },
                    sclerad_redcap::Choice {
                        code: "2".into(),
                        label: "Male".into(),
                    },
                ];
            }
            "anti_centromere" => {
                f.name = "antibodies".into();
                f.label = "Antibodies".into();
                f.field_type = FieldType::Checkbox;
                f.choices = vec![
                    sclerad_redcap::Choice {
                        code: "1".into(),
                        label: "Anticentromere".into(),
                    },
                    sclerad_redcap::Choice {
                        code: "2".into(),
                        label: "Anti-Scl-70".into(),
                    },
                    sclerad_redcap::Choice {
                        code: "3".into(),
                        label: "Anti-RNAP3".into(),
                    },
                ];
            }
            _ => {}
        }
    }
    dict.fields
        .retain(|f| f.name != "anti_scl70" && f.name != "anti_rnap3");
    dict.to_csv()
}

const CENTRE_MAPPING: &str = "\
redcap_field,choice,column,value
record_id,,patient_id,
sex_pt,,sex,
sex_pt,1,,female
sex_pt,2,,male
antibodies,1,anti_centromere,yes
antibodies___2,,anti_scl70,
antibodies,3,anti_rnap3,yes
";

#[test]
fn a_centres_project_comes_back_through_a_mapping_with_checkboxes() {
    let tmp = tempfile::tempdir().expect("tmp");
    let original = bundle(&tmp.path().join("original"), 40, 5);
    // The export of the centre's project: the same values, sex as 1/2, the
    // antibodies as three 0/1 columns.
    let ours = records_export(&original, ymd);
    let mut lines = ours.lines();
    let header: Vec<String> = lines
        .next()
        .expect("header")
        .split(',')
        .map(String::from)
        .collect();
    let find = |n: &str| header.iter().position(|h| h == n).expect(n);
    let (sex, ac, scl, rnap) = (
        find("sex"),
        find("anti_centromere"),
        find("anti_scl70"),
        find("anti_rnap3"),
    );
    let mut out = String::new();
    let rename = |h: &str| -> Vec<String> {
        match h {
            "patient_id" => vec!["record_id".into()],
            "sex" => vec!["sex_pt".into()],
            "anti_centromere" => (1..=3).map(|i| format!("antibodies___{i}")).collect(),
            "anti_scl70" | "anti_rnap3" => vec![],
            other => vec![other.into()],
        }
    };
    let new_header: Vec<String> = header.iter().flat_map(|h| rename(h)).collect();
    out.push_str(&csv_line(&new_header));
    for l in lines {
        let cells: Vec<&str> = l.split(',').collect();
        let mut row = Vec::new();
        for (i, c) in cells.iter().enumerate() {
            if i == sex {
                row.push(if *c == "female" { "1" } else { "2" }.to_string());
            } else if i == ac {
                for j in [ac, scl, rnap] {
                    row.push(if cells[j] == "1" { "1" } else { "0" }.to_string());
                }
            } else if i == scl || i == rnap {
                continue;
            } else {
                row.push(c.to_string());
            }
        }
        out.push_str(&csv_line(&row));
    }
    let imported = run(
        &out,
        &centre_dictionary(),
        Some(CENTRE_MAPPING),
        Some(&readings(&original)),
        DateOrder::Ymd,
    );
    assert!(errors(&imported).is_empty(), "{:?}", errors(&imported));
    for (a, b) in imported.cohort.patients.iter().zip(&original.patients) {
        let mut want = b.clone();
        // An unticked box is "no": a checkbox has no "unknown".
        for item in [
            &mut want.acr_eular.anti_centromere,
            &mut want.acr_eular.anti_scl70,
            &mut want.acr_eular.anti_rnap3,
        ] {
            item.get_or_insert(false);
        }
        assert_eq!(a, &want);
    }
    // The suggestion for the centre's dictionary maps the same, with the
    // labels written for the person editing it.
    let (dict, problems) = read_dictionary("centre.csv", centre_dictionary().as_bytes());
    assert!(problems.is_empty(), "{problems:?}");
    let suggested = suggest_mapping(&dict).to_csv();
    for line in [
        "record_id,,patient_id,,Patient ID (pseudonymous)",
        "sex_pt,,sex,,Sex",
        "sex_pt,1,,female,Female",
        "sex_pt,2,,male,Male",
        "antibodies,1,anti_centromere,yes,Anticentromere",
        "antibodies,2,anti_scl70,yes,Anti-Scl-70",
        "antibodies,3,anti_rnap3,yes,Anti-RNAP3",
        "subset,,subset,,Cutaneous subset (LeRoy/Medsger)",
    ] {
        assert!(
            suggested.lines().any(|l| l == line),
            "{line} not in\n{suggested}"
        );
    }
    assert_eq!(suggest_mapping(&dict).to_csv(), suggested, "deterministic");
    let again = run(
        &out,
        &centre_dictionary(),
        Some(&suggested),
        Some(&readings(&original)),
        DateOrder::Ymd,
    );
    assert!(errors(&again).is_empty(), "{:?}", errors(&again));
    assert_eq!(again.cohort.patients, imported.cohort.patients);
}

/// A problem's file, row, column and value.
type Place = (String, Option<u32>, Option<String>, Option<String>);

fn at(imported: &Imported, code: &str) -> Vec<Place> {
    imported
        .problems
        .iter()
        .filter(|p| p.code == code)
        .map(|p| {
            (
                p.location.file.clone(),
                p.location.row,
                p.location.column.clone(),
                p.value.clone(),
            )
        })
        .collect()
}

#[test]
fn bad_records_are_problems_at_their_row_and_field() {
    let dictionary = dictionary_csv();
    let (dict, _) = read_dictionary("d", dictionary.as_bytes());
    let names: Vec<&str> = dict.fields.iter().map(|f| f.name.as_str()).collect();
    let header = format!("{},clinical_record_complete\n", names.join(","));
    let row = |cells: &[(&str, &str)]| -> String {
        let mut out: Vec<String> = names
            .iter()
            .map(|n| {
                cells
                    .iter()
                    .find(|(c, _)| c == n)
                    .map_or(String::new(), |(_, v)| v.to_string())
            })
            .collect();
        out.push("2".into());
        out.join(",") + "\n"
    };
    let base = [
        ("sex", "female"),
        ("subset", "lcssc"),
        ("age_years", "50"),
        ("disease_duration_years", "4"),
        ("digital_ulcers", "0"),
        ("ild_ct", "1"),
        ("pah", "0"),
        ("death", "0"),
    ];
    let with = |id: &str, extra: &[(&'static str, &'static str)]| {
        let mut cells: Vec<(&str, &str)> = base.to_vec();
        cells.push(("patient_id", id));
        for (k, v) in extra {
            cells.retain(|(c, _)| c != k);
            cells.push((k, v));
        }
        let cells: Vec<(&str, &str)> = cells;
        row(&cells)
    };
    let records = format!(
        "{header}{}{}{}{}{}{}",
        with("P1", &[]),
        with("P2", &[("sex", "3")]),
        with("P3", &[("hand_xray_date", "2015-02-30")]),
        with("P4", &[("fvc_pct_pred", "eighty")]),
        with("P1", &[]),
        with("P6", &[("age_years", "130"), ("ild_ct", "yes")]),
    );
    let imported = run(&records, &dictionary, None, None, DateOrder::Ymd);
    assert!(imported.bundle.is_none(), "nothing when there is an error");
    let f = |s: &str| Some(s.to_string());
    let r = "records.csv".to_string();
    assert_eq!(
        at(&imported, "unknown-code"),
        [(r.clone(), Some(3), f("sex"), f("3"))]
    );
    assert_eq!(
        at(&imported, "bad-date"),
        [(r.clone(), Some(4), f("hand_xray_date"), f("2015-02-30"))]
    );
    assert_eq!(
        at(&imported, "bad-number"),
        [(r.clone(), Some(5), f("fvc_pct_pred"), f("eighty"))]
    );
    assert_eq!(
        at(&imported, "duplicate-patient-id")
            .iter()
            .map(|p| (p.1, p.2.clone()))
            .collect::<Vec<_>>(),
        [(Some(6), f("patient_id"))]
    );
    assert_eq!(
        at(&imported, "out-of-range"),
        [(r.clone(), Some(7), f("age_years"), f("130"))]
    );
    assert_eq!(
        at(&imported, "bad-boolean"),
        [(r.clone(), Some(7), f("ild_ct"), f("yes"))]
    );
    // Dates exported D-M-Y, read as Y-M-D: each one a problem.
    let dmy_records = format!(
        "{header}{}",
        with("P1", &[("hand_xray_date", "05-04-2015")])
    );
    let wrong = run(&dmy_records, &dictionary, None, None, DateOrder::Ymd);
    let p = wrong
        .problems
        .iter()
        .find(|p| p.code == "bad-date")
        .expect("bad-date");
    assert!(p.message.contains("--date-format"), "{}", p.message);
    assert!(errors(&run(&dmy_records, &dictionary, None, None, DateOrder::Dmy)).is_empty());

    // A longitudinal export: a record on two events.
    let events = format!("patient_id,redcap_event_name,{}\n", names[1..].join(","));
    let strip = |line: &str, event: &str| {
        let (id, rest) = line.split_once(',').expect("id");
        let rest = rest.rsplit_once(',').expect("complete").0;
        format!("{id},{event},{rest}\n")
    };
    let longitudinal = format!(
        "{events}{}{}{}",
        strip(&with("P1", &[]), "baseline_arm_1"),
        strip(&with("P2", &[]), "baseline_arm_1"),
        strip(&with("P1", &[]), "month_6_arm_1"),
    );
    let two = run(&longitudinal, &dictionary, None, None, DateOrder::Ymd);
    let repeated: Vec<&Problem> = two
        .problems
        .iter()
        .filter(|p| p.code == "repeated-record")
        .collect();
    assert_eq!(repeated.len(), 1, "{:?}", two.problems);
    assert_eq!(
        (
            repeated[0].location.row,
            repeated[0].location.column.as_deref()
        ),
        (Some(4), Some("patient_id"))
    );
    assert!(
        repeated[0]
            .message
            .contains("row 2 (event baseline_arm_1) and row 4 (event month_6_arm_1)"),
        "{}",
        repeated[0].message
    );
    assert!(at(&two, "duplicate-patient-id").is_empty(), "reported once");

    // A column not in the dictionary.
    let unknown = records.replacen("clinical_record_complete", "centre_code", 1);
    assert_eq!(
        at(
            &run(&unknown, &dictionary, None, None, DateOrder::Ymd),
            "unknown-field"
        ),
        [(r.clone(), Some(1), f("centre_code"), f("centre_code"))]
    );
}

#[test]
fn bad_mappings_are_problems_at_their_row_and_column() {
    let mapping = "\
redcap_field,choice,column,value
record_id,,patient_id,
sex_pt,,sex,
sex_pt,1,,woman
antibodies,2,anti_scl_70,yes
nowhere,,age_years,
sex_pt,7,,male
";
    let imported = run(
        "record_id\n",
        &centre_dictionary(),
        Some(mapping),
        None,
        DateOrder::Ymd,
    );
    let problems: Vec<(Option<u32>, Option<String>)> = imported
        .problems
        .iter()
        .filter(|p| p.code == "bad-mapping")
        .map(|p| (p.location.row, p.location.column.clone()))
        .collect();
    let f = |s: &str| Some(s.to_string());
    assert_eq!(
        problems,
        [
            (Some(6), f("redcap_field")),
            (Some(4), f("value")),
            (Some(5), f("column")),
            (Some(7), f("choice"))
        ]
    );
    assert!(imported
        .problems
        .iter()
        .all(|p| p.location.file == "mapping.csv"));
    assert!(imported.bundle.is_none());
}

/// The problem codes the crate raises, and those `docs/redcap.md` lists.
#[test]
fn the_documented_problem_codes_are_the_raised_ones() {
    let sources = [
        include_str!("../src/lib.rs"),
        include_str!("../src/dictionary.rs"),
        include_str!("../src/mapping.rs"),
        include_str!("../src/records.rs"),
        include_str!("../src/csv.rs"),
    ];
    let mut raised = BTreeSet::new();
    for s in sources {
        let code = s.split("#[cfg(test)]").next().unwrap_or(s);
        for (i, _) in code.match_indices('"') {
            let rest = &code[i + 1..];
            let end = rest
                .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'))
                .unwrap_or(rest.len());
            let word = &rest[..end];
            let kebab = word.contains('-')
                && word.starts_with(|c: char| c.is_ascii_lowercase())
                && !word.ends_with('-');
            if kebab && rest[end..].starts_with('"') {
                raised.insert(word.to_string());
            }
        }
    }
    let doc = include_str!("../../../docs/redcap.md");
    let table = doc
        .split("<!-- problem-codes -->")
        .nth(1)
        .and_then(|t| t.split("<!-- /problem-codes -->").next())
        .expect("a problem-codes table in docs/redcap.md");
    let listed: BTreeSet<String> = table
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .map(String::from)
        .collect();
    assert_eq!(listed, raised, "docs/redcap.md's problem codes");
}
