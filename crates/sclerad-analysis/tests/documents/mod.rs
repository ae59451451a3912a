//! The user documents against the code, so that they cannot drift apart:
//!
//! * `docs/bundle-format.md`: every code list (vocabularies and table
//!   columns, with their aliases), the CT types' default coverage, the kind
//!   of each hand site and where each lesion may be recorded, the vertebral
//!   levels, and the problem codes the reader and the validation raise;
//! * `docs/analysis-plan.md`: every setting with its default, every field
//!   of `results.json` (object by object), the values of the enumerated
//!   fields, and the results `format`.
//!
//! The documents mark each checked list with an HTML comment, invisible
//! when rendered: `<!-- KIND: ARGUMENT -->` before a markdown table and
//! `<!-- /KIND -->` after it. The table's first column holds one name in
//! backticks per row; cells must not contain `|`.

use std::collections::{BTreeMap, BTreeSet};

use sclerad_analysis::results::FORMAT;
use sclerad_analysis::{analyze, InputInfo, Settings};
use sclerad_model::{
    CtType, HandColumn, HandSide, HandSite, Lesion, LevelSet, Morphology, PatientColumn, Sex,
    SpineColumn, SpineFlag, SpineSegment, SpineSide, Subset, VertebralLevel,
};
use serde_json::Value;

const BUNDLE_FORMAT: &str = include_str!("../../../../docs/bundle-format.md");
const ANALYSIS_PLAN: &str = include_str!("../../../../docs/analysis-plan.md");
const BUNDLE_FORMAT_PATH: &str = "docs/bundle-format.md";
const ANALYSIS_PLAN_PATH: &str = "docs/analysis-plan.md";

/// The source files that raise problems, searched for problem codes (the
/// code before `#[cfg(test)]`): every `"kebab-case"` string literal in
/// them is a problem code.
const PROBLEM_SOURCES: [(&str, &str); 7] = [
    (
        "crates/sclerad-bundle/src/lib.rs",
        include_str!("../../../sclerad-bundle/src/lib.rs"),
    ),
    (
        "crates/sclerad-bundle/src/raw.rs",
        include_str!("../../../sclerad-bundle/src/raw.rs"),
    ),
    (
        "crates/sclerad-bundle/src/cell.rs",
        include_str!("../../../sclerad-bundle/src/cell.rs"),
    ),
    (
        "crates/sclerad-bundle/src/tables.rs",
        include_str!("../../../sclerad-bundle/src/tables.rs"),
    ),
    (
        "crates/sclerad-bundle/src/xlsx.rs",
        include_str!("../../../sclerad-bundle/src/xlsx.rs"),
    ),
    (
        "crates/sclerad-model/src/validate.rs",
        include_str!("../../../sclerad-model/src/validate.rs"),
    ),
    (
        "crates/sclerad-bundle/src/append.rs",
        include_str!("../../../sclerad-bundle/src/append.rs"),
    ),
];

/// The marker kinds the documents may use.
const KINDS: [&str; 6] = [
    "codes",
    "levels",
    "lesion-sites",
    "problem-codes",
    "settings",
    "results",
];

/// One row of a marked table.
#[derive(Debug, Clone)]
struct Row {
    /// Line number in the document (1-based).
    line: usize,
    cells: Vec<String>,
}

/// A marked table: `<!-- KIND: ARGUMENT -->` … `<!-- /KIND -->`.
#[derive(Debug, Clone)]
struct Block {
    kind: String,
    argument: String,
    /// Line of the opening marker.
    line: usize,
    header: Vec<String>,
    rows: Vec<Row>,
}

impl Block {
    fn marker(&self) -> String {
        if self.argument.is_empty() {
            format!("<!-- {} -->", self.kind)
        } else {
            format!("<!-- {}: {} -->", self.kind, self.argument)
        }
    }

    /// Where the block is, for messages.
    fn at(&self, doc: &str) -> String {
        format!("{doc}, table {} (line {})", self.marker(), self.line)
    }

