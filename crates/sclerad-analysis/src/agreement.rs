//! Agreement between readings: Cohen's kappa per hand lesion and spine
//! flag, between every two readers (`inter`) and between a reader's first
//! and repeat readings (`intra`; a repeat reading is read under the name
//! `NAME#repeat`). The one implementation behind `results.json` and the
//! study server's agreement endpoint; the numbers come from
//! `sclerad-stats` (`psych::cohen.kappa`).
//!
//! A pair of readings is compared on every patient both read, whether or
//! not the patient is analysed: agreement is a property of the reading,
//! not of the cohort's eligibility. The consensus reading is never a
//! reader here.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use sclerad_model::{
    is_consensus, repeat_of, Cohort, Lesion, Modality, ReaderSelection, ReadingEvidence,
    ReadingIndex, SpineFlag,
};
use sclerad_stats::{cohen_kappa, cohen_kappa_ratings, fleiss_kappa, KappaWeights};

use crate::results::{Agreement, AgreementKind, FleissAgreement};
use crate::variables::SPINE_FLAGS;

/// Every agreement row of `cohort`, intervals at 95 %
/// ([`agreement_at`]).
pub fn agreement(cohort: &Cohort) -> Vec<Agreement> {
    agreement_at(cohort, 0.95)
}

/// Every agreement row of `cohort`: for the hand readings, then the spine
/// readings, the inter-reader pairs (readers in name order) and then the
/// intra-reader pairs, each for every finding in the plan's order; kappa's
/// intervals at `conf_level` (clipped to [−1, 1]).
pub fn agreement_at(cohort: &Cohort, conf_level: f64) -> Vec<Agreement> {
    let hand_readers = cohort
        .hand_readings
        .as_ref()
        .map(|h| readers(h.rows.iter().map(|r| r.reader.as_str())))
        .unwrap_or_default();
    let spine_readers = cohort
        .spine_readings
        .as_ref()
        .map(|s| readers(s.rows.iter().map(|r| r.reader.as_str())))
        .unwrap_or_default();
    // One pass over the readings per reader, whatever the number of pairs.
    let indices: BTreeMap<&str, ReadingIndex> = hand_readers
        .iter()
        .chain(&spine_readers)
        .map(|reader| {
            let selection = ReaderSelection {
                hand: Some(reader.to_string()),
                spine: Some(reader.to_string()),
            };
            (*reader, ReadingIndex::build(cohort, &selection))
        })
        .collect();
    let index_of = |reader: &str| &indices[reader];
    let grades: BTreeMap<&str, Grades> = hand_readers
        .iter()
        .map(|reader| (*reader, Grades::of(cohort, reader)))
        .collect();
    let mut out = Vec::new();
    for (kind, a, b) in pairs(&hand_readers) {
        let (ia, ib) = (index_of(&a.name), index_of(&b.name));
        let both: BTreeSet<&str> = ia
            .hand
            .keys()
            .filter(|id| ib.hand.contains_key(*id))
            .map(String::as_str)
            .collect();
        for lesion in Lesion::ALL {
            let k = lesion.index();
            let ratings: Vec<(bool, bool)> = both
                .iter()
                .map(|id| {
                    (
                        ia.hand[*id].hand[k].is_some(),
                        ib.hand[*id].hand[k].is_some(),
                    )
                })
                .collect();
            let modality = Modality::HandRadiograph;
            let mut r = row(
                kind,
                modality,
                lesion.code(),
                (&a.shown, &b.shown),
                &ratings,
                conf_level,
            );
            let (ga, gb) = (&grades[a.name.as_str()], &grades[b.name.as_str()]);
            if ga.graded[k] || gb.graded[k] {
                let pairs: Vec<(u8, u8)> = both
                    .iter()
                    .filter_map(|id| Some((ga.max(id, k)?, gb.max(id, k)?)))
                    .collect();
                let (x, y): (Vec<u8>, Vec<u8>) = pairs.into_iter().unzip();
                r.graded_n = Some(x.len());
                if let Ok(w) = cohen_kappa_ratings(&x, &y, KappaWeights::Quadratic) {
                    r.weighted_kappa = finite(w.kappa);
                    r.weighted_kappa_se = finite(w.se);
                }
            }
            out.push(r);
        }
    }
    for (kind, a, b) in pairs(&spine_readers) {
        let (ia, ib) = (index_of(&a.name), index_of(&b.name));
        let both: BTreeSet<&str> = ia
            .spine
            .keys()
            .filter(|id| ib.spine.contains_key(*id))
            .map(String::as_str)
            .collect();
        for name in SPINE_FLAGS {
            let ratings: Vec<(bool, bool)> = both
                .iter()
                .map(|id| {
                    (
                        spine_flag(&ia.spine[*id], name),
                        spine_flag(&ib.spine[*id], name),
                    )
                })
                .collect();
            out.push(row(
                kind,
                Modality::Ct,
                name,
                (&a.shown, &b.shown),
                &ratings,
                conf_level,
            ));
        }
    }
    out
}

