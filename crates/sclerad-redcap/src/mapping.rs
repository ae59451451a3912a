//! A centre's own REDCap project: which of its fields gives which column of
//! the format, and which of its choice codes gives which of the format's
//! codes. Written as a CSV file (`redcap_field,choice,column,value`), read
//! back with every problem at its row and column, suggested from a
//! dictionary for the user to check.

use sclerad_model::{
    ColumnKind, CtType, Location, PatientColumn as Col, Problem, Sex, Subset, TableName,
};

use crate::csv::{line, table_problems};
use crate::dictionary::{self, Dictionary, FieldType};

/// The columns of a mapping file. `redcap_label` is for the person editing
/// it (the field's or the choice's label) and is not read.
pub const MAPPING_HEADERS: [&str; 5] =
    ["redcap_field", "choice", "column", "value", "redcap_label"];

/// One row of a mapping file.
///
/// - `redcap_field` with no `choice`: the field gives `column` (an empty
///   `column`: the field is left out, on purpose);
/// - `redcap_field` and `choice`: that choice code of a radio, dropdown or
///   yes/no field gives `value` (empty: missing) in the field's column; of
///   a checkbox field (or `redcap_field` written `field___code`), the
///   ticked box gives `value` (default `yes`) in `column`, and an unticked
///   box gives `no` when `column` is a yes/no column.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MappingRow {
    /// Spreadsheet row in the mapping file (header = 1); 0 for a row made here.
    pub row: u32,
    /// The REDCap field (or checkbox column `field___code`).
    pub redcap_field: String,
    /// A choice code of the field, or empty.
    pub choice: String,
    /// A column of the format's `patients` table, or empty.
    pub column: String,
    /// The format's value for the choice, or empty.
    pub value: String,
    /// The label, for the person editing the file; not read.
    pub redcap_label: String,
}

/// A mapping file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Mapping {
    /// Where it came from.
    pub file: String,
    /// Its rows, in order.
    pub rows: Vec<MappingRow>,
}

impl Mapping {
    /// The mapping as a CSV file.
    pub fn to_csv(&self) -> String {
        let mut out = String::new();
        line(&mut out, MAPPING_HEADERS.iter().map(|h| h.to_string()));
        for r in &self.rows {
            line(
                &mut out,
                [
                    r.redcap_field.clone(),
                    r.choice.clone(),
                    r.column.clone(),
                    r.value.clone(),
                    r.redcap_label.clone(),
                ],
            );
        }
        out
    }
}

/// Reads a mapping file; problems (`bad-mapping`) at its rows and columns.
/// What the rows mean is checked against a dictionary when records are
/// imported ([`crate::import`]).
pub fn read_mapping(file: &str, bytes: &[u8]) -> (Mapping, Vec<Problem>) {
    let mut mapping = Mapping {
        file: file.to_string(),
        rows: Vec::new(),
    };
    let table = match sclerad_bundle::read_plain_csv_bytes(file, bytes) {
        Ok(t) => t,
        Err(problems) => return (mapping, table_problems(problems)),
    };
    let name = TableName::file(file);
    let mut problems = Vec::new();
    let at = |h: &str| table.column(h);
    for needed in &MAPPING_HEADERS[..4] {
        if at(needed).is_none() {
            problems.push(Problem::error(
                "bad-mapping",
                Location::row(&name, 1),
                format!(
                    "the header has no column {needed:?}: a mapping file has the columns {}",
                    MAPPING_HEADERS.join(", ")
                ),
            ));
        }
    }
    if !problems.is_empty() {
        return (mapping, problems);
    }
    for (row, cells) in &table.rows {
        let get = |h: &str| {
            at(h)
                .and_then(|i| cells.get(i))
                .map_or(String::new(), |s| s.trim().to_string())
        };
        let r = MappingRow {
            row: *row,
            redcap_field: get("redcap_field"),
            choice: get("choice"),
            column: get("column"),
            value: get("value"),
            redcap_label: get("redcap_label"),
        };
        if r.redcap_field.is_empty() {
            if [&r.choice, &r.column, &r.value]
                .iter()
                .all(|c| c.is_empty())
            {
                continue;
            }
            problems.push(Problem::error(
                "bad-mapping",
                Location::cell(&name, *row, "redcap_field"),
                "redcap_field: every row names a REDCap field",
            ));
            continue;
        }
        mapping.rows.push(r);
    }
    (mapping, problems)
}

