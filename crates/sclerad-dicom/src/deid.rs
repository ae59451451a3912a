//! De-identification of one instance: PS3.15 Annex E, the Basic
//! Application Level Confidentiality Profile with the option Retain
//! Longitudinal Temporal Information with Modified Dates.
//!
//! How each action of [`crate::profile::Action`] is carried out:
//! - `X` removes, `Z` empties, `D` writes a dummy of the VR (`ANONYMIZED`,
//!   0, `19000101`…); of the choices (`X/Z`, `X/D`, `Z/D`, `X/Z/D`) the one
//!   that keeps the instance valid in every IOD is taken: D where D is
//!   allowed, else Z. `X/Z/U*` sequences are kept and cleaned, their UIDs
//!   replaced.
//! - `U`, and every UID of the data set outside the standard's own root
//!   (`1.2.840.10008.`: SOP classes, transfer syntaxes, coding schemes),
//!   wherever it occurs (nested references included): replaced by
//!   `2.25.` and a UUID made from a keyed hash of the UID with the study's
//!   secret, so the same UID always gets the same replacement in a study
//!   and no other study can link them.
//! - `C` of the Modified Dates option, and every DA or DT element the
//!   table does not list, wherever it occurs: shifted by the patient's
//!   offset in whole days (so intervals stay; TM values, times of day, are
//!   left as they are). The patient's birth date and time are removed.
//! - Private attributes are removed. Elements the table does not list are
//!   kept, except people's names (VR PN), addresses on the web (VR UR) and
//!   values the source did not type (VR UN: no rule can read them), which
//!   are removed, and overlays (groups 6000–601E), removed whole so that
//!   no overlay module is left without its data.
//! - A sequence whose action is `D` is replaced by one empty item (its
//!   items may hold free text the table does not list).
//! - Class and scheme UIDs (SOP classes, transfer syntaxes, coding
//!   schemes) are kept, whatever their root.
//! - PatientID and PatientName become the study's pseudonym; Patient
//!   Identity Removed, De-identification Method (and its code sequence:
//!   DCM 113100 and 113107) and Longitudinal Temporal Information Modified
//!   are written; the file meta information is rebuilt (no source AE title
//!   or implementation of the source survives).
//!
//! Instances that may show identifying text in their pixels are
//! quarantined, not de-identified, unless the caller overrides it.

use chrono::{Days, NaiveDate};
use dicom_core::header::Header;
use dicom_core::value::{DataSetSequence, PrimitiveValue, Value};
use dicom_core::{DataElement, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::{FileDicomObject, FileMetaTableBuilder, InMemDicomObject};
use sha2::{Digest, Sha256};

use crate::profile::{Action, Profile, EDITION};

type Element = dicom_object::mem::InMemElement;

/// sclerad's implementation class UID in the files it writes (`2.25.` and
/// a UUID fixed for sclerad).
pub const IMPLEMENTATION_CLASS_UID: &str = "2.25.262105127532950127375290123185745930017";
/// The implementation version name in the files it writes.
pub const IMPLEMENTATION_VERSION_NAME: &str = "SCLERAD_0_1";

/// A study's secret: the key of every UID replacement and date offset of
/// the study. It never leaves the store.
#[derive(Clone)]
pub struct StudySecret([u8; 32]);

impl std::fmt::Debug for StudySecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StudySecret(…)")
    }
}

impl StudySecret {
    pub fn new(bytes: [u8; 32]) -> StudySecret {
        StudySecret(bytes)
    }

    /// HMAC-SHA256 (RFC 2104) of `domain`, a zero byte and `text`.
    fn mac(&self, domain: &str, text: &str) -> [u8; 32] {
        let mut inner_pad = [0x36u8; 64];
        let mut outer_pad = [0x5cu8; 64];
        for (i, k) in self.0.iter().enumerate() {
            inner_pad[i] ^= k;
            outer_pad[i] ^= k;
        }
        let inner = Sha256::new()
            .chain_update(inner_pad)
            .chain_update(domain.as_bytes())
            .chain_update([0u8])
            .chain_update(text.as_bytes())
            .finalize();
        let outer = Sha256::new()
            .chain_update(outer_pad)
            .chain_update(inner)
            .finalize();
        let mut out = [0u8; 32];
        out.copy_from_slice(&outer);
        out
    }

