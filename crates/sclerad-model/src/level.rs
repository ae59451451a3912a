//! Vertebral levels and the set of levels a CT covers.

use std::fmt;

use crate::codes::CtType;

/// One vertebral level, C1 to S1 (25 levels), ordered cranio-caudally.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VertebralLevel(u8);

const REGIONS: [(char, u8); 4] = [('c', 7), ('t', 12), ('l', 5), ('s', 1)];

impl VertebralLevel {
    /// Number of levels from C1 to S1.
    pub const COUNT: usize = 25;

    /// All levels, C1 first.
    pub fn all() -> impl Iterator<Item = VertebralLevel> {
        (0..Self::COUNT as u8).map(VertebralLevel)
    }

    /// Zero-based position, C1 = 0 … S1 = 24.
    pub fn index(self) -> usize {
        self.0 as usize
    }

    /// The level at a zero-based position.
    pub fn from_index(index: usize) -> Option<Self> {
        (index < Self::COUNT).then_some(VertebralLevel(index as u8))
    }

    /// Parses `c1`…`c7`, `t1`…`t12`, `l1`…`l5`, `s1` (case-insensitive).
    pub fn parse(text: &str) -> Option<Self> {
        let t = text.trim().to_ascii_lowercase();
        let mut chars = t.chars();
        let region = chars.next()?;
        let rest = chars.as_str();
        if rest.is_empty() || rest.len() > 2 || !rest.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let n: u8 = rest.parse().ok()?;
        let mut offset = 0u8;
        for (r, count) in REGIONS {
            if r == region {
                return (1..=count)
                    .contains(&n)
                    .then_some(VertebralLevel(offset + n - 1));
            }
            offset += count;
        }
        None
    }

    /// The level's code, e.g. `t11`.
    pub fn code(self) -> String {
        self.to_string()
    }
}

impl fmt::Display for VertebralLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut i = self.0;
        for (r, count) in REGIONS {
            if i < count {
                return write!(f, "{}{}", r, i + 1);
            }
            i -= count;
        }
        write!(f, "?{}", self.0)
    }
}

impl serde::Serialize for VertebralLevel {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Where a series along the spine is taken to begin, for
/// [`LevelSet::spanned`]: its most cranial level (`Top`, counting down) or
/// its most caudal (`Bottom`, counting up).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeriesAnchor {
    Top(VertebralLevel),
    Bottom(VertebralLevel),
}

impl SeriesAnchor {
    /// The anchor a CT of `ct_type` (else whose images say Body Part
    /// Examined `body_part`) suggests: a thoracic or thoraco-abdomino-pelvic
    /// CT from C7 down, a lumbar one from S1 up; a chest from T1 down, an
    /// abdomen from T11 down, a cervical spine from C1 down, a lumbar spine
    /// or a pelvis from S1 up.
    pub fn suggested(ct_type: Option<CtType>, body_part: Option<&str>) -> Option<SeriesAnchor> {
        let level = |code: &str| VertebralLevel::parse(code);
        match ct_type {
            Some(CtType::Thoracic) | Some(CtType::ThoracoAbdominoPelvic) => {
                return level("c7").map(SeriesAnchor::Top)
            }
            Some(CtType::Lumbar) => return level("s1").map(SeriesAnchor::Bottom),
            None => {}
        }
        let part: String = body_part?
            .chars()
            .filter(|c| c.is_ascii_alphabetic())
            .collect::<String>()
            .to_ascii_uppercase();
        match part.as_str() {
            "CHESTABDOMENPELVIS" | "CAP" | "TAP" | "WHOLEBODY" | "CHESTABDOMEN" => {
                level("c7").map(SeriesAnchor::Top)
            }
            "CHEST" | "THORAX" | "LUNG" | "TSPINE" => level("t1").map(SeriesAnchor::Top),
            "ABDOMEN" | "ABDOMENPELVIS" => level("t11").map(SeriesAnchor::Top),
            "CSPINE" | "NECK" => level("c1").map(SeriesAnchor::Top),
            "LSPINE" | "PELVIS" | "SSPINE" | "SACRUM" => level("s1").map(SeriesAnchor::Bottom),
            _ => None,
        }
    }
}

/// A set of vertebral levels, such as the levels a CT shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct LevelSet(u32);

/// Why a level range list could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LevelListError(pub String);

impl fmt::Display for LevelListError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl LevelSet {
    /// The empty set.
    pub const EMPTY: LevelSet = LevelSet(0);