/// Where a column's value comes from.
#[derive(Debug, Clone)]
pub(crate) enum Source {
    /// A field's value; for a choice field, each code's value (`None`:
    /// missing), the codes not listed read as the format's own codes.
    Value {
        field: usize,
        choices: Vec<(String, Option<String>)>,
    },
    /// A checkbox's box: ticked gives `value`.
    Tick {
        field: usize,
        code: String,
        value: String,
    },
}

/// One column of the `patients` table and where it comes from.
#[derive(Debug, Clone)]
pub(crate) struct ColumnPlan {
    pub column: Col,
    pub sources: Vec<Source>,
}

/// The columns made from a project's records, in the format's order.
#[derive(Debug, Clone, Default)]
pub(crate) struct Plan {
    pub columns: Vec<ColumnPlan>,
    /// Fields the mapping leaves out on purpose.
    pub ignored: Vec<usize>,
}

impl Plan {
    fn add(&mut self, column: Col, source: Source) {
        match self.columns.iter_mut().find(|c| c.column == column) {
            Some(c) => c.sources.push(source),
            None => self.columns.push(ColumnPlan {
                column,
                sources: vec![source],
            }),
        }
    }

    fn sort(&mut self) {
        self.columns.sort_by_key(|c| c.column.index());
    }
}

/// A format code of a coded column, from any accepted spelling.
pub(crate) fn parse_code(column: Col, text: &str) -> Option<&'static str> {
    let t = text.trim();
    match column {
        Col::Sex => Sex::parse(t).map(Sex::code),
        Col::Subset => Subset::parse(t).map(Subset::code),
        Col::CtType => CtType::parse(t).map(CtType::code),
        other => match other.kind() {
            ColumnKind::Code(codes) => codes.iter().copied().find(|c| c.eq_ignore_ascii_case(t)),
            _ => None,
        },
    }
}

/// A boolean in any spelling the bundle reader accepts.
pub(crate) fn parse_boolean(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "yes" | "y" | "true" | "1" => Some(true),
        "no" | "n" | "false" | "0" => Some(false),
        _ => None,
    }
}

/// A mapping's value for `column`: empty is missing; codes and booleans in
/// the format's spelling; anything else as written (the bundle's rules
/// check it).
fn mapped_value(column: Col, value: &str) -> Result<Option<String>, String> {
    if value.is_empty() {
        return Ok(None);
    }
    match column.kind() {
        ColumnKind::Code(codes) => parse_code(column, value)
            .map(|c| Some(c.to_string()))
            .ok_or_else(|| {
                format!(
                    "{value:?} is not a code of {} (one of {})",
                    column.code(),
                    codes.join(", ")
                )
            }),
        ColumnKind::Boolean => parse_boolean(value)
            .map(|b| Some(if b { "yes" } else { "no" }.to_string()))
            .ok_or_else(|| format!("{} is a yes/no column: write yes or no", column.code())),
        _ => Ok(Some(value.to_string())),
    }
}

/// The plan of sclerad's own dictionary, or of any dictionary whose fields
/// are named as the format's columns: each such field gives its column.
pub(crate) fn identity_plan(dict: &Dictionary) -> Plan {
    let mut plan = Plan::default();
    for (i, f) in dict.fields.iter().enumerate() {
        if f.field_type == FieldType::Checkbox {
            continue;
        }
        if let Some(c) = dictionary::column_of_field(&f.name) {
            if !plan.columns.iter().any(|p| p.column == c) {
                plan.add(
                    c,
                    Source::Value {
                        field: i,
                        choices: Vec::new(),
                    },
                );
            }
        }
    }
    plan.sort();
    plan
}

