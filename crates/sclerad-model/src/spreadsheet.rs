//! Text from the data in files meant to be opened in a spreadsheet: a cell
//! that starts like a formula (`=`, `+`, `-`, `@`, a tab, a carriage
//! return) would be run by Excel or LibreOffice (`=HYPERLINK(…)`), so such
//! text is written with a leading apostrophe (OWASP's rule for CSV
//! injection). Numbers (`-1.5`) are left as they are. Bundle exports are
//! written byte-exact instead, for round trips.

use std::borrow::Cow;

/// Whether `text` starts as a spreadsheet formula would and is not a
/// number.
pub fn formula_like(text: &str) -> bool {
    text.starts_with(['=', '+', '-', '@', '\t', '\r']) && text.trim().parse::<f64>().is_err()
}

/// `text` as a spreadsheet shows it without running it: with a leading
/// apostrophe when it starts like a formula.
pub fn spreadsheet_safe(text: &str) -> Cow<'_, str> {
    if formula_like(text) {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_defused_numbers_kept() {
        for formula in [
            "=HYPERLINK(\"http://x\", \"click\")",
            "+1+1",
            "-2+3",
            "@SUM(A1)",
            "\tP01",
            "\rP01",
        ] {
            assert!(formula_like(formula), "{formula:?}");
            assert_eq!(spreadsheet_safe(formula), format!("'{formula}"));
        }
        for plain in ["P01", "-1.5", "+3", "1e-5", "rad1", "", "a=b"] {
            assert!(!formula_like(plain), "{plain:?}");
            assert_eq!(spreadsheet_safe(plain), plain);
        }
    }
}
