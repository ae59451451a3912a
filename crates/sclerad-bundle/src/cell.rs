//! Typing one cell: missing-value markers, booleans, numbers (with decimal
//! comma), dates and coded values. Each function returns the value, `None`
//! for a missing cell, or the reason the cell is wrong.

use chrono::NaiveDate;

use crate::raw::Cell;

/// How text dates are written. ISO `YYYY-MM-DD` is always accepted; day-first
/// dates only when the user says so, never guessed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DateFormat {
    /// `YYYY-MM-DD` only.
    #[default]
    Iso,
    /// `DD/MM/YYYY` as well (also `DD.MM.YYYY` and `DD-MM-YYYY`).
    Dmy,
}

/// Whether a text is one of the format's missing-value markers. Text cells
/// are trimmed when they are read, so no trimming here.
pub(crate) fn is_missing_marker(text: &str) -> bool {
    let t = text;
    t.is_empty() || t.eq_ignore_ascii_case("na") || t.eq_ignore_ascii_case("n/a") || t == "."
}

/// The text of a cell, `None` if missing. Numbers print as typed.
pub(crate) fn text(cell: &Cell) -> Option<String> {
    match cell {
        Cell::Empty => None,
        Cell::Text(t) if is_missing_marker(t) => None,
        other => Some(other.display()),
    }
}

/// A boolean: yes/no, y/n, true/false, 1/0 (case-insensitive).
pub(crate) fn boolean(cell: &Cell) -> Result<Option<bool>, String> {
    const EXPECTED: &str = "expected yes/no, y/n, true/false or 1/0";
    match cell {
        Cell::Empty => Ok(None),
        Cell::Bool(b) => Ok(Some(*b)),
        Cell::Number(x) if *x == 1.0 => Ok(Some(true)),
        Cell::Number(x) if *x == 0.0 => Ok(Some(false)),
        Cell::Text(t) if is_missing_marker(t) => Ok(None),
        Cell::Text(t) => {
            // Lower-case into a small buffer (the longest word is "false").
            let mut buf = [0u8; 5];
            let b = t.as_bytes();
            let word = match buf.get_mut(..b.len()) {
                Some(dst) => {
                    dst.copy_from_slice(b);
                    dst.make_ascii_lowercase();
                    &*dst
                }
                None => &[][..],
            };
            match word {
                b"yes" | b"y" | b"true" | b"1" => Ok(Some(true)),
                b"no" | b"n" | b"false" | b"0" => Ok(Some(false)),
                _ => Err(format!("not a yes/no value; {EXPECTED}")),
            }
        }
        Cell::Number(_) | Cell::Date(_) | Cell::Invalid(_) => {
            Err(format!("not a yes/no value; {EXPECTED}"))
        }
    }
}

/// A finite number; with `decimal_comma`, `56,9` reads as 56.9.
pub(crate) fn number(cell: &Cell, decimal_comma: bool) -> Result<Option<f64>, String> {
    match cell {
        Cell::Empty => Ok(None),
        Cell::Number(x) if x.is_finite() => Ok(Some(*x)),
        Cell::Text(t) if is_missing_marker(t) => Ok(None),
        Cell::Text(t) => {
            let t: &str = t;
            let normalised;
            let t = if decimal_comma && t.matches(',').count() == 1 && !t.contains('.') {
                normalised = t.replace(',', ".");
                normalised.as_str()
            } else {
                t
            };
            let plain = t
                .bytes()
                .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'));
            match t.parse::<f64>() {
                Ok(x) if plain && x.is_finite() => Ok(Some(x)),
                _ if !decimal_comma && t.contains(',') => Err(
                    "not a number; a decimal comma is accepted only in ';'-separated files, write a decimal point".into(),
                ),
                _ => Err("not a number".into()),
            }
        }
        Cell::Date(_) => Err("a date where a number is expected".into()),
        Cell::Number(_) | Cell::Bool(_) | Cell::Invalid(_) => Err("not a number".into()),
    }
}

/// A date: an Excel date cell, ISO text, or day-first text with [`DateFormat::Dmy`].
pub(crate) fn date(cell: &Cell, format: DateFormat) -> Result<Option<NaiveDate>, String> {
    match cell {
        Cell::Empty => Ok(None),
        Cell::Date(d) => Ok(Some(*d)),
        Cell::Text(t) if is_missing_marker(t) => Ok(None),
        Cell::Text(t) => text_date(t, format),
        Cell::Number(_) => Err(
            "a plain number, not a date: format the cell as a date in Excel or write YYYY-MM-DD"
                .into(),
        ),
        Cell::Bool(_) | Cell::Invalid(_) => Err("not a date; write YYYY-MM-DD".into()),
    }
}

