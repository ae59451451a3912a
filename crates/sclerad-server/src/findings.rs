//! Findings sent by readers and adjudicators, checked with the bundle
//! format's own vocabularies and rules, and stored as canonical cells (the
//! same text an export writes).

use sclerad_model::{
    HandSide, HandSite, Lesion, LevelSet, Morphology, SpineSegment, SpineSide, VertebralLevel,
};
use sclerad_store::{Cells, Modality};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppError;

/// One finding. A hand radiograph finding has `side`, `site`, `lesion` and
/// optionally `grade`; a CT finding has `level`, `segment`, optionally
/// `foraminal` (canal only), `side` and `morphology`. An empty list of
/// findings means "read, nothing found".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
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
}

/// The most findings one exam's reading may hold.
pub const MAX_FINDINGS: usize = 2_000;

/// What a CT covered, for checking levels.
#[derive(Debug, Clone, Copy)]
pub struct Coverage(pub Option<LevelSet>);

fn parsed<T>(
    value: &Option<String>,
    field: &str,
    parse: fn(&str) -> Option<T>,
    expected: &str,
) -> Result<Option<T>, AppError> {
    match value {
        None => Ok(None),
        Some(text) => parse(text)
            .map(Some)
            .ok_or_else(|| AppError::invalid(field, format!("{text:?} is not one of: {expected}"))),
    }
}

fn required<T>(value: Option<T>, field: &str) -> Result<T, AppError> {
    value.ok_or_else(|| AppError::invalid(field, "required"))
}

fn not_for(value: bool, field: &str, modality: Modality) -> Result<(), AppError> {
    if value {
        Err(AppError::invalid(
            field,
            format!("not a field of a {modality} finding"),
        ))
    } else {
        Ok(())
    }
}

fn hand(f: &Finding, at: &str) -> Result<Cells, AppError> {
    let field = |name: &str| format!("{at}.{name}");
    not_for(f.level.is_some(), &field("level"), Modality::HandRadiograph)?;
    not_for(
        f.segment.is_some(),
        &field("segment"),
        Modality::HandRadiograph,
    )?;
    not_for(
        f.foraminal.is_some(),
        &field("foraminal"),
        Modality::HandRadiograph,
    )?;
    not_for(
        f.morphology.is_some(),
        &field("morphology"),
        Modality::HandRadiograph,
    )?;
    let side = required(
        parsed(
            &f.side,
            &field("side"),
            HandSide::parse,
            &HandSide::expected(),
        )?,
        &field("side"),
    )?;
    let site = required(
        parsed(
            &f.site,
            &field("site"),
            HandSite::parse,
            &HandSite::expected(),
        )?,
        &field("site"),
    )?;
    let lesion = required(
        parsed(
            &f.lesion,
            &field("lesion"),
            Lesion::parse,
            &Lesion::expected(),
        )?,
        &field("lesion"),
    )?;
    if !lesion.allowed_at(site) {
        return Err(AppError::invalid(
            field("site"),
            format!("{lesion} is recorded only at {}", lesion.allowed_sites()),
        ));
    }
    let mut cells = Cells::new();
    cells.insert("side".into(), side.code().into());
    cells.insert("site".into(), site.code().into());
    cells.insert("lesion".into(), lesion.code().into());
    if let Some(grade) = f.grade {
        if grade > 3 {
            return Err(AppError::invalid(field("grade"), "a grade is 0 to 3"));
        }
        cells.insert("grade".into(), grade.to_string());
    }
    Ok(cells)
}

