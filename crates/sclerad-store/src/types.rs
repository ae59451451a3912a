//! The records a study store holds.

use serde::{Deserialize, Serialize};

pub use sclerad_model::{Cells, Modality};

sclerad_model::codes! {
    /// What a user may do in a study server.
    pub enum Role ("a role") {
        /// Manages users and studies; may do everything.
        Admin = "admin",
        /// Enters and corrects clinical data, imports and exports bundles.
        DataManager = "data_manager",
        /// Reads images blind: sees only pseudonymous exam codes.
        Reader = "reader",
        /// Settles disagreements between readers.
        Adjudicator = "adjudicator",
        /// Runs analyses and agreement statistics.
        Analyst = "analyst",
    }
}

/// Checks a login name and returns it in the one form it is stored and
/// matched in: Unicode NFKC (so compatibility forms such as full-width
/// letters are the same name). The name must then be 1 to 64 characters
/// with no spaces, no control or invisible formatting characters (no
/// bidirectional overrides), in one script (`аdmin` with a Cyrillic `а`
/// is refused), printable ASCII or letters and digits allowed in
/// identifiers, and not a name the readings give a meaning to: `consensus`
/// in any case, or anything with `#` (as in `rad1#repeat`). Every user is
/// created through this check ([`Store::create_user`](crate::Store::create_user)),
/// which also refuses a name that looks like an existing one
/// ([`looks_like`]).
pub fn check_user_name(name: &str) -> crate::StoreResult<String> {
    use unicode_normalization::UnicodeNormalization;
    use unicode_security::{GeneralSecurityProfile, MixedScript};
    let normal: String = name.trim().nfkc().collect();
    let refuse = |why: &str| {
        Err(crate::StoreError::invalid(
            "name",
            format!("user name {name:?}: {why}"),
        ))
    };
    if normal.is_empty() || normal.chars().count() > 64 {
        return refuse("1 to 64 characters");
    }
    let allowed = |c: char| {
        if c.is_ascii() {
            c.is_ascii_graphic()
        } else {
            c.identifier_allowed() && !c.is_whitespace()
        }
    };
    if let Some(c) = normal.chars().find(|c| !allowed(*c)) {
        return refuse(&format!(
            "U+{:04X} is not allowed (no spaces, control, invisible or formatting characters)",
            u32::from(c)
        ));
    }
    if !normal.as_str().is_single_script() {
        return refuse("mixes scripts (such as Latin and Cyrillic letters); use one");
    }
    if sclerad_model::is_consensus(&normal) || normal.contains('#') {
        return refuse(&format!(
            "reserved ('{}' in any case, and names with '#', name readings)",
            sclerad_model::CONSENSUS
        ));
    }
    Ok(normal)
}

/// A login name as typed, in the form names are stored in (NFKC, trimmed),
/// for looking the user up.
pub fn login_name(typed: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    typed.trim().nfkc().collect()
}

/// Whether two user names would look the same to a person: equal after
/// lower-casing and mapping confusable characters to their prototype
/// (Unicode TS #39 skeletons), so `rita` and `rіta` (Ukrainian `і`), or
/// `Ana` and `ana`, are one name.
pub fn looks_like(a: &str, b: &str) -> bool {
    let skeleton = |s: &str| -> String {
        unicode_security::skeleton(&s.to_lowercase())
            .collect::<String>()
            .to_lowercase()
    };
    skeleton(a) == skeleton(b)
}

/// The longest study name, in characters.
pub const MAX_STUDY_NAME_CHARS: usize = 200;

/// Checks a study name: 1 to 200 characters, no control characters, no
/// surrounding spaces (a name is matched exactly, in URLs too). Every study
/// is created through this check
/// ([`Store::import_study`](crate::Store::import_study)).
pub fn check_study_name(name: &str) -> crate::StoreResult<()> {
    if name.is_empty()
        || name.chars().count() > MAX_STUDY_NAME_CHARS
        || name.trim() != name
        || name.chars().any(char::is_control)
    {
        return Err(crate::StoreError::invalid(
            "study",
            format!(
                "study name {name:?}: 1 to {MAX_STUDY_NAME_CHARS} characters, no control characters, no spaces around it"
            ),
        ));
    }
    Ok(())
}

