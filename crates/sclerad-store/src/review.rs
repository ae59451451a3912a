//! What adjudicators see of a study's readings: the exams whose first
//! readings disagree on a patient-level flag (a lesion, a spine segment,
//! foraminal extension), with each reader's findings.

use std::collections::BTreeMap;

use sclerad_model::{is_consensus, reading_flags};

use crate::types::{Cells, Modality, Reading, ReadingKind};

/// An exam whose readers disagree on at least one flag.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Disagreement {
    /// The exam (adjudicators work on exams, not patients).
    pub exam_id: i64,
    /// Hand radiograph or CT.
    pub modality: Modality,
    /// The flags the readers disagree on (`calcinosis`, `canal`,
    /// `foraminal`, …).
    pub flags: Vec<String>,
    /// Each reader's findings, by reader name.
    pub readings: Vec<(String, Vec<Cells>)>,
    /// The consensus reading's version (0: none yet), to send with a save.
    pub consensus_version: i64,
    /// The consensus reading's findings, if one exists (saved by an
    /// adjudicator, or imported as the reader `consensus`): the exam is then
    /// resolved.
    pub consensus: Option<Vec<Cells>>,
}

impl Disagreement {
    /// Whether a consensus reading settles this disagreement.
    pub fn resolved(&self) -> bool {
        self.consensus.is_some()
    }
}

/// A first reading by one reader (imported or made on the server), not a
/// repeat and not the consensus.
fn is_first_reading(r: &Reading) -> bool {
    matches!(r.kind, ReadingKind::Imported | ReadingKind::Primary) && !is_consensus(&r.reader)
}

/// The disagreements among `readings` (of one study): the open ones (no
/// consensus yet) first, then the resolved ones, each by exam.
pub fn disagreements(readings: &[Reading]) -> Vec<Disagreement> {
    let mut by_exam: BTreeMap<i64, Vec<&Reading>> = BTreeMap::new();
    for r in readings
        .iter()
        .filter(|r| is_first_reading(r) && r.findings.is_some())
    {
        by_exam.entry(r.exam_id).or_default().push(r);
    }
    // An exam's consensus: the one saved on the server, else one imported
    // (the reading a consensus save takes over).
    let mut consensus: BTreeMap<i64, &Reading> = BTreeMap::new();
    for r in readings.iter().filter(|r| is_consensus(&r.reader)) {
        let saved = r.kind == ReadingKind::Consensus;
        match consensus.get(&r.exam_id) {
            Some(c) if c.kind == ReadingKind::Consensus || !saved => {}
            _ => {
                consensus.insert(r.exam_id, r);
            }
        }
    }
    let mut out = Vec::new();
    for (exam_id, rs) in by_exam {
        if rs.len() < 2 {
            continue;
        }
        let modality = rs[0].modality;
        let all: Vec<_> = rs
            .iter()
            .map(|r| reading_flags(modality, r.findings.as_deref().unwrap_or_default()))
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
                .map(|r| (r.reader.clone(), r.findings.clone().unwrap_or_default()))
                .collect(),
            consensus_version: consensus.get(&exam_id).map_or(0, |c| c.version),
            consensus: consensus
                .get(&exam_id)
                .map(|c| c.findings.clone().unwrap_or_default()),
        });
    }
    out.sort_by_key(|d| (d.resolved(), d.exam_id));
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
    fn only_first_readings_that_differ_are_listed() {
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
        // A repeat that differs is not a disagreement between readers.
        rs.push(reading(3, "ana", ReadingKind::Repeat, &["calcinosis"]));
        rs.push(reading(
            2,
            sclerad_model::CONSENSUS,
            ReadingKind::Consensus,
            &["calcinosis"],
        ));
        let d = disagreements(&rs);
        assert_eq!(d.len(), 1);
        assert_eq!(
            (d[0].exam_id, d[0].flags.clone(), d[0].consensus_version),
            (2, vec!["calcinosis".to_string()], 1)
        );
        assert_eq!(d[0].readings.len(), 2);
        assert!(d[0].resolved());
    }

    #[test]
    fn open_exams_come_first_and_an_imported_consensus_resolves() {
        let mut rs = Vec::new();
        for exam in 1..=3 {
            rs.push(reading(exam, "ana", ReadingKind::Imported, &["calcinosis"]));
            rs.push(reading(exam, "ben", ReadingKind::Imported, &["none"]));
        }
        // Exam 1: imported consensus; exam 2: imported, then saved (the
        // saved one is current); exam 3: open.
        rs.push(reading(1, "consensus", ReadingKind::Imported, &["none"]));
        rs.push(reading(2, "consensus", ReadingKind::Imported, &["none"]));
        let mut saved = reading(2, "consensus", ReadingKind::Consensus, &["calcinosis"]);
        saved.version = 4;
        rs.push(saved);
        let d = disagreements(&rs);
        let order: Vec<(i64, bool, i64)> = d
            .iter()
            .map(|d| (d.exam_id, d.resolved(), d.consensus_version))
            .collect();
        assert_eq!(order, vec![(3, false, 0), (1, true, 1), (2, true, 4)]);
        let lesion = |d: &Disagreement| d.consensus.as_ref().map(|c| c[0]["lesion"].clone());
        assert_eq!(lesion(&d[2]).as_deref(), Some("calcinosis"));
    }
}