/// Fleiss' kappa for each hand lesion (when three or more readers read
/// hands) and each spine flag (three or more read CTs), over the patients
/// every first reader read; repeat readings and the consensus take no part.
pub fn fleiss(cohort: &Cohort) -> Vec<FleissAgreement> {
    let mut out = Vec::new();
    for modality in [Modality::HandRadiograph, Modality::Ct] {
        let names: Vec<&str> = match modality {
            Modality::HandRadiograph => cohort
                .hand_readings
                .as_ref()
                .map(|h| readers(h.rows.iter().map(|r| r.reader.as_str())))
                .unwrap_or_default(),
            Modality::Ct => cohort
                .spine_readings
                .as_ref()
                .map(|s| readers(s.rows.iter().map(|r| r.reader.as_str())))
                .unwrap_or_default(),
        };
        let first: Vec<&str> = names
            .into_iter()
            .filter(|r| repeat_of(r).is_none())
            .collect();
        if first.len() < 3 {
            continue;
        }
        let evidence: Vec<HashMap<String, ReadingEvidence>> = first
            .iter()
            .map(|reader| {
                let selection = ReaderSelection {
                    hand: Some(reader.to_string()),
                    spine: Some(reader.to_string()),
                };
                let index = ReadingIndex::build(cohort, &selection);
                match modality {
                    Modality::HandRadiograph => index.hand.into_iter().collect(),
                    Modality::Ct => index.spine.into_iter().collect(),
                }
            })
            .collect();
        let all: BTreeSet<&str> = evidence[0]
            .keys()
            .filter(|id| evidence[1..].iter().all(|e| e.contains_key(*id)))
            .map(String::as_str)
            .collect();
        let variables: Vec<&str> = match modality {
            Modality::HandRadiograph => Lesion::ALL.iter().map(|l| l.code()).collect(),
            Modality::Ct => SPINE_FLAGS.to_vec(),
        };
        for variable in variables {
            let found = |e: &ReadingEvidence| match modality {
                Modality::HandRadiograph => {
                    Lesion::parse(variable).is_some_and(|l| e.hand[l.index()].is_some())
                }
                Modality::Ct => spine_flag(e, variable),
            };
            let counts: Vec<[u64; 2]> = all
                .iter()
                .map(|id| {
                    let yes = evidence.iter().filter(|e| found(&e[*id])).count() as u64;
                    [yes, first.len() as u64 - yes]
                })
                .collect();
            let fit = if counts.is_empty() {
                Err("no patient was read by every reader".to_string())
            } else {
                fleiss_kappa(&counts).map_err(|e| e.to_string())
            };
            let (kappa, note) = match fit {
                Ok(k) => (Some(k), None),
                Err(why) => (None, Some(why)),
            };
            out.push(FleissAgreement {
                modality,
                variable: variable.to_string(),
                readers: first.iter().map(|r| r.to_string()).collect(),
                n: all.len(),
                kappa: kappa.and_then(|k| finite(k.kappa)),
                se: kappa.and_then(|k| finite(k.se)),
                z: kappa.and_then(|k| finite(k.z)),
                p_value: kappa.and_then(|k| finite(k.p_value)),
                landis_koch: kappa.and_then(|k| finite(k.kappa)).map(landis_koch),
                note,
            });
        }
    }
    out
}

/// One reader of a table: the name in the `reader` column, and the name a
/// row shows (a repeat reading shows its reader's name).
#[derive(Debug, Clone)]
struct Reader {
    name: String,
    shown: String,
}

/// The readers of a table other than `consensus`, in name order.
fn readers<'a>(names: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let set: BTreeSet<&str> = names.filter(|r| !is_consensus(r)).collect();
    set.into_iter().collect()
}

/// The pairs to compare: every two first readers (inter), then every
/// reader with repeat readings against them (intra).
fn pairs(readers: &[&str]) -> Vec<(AgreementKind, Reader, Reader)> {
    let first: Vec<&str> = readers
        .iter()
        .copied()
        .filter(|r| repeat_of(r).is_none())
        .collect();
    let plain = |name: &str| Reader {
        name: name.to_string(),
        shown: name.to_string(),
    };
    let mut out = Vec::new();
    for (i, a) in first.iter().enumerate() {
        for b in &first[i + 1..] {
            out.push((AgreementKind::Inter, plain(a), plain(b)));
        }
    }
    for again in readers {
        if let Some(base) = repeat_of(again).filter(|base| first.contains(base)) {
            let repeat = Reader {
                name: again.to_string(),
                shown: base.to_string(),
            };
            out.push((AgreementKind::Intra, plain(base), repeat));
        }
    }
    out
}