/// A user of the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    /// Store identifier.
    pub id: i64,
    /// Login name, unique.
    pub name: String,
    /// Role.
    pub role: Role,
    /// When the user was created (RFC 3339).
    pub created_at: String,
    /// Disabled: no login, session or API token of the user is accepted.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub disabled: bool,
}

/// A user with what login needs.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// The user.
    pub user: User,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// Failed logins since the last success.
    pub failed_logins: i64,
    /// No login is tried before this instant (RFC 3339), if set.
    pub locked_until: Option<String>,
}

/// Who makes a change, for the audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The user, when the change comes from one.
    pub user_id: Option<i64>,
    /// What the audit trail names: a user name, or `cli:<os user>`.
    pub name: String,
}

impl Actor {
    /// A change made by `user`.
    pub fn user(user: &User) -> Self {
        Actor {
            user_id: Some(user.id),
            name: user.name.clone(),
        }
    }

    /// A change made from the command line.
    pub fn command_line(what: &str) -> Self {
        Actor {
            user_id: None,
            name: format!("cli:{what}"),
        }
    }
}

/// A login session.
#[derive(Debug, Clone)]
pub struct Session {
    /// SHA-256 of the cookie value (the value itself is never stored).
    pub token_hash: String,
    /// Whose session it is.
    pub user: User,
    /// The token that state-changing form posts must echo.
    pub csrf_token: String,
    /// Expiry (RFC 3339).
    pub expires_at: String,
}

/// An API token, as listed (the secret is shown once, at creation).
#[derive(Debug, Clone, Serialize)]
pub struct ApiToken {
    /// Store identifier.
    pub id: i64,
    /// Owner.
    pub user_id: i64,
    /// What the token is for.
    pub label: String,
    /// Creation time (RFC 3339).
    pub created_at: String,
    /// When it stops working (RFC 3339).
    pub expires_at: String,
}

/// The column layout of a study's bundle, so that an export writes the
/// tables it was given, in their order, unknown columns included.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StudyColumns {
    /// `patients` columns.
    pub patients: Vec<String>,
    /// `hand_readings` columns, when the study has that table.
    pub hand_readings: Option<Vec<String>>,
    /// `spine_readings` columns, when the study has that table.
    pub spine_readings: Option<Vec<String>>,
}

/// A study.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Study {
    /// Store identifier.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// Bundle layout.
    #[serde(skip)]
    pub columns: StudyColumns,
    /// Creation time (RFC 3339).
    pub created_at: String,
}

/// One exam of a patient, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exam {
    /// Store identifier (0 before it is stored).
    pub id: i64,
    /// Hand radiograph or CT.
    pub modality: Modality,
    /// Exam date, ISO.
    pub date: Option<String>,
    /// CT type code (CT only).
    pub ct_type: Option<String>,
    /// CT covered levels, as in the bundle (CT only).
    pub ct_levels: Option<String>,
}

/// The clinical record of one patient with its exams.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PatientRecord {
    /// Store identifier.
    pub id: i64,
    /// The study's patient identifier.
    pub patient_id: String,
    /// Every cell of the patients row except `patient_id` and the exam
    /// columns (`hand_xray_date`, `ct_date`, `ct_type`, `ct_levels`).
    pub cells: Cells,
    /// The hand radiograph.
    pub hand_radiograph: Exam,
    /// The CT.
    pub ct: Exam,
    /// Optimistic-locking version, incremented by every change.
    pub version: i64,
}

sclerad_model::codes! {
    /// Where a reading comes from.
    pub enum ReadingKind ("a reading kind") {
        /// Imported from a bundle.
        Imported = "imported",
        /// A reader's first, blinded reading of an exam.
        Primary = "primary",
        /// The same reader's second reading, under another code.
        Repeat = "repeat",
        /// The adjudicated reading (reader `consensus`).
        Consensus = "consensus",
    }
}