    /// The position of the column whose header is `name` (case-insensitive).
    fn column(&self, name: &str) -> Option<usize> {
        self.header
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name))
    }
}

fn split_row(line: &str) -> Vec<String> {
    let inner = line.trim();
    let inner = inner.strip_prefix('|').unwrap_or(inner);
    let inner = inner.strip_suffix('|').unwrap_or(inner);
    inner.split('|').map(|c| c.trim().to_string()).collect()
}

fn is_separator(cells: &[String]) -> bool {
    cells.iter().all(|c| {
        !c.is_empty() && c.chars().all(|ch| matches!(ch, '-' | ':' | ' ')) && c.contains('-')
    })
}

/// Every marked block of `text`; malformed markers become faults.
fn blocks(doc: &str, text: &str, faults: &mut Vec<String>) -> Vec<Block> {
    let mut out = Vec::new();
    let mut open: Option<(Block, Vec<Row>)> = None;
    for (i, line) in text.lines().enumerate() {
        let number = i + 1;
        let t = line.trim();
        if let Some(inner) = t
            .strip_prefix("<!--")
            .and_then(|s| s.strip_suffix("-->"))
            .map(str::trim)
        {
            if let Some(kind) = inner.strip_prefix('/') {
                let kind = kind.trim();
                match open.take() {
                    Some((mut block, mut rows)) if block.kind == kind => {
                        if rows.len() < 2 || !is_separator(&rows[1].cells) {
                            faults.push(format!(
                                "{}: it must hold a markdown table (a header row, a separator row `|---|`, then the rows)",
                                block.at(doc)
                            ));
                        } else {
                            block.header = rows.remove(0).cells;
                            rows.remove(0);
                            block.rows = rows;
                            out.push(block);
                        }
                    }
                    Some((block, _)) => faults.push(format!(
                        "{doc}, line {number}: <!-- /{kind} --> closes {} (line {}); close it with <!-- /{} -->",
                        block.marker(),
                        block.line,
                        block.kind
                    )),
                    None => faults.push(format!(
                        "{doc}, line {number}: <!-- /{kind} --> closes no open table: remove it"
                    )),
                }
                continue;
            }
            let (kind, argument) = match inner.split_once(':') {
                Some((k, a)) => (k.trim(), a.trim()),
                None => (inner, ""),
            };
            if !KINDS.contains(&kind) {
                // Some other comment: not a marker.
                continue;
            }
            if let Some((block, _)) = &open {
                faults.push(format!(
                    "{doc}, line {number}: {} (line {}) is not closed before this marker: add <!-- /{} --> after its table",
                    block.marker(),
                    block.line,
                    block.kind
                ));
            }
            open = Some((
                Block {
                    kind: kind.to_string(),
                    argument: argument.to_string(),
                    line: number,
                    header: Vec::new(),
                    rows: Vec::new(),
                },
                Vec::new(),
            ));
            continue;
        }
        if let Some((_, rows)) = &mut open {
            if t.starts_with('|') {
                rows.push(Row {
                    line: number,
                    cells: split_row(t),
                });
            }
        }
    }
    if let Some((block, _)) = open {
        faults.push(format!(
            "{}: never closed: add <!-- /{} --> after its table",
            block.at(doc),
            block.kind
        ));
    }
    out
}

/// The spans in backticks of a cell.
fn backticked(cell: &str) -> Vec<String> {
    cell.split('`')
        .skip(1)
        .step_by(2)
        .map(|s| s.trim().to_string())
        .collect()
}

/// The one name in backticks of a row's first cell.
fn first_name(doc: &str, block: &Block, row: &Row, faults: &mut Vec<String>) -> Option<String> {
    let cell = row.cells.first().map(String::as_str).unwrap_or("");
    let names = backticked(cell);
    match names.as_slice() {
        [name] if cell.trim() == format!("`{name}`") => Some(name.clone()),
        _ => {
            faults.push(format!(
                "{}, line {}: the first column must hold exactly one name in backticks, like `calcinosis`; it holds {cell:?}",
                block.at(doc),
                row.line
            ));
            None
        }
    }
}

