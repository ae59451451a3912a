//! The marks of a reading form, shared by the reader's and the
//! adjudicator's pages: for a hand radiograph, a drawing of both hands as
//! the PA radiograph shows them (the patient's right hand on the viewer's
//! left), every site a link that chooses it, and the chosen site's lesions
//! (only those the format allows there) with their grade, the rest of the
//! reading carried as hidden fields; for a CT, a row per level and a box
//! per segment, levels the CT did not cover shown as not seen; and the
//! reading of such a form's body.

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

/// One lesion choice at the chosen site.
pub(super) struct HandChoice {
    /// `side:site:lesion`, the form's value.
    pub(super) key: String,
    pub(super) lesion: &'static str,
    pub(super) label: &'static str,
    /// Its shortcut key (1…7, the order offered).
    pub(super) number: usize,
    pub(super) checked: bool,
    /// Each grade 0–3, and whether it is the one recorded.
    pub(super) grades: [(u8, bool); 4],
    /// Whether no grade is recorded.
    pub(super) ungraded: bool,
}

/// One site of the drawing: where it is drawn and what is recorded there.
pub(super) struct SiteMark {
    pub(super) side: &'static str,
    pub(super) site: &'static str,
    /// `Tuft D1`.
    pub(super) name: String,
    /// `Right hand, Tuft D1, marked C2: calcinosis, grade 2` (or `…: nothing
    /// recorded`): the letters drawn are part of the name (WCAG 2.5.3).
    pub(super) described: String,
    pub(super) x: i32,
    pub(super) y: i32,
    pub(super) r: i32,
    /// The radius that takes a click or a touch: at least [`HIT_RADIUS`].
    pub(super) hit: i32,
    /// Where the letters of what is recorded are written, and how.
    pub(super) text_x: i32,
    pub(super) anchor: &'static str,
    /// One letter per lesion recorded (with its grade): `A2 C`.
    pub(super) letters: String,
    /// The lesions the format allows here, space-separated codes.
    pub(super) allowed: String,
    pub(super) current: bool,
}

/// A straight stroke of the drawing: from (x1, y1) to (x2, y2).
pub(super) use sclerad_model::layout::Stroke;

/// One hand of the drawing: its outline (fingers as thick round lines,
/// the palm as a polygon) and its title.
pub(super) struct HandOutline {
    pub(super) side: &'static str,
    pub(super) title: &'static str,
    pub(super) title_x: i32,
    pub(super) fingers: Vec<Stroke>,
    pub(super) palm: String,
}

/// The lesions of the chosen site, where they are chosen.
pub(super) struct Panel {
    /// `side:site`.
    pub(super) key: String,
    pub(super) title: String,
    pub(super) choices: Vec<HandChoice>,
}

/// Both hands as the PA radiograph shows them, every site clickable, the
/// chosen site's lesions, and the rest of the reading as hidden fields.
pub(super) struct HandForm {
    pub(super) outlines: Vec<HandOutline>,
    pub(super) sites: Vec<SiteMark>,
    pub(super) panel: Option<Panel>,
    /// The findings at the other sites: (field name, value).
    pub(super) hidden: Vec<(String, String)>,
    /// What is recorded, a line per finding.
    pub(super) recorded: Vec<String>,
    /// Lesion codes, labels and letters for the page's script (JSON,
    /// safe inside a `<script type="application/json">`).
    pub(super) lesions_json: String,
}

/// A lesion's letter on the drawing.
pub fn lesion_letter(lesion: Lesion) -> &'static str {
    match lesion {
        Lesion::Calcinosis => "C",
        Lesion::AcroOsteolysis => "A",
        Lesion::PeriarticularCalcification => "P",
        Lesion::Erosion => "E",
        Lesion::JointSpaceNarrowing => "N",
        Lesion::Subluxation => "S",
        Lesion::FlexionContracture => "F",
    }
}

