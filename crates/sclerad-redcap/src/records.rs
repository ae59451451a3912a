//! A REDCap records export ("CSV / Microsoft Excel (raw data)") turned into
//! the text of a bundle's `patients` table.

use std::collections::HashMap;

use chrono::NaiveDate;
use sclerad_bundle::TextTable;
use sclerad_model::{ColumnKind, LevelSet, Location, PatientColumn as Col, Problem, TableName};

use crate::csv::table_problems;
use crate::dictionary::{Dictionary, Field, FieldType};
use crate::mapping::{parse_boolean, parse_code, Plan, Source};

/// How the records export writes dates: REDCap's raw export writes
/// `YYYY-MM-DD`; the export dialog can also write `MM/DD/YYYY` or
/// `DD/MM/YYYY`. A datetime field's time (`HH:MM`, `HH:MM:SS`) is dropped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DateOrder {
    /// `YYYY-MM-DD` (raw export).
    #[default]
    Ymd,
    /// `DD-MM-YYYY` (`/` or `.` between the parts as well).
    Dmy,
    /// `MM-DD-YYYY` (`/` or `.` between the parts as well).
    Mdy,
}

impl DateOrder {
    fn describe(self) -> &'static str {
        match self {
            DateOrder::Ymd => "YYYY-MM-DD, as a raw export writes dates (if the export used another date format, say so with --date-format dmy or mdy)",
            DateOrder::Dmy => "DD-MM-YYYY or DD/MM/YYYY (the export's date format D-M-Y)",
            DateOrder::Mdy => "MM-DD-YYYY or MM/DD/YYYY (the export's date format M-D-Y)",
        }
    }
}

/// A date as a REDCap export writes it.
pub(crate) fn redcap_date(
    text: &str,
    order: DateOrder,
    datetime: bool,
) -> Result<NaiveDate, String> {
    let mut parts = text.split([' ', 'T']).filter(|p| !p.is_empty());
    let date = parts.next().unwrap_or("");
    let time = parts.next();
    if parts.next().is_some() {
        return Err(format!("not a date; write {}", order.describe()));
    }
    if let Some(time) = time {
        if !datetime {
            return Err(format!(
                "a date and a time in a date field; write {}",
                order.describe()
            ));
        }
        let pieces: Vec<&str> = time.split(':').collect();
        let ok = (2..=3).contains(&pieces.len())
            && pieces
                .iter()
                .all(|p| (1..=2).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()));
        if !ok {
            return Err(format!("{time:?} is not a time of day (HH:MM or HH:MM:SS)"));
        }
    }
    let fields: Vec<&str> = date.split(['-', '/', '.']).collect();
    let digits = |s: &str, min: usize, max: usize| {
        (min..=max).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
    };
    let [a, b, c] = fields[..] else {
        return Err(format!("not a date; write {}", order.describe()));
    };
    let (y, m, d) = match order {
        DateOrder::Ymd => (a, b, c),
        DateOrder::Dmy => (c, b, a),
        DateOrder::Mdy => (c, a, b),
    };
    if !(digits(y, 4, 4) && digits(m, 1, 2) && digits(d, 1, 2)) {
        return Err(format!("not a date; write {}", order.describe()));
    }
    let n = |s: &str| s.parse::<u32>().ok();
    let year = y.parse::<i32>().ok();
    match (year, n(m), n(d)) {
        (Some(y), Some(m), Some(d)) => NaiveDate::from_ymd_opt(y, m, d).ok_or_else(|| {
            format!(
                "{date} is not a real calendar date (read as {})",
                order.describe().split(',').next().unwrap_or("")
            )
        }),
        _ => Err(format!("not a date; write {}", order.describe())),
    }
}

/// A number in the format's spelling, if `text` is a plain number.
fn canonical_number(text: &str) -> Option<String> {
    let plain = text
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'));
    match text.parse::<f64>() {
        Ok(x) if plain && x.is_finite() => Some(x.to_string()),
        _ => None,
    }
}

/// A text cell in the format's spelling for `column`, or as written when
/// it is not one (the bundle's rules then report it).
fn canonical_text(column: Col, field: &Field, text: &str) -> String {
    match column.kind() {
        ColumnKind::Number { .. } | ColumnKind::WholeNumber { .. } => {
            let t = if field.validation.contains("comma_decimal") {
                text.replace(',', ".")
            } else {
                text.to_string()
            };
            canonical_number(&t).unwrap_or(t)
        }
        ColumnKind::Boolean => match parse_boolean(text) {
            Some(b) => if b { "yes" } else { "no" }.to_string(),
            None => text.to_string(),
        },
        ColumnKind::Code(_) => {
            parse_code(column, text).map_or_else(|| text.to_string(), str::to_string)
        }
        ColumnKind::LevelList => {
            LevelSet::parse(text).map_or_else(|_| text.to_string(), |l| l.to_string())
        }
        ColumnKind::Text | ColumnKind::Date => text.to_string(),
    }
}