/// One reader's reading of one exam.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reading {
    /// Store identifier.
    pub id: i64,
    /// The exam read.
    pub exam_id: i64,
    /// The patient, by study identifier (never shown to readers).
    pub patient_id: String,
    /// Which exam.
    pub modality: Modality,
    /// Reader name as in the bundle's `reader` column.
    pub reader: String,
    /// Origin.
    pub kind: ReadingKind,
    /// Findings, one per readings row, without `patient_id` and `reader`;
    /// `None` while an assigned exam is unread.
    pub findings: Option<Vec<Cells>>,
    /// Optimistic-locking version.
    pub version: i64,
}

/// Which part of a list to return: `limit` items after the first
/// `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// Items skipped.
    pub offset: u64,
    /// Items returned at most, 1 to [`Page::MAX_LIMIT`].
    pub limit: u64,
}

impl Page {
    /// The most items one page holds.
    pub const MAX_LIMIT: u64 = 1000;

    /// A page, its limit brought within 1 to [`Page::MAX_LIMIT`].
    pub fn new(offset: u64, limit: u64) -> Self {
        Page {
            offset,
            limit: limit.clamp(1, Page::MAX_LIMIT),
        }
    }

    /// Offset and limit as SQL integers.
    pub fn sql(self) -> (i64, i64) {
        (
            i64::try_from(self.offset).unwrap_or(i64::MAX),
            i64::try_from(self.limit).unwrap_or(1),
        )
    }
}

/// One page of a list, and the whole list's length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paged<T> {
    /// The page's items, in the list's order.
    pub items: Vec<T>,
    /// How many items the whole list holds.
    pub total: u64,
}

/// One entry of a reader's worklist: what a blinded reader may see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WorkItem {
    /// Pseudonymous exam code, unique to this presentation.
    pub code: String,
    /// Position in the reader's own random order.
    pub position: i64,
    /// Hand radiograph or CT.
    pub modality: Modality,
    /// CT type (the reader must know what was imaged).
    pub ct_type: Option<String>,
    /// CT covered levels.
    pub ct_levels: Option<String>,
    /// Findings saved so far, if any.
    pub findings: Option<Vec<Cells>>,
    /// Version to send back with the next save.
    pub version: i64,
}

/// One assignment to create: `reader` reads `exam_id` under `code`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAssignment {
    /// The exam.
    pub exam_id: i64,
    /// The reader (a user with role reader).
    pub reader_id: i64,
    /// Pseudonymous code, unique in the store.
    pub code: String,
    /// Position in the reader's worklist.
    pub position: i64,
    /// Primary or repeat presentation.
    pub kind: ReadingKind,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn study_names_are_printable_and_bounded() {
        for ok in ["nancy", "Nancy 2016 (SSc)", "étude-α"] {
            assert!(check_study_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", " nancy", "nancy ", "a\nb", "a\u{0}b", &"s".repeat(201)] {
            assert!(check_study_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn reserved_and_malformed_user_names_are_refused() {
        for ok in [
            "ana",
            "rad-2",
            "Dr.Ben",
            "ana@chru-nancy.fr",
            "José",
            "Ηλίας",
        ] {
            assert_eq!(check_user_name(ok).as_deref(), Ok(ok), "{ok}");
        }
        // Compatibility forms are the same name.
        assert_eq!(check_user_name("ａｎａ").as_deref(), Ok("ana"));
        for bad in [
            "",
            "consensus",
            "Consensus",
            "CONSENSUS",
            "ｃｏｎｓｅｎｓｕｓ",
            "rad1#repeat",
            "a b",
            "tab\there",
            "\u{202e}admin",
            "ad\u{200b}min",
            "ad\u{2066}min",
            "\u{430}dmin",
            &"x".repeat(65),
        ] {
            assert!(
                matches!(check_user_name(bad), Err(crate::StoreError::Invalid { ref field, .. }) if field == "name"),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn look_alike_names_are_one_name() {
        assert!(looks_like("rita", "r\u{456}ta"));
        assert!(looks_like("Ana", "ana"));
        assert!(looks_like("admin", "\u{430}dmin"));
        assert!(looks_like("rn", "m"));
        assert!(!looks_like("rita", "rolf"));
    }
}