/// Compares a list in the document with the code's: what to add, remove
/// or reorder.
fn compare_lists(at: &str, what: &str, doc: &[String], code: &[String], faults: &mut Vec<String>) {
    let mut seen = BTreeSet::new();
    for d in doc {
        if !seen.insert(d) {
            faults.push(format!("{at}: `{d}` is listed twice: remove one row"));
        }
    }
    let mut changed = false;
    for (i, c) in code.iter().enumerate() {
        if !doc.contains(c) {
            changed = true;
            let place = match i {
                0 => "as the first row".to_string(),
                _ => format!("after `{}`", code[i - 1]),
            };
            faults.push(format!(
                "{at}: `{c}` is {what} in the code but not in the document: add a row for `{c}` {place}"
            ));
        }
    }
    for d in doc {
        if !code.contains(d) {
            changed = true;
            faults.push(format!(
                "{at}: `{d}` is not {what} in the code: remove its row"
            ));
        }
    }
    if !changed && seen.len() == doc.len() && doc != code {
        let order: Vec<String> = code.iter().map(|c| format!("`{c}`")).collect();
        faults.push(format!(
            "{at}: the rows are not in the code's order: put them in this order: {}",
            order.join(", ")
        ));
    }
}

/// A vocabulary of the code: each code with its aliases.
struct Vocabulary {
    name: &'static str,
    entries: Vec<(String, Vec<String>)>,
}

fn vocabulary<T: Copy>(
    name: &'static str,
    all: &[T],
    code: fn(T) -> &'static str,
    aliases: fn(T) -> &'static [&'static str],
) -> Vocabulary {
    Vocabulary {
        name,
        entries: all
            .iter()
            .map(|v| {
                (
                    code(*v).to_string(),
                    aliases(*v).iter().map(|a| a.to_string()).collect(),
                )
            })
            .collect(),
    }
}

/// Every code list `docs/bundle-format.md` must hold, as the code has it.
fn vocabularies() -> Vec<Vocabulary> {
    vec![
        vocabulary("Sex", Sex::ALL, Sex::code, Sex::aliases),
        vocabulary("Subset", Subset::ALL, Subset::code, Subset::aliases),
        vocabulary("CtType", CtType::ALL, CtType::code, CtType::aliases),
        vocabulary("Lesion", Lesion::ALL, Lesion::code, Lesion::aliases),
        vocabulary("HandSide", HandSide::ALL, HandSide::code, HandSide::aliases),
        vocabulary("HandSite", HandSite::ALL, HandSite::code, HandSite::aliases),
        vocabulary(
            "SpineSegment",
            SpineSegment::ALL,
            SpineSegment::code,
            SpineSegment::aliases,
        ),
        vocabulary(
            "SpineSide",
            SpineSide::ALL,
            SpineSide::code,
            SpineSide::aliases,
        ),
        vocabulary(
            "Morphology",
            Morphology::ALL,
            Morphology::code,
            Morphology::aliases,
        ),
        vocabulary(
            "SpineFlag",
            SpineFlag::ALL,
            SpineFlag::code,
            SpineFlag::aliases,
        ),
        vocabulary(
            "PatientColumn",
            PatientColumn::ALL,
            PatientColumn::code,
            PatientColumn::aliases,
        ),
        vocabulary(
            "HandColumn",
            HandColumn::ALL,
            HandColumn::code,
            HandColumn::aliases,
        ),
        vocabulary(
            "SpineColumn",
            SpineColumn::ALL,
            SpineColumn::code,
            SpineColumn::aliases,
        ),
    ]
}

/// The blocks of one kind, by argument; a repeated argument is a fault.
fn by_argument<'b>(
    doc: &str,
    blocks: &'b [Block],
    kind: &str,
    faults: &mut Vec<String>,
) -> BTreeMap<String, &'b Block> {
    let mut out = BTreeMap::new();
    for b in blocks.iter().filter(|b| b.kind == kind) {
        if let Some(first) = out.insert(b.argument.clone(), b) {
            faults.push(format!(
                "{}: {} is already used at line {}: keep one table per list",
                b.at(doc),
                b.marker(),
                first.line
            ));
        }
    }
    out
}

