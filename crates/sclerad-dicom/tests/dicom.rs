//! sclerad-dicom: the profile table, de-identification of an instance with
//! identifying data wherever real files hide it, quarantine, and real
//! files (`tests/data/`, from pydicom's test files: see its README).

use std::path::PathBuf;

use chrono::NaiveDate;
use dicom_core::header::Header;
use dicom_core::value::{DataSetSequence, PrimitiveValue, Value};
use dicom_core::{DataElement, Tag, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::{FileDicomObject, FileMetaTableBuilder, InMemDicomObject};
use sclerad_dicom::profile::{Action, Profile, TagPattern, EDITION};
use sclerad_dicom::{deidentify, read, Options, Outcome, Read, StudySecret, Subject};

fn data(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

// ---- the table ----

#[test]
fn the_table_is_the_standards_of_its_edition() {
    let p = Profile::standard();
    assert_eq!(EDITION, "2024b");
    assert_eq!(p.rules().len(), 621);
    let action = |tag: Tag| p.rule(tag).map(|r| r.action());
    assert_eq!(action(tags::PATIENT_NAME), Some(Action::Empty));
    assert_eq!(action(tags::PATIENT_ID), Some(Action::EmptyOrDummy));
    assert_eq!(action(tags::SOP_INSTANCE_UID), Some(Action::Uid));
    assert_eq!(action(tags::FRAME_OF_REFERENCE_UID), Some(Action::Uid));
    assert_eq!(action(tags::STUDY_DESCRIPTION), Some(Action::Remove));
    // The Modified Dates option cleans (shifts) the dates the basic
    // profile empties or removes.
    let study_date = p.rule(tags::STUDY_DATE).expect("study date");
    assert_eq!(study_date.basic, Action::Empty);
    assert_eq!(study_date.action(), Action::Clean);
    assert_eq!(action(tags::INSTANCE_CREATION_DATE), Some(Action::Clean));
    assert_eq!(
        p.rule(tags::REFERENCED_IMAGE_SEQUENCE).map(|r| r.basic),
        Some(Action::RemoveOrEmptyOrUids)
    );
    // Patterns: overlays in any repeating group, every private tag.
    assert_eq!(action(Tag(0x6002, 0x3000)), Some(Action::Remove));
    let private = p.rule(Tag(0x0009, 0x1001)).expect("private");
    assert_eq!(private.pattern, TagPattern::Private);
    // Not in the table: kept by the profile (the de-identifier adds its
    // own rules for dates and names).
    assert!(p.rule(tags::ROWS).is_none());
    assert!(p.rule(Tag(0x0014, 0x1020)).is_none());
}

// ---- an instance with identifiers everywhere ----

const NAME: &str = "DOE^JANE";
const PATIENT: &str = "HOSP123456";
const STUDY_UID: &str = "1.2.826.0.1.3680043.9.7133.1.1";
const SERIES_UID: &str = "1.2.826.0.1.3680043.9.7133.1.2";
const INSTANCE_UID: &str = "1.2.826.0.1.3680043.9.7133.1.3";
const OTHER_INSTANCE_UID: &str = "1.2.826.0.1.3680043.9.7133.1.4";
const FRAME_UID: &str = "1.2.826.0.1.3680043.9.7133.1.5";

/// Strings that must not survive de-identification, anywhere in the file.
const IDENTIFYING: &[&str] = &[
    "DOE",
    "JANE",
    PATIENT,
    "19600412",
    "Nancy University Hospital",
    "12 rue de la Paix",
    "HOUSE^GREGORY",
    "TECH^TOM",
    "SN-998877",
    "RADIO-7",
    "ACC-42",
    "ACME",
    "HOSPITAL_PACS",
    "PACS_IMPL_9",
    "1.2.826.0.1.3680043.9.7133",
    "20150610",
    "20150611",
    "20170101",
    "EVALUATOR^EVE",
];

fn s(tag: Tag, vr: VR, value: &str) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, vr, PrimitiveValue::from(value))
}

fn seq(tag: Tag, items: Vec<InMemDicomObject>) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, VR::SQ, DataSetSequence::from(items))
}

