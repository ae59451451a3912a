//! What adjudicators and analysts see of the readings: patient-level flags
//! per reading, disagreements between readers, and Cohen's kappa per lesion
//! and segment, between readers and within a reader (first against repeat
//! reading).

use std::collections::{BTreeMap, BTreeSet};

use sclerad_model::{Lesion, CONSENSUS};
use sclerad_stats::{cohen_kappa_ratings, KappaWeights};
use sclerad_store::{Cells, Modality, Reading, ReadingKind};
use serde::Serialize;
use utoipa::ToSchema;

/// Flag name → present.
pub type Flags = BTreeMap<&'static str, bool>;

/// The patient-level flags a reading gives: each lesion (hand) or segment
/// (CT, with `foraminal`) present or not.
pub fn flags(modality: Modality, findings: &[Cells]) -> Flags {
    let has = |key: &str, value: &str| {
        findings
            .iter()
            .any(|f| f.get(key).map(String::as_str) == Some(value))
    };
    match modality {
        Modality::HandRadiograph => Lesion::ALL
            .iter()
            .map(|l| (l.code(), has("lesion", l.code())))
            .collect(),
        Modality::Ct => {
            let foraminal = findings.iter().any(|f| {
                f.get("segment").map(String::as_str) == Some("canal")
                    && f.get("foraminal").map(String::as_str) == Some("yes")
            });
            BTreeMap::from([
                ("anterior", has("segment", "anterior")),
                ("canal", has("segment", "canal")),
                ("foraminal", foraminal),
                ("posterior", has("segment", "posterior")),
            ])
        }
    }
}

/// A first reading by one reader (imported or made on the server), not a
/// repeat and not the consensus.
fn is_first_reading(r: &Reading) -> bool {
    matches!(r.kind, ReadingKind::Imported | ReadingKind::Primary) && r.reader != CONSENSUS
}

/// Exams whose readers disagree on at least one flag.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Disagreement {
    /// The exam (adjudicators work on exams, not patients).
    pub exam_id: i64,
    /// Hand radiograph or CT.
    #[schema(value_type = String)]
    pub modality: Modality,
    /// The flags the readers disagree on.
    pub flags: Vec<String>,
    /// Each reader's findings.
    pub readings: Vec<ReaderFindings>,
    /// The consensus reading's version (0: none yet), to send with a save.
    pub consensus_version: i64,
}

/// One reader's findings of an exam.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReaderFindings {
    /// Reader name.
    pub reader: String,
    /// Findings as stored (canonical cells).
    #[schema(value_type = Vec<Object>)]
    pub findings: Vec<Cells>,
}

/// The disagreements among `readings` (of one study).
pub fn disagreements(readings: &[Reading]) -> Vec<Disagreement> {
    let mut by_exam: BTreeMap<i64, Vec<&Reading>> = BTreeMap::new();
    for r in readings
        .iter()
        .filter(|r| is_first_reading(r) && r.findings.is_some())
    {
        by_exam.entry(r.exam_id).or_default().push(r);
    }
    let consensus: BTreeMap<i64, i64> = readings
        .iter()
        .filter(|r| r.kind == ReadingKind::Consensus)
        .map(|r| (r.exam_id, r.version))
        .collect();
    let mut out = Vec::new();
    for (exam_id, rs) in by_exam {
        if rs.len() < 2 {
            continue;
        }
        let modality = rs[0].modality;
        let all: Vec<Flags> = rs
            .iter()
            .map(|r| flags(modality, r.findings.as_deref().unwrap_or_default()))
            .collect();
        let differing: Vec<String> = all[0]
            .keys()
            .filter(|k| all.iter().any(|f| f.get(*k) != all[0].get(*k)))
            .map(|k| k.to_string())
            .collect();
        if differing.is_empty() {
            continue;
        }
        out.push(Disagreement {
            exam_id,
            modality,
            flags: differing,
            readings: rs
                .iter()
                .map(|r| ReaderFindings {
                    reader: r.reader.clone(),
                    findings: r.findings.clone().unwrap_or_default(),
                })
                .collect(),
            consensus_version: consensus.get(&exam_id).copied().unwrap_or(0),
        });
    }
    out
}

/// Agreement on one flag between two sets of readings of the same exams.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AgreementRow {
    /// `inter` (two readers) or `intra` (a reader's first and repeat reading).
    pub kind: String,
    /// First reader.
    pub reader_a: String,
    /// Second reader (the same reader for `intra`).
    pub reader_b: String,
    /// Hand radiograph or CT.
    #[schema(value_type = String)]
    pub modality: Modality,
    /// Lesion code, or `anterior`/`canal`/`foraminal`/`posterior`.
    pub flag: String,
    /// Exams read by both.
    pub n: u64,
    /// Share of exams with the same rating.
    pub observed_agreement: Option<f64>,
    /// Cohen's kappa (null when not defined, see `note`).
    pub kappa: Option<f64>,
    /// 95 % interval (Fleiss–Cohen–Everitt standard error).
    pub ci_low: Option<f64>,
    /// Upper bound.
    pub ci_high: Option<f64>,
    /// Why kappa is missing, when it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