    /// The replacement of `uid`: `2.25.` and the decimal value of a UUID
    /// (version 8, RFC 9562) made from the keyed hash of the UID.
    pub fn remap_uid(&self, uid: &str) -> String {
        let mac = self.mac("uid", uid);
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&mac[..16]);
        bytes[6] = (bytes[6] & 0x0F) | 0x80; // version 8
        bytes[8] = (bytes[8] & 0x3F) | 0x80; // variant 10
        format!("2.25.{}", u128::from_be_bytes(bytes))
    }

    /// The pseudonym of a study patient in the images (their PatientID
    /// and PatientName there): `SCL-` and 16 hex digits of a keyed hash,
    /// so neither the study's nor the hospital's identifier shows.
    pub fn pseudonym(&self, study_patient: &str) -> String {
        let mac = self.mac("pseudonym", study_patient);
        let hex: String = mac[..8].iter().map(|b| format!("{b:02X}")).collect();
        format!("SCL-{hex}")
    }

    /// The subject an instance of `study_patient` belongs to.
    pub fn subject(&self, study_patient: &str) -> Subject {
        Subject {
            pseudonym: self.pseudonym(study_patient),
            day_offset: self.day_offset(study_patient),
        }
    }

    /// The date offset of a study patient: whole days, from 365 to 3,650
    /// days back, the same for every instance of the patient.
    pub fn day_offset(&self, study_patient: &str) -> i64 {
        let mac = self.mac("date-offset", study_patient);
        let n = u64::from_be_bytes([
            mac[0], mac[1], mac[2], mac[3], mac[4], mac[5], mac[6], mac[7],
        ]);
        -(365 + (n % (3650 - 365 + 1)) as i64)
    }
}

/// Who an instance belongs to in the study.
#[derive(Debug, Clone)]
pub struct Subject {
    /// The study's pseudonym of the patient (their PatientID from now on).
    pub pseudonym: String,
    /// Days every date of the patient is moved by.
    pub day_offset: i64,
}

/// What the caller allows beyond the profile.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Store instances that may carry burned-in text (a data manager has
    /// checked them).
    pub allow_burned_in: bool,
}

/// What was done to an instance, counted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub removed: usize,
    pub emptied: usize,
    pub dummied: usize,
    pub uids_replaced: usize,
    pub dates_shifted: usize,
    pub private_removed: usize,
    /// Values that could not be read as their VR (each emptied).
    pub unreadable: Vec<String>,
    /// Stored on the caller's override of a quarantine reason.
    pub override_reason: Option<String>,
}

/// What the source said, for the caller to match and check (never
/// stored).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Source {
    pub patient_id: Option<String>,
    pub accession_number: Option<String>,
    pub modality: Option<String>,
    pub body_part: Option<String>,
    pub sop_class_uid: Option<String>,
    /// The first of the study, series, acquisition and content dates.
    pub date: Option<NaiveDate>,
}

/// The outcome of one instance.
#[derive(Debug)]
pub enum Outcome {
    /// De-identified, ready to store.
    Stored {
        object: Box<FileDicomObject<InMemDicomObject>>,
        report: Report,
    },
    /// Not de-identified and not to be stored: why.
    Quarantined { reason: String },
}