fn spine(f: &Finding, at: &str, coverage: Coverage) -> Result<Cells, AppError> {
    let field = |name: &str| format!("{at}.{name}");
    not_for(f.site.is_some(), &field("site"), Modality::Ct)?;
    not_for(f.lesion.is_some(), &field("lesion"), Modality::Ct)?;
    not_for(f.grade.is_some(), &field("grade"), Modality::Ct)?;
    let level = required(
        parsed(
            &f.level,
            &field("level"),
            VertebralLevel::parse,
            "c1…c7, t1…t12, l1…l5, s1",
        )?,
        &field("level"),
    )?;
    if let Some(covered) = coverage.0 {
        if !covered.contains(level) {
            return Err(AppError::invalid(
                field("level"),
                format!("{} is outside the CT's coverage ({covered})", level.code()),
            ));
        }
    }
    let segment = required(
        parsed(
            &f.segment,
            &field("segment"),
            SpineSegment::parse,
            &SpineSegment::expected(),
        )?,
        &field("segment"),
    )?;
    if f.foraminal == Some(true) && segment != SpineSegment::Canal {
        return Err(AppError::invalid(
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
    cells.insert("level".into(), level.code());
    cells.insert("segment".into(), segment.code().into());
    if let Some(foraminal) = f.foraminal {
        cells.insert(
            "foraminal".into(),
            if foraminal { "yes" } else { "no" }.into(),
        );
    }
    if let Some(side) = side {
        cells.insert("side".into(), side.code().into());
    }
    if let Some(m) = morphology {
        cells.insert("morphology".into(), m.code().into());
    }
    Ok(cells)
}

/// Checks `findings` for an exam of `modality` and returns the cells to
/// store. No findings is stored as the format's "read, nothing found" row
/// (`lesion = none` or `segment = none`).
pub fn check(
    findings: &[Finding],
    modality: Modality,
    coverage: Coverage,
) -> Result<Vec<Cells>, AppError> {
    if findings.len() > MAX_FINDINGS {
        return Err(AppError::invalid(
            "findings",
            "at most 2000 findings per exam",
        ));
    }
    if findings.is_empty() {
        let key = match modality {
            Modality::HandRadiograph => "lesion",
            Modality::Ct => "segment",
        };
        return Ok(vec![Cells::from([(key.to_string(), "none".to_string())])]);
    }
    let mut out: Vec<Cells> = Vec::with_capacity(findings.len());
    for (i, f) in findings.iter().enumerate() {
        let at = format!("findings[{i}]");
        let cells = match modality {
            Modality::HandRadiograph => hand(f, &at)?,
            Modality::Ct => spine(f, &at, coverage)?,
        };
        if out.contains(&cells) {
            return Err(AppError::invalid(at, "the same finding twice"));
        }
        out.push(cells);
    }
    Ok(out)
}

/// Stored cells back as a finding (the `none` row becomes no finding).
pub fn from_cells(cells: &[Cells]) -> Vec<Finding> {
    cells
        .iter()
        .filter(|c| {
            c.get("lesion").map(String::as_str) != Some("none")
                && c.get("segment").map(String::as_str) != Some("none")
        })
        .map(|c| {
            let get = |k: &str| c.get(k).cloned();
            Finding {
                side: get("side"),
                site: get("site"),
                lesion: get("lesion"),
                grade: get("grade").and_then(|g| g.parse().ok()),
                level: get("level"),
                segment: get("segment"),
                foraminal: get("foraminal").map(|v| v == "yes"),
                morphology: get("morphology"),
            }
        })
        .collect()
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
                _ => unreachable!(),
            }
        }
        f
    }

    #[test]
    fn hand_findings_follow_the_format() {
        let ok = check(
            &[f(&[
                ("side", "Left"),
                ("site", "tuft_d1"),
                ("lesion", "acro_osteolysis"),
            ])],
            Modality::HandRadiograph,
            Coverage(None),
        )
        .expect("valid");
        assert_eq!(ok[0].get("side").map(String::as_str), Some("left"));
        let err = check(
            &[f(&[
                ("side", "left"),
                ("site", "wrist"),
                ("lesion", "acro_osteolysis"),
            ])],
            Modality::HandRadiograph,
            Coverage(None),
        );
        assert!(
            matches!(err, Err(AppError::Invalid { ref field, .. }) if field == "findings[0].site"),
            "{err:?}"
        );
        let err = check(
            &[f(&[("side", "left"), ("site", "tuft_d1")])],
            Modality::HandRadiograph,
            Coverage(None),
        );
        assert!(
            matches!(err, Err(AppError::Invalid { ref field, .. }) if field == "findings[0].lesion")
        );
        let none = check(&[], Modality::HandRadiograph, Coverage(None)).expect("none");
        assert_eq!(none[0].get("lesion").map(String::as_str), Some("none"));
        assert!(from_cells(&none).is_empty());
    }

    #[test]
    fn spine_levels_must_be_covered() {
        let coverage = Coverage(LevelSet::parse("t1-l2").ok());
        let ok = check(
            &[f(&[("level", "t5"), ("segment", "canal")])],
            Modality::Ct,
            coverage,
        );
        assert!(ok.is_ok());
        let err = check(
            &[f(&[("level", "l4"), ("segment", "canal")])],
            Modality::Ct,
            coverage,
        );
        assert!(
            matches!(err, Err(AppError::Invalid { ref field, .. }) if field == "findings[0].level")
        );
        let err = check(
            &[f(&[
                ("level", "t5"),
                ("segment", "canal"),
                ("lesion", "erosion"),
            ])],
            Modality::Ct,
            coverage,
        );
        assert!(
            matches!(err, Err(AppError::Invalid { ref field, .. }) if field == "findings[0].lesion")
        );
    }
}