fn rows(
    kind: &str,
    a: &str,
    b: &str,
    modality: Modality,
    pairs: &[(Flags, Flags)],
) -> Vec<AgreementRow> {
    let keys: Vec<&'static str> = match pairs.first() {
        Some((first, _)) => first.keys().copied().collect(),
        None => return Vec::new(),
    };
    keys.into_iter()
        .map(|key| {
            let x: Vec<bool> = pairs
                .iter()
                .map(|(p, _)| p.get(key).copied().unwrap_or(false))
                .collect();
            let y: Vec<bool> = pairs
                .iter()
                .map(|(_, q)| q.get(key).copied().unwrap_or(false))
                .collect();
            let same = x.iter().zip(&y).filter(|(p, q)| p == q).count();
            let n = x.len() as u64;
            let (kappa, note) = match cohen_kappa_ratings(&x, &y, KappaWeights::Unweighted) {
                Ok(k) => (Some(k), None),
                Err(e) => (None, Some(e.to_string())),
            };
            AgreementRow {
                kind: kind.into(),
                reader_a: a.into(),
                reader_b: b.into(),
                modality,
                flag: key.into(),
                n,
                observed_agreement: (n > 0).then(|| same as f64 / n as f64),
                kappa: kappa.and_then(|k| finite(k.kappa)),
                ci_low: kappa.and_then(|k| finite(k.ci_low)),
                ci_high: kappa.and_then(|k| finite(k.ci_high)),
                note,
            }
        })
        .collect()
}

/// Kappa for every pair of readers and every reader with repeat readings,
/// per modality and flag.
pub fn agreement(readings: &[Reading]) -> Vec<AgreementRow> {
    type Key<'a> = (Modality, &'a str);
    let mut first: BTreeMap<Key<'_>, BTreeMap<i64, Flags>> = BTreeMap::new();
    let mut repeat: BTreeMap<Key<'_>, BTreeMap<i64, Flags>> = BTreeMap::new();
    for r in readings {
        let Some(findings) = &r.findings else {
            continue;
        };
        let target = if is_first_reading(r) {
            &mut first
        } else if r.kind == ReadingKind::Repeat {
            &mut repeat
        } else {
            continue;
        };
        target
            .entry((r.modality, r.reader.as_str()))
            .or_default()
            .insert(r.exam_id, flags(r.modality, findings));
    }
    let mut out = Vec::new();
    for modality in Modality::ALL {
        let readers: BTreeSet<&str> = first
            .keys()
            .filter(|(m, _)| m == modality)
            .map(|(_, r)| *r)
            .collect();
        let readers: Vec<&str> = readers.into_iter().collect();
        for (i, a) in readers.iter().enumerate() {
            for b in &readers[i + 1..] {
                let (Some(ra), Some(rb)) =
                    (first.get(&(*modality, *a)), first.get(&(*modality, *b)))
                else {
                    continue;
                };
                let pairs: Vec<_> = ra
                    .iter()
                    .filter_map(|(exam, fa)| rb.get(exam).map(|fb| (fa.clone(), fb.clone())))
                    .collect();
                out.extend(rows("inter", a, b, *modality, &pairs));
            }
        }
        for ((m, reader), again) in repeat.iter().filter(|((m, _), _)| m == modality) {
            let Some(once) = first.get(&(*m, *reader)) else {
                continue;
            };
            let pairs: Vec<_> = once
                .iter()
                .filter_map(|(exam, fa)| again.get(exam).map(|fb| (fa.clone(), fb.clone())))
                .collect();
            out.extend(rows("intra", reader, reader, *modality, &pairs));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(exam: i64, reader: &str, kind: ReadingKind, lesions: &[&str]) -> Reading {
        Reading {
            id: 0,
            exam_id: exam,
            patient_id: String::new(),
            modality: Modality::HandRadiograph,
            reader: reader.into(),
            kind,
            findings: Some(
                lesions
                    .iter()
                    .map(|l| Cells::from([("lesion".to_string(), l.to_string())]))
                    .collect(),
            ),
            version: 1,
        }
    }

    #[test]
    fn disagreements_and_kappa_match_the_ratings() {
        let mut rs = Vec::new();
        // Four exams; the readers disagree on calcinosis for exam 2 only.
        for (exam, a, b) in [
            (1, true, true),
            (2, true, false),
            (3, false, false),
            (4, false, false),
        ] {
            let l = |x: bool| if x { vec!["calcinosis"] } else { vec!["none"] };
            rs.push(reading(exam, "ana", ReadingKind::Primary, &l(a)));
            rs.push(reading(exam, "ben", ReadingKind::Imported, &l(b)));
        }
        rs.push(reading(1, "ana", ReadingKind::Repeat, &["calcinosis"]));
        rs.push(reading(
            2,
            CONSENSUS,
            ReadingKind::Consensus,
            &["calcinosis"],
        ));
        let d = disagreements(&rs);
        assert_eq!(d.len(), 1);
        assert_eq!(
            (d[0].exam_id, d[0].flags.clone(), d[0].consensus_version),
            (2, vec!["calcinosis".to_string()], 1)
        );

        let rows = agreement(&rs);
        let calc = rows
            .iter()
            .find(|r| r.kind == "inter" && r.flag == "calcinosis")
            .expect("row");
        assert_eq!(calc.n, 4);
        assert_eq!(calc.observed_agreement, Some(0.75));
        // R: psych::cohen.kappa(cbind(c(1,1,0,0), c(1,0,0,0))) -> 0.5
        assert!((calc.kappa.expect("kappa") - 0.5).abs() < 1e-12);
        let intra = rows
            .iter()
            .find(|r| r.kind == "intra" && r.flag == "calcinosis")
            .expect("intra");
        assert_eq!(
            (intra.n, intra.kappa, intra.note.is_some()),
            (1, None, true)
        );
    }
}