/// The rows of a code-list block: name, aliases and the row.
fn code_rows<'b>(
    doc: &str,
    block: &'b Block,
    faults: &mut Vec<String>,
) -> Vec<(String, Vec<String>, &'b Row)> {
    let aliases = block.column("aliases");
    block
        .rows
        .iter()
        .filter_map(|row| {
            let name = first_name(doc, block, row, faults)?;
            let listed = aliases
                .and_then(|i| row.cells.get(i))
                .map(|c| backticked(c))
                .unwrap_or_default();
            Some((name, listed, row))
        })
        .collect()
}

fn cell(row: &Row, column: Option<usize>) -> &str {
    column
        .and_then(|i| row.cells.get(i))
        .map(String::as_str)
        .unwrap_or("")
}

/// `SoftTissue` → `soft tissue`: a site kind as the document writes it.
fn kind_name(kind: sclerad_model::SiteKind) -> String {
    let mut out = String::new();
    for ch in format!("{kind:?}").chars() {
        if ch.is_uppercase() && !out.is_empty() {
            out.push(' ');
        }
        out.extend(ch.to_lowercase());
    }
    out
}

fn report(faults: &[String]) {
    assert!(
        faults.is_empty(),
        "\nthe documents disagree with the code ({} problem(s)); fix the documents (or the code):\n\n{}\n",
        faults.len(),
        faults.join("\n")
    );
}