fn text_date(t: &str, format: DateFormat) -> Result<Option<NaiveDate>, String> {
    let digits = |s: &str, min: usize, max: usize| {
        (min..=max).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
    };
    let parts: Vec<&str> = t.split('-').collect();
    if let [y, m, d] = parts[..] {
        if digits(y, 4, 4) && digits(m, 2, 2) && digits(d, 2, 2) {
            return ymd(y, m, d)
                .map(Some)
                .ok_or_else(|| format!("{t} is not a real calendar date"));
        }
    }
    let day_first: Vec<&str> = t.split(['/', '.', '-']).collect();
    if let [d, m, y] = day_first[..] {
        if digits(d, 1, 2) && digits(m, 1, 2) && digits(y, 4, 4) {
            return match format {
                DateFormat::Dmy => ymd(y, m, d)
                    .map(Some)
                    .ok_or_else(|| format!("{t} is not a real calendar date (read as day/month/year)")),
                DateFormat::Iso => Err(
                    "a day-first date is not accepted by default: write YYYY-MM-DD, or pass --date-format dmy if every date is DD/MM/YYYY".into(),
                ),
            };
        }
    }
    Err(match format {
        DateFormat::Iso => "not a date; write YYYY-MM-DD".into(),
        DateFormat::Dmy => "not a date; write DD/MM/YYYY or YYYY-MM-DD".into(),
    })
}

fn ymd(y: &str, m: &str, d: &str) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A cell as the readers make it: trimmed, and empty when blank.
    fn t(s: &str) -> Cell<'_> {
        match s.trim() {
            "" => Cell::Empty,
            trimmed => Cell::Text(trimmed.into()),
        }
    }

    #[test]
    fn missing_markers() {
        for m in ["", "NA", "na", "N/A", "n/a", ".", "  "] {
            assert_eq!(boolean(&t(m)), Ok(None), "{m}");
            assert_eq!(number(&t(m), false), Ok(None), "{m}");
            assert_eq!(date(&t(m), DateFormat::Iso), Ok(None), "{m}");
            assert_eq!(text(&t(m)), None, "{m}");
        }
    }

    #[test]
    fn booleans() {
        for y in ["yes", "Y", "TRUE", "1", "True"] {
            assert_eq!(boolean(&t(y)), Ok(Some(true)));
        }
        for n in ["no", "N", "false", "0"] {
            assert_eq!(boolean(&t(n)), Ok(Some(false)));
        }
        assert_eq!(boolean(&Cell::Bool(true)), Ok(Some(true)));
        assert_eq!(boolean(&Cell::Number(0.0)), Ok(Some(false)));
        for bad in ["oui", "2", "yes!", "-"] {
            assert!(boolean(&t(bad)).is_err(), "{bad}");
        }
        assert!(boolean(&Cell::Number(2.0)).is_err());
    }

    #[test]
    fn numbers_with_and_without_decimal_comma() {
        assert_eq!(number(&t("56.9"), false), Ok(Some(56.9)));
        assert_eq!(number(&t("56,9"), true), Ok(Some(56.9)));
        assert_eq!(number(&t("-1e3"), false), Ok(Some(-1000.0)));
        assert!(number(&t("56,9"), false)
            .unwrap_err()
            .contains("decimal comma"));
        for bad in [
            "inf", "NaN", "1.2.3", "12 kg", "1,234.5", "0x10", "infinity",
        ] {
            assert!(number(&t(bad), true).is_err(), "{bad}");
        }
        assert!(number(&Cell::Number(f64::NAN), false).is_err());
    }

    #[test]
    fn dates_are_iso_unless_told_otherwise() {
        let d = NaiveDate::from_ymd_opt(2015, 3, 12);
        assert_eq!(date(&t("2015-03-12"), DateFormat::Iso), Ok(d));
        assert!(date(&t("12/03/2015"), DateFormat::Iso)
            .unwrap_err()
            .contains("--date-format dmy"));
        assert_eq!(date(&t("12/03/2015"), DateFormat::Dmy), Ok(d));
        assert_eq!(date(&t("12.3.2015"), DateFormat::Dmy), Ok(d));
        assert_eq!(date(&t("2015-03-12"), DateFormat::Dmy), Ok(d));
        assert!(date(&t("2015-02-30"), DateFormat::Iso)
            .unwrap_err()
            .contains("real calendar"));
        assert!(date(&t("31/02/2015"), DateFormat::Dmy).is_err());
        assert!(date(&t("2015-3-12"), DateFormat::Iso).is_err());
        assert!(date(&t("March 2015"), DateFormat::Iso).is_err());
        assert!(date(&Cell::Number(42000.0), DateFormat::Iso)
            .unwrap_err()
            .contains("Excel"));
        assert_eq!(date(&Cell::Date(d.expect("date")), DateFormat::Iso), Ok(d));
    }
}