fn planted(sop_class: &str) -> FileDicomObject<InMemDicomObject> {
    let referenced = InMemDicomObject::from_element_iter([
        s(
            tags::REFERENCED_SOP_CLASS_UID,
            VR::UI,
            uids::CT_IMAGE_STORAGE,
        ),
        s(
            tags::REFERENCED_SOP_INSTANCE_UID,
            VR::UI,
            OTHER_INSTANCE_UID,
        ),
    ]);
    let request = InMemDicomObject::from_element_iter([
        s(
            tags::REQUESTED_PROCEDURE_DESCRIPTION,
            VR::LO,
            "Hands of DOE JANE",
        ),
        s(
            tags::SCHEDULED_PROCEDURE_STEP_START_DATE,
            VR::DA,
            "20150610",
        ),
    ]);
    let private_item = InMemDicomObject::from_element_iter([s(
        Tag(0x0009, 0x1010),
        VR::LO,
        "JANE DOE HOSP123456",
    )]);
    let obj = InMemDicomObject::from_element_iter([
        s(tags::SOP_CLASS_UID, VR::UI, sop_class),
        s(tags::SOP_INSTANCE_UID, VR::UI, INSTANCE_UID),
        s(tags::STUDY_INSTANCE_UID, VR::UI, STUDY_UID),
        s(tags::SERIES_INSTANCE_UID, VR::UI, SERIES_UID),
        s(tags::FRAME_OF_REFERENCE_UID, VR::UI, FRAME_UID),
        s(tags::PATIENT_NAME, VR::PN, NAME),
        s(tags::PATIENT_ID, VR::LO, PATIENT),
        s(tags::PATIENT_BIRTH_DATE, VR::DA, "19600412"),
        s(tags::PATIENT_SEX, VR::CS, "F"),
        s(tags::INSTITUTION_NAME, VR::LO, "Nancy University Hospital"),
        s(tags::INSTITUTION_ADDRESS, VR::ST, "12 rue de la Paix"),
        s(tags::REFERRING_PHYSICIAN_NAME, VR::PN, "HOUSE^GREGORY"),
        s(tags::OPERATORS_NAME, VR::PN, "TECH^TOM"),
        s(tags::DEVICE_SERIAL_NUMBER, VR::LO, "SN-998877"),
        s(tags::STATION_NAME, VR::SH, "RADIO-7"),
        s(tags::ACCESSION_NUMBER, VR::SH, "ACC-42"),
        s(tags::STUDY_DESCRIPTION, VR::LO, "Hands of Jane Doe"),
        s(
            tags::IMAGE_COMMENTS,
            VR::LT,
            "patient DOE JANE, see HOSP123456",
        ),
        s(tags::STUDY_DATE, VR::DA, "20150610"),
        s(tags::SERIES_DATE, VR::DA, "20150610"),
        s(tags::INSTANCE_CREATION_DATE, VR::DA, "20150611"),
        s(tags::ACQUISITION_DATE_TIME, VR::DT, "20150610101500.000000"),
        s(tags::STUDY_TIME, VR::TM, "101500"),
        // Not in the table: a date, a date-time and a person's name.
        s(Tag(0x0014, 0x1020), VR::DA, "20170101"),
        s(Tag(0x0008, 0x041F), VR::DT, "2017"),
        s(Tag(0x0014, 0x2006), VR::PN, "EVALUATOR^EVE"),
        s(tags::MODALITY, VR::CS, "CR"),
        s(tags::BODY_PART_EXAMINED, VR::CS, "HAND"),
        seq(tags::REFERENCED_IMAGE_SEQUENCE, vec![referenced]),
        seq(tags::REQUEST_ATTRIBUTES_SEQUENCE, vec![request]),
        s(Tag(0x0009, 0x0010), VR::LO, "ACME 1.0"),
        s(Tag(0x0009, 0x1001), VR::LO, "DOE JANE"),
        seq(Tag(0x0009, 0x1002), vec![private_item]),
        DataElement::new(tags::ROWS, VR::US, PrimitiveValue::from(2u16)),
        DataElement::new(tags::COLUMNS, VR::US, PrimitiveValue::from(2u16)),
        DataElement::new(tags::BITS_ALLOCATED, VR::US, PrimitiveValue::from(16u16)),
        DataElement::new(
            tags::PIXEL_DATA,
            VR::OW,
            PrimitiveValue::U16([1u16, 2, 3, 4].into_iter().collect()),
        ),
    ]);
    let meta = FileMetaTableBuilder::new()
        .media_storage_sop_class_uid(sop_class)
        .media_storage_sop_instance_uid(INSTANCE_UID)
        .transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN)
        .implementation_class_uid("1.2.826.0.1.3680043.9.7133.99")
        .implementation_version_name("PACS_IMPL_9")
        .source_application_entity_title("HOSPITAL_PACS")
        .build()
        .expect("meta");
    obj.with_exact_meta(meta)
}

fn bytes_of(file: &FileDicomObject<InMemDicomObject>) -> Vec<u8> {
    let mut out = Vec::new();
    file.write_all(&mut out).expect("write");
    out
}

fn secret(n: u8) -> StudySecret {
    StudySecret::new([n; 32])
}

fn subject(secret: &StudySecret) -> Subject {
    Subject {
        pseudonym: "NCY042".into(),
        day_offset: secret.day_offset("NCY042"),
    }
}

fn stored(outcome: Outcome) -> (FileDicomObject<InMemDicomObject>, sclerad_dicom::Report) {
    match outcome {
        Outcome::Stored { object, report } => (*object, report),
        Outcome::Quarantined { reason } => panic!("quarantined: {reason}"),
    }
}

fn text(obj: &InMemDicomObject, tag: Tag) -> String {
    obj.get(tag)
        .map(|e| {
            e.value()
                .to_str()
                .map(|s| s.trim_end_matches(['\0', ' ']).to_string())
                .unwrap_or_default()
        })
        .unwrap_or_else(|| panic!("no {tag}"))
}