/// The plan a mapping file gives for `dict`; every row that cannot be
/// followed is a `bad-mapping` problem at its row and column.
pub(crate) fn mapping_plan(
    dict: &Dictionary,
    mapping: &Mapping,
    problems: &mut Vec<Problem>,
) -> Plan {
    let name = TableName::file(&mapping.file);
    let mut plan = Plan::default();
    let mut bad = |row: u32, column: &str, value: &str, message: String| {
        problems.push(
            Problem::error("bad-mapping", Location::cell(&name, row, column), message)
                .with_value(value),
        );
    };
    // The field rows first: a choice row may take its field's column.
    struct FieldRow {
        field: usize,
        column: Option<Col>,
        row: u32,
        choices: Vec<(String, Option<String>)>,
    }
    let mut field_rows: Vec<FieldRow> = Vec::new();
    let split = |r: &MappingRow| -> (String, String) {
        match r.redcap_field.split_once("___") {
            Some((f, code)) if r.choice.is_empty() && dict.field(f).is_some() => {
                (f.to_string(), code.to_string())
            }
            _ => (r.redcap_field.clone(), r.choice.clone()),
        }
    };
    let parse_column =
        |text: &str| Col::parse(text).filter(|c| c.code().eq_ignore_ascii_case(text.trim()));
    let columns_list = || Col::CODES.join(", ");
    for r in &mapping.rows {
        let (field_name, choice) = split(r);
        if !choice.is_empty() {
            continue;
        }
        let Some(field) = dict.position(&field_name) else {
            bad(
                r.row,
                "redcap_field",
                &r.redcap_field,
                format!(
                    "redcap_field: {field_name} is not a field of the dictionary {}",
                    dict.file
                ),
            );
            continue;
        };
        if let Some(first) = field_rows.iter().find(|f| f.field == field) {
            let at = first.row;
            bad(
                r.row,
                "redcap_field",
                &r.redcap_field,
                format!("redcap_field: {field_name} is mapped twice (first at row {at})"),
            );
            continue;
        }
        let column = if r.column.is_empty() {
            None
        } else {
            match parse_column(&r.column) {
                Some(c) => Some(c),
                None => {
                    bad(r.row, "column", &r.column, format!("column: {:?} is not a column of the format's patients table (one of {})", r.column, columns_list()));
                    continue;
                }
            }
        };
        let f = &dict.fields[field];
        if f.field_type == FieldType::Checkbox && column.is_some() {
            bad(r.row, "choice", "", format!("choice: {field_name} is a checkbox field: map each of its choices (a row per choice code, or redcap_field {field_name}___CODE)"));
            continue;
        }
        if let Some(c) = column {
            if let Some(other) = field_rows.iter().find(|x| x.column == Some(c)) {
                let (at, other_name) = (other.row, dict.fields[other.field].name.clone());
                bad(
                    r.row,
                    "column",
                    &r.column,
                    format!(
                        "column: {} is already given by the field {other_name} (row {at})",
                        c.code()
                    ),
                );
                continue;
            }
        }
        field_rows.push(FieldRow {
            field,
            column,
            row: r.row,
            choices: Vec::new(),
        });
    }
    let mut ticks: Vec<(u32, Col, Source)> = Vec::new();
    let mut seen: Vec<(usize, String, u32)> = Vec::new();
    for r in &mapping.rows {
        let (field_name, choice) = split(r);
        if choice.is_empty() {
            continue;
        }
        let Some(field) = dict.position(&field_name) else {
            bad(
                r.row,
                "redcap_field",
                &r.redcap_field,
                format!(
                    "redcap_field: {field_name} is not a field of the dictionary {}",
                    dict.file
                ),
            );
            continue;
        };
        let f = &dict.fields[field];
        let known = match f.field_type {
            FieldType::YesNo | FieldType::TrueFalse => choice == "1" || choice == "0",
            t if t.has_choices() => f.choice(&choice).is_some(),
            _ => false,
        };
        if !known {
            let message = if f.field_type.has_choices() {
                format!(
                    "choice: {choice:?} is not a choice of {field_name} ({})",
                    f.choices_text()
                )
            } else if matches!(f.field_type, FieldType::YesNo | FieldType::TrueFalse) {
                format!("choice: the choices of the yes/no field {field_name} are 1 and 0")
            } else {
                format!(
                    "choice: {field_name} is a {} field, without choices",
                    f.field_type.name()
                )
            };
            bad(r.row, "choice", &choice, message);
            continue;
        }
        if let Some((_, _, at)) = seen.iter().find(|(x, c, _)| *x == field && *c == choice) {
            let at = *at;
            bad(
                r.row,
                "choice",
                &choice,
                format!("choice: {choice} of {field_name} is mapped twice (first at row {at})"),
            );
            continue;
        }
        seen.push((field, choice.clone(), r.row));
        let own = if r.column.is_empty() {
            None
        } else {
            match parse_column(&r.column) {
                Some(c) => Some(c),
                None => {
                    bad(r.row, "column", &r.column, format!("column: {:?} is not a column of the format's patients table (one of {})", r.column, columns_list()));
                    continue;
                }
            }
        };
        if f.field_type == FieldType::Checkbox {
            let Some(column) = own else {
                bad(
                    r.row,
                    "column",
                    "",
                    format!("column: name the column the ticked box {field_name}___{choice} gives"),
                );
                continue;
            };
            let value = if r.value.is_empty() && column.kind() == ColumnKind::Boolean {
                Ok(Some("yes".to_string()))
            } else {
                mapped_value(column, &r.value)
            };
            match value {
                Ok(Some(value)) => ticks.push((
                    r.row,
                    column,
                    Source::Tick {
                        field,
                        code: choice.clone(),
                        value,
                    },
                )),
                Ok(None) => bad(
                    r.row,
                    "value",
                    "",
                    format!(
                        "value: what does a ticked {field_name}___{choice} give in {}?",
                        column.code()
                    ),
                ),
                Err(e) => bad(r.row, "value", &r.value, format!("value: {e}")),
            }
            continue;
        }
        let Some(fr) = field_rows.iter_mut().find(|x| x.field == field) else {
            // A choice row alone maps its field to its column.
            let Some(column) = own else {
                bad(r.row, "column", "", format!("column: {field_name} has no row of its own giving its column: add one, or name the column here"));
                continue;
            };
            match mapped_value(column, &r.value) {
                Ok(v) => field_rows.push(FieldRow {
                    field,
                    column: Some(column),
                    row: r.row,
                    choices: vec![(choice.clone(), v)],
                }),
                Err(e) => bad(r.row, "value", &r.value, format!("value: {e}")),
            }
            continue;
        };
        let column = match (own, fr.column) {
            (Some(a), Some(b)) if a != b => {
                bad(
                    r.row,
                    "column",
                    &r.column,
                    format!(
                        "column: {field_name} gives {} (row {}), not {}",
                        b.code(),
                        fr.row,
                        a.code()
                    ),
                );
                continue;
            }
            (_, Some(b)) => b,
            (Some(a), None) => {
                fr.column = Some(a);
                a
            }
            (None, None) => {
                bad(r.row, "column", "", format!("column: {field_name} is left out (its row has no column), so its choices give nothing"));
                continue;
            }
        };
        match mapped_value(column, &r.value) {
            Ok(v) => fr.choices.push((choice.clone(), v)),
            Err(e) => bad(r.row, "value", &r.value, format!("value: {e}")),
        }
    }
    for fr in field_rows {
        match fr.column {
            Some(column) => plan.add(
                column,
                Source::Value {
                    field: fr.field,
                    choices: fr.choices,
                },
            ),
            None => plan.ignored.push(fr.field),
        }
    }
    // The fields the mapping does not name, named as the format's columns,
    // give those columns (a mapping needs rows only for what differs).
    let named: Vec<&str> = mapping
        .rows
        .iter()
        .map(|r| r.redcap_field.split("___").next().unwrap_or(""))
        .collect();
    let taken: Vec<Col> = plan
        .columns
        .iter()
        .map(|c| c.column)
        .chain(ticks.iter().map(|t| t.1))
        .collect();
    for (i, f) in dict.fields.iter().enumerate() {
        if f.field_type == FieldType::Checkbox || named.contains(&f.name.as_str()) {
            continue;
        }
        if let Some(c) = dictionary::column_of_field(&f.name) {
            if !taken.contains(&c) && !plan.columns.iter().any(|p| p.column == c) {
                plan.add(
                    c,
                    Source::Value {
                        field: i,
                        choices: Vec::new(),
                    },
                );
            }
        }
    }
    for (row, column, tick) in ticks {
        if let Some(c) = plan.columns.iter().find(|c| c.column == column) {
            if c.sources.iter().any(|s| matches!(s, Source::Value { .. })) {
                bad(
                    row,
                    "column",
                    column.code(),
                    format!(
                        "column: {} is already given by a field; a checkbox may not give it too",
                        column.code()
                    ),
                );
                continue;
            }
        }
        plan.add(column, tick);
    }
    plan.sort();
    plan
}

