//! The de-identification profile: DICOM PS3.15 Table E.1-1, read from the
//! standard's table as data (`standard/`), applied as the Basic
//! Application Level Confidentiality Profile with the option Retain
//! Longitudinal Temporal Information with Modified Dates.

use std::collections::HashMap;
use std::sync::OnceLock;

use dicom_core::Tag;

/// The edition of PS3.15 the table comes from.
pub const EDITION: &str = "2024b";

const TABLE: &str = include_str!("../standard/ps3.15-2024b-table-e.1-1.tsv");

/// An action code of Table E.1-1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `D`: a non-zero-length dummy value consistent with the VR.
    Dummy,
    /// `Z`: a zero-length value.
    Empty,
    /// `X`: removed.
    Remove,
    /// `K`: kept (a sequence's items are still cleaned).
    Keep,
    /// `C`: cleaned; under the Modified Dates option, a date or time
    /// shifted by the patient's offset.
    Clean,
    /// `U`: a UID replaced consistently within the set of instances.
    Uid,
    /// `Z/D`: Z unless D is needed for IOD conformance.
    EmptyOrDummy,
    /// `X/Z`: X unless Z is needed.
    RemoveOrEmpty,
    /// `X/D`: X unless D is needed.
    RemoveOrDummy,
    /// `X/Z/D`: X unless Z or D is needed.
    RemoveOrEmptyOrDummy,
    /// `X/Z/U*`: X unless Z, or the replacement of the UIDs the sequence
    /// contains, is needed.
    RemoveOrEmptyOrUids,
}

impl Action {
    /// The action of a code as the standard writes it.
    pub fn parse(code: &str) -> Option<Action> {
        Some(match code {
            "D" => Action::Dummy,
            "Z" => Action::Empty,
            "X" => Action::Remove,
            "K" => Action::Keep,
            "C" => Action::Clean,
            "U" => Action::Uid,
            "Z/D" => Action::EmptyOrDummy,
            "X/Z" => Action::RemoveOrEmpty,
            "X/D" => Action::RemoveOrDummy,
            "X/Z/D" => Action::RemoveOrEmptyOrDummy,
            "X/Z/U*" => Action::RemoveOrEmptyOrUids,
            _ => return None,
        })
    }
}

/// Which tags a row of the table covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagPattern {
    /// One tag.
    Exact(Tag),
    /// Tags whose bits under the masks equal `tag`'s (`(60XX,4000)`:
    /// the repeating groups of overlays and curves).
    Masked {
        group: u16,
        group_mask: u16,
        element: u16,
        element_mask: u16,
    },
    /// Every private attribute (odd group).
    Private,
}

impl TagPattern {
    fn parse(text: &str) -> Option<TagPattern> {
        if text.to_ascii_uppercase().contains("IS ODD") {
            return Some(TagPattern::Private);
        }
        let inner = text.strip_prefix('(')?.strip_suffix(')')?;
        let (g, e) = inner.split_once(',')?;
        let half = |s: &str| -> Option<(u16, u16)> {
            if s.len() != 4 {
                return None;
            }
            let mut value = 0u16;
            let mut mask = 0u16;
            for c in s.chars() {
                value <<= 4;
                mask <<= 4;
                if c != 'X' && c != 'x' {
                    value |= c.to_digit(16)? as u16;
                    mask |= 0xF;
                }
            }
            Some((value, mask))
        };
        let (group, group_mask) = half(g)?;
        let (element, element_mask) = half(e)?;
        Some(if group_mask == 0xFFFF && element_mask == 0xFFFF {
            TagPattern::Exact(Tag(group, element))
        } else {
            TagPattern::Masked {
                group,
                group_mask,
                element,
                element_mask,
            }
        })
    }

