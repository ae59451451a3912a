//! The marks of a reading form, shared by the reader's and the
//! adjudicator's pages: for a hand radiograph, one table per hand (the
//! patient's right hand first, as on the PA radiograph), a row per site
//! and a box for each lesion the format allows there, with its grade; for
//! a CT, a row per level and a box per segment, levels the CT did not
//! cover shown as not seen; and the reading of such a form's body.

use sclerad_model::{
    Finding, HandSide, HandSite, Lesion, LevelSet, Morphology, SpineSegment, SpineSide,
    VertebralLevel,
};
use sclerad_store::Modality;

use crate::AppError;

/// A lesion's name as a radiologist writes it.
pub fn lesion_label(lesion: Lesion) -> &'static str {
    match lesion {
        Lesion::Calcinosis => "Calcinosis",
        Lesion::AcroOsteolysis => "Acro-osteolysis",
        Lesion::PeriarticularCalcification => "Periarticular calcification",
        Lesion::Erosion => "Erosion",
        Lesion::JointSpaceNarrowing => "Joint space narrowing",
        Lesion::Subluxation => "Subluxation",
        Lesion::FlexionContracture => "Flexion contracture",
    }
}

/// A site's name as a radiologist writes it (`pip_d3` → `PIP D3`).
pub fn site_label(site: HandSite) -> String {
    let code = site.code();
    let (kind, digit) = code.rsplit_once("_d").map_or((code, ""), |(k, d)| (k, d));
    let kind = match kind {
        "tuft" => "Tuft".to_string(),
        "soft_tissue" => "Soft tissue".to_string(),
        "carpus" => "Carpus".to_string(),
        "wrist" => "Wrist".to_string(),
        other => other.to_uppercase(),
    };
    if digit.is_empty() {
        kind
    } else {
        format!("{kind} D{digit}")
    }
}

/// One lesion choice at one site of one hand.
pub(super) struct HandChoice {
    /// `side:site:lesion`, the form's value.
    pub(super) key: String,
    pub(super) lesion: &'static str,
    pub(super) label: &'static str,
    pub(super) allowed: bool,
    pub(super) checked: bool,
    pub(super) grade: Option<u8>,
    /// Each grade 0–3, and whether it is the one recorded.
    pub(super) grades: [(u8, bool); 4],
}

pub(super) struct HandRow {
    pub(super) side: &'static str,
    pub(super) site: &'static str,
    pub(super) label: String,
    pub(super) choices: Vec<HandChoice>,
}

pub(super) struct HandView {
    pub(super) side: &'static str,
    pub(super) title: &'static str,
    pub(super) rows: Vec<HandRow>,
}