/// What a records column is.
#[derive(Clone, Copy)]
enum Header {
    Field(usize),
    Box(usize, usize),
    System,
}

/// The records' `patients` table.
pub(crate) struct Converted {
    pub table: TextTable,
    /// The records file's row of each row of the table.
    pub origin: Vec<u32>,
    /// The REDCap field (export column) of each column of the table.
    pub fields: HashMap<&'static str, String>,
}

/// The columns a raw export adds to a project's fields, which the import
/// ignores (the event and repeat columns are checked for a record given
/// more than one row).
fn is_system(header: &str, dict: &Dictionary) -> bool {
    const SYSTEM: [&str; 5] = [
        "redcap_event_name",
        "redcap_repeat_instrument",
        "redcap_repeat_instance",
        "redcap_data_access_group",
        "redcap_survey_identifier",
    ];
    if SYSTEM.contains(&header) {
        return true;
    }
    if let Some(form) = header.strip_suffix("_complete") {
        if dict.forms().contains(&form) {
            return true;
        }
    }
    header.ends_with("_timestamp")
}

/// Turns a records export into the text of a `patients` table. Problems of
/// the records are at the records file's rows and REDCap fields.
pub(crate) fn convert(
    file: &str,
    bytes: &[u8],
    dict: &Dictionary,
    plan: &Plan,
    order: DateOrder,
    problems: &mut Vec<Problem>,
) -> Option<Converted> {
    let table = match sclerad_bundle::read_plain_csv_bytes(file, bytes) {
        Ok(t) => t,
        Err(p) => {
            problems.extend(table_problems(p));
            return None;
        }
    };
    let name = TableName::file(file);
    let headers: Vec<String> = table
        .header
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    let mut kinds: Vec<Header> = Vec::with_capacity(headers.len());
    let mut fatal = false;
    let record_id = dict.record_id().map(|f| f.name.as_str()).unwrap_or("");
    if headers.first().map(String::as_str) != Some(record_id) {
        problems.push(
            Problem::error(
                "record-id-field",
                Location::cell(&name, 1, table.header.first().map_or("", |h| h.as_str())),
                format!(
                    "the first column of a records export is the record ID field, {record_id} (the dictionary's first field): are the records and the dictionary from the same project?"
                ),
            )
            .with_value(table.header.first().cloned().unwrap_or_default()),
        );
        fatal = true;
    }
    for (i, h) in headers.iter().enumerate() {
        let field = dict
            .position(h)
            .filter(|f| dict.fields[*f].field_type != FieldType::Checkbox);
        let boxed = h.split_once("___").and_then(|(f, code)| {
            let at = dict.position(f)?;
            let field = &dict.fields[at];
            if field.field_type != FieldType::Checkbox {
                return None;
            }
            let choice = field
                .choices
                .iter()
                .position(|c| c.code.eq_ignore_ascii_case(code))?;
            Some(Header::Box(at, choice))
        });
        let kind = match (field, boxed) {
            (Some(f), _) => Header::Field(f),
            (None, Some(b)) => b,
            (None, None) if is_system(h, dict) => Header::System,
            (None, None) => {
                problems.push(
                    Problem::error(
                        "unknown-field",
                        Location::cell(&name, 1, &table.header[i]),
                        format!(
                            "{}: not a field of the dictionary {} (nor a checkbox choice field___code, nor a column REDCap adds): export the records and the dictionary from the same project",
                            table.header[i], dict.file
                        ),
                    )
                    .with_value(table.header[i].clone()),
                );
                fatal = true;
                Header::System
            }
        };
        kinds.push(kind);
    }
    if fatal {
        return None;
    }
    let column_of_field = |f: usize| headers.iter().position(|h| *h == dict.fields[f].name);
    let column_of_box = |f: usize, code: &str| {
        kinds.iter().position(|k| match k {
            Header::Box(x, c) => *x == f && dict.fields[f].choices[*c].code == code,
            _ => false,
        })
    };
    // The fields that give nothing are noted once.
    let mut used: Vec<usize> = Vec::new();
    for c in &plan.columns {
        for s in &c.sources {
            match s {
                Source::Value { field, .. } => used.extend(column_of_field(*field)),
                Source::Tick { field, code, .. } => used.extend(column_of_box(*field, code)),
            }
        }
    }
    for (i, k) in kinds.iter().enumerate() {
        let field = match k {
            Header::Field(f) | Header::Box(f, _) => *f,
            Header::System => continue,
        };
        if i == 0 || used.contains(&i) || plan.ignored.contains(&field) {
            continue;
        }
        problems.push(Problem::note(
            "unmapped-field",
            Location::cell(&name, 1, &table.header[i]),
            format!(
                "{}: no column of the format comes from this field; it is not imported",
                table.header[i]
            ),
        ));
    }
    // Each column with the records columns of its sources.
    struct Column<'p> {
        column: Col,
        sources: Vec<(usize, &'p Source)>,
    }
    let columns: Vec<Column<'_>> = plan
        .columns
        .iter()
        .filter_map(|c| {
            let sources: Vec<(usize, &Source)> = c
                .sources
                .iter()
                .filter_map(|s| {
                    let at = match s {
                        Source::Value { field, .. } => column_of_field(*field),
                        Source::Tick { field, code, .. } => column_of_box(*field, code),
                    };
                    at.map(|a| (a, s))
                })
                .collect();
            (!sources.is_empty()).then_some(Column {
                column: c.column,
                sources,
            })
        })
        .collect();
    let mut fields = HashMap::new();
    for c in &columns {
        if let Some((at, _)) = c.sources.first() {
            fields.insert(c.column.code(), table.header[*at].clone());
        }
    }
    let event = headers.iter().position(|h| h == "redcap_event_name");
    let repeat = headers.iter().position(|h| h == "redcap_repeat_instrument");
    let layout = event.is_some() || repeat.is_some();
    let mut seen: HashMap<String, u32> = HashMap::new();
    let mut out = Converted {
        table: TextTable {
            columns: columns
                .iter()
                .map(|c| c.column.code().to_string())
                .collect(),
            rows: Vec::new(),
        },
        origin: Vec::new(),
        fields,
    };
    let mut cap_at = sclerad_model::CAP_PROBLEMS_AT;
    for (row, cells) in &table.rows {
        sclerad_model::cap_problems_as_they_grow(problems, &mut cap_at);
        let cell = |i: usize| cells.get(i).map_or("", |s| s.as_str());
        let id = cell(0);
        if layout && !id.is_empty() {
            if let Some(first) = seen.get(id) {
                let describe = |r: u32| {
                    let cells_of = table.rows.iter().find(|(n, _)| *n == r).map(|(_, c)| c);
                    let part = |col: Option<usize>, what: &str| {
                        col.and_then(|c| cells_of.and_then(|cs| cs.get(c)))
                            .filter(|v| !v.is_empty())
                            .map(|v| format!("{what} {v}"))
                    };
                    let parts: Vec<String> =
                        [part(event, "event"), part(repeat, "repeating instrument")]
                            .into_iter()
                            .flatten()
                            .collect();
                    if parts.is_empty() {
                        format!("row {r}")
                    } else {
                        format!("row {r} ({})", parts.join(", "))
                    }
                };
                problems.push(
                    Problem::error(
                        "repeated-record",
                        Location::cell(&name, *row, &table.header[0]),
                        format!(
                            "record {id} has more than one row: {} and {}; a patient is one row: export one event, without repeating instruments",
                            describe(*first),
                            describe(*row)
                        ),
                    )
                    .with_value(id),
                );
                continue;
            }
            seen.insert(id.to_string(), *row);
        }
        let mut values: Vec<String> = Vec::with_capacity(columns.len());
        for c in &columns {
            let mut strong: Vec<(String, usize)> = Vec::new();
            let mut weak: Option<String> = None;
            for (at, source) in &c.sources {
                let header = &table.header[*at];
                let raw = cell(*at);
                let mut reject = |code: &'static str, message: String| {
                    problems.push(
                        Problem::error(
                            code,
                            Location::cell(&name, *row, header),
                            format!("{header}: {message}"),
                        )
                        .with_value(raw),
                    );
                };
                match source {
                    Source::Tick { value, .. } => match raw {
                        "1" => strong.push((value.clone(), *at)),
                        "0" | "" => {
                            if c.column.kind() == ColumnKind::Boolean {
                                weak.get_or_insert_with(|| "no".to_string());
                            }
                        }
                        _ => reject(
                            "bad-boolean",
                            "a checkbox column holds 1 (ticked) or 0 (not ticked)".into(),
                        ),
                    },
                    Source::Value { field, choices } => {
                        if raw.is_empty() {
                            continue;
                        }
                        let f = &dict.fields[*field];
                        let mapped = |code: &str| {
                            choices
                                .iter()
                                .find(|(c, _)| c == code)
                                .map(|(_, v)| v.clone())
                        };
                        let value: Option<String> = match f.field_type {
                            FieldType::Radio | FieldType::Dropdown => match f.choice(raw) {
                                None => {
                                    reject(
                                        "unknown-code",
                                        format!(
                                            "{raw:?} is not a choice of {} (choices: {})",
                                            f.name,
                                            f.choices_text()
                                        ),
                                    );
                                    continue;
                                }
                                Some(choice) => match mapped(raw) {
                                    Some(v) => v,
                                    None => match parse_code(c.column, raw) {
                                        Some(code) => Some(code.to_string()),
                                        None => {
                                            reject("unmapped-choice", format!("the choice {raw} ({}) gives no value of {}: add a row to the mapping (redcap_field {}, choice {raw}, value …)", choice.label, c.column.code(), f.name));
                                            continue;
                                        }
                                    },
                                },
                            },
                            FieldType::YesNo | FieldType::TrueFalse => {
                                if raw != "1" && raw != "0" {
                                    reject("bad-boolean", "the raw value of a yes/no field is 1 or 0 (export the records as raw data, not labels)".into());
                                    continue;
                                }
                                match mapped(raw) {
                                    Some(v) => v,
                                    None if c.column.kind() == ColumnKind::Boolean => {
                                        Some(if raw == "1" { "yes" } else { "no" }.to_string())
                                    }
                                    None => {
                                        reject("unmapped-choice", format!("the choice {raw} gives no value of {}: add a row to the mapping (redcap_field {}, choice {raw}, value …)", c.column.code(), f.name));
                                        continue;
                                    }
                                }
                            }
                            _ if c.column.kind() == ColumnKind::Date => {
                                match redcap_date(raw, order, f.is_datetime()) {
                                    Ok(d) => Some(d.to_string()),
                                    Err(e) => {
                                        reject("bad-date", e);
                                        continue;
                                    }
                                }
                            }
                            _ => Some(canonical_text(c.column, f, raw)),
                        };
                        if let Some(v) = value {
                            strong.push((v, *at));
                        }
                    }
                }
            }
            let mut distinct: Vec<&(String, usize)> = Vec::new();
            for s in &strong {
                if !distinct.iter().any(|d| d.0 == s.0) {
                    distinct.push(s);
                }
            }
            if distinct.len() > 1 {
                let list: Vec<String> = distinct
                    .iter()
                    .map(|(v, at)| format!("{} gives {v}", table.header[*at]))
                    .collect();
                problems.push(
                    Problem::error(
                        "conflicting-values",
                        Location::cell(&name, *row, &table.header[distinct[0].1]),
                        format!(
                            "{}: {}; one value is needed",
                            c.column.code(),
                            list.join(", ")
                        ),
                    )
                    .with_value(distinct[0].0.clone()),
                );
            }
            values.push(
                strong
                    .into_iter()
                    .next()
                    .map(|(v, _)| v)
                    .or(weak)
                    .unwrap_or_default(),
            );
        }
        out.table.rows.push(values);
        out.origin.push(*row);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_as_redcap_writes_them() {
        let d = NaiveDate::from_ymd_opt(2015, 3, 12);
        assert_eq!(redcap_date("2015-03-12", DateOrder::Ymd, false).ok(), d);
        assert_eq!(redcap_date("12-03-2015", DateOrder::Dmy, false).ok(), d);
        assert_eq!(redcap_date("12/03/2015", DateOrder::Dmy, false).ok(), d);
        assert_eq!(redcap_date("03/12/2015", DateOrder::Mdy, false).ok(), d);
        assert_eq!(
            redcap_date("2015-03-12 14:30", DateOrder::Ymd, true).ok(),
            d
        );
        assert!(redcap_date("2015-03-12 14:30", DateOrder::Ymd, false).is_err());
        assert!(redcap_date("2015-02-30", DateOrder::Ymd, false).is_err());
        assert!(redcap_date("12-03-2015", DateOrder::Ymd, false).is_err());
        assert!(redcap_date("2015-03-12 4pm", DateOrder::Ymd, true).is_err());
        assert!(redcap_date("", DateOrder::Ymd, false).is_err());
    }
}