/// Every tag in the data set, items of sequences included.
fn all_tags(obj: &InMemDicomObject, out: &mut Vec<Tag>) {
    for e in obj.iter() {
        out.push(e.tag());
        if let Value::Sequence(seq) = e.value() {
            for item in seq.items() {
                all_tags(item, out);
            }
        }
    }
}

fn roundtrip(file: &FileDicomObject<InMemDicomObject>) -> FileDicomObject<InMemDicomObject> {
    match read(&bytes_of(file)) {
        Read::Instance(obj) => *obj,
        other => panic!("{other:?}"),
    }
}

#[test]
fn no_identifying_byte_survives_and_provenance_is_written() {
    let source = roundtrip(&planted(uids::COMPUTED_RADIOGRAPHY_IMAGE_STORAGE));
    let before = bytes_of(&source);
    for needle in IDENTIFYING {
        assert!(
            before.windows(needle.len()).any(|w| w == needle.as_bytes()),
            "the planted instance should hold {needle}"
        );
    }
    let secret = secret(7);
    let subject = subject(&secret);
    let (out, report) =
        stored(deidentify(&source, &secret, &subject, Options::default()).expect("deid"));
    let bytes = bytes_of(&out);
    for needle in IDENTIFYING {
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
            "{needle} survived"
        );
    }
    // Read back: a valid file, no private tag anywhere.
    let back = roundtrip(&out);
    let mut seen = Vec::new();
    all_tags(&back, &mut seen);
    assert!(seen.iter().all(|t| t.0 % 2 == 0), "{seen:?}");
    assert_eq!(report.private_removed, 3);
    // The pseudonym and the provenance attributes.
    assert_eq!(text(&back, tags::PATIENT_ID), "NCY042");
    assert_eq!(text(&back, tags::PATIENT_NAME), "NCY042");
    assert_eq!(text(&back, tags::PATIENT_BIRTH_DATE), "");
    assert_eq!(text(&back, tags::PATIENT_IDENTITY_REMOVED), "YES");
    assert!(text(&back, tags::DEIDENTIFICATION_METHOD).contains("PS3.15 2024b"));
    assert_eq!(
        text(&back, tags::LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED),
        "MODIFIED"
    );
    let codes: Vec<String> = match back
        .get(tags::DEIDENTIFICATION_METHOD_CODE_SEQUENCE)
        .map(|e| e.value())
    {
        Some(Value::Sequence(seq)) => seq
            .items()
            .iter()
            .map(|i| text(i, tags::CODE_VALUE))
            .collect(),
        other => panic!("{other:?}"),
    };
    assert_eq!(codes, ["113100", "113107"]);
    // Kept: what the study needs to read the image.
    // The Basic Profile empties the sex (only the Retain Patient
    // Characteristics option keeps it): the study has it from the bundle.
    assert_eq!(text(&back, tags::PATIENT_SEX), "");
    assert_eq!(text(&back, tags::MODALITY), "CR");
    assert_eq!(text(&back, tags::STUDY_TIME), "101500");
    assert_eq!(
        back.get(tags::PIXEL_DATA).map(|e| e.value().clone()),
        source.get(tags::PIXEL_DATA).map(|e| e.value().clone())
    );
    // Removed: the request attributes (and the name inside), the
    // description, the unlisted person's name.
    for gone in [
        tags::REQUEST_ATTRIBUTES_SEQUENCE,
        tags::STUDY_DESCRIPTION,
        tags::IMAGE_COMMENTS,
        tags::INSTITUTION_ADDRESS,
        tags::PATIENT_BIRTH_TIME,
        Tag(0x0014, 0x2006),
    ] {
        assert!(back.get(gone).is_none(), "{gone} kept");
    }
    // The file meta information is sclerad's.
    assert_eq!(
        back.meta()
            .implementation_class_uid()
            .trim_end_matches('\0'),
        sclerad_dicom::deid::IMPLEMENTATION_CLASS_UID
    );
    assert_eq!(back.meta().source_application_entity_title(), None);
    assert!(report.unreadable.is_empty(), "{:?}", report.unreadable);
}

#[test]
fn dates_move_by_one_offset_per_patient_and_keep_their_intervals() {
    let source = planted(uids::COMPUTED_RADIOGRAPHY_IMAGE_STORAGE);
    let secret = secret(7);
    let subject = subject(&secret);
    assert!(
        (-3650..=-365).contains(&subject.day_offset),
        "{}",
        subject.day_offset
    );
    assert_eq!(subject.day_offset, secret.day_offset("NCY042"));
    assert_ne!(secret.day_offset("NCY042"), secret.day_offset("NCY043"));
    let (out, report) =
        stored(deidentify(&source, &secret, &subject, Options::default()).expect("deid"));
    let day = |tag: Tag| {
        NaiveDate::parse_from_str(&text(&out, tag)[..8], "%Y%m%d")
            .unwrap_or_else(|e| panic!("{tag}: {e}"))
    };
    let study = NaiveDate::from_ymd_opt(2015, 6, 10).expect("date");
    assert_eq!(
        (day(tags::STUDY_DATE) - study).num_days(),
        subject.day_offset
    );
    assert_eq!(
        (day(tags::INSTANCE_CREATION_DATE) - day(tags::STUDY_DATE)).num_days(),
        1
    );
    assert_eq!(day(tags::ACQUISITION_DATE_TIME), day(tags::STUDY_DATE));
    assert!(text(&out, tags::ACQUISITION_DATE_TIME).ends_with("101500.000000"));
    // A date the table does not list moves too; a year-only date-time
    // stays a year.
    let expiry = NaiveDate::from_ymd_opt(2017, 1, 1).expect("date");
    assert_eq!(
        (day(Tag(0x0014, 0x1020)) - expiry).num_days(),
        subject.day_offset
    );
    assert_eq!(text(&out, Tag(0x0008, 0x041F)).len(), 4);
    assert!(report.dates_shifted >= 6, "{report:?}");
}

