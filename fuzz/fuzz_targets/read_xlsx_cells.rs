//! Workbooks built cell by cell from the fuzzer's bytes, as no spreadsheet
//! program would write them (any type tag with any text, any address, rows
//! in any order) under a real header: reading and validating must return
//! problems, never panic. Where `read_xlsx` mostly meets broken zips, this
//! reaches the cell reader and the typing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sclerad_bundle::{handmade, read_xlsx_bytes, ReadOptions};
use sclerad_model::{validate, ValidateOptions};

const KINDS: [&str; 8] = ["inlineStr", "str", "s", "n", "b", "e", "d", "zz"];

fuzz_target!(|data: &[u8]| {
    // Each cell: row (2 bytes), column (2 bytes), kind (1), text length
    // (1), then the text.
    let mut body = String::new();
    let mut rest = data;
    while rest.len() >= 6 {
        let row = u64::from(u16::from_le_bytes([rest[0], rest[1]])) * 17;
        let column = u64::from(u16::from_le_bytes([rest[2], rest[3]])) % 20_000;
        let kind = KINDS[usize::from(rest[4]) % KINDS.len()];
        let len = usize::from(rest[5]).min(rest.len() - 6);
        let text = String::from_utf8_lossy(&rest[6..6 + len]);
        body.push_str(&format!(
            "<row r=\"{}\">{}</row>",
            row + 2,
            handmade::cell(row + 1, column, kind, &text)
        ));
        rest = &rest[6 + len..];
    }
    let header = handmade::row(1, &["patient_id", "sex", "age_years", "subset", "death"]);
    let bytes = handmade::workbook(&format!("{header}{body}"));
    let loaded = read_xlsx_bytes("fuzz.xlsx", bytes, &ReadOptions::default());
    let _ = validate(&loaded.cohort, &ValidateOptions::default());
});