fn normal(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// The format column a field's name or label stands for.
fn column_like(name: &str, label: &str) -> Option<Col> {
    let (n, l) = (normal(name), normal(label));
    Col::ALL.iter().copied().find(|c| {
        let names = [
            normal(c.code()),
            normal(dictionary::field_name(*c)),
            normal(dictionary::label(*c)),
        ];
        names.iter().any(|x| !x.is_empty() && (*x == n || *x == l))
    })
}

/// The format's value a choice's code or label stands for in `column`.
fn value_like(column: Col, code: &str, label: &str) -> Option<String> {
    let l = normal(label);
    match column.kind() {
        ColumnKind::Code(codes) => parse_code(column, code)
            .or_else(|| parse_code(column, label))
            .or_else(|| {
                codes
                    .iter()
                    .copied()
                    .find(|c| normal(dictionary::choice_label(column, c)) == l)
            })
            .map(str::to_string),
        ColumnKind::Boolean => match l.as_str() {
            "yes" | "y" | "true" | "oui" | "ja" | "si" | "sí" | "present" | "positive" => {
                Some("yes".into())
            }
            "no" | "n" | "false" | "non" | "nein" | "absent" | "negative" => Some("no".into()),
            _ => None,
        },
        _ => None,
    }
}

/// Whether a choice label says the value is unknown (it then maps to missing).
fn unknown_like(label: &str) -> bool {
    matches!(
        normal(label).as_str(),
        "unknown" | "notknown" | "unk" | "na" | "notavailable" | "notdone" | "missing" | "inconnu"
    )
}

/// A mapping for a centre's dictionary, for the user to check and edit:
/// the first field (the record ID) gives `patient_id`; a field whose name
/// or label is a column's name, REDCap field name or label gives that
/// column (each column once); each choice whose code or label is one of
/// the column's codes (or, for a yes/no column, yes or no) gives it, a
/// choice labelled "Unknown" gives missing, any other is written with the
/// value `?` for the user to replace; a checkbox's choices whose labels
/// name a yes/no column give it. Every other field is listed with an empty
/// column (left out). Deterministic: the same dictionary gives the same file.
pub fn suggest_mapping(dict: &Dictionary) -> Mapping {
    let mut rows = Vec::new();
    let mut taken: Vec<Col> = Vec::new();
    let row = |field: &str, choice: &str, column: &str, value: &str, label: &str| MappingRow {
        row: 0,
        redcap_field: field.to_string(),
        choice: choice.to_string(),
        column: column.to_string(),
        value: value.to_string(),
        redcap_label: label.to_string(),
    };
    for (i, f) in dict.fields.iter().enumerate() {
        if matches!(f.field_type, FieldType::Descriptive) {
            continue;
        }
        if f.field_type == FieldType::Checkbox {
            rows.push(row(&f.name, "", "", "", &f.label));
            for choice in &f.choices {
                let column = column_like("", &choice.label)
                    .filter(|c| c.kind() == ColumnKind::Boolean && !taken.contains(c));
                match column {
                    Some(c) => {
                        taken.push(c);
                        rows.push(row(&f.name, &choice.code, c.code(), "yes", &choice.label));
                    }
                    None => rows.push(row(&f.name, &choice.code, "", "", &choice.label)),
                }
            }
            continue;
        }
        let column = if i == 0 {
            Some(Col::PatientId)
        } else {
            column_like(&f.name, &f.label)
        }
        .filter(|c| !taken.contains(c));
        let Some(column) = column else {
            rows.push(row(&f.name, "", "", "", &f.label));
            continue;
        };
        taken.push(column);
        rows.push(row(&f.name, "", column.code(), "", &f.label));
        let choices: Vec<(String, String)> = match f.field_type {
            FieldType::YesNo | FieldType::TrueFalse => {
                if column.kind() == ColumnKind::Boolean {
                    Vec::new()
                } else {
                    vec![("1".into(), "Yes".into()), ("0".into(), "No".into())]
                }
            }
            t if t.has_choices() => f
                .choices
                .iter()
                .map(|c| (c.code.clone(), c.label.clone()))
                .collect(),
            _ => Vec::new(),
        };
        for (code, label) in choices {
            let value = match value_like(column, &code, &label) {
                // The format's own code needs no row.
                Some(v) if v == code && matches!(column.kind(), ColumnKind::Code(_)) => continue,
                Some(v) => v,
                None if unknown_like(&label) => String::new(),
                None => "?".to_string(),
            };
            rows.push(row(&f.name, &code, "", &value, &label));
        }
    }
    Mapping {
        file: "mapping.csv".into(),
        rows,
    }
}