#[test]
fn bundle_format_code_lists_match_the_code() {
    let doc = BUNDLE_FORMAT_PATH;
    let mut faults = Vec::new();
    let all = blocks(doc, BUNDLE_FORMAT, &mut faults);
    let lists = by_argument(doc, &all, "codes", &mut faults);
    let known = vocabularies();
    for name in lists.keys() {
        if !known.iter().any(|v| v.name == name) {
            let names: Vec<&str> = known.iter().map(|v| v.name).collect();
            faults.push(format!(
                "{}: `{name}` is not a code list the test knows ({}): rename the marker, or teach the test",
                lists[name].at(doc),
                names.join(", ")
            ));
        }
    }
    for v in &known {
        let Some(block) = lists.get(v.name) else {
            faults.push(format!(
                "{doc}: no table for {}: add its codes as a table between <!-- codes: {} --> and <!-- /codes -->, first column the code in backticks, in this order: {}",
                v.name,
                v.name,
                v.entries.iter().map(|(c, _)| format!("`{c}`")).collect::<Vec<_>>().join(", ")
            ));
            continue;
        };
        let at = block.at(doc);
        let rows = code_rows(doc, block, &mut faults);
        let doc_codes: Vec<String> = rows.iter().map(|(c, _, _)| c.clone()).collect();
        let code_codes: Vec<String> = v.entries.iter().map(|(c, _)| c.clone()).collect();
        compare_lists(
            &at,
            &format!("a code of {}", v.name),
            &doc_codes,
            &code_codes,
            &mut faults,
        );
        let has_alias_column = block.column("aliases").is_some();
        for (code, aliases) in &v.entries {
            let Some((_, listed, row)) = rows.iter().find(|(c, _, _)| c == code) else {
                continue;
            };
            if !has_alias_column {
                if !aliases.is_empty() {
                    faults.push(format!(
                        "{at}: `{code}` has the aliases {aliases:?} in the code: add an `aliases` column to the table and write them there in backticks"
                    ));
                }
                continue;
            }
            if listed != aliases {
                let want = if aliases.is_empty() {
                    "none (write —)".to_string()
                } else {
                    aliases
                        .iter()
                        .map(|a| format!("`{a}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                faults.push(format!(
                    "{at}, line {}: the aliases of `{code}` are {listed:?} in the document but the code accepts {aliases:?}: write {want}",
                    row.line
                ));
            }
        }
        // The default coverage of each CT type.
        if v.name == "CtType" {
            let column = block.column("default coverage");
            if column.is_none() {
                faults.push(format!(
                    "{at}: add a `default coverage` column giving each CT type's default levels"
                ));
            }
            for t in CtType::ALL {
                let Some((_, _, row)) = rows.iter().find(|(c, _, _)| c == t.code()) else {
                    continue;
                };
                let want = LevelSet::default_for(*t).to_string();
                let have = backticked(cell(row, column));
                if column.is_some() && have != [want.clone()] {
                    faults.push(format!(
                        "{at}, line {}: the default coverage of `{t}` is `{want}` in the code: write `{want}` (the document has {have:?})",
                        row.line
                    ));
                }
            }
        }
        // The kind of each hand site.
        if v.name == "HandSite" {
            let column = block.column("kind");
            if column.is_none() {
                faults.push(format!(
                    "{at}: add a `kind` column giving each site's kind (tuft, soft tissue, finger joint, wrist joint)"
                ));
            }
            for site in HandSite::ALL {
                let Some((_, _, row)) = rows.iter().find(|(c, _, _)| c == site.code()) else {
                    continue;
                };
                let want = kind_name(site.kind());
                let have = cell(row, column).trim().to_lowercase();
                if column.is_some() && have != want {
                    faults.push(format!(
                        "{at}, line {}: `{site}` is of kind `{want}` in the code: write {want} (the document has {have:?})",
                        row.line
                    ));
                }
            }
        }
    }
    report(&faults);
}

#[test]
fn bundle_format_levels_lesion_sites_and_problem_codes_match_the_code() {
    let doc = BUNDLE_FORMAT_PATH;
    let mut faults = Vec::new();
    let all = blocks(doc, BUNDLE_FORMAT, &mut faults);

    // Vertebral levels: every code in backticks, in order.
    let levels: Vec<String> = VertebralLevel::all().map(|l| l.code()).collect();
    match all.iter().find(|b| b.kind == "levels") {
        None => faults.push(format!(
            "{doc}: no table of the vertebral levels: add one between <!-- levels --> and <!-- /levels --> holding, in backticks and in this order: {}",
            levels.join(" ")
        )),
        Some(block) => {
            let listed: Vec<String> = block
                .rows
                .iter()
                .flat_map(|r| r.cells.iter().flat_map(|c| backticked(c)))
                .collect();
            compare_lists(&block.at(doc), "a vertebral level", &listed, &levels, &mut faults);
        }
    }

    // Where each lesion may be recorded, by kind of site.
    let mut kinds: Vec<(String, Vec<HandSite>)> = Vec::new();
    for site in HandSite::ALL {
        let name = kind_name(site.kind());
        match kinds.iter_mut().find(|(k, _)| *k == name) {
            Some((_, sites)) => sites.push(*site),
            None => kinds.push((name, vec![*site])),
        }
    }
    match all.iter().find(|b| b.kind == "lesion-sites") {
        None => faults.push(format!(
            "{doc}: no table of where each lesion may be recorded: add one between <!-- lesion-sites --> and <!-- /lesion-sites -->, a row per lesion and a yes/no column per kind of site ({})",
            kinds.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>().join(", ")
        )),
        Some(block) => {
            let at = block.at(doc);
            for (name, _) in &kinds {
                if block.column(name).is_none() {
                    faults.push(format!("{at}: add a column `{name}` (a kind of hand site)"));
                }
            }
            for h in block.header.iter().skip(1) {
                if !kinds.iter().any(|(k, _)| k.eq_ignore_ascii_case(h.trim())) {
                    faults.push(format!(
                        "{at}: the column `{h}` is not a kind of hand site in the code: remove it"
                    ));
                }
            }
            let rows: Vec<(String, &Row)> = block
                .rows
                .iter()
                .filter_map(|r| first_name(doc, block, r, &mut faults).map(|n| (n, r)))
                .collect();
            let names: Vec<String> = rows.iter().map(|(n, _)| n.clone()).collect();
            let lesions: Vec<String> = Lesion::ALL.iter().map(|l| l.code().to_string()).collect();
            compare_lists(&at, "a lesion", &names, &lesions, &mut faults);
            for lesion in Lesion::ALL {
                let Some((_, row)) = rows.iter().find(|(n, _)| n == lesion.code()) else {
                    continue;
                };
                for (kind, sites) in &kinds {
                    let allowed: BTreeSet<bool> =
                        sites.iter().map(|s| lesion.allowed_at(*s)).collect();
                    let [allowed] = allowed.into_iter().collect::<Vec<_>>()[..] else {
                        faults.push(format!(
                            "{at}: `{lesion}` is allowed at some `{kind}` sites and not at others: the table cannot say so; list the sites in the document instead"
                        ));
                        continue;
                    };
                    let want = if allowed { "yes" } else { "no" };
                    let Some(column) = block.column(kind) else {
                        continue;
                    };
                    let have = cell(row, Some(column)).trim().to_lowercase();
                    if have != want {
                        faults.push(format!(
                            "{at}, line {}: `{lesion}` at a `{kind}` site is {} in the code: write {want} (the document has {have:?})",
                            row.line,
                            if allowed { "allowed" } else { "not allowed" }
                        ));
                    }
                }
            }
        }
    }

    // Problem codes: every one the sources raise, and no other.
    let mut raised: BTreeMap<String, &str> = BTreeMap::new();
    for (file, text) in PROBLEM_SOURCES {
        let code = text.split("#[cfg(test)]").next().unwrap_or(text);
        for found in kebab_literals(code) {
            raised.entry(found).or_insert(file);
        }
    }
    match all.iter().find(|b| b.kind == "problem-codes") {
        None => faults.push(format!(
            "{doc}: no table of problem codes: add one between <!-- problem-codes --> and <!-- /problem-codes --> with a row for each of: {}",
            raised.keys().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")
        )),
        Some(block) => {
            let at = block.at(doc);
            let severity = block.column("severity");
            if severity.is_none() {
                faults.push(format!("{at}: add a `severity` column (error, warning or note)"));
            }
            let mut listed = BTreeSet::new();
            for row in &block.rows {
                let Some(name) = first_name(doc, block, row, &mut faults) else {
                    continue;
                };
                if !listed.insert(name.clone()) {
                    faults.push(format!("{at}, line {}: `{name}` is listed twice: remove one row", row.line));
                }
                if !raised.contains_key(&name) {
                    faults.push(format!(
                        "{at}, line {}: `{name}` is not raised by the code: remove its row",
                        row.line
                    ));
                }
                let words: Vec<String> = cell(row, severity)
                    .split(|c: char| !c.is_alphabetic())
                    .filter(|w| !w.is_empty() && *w != "or")
                    .map(str::to_lowercase)
                    .collect();
                if severity.is_some()
                    && (words.is_empty()
                        || words.iter().any(|w| !["error", "warning", "note"].contains(&w.as_str())))
                {
                    faults.push(format!(
                        "{at}, line {}: the severity of `{name}` must be error, warning or note (or, e.g., `error or note`)",
                        row.line
                    ));
                }
            }
            for (code, file) in &raised {
                if !listed.contains(code) {
                    faults.push(format!(
                        "{at}: the problem code `{code}` (raised in {file}) is not documented: add a row for it with its severity and when it is reported"
                    ));
                }
            }
        }
    }
    report(&faults);
}

/// The string literals of `code` made of lower-case words joined by `-`
/// (`"bad-boolean"`): the form of every problem code.
fn kebab_literals(code: &str) -> Vec<String> {
    let bytes = code.as_bytes();
    let mut out = Vec::new();
    for (i, b) in bytes.iter().enumerate() {
        if *b != b'"' {
            continue;
        }
        let rest = &code[i + 1..];
        let end = rest
            .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'))
            .unwrap_or(rest.len());
        let word = &rest[..end];
        let kebab = word.contains('-')
            && word.starts_with(|c: char| c.is_ascii_lowercase())
            && !word.ends_with('-')
            && !word.contains("--");
        if kebab && rest[end..].starts_with('"') {
            out.push(word.to_string());
        }
    }
    out
}

/// Whether two JSON values are the same default (numbers compared as
/// numbers, so the document may write `5` or `5.0`).
fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

fn settings_block<'b>(
    blocks: &'b [Block],
    faults: &mut Vec<String>,
) -> Option<(&'b Block, Vec<(String, &'b Row)>)> {
    let doc = ANALYSIS_PLAN_PATH;
    let Some(block) = blocks.iter().find(|b| b.kind == "settings") else {
        faults.push(format!(
            "{doc}: no table of the settings: add one between <!-- settings --> and <!-- /settings -->, a row per setting (name in backticks) with a `default` column"
        ));
        return None;
    };
    let rows = block
        .rows
        .iter()
        .filter_map(|r| first_name(doc, block, r, faults).map(|n| (n, r)))
        .collect();
    Some((block, rows))
}