/// Whether the reading shows spine flag `name` (one of [`SPINE_FLAGS`]).
fn spine_flag(e: &ReadingEvidence, name: &str) -> bool {
    let has = |flag: SpineFlag| e.spine[flag.index()].is_some();
    if name == SPINE_FLAGS[0] {
        // spine_any: a calcification in any segment.
        return has(SpineFlag::Anterior) || has(SpineFlag::Canal) || has(SpineFlag::Posterior);
    }
    SpineFlag::parse(name).is_some_and(has)
}

/// A reader's grades of each hand lesion, per patient: the highest grade
/// recorded (a lesion not found is grade 0; one found without a grade
/// leaves the patient's grade unknown).
struct Grades {
    /// (patient, lesion index) → the highest grade, or `None` when a
    /// finding of it has no grade.
    max: HashMap<(String, usize), Option<u8>>,
    /// Whether the reader graded each lesion at least once.
    graded: [bool; 7],
}

impl Grades {
    fn of(cohort: &Cohort, reader: &str) -> Grades {
        let mut g = Grades {
            max: HashMap::new(),
            graded: [false; 7],
        };
        let Some(readings) = &cohort.hand_readings else {
            return g;
        };
        for r in readings.rows.iter().filter(|r| r.reader == reader) {
            let Some(lesion) = r.lesion else { continue };
            let k = lesion.index();
            g.graded[k] |= r.grade.is_some();
            let slot = g.max.entry((r.patient_id.clone(), k)).or_insert(Some(0));
            *slot = match (*slot, r.grade) {
                (Some(m), Some(grade)) => Some(m.max(grade)),
                _ => None,
            };
        }
        g
    }

    /// Patient `id`'s grade of lesion `k` (0 when not found), if known.
    fn max(&self, id: &str, k: usize) -> Option<u8> {
        match self.max.get(&(id.to_string(), k)) {
            None => Some(0),
            Some(grade) => *grade,
        }
    }
}

/// Landis and Koch's (1977) label of a kappa.
pub fn landis_koch(kappa: f64) -> &'static str {
    if kappa < 0.0 {
        "poor"
    } else if kappa < 0.2 {
        "slight"
    } else if kappa < 0.4 {
        "fair"
    } else if kappa < 0.6 {
        "moderate"
    } else if kappa < 0.8 {
        "substantial"
    } else {
        "almost_perfect"
    }
}

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

fn row(
    kind: AgreementKind,
    modality: Modality,
    variable: &str,
    (a, b): (&str, &str),
    ratings: &[(bool, bool)],
    conf_level: f64,
) -> Agreement {
    let mut t = [[0u64; 2]; 2];
    for (x, y) in ratings {
        t[usize::from(!*x)][usize::from(!*y)] += 1;
    }
    let (both_yes, both_no) = (t[0][0] as usize, t[1][1] as usize);
    let n = ratings.len();
    let (kappa, note) = if n == 0 {
        (None, Some("no patient was read by both".to_string()))
    } else {
        match cohen_kappa(&t, KappaWeights::Unweighted) {
            Ok(k) => (Some(k), None),
            Err(e) => (None, Some(e.to_string())),
        }
    };
    let clip = |x: f64| x.clamp(-1.0, 1.0);
    let interval = kappa.and_then(|k| k.interval(conf_level).ok());
    Agreement {
        kind,
        modality,
        variable: variable.to_string(),
        reader_a: a.to_string(),
        reader_b: b.to_string(),
        n,
        both_yes,
        both_no,
        percent_agreement: (n > 0).then(|| 100.0 * (both_yes + both_no) as f64 / n as f64),
        kappa: kappa.and_then(|k| finite(k.kappa)),
        kappa_se: kappa.and_then(|k| finite(k.se)),
        kappa_ci_low: interval.and_then(|i| finite(i.0)).map(clip),
        kappa_ci_high: interval.and_then(|i| finite(i.1)).map(clip),
        pabak: (n > 0).then(|| 2.0 * (both_yes + both_no) as f64 / n as f64 - 1.0),
        landis_koch: kappa.and_then(|k| finite(k.kappa)).map(landis_koch),
        graded_n: None,
        weighted_kappa: None,
        weighted_kappa_se: None,
        note,
    }
}