/// One segment of one level.
pub(super) struct SpineCell {
    /// `level:segment`, the form's value.
    pub(super) key: String,
    pub(super) segment: &'static str,
    pub(super) checked: bool,
    /// Canal only: the foraminal toggle and whether it is on.
    pub(super) foraminal: Option<bool>,
    /// Each side (`left`, …), and whether it is the one recorded.
    pub(super) sides: Vec<(&'static str, bool)>,
    /// Each morphology, and whether it is the one recorded.
    pub(super) morphologies: Vec<(&'static str, bool)>,
}

pub(super) struct SpineRow {
    pub(super) level: String,
    pub(super) label: String,
    pub(super) covered: bool,
    pub(super) cells: Vec<SpineCell>,
}

/// Each of `codes`, and whether it is `chosen`.
fn choices(codes: &'static [&'static str], chosen: Option<&str>) -> Vec<(&'static str, bool)> {
    codes.iter().map(|c| (*c, Some(*c) == chosen)).collect()
}

/// A reading form's marks, as the template `marks.html` draws them.
pub struct Marks {
    pub(super) hands: Vec<HandView>,
    pub(super) lesions: Vec<(&'static str, &'static str)>,
    pub(super) spine: Vec<SpineRow>,
    pub(super) segments: Vec<&'static str>,
}

impl Marks {
    /// The marks of an exam of `modality` (a CT covering `covered`), with
    /// `findings` ticked.
    pub fn of(modality: Modality, covered: Option<LevelSet>, findings: &[Finding]) -> Marks {
        let hand = |side: HandSide, site: HandSite, lesion: Lesion| {
            findings.iter().find(|f| {
                f.side.as_deref() == Some(side.code())
                    && f.site.as_deref() == Some(site.code())
                    && f.lesion.as_deref() == Some(lesion.code())
            })
        };
        let mut hands = Vec::new();
        let mut spine = Vec::new();
        match modality {
            Modality::HandRadiograph => {
                // PA view, as the radiograph shows it: the patient's right hand
                // on the viewer's left.
                for (side, title) in [
                    (HandSide::Right, "Right hand"),
                    (HandSide::Left, "Left hand"),
                ] {
                    let rows = HandSite::ALL
                        .iter()
                        .map(|site| HandRow {
                            side: side.code(),
                            site: site.code(),
                            label: site_label(*site),
                            choices: Lesion::ALL
                                .iter()
                                .map(|lesion| {
                                    let found = hand(side, *site, *lesion);
                                    HandChoice {
                                        key: format!(
                                            "{}:{}:{}",
                                            side.code(),
                                            site.code(),
                                            lesion.code()
                                        ),
                                        lesion: lesion.code(),
                                        label: lesion_label(*lesion),
                                        allowed: lesion.allowed_at(*site),
                                        checked: found.is_some(),
                                        grade: found.and_then(|f| f.grade),
                                        grades: [0, 1, 2, 3]
                                            .map(|g| (g, found.and_then(|f| f.grade) == Some(g))),
                                    }
                                })
                                .collect(),
                        })
                        .collect();
                    hands.push(HandView {
                        side: side.code(),
                        title,
                        rows,
                    });
                }
            }
            Modality::Ct => {
                for level in VertebralLevel::all() {
                    let code = level.code();
                    let seen = covered.is_some_and(|c| c.contains(level));
                    let cells = SpineSegment::ALL
                        .iter()
                        .map(|segment| {
                            let found = findings.iter().find(|f| {
                                f.level.as_deref() == Some(code.as_str())
                                    && f.segment.as_deref() == Some(segment.code())
                            });
                            SpineCell {
                                key: format!("{code}:{}", segment.code()),
                                segment: segment.code(),
                                checked: found.is_some(),
                                foraminal: (*segment == SpineSegment::Canal)
                                    .then(|| found.and_then(|f| f.foraminal).unwrap_or(false)),
                                sides: choices(
                                    SpineSide::CODES,
                                    found.and_then(|f| f.side.as_deref()),
                                ),
                                morphologies: choices(
                                    Morphology::CODES,
                                    found.and_then(|f| f.morphology.as_deref()),
                                ),
                            }
                        })
                        .collect();
                    spine.push(SpineRow {
                        label: code.to_uppercase(),
                        level: code,
                        covered: seen,
                        cells,
                    });
                }
            }
        }
        Marks {
            hands,
            lesions: Lesion::ALL
                .iter()
                .map(|l| (l.code(), lesion_label(*l)))
                .collect(),
            spine,
            segments: SpineSegment::ALL.iter().map(|s| s.code()).collect(),
        }
    }
}

/// The findings a reading form marks, with its version, CSRF field and
/// action.
pub struct Submitted {
    /// The CSRF field.
    pub csrf: String,
    /// The version the form was opened at.
    pub version: i64,
    /// The button pressed.
    pub action: String,
    /// The marked findings.
    pub findings: Vec<Finding>,
}

/// What a reading form's button records.
pub enum Recorded<'a> {
    /// These findings (none for "nothing found").
    Findings(&'a [Finding]),
    /// Nothing: the form contradicts its button, for this reason.
    Refused(&'static str),
}

impl Submitted {
    /// What the button pressed records: `save` the marks, at least one;
    /// `nothing-found` an explicit reading without findings, none marked.
    pub fn recorded(&self) -> Result<Recorded<'_>, AppError> {
        match (self.action.as_str(), self.findings.is_empty()) {
            ("save", true) => Ok(Recorded::Refused(
                "Nothing is marked. To record that nothing was found, use “Nothing found”.",
            )),
            ("nothing-found", false) => Ok(Recorded::Refused(
                "Findings are marked: unmark them first to record “nothing found”, or save them.",
            )),
            ("save" | "nothing-found", _) => Ok(Recorded::Findings(&self.findings)),
            _ => Err(AppError::BadRequest("the form sent no known action".into())),
        }
    }
}

/// Reads a reading form's body: `finding` = `side:site:lesion` (hand) or
/// `level:segment` (CT), `grade:side:site:lesion` = 0–3 or empty,
/// `foraminal:level` = 1. Anything else is refused as a bad request.
pub fn submitted(body: &[u8], modality: Modality) -> Result<Submitted, AppError> {
    let mut out = Submitted {
        csrf: String::new(),
        version: -1,
        action: String::new(),
        findings: Vec::new(),
    };
    let mut grades = std::collections::HashMap::new();
    let mut foraminal = std::collections::HashSet::new();
    // `side:level:segment` and `morphology:level:segment` → the choice.
    let mut details = std::collections::HashMap::new();
    let bad = |what: &str| AppError::BadRequest(format!("the form sent {what}"));
    for (key, value) in form_urlencoded::parse(body) {
        match key.as_ref() {
            "csrf" => out.csrf = value.into_owned(),
            "version" => {
                out.version = value
                    .parse()
                    .map_err(|_| bad("a version that is not a number"))?
            }
            "action" => out.action = value.into_owned(),
            "finding" => {
                let parts: Vec<&str> = value.split(':').collect();
                let finding = match (modality, parts.as_slice()) {
                    (Modality::HandRadiograph, [side, site, lesion]) => Finding {
                        side: Some((*side).into()),
                        site: Some((*site).into()),
                        lesion: Some((*lesion).into()),
                        ..Default::default()
                    },
                    (Modality::Ct, [level, segment]) => Finding {
                        level: Some((*level).into()),
                        segment: Some((*segment).into()),
                        ..Default::default()
                    },
                    _ => return Err(bad("a finding of another kind of exam")),
                };
                if out.findings.len() >= sclerad_model::MAX_FINDINGS {
                    return Err(bad("more findings than an exam can hold"));
                }
                out.findings.push(finding);
            }
            k if k.starts_with("grade:") => {
                if !value.is_empty() {
                    let grade: u8 = value
                        .parse()
                        .ok()
                        .filter(|g| *g <= 3)
                        .ok_or_else(|| bad("a grade other than 0–3"))?;
                    grades.insert(k["grade:".len()..].to_string(), grade);
                }
            }
            k if k.starts_with("foraminal:") => {
                foraminal.insert(k["foraminal:".len()..].to_string());
            }
            k if k.starts_with("side:") || k.starts_with("morphology:") => {
                if !value.is_empty() {
                    details.insert(k.to_string(), value.into_owned());
                }
            }
            _ => return Err(bad(&format!("an unknown field {key:?}"))),
        }
        if grades.len() + foraminal.len() + details.len() > 4 * sclerad_model::MAX_FINDINGS {
            return Err(bad("more fields than a reading form has"));
        }
    }
    // Foraminal is a kind of canal calcification: ticking it marks the
    // level's canal too.
    if modality == Modality::Ct {
        let mut levels: Vec<&String> = foraminal.iter().collect();
        levels.sort();
        for level in levels {
            let canal = out
                .findings
                .iter()
                .any(|f| f.level.as_ref() == Some(level) && f.segment.as_deref() == Some("canal"));
            if !canal {
                out.findings.push(Finding {
                    level: Some(level.clone()),
                    segment: Some("canal".into()),
                    ..Default::default()
                });
            }
        }
    }
    for f in &mut out.findings {
        if let (Some(side), Some(site), Some(lesion)) = (&f.side, &f.site, &f.lesion) {
            f.grade = grades.get(&format!("{side}:{site}:{lesion}")).copied();
        }
        if let (Some(level), Some(segment)) = (&f.level, &f.segment) {
            if segment == "canal" && foraminal.contains(level) {
                f.foraminal = Some(true);
            }
            f.side = details.get(&format!("side:{level}:{segment}")).cloned();
            f.morphology = details
                .get(&format!("morphology:{level}:{segment}"))
                .cloned();
        }
    }
    Ok(out)
}