#[test]
fn analysis_plan_settings_match_the_defaults() {
    let doc = ANALYSIS_PLAN_PATH;
    let mut faults = Vec::new();
    let all = blocks(doc, ANALYSIS_PLAN, &mut faults);
    let defaults = serde_json::to_value(Settings::default()).expect("settings serialise");
    let Value::Object(defaults) = defaults else {
        panic!("the settings serialise as an object");
    };
    if let Some((block, rows)) = settings_block(&all, &mut faults) {
        let at = block.at(doc);
        let column = block.column("default");
        if column.is_none() {
            faults.push(format!(
                "{at}: add a `default` column with each default as JSON in backticks"
            ));
        }
        for (name, value) in &defaults {
            let want = serde_json::to_string(value).expect("json");
            let Some((_, row)) = rows.iter().find(|(n, _)| n == name) else {
                faults.push(format!(
                    "{at}: the setting `{name}` is not documented: add a row `{name}` with the default `{want}`, its type and meaning"
                ));
                continue;
            };
            let Some(column) = column else { continue };
            let written = backticked(cell(row, Some(column)));
            let parsed = written
                .first()
                .and_then(|w| serde_json::from_str::<Value>(w).ok());
            if !parsed.is_some_and(|p| same_value(&p, value)) {
                faults.push(format!(
                    "{at}, line {}: the default of `{name}` is `{want}` in the code: write `{want}` as the first backticked value of the default column (the document has {:?})",
                    row.line,
                    cell(row, Some(column))
                ));
            }
        }
        let mut seen = BTreeSet::new();
        for (name, row) in &rows {
            if !seen.insert(name) {
                faults.push(format!(
                    "{at}, line {}: `{name}` is listed twice: remove one row",
                    row.line
                ));
            }
            if !defaults.contains_key(name) {
                faults.push(format!(
                    "{at}, line {}: `{name}` is not a field of Settings: remove its row",
                    row.line
                ));
            }
        }
    }
    report(&faults);
}