/// The smallest radius a site answers to, in drawing units: 32 units are
/// 25 CSS pixels on a tablet held upright (the drawing 780 pixels wide), a
/// target WCAG 2.5.8 accepts; no two sites' targets overlap.
const HIT_RADIUS: i32 = 16;
/// `value` as JSON safe inside a `<script type="application/json">`.
fn script_json(value: &serde_json::Value) -> String {
    value
        .to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// A hand finding in words: `Acro-osteolysis, grade 2`.
fn hand_words(lesion: Lesion, grade: Option<u8>) -> String {
    match grade {
        Some(g) => format!("{}, grade {g}", lesion_label(lesion)),
        None => lesion_label(lesion).to_string(),
    }
}

impl HandForm {
    /// The hand form with `findings` recorded and `selected` (`side:site`)
    /// chosen.
    fn of(findings: &[Finding], selected: Option<&str>) -> HandForm {
        let recorded_at = |side: HandSide, site: HandSite| -> Vec<(Lesion, Option<u8>)> {
            Lesion::ALL
                .iter()
                .filter_map(|lesion| {
                    findings
                        .iter()
                        .find(|f| {
                            f.side.as_deref() == Some(side.code())
                                && f.site.as_deref() == Some(site.code())
                                && f.lesion.as_deref() == Some(lesion.code())
                        })
                        .map(|f| (*lesion, f.grade))
                })
                .collect()
        };
        let selected = selected.and_then(|s| {
            let (side, site) = s.split_once(':')?;
            Some((HandSide::parse(side)?, HandSite::parse(site)?))
        });
        let sides = [
            (HandSide::Right, "Right hand"),
            (HandSide::Left, "Left hand"),
        ];
        let place = |side: HandSide, x: i32| match side {
            HandSide::Left => 1000 - x,
            _ => x,
        };
        let mut outlines = Vec::new();
        let mut sites = Vec::new();
        let mut hidden = Vec::new();
        let mut recorded = Vec::new();
        let mut panel = None;
        for (side, title) in sides {
            let (fingers, palm) = sclerad_model::layout::right_hand_outline();
            outlines.push(HandOutline {
                side: side.code(),
                title,
                title_x: place(side, 222),
                fingers: fingers
                    .into_iter()
                    .map(|(x1, y1, x2, y2)| (place(side, x1), y1, place(side, x2), y2))
                    .collect(),
                palm: palm
                    .iter()
                    .map(|(x, y)| format!("{},{y}", place(side, *x)))
                    .collect::<Vec<_>>()
                    .join(" "),
            });
            for site in HandSite::ALL {
                let here = recorded_at(side, *site);
                let (x, y, r) = sclerad_model::layout::site_point(*site);
                let current = selected == Some((side, *site));
                let words: Vec<String> = here.iter().map(|(l, g)| hand_words(*l, *g)).collect();
                for w in &words {
                    recorded.push(format!("{title}, {}: {w}", site_label(*site)));
                }
                let (text_x, anchor) = match side {
                    HandSide::Left => (place(side, x) - r - 3, "end"),
                    _ => (x + r + 3, "start"),
                };
                let letters = here
                    .iter()
                    .map(|(l, g)| match g {
                        Some(g) => format!("{}{g}", lesion_letter(*l)),
                        None => lesion_letter(*l).to_string(),
                    })
                    .collect::<Vec<_>>()
                    .join(" ");
                sites.push(SiteMark {
                    side: side.code(),
                    site: site.code(),
                    name: site_label(*site),
                    // The letters drawn are part of the name (WCAG 2.5.3).
                    described: if words.is_empty() {
                        format!("{title}, {}: nothing recorded", site_label(*site))
                    } else {
                        format!(
                            "{title}, {}, marked {letters}: {}",
                            site_label(*site),
                            words.join("; ")
                        )
                    },
                    x: place(side, x),
                    y,
                    r,
                    hit: r.max(HIT_RADIUS),
                    text_x,
                    anchor,
                    letters,
                    allowed: Lesion::ALL
                        .iter()
                        .filter(|l| l.allowed_at(*site))
                        .map(|l| l.code())
                        .collect::<Vec<_>>()
                        .join(" "),
                    current,
                });
                let key =
                    |lesion: Lesion| format!("{}:{}:{}", side.code(), site.code(), lesion.code());
                if current {
                    let choices = Lesion::ALL
                        .iter()
                        .filter(|l| l.allowed_at(*site))
                        .enumerate()
                        .map(|(i, lesion)| {
                            let found = here.iter().find(|(l, _)| l == lesion);
                            let grade = found.and_then(|(_, g)| *g);
                            HandChoice {
                                key: key(*lesion),
                                lesion: lesion.code(),
                                label: lesion_label(*lesion),
                                number: i + 1,
                                checked: found.is_some(),
                                grades: [0, 1, 2, 3].map(|g| (g, grade == Some(g))),
                                ungraded: grade.is_none(),
                            }
                        })
                        .collect();
                    panel = Some(Panel {
                        key: format!("{}:{}", side.code(), site.code()),
                        title: format!("{title} · {}", site_label(*site)),
                        choices,
                    });
                } else {
                    for (lesion, grade) in &here {
                        hidden.push(("finding".to_string(), key(*lesion)));
                        if let Some(g) = grade {
                            hidden.push((format!("grade:{}", key(*lesion)), g.to_string()));
                        }
                    }
                }
            }
        }
        let lesions: Vec<serde_json::Value> = Lesion::ALL
            .iter()
            .map(|l| {
                serde_json::json!({
                    "code": l.code(),
                    "label": lesion_label(*l),
                    "letter": lesion_letter(*l),
                })
            })
            .collect();
        HandForm {
            outlines,
            sites,
            panel,
            hidden,
            recorded,
            lesions_json: script_json(&serde_json::Value::Array(lesions)),
        }
    }
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
    pub(super) hand: Option<HandForm>,
    pub(super) spine: Vec<SpineRow>,
    pub(super) segments: Vec<&'static str>,
    /// Each finding's mark on an image: (finding key, `UID[ X Y[ FRAME]]`),
    /// kept in the form as hidden `mark:KEY` fields.
    pub(super) image_marks: Vec<(String, String)>,
}

/// A finding's key on the forms: `side:site:lesion` (hand) or
/// `level:segment` (CT).
pub fn finding_key(f: &Finding) -> Option<String> {
    match (&f.side, &f.site, &f.lesion, &f.level, &f.segment) {
        (Some(side), Some(site), Some(lesion), _, _) => Some(format!("{side}:{site}:{lesion}")),
        (_, _, _, Some(level), Some(segment)) => Some(format!("{level}:{segment}")),
        _ => None,
    }
}

/// A finding's mark as a form field value: `UID`, `UID X Y` or
/// `UID X Y FRAME`.
pub fn mark_value(f: &Finding) -> Option<String> {
    let uid = f.image_uid.as_ref()?;
    Some(match (f.x, f.y, f.frame) {
        (Some(x), Some(y), Some(frame)) => format!("{uid} {x} {y} {frame}"),
        (Some(x), Some(y), None) => format!("{uid} {x} {y}"),
        _ => uid.clone(),
    })
}

/// The mark of a form field value into `f` (a value the form could not
/// have sent is refused).
fn apply_mark(f: &mut Finding, value: &str) -> Result<(), ()> {
    let parts: Vec<&str> = value.split_whitespace().collect();
    let number = |t: &str| t.parse::<f64>().map_err(|_| ());
    match parts.as_slice() {
        [] => return Ok(()),
        [uid] => f.image_uid = Some((*uid).into()),
        [uid, x, y] => {
            f.image_uid = Some((*uid).into());
            f.x = Some(number(x)?);
            f.y = Some(number(y)?);
        }
        [uid, x, y, frame] => {
            f.image_uid = Some((*uid).into());
            f.x = Some(number(x)?);
            f.y = Some(number(y)?);
            f.frame = Some(frame.parse().map_err(|_| ())?);
        }
        _ => return Err(()),
    }
    Ok(())
}

impl Marks {
    /// The marks of an exam of `modality` (a CT covering `covered`), with
    /// `findings` recorded and, on a hand radiograph, the site `selected`
    /// (`side:site`) chosen.
    pub fn of(
        modality: Modality,
        covered: Option<LevelSet>,
        findings: &[Finding],
        selected: Option<&str>,
    ) -> Marks {
        let mut hand = None;
        let mut spine = Vec::new();
        match modality {
            Modality::HandRadiograph => hand = Some(HandForm::of(findings, selected)),
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
            hand,
            spine,
            segments: SpineSegment::ALL.iter().map(|s| s.code()).collect(),
            image_marks: findings
                .iter()
                .filter_map(|f| Some((finding_key(f)?, mark_value(f)?)))
                .collect(),
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
    /// The hand site chosen when the form was sent (`side:site`), shown
    /// again after it.
    pub site: Option<String>,
}

/// What a reading form's button records.
pub enum Recorded<'a> {
    /// These findings (none for "nothing found").
    Findings(&'a [Finding]),
    /// Nothing: the form contradicts its button, for this reason.
    Refused(&'static str),
}

impl Submitted {
    /// What the button pressed records: `save` (or the page script's
    /// `autosave`) the marks, at least one; `nothing-found` an explicit
    /// reading without findings, none marked.
    pub fn recorded(&self) -> Result<Recorded<'_>, AppError> {
        match (self.action.as_str(), self.findings.is_empty()) {
            ("save" | "autosave", true) => Ok(Recorded::Refused(
                "Nothing is marked. To record that nothing was found, use “Nothing found”.",
            )),
            ("nothing-found", false) => Ok(Recorded::Refused(
                "Findings are marked: unmark them first to record “nothing found”, or save them.",
            )),
            ("save" | "autosave" | "nothing-found", _) => Ok(Recorded::Findings(&self.findings)),
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
        site: None,
    };
    let mut grades = std::collections::HashMap::new();
    let mut image_marks = std::collections::HashMap::new();
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
            "site" => {
                if modality != Modality::HandRadiograph || value.len() > 40 {
                    return Err(bad("a site of another kind of exam"));
                }
                out.site = (!value.is_empty()).then(|| value.into_owned());
            }
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
            k if k.starts_with("mark:") => {
                if value.len() > 200 {
                    return Err(bad("a mark longer than a mark can be"));
                }
                image_marks.insert(k["mark:".len()..].to_string(), value.into_owned());
            }
            k if k.starts_with("side:") || k.starts_with("morphology:") => {
                if !value.is_empty() {
                    details.insert(k.to_string(), value.into_owned());
                }
            }
            _ => return Err(bad(&format!("an unknown field {key:?}"))),
        }
        if grades.len() + foraminal.len() + details.len() + image_marks.len()
            > 5 * sclerad_model::MAX_FINDINGS
        {
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
        // A mark of a finding no longer ticked is dropped with it.
        if let Some(value) = finding_key(f).and_then(|k| image_marks.get(&k)) {
            apply_mark(f, value).map_err(|()| bad("a mark that is not `UID X Y`"))?;
        }
    }
    Ok(out)
}

/// One site on a reader's drawing of a comparison, and whether another
/// reading records something else there.
pub(super) struct ComparedSite {
    pub(super) mark: SiteMark,
    pub(super) differs: bool,
}

/// One reading drawn on the hands, read-only.
pub(super) struct ReaderDrawing {
    pub(super) reader: String,
    pub(super) sites: Vec<ComparedSite>,
    /// `Reading by rad1: 7 findings; 3 sites where the readings differ, ringed`.
    pub(super) described: String,
}

/// One spine cell of a comparison: what each reading records there (`✓`,
/// `✓ F` with foraminal extension, or `–`).
pub(super) struct ComparedCell {
    pub(super) segment: &'static str,
    /// (reader, mark).
    pub(super) marks: Vec<(String, String)>,
    pub(super) differs: bool,
}

pub(super) struct ComparedRow {
    pub(super) level: String,
    pub(super) label: String,
    pub(super) covered: bool,
    pub(super) cells: Vec<ComparedCell>,
}

/// Several readings of one exam on the same drawing (one per reading,
/// side by side) or the same grid (a column of marks per reading in each
/// cell), where they differ marked: what `compare.html` draws.
pub struct Comparison {
    pub(super) readers: Vec<String>,
    pub(super) outlines: Vec<HandOutline>,
    pub(super) drawings: Vec<ReaderDrawing>,
    pub(super) spine: Vec<ComparedRow>,
    pub(super) segments: Vec<&'static str>,
}

impl Comparison {
    /// `readings` (reader, findings) of an exam of `modality` (a CT
    /// covering `covered`).
    pub fn of(
        modality: Modality,
        covered: Option<LevelSet>,
        readings: &[(String, Vec<Finding>)],
    ) -> Comparison {
        let mut forms: Vec<Marks> = readings
            .iter()
            .map(|(_, findings)| Marks::of(modality, covered, findings, None))
            .collect();
        let mut out = Comparison {
            readers: readings.iter().map(|(r, _)| r.clone()).collect(),
            outlines: Vec::new(),
            drawings: Vec::new(),
            spine: Vec::new(),
            segments: SpineSegment::ALL.iter().map(|s| s.code()).collect(),
        };
        if modality == Modality::HandRadiograph {
            // What each reading draws at each site, to compare before the
            // drawings are taken apart.
            let letters: Vec<Vec<String>> = forms
                .iter()
                .map(|m| {
                    m.hand
                        .as_ref()
                        .map(|h| h.sites.iter().map(|s| s.letters.clone()).collect())
                        .unwrap_or_default()
                })
                .collect();
            for (i, form) in forms.iter_mut().enumerate() {
                let Some(hand) = form.hand.take() else {
                    continue;
                };
                if out.outlines.is_empty() {
                    out.outlines = hand.outlines;
                }
                let mut differing = 0;
                let sites: Vec<ComparedSite> = hand
                    .sites
                    .into_iter()
                    .enumerate()
                    .map(|(n, mark)| {
                        let differs = letters
                            .iter()
                            .any(|other| other.get(n).is_some_and(|l| *l != mark.letters));
                        differing += usize::from(differs);
                        ComparedSite { mark, differs }
                    })
                    .collect();
                let count = readings[i].1.len();
                out.drawings.push(ReaderDrawing {
                    described: format!(
                        "Reading by {}: {count} finding{}; {differing} site{} where the readings differ, ringed",
                        readings[i].0,
                        if count == 1 { "" } else { "s" },
                        if differing == 1 { "" } else { "s" },
                    ),
                    reader: readings[i].0.clone(),
                    sites,
                });
            }
        }
        if modality == Modality::Ct {
            let Some(first) = forms.first() else {
                return out;
            };
            for (r, row) in first.spine.iter().enumerate() {
                let cells = row
                    .cells
                    .iter()
                    .enumerate()
                    .map(|(c, cell)| {
                        let marks: Vec<(String, String)> = forms
                            .iter()
                            .zip(&out.readers)
                            .map(|(m, reader)| {
                                let cell = &m.spine[r].cells[c];
                                let mark = match (cell.checked, cell.foraminal) {
                                    (false, _) => "–",
                                    (true, Some(true)) => "✓ F",
                                    (true, _) => "✓",
                                };
                                (reader.clone(), mark.to_string())
                            })
                            .collect();
                        ComparedCell {
                            segment: cell.segment,
                            differs: marks.iter().any(|m| m.1 != marks[0].1),
                            marks,
                        }
                    })
                    .collect();
                out.spine.push(ComparedRow {
                    level: row.level.clone(),
                    label: row.label.clone(),
                    covered: row.covered,
                    cells,
                });
            }
        }
        out
    }
}