#[test]
fn uids_are_replaced_consistently_everywhere_and_deterministically() {
    let source = planted(uids::COMPUTED_RADIOGRAPHY_IMAGE_STORAGE);
    let secret7 = secret(7);
    let subject = subject(&secret7);
    let (out, _) =
        stored(deidentify(&source, &secret7, &subject, Options::default()).expect("deid"));
    let instance = text(&out, tags::SOP_INSTANCE_UID);
    assert_eq!(instance, secret7.remap_uid(INSTANCE_UID));
    assert_eq!(
        text(&out, tags::STUDY_INSTANCE_UID),
        secret7.remap_uid(STUDY_UID)
    );
    assert_eq!(
        text(&out, tags::FRAME_OF_REFERENCE_UID),
        secret7.remap_uid(FRAME_UID)
    );
    assert_eq!(
        out.meta()
            .media_storage_sop_instance_uid()
            .trim_end_matches('\0'),
        instance
    );
    // The reference inside a sequence points at the other instance's new
    // UID; the class UIDs of the standard stay.
    let item = match out.get(tags::REFERENCED_IMAGE_SEQUENCE).map(|e| e.value()) {
        Some(Value::Sequence(seq)) => seq.items()[0].clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        text(&item, tags::REFERENCED_SOP_INSTANCE_UID),
        secret7.remap_uid(OTHER_INSTANCE_UID)
    );
    assert_eq!(
        text(&item, tags::REFERENCED_SOP_CLASS_UID),
        uids::CT_IMAGE_STORAGE
    );
    assert_eq!(
        text(&out, tags::SOP_CLASS_UID),
        uids::COMPUTED_RADIOGRAPHY_IMAGE_STORAGE
    );
    for uid in [&instance, &text(&out, tags::SERIES_INSTANCE_UID)] {
        assert!(uid.starts_with("2.25.") && uid.len() <= 64, "{uid}");
        assert!(uid[5..].chars().all(|c| c.is_ascii_digit()), "{uid}");
    }
    // The same input and secret: the same bytes (importing again stores
    // nothing new); another study's secret: other UIDs and offsets.
    let (again, _) =
        stored(deidentify(&source, &secret7, &subject, Options::default()).expect("deid"));
    assert_eq!(bytes_of(&again), bytes_of(&out));
    let secret8 = secret(8);
    let (other, _) = stored(
        deidentify(
            &source,
            &secret8,
            &subject_for(&secret8),
            Options::default(),
        )
        .expect("deid"),
    );
    assert_ne!(text(&other, tags::SOP_INSTANCE_UID), instance);
}

fn subject_for(secret: &StudySecret) -> Subject {
    subject(secret)
}

