//! One exam's findings as a reader submits them (outside a bundle file: the
//! study server's reading forms and API), checked with exactly the
//! vocabularies and rules of the bundle format and turned into the
//! canonical cells of a readings row — the text an export writes.

use std::collections::BTreeMap;

use crate::codes::{HandSide, HandSite, Lesion, Morphology, SpineSegment, SpineSide};
use crate::cohort::{HandColumn, SpineColumn};
use crate::level::{LevelSet, VertebralLevel};
use crate::CtType;

crate::codes! {
    /// The two imaging exams of a study patient.
    pub enum Modality ("an exam modality") {
        /// The hand radiograph (both hands, PA view).
        HandRadiograph = "hand_radiograph",
        /// The thoracic, thoraco-abdomino-pelvic or lumbar CT.
        Ct = "ct",
    }
}

/// Cells of one record by column name, in the canonical text of the bundle
/// format (lower-case codes, ISO dates, `yes`/`no`); a missing value has no
/// entry. Kept sorted so that its JSON, and so its audit hash, is stable.
pub type Cells = BTreeMap<String, String>;

/// The most findings one exam's reading can hold: one per side, site and
/// lesion on a hand radiograph (2 × 27 × 7 = 378), which is also more than
/// a CT's one per level, segment and side (25 × 3 × 5 = 375).
pub const MAX_FINDINGS: usize = HandSide::ALL.len() * HandSite::ALL.len() * Lesion::ALL.len();

/// One finding as submitted. A hand radiograph finding has `side`, `site`,
/// `lesion` and optionally `grade`; a CT finding has `level`, `segment`,
/// optionally `foraminal` (canal only), `side` and `morphology`. An empty
/// list of findings means "read, nothing found".
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Finding {
    /// `left`/`right` (hand); `left`/`right`/`midline`/`bilateral` (CT).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub side: Option<String>,
    /// Hand site code (`tuft_d1`, `pip_d3`, `wrist`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    /// Hand lesion code (`calcinosis`, `acro_osteolysis`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lesion: Option<String>,
    /// Semi-quantitative grade 0–3 (hand).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grade: Option<u8>,
    /// Vertebral level (`c1`…`s1`), inside the CT's coverage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<String>,
    /// `anterior`, `canal` or `posterior`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment: Option<String>,
    /// Foraminal extension of a canal calcification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub foraminal: Option<bool>,
    /// `punctate`, `nodular`, `linear`, `amorphous` or `mass`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub morphology: Option<String>,
    /// Where it was seen: the de-identified SOP Instance UID of an image
    /// of the exam (version 2 of the format).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_uid: Option<String>,
    /// The frame of a multi-frame image, from 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frame: Option<u32>,
    /// The point on the image: column and row, in pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<f64>,
}

/// The mark of a finding as cells (`image_uid`, `frame`, `x`, `y`): a
/// frame or point without the image, or `x` without `y`, is refused.
fn mark_cells(f: &Finding, at: &str, cells: &mut Cells) -> Result<(), FindingError> {
    let field = |name: &str| format!("{at}.{name}");
    let Some(uid) = &f.image_uid else {
        for (present, name) in [
            (f.frame.is_some(), "frame"),
            (f.x.is_some(), "x"),
            (f.y.is_some(), "y"),
        ] {
            if present {
                return Err(FindingError::new(
                    field(name),
                    "a mark needs the image it was made on (image_uid)",
                ));
            }
        }
        return Ok(());
    };
    let uid = uid.trim();
    if uid.is_empty() || uid.len() > 64 || !uid.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return Err(FindingError::new(
            field("image_uid"),
            "an image UID is digits and dots, at most 64 characters",
        ));
    }
    set(cells, "image_uid", uid);
    if let Some(frame) = f.frame {
        if frame == 0 {
            return Err(FindingError::new(field("frame"), "frames count from 1"));
        }
        set(cells, "frame", frame.to_string());
    }
    match (f.x, f.y) {
        (None, None) => {}
        (Some(x), Some(y)) => {
            for (v, name) in [(x, "x"), (y, "y")] {
                if !(v.is_finite() && (0.0..=1e6).contains(&v)) {
                    return Err(FindingError::new(
                        field(name),
                        "a point is at 0 or more pixels, inside the image",
                    ));
                }
            }
            // Tenths of a pixel: what a click can tell.
            set(cells, "x", format_coordinate(x));
            set(cells, "y", format_coordinate(y));
        }
        (Some(_), None) => return Err(FindingError::new(field("y"), "a point has both x and y")),
        (None, Some(_)) => return Err(FindingError::new(field("x"), "a point has both x and y")),
    }
    Ok(())
}

