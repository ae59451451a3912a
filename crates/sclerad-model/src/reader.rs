//! Choosing whose reading the analysis uses.
//!
//! Rule of the format: the reader named by `--reader`; without it,
//! `consensus` if present, else the only reader; otherwise the user must
//! name one. The rule is applied to each readings table on its own, since
//! hands and spines are often read by different radiologists.

use std::collections::BTreeSet;
use std::fmt;

use crate::cohort::{Cohort, HandReading, Readings, SpineReading, CONSENSUS};

/// Why no reader could be chosen for a readings table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReaderChoiceError {
    /// `--reader` named someone who read nothing in this table.
    NotFound {
        /// The name asked for.
        requested: String,
        /// The readers present.
        available: Vec<String>,
    },
    /// Several readers, none of them `consensus`, and no `--reader`.
    Ambiguous {
        /// The readers present.
        available: Vec<String>,
    },
}

impl fmt::Display for ReaderChoiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReaderChoiceError::NotFound {
                requested,
                available,
            } => write!(
                f,
                "reader '{requested}' has no readings here; readers present: {}",
                available.join(", ")
            ),
            ReaderChoiceError::Ambiguous { available } => write!(
                f,
                "several readers ({}) and no 'consensus' reading: choose one with --reader",
                available.join(", ")
            ),
        }
    }
}

/// The distinct reader names of a readings table, sorted.
pub fn readers_of<'a, I: IntoIterator<Item = &'a str>>(names: I) -> Vec<String> {
    // A table's rows come in runs of one reader's: a name like the one
    // before is not looked up again (millions of rows, a few readers).
    let mut set: BTreeSet<&str> = BTreeSet::new();
    let mut last = None;
    for name in names {
        if last != Some(name) {
            set.insert(name);
            last = Some(name);
        }
    }
    set.into_iter().map(str::to_string).collect()
}

/// Applies the reader rule to the readers present in one table.
/// Returns `Ok(None)` when the table has no readings at all.
pub fn choose_reader(
    available: &[String],
    requested: Option<&str>,
) -> Result<Option<String>, ReaderChoiceError> {
    if available.is_empty() {
        return Ok(None);
    }
    if let Some(requested) = requested {
        let requested = requested.trim();
        return match available.iter().find(|r| r.as_str() == requested) {
            Some(r) => Ok(Some(r.clone())),
            None => Err(ReaderChoiceError::NotFound {
                requested: requested.to_string(),
                available: available.to_vec(),
            }),
        };
    }
    if let Some(consensus) = available.iter().find(|r| is_consensus(r)) {
        return Ok(Some(consensus.clone()));
    }
    match available {
        [only] => Ok(Some(only.clone())),
        _ => Err(ReaderChoiceError::Ambiguous {
            available: available.to_vec(),
        }),
    }
}

/// The reader chosen for each readings table (`None`: no such table, or no
/// readings in it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReaderSelection {
    /// Reader of the hand radiographs.
    pub hand: Option<String>,
    /// Reader of the spinal CTs.
    pub spine: Option<String>,
}

/// The readers present in each table and the outcome of the reader rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReaderChoice {
    /// Readers in `hand_readings`.
    pub hand_readers: Vec<String>,
    /// Readers in `spine_readings`.
    pub spine_readers: Vec<String>,
    /// Rule outcome for hands.
    pub hand: Result<Option<String>, ReaderChoiceError>,
    /// Rule outcome for spines.
    pub spine: Result<Option<String>, ReaderChoiceError>,
}

impl ReaderChoice {
    /// Applies the rule to both tables of `cohort`.
    pub fn resolve(cohort: &Cohort, requested: Option<&str>) -> Self {
        fn names<T>(r: &Option<Readings<T>>, f: fn(&T) -> &str) -> Vec<String> {
            r.as_ref()
                .map(|r| readers_of(r.rows.iter().map(f)))
                .unwrap_or_default()
        }
        let hand_readers = names(&cohort.hand_readings, |r: &HandReading| r.reader.as_str());
        let spine_readers = names(&cohort.spine_readings, |r: &SpineReading| r.reader.as_str());
        let hand = choose_reader(&hand_readers, requested);
        let spine = choose_reader(&spine_readers, requested);
        ReaderChoice {
            hand_readers,
            spine_readers,
            hand,
            spine,
        }
    }

    /// The selection, with an undecided table treated as having no reader.
    pub fn selection(&self) -> ReaderSelection {
        ReaderSelection {
            hand: self.hand.clone().ok().flatten(),
            spine: self.spine.clone().ok().flatten(),
        }
    }
}

/// Whether `reader` names the adjudicated reading: `consensus` in any case,
/// as the reader rule matches it.
pub fn is_consensus(reader: &str) -> bool {
    reader.eq_ignore_ascii_case(CONSENSUS)
}

/// What marks a repeat reading's reader name in a bundle: `rad1#repeat` is
/// rad1's second, blinded reading of the same patient.
pub const REPEAT_SUFFIX: &str = "#repeat";

/// The reader whose repeat reading `reader` names (`rad1` for
/// `rad1#repeat`), if it names one.
pub fn repeat_of(reader: &str) -> Option<&str> {
    reader
        .strip_suffix(REPEAT_SUFFIX)
        .filter(|base| !base.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeat_readers_are_named_with_a_suffix() {
        assert_eq!(repeat_of("rad1#repeat"), Some("rad1"));
        assert_eq!(repeat_of("rad1"), None);
        assert_eq!(repeat_of("#repeat"), None);
    }

    #[test]
    fn readers_are_distinct_and_sorted_runs_or_not() {
        let rows = ["b", "b", "a", "b", "a", "a", "c#repeat", "b"];
        assert_eq!(readers_of(rows), v(&["a", "b", "c#repeat"]));
        assert!(readers_of([]).is_empty());
    }

    fn v(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn explicit_reader_wins() {
        assert_eq!(
            choose_reader(&v(&["a", "consensus"]), Some("a")),
            Ok(Some("a".into()))
        );
        assert!(matches!(
            choose_reader(&v(&["a", "b"]), Some("c")),
            Err(ReaderChoiceError::NotFound { .. })
        ));
    }

    #[test]
    fn consensus_then_only_reader_then_ask() {
        assert_eq!(
            choose_reader(&v(&["a", "b", "Consensus"]), None),
            Ok(Some("Consensus".into()))
        );
        assert_eq!(choose_reader(&v(&["a"]), None), Ok(Some("a".into())));
        assert_eq!(choose_reader(&v(&[]), None), Ok(None));
        let err = choose_reader(&v(&["a", "b"]), None).expect_err("ambiguous");
        assert!(err.to_string().contains("--reader"));
    }
}