#[test]
fn instances_that_may_show_text_are_quarantined_unless_overridden() {
    let secret = secret(7);
    let subject = subject(&secret);
    let mut burned = planted(uids::COMPUTED_RADIOGRAPHY_IMAGE_STORAGE);
    burned.put(s(tags::BURNED_IN_ANNOTATION, VR::CS, "YES"));
    match deidentify(&burned, &secret, &subject, Options::default()).expect("deid") {
        Outcome::Quarantined { reason } => {
            assert!(reason.contains("Burned In Annotation"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    let overridden = Options {
        allow_burned_in: true,
    };
    let (_, report) = stored(deidentify(&burned, &secret, &subject, overridden).expect("deid"));
    assert!(report.override_reason.is_some());
    for (class, what) in [
        (uids::SECONDARY_CAPTURE_IMAGE_STORAGE, "secondary capture"),
        (uids::ULTRASOUND_IMAGE_STORAGE, "ultrasound"),
        (uids::VL_PHOTOGRAPHIC_IMAGE_STORAGE, "visible light"),
    ] {
        match deidentify(&planted(class), &secret, &subject, Options::default()).expect("deid") {
            Outcome::Quarantined { reason } => assert!(reason.contains(what), "{reason}"),
            other => panic!("{class}: {other:?}"),
        }
    }
}

// ---- real files ----

#[test]
fn real_files_are_read_and_deidentified() {
    let secret = secret(3);
    let subject = subject(&secret);
    for name in ["CT_small.dcm", "MR_small_implicit.dcm"] {
        let bytes = data(name);
        let Read::Instance(source) = read(&bytes) else {
            panic!("{name}: not read");
        };
        let before = sclerad_dicom::deid::source_of(&source);
        let (out, report) = match deidentify(&source, &secret, &subject, Options::default()) {
            Ok(o) => stored(o),
            Err(e) => panic!("{name}: {e}"),
        };
        let written = bytes_of(&out);
        let back = roundtrip(&out);
        assert_eq!(text(&back, tags::PATIENT_ID), "NCY042", "{name}");
        if let Some(id) = before.patient_id.filter(|id| id.len() > 3) {
            assert!(
                !written.windows(id.len()).any(|w| w == id.as_bytes()),
                "{name}: {id} survived"
            );
        }
        let mut seen = Vec::new();
        all_tags(&back, &mut seen);
        assert!(seen.iter().all(|t| t.0 % 2 == 0), "{name}: a private tag");
        if name == "CT_small.dcm" {
            let old = before.date.expect("CT_small has a study date");
            let new =
                NaiveDate::parse_from_str(&text(&back, tags::STUDY_DATE), "%Y%m%d").expect("date");
            assert_eq!((new - old).num_days(), subject.day_offset);
            assert_eq!(
                back.get(tags::PIXEL_DATA).map(|e| e.value().clone()),
                source.get(tags::PIXEL_DATA).map(|e| e.value().clone())
            );
            assert!(report.uids_replaced >= 3, "{report:?}");
        }
    }
}

#[test]
fn what_is_not_an_instance_is_skipped_or_refused() {
    assert!(matches!(
        read(b"README: insert the CD and run viewer.exe"),
        Read::Skipped(_)
    ));
    assert!(matches!(read(&[0u8; 10]), Read::Skipped(_)));
    match read(&data("DICOMDIR-empty.dcm")) {
        Read::Skipped(why) => assert!(why.contains("DICOMDIR"), "{why}"),
        other => panic!("{other:?}"),
    }
    match read(&data("MR_truncated.dcm")) {
        Read::Refused(why) => assert!(why.contains("corrupt"), "{why}"),
        other => panic!("{other:?}"),
    }
    // Cut short anywhere: refused, never a partial instance.
    let whole = data("CT_small.dcm");
    for at in [400, 1_000, 5_000, whole.len() - 100] {
        match read(&whole[..at]) {
            Read::Refused(_) => {}
            other => panic!("cut at {at}: {other:?}"),
        }
    }
    // A data set that is no instance (pydicom's nested private sequence).
    match read(&data("nested_priv_SQ.dcm")) {
        Read::Refused(why) => assert!(why.contains("SOP Class UID"), "{why}"),
        other => panic!("{other:?}"),
    }
}

// ---- rendering ----

use sclerad_dicom::render::{png, render, RenderError, Window};

/// A CT-like instance: raw values as given, rescale intercept −1024
/// (raw 1024 is water, 0 HU).
fn ct_with(
    pixels: &[u16],
    rows: u16,
    columns: u16,
    photometric: &str,
) -> FileDicomObject<InMemDicomObject> {
    let obj = InMemDicomObject::from_element_iter([
        s(tags::SOP_CLASS_UID, VR::UI, uids::CT_IMAGE_STORAGE),
        s(tags::SOP_INSTANCE_UID, VR::UI, INSTANCE_UID),
        s(tags::MODALITY, VR::CS, "CT"),
        DataElement::new(tags::SAMPLES_PER_PIXEL, VR::US, PrimitiveValue::from(1u16)),
        s(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, photometric),
        DataElement::new(tags::ROWS, VR::US, PrimitiveValue::from(rows)),
        DataElement::new(tags::COLUMNS, VR::US, PrimitiveValue::from(columns)),
        DataElement::new(tags::BITS_ALLOCATED, VR::US, PrimitiveValue::from(16u16)),
        DataElement::new(tags::BITS_STORED, VR::US, PrimitiveValue::from(12u16)),
        DataElement::new(tags::HIGH_BIT, VR::US, PrimitiveValue::from(11u16)),
        DataElement::new(
            tags::PIXEL_REPRESENTATION,
            VR::US,
            PrimitiveValue::from(0u16),
        ),
        s(tags::RESCALE_INTERCEPT, VR::DS, "-1024"),
        s(tags::RESCALE_SLOPE, VR::DS, "1"),
        DataElement::new(
            tags::PIXEL_DATA,
            VR::OW,
            PrimitiveValue::U16(pixels.iter().copied().collect()),
        ),
    ]);
    let meta = FileMetaTableBuilder::new()
        .media_storage_sop_class_uid(uids::CT_IMAGE_STORAGE)
        .media_storage_sop_instance_uid(INSTANCE_UID)
        .transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN)
        .implementation_class_uid("1.2.3.4")
        .build()
        .expect("meta");
    roundtrip(&obj.with_exact_meta(meta))
}

#[test]
fn a_ct_frame_is_rendered_in_hounsfield_units_through_the_window() {
    // −1024 HU (air), 0 HU (water), 40 HU, 1,000 HU (bone), 2,000 HU.
    let ct = ct_with(&[0, 1024, 1064, 2024, 3024, 1024], 2, 3, "MONOCHROME2");
    let soft = render(&ct, 0, Window::Soft).expect("render");
    assert_eq!((soft.width, soft.height), (3, 2));
    // Centre 40, width 400 (PS3.3 C.11.2.1.2.1): −160.5…238.5 HU.
    assert_eq!(soft.grey, [0, 102, 128, 255, 255, 102]);
    let bone = render(&ct, 0, Window::Bone).expect("render");
    // Centre 400, width 1,800: −500…1,299 HU.
    assert_eq!(bone.grey, [0, 71, 77, 213, 255, 71]);
    let custom = render(&ct, 0, Window::parse("0,2049").expect("window")).expect("render");
    assert_eq!(custom.grey, [0, 128, 133, 252, 255, 128]);
    // MONOCHROME1: low values are white.
    let inverted = render(
        &ct_with(&[0, 1024, 1064, 2024, 3024, 1024], 2, 3, "MONOCHROME1"),
        0,
        Window::Soft,
    )
    .expect("render");
    assert_eq!(inverted.grey, [255, 153, 127, 0, 0, 153]);
    // Auto without a window in the file: the frame's range.
    let auto = render(&ct, 0, Window::Auto).expect("render");
    assert_eq!(auto.grey[0], 0);
    assert_eq!(auto.grey[4], 255);
    assert!(matches!(
        render(&ct, 1, Window::Soft),
        Err(RenderError::NoFrame {
            frame: 1,
            frames: 1
        })
    ));
    for bad in ["", "wide", "40", "40,0", "x,400"] {
        assert!(Window::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn the_files_own_window_and_voi_lut_are_honoured() {
    let mut ct = ct_with(&[0, 1024, 1064, 2024, 3024, 1024], 2, 3, "MONOCHROME2");
    ct.put(s(tags::WINDOW_CENTER, VR::DS, "40"));
    ct.put(s(tags::WINDOW_WIDTH, VR::DS, "400"));
    assert_eq!(
        render(&ct, 0, Window::Auto).expect("render").grey,
        [0, 102, 128, 255, 255, 102]
    );
    // A VOI LUT wins over the window: HU −1024…−1021 through four entries.
    let lut = InMemDicomObject::from_element_iter([
        DataElement::new(
            tags::LUT_DESCRIPTOR,
            VR::US,
            PrimitiveValue::U16([4u16, 0, 8].into_iter().collect()),
        ),
        DataElement::new(
            tags::LUT_DATA,
            VR::US,
            PrimitiveValue::U16([0u16, 85, 170, 255].into_iter().collect()),
        ),
    ]);
    let mut with_lut = ct_with(&[0, 1, 2, 3, 4, 0], 2, 3, "MONOCHROME2");
    with_lut.put(s(tags::RESCALE_INTERCEPT, VR::DS, "0"));
    with_lut.put(seq(tags::VOILUT_SEQUENCE, vec![lut]));
    let with_lut = roundtrip(&with_lut);
    assert_eq!(
        render(&with_lut, 0, Window::Auto).expect("render").grey,
        [0, 85, 170, 255, 255, 0]
    );
}

#[test]
fn a_real_ct_slice_renders_as_a_png() {
    let Read::Instance(ct) = read(&data("CT_small.dcm")) else {
        panic!("CT_small");
    };
    let r = render(&ct, 0, Window::Bone).expect("render");
    assert_eq!((r.width, r.height), (128, 128));
    // A body in air: black corners, something bright inside.
    assert_eq!(r.grey[0], 0);
    assert!(r.grey.iter().any(|g| *g > 100));
    let bytes = png(&r).expect("png");
    let decoder = ::png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info().expect("a PNG");
    let mut buf = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut buf).expect("frame");
    assert_eq!((info.width, info.height), (128, 128));
    assert_eq!(&buf[..info.buffer_size()], &r.grey[..]);
}

// ---- volumes ----

use sclerad_dicom::volume::{Volume, VolumeError};

const ROWS: u16 = 6;
const COLUMNS: u16 = 8;

/// A slice of a series at `z` mm (axial, standard orientation), all water
/// but a 1,000 HU spot at (row, column) when `spot` is set.
fn series_slice(
    z: f64,
    instance: u32,
    spot: Option<(usize, usize)>,
    spacing: f64,
) -> FileDicomObject<InMemDicomObject> {
    let mut pixels = vec![1024u16; ROWS as usize * COLUMNS as usize];
    if let Some((r, c)) = spot {
        pixels[r * COLUMNS as usize + c] = 2024;
    }
    let mut slice = ct_with(&pixels, ROWS, COLUMNS, "MONOCHROME2");
    slice.put(s(
        tags::SOP_INSTANCE_UID,
        VR::UI,
        &format!("2.25.{instance}"),
    ));
    slice.put(s(tags::INSTANCE_NUMBER, VR::IS, &instance.to_string()));
    slice.put(s(
        tags::IMAGE_ORIENTATION_PATIENT,
        VR::DS,
        "1\\0\\0\\0\\1\\0",
    ));
    slice.put(s(
        tags::IMAGE_POSITION_PATIENT,
        VR::DS,
        &format!("-10\\-20\\{z}"),
    ));
    slice.put(s(
        tags::PIXEL_SPACING,
        VR::DS,
        &format!("{spacing}\\{spacing}"),
    ));
    roundtrip(&slice)
}

/// Twelve slices 2.5 mm apart from z = 100, the spot at the sixth (z =
/// 112.5, row 3, column 4), given out of order with instance numbers
/// that run the other way.
fn series(spacing: f64) -> Vec<FileDicomObject<InMemDicomObject>> {
    let order = [7usize, 0, 11, 3, 5, 1, 9, 2, 10, 4, 8, 6];
    order
        .iter()
        .map(|k| {
            let spot = (*k == 5).then_some((3, 4));
            series_slice(100.0 + *k as f64 * 2.5, 100 - *k as u32, spot, spacing)
        })
        .collect()
}

#[test]
fn slices_are_ordered_by_position_along_the_normal() {
    let slices = series(2.5);
    let v = Volume::assemble(&slices).expect("volume");
    assert_eq!(v.slices(), 12);
    assert!(
        v.positions.windows(2).all(|w| w[1] > w[0]),
        "{:?}",
        v.positions
    );
    assert_eq!(v.positions[0], 100.0);
    assert_eq!(v.slice_spacing, 2.5);
    // The most inferior slice is the one given second.
    assert_eq!(v.order[0], 1);
    assert_eq!(v.at(5, 3, 4), Some(1000));
    assert_eq!(v.at(5, 3, 5), Some(0));
    assert_eq!(v.at(12, 0, 0), None);
    let axial = v.axial(5).expect("slice 5");
    assert_eq!(axial.at(4, 3), Some(1000));
}

#[test]
fn a_sagittal_reformat_keeps_the_true_aspect_and_a_slab_finds_the_spot() {
    // Slices 2.5 mm apart, pixels 2.5 mm: one row per slice, superior on top.
    let v = Volume::assemble(&series(2.5)).expect("volume");
    let sag = v.sagittal(4).expect("sagittal");
    assert_eq!((sag.width, sag.height), (ROWS as usize, 12));
    assert_eq!(sag.at(3, 11 - 5), Some(1000));
    assert_eq!(sag.hu.iter().filter(|h| **h == 1000).count(), 1);
    // Pixels of 1.25 mm: two rows per slice, the one between interpolated.
    let fine = Volume::assemble(&series(1.25)).expect("volume");
    let sag = fine.sagittal(4).expect("sagittal");
    assert_eq!(sag.height, 23);
    assert_eq!(sag.at(3, 2 * (11 - 5)), Some(1000));
    assert_eq!(sag.at(3, 2 * (11 - 5) + 1), Some(500));
    // Off the spot's column nothing; a 3-column slab finds it.
    assert_eq!(v.sagittal(5).expect("sagittal").hu.iter().max(), Some(&0));
    assert_eq!(v.sagittal_slab(5, 3).expect("slab").at(3, 6), Some(1000));
    assert!(v.sagittal(COLUMNS as usize).is_none());
    // An axial slab of 5 mm around slice 6 holds slice 5's spot; around 8 not.
    assert_eq!(v.axial_slab(6, 5.0).expect("slab").at(4, 3), Some(1000));
    assert_eq!(v.axial_slab(8, 5.0).expect("slab").at(4, 3), Some(0));
    let grey = v.sagittal(4).expect("sagittal").render(Window::Bone);
    assert_eq!(grey.grey.len(), ROWS as usize * 12);
}

#[test]
fn slices_that_do_not_make_one_volume_are_refused_by_number() {
    let mut slices = series(2.5);
    slices[3].put(s(
        tags::IMAGE_ORIENTATION_PATIENT,
        VR::DS,
        "0\\1\\0\\0\\0\\-1",
    ));
    assert!(matches!(
        Volume::assemble(&slices),
        Err(VolumeError::Differs { index: 3, .. })
    ));
    let mut slices = series(2.5);
    slices[4] = series_slice(100.0 + 7.0 * 2.5, 1, None, 2.5);
    assert!(matches!(
        Volume::assemble(&slices),
        Err(VolumeError::SamePosition { .. })
    ));
    let mut slices = series(2.5);
    slices[2].remove_element(tags::IMAGE_POSITION_PATIENT);
    assert_eq!(
        Volume::assemble(&slices).err(),
        Some(VolumeError::Missing {
            index: 2,
            what: "Image Position (Patient)"
        })
    );
    assert_eq!(Volume::assemble(&[]).err(), Some(VolumeError::Empty));
}

/// Where de-identifiers commonly go wrong: text in sequences the profile
/// dummies, untyped (UN) values, URLs, overlays, vendor class UIDs, bytes
/// that are no date.
#[test]
fn the_places_de_identifiers_miss_are_covered() {
    let secret = secret(7);
    let subject = subject(&secret);
    let vendor_class = "1.3.12.2.1107.5.9.1";
    let mut source = planted(vendor_class);
    let text_object = InMemDicomObject::from_element_iter([s(
        tags::UNFORMATTED_TEXT_VALUE,
        VR::ST,
        "DOE^JANE MRN HOSP123456",
    )]);
    let annotation =
        InMemDicomObject::from_element_iter([seq(tags::TEXT_OBJECT_SEQUENCE, vec![text_object])]);
    source.put(seq(tags::GRAPHIC_ANNOTATION_SEQUENCE, vec![annotation]));
    source.put(DataElement::new(
        tags::OPERATORS_NAME,
        VR::UN,
        PrimitiveValue::U8(b"TECH^TOM".iter().copied().collect()),
    ));
    source.put(s(
        tags::RETRIEVE_URL,
        VR::UR,
        "https://pacs.hospital.example/1.2.826.0.1.3680043.9.7133",
    ));
    source.put(DataElement::new(
        Tag(0x6000, 0x0010),
        VR::US,
        PrimitiveValue::from(2u16),
    ));
    source.put(s(Tag(0x6000, 0x0022), VR::LO, "ACME overlay of DOE"));
    source.put(s(tags::CODING_SCHEME_UID, VR::UI, "2.16.840.1.113883.6.96"));
    source.put(DataElement::new(
        Tag(0x0008, 0x041F),
        VR::DT,
        PrimitiveValue::from("1234567\u{e9}"),
    ));
    let source = roundtrip(&source);
    let (out, report) =
        stored(deidentify(&source, &secret, &subject, Options::default()).expect("deid"));
    let bytes = bytes_of(&out);
    for needle in IDENTIFYING.iter().chain(&["pacs.hospital", "MRN"]) {
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
            "{needle} survived"
        );
    }
    let back = roundtrip(&out);
    // The annotation sequence: one empty item.
    match back
        .get(tags::GRAPHIC_ANNOTATION_SEQUENCE)
        .map(|e| e.value())
    {
        Some(Value::Sequence(seq)) => {
            assert_eq!(seq.items().len(), 1);
            assert_eq!(seq.items()[0].iter().count(), 0);
        }
        other => panic!("{other:?}"),
    }
    for gone in [
        tags::RETRIEVE_URL,
        Tag(0x6000, 0x0010),
        Tag(0x6000, 0x0022),
        tags::OPERATORS_NAME,
    ] {
        assert!(back.get(gone).is_none(), "{gone} kept");
    }
    // Class and scheme UIDs are not instances: kept, and the meta agrees.
    assert_eq!(text(&back, tags::SOP_CLASS_UID), vendor_class);
    assert_eq!(
        back.meta()
            .media_storage_sop_class_uid()
            .trim_end_matches('\0'),
        vendor_class
    );
    assert_eq!(
        text(&back, tags::CODING_SCHEME_UID),
        "2.16.840.1.113883.6.96"
    );
    // A date-time that is no date: emptied and reported, no panic.
    assert_eq!(text(&back, Tag(0x0008, 0x041F)), "");
    assert!(
        report.unreadable.contains(&Tag(0x0008, 0x041F).to_string()),
        "{report:?}"
    );

    // Burned In Annotation sent untyped is still read, and quarantines.
    let mut burned = planted(uids::COMPUTED_RADIOGRAPHY_IMAGE_STORAGE);
    burned.put(DataElement::new(
        tags::BURNED_IN_ANNOTATION,
        VR::UN,
        PrimitiveValue::U8(b"YES ".iter().copied().collect()),
    ));
    assert!(matches!(
        deidentify(&roundtrip(&burned), &secret, &subject, Options::default()).expect("deid"),
        Outcome::Quarantined { .. }
    ));
    // The retired ultrasound class too, even without a modality.
    let mut us = planted("1.2.840.10008.5.1.4.1.1.6");
    us.remove_element(tags::MODALITY);
    assert!(matches!(
        deidentify(&us, &secret, &subject, Options::default()).expect("deid"),
        Outcome::Quarantined { .. }
    ));
}

#[test]
fn absurd_image_sizes_are_refused_without_overflow() {
    let mut huge = planted(uids::COMPUTED_RADIOGRAPHY_IMAGE_STORAGE);
    huge.put(DataElement::new(
        tags::ROWS,
        VR::US,
        PrimitiveValue::from(65535u16),
    ));
    huge.put(DataElement::new(
        tags::COLUMNS,
        VR::US,
        PrimitiveValue::from(65535u16),
    ));
    huge.put(DataElement::new(
        tags::SAMPLES_PER_PIXEL,
        VR::US,
        PrimitiveValue::from(3u16),
    ));
    huge.put(s(tags::NUMBER_OF_FRAMES, VR::IS, "2147483647"));
    match read(&bytes_of(&huge)) {
        Read::Refused(why) => assert!(
            why.contains("cut short") || why.contains("addressed"),
            "{why}"
        ),
        other => panic!("{other:?}"),
    }
}