fn format_coordinate(v: f64) -> String {
    let t = (v * 10.0).round() / 10.0;
    format!("{t}")
}

/// Why submitted findings cannot be stored: the field (`findings[2].site`)
/// and the reason, in words a reader can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FindingError {
    /// Where: `findings`, or `findings[i].FIELD`.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl FindingError {
    fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FindingError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// The levels a CT covered, from its `ct_levels` text, else its `ct_type`'s
/// default; `None` when neither says (every level may then be recorded).
pub fn ct_coverage(ct_type: Option<&str>, ct_levels: Option<&str>) -> Option<LevelSet> {
    let levels = ct_levels.and_then(|l| LevelSet::parse(l).ok());
    levels.or_else(|| ct_type.and_then(CtType::parse).map(LevelSet::default_for))
}

fn parsed<T>(
    value: &Option<String>,
    field: &str,
    parse: fn(&str) -> Option<T>,
    expected: &str,
) -> Result<Option<T>, FindingError> {
    match value {
        None => Ok(None),
        Some(text) => parse(text)
            .map(Some)
            .ok_or_else(|| FindingError::new(field, format!("{text:?} is not one of: {expected}"))),
    }
}

fn required<T>(value: Option<T>, field: &str) -> Result<T, FindingError> {
    value.ok_or_else(|| FindingError::new(field, "required"))
}

fn not_for(present: bool, field: &str, modality: Modality) -> Result<(), FindingError> {
    if present {
        Err(FindingError::new(
            field,
            format!("not a field of a {modality} finding"),
        ))
    } else {
        Ok(())
    }
}

fn set(cells: &mut Cells, column: &str, value: impl Into<String>) {
    cells.insert(column.to_string(), value.into());
}

fn hand(f: &Finding, at: &str) -> Result<Cells, FindingError> {
    let field = |name: &str| format!("{at}.{name}");
    let modality = Modality::HandRadiograph;
    not_for(f.level.is_some(), &field("level"), modality)?;
    not_for(f.segment.is_some(), &field("segment"), modality)?;
    not_for(f.foraminal.is_some(), &field("foraminal"), modality)?;
    not_for(f.morphology.is_some(), &field("morphology"), modality)?;
    let side = parsed(
        &f.side,
        &field("side"),
        HandSide::parse,
        &HandSide::expected(),
    )?;
    let side = required(side, &field("side"))?;
    let site = parsed(
        &f.site,
        &field("site"),
        HandSite::parse,
        &HandSite::expected(),
    )?;
    let site = required(site, &field("site"))?;
    let lesion = parsed(
        &f.lesion,
        &field("lesion"),
        Lesion::parse,
        &Lesion::expected(),
    )?;
    let lesion = required(lesion, &field("lesion"))?;
    if !lesion.allowed_at(site) {
        return Err(FindingError::new(
            field("site"),
            format!("{lesion} is recorded only at {}", lesion.allowed_sites()),
        ));
    }
    let mut cells = Cells::new();
    set(&mut cells, HandColumn::Side.code(), side.code());
    set(&mut cells, HandColumn::Site.code(), site.code());
    set(&mut cells, HandColumn::Lesion.code(), lesion.code());
    if let Some(grade) = f.grade {
        if grade > 3 {
            return Err(FindingError::new(field("grade"), "a grade is 0 to 3"));
        }
        set(&mut cells, HandColumn::Grade.code(), grade.to_string());
    }
    mark_cells(f, at, &mut cells)?;
    Ok(cells)
}