    /// All levels from `first` to `last` inclusive.
    pub fn range(first: VertebralLevel, last: VertebralLevel) -> Self {
        let mut set = LevelSet::EMPTY;
        for i in first.index()..=last.index() {
            set.0 |= 1 << i;
        }
        set
    }

    /// The levels a CT of this type shows when `ct_levels` is not given:
    /// thoracic C7–L1, thoraco-abdomino-pelvic C7–S1, lumbar T11–S1.
    pub fn default_for(ct_type: CtType) -> Self {
        let (a, b) = match ct_type {
            CtType::Thoracic => ("c7", "l1"),
            CtType::ThoracoAbdominoPelvic => ("c7", "s1"),
            CtType::Lumbar => ("t11", "s1"),
        };
        match (VertebralLevel::parse(a), VertebralLevel::parse(b)) {
            (Some(a), Some(b)) => LevelSet::range(a, b),
            _ => LevelSet::EMPTY,
        }
    }

    /// The levels a series of `extent_mm` along the spine covers from
    /// `anchor` on, at typical heights of a vertebra with its disc (cervical
    /// 16 mm, thoracic 20 to 28 mm, lumbar 33 mm, sacral 30 mm): a level
    /// counts when at least half of it lies inside. A proposal for a person
    /// to check, not a measurement.
    pub fn spanned(anchor: SeriesAnchor, extent_mm: f64) -> Self {
        let height = |l: VertebralLevel| match l.index() {
            0..=6 => 16.0,
            7..=18 => 20.0 + (l.index() - 7) as f64 * 8.0 / 11.0,
            19..=23 => 33.0,
            _ => 30.0,
        };
        let mut set = LevelSet::EMPTY;
        let mut left = extent_mm.max(0.0);
        let mut at = Some(match anchor {
            SeriesAnchor::Top(l) | SeriesAnchor::Bottom(l) => l,
        });
        while let Some(level) = at {
            let h = height(level);
            if left < h / 2.0 {
                break;
            }
            set.insert(level);
            left -= h;
            at = match anchor {
                SeriesAnchor::Top(_) => VertebralLevel::from_index(level.index() + 1),
                SeriesAnchor::Bottom(_) => level
                    .index()
                    .checked_sub(1)
                    .and_then(VertebralLevel::from_index),
            };
        }
        set
    }

    /// Parses a level range list such as `t1-l2` or `c7-t12,l1-l5` or `t5`.
    pub fn parse(text: &str) -> Result<Self, LevelListError> {
        let mut set = LevelSet::EMPTY;
        let parts: Vec<&str> = text.split([',', ';', '+']).map(str::trim).collect();
        if parts.iter().all(|p| p.is_empty()) {
            return Err(LevelListError("the level list is empty".into()));
        }
        for part in parts {
            if part.is_empty() {
                return Err(LevelListError("an empty range between commas".into()));
            }
            let (a, b) = match part.split_once('-') {
                Some((a, b)) => (a.trim(), b.trim()),
                None => (part, part),
            };
            let first = VertebralLevel::parse(a).ok_or_else(|| {
                LevelListError(format!(
                    "'{a}' is not a vertebral level (c1…c7, t1…t12, l1…l5, s1)"
                ))
            })?;
            let last = VertebralLevel::parse(b).ok_or_else(|| {
                LevelListError(format!(
                    "'{b}' is not a vertebral level (c1…c7, t1…t12, l1…l5, s1)"
                ))
            })?;
            if last < first {
                return Err(LevelListError(format!(
                    "the range '{part}' runs backwards; write it from the upper level down, e.g. {last}-{first}"
                )));
            }
            set.0 |= LevelSet::range(first, last).0;
        }
        Ok(set)
    }

    /// Whether `level` is in the set.
    pub fn contains(self, level: VertebralLevel) -> bool {
        self.0 & (1 << level.index()) != 0
    }