/// Why an instance cannot be de-identified.
#[derive(Debug, thiserror::Error)]
pub enum DeidError {
    #[error("the instance has no {0}")]
    Missing(&'static str),
    #[error("cannot rebuild the file meta information: {0}")]
    Meta(String),
}

/// The standard's own UIDs (classes, transfer syntaxes, coding schemes):
/// never replaced.
fn is_standard_uid(uid: &str) -> bool {
    uid.starts_with("1.2.840.10008.")
}

/// Elements whose UIDs name a class or a scheme, not an instance: kept
/// whatever their root (a vendor's SOP class, SNOMED's coding scheme UID).
const CLASS_UIDS: &[Tag] = &[
    tags::SOP_CLASS_UID,
    tags::REFERENCED_SOP_CLASS_UID,
    tags::REFERENCED_SOP_CLASS_UID_IN_FILE,
    tags::AFFECTED_SOP_CLASS_UID,
    tags::REQUESTED_SOP_CLASS_UID,
    tags::RELATED_GENERAL_SOP_CLASS_UID,
    tags::ORIGINAL_SPECIALIZED_SOP_CLASS_UID,
    tags::MEDIA_STORAGE_SOP_CLASS_UID,
    tags::TRANSFER_SYNTAX_UID,
    tags::CODING_SCHEME_UID,
];

/// The text of a string element, trimmed of padding.
pub(crate) fn text(obj: &InMemDicomObject, tag: Tag) -> Option<String> {
    let e = obj.get(tag)?;
    // A value the source did not type (VR UN) holds the text's bytes.
    let s = if e.vr() == VR::UN {
        std::borrow::Cow::Owned(String::from_utf8_lossy(&e.value().to_bytes().ok()?).into_owned())
    } else {
        e.value().to_str().ok()?
    };
    let s = s.trim_matches(|c: char| c == '\0' || c.is_whitespace());
    (!s.is_empty()).then(|| s.to_string())
}

/// SOP classes whose pixels often show identifying text, with the reason.
const BURNED_IN_CLASSES: &[(&str, &str)] = &[
    ("1.2.840.10008.5.1.4.1.1.7", "secondary capture"),
    // With the retired 1.2.840.10008.5.1.4.1.1.6 and .3 themselves.
    ("1.2.840.10008.5.1.4.1.1.6", "ultrasound"),
    ("1.2.840.10008.5.1.4.1.1.3", "ultrasound multi-frame"),
    (
        "1.2.840.10008.5.1.4.1.1.77.1",
        "visible light (photograph, endoscopy, microscopy)",
    ),
    ("1.2.840.10008.5.1.4.1.1.104", "encapsulated document"),
    ("1.2.840.10008.5.1.4.1.1.88", "structured report"),
];

/// Why the instance must not be stored without a person's check, if it
/// must not: its pixels may carry burned-in text (PS3.15 E.1.1: the profile
/// cannot remove it).
pub fn quarantine_reason(obj: &InMemDicomObject) -> Option<String> {
    if text(obj, tags::BURNED_IN_ANNOTATION).is_some_and(|v| v.eq_ignore_ascii_case("YES")) {
        return Some("Burned In Annotation is YES: the pixels show text".into());
    }
    if text(obj, tags::RECOGNIZABLE_VISUAL_FEATURES).is_some_and(|v| v.eq_ignore_ascii_case("YES"))
    {
        return Some("Recognizable Visual Features is YES: the pixels may show the face".into());
    }
    if let Some(class) = text(obj, tags::SOP_CLASS_UID) {
        for (prefix, what) in BURNED_IN_CLASSES {
            if class == *prefix || class.starts_with(&format!("{prefix}.")) {
                return Some(format!(
                    "SOP class {class} ({what}) often carries burned-in text"
                ));
            }
        }
    }
    match text(obj, tags::MODALITY).as_deref() {
        Some(m @ ("US" | "IVUS" | "ES" | "XC" | "OP" | "GM" | "SM" | "DOC" | "SC" | "OT")) => Some(
            format!("modality {m} often carries burned-in text or a photograph"),
        ),
        _ => None,
    }
}

/// What the source says, read before anything is changed.
pub fn source_of(obj: &InMemDicomObject) -> Source {
    let date = [
        tags::STUDY_DATE,
        tags::SERIES_DATE,
        tags::ACQUISITION_DATE,
        tags::CONTENT_DATE,
    ]
    .into_iter()
    .find_map(|t| text(obj, t).and_then(|d| parse_da(&d)));
    Source {
        patient_id: text(obj, tags::PATIENT_ID),
        accession_number: text(obj, tags::ACCESSION_NUMBER),
        modality: text(obj, tags::MODALITY),
        body_part: text(obj, tags::BODY_PART_EXAMINED),
        sop_class_uid: text(obj, tags::SOP_CLASS_UID),
        date,
    }
}

/// A DA value (`YYYYMMDD`, or the old `YYYY.MM.DD`).
fn parse_da(s: &str) -> Option<NaiveDate> {
    let digits: String = s.chars().filter(|c| *c != '.').collect();
    NaiveDate::parse_from_str(&digits, "%Y%m%d").ok()
}

fn shift(d: NaiveDate, days: i64) -> Option<NaiveDate> {
    if days >= 0 {
        d.checked_add_days(Days::new(days as u64))
    } else {
        d.checked_sub_days(Days::new(days.unsigned_abs()))
    }
}

/// One DA or DT value shifted by `days`, at the precision it had; `None`
/// when it cannot be read as a date.
fn shift_value(vr: VR, value: &str, days: i64) -> Option<String> {
    let v = value.trim_matches(|c: char| c == '\0' || c == ' ');
    if v.is_empty() {
        return Some(String::new());
    }
    if !v.is_ascii() {
        return None;
    }
    // A DT's date is its leading digits (4, 6 or 8 of them: year,
    // year-month or the full date), before any time or UTC offset.
    let (date, rest) = match vr {
        VR::DA => (v, ""),
        _ => {
            let digits = v.bytes().take(8).take_while(u8::is_ascii_digit).count();
            v.split_at(digits)
        }
    };
    match date.len() {
        // YYYYMMDD (or YYYY.MM.DD in a DA).
        8 | 10 => {
            let d = parse_da(date)?;
            Some(format!("{}{rest}", shift(d, days)?.format("%Y%m%d")))
        }
        // A DT of year or year-month precision: the middle of the period,
        // shifted, at the same precision.
        4 | 6 => {
            let year: i32 = date.get(..4)?.parse().ok()?;
            let month: u32 = if date.len() == 6 {
                date.get(4..6)?.parse().ok()?
            } else {
                7
            };
            let d = shift(NaiveDate::from_ymd_opt(year, month, 15)?, days)?;
            let text = d.format("%Y%m").to_string();
            Some(format!("{}{rest}", &text[..date.len()]))
        }
        _ => None,
    }
}

/// A dummy value of `vr` (`D`).
fn dummy(vr: VR) -> PrimitiveValue {
    match vr {
        VR::DA => PrimitiveValue::from("19000101"),
        VR::TM => PrimitiveValue::from("000000"),
        VR::DT => PrimitiveValue::from("19000101000000"),
        VR::AS => PrimitiveValue::from("000Y"),
        VR::IS | VR::DS => PrimitiveValue::from("0"),
        VR::US | VR::OW => PrimitiveValue::from(0u16),
        VR::SS => PrimitiveValue::from(0i16),
        VR::UL | VR::OL => PrimitiveValue::from(0u32),
        VR::SL => PrimitiveValue::from(0i32),
        VR::FL | VR::OF => PrimitiveValue::from(0f32),
        VR::FD | VR::OD => PrimitiveValue::from(0f64),
        VR::OB | VR::UN => PrimitiveValue::U8(std::iter::once(0u8).collect()),
        _ => PrimitiveValue::from("ANONYMIZED"),
    }
}

/// The run over one instance.
struct Cleaner<'a> {
    profile: &'a Profile,
    secret: &'a StudySecret,
    subject: &'a Subject,
    report: Report,
}