/// Records, for each object path of a JSON value (`comparisons[]`,
/// `survival[].km[]`, `results` for the top level), the union of its keys,
/// and the string values of the enumerated fields.
fn walk(
    value: &Value,
    path: &str,
    keys: &mut BTreeMap<String, BTreeSet<String>>,
    values: &mut BTreeMap<String, BTreeSet<String>>,
) {
    match value {
        Value::Object(map) => {
            let set = keys.entry(path.to_string()).or_default();
            set.extend(map.keys().cloned());
            for (k, v) in map {
                if let Value::String(s) = v {
                    if ENUMERATED.contains(&k.as_str()) {
                        values.entry(k.clone()).or_default().insert(s.clone());
                    }
                }
                let child = if path == "results" {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                walk(v, &child, keys, values);
            }
        }
        Value::Array(items) => {
            for item in items {
                walk(item, &format!("{path}[]"), keys, values);
            }
        }
        _ => {}
    }
}

/// The table documenting one results object: where it is, and its rows
/// (field name and row).
type Documented<'b> = (String, Vec<(String, &'b Row)>);

/// Fields whose values are codes a reader of the results must know.
const ENUMERATED: [&str; 7] = [
    "format",
    "family",
    "outcome_type",
    "test",
    "group",
    "kind",
    "modality",
];