fn spine(f: &Finding, at: &str, coverage: Option<LevelSet>) -> Result<Cells, FindingError> {
    let field = |name: &str| format!("{at}.{name}");
    not_for(f.site.is_some(), &field("site"), Modality::Ct)?;
    not_for(f.lesion.is_some(), &field("lesion"), Modality::Ct)?;
    not_for(f.grade.is_some(), &field("grade"), Modality::Ct)?;
    let level = parsed(
        &f.level,
        &field("level"),
        VertebralLevel::parse,
        "c1…c7, t1…t12, l1…l5, s1",
    )?;
    let level = required(level, &field("level"))?;
    if let Some(covered) = coverage {
        if !covered.contains(level) {
            return Err(FindingError::new(
                field("level"),
                format!("{} is outside the CT's coverage ({covered})", level.code()),
            ));
        }
    }
    let segment = parsed(
        &f.segment,
        &field("segment"),
        SpineSegment::parse,
        &SpineSegment::expected(),
    )?;
    let segment = required(segment, &field("segment"))?;
    if f.foraminal == Some(true) && segment != SpineSegment::Canal {
        return Err(FindingError::new(
            field("foraminal"),
            "only a canal calcification can be foraminal",
        ));
    }
    let side = parsed(
        &f.side,
        &field("side"),
        SpineSide::parse,
        &SpineSide::expected(),
    )?;
    let morphology = parsed(
        &f.morphology,
        &field("morphology"),
        Morphology::parse,
        &Morphology::expected(),
    )?;
    let mut cells = Cells::new();
    set(&mut cells, SpineColumn::Level.code(), level.code());
    set(&mut cells, SpineColumn::Segment.code(), segment.code());
    if let Some(foraminal) = f.foraminal {
        set(
            &mut cells,
            SpineColumn::Foraminal.code(),
            if foraminal { "yes" } else { "no" },
        );
    }
    if let Some(side) = side {
        set(&mut cells, SpineColumn::Side.code(), side.code());
    }
    if let Some(m) = morphology {
        set(&mut cells, SpineColumn::Morphology.code(), m.code());
    }
    mark_cells(f, at, &mut cells)?;
    Ok(cells)
}

/// The column whose `none` marks a reading with nothing found.
fn none_column(modality: Modality) -> &'static str {
    match modality {
        Modality::HandRadiograph => HandColumn::Lesion.code(),
        Modality::Ct => SpineColumn::Segment.code(),
    }
}

/// Checks `findings` for an exam of `modality` whose CT covered `coverage`
/// (`None`: not known) and returns the cells to store, in order. No
/// findings is stored as the format's "read, nothing found" row
/// (`lesion = none` or `segment = none`). The same finding twice, more than
/// [`MAX_FINDINGS`], a code outside its vocabulary, a lesion at a site
/// where the format does not record it, a level the CT did not cover and
/// `foraminal` outside the canal are refused, naming the field.
pub fn check_findings(
    findings: &[Finding],
    modality: Modality,
    coverage: Option<LevelSet>,
) -> Result<Vec<Cells>, FindingError> {
    if findings.len() > MAX_FINDINGS {
        return Err(FindingError::new(
            "findings",
            format!("at most {MAX_FINDINGS} findings per exam"),
        ));
    }
    if findings.is_empty() {
        return Ok(vec![Cells::from([(
            none_column(modality).to_string(),
            "none".to_string(),
        )])]);
    }
    let mut out: Vec<Cells> = Vec::with_capacity(findings.len());
    // What makes a finding one: a hand lesion at one side and site, a CT
    // calcification at one level, segment and side. Grade, foraminal
    // extension and morphology describe it.
    let key_columns: &[&str] = match modality {
        Modality::HandRadiograph => &["side", "site", "lesion"],
        Modality::Ct => &["level", "segment", "side"],
    };
    let key = |cells: &Cells| -> Vec<Option<String>> {
        key_columns.iter().map(|k| cells.get(*k).cloned()).collect()
    };
    for (i, f) in findings.iter().enumerate() {
        let at = format!("findings[{i}]");
        let cells = match modality {
            Modality::HandRadiograph => hand(f, &at)?,
            Modality::Ct => spine(f, &at, coverage)?,
        };
        if let Some(j) = out.iter().position(|c| key(c) == key(&cells)) {
            let what = match modality {
                Modality::HandRadiograph => "this lesion at this side and site",
                Modality::Ct => "a calcification at this level, segment and side",
            };
            return Err(FindingError::new(
                at,
                format!("{what} is already recorded in findings[{j}]; record it once"),
            ));
        }
        out.push(cells);
    }
    Ok(out)
}