impl Cleaner<'_> {
    fn uid(&mut self, uid: &str) -> String {
        let uid = uid.trim_matches(|c: char| c == '\0' || c == ' ');
        if uid.is_empty() || is_standard_uid(uid) {
            return uid.to_string();
        }
        self.report.uids_replaced += 1;
        self.secret.remap_uid(uid)
    }

    /// Every value of a UI element replaced (a class UID kept).
    fn uids(&mut self, e: &Element) -> Element {
        if CLASS_UIDS.contains(&e.tag()) {
            return e.clone();
        }
        let values: Vec<String> = match e.value().to_multi_str() {
            Ok(v) => v.iter().map(|u| self.uid(u)).collect(),
            Err(_) => {
                self.report.unreadable.push(e.tag().to_string());
                return DataElement::empty(e.tag(), e.vr());
            }
        };
        DataElement::new(
            e.tag(),
            e.vr(),
            PrimitiveValue::Strs(values.into_iter().collect()),
        )
    }

    /// Every value of a DA or DT element shifted.
    fn dates(&mut self, e: &Element) -> Element {
        let shifted: Option<Vec<String>> = e.value().to_multi_str().ok().and_then(|v| {
            v.iter()
                .map(|d| shift_value(e.vr(), d, self.subject.day_offset))
                .collect()
        });
        match shifted {
            Some(values) => {
                self.report.dates_shifted += 1;
                DataElement::new(
                    e.tag(),
                    e.vr(),
                    PrimitiveValue::Strs(values.into_iter().collect()),
                )
            }
            None => {
                self.report.unreadable.push(e.tag().to_string());
                DataElement::empty(e.tag(), e.vr())
            }
        }
    }

    /// A sequence's items, each cleaned.
    fn sequence(&mut self, e: &Element) -> Element {
        let items: Vec<InMemDicomObject> = match e.value() {
            Value::Sequence(seq) => seq.items().iter().map(|item| self.dataset(item)).collect(),
            _ => Vec::new(),
        };
        DataElement::new(e.tag(), VR::SQ, DataSetSequence::from(items))
    }

    /// The element as kept: sequences cleaned, UIDs replaced, dates
    /// shifted (the rules for elements the table keeps or does not list).
    fn kept(&mut self, e: &Element) -> Option<Element> {
        match e.vr() {
            VR::SQ => Some(self.sequence(e)),
            VR::UI => Some(self.uids(e)),
            VR::DA | VR::DT => Some(self.dates(e)),
            _ => Some(e.clone()),
        }
    }

    fn dummy(&mut self, e: &Element) -> Option<Element> {
        match e.vr() {
            // One empty item: the items may hold free text.
            VR::SQ => {
                self.report.dummied += 1;
                Some(DataElement::new(
                    e.tag(),
                    VR::SQ,
                    DataSetSequence::from(vec![InMemDicomObject::new_empty()]),
                ))
            }
            VR::UI => Some(self.uids(e)),
            vr => {
                self.report.dummied += 1;
                Some(DataElement::new(e.tag(), vr, dummy(vr)))
            }
        }
    }

    fn empty(&mut self, e: &Element) -> Option<Element> {
        self.report.emptied += 1;
        Some(match e.vr() {
            VR::SQ => DataElement::new(
                e.tag(),
                VR::SQ,
                DataSetSequence::<InMemDicomObject>::empty(),
            ),
            vr => DataElement::empty(e.tag(), vr),
        })
    }

    /// The element under this profile, or `None` when removed.
    fn element(&mut self, e: &Element) -> Option<Element> {
        let tag = e.tag();
        // Group lengths are recomputed on writing; the private ones go.
        if tag.1 == 0 && tag.0 != 0x0002 {
            return None;
        }
        if tag.0 % 2 == 1 {
            self.report.private_removed += 1;
            return None;
        }
        let overlay = (0x6000..=0x601E).contains(&tag.0);
        if tag == tags::PATIENT_BIRTH_DATE
            || tag == tags::PATIENT_BIRTH_TIME
            || overlay
            || e.vr() == VR::UR
            || (e.vr() == VR::UN && tag != tags::PIXEL_DATA)
        {
            self.report.removed += 1;
            return None;
        }
        let Some(rule) = self.profile.rule(tag) else {
            if e.vr() == VR::PN {
                self.report.removed += 1;
                return None;
            }
            return self.kept(e);
        };
        match rule.action() {
            Action::Remove => {
                self.report.removed += 1;
                None
            }
            Action::Keep => self.kept(e),
            Action::Uid => Some(match e.vr() {
                VR::SQ => self.sequence(e),
                _ => self.uids(e),
            }),
            Action::Clean => match e.vr() {
                VR::DA | VR::DT => Some(self.dates(e)),
                // Times of day stay (dates move by whole days).
                VR::TM => Some(e.clone()),
                VR::SQ => Some(self.sequence(e)),
                _ => {
                    self.report.removed += 1;
                    None
                }
            },
            Action::RemoveOrEmptyOrUids => Some(match e.vr() {
                VR::SQ => self.sequence(e),
                VR::UI => self.uids(e),
                _ => return self.empty(e),
            }),
            Action::Dummy
            | Action::EmptyOrDummy
            | Action::RemoveOrDummy
            | Action::RemoveOrEmptyOrDummy => self.dummy(e),
            Action::Empty | Action::RemoveOrEmpty => self.empty(e),
        }
    }

    fn dataset(&mut self, obj: &InMemDicomObject) -> InMemDicomObject {
        let mut out = InMemDicomObject::new_empty();
        for e in obj.iter() {
            if let Some(kept) = self.element(e) {
                out.put(kept);
            }
        }
        out
    }
}

