//! Any bytes given as a single-CSV bundle: reading and validating must
//! return problems, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sclerad_bundle::{read_csv_bytes, DateFormat, ReadOptions};
use sclerad_model::{derive, validate, ValidateOptions};

fuzz_target!(|data: &[u8]| {
    for date_format in [DateFormat::Iso, DateFormat::Dmy] {
        let loaded = read_csv_bytes("fuzz.csv", data, &ReadOptions {
            date_format,
            ..ReadOptions::default()
        });
        let v = validate(&loaded.cohort, &ValidateOptions::default());
        let _ = derive(&loaded.cohort, &v.readers.selection(), 365);
    }
});
