//! Images: de-identified DICOM instances, each stored with the exam it
//! belongs to. The store keeps bytes it is given and what they are; it
//! knows nothing of DICOM (the caller de-identifies and describes each
//! instance: `sclerad-dicom`).

use serde::Serialize;

/// The secret of a study's images: the key of every UID replacement,
/// date offset and pseudonym of the study. Created at the study's first
/// image import; it never leaves the store but to the code that
/// de-identifies (no API, export or event carries it).
#[derive(Clone, PartialEq, Eq)]
pub struct ImageSecret(pub [u8; 32]);

impl std::fmt::Debug for ImageSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ImageSecret(…)")
    }
}

impl ImageSecret {
    /// A new random secret.
    pub fn random() -> Result<ImageSecret, crate::StoreError> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)
            .map_err(|e| crate::StoreError::Backend(format!("no randomness: {e}")))?;
        Ok(ImageSecret(bytes))
    }

    /// The secret as the store keeps it: 64 lower-case hex digits.
    pub fn to_hex(&self) -> String {
        sclerad_model::hex(&self.0)
    }

    /// The secret from [`ImageSecret::to_hex`].
    pub fn from_hex(text: &str) -> Option<ImageSecret> {
        if text.len() != 64 || !text.is_ascii() {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(ImageSecret(out))
    }
}

/// One de-identified instance to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewImage {
    /// The exam it shows.
    pub exam_id: i64,
    /// Its (replaced) SOP Instance UID: unique in the study.
    pub sop_instance_uid: String,
    /// Its (replaced) Series Instance UID.
    pub series_uid: String,
    /// Its SOP Class UID.
    pub sop_class_uid: String,
    /// Its DICOM modality (`CR`, `DX`, `CT`…).
    pub modality: String,
    /// Its Instance Number, if it has one.
    pub instance_number: Option<i64>,
    /// Its position along the slice normal, in mm (a slice of a volume).
    pub position: Option<f64>,
    /// Rows of its pixel data.
    pub rows: i64,
    /// Columns of its pixel data.
    pub columns: i64,
    /// Frames of its pixel data.
    pub frames: i64,
    /// The quarantine reason a data manager overrode to store it, if any.
    pub overridden: Option<String>,
    /// The source's date less the bundle's exam date, in days (checked
    /// before any date was shifted; `None` when either is missing).
    pub date_gap_days: Option<i64>,
    /// Its Body Part Examined (`CHEST`, `LSPINE`…), if it says.
    pub body_part: Option<String>,
    /// The de-identified DICOM file (preamble, meta and data set).
    pub data: Vec<u8>,
}

/// A stored instance, without its bytes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Image {
    /// Store identifier.
    pub id: i64,
    /// The exam it shows.
    pub exam_id: i64,
    /// Its SOP Instance UID.
    pub sop_instance_uid: String,
    /// Its Series Instance UID.
    pub series_uid: String,
    /// Its SOP Class UID.
    pub sop_class_uid: String,
    /// Its DICOM modality.
    pub modality: String,
    /// Its Instance Number.
    pub instance_number: Option<i64>,
    /// Its position along the slice normal, in mm.
    pub position: Option<f64>,
    /// Rows of its pixel data.
    pub rows: i64,
    /// Columns of its pixel data.
    pub columns: i64,
    /// Frames of its pixel data.
    pub frames: i64,
    /// Size of the file, in bytes.
    pub bytes: i64,
    /// SHA-256 of the file, lower-case hex.
    pub sha256: String,
    /// The quarantine reason overridden to store it, if any.
    pub overridden: Option<String>,
    /// The source's date less the bundle's exam date, in days.
    pub date_gap_days: Option<i64>,
    /// Its Body Part Examined.
    pub body_part: Option<String>,
    /// When it was stored (RFC 3339).
    pub created_at: String,
}

/// What an import of images is fed, in order: instances, then the end.
// Sent through a channel of a few items, once per instance: the size of
// the end marker does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum ImageFeed {
    /// An instance to store.
    Image(NewImage),
    /// The end of the import, with what the caller did not store. A feed
    /// that closes without its end is an interrupted import: nothing of it
    /// is stored.
    End(ImageTally),
}

/// What an import looked at and did not store, for its audit event.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImageTally {
    /// Instances quarantined (may show burned-in text).
    pub quarantined: usize,
    /// DICOM files refused (corrupt, unknown patient, no exam).
    pub refused: usize,
    /// Files that are not instances (not DICOM, DICOMDIR).
    pub skipped: usize,
}

/// What became of one fed instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageStored {
    /// Stored now, with this id.
    New(i64),
    /// Already stored, byte for byte (an import run again).
    Unchanged(i64),
    /// Not stored: another instance with its UID is stored (why).
    Refused(String),
}

/// The summary of an image import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageImportSummary {
    /// One result per fed instance, in feed order.
    pub results: Vec<ImageStored>,
    /// Instances stored now.
    pub stored: usize,
    /// Instances already stored.
    pub unchanged: usize,
    /// SHA-256 over the stored instances (`uid sha256` lines, feed
    /// order), as the import's audit event records it.
    pub digest: String,
}

/// One exam's images as the data manager checks them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExamImages {
    /// The study patient.
    pub patient_id: String,
    /// The exam.
    pub exam: crate::Modality,
    /// Instances stored.
    pub instances: usize,
    /// Series among them.
    pub series: usize,
    /// Bytes stored.
    pub bytes: i64,
    /// The largest gap, in days, between an image's date and the bundle's
    /// exam date (checked before any date was shifted).
    pub date_gap_days: Option<i64>,
    /// For a CT whose `ct_levels` is empty: the levels its images seem to
    /// cover (the series' extent from an anchor its type or Body Part
    /// Examined suggests), for the data manager to check and set.
    pub proposed_ct_levels: Option<String>,
    /// What the data manager should look at.
    pub problems: Vec<ImageProblem>,
}