    /// Adds a level.
    pub fn insert(&mut self, level: VertebralLevel) {
        self.0 |= 1 << level.index();
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Number of levels in the set.
    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// The levels in cranio-caudal order.
    pub fn iter(self) -> impl Iterator<Item = VertebralLevel> {
        VertebralLevel::all().filter(move |l| self.contains(*l))
    }
}

impl fmt::Display for LevelSet {
    /// Canonical range list, e.g. `c7-l1` or `c7-t12,l2-l5`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        let mut i = 0;
        while i < VertebralLevel::COUNT {
            if self.0 & (1 << i) == 0 {
                i += 1;
                continue;
            }
            let start = i;
            while i + 1 < VertebralLevel::COUNT && self.0 & (1 << (i + 1)) != 0 {
                i += 1;
            }
            if !first {
                f.write_str(",")?;
            }
            first = false;
            let (a, b) = (VertebralLevel(start as u8), VertebralLevel(i as u8));
            if a == b {
                write!(f, "{a}")?;
            } else {
                write!(f, "{a}-{b}")?;
            }
            i += 1;
        }
        Ok(())
    }
}

impl serde::Serialize for LevelSet {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lv(s: &str) -> VertebralLevel {
        VertebralLevel::parse(s).expect("level")
    }

    #[test]
    fn levels_parse_and_print() {
        assert_eq!(lv("C1").index(), 0);
        assert_eq!(lv("c7").index(), 6);
        assert_eq!(lv("t1").index(), 7);
        assert_eq!(lv("t12").index(), 18);
        assert_eq!(lv("l5").index(), 23);
        assert_eq!(lv("s1").index(), 24);
        for l in VertebralLevel::all() {
            assert_eq!(VertebralLevel::parse(&l.to_string()), Some(l));
        }
        for bad in ["c8", "t0", "t13", "l6", "s2", "x1", "", "t", "t01x", "c+1"] {
            assert_eq!(VertebralLevel::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn level_lists_parse_with_canonical_display() {
        let s = LevelSet::parse("c7-t12, l1-l5").expect("list");
        assert_eq!(s.len(), 1 + 12 + 5);
        assert_eq!(s.to_string(), "c7-l5");
        assert_eq!(LevelSet::parse("t1-l2").expect("list").to_string(), "t1-l2");
        assert_eq!(LevelSet::parse("t5").expect("list").to_string(), "t5");
        assert_eq!(
            LevelSet::parse("c1-c3,t5").expect("list").to_string(),
            "c1-c3,t5"
        );
        assert!(LevelSet::parse("l2-t1").is_err());
        assert!(LevelSet::parse("t1-x").is_err());
        assert!(LevelSet::parse("").is_err());
        assert!(LevelSet::parse("t1,,t2").is_err());
    }

    #[test]
    fn ct_type_defaults_match_the_spec() {
        assert_eq!(LevelSet::default_for(CtType::Thoracic).to_string(), "c7-l1");
        assert_eq!(
            LevelSet::default_for(CtType::ThoracoAbdominoPelvic).to_string(),
            "c7-s1"
        );
        assert_eq!(LevelSet::default_for(CtType::Lumbar).to_string(), "t11-s1");
        assert!(LevelSet::default_for(CtType::Thoracic).contains(lv("t12")));
        assert!(!LevelSet::default_for(CtType::Thoracic).contains(lv("l2")));
    }
}

#[cfg(test)]
mod spanned_tests {
    use super::*;

    fn l(code: &str) -> VertebralLevel {
        VertebralLevel::parse(code).expect("a level")
    }

    #[test]
    fn a_series_spans_levels_from_its_anchor() {
        // A lumbar CT of 200 mm from S1 up: S1 and the five lumbar levels.
        let lumbar = LevelSet::spanned(SeriesAnchor::Bottom(l("s1")), 200.0);
        assert_eq!(lumbar.to_string(), "l1-s1");
        // A chest of 290 mm from T1 down: the twelve thoracic levels.
        let chest = LevelSet::spanned(SeriesAnchor::Top(l("t1")), 290.0);
        assert_eq!(chest.to_string(), "t1-t12");
        // Too short for half a level: nothing; the spine ends at S1.
        assert!(LevelSet::spanned(SeriesAnchor::Top(l("t1")), 5.0).is_empty());
        assert_eq!(
            LevelSet::spanned(SeriesAnchor::Top(l("l5")), 900.0).to_string(),
            "l5-s1"
        );
        assert_eq!(
            SeriesAnchor::suggested(None, Some("L SPINE")),
            Some(SeriesAnchor::Bottom(l("s1")))
        );
        assert_eq!(
            SeriesAnchor::suggested(Some(CtType::Thoracic), Some("LSPINE")),
            Some(SeriesAnchor::Top(l("c7")))
        );
        assert_eq!(SeriesAnchor::suggested(None, Some("KNEE")), None);
    }
}