/// The de-identification method written into each instance.
pub fn method() -> String {
    format!(
        "sclerad: DICOM PS3.15 {EDITION} Annex E Basic Application Level Confidentiality Profile, Retain Longitudinal Temporal Information with Modified Dates Option"
    )
}

fn code_item(value: &str, meaning: &str) -> InMemDicomObject {
    InMemDicomObject::from_element_iter([
        DataElement::new(tags::CODE_VALUE, VR::SH, PrimitiveValue::from(value)),
        DataElement::new(
            tags::CODING_SCHEME_DESIGNATOR,
            VR::SH,
            PrimitiveValue::from("DCM"),
        ),
        DataElement::new(tags::CODE_MEANING, VR::LO, PrimitiveValue::from(meaning)),
    ])
}

/// De-identify `file` for `subject`: the profile applied, the pseudonym
/// and the provenance attributes written, the file meta information
/// rebuilt. Quarantined (nothing de-identified, nothing to store) when its
/// pixels may carry burned-in text, unless `options` allow it.
pub fn deidentify(
    file: &FileDicomObject<InMemDicomObject>,
    secret: &StudySecret,
    subject: &Subject,
    options: Options,
) -> Result<Outcome, DeidError> {
    let reason = quarantine_reason(file);
    if let Some(reason) = &reason {
        if !options.allow_burned_in {
            return Ok(Outcome::Quarantined {
                reason: reason.clone(),
            });
        }
    }
    let sop_class = text(file, tags::SOP_CLASS_UID).ok_or(DeidError::Missing("SOP Class UID"))?;
    if text(file, tags::SOP_INSTANCE_UID).is_none() {
        return Err(DeidError::Missing("SOP Instance UID"));
    }
    let mut cleaner = Cleaner {
        profile: Profile::standard(),
        secret,
        subject,
        report: Report {
            override_reason: reason,
            ..Report::default()
        },
    };
    let mut out = cleaner.dataset(file);
    let pseudonym = subject.pseudonym.as_str();
    out.put(DataElement::new(
        tags::PATIENT_ID,
        VR::LO,
        PrimitiveValue::from(pseudonym),
    ));
    out.put(DataElement::new(
        tags::PATIENT_NAME,
        VR::PN,
        PrimitiveValue::from(pseudonym),
    ));
    out.put(DataElement::new(
        tags::PATIENT_BIRTH_DATE,
        VR::DA,
        PrimitiveValue::Empty,
    ));
    out.put(DataElement::new(
        tags::PATIENT_IDENTITY_REMOVED,
        VR::CS,
        PrimitiveValue::from("YES"),
    ));
    out.put(DataElement::new(
        tags::DEIDENTIFICATION_METHOD,
        VR::LO,
        PrimitiveValue::from(method().as_str()),
    ));
    out.put(DataElement::new(
        tags::DEIDENTIFICATION_METHOD_CODE_SEQUENCE,
        VR::SQ,
        DataSetSequence::from(vec![
            code_item("113100", "Basic Application Confidentiality Profile"),
            code_item(
                "113107",
                "Retain Longitudinal Temporal Information Modified Dates Option",
            ),
        ]),
    ));
    out.put(DataElement::new(
        tags::LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED,
        VR::CS,
        PrimitiveValue::from("MODIFIED"),
    ));
    let instance =
        text(&out, tags::SOP_INSTANCE_UID).ok_or(DeidError::Missing("SOP Instance UID"))?;
    let meta = FileMetaTableBuilder::new()
        .media_storage_sop_class_uid(sop_class)
        .media_storage_sop_instance_uid(instance)
        .transfer_syntax(file.meta().transfer_syntax())
        .implementation_class_uid(IMPLEMENTATION_CLASS_UID)
        .implementation_version_name(IMPLEMENTATION_VERSION_NAME)
        .build()
        .map_err(|e| DeidError::Meta(e.to_string()))?;
    Ok(Outcome::Stored {
        object: Box::new(out.with_exact_meta(meta)),
        report: cleaner.report,
    })
}

#[cfg(test)]
mod shift_tests {
    use super::*;

    #[test]
    fn date_times_keep_their_precision_and_offset() {
        // 2017-07-15 less 30 days is 2017-06-15.
        assert_eq!(
            shift_value(VR::DT, "20170715101500.25+0100", -30).as_deref(),
            Some("20170615101500.25+0100")
        );
        assert_eq!(
            shift_value(VR::DT, "201707+0100", -30).as_deref(),
            Some("201706+0100")
        );
        assert_eq!(
            shift_value(VR::DT, "2017-0500", -400).as_deref(),
            Some("2016-0500")
        );
        assert_eq!(shift_value(VR::DT, "2017", -400).as_deref(), Some("2016"));
        assert_eq!(
            shift_value(VR::DA, "20170715", -1).as_deref(),
            Some("20170714")
        );
        assert_eq!(shift_value(VR::DT, "", -1).as_deref(), Some(""));
        assert_eq!(shift_value(VR::DT, "17-07", -1), None);
    }
}