/// A problem of an exam's images.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageProblem {
    /// `warning` or `note`.
    pub severity: &'static str,
    /// A stable code: `image-date-mismatch`, `images-without-exam-date`,
    /// `exam-without-images`, `burned-in-override`, `ct-levels-proposed`.
    pub code: &'static str,
    /// In words.
    pub message: String,
}

/// Each exam of `patients` with what `images` (of the same study) hold of
/// it, and the problems: images dated other than the bundle's exam date, an
/// exam dated in the bundle without images (or images without a date in
/// the bundle), instances stored on an overridden quarantine.
pub fn check_images(patients: &[crate::PatientRecord], images: &[Image]) -> Vec<ExamImages> {
    use std::collections::{BTreeSet, HashMap};
    let mut by_exam: HashMap<i64, Vec<&Image>> = HashMap::new();
    for image in images {
        by_exam.entry(image.exam_id).or_default().push(image);
    }
    let mut out = Vec::with_capacity(patients.len() * 2);
    for p in patients {
        for (exam, column) in [(&p.hand_radiograph, "hand_xray_date"), (&p.ct, "ct_date")] {
            let list = by_exam.get(&exam.id).map(Vec::as_slice).unwrap_or(&[]);
            let series: BTreeSet<&str> = list.iter().map(|i| i.series_uid.as_str()).collect();
            let gap = list
                .iter()
                .filter_map(|i| i.date_gap_days)
                .max_by_key(|g| g.abs());
            let mut problems = Vec::new();
            match (list.is_empty(), exam.date.is_some()) {
                (true, true) => problems.push(ImageProblem {
                    severity: "note",
                    code: "exam-without-images",
                    message: format!(
                        "the bundle dates this exam ({column}) but no image of it is stored"
                    ),
                }),
                (false, false) => problems.push(ImageProblem {
                    severity: "warning",
                    code: "images-without-exam-date",
                    message: format!("images are stored but the bundle has no {column}"),
                }),
                _ => {}
            }
            if let Some(g) = gap.filter(|g| *g != 0) {
                problems.push(ImageProblem {
                    severity: "warning",
                    code: "image-date-mismatch",
                    message: format!(
                        "an image is dated {} day{} {} the bundle's {column}",
                        g.abs(),
                        if g.abs() == 1 { "" } else { "s" },
                        if g > 0 { "after" } else { "before" }
                    ),
                });
            }
            let overridden = list.iter().filter(|i| i.overridden.is_some()).count();
            if overridden > 0 {
                problems.push(ImageProblem {
                    severity: "note",
                    code: "burned-in-override",
                    message: format!(
                        "{overridden} instance(s) stored on --allow-burned-in (their pixels were checked by a person)"
                    ),
                });
            }
            let proposed = (exam.modality == crate::Modality::Ct
                && exam
                    .ct_levels
                    .as_deref()
                    .is_none_or(|l| l.trim().is_empty()))
            .then(|| proposed_levels(exam, list))
            .flatten();
            if let Some((levels, why)) = &proposed {
                problems.push(ImageProblem {
                    severity: "note",
                    code: "ct-levels-proposed",
                    message: format!(
                        "ct_levels is empty: the images ({why}) suggest {levels}; check them against the images and set ct_levels"
                    ),
                });
            }
            out.push(ExamImages {
                patient_id: p.patient_id.clone(),
                exam: exam.modality,
                instances: list.len(),
                series: series.len(),
                bytes: list.iter().map(|i| i.bytes).sum(),
                date_gap_days: gap,
                proposed_ct_levels: proposed.map(|(l, _)| l),
                problems,
            });
        }
    }
    out
}

/// The levels a CT's images seem to cover: the extent of its largest
/// series along the normal, from the anchor its `ct_type` or the images'
/// Body Part Examined suggests; and how that was found, in words.
fn proposed_levels(exam: &crate::Exam, images: &[&Image]) -> Option<(String, String)> {
    use std::collections::HashMap;
    let mut series: HashMap<&str, Vec<&Image>> = HashMap::new();
    for i in images {
        series.entry(i.series_uid.as_str()).or_default().push(i);
    }
    let largest = series.values().max_by_key(|s| s.len())?;
    let mut positions: Vec<f64> = largest.iter().filter_map(|i| i.position).collect();
    if positions.len() < 2 {
        return None;
    }
    positions.sort_by(f64::total_cmp);
    let gaps: Vec<f64> = positions.windows(2).map(|w| w[1] - w[0]).collect();
    let step = gaps.iter().copied().sum::<f64>() / gaps.len() as f64;
    let extent = positions[positions.len() - 1] - positions[0] + step;
    let mut parts: HashMap<&str, usize> = HashMap::new();
    for i in largest.iter() {
        if let Some(b) = &i.body_part {
            *parts.entry(b.as_str()).or_default() += 1;
        }
    }
    let body_part = parts.into_iter().max_by_key(|(_, n)| *n).map(|(b, _)| b);
    let ct_type = exam
        .ct_type
        .as_deref()
        .and_then(sclerad_model::CtType::parse);
    let anchor = sclerad_model::SeriesAnchor::suggested(ct_type, body_part)?;
    let levels = sclerad_model::LevelSet::spanned(anchor, extent);
    if levels.is_empty() {
        return None;
    }
    let from = match (ct_type, body_part) {
        (Some(t), _) => format!("a {} CT", t.code()),
        (None, Some(b)) => b.to_string(),
        (None, None) => "a CT".to_string(),
    };
    Some((
        levels.to_string(),
        format!("{from}, {extent:.0} mm along the spine"),
    ))
}
