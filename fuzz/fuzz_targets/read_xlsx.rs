//! Any bytes given as an `.xlsx` workbook: reading and validating must
//! return problems, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sclerad_bundle::{read_xlsx_bytes, ReadOptions};
use sclerad_model::{validate, ValidateOptions};

fuzz_target!(|data: &[u8]| {
    let loaded = read_xlsx_bytes("fuzz.xlsx", data.to_vec(), &ReadOptions::default());
    let _ = validate(&loaded.cohort, &ValidateOptions::default());
});