    fn matches(&self, tag: Tag) -> bool {
        match *self {
            TagPattern::Exact(t) => t == tag,
            TagPattern::Masked {
                group,
                group_mask,
                element,
                element_mask,
            } => tag.0 & group_mask == group && tag.1 & element_mask == element,
            TagPattern::Private => tag.0 % 2 == 1,
        }
    }
}

/// One row of Table E.1-1.
#[derive(Debug, Clone)]
pub struct Rule {
    pub pattern: TagPattern,
    /// The attribute's name in the standard.
    pub name: String,
    /// The Basic Profile's action.
    pub basic: Action,
    /// The Retain Longitudinal Temporal Information with Modified Dates
    /// option's action, where it differs.
    pub modified_dates: Option<Action>,
}

impl Rule {
    /// The action of this profile: the option's where it has one, else
    /// the Basic Profile's.
    pub fn action(&self) -> Action {
        self.modified_dates.unwrap_or(self.basic)
    }
}

/// Table E.1-1, indexed by tag.
#[derive(Debug)]
pub struct Profile {
    rules: Vec<Rule>,
    exact: HashMap<Tag, usize>,
    patterns: Vec<usize>,
}

/// A fault in the embedded table (a bug of this crate, caught by its tests).
#[derive(Debug, thiserror::Error)]
#[error("standard/ps3.15-{EDITION}-table-e.1-1.tsv line {line}: {what}")]
pub struct TableError {
    pub line: usize,
    pub what: String,
}

impl Profile {
    /// Parse the table: columns by header name.
    pub fn parse(text: &str) -> Result<Profile, TableError> {
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap_or_default().split('\t').collect();
        let column = |name: &str| {
            header.iter().position(|h| *h == name).ok_or(TableError {
                line: 1,
                what: format!("no column {name}"),
            })
        };
        let (tag_at, name_at, basic_at, dates_at) = (
            column("tag")?,
            column("name")?,
            column("basic")?,
            column("retain_modified_dates")?,
        );
        let mut profile = Profile {
            rules: Vec::new(),
            exact: HashMap::new(),
            patterns: Vec::new(),
        };
        for (i, line) in lines.enumerate() {
            let at = i + 2;
            let cells: Vec<&str> = line.split('\t').collect();
            let cell = |n: usize| cells.get(n).copied().unwrap_or_default();
            let fault = |what: String| TableError { line: at, what };
            let pattern = TagPattern::parse(cell(tag_at))
                .ok_or_else(|| fault(format!("tag {:?}", cell(tag_at))))?;
            let basic = Action::parse(cell(basic_at))
                .ok_or_else(|| fault(format!("action {:?}", cell(basic_at))))?;
            let modified_dates = match cell(dates_at) {
                "" => None,
                code => Some(Action::parse(code).ok_or_else(|| fault(format!("action {code:?}")))?),
            };
            let n = profile.rules.len();
            match pattern {
                TagPattern::Exact(tag) => {
                    if profile.exact.insert(tag, n).is_some() {
                        return Err(fault(format!("{tag} twice")));
                    }
                }
                _ => profile.patterns.push(n),
            }
            profile.rules.push(Rule {
                pattern,
                name: cell(name_at).to_string(),
                basic,
                modified_dates,
            });
        }
        Ok(profile)
    }

    /// The table of [`EDITION`], parsed once.
    pub fn standard() -> &'static Profile {
        static PROFILE: OnceLock<Profile> = OnceLock::new();
        PROFILE.get_or_init(|| match Profile::parse(TABLE) {
            Ok(p) => p,
            // The table is part of the crate; its tests parse it.
            Err(e) => panic!("{e}"),
        })
    }

    /// The rule for `tag`, if the table lists it (exact tags before
    /// patterns; private tags match the private row).
    pub fn rule(&self, tag: Tag) -> Option<&Rule> {
        if let Some(n) = self.exact.get(&tag) {
            return self.rules.get(*n);
        }
        self.patterns
            .iter()
            .filter_map(|n| self.rules.get(*n))
            .find(|r| r.pattern.matches(tag))
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }
}
