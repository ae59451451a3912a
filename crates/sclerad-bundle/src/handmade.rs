//! Workbooks written by hand, cell by cell, as no spreadsheet program would
//! write them: rows out of order, cells at any address, any cell type with
//! any text. For tests and fuzzing of the workbook reader; not for bundles.

use std::io::Write;

const CONTENT_TYPES: &str = r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#;
const RELS: &str = r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#;
const WORKBOOK: &str = r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="patients" sheetId="1" r:id="rId1"/></sheets></workbook>"#;
const WORKBOOK_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#;

/// An `.xlsx` workbook whose one sheet, `patients`, holds `rows`: the
/// `<row>` elements of its `<sheetData>`, as XML.
pub fn workbook(rows: &str) -> Vec<u8> {
    let sheet = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>{rows}</sheetData></worksheet>"#
    );
    let mut out = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut out);
    let options = zip::write::SimpleFileOptions::default();
    let parts = [
        ("[Content_Types].xml", CONTENT_TYPES),
        ("_rels/.rels", RELS),
        ("xl/workbook.xml", WORKBOOK),
        ("xl/_rels/workbook.xml.rels", WORKBOOK_RELS),
        ("xl/worksheets/sheet1.xml", sheet.as_str()),
    ];
    for (name, text) in parts {
        // Writing into memory fails only on exhausted memory.
        let _ = zip.start_file(name, options);
        let _ = zip.write_all(text.as_bytes());
    }
    let _ = zip.finish();
    out.into_inner()
}

/// A cell with an inline text, without an address.
pub fn inline(text: &str) -> String {
    format!(r#"<c t="inlineStr"><is><t>{}</t></is></c>"#, escape(text))
}

/// Row `number` (1-based, as written in `r`) of inline text cells from
/// column A on.
pub fn row(number: u64, cells: &[&str]) -> String {
    let cells: String = cells
        .iter()
        .enumerate()
        .map(|(c, v)| {
            format!(
                r#"<c r="{}{number}" t="inlineStr"><is><t>{}</t></is></c>"#,
                column_name(c as u64),
                escape(v)
            )
        })
        .collect();
    format!(r#"<row r="{number}">{cells}</row>"#)
}

/// A cell at row `row`, column `column` (0-based; any size, even past a
/// sheet's limits) of type `kind` (`t` as in the format: `inlineStr`,
/// `str`, `s`, `n`, `b`, `e`, `d`, or anything) holding `text`.
pub fn cell(row: u64, column: u64, kind: &str, text: &str) -> String {
    let address = format!("{}{}", column_name(column), row + 1);
    match kind {
        "inlineStr" => format!(
            r#"<c r="{address}" t="inlineStr"><is><t>{}</t></is></c>"#,
            escape(text)
        ),
        _ => format!(
            r#"<c r="{address}" t="{}"><v>{}</v></c>"#,
            escape(kind),
            escape(text)
        ),
    }
}

/// Column letters: 0 is `A`, 25 `Z`, 26 `AA`.
pub fn column_name(column: u64) -> String {
    crate::tables::column_letter(usize::try_from(column).unwrap_or(usize::MAX))
}

/// Text made safe inside an XML element or attribute (characters XML 1.0
/// cannot hold are dropped).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_named_as_spreadsheets_name_them() {
        assert_eq!(column_name(0), "A");
        assert_eq!(column_name(25), "Z");
        assert_eq!(column_name(26), "AA");
        assert_eq!(column_name(16_383), "XFD");
        assert_eq!(escape("a<b&\u{1}c"), "a&lt;b&amp;c");
    }
}
