//! Long-format readings that agree with given patient-level flags.

use sclerad_model::{
    HandReading, HandSide, HandSite, Lesion, LevelSet, Morphology, SpineFlag, SpineReading,
    SpineSegment, SpineSide, CONSENSUS,
};

use crate::rng::Rng;

/// How often a reader other than `consensus` misses a lesion that is
/// there, and (a third as often) sees one that is not.
#[derive(Debug, Clone, Copy)]
pub struct ReaderNoise {
    /// Probability of missing a present lesion.
    pub miss: f64,
    /// Probability of recording an absent lesion.
    pub false_positive: f64,
}

impl Default for ReaderNoise {
    fn default() -> Self {
        ReaderNoise {
            miss: 0.10,
            false_positive: 0.03,
        }
    }
}

fn perceive<const N: usize>(
    truth: [bool; N],
    reader: &str,
    noise: ReaderNoise,
    rng: &mut Rng,
) -> [bool; N] {
    if reader.eq_ignore_ascii_case(CONSENSUS) {
        return truth;
    }
    truth.map(|t| {
        if t {
            !rng.chance(noise.miss)
        } else {
            rng.chance(noise.false_positive)
        }
    })
}

/// Appends each reader's hand readings of one patient whose true lesions are `truth`.
pub fn hand_readings(
    patient_id: &str,
    truth: [bool; 7],
    readers: &[String],
    noise: ReaderNoise,
    rng: &mut Rng,
    out: &mut Vec<HandReading>,
) {
    for reader in readers {
        let seen = perceive(truth, reader, noise, rng);
        let mut any = false;
        for (lesion, present) in Lesion::ALL.iter().zip(seen) {
            if !present {
                continue;
            }
            any = true;
            let sites: Vec<HandSite> = HandSite::ALL
                .iter()
                .copied()
                .filter(|s| lesion.allowed_at(*s))
                .collect();
            for _ in 0..rng.between(1, 2) {
                out.push(HandReading {
                    row: 0,
                    patient_id: patient_id.to_string(),
                    reader: reader.clone(),
                    side: Some(*rng.pick(HandSide::ALL)),
                    site: Some(*rng.pick(&sites)),
                    lesion: Some(*lesion),
                    grade: Some(rng.between(1, 3) as u8),
                    mark: None,
                    extra: Vec::new(),
                });
            }
        }
        if !any {
            out.push(HandReading {
                row: 0,
                patient_id: patient_id.to_string(),
                reader: reader.clone(),
                side: None,
                site: None,
                lesion: None,
                grade: None,
                mark: None,
                extra: Vec::new(),
            });
        }
    }
}

/// Appends each reader's spine readings of one patient whose true flags
/// (indexed by [`SpineFlag`]) are `truth`, at levels inside `coverage`.
pub fn spine_readings(
    patient_id: &str,
    truth: [bool; 4],
    coverage: LevelSet,
    readers: &[String],
    noise: ReaderNoise,
    rng: &mut Rng,
    out: &mut Vec<SpineReading>,
) {
    let levels: Vec<_> = coverage.iter().collect();
    for reader in readers {
        let mut seen = perceive(truth, reader, noise, rng);
        if seen[SpineFlag::Foraminal.index()] {
            seen[SpineFlag::Canal.index()] = true;
        }
        let mut any = false;
        for segment in SpineSegment::ALL {
            let flag = match segment {
                SpineSegment::Anterior => SpineFlag::Anterior,
                SpineSegment::Canal => SpineFlag::Canal,
                SpineSegment::Posterior => SpineFlag::Posterior,
            };
            if !seen[flag.index()] || levels.is_empty() {
                continue;
            }
            any = true;
            let count = rng.between(1, 3) as usize;
            let foraminal_row = seen[SpineFlag::Foraminal.index()].then_some(0);
            for i in 0..count {
                let foraminal = match segment {
                    SpineSegment::Canal => Some(foraminal_row == Some(i)),
                    _ => None,
                };
                out.push(SpineReading {
                    row: 0,
                    patient_id: patient_id.to_string(),
                    reader: reader.clone(),
                    level: Some(*rng.pick(&levels)),
                    segment: Some(*segment),
                    foraminal,
                    side: Some(*rng.pick(SpineSide::ALL)),
                    morphology: Some(*rng.pick(Morphology::ALL)),
                    mark: None,
                    extra: Vec::new(),
                });
            }
        }
        if !any {
            out.push(SpineReading {
                row: 0,
                patient_id: patient_id.to_string(),
                reader: reader.clone(),
                level: None,
                segment: None,
                foraminal: None,
                side: None,
                morphology: None,
                mark: None,
                extra: Vec::new(),
            });
        }
    }
}