/// Stored cells back as findings (the `none` row becomes no finding).
pub fn findings_of_cells(cells: &[Cells]) -> Vec<Finding> {
    let is_none = |c: &Cells| {
        [HandColumn::Lesion.code(), SpineColumn::Segment.code()]
            .iter()
            .any(|k| c.get(*k).map(String::as_str) == Some("none"))
    };
    cells
        .iter()
        .filter(|c| !is_none(c))
        .map(|c| {
            let get = |k: &str| c.get(k).cloned();
            Finding {
                side: get("side"),
                site: get(HandColumn::Site.code()),
                lesion: get(HandColumn::Lesion.code()),
                grade: get(HandColumn::Grade.code()).and_then(|g| g.parse().ok()),
                level: get(SpineColumn::Level.code()),
                segment: get(SpineColumn::Segment.code()),
                foraminal: get(SpineColumn::Foraminal.code()).map(|v| v == "yes"),
                morphology: get(SpineColumn::Morphology.code()),
                image_uid: get("image_uid"),
                frame: get("frame").and_then(|f| f.parse().ok()),
                x: get("x").and_then(|v| v.parse().ok()),
                y: get("y").and_then(|v| v.parse().ok()),
            }
        })
        .collect()
}

/// The flags one reading of an exam gives, by name: each hand lesion (by
/// its code), or each CT segment (`anterior`, `canal`, `posterior`) and
/// `foraminal`, which counts only within the canal.
pub fn reading_flags(modality: Modality, findings: &[Cells]) -> BTreeMap<&'static str, bool> {
    let has = |key: &str, value: &str| {
        findings
            .iter()
            .any(|f| f.get(key).map(String::as_str) == Some(value))
    };
    match modality {
        Modality::HandRadiograph => Lesion::ALL
            .iter()
            .map(|l| (l.code(), has(HandColumn::Lesion.code(), l.code())))
            .collect(),
        Modality::Ct => {
            let segment = SpineColumn::Segment.code();
            let foraminal = findings.iter().any(|f| {
                f.get(segment).map(String::as_str) == Some(SpineSegment::Canal.code())
                    && f.get(SpineColumn::Foraminal.code()).map(String::as_str) == Some("yes")
            });
            BTreeMap::from([
                (
                    SpineSegment::Anterior.code(),
                    has(segment, SpineSegment::Anterior.code()),
                ),
                (
                    SpineSegment::Canal.code(),
                    has(segment, SpineSegment::Canal.code()),
                ),
                (SpineColumn::Foraminal.code(), foraminal),
                (
                    SpineSegment::Posterior.code(),
                    has(segment, SpineSegment::Posterior.code()),
                ),
            ])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(pairs: &[(&str, &str)]) -> Finding {
        let mut f = Finding::default();
        for (k, v) in pairs {
            let v = Some(v.to_string());
            match *k {
                "side" => f.side = v,
                "site" => f.site = v,
                "lesion" => f.lesion = v,
                "level" => f.level = v,
                "segment" => f.segment = v,
                other => panic!("no field {other}"),
            }
        }
        f
    }

    fn field_of(r: Result<Vec<Cells>, FindingError>) -> String {
        match r {
            Err(e) => e.field,
            Ok(cells) => panic!("accepted {cells:?}"),
        }
    }

    #[test]
    fn hand_findings_follow_the_format() {
        let hand = Modality::HandRadiograph;
        let ok = check_findings(
            &[f(&[
                ("side", "Left"),
                ("site", "tuft_d1"),
                ("lesion", "acro_osteolysis"),
            ])],
            hand,
            None,
        )
        .expect("valid");
        assert_eq!(ok[0].get("side").map(String::as_str), Some("left"));
        let wrist = f(&[
            ("side", "left"),
            ("site", "wrist"),
            ("lesion", "acro_osteolysis"),
        ]);
        assert_eq!(
            field_of(check_findings(&[wrist], hand, None)),
            "findings[0].site"
        );
        let no_lesion = f(&[("side", "left"), ("site", "tuft_d1")]);
        assert_eq!(
            field_of(check_findings(&[no_lesion], hand, None)),
            "findings[0].lesion"
        );
        let twice = f(&[
            ("side", "left"),
            ("site", "tuft_d2"),
            ("lesion", "calcinosis"),
        ]);
        assert_eq!(
            field_of(check_findings(&[twice.clone(), twice.clone()], hand, None)),
            "findings[1]"
        );
        // A second grade of the same lesion is still the same finding.
        let mut graded = twice.clone();
        graded.grade = Some(2);
        assert_eq!(
            field_of(check_findings(&[twice, graded], hand, None)),
            "findings[1]"
        );
        // Every distinct finding a radiograph can hold fits.
        let mut all = Vec::new();
        for side in HandSide::ALL {
            for site in HandSite::ALL {
                for lesion in Lesion::ALL.iter().filter(|l| l.allowed_at(*site)) {
                    all.push(Finding {
                        side: Some(side.code().into()),
                        site: Some(site.code().into()),
                        lesion: Some(lesion.code().into()),
                        ..Finding::default()
                    });
                }
            }
        }
        assert!(all.len() <= MAX_FINDINGS);
        assert_eq!(
            check_findings(&all, hand, None).map(|c| c.len()),
            Ok(all.len())
        );
        let none = check_findings(&[], hand, None).expect("none");
        assert_eq!(none[0].get("lesion").map(String::as_str), Some("none"));
        assert!(findings_of_cells(&none).is_empty());
        let too_many = vec![Finding::default(); MAX_FINDINGS + 1];
        assert_eq!(field_of(check_findings(&too_many, hand, None)), "findings");
    }

    #[test]
    fn spine_levels_must_be_covered() {
        let coverage = LevelSet::parse("t1-l2").ok();
        let ok = check_findings(
            &[f(&[("level", "t5"), ("segment", "canal")])],
            Modality::Ct,
            coverage,
        );
        assert!(ok.is_ok());
        let outside = f(&[("level", "l4"), ("segment", "canal")]);
        assert_eq!(
            field_of(check_findings(&[outside], Modality::Ct, coverage)),
            "findings[0].level"
        );
        let hand_field = f(&[("level", "t5"), ("segment", "canal"), ("lesion", "erosion")]);
        assert_eq!(
            field_of(check_findings(&[hand_field], Modality::Ct, coverage)),
            "findings[0].lesion"
        );
        let mut foraminal = f(&[("level", "t5"), ("segment", "posterior")]);
        foraminal.foraminal = Some(true);
        assert_eq!(
            field_of(check_findings(&[foraminal], Modality::Ct, coverage)),
            "findings[0].foraminal"
        );
    }

    #[test]
    fn coverage_comes_from_levels_else_the_ct_type() {
        assert_eq!(
            ct_coverage(Some("lumbar"), Some("t10-l2")),
            LevelSet::parse("t10-l2").ok()
        );
        assert_eq!(
            ct_coverage(Some("thoracic"), None),
            Some(LevelSet::default_for(CtType::Thoracic))
        );
        assert_eq!(ct_coverage(None, None), None);
    }

    #[test]
    fn flags_count_foraminal_only_in_the_canal() {
        let row = |pairs: &[(&str, &str)]| -> Cells {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let flags = reading_flags(
            Modality::Ct,
            &[
                row(&[("level", "t5"), ("segment", "canal"), ("foraminal", "yes")]),
                row(&[("level", "t6"), ("segment", "anterior")]),
            ],
        );
        assert!(flags["foraminal"] && flags["canal"]);
        assert!(flags["anterior"]);
        assert!(!flags["posterior"]);
        let hand = reading_flags(Modality::HandRadiograph, &[row(&[("lesion", "none")])]);
        assert!(hand.values().all(|v| !v));
        assert_eq!(hand.len(), 7);
    }
}
