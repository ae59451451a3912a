//! The tables as one xlsx workbook, one sheet per table.

use rust_xlsxwriter::{Format, Workbook};
use sclerad_analysis::results::Results;

use crate::tables::{tables, Cell};
use crate::ReportError;

/// Every table of [`crate::tables_csv`] as one sheet of an xlsx workbook:
/// header row bold and frozen, numbers as numbers (full precision), a
/// missing value as an empty cell, yes/no values as booleans.
pub fn tables_xlsx(results: &Results) -> Result<Vec<u8>, ReportError> {
    let mut workbook = Workbook::new();
    // Level 1: the tables are small text, and saving at the default level 6
    // took most of the time of a 77-patient analysis.
    workbook.set_zip_compression_level(1);
    let bold = Format::new().set_bold();
    for table in tables(results) {
        let sheet = workbook.add_worksheet();
        sheet.set_name(table.name)?;
        for (col, name) in table.header.iter().enumerate() {
            let col = u16::try_from(col).map_err(|_| ReportError::TooLarge(table.name))?;
            sheet.write_string_with_format(0, col, *name, &bold)?;
        }
        for (r, row) in table.rows.iter().enumerate() {
            let r = u32::try_from(r + 1).map_err(|_| ReportError::TooLarge(table.name))?;
            for (col, cell) in row.iter().enumerate() {
                let col = u16::try_from(col).map_err(|_| ReportError::TooLarge(table.name))?;
                match cell {
                    Cell::Int(n) => {
                        // Counts are far below 2^53: exact as f64.
                        sheet.write_number(r, col, *n as f64)?;
                    }
                    Cell::Num(Some(x)) if x.is_finite() => {
                        sheet.write_number(r, col, *x)?;
                    }
                    Cell::Num(_) => {}
                    Cell::Text(t) => {
                        sheet.write_string(r, col, t)?;
                    }
                    Cell::Bool(b) => {
                        sheet.write_boolean(r, col, *b)?;
                    }
                }
            }
        }
        sheet.set_freeze_panes(1, 0)?;
        sheet.autofit();
    }
    Ok(workbook.save_to_buffer()?)
}