#[test]
fn analysis_plan_documents_every_results_field() {
    let doc = ANALYSIS_PLAN_PATH;
    let mut faults = Vec::new();
    let all = blocks(doc, ANALYSIS_PLAN, &mut faults);
    let input = InputInfo {
        path: "demo".into(),
        sha256: "0".repeat(64),
    };
    let results = analyze(&sclerad_synth::nancy_demo(), &Settings::default(), &input)
        .expect("the demo analyses");
    assert_eq!(results.format, FORMAT);
    let json = serde_json::to_value(&results).expect("results serialise");
    let mut keys = BTreeMap::new();
    let mut values = BTreeMap::new();
    walk(&json, "results", &mut keys, &mut values);

    if !ANALYSIS_PLAN.contains(&format!("`{FORMAT}`")) {
        faults.push(format!(
            "{doc}: the results format `{FORMAT}` is not named: write it in backticks"
        ));
    }

    // Each object path is documented by the `results` tables naming it
    // (`<!-- results: population, population_by_subset.lcssc -->`); the
    // settings object by the settings table.
    let mut documented: BTreeMap<String, Documented<'_>> = BTreeMap::new();
    for block in all.iter().filter(|b| b.kind == "results") {
        let rows: Vec<(String, &Row)> = block
            .rows
            .iter()
            .filter_map(|r| first_name(doc, block, r, &mut faults).map(|n| (n, r)))
            .collect();
        for path in block.argument.split(',').map(str::trim) {
            if path.is_empty() {
                faults.push(format!(
                    "{}: name the object path(s) it documents, e.g. <!-- results: comparisons[] -->",
                    block.at(doc)
                ));
                continue;
            }
            if let Some((other, _)) = documented.get(path) {
                faults.push(format!(
                    "{}: `{path}` is already documented by {other}: keep one table per object",
                    block.at(doc)
                ));
                continue;
            }
            documented.insert(path.to_string(), (block.at(doc), rows.clone()));
        }
    }
    if let Some((block, rows)) = settings_block(&all, &mut faults) {
        documented.insert("settings".into(), (block.at(doc), rows));
    }

    for (path, present) in &keys {
        let Some((at, rows)) = documented.get(path) else {
            faults.push(format!(
                "{doc}: the results object `{path}` has no table: add a table between <!-- results: {path} --> and <!-- /results --> with a row for each of its fields: {}",
                present.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
            ));
            continue;
        };
        let mut seen = BTreeSet::new();
        for (name, row) in rows {
            if !seen.insert(name) {
                faults.push(format!(
                    "{at}, line {}: `{name}` is listed twice: remove one row",
                    row.line
                ));
            }
            // A field the program may leave out is marked "optional" in
            // its type column (the demo need not have it).
            let optional = row.cells.get(1).is_some_and(|t| t.contains("optional"));
            if !present.contains(name) && !optional {
                faults.push(format!(
                    "{at}, line {}: the results have no field `{name}` in `{path}`: remove its row (or, if the field is left out when empty, write \"optional\" in its type column)",
                    row.line
                ));
            }
        }
        for key in present {
            if !rows.iter().any(|(n, _)| n == key) {
                faults.push(format!(
                    "{at}: the field `{key}` of `{path}` is not documented: add a row `{key}` with its type and meaning"
                ));
            }
        }
    }
    for (path, (at, _)) in &documented {
        if !keys.contains_key(path) {
            faults.push(format!(
                "{at}: the demo results have no object at `{path}`: fix the path or remove the table (paths look like `input`, `comparisons[]`, `survival[].km[]`; the top level is `results`)"
            ));
        }
    }

    // The codes the enumerated fields take.
    for (field, seen) in &values {
        for v in seen {
            if !ANALYSIS_PLAN.contains(&format!("`{v}`")) {
                faults.push(format!(
                    "{doc}: the results write `{v}` as a value of `{field}`, which the document never names: describe it (in backticks)"
                ));
            }
        }
    }
    report(&faults);
}
