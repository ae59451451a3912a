//! Synthetic DICOM instances for demos and tests: a hand radiograph and
//! the slices of a CT series, from pixels the caller draws, with the
//! identifying attributes a real hospital file carries (name, birth date,
//! institution, physicians, accession number, dates and times, UIDs), so
//! de-identification has something to remove. What the pixels show is the
//! caller's (`sclerad-synth` draws them from a patient's readings).

use chrono::NaiveDate;
use dicom_core::value::PrimitiveValue;
use dicom_core::{DataElement, VR};
use dicom_dictionary_std::tags;
use dicom_object::{FileDicomObject, FileMetaTableBuilder, InMemDicomObject};
use sha2::{Digest, Sha256};

/// Digital X-Ray Image Storage – For Presentation.
pub const DX_CLASS: &str = "1.2.840.10008.5.1.4.1.1.1.1";
/// CT Image Storage.
pub const CT_CLASS: &str = "1.2.840.10008.5.1.4.1.1.2";
/// Explicit VR Little Endian.
const EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";

/// Who and when, as the hospital's files say it.
#[derive(Debug, Clone)]
pub struct Hospital {
    /// The hospital's Patient ID.
    pub patient_id: String,
    /// The patient's name, `FAMILY^GIVEN`.
    pub patient_name: String,
    pub birth_date: NaiveDate,
    /// `F` or `M`.
    pub sex: String,
    pub accession_number: String,
    pub institution: String,
    pub referring_physician: String,
    /// The exam's date.
    pub date: NaiveDate,
    /// A text for the seeds of the UIDs (the same text, the same UIDs).
    pub seed: String,
}

/// A UID under `2.25` from a hash of `parts`.
pub fn uid(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    let d = h.finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    b[6] = (b[6] & 0x0F) | 0x80;
    b[8] = (b[8] & 0x3F) | 0x80;
    format!("2.25.{}", u128::from_be_bytes(b))
}

fn put(obj: &mut InMemDicomObject, tag: dicom_core::Tag, vr: VR, value: impl Into<PrimitiveValue>) {
    obj.put(DataElement::new(tag, vr, value.into()));
}

fn da(d: NaiveDate) -> String {
    d.format("%Y%m%d").to_string()
}

/// The attributes every instance of the exam shares.
fn common(
    h: &Hospital,
    modality: &str,
    class: &str,
    series: &str,
    instance: &str,
) -> InMemDicomObject {
    let mut o = InMemDicomObject::new_empty();
    put(&mut o, tags::SOP_CLASS_UID, VR::UI, class);
    put(&mut o, tags::SOP_INSTANCE_UID, VR::UI, instance);
    put(
        &mut o,
        tags::STUDY_INSTANCE_UID,
        VR::UI,
        uid(&[&h.seed, "study"]).as_str(),
    );
    put(&mut o, tags::SERIES_INSTANCE_UID, VR::UI, series);
    put(&mut o, tags::PATIENT_NAME, VR::PN, h.patient_name.as_str());
    put(&mut o, tags::PATIENT_ID, VR::LO, h.patient_id.as_str());
    put(
        &mut o,
        tags::PATIENT_BIRTH_DATE,
        VR::DA,
        da(h.birth_date).as_str(),
    );
    put(&mut o, tags::PATIENT_SEX, VR::CS, h.sex.as_str());
    put(
        &mut o,
        tags::ACCESSION_NUMBER,
        VR::SH,
        h.accession_number.as_str(),
    );
    put(
        &mut o,
        tags::INSTITUTION_NAME,
        VR::LO,
        h.institution.as_str(),
    );
    put(
        &mut o,
        tags::REFERRING_PHYSICIAN_NAME,
        VR::PN,
        h.referring_physician.as_str(),
    );
    for tag in [
        tags::STUDY_DATE,
        tags::SERIES_DATE,
        tags::ACQUISITION_DATE,
        tags::CONTENT_DATE,
    ] {
        put(&mut o, tag, VR::DA, da(h.date).as_str());
    }
    put(&mut o, tags::STUDY_TIME, VR::TM, "101500");
    put(&mut o, tags::MODALITY, VR::CS, modality);
    put(&mut o, tags::STUDY_ID, VR::SH, "1");
    put(&mut o, tags::SERIES_NUMBER, VR::IS, "1");
    put(
        &mut o,
        tags::STUDY_DESCRIPTION,
        VR::LO,
        format!("{} {}", modality, h.patient_name).as_str(),
    );
    put(&mut o, tags::MANUFACTURER, VR::LO, "sclerad synthetic");
    put(
        &mut o,
        tags::SAMPLES_PER_PIXEL,
        VR::US,
        PrimitiveValue::from(1u16),
    );
    put(
        &mut o,
        tags::BITS_ALLOCATED,
        VR::US,
        PrimitiveValue::from(16u16),
    );
    put(
        &mut o,
        tags::PIXEL_REPRESENTATION,
        VR::US,
        PrimitiveValue::from(0u16),
    );
    o
}

fn pixels(o: &mut InMemDicomObject, rows: usize, columns: usize, values: &[u16]) {
    put(o, tags::ROWS, VR::US, PrimitiveValue::from(rows as u16));
    put(
        o,
        tags::COLUMNS,
        VR::US,
        PrimitiveValue::from(columns as u16),
    );
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    o.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OW,
        PrimitiveValue::U8(bytes.into()),
    ));
}

fn file(o: InMemDicomObject, class: &str, instance: &str) -> FileDicomObject<InMemDicomObject> {
    let meta = FileMetaTableBuilder::new()
        .media_storage_sop_class_uid(class)
        .media_storage_sop_instance_uid(instance)
        .transfer_syntax(EXPLICIT_LE)
        .implementation_class_uid("2.25.1")
        .implementation_version_name("HOSPITAL_PACS")
        .source_application_entity_title("HOSPPACS")
        .build()
        .expect("a complete file meta table");
    o.with_exact_meta(meta)
}

/// A hand radiograph (DX, Body Part Examined HAND), 12-bit, MONOCHROME1
/// (the larger a value, the darker: as computed radiography stores it)
/// when `monochrome1`, with a window that shows bone. `values` are row
/// after row, `rows × columns` of them, at most 4095.
pub fn radiograph(
    h: &Hospital,
    rows: usize,
    columns: usize,
    spacing_mm: f64,
    values: &[u16],
    monochrome1: bool,
) -> FileDicomObject<InMemDicomObject> {
    let series = uid(&[&h.seed, "hand series"]);
    let instance = uid(&[&h.seed, "hand instance"]);
    let mut o = common(h, "DX", DX_CLASS, &series, &instance);
    put(&mut o, tags::BODY_PART_EXAMINED, VR::CS, "HAND");
    put(&mut o, tags::VIEW_POSITION, VR::CS, "PA");
    put(&mut o, tags::INSTANCE_NUMBER, VR::IS, "1");
    put(
        &mut o,
        tags::PRESENTATION_INTENT_TYPE,
        VR::CS,
        "FOR PRESENTATION",
    );
    put(
        &mut o,
        tags::PHOTOMETRIC_INTERPRETATION,
        VR::CS,
        if monochrome1 {
            "MONOCHROME1"
        } else {
            "MONOCHROME2"
        },
    );
    put(
        &mut o,
        tags::BITS_STORED,
        VR::US,
        PrimitiveValue::from(12u16),
    );
    put(&mut o, tags::HIGH_BIT, VR::US, PrimitiveValue::from(11u16));
    let spacing = format!("{spacing_mm}\\{spacing_mm}");
    put(&mut o, tags::IMAGER_PIXEL_SPACING, VR::DS, spacing.as_str());
    put(&mut o, tags::PIXEL_SPACING, VR::DS, spacing.as_str());
    put(&mut o, tags::RESCALE_INTERCEPT, VR::DS, "0");
    put(&mut o, tags::RESCALE_SLOPE, VR::DS, "1");
    // Over the stored values, from bone (low, MONOCHROME1) to soft tissue.
    put(&mut o, tags::WINDOW_CENTER, VR::DS, "2700");
    put(&mut o, tags::WINDOW_WIDTH, VR::DS, "2600");
    put(&mut o, tags::BURNED_IN_ANNOTATION, VR::CS, "NO");
    pixels(&mut o, rows, columns, values);
    file(o, DX_CLASS, &instance)
}

/// Slice `index` of a CT series: axial, `rows × columns` pixels of
/// `spacing_mm`, at `z` mm (Image Position (Patient) along the feet–head
/// axis), `thickness_mm` thick; `hu` row after row, stored with a rescale
/// intercept of −1024.
#[allow(clippy::too_many_arguments)]
pub fn ct_slice(
    h: &Hospital,
    index: usize,
    rows: usize,
    columns: usize,
    spacing_mm: f64,
    z: f64,
    thickness_mm: f64,
    hu: &[i16],
) -> FileDicomObject<InMemDicomObject> {
    let series = uid(&[&h.seed, "ct series"]);
    let instance = uid(&[&h.seed, "ct instance", &index.to_string()]);
    let mut o = common(h, "CT", CT_CLASS, &series, &instance);
    put(&mut o, tags::BODY_PART_EXAMINED, VR::CS, "CHEST");
    put(
        &mut o,
        tags::FRAME_OF_REFERENCE_UID,
        VR::UI,
        uid(&[&h.seed, "frame"]).as_str(),
    );
    // Instance numbers run head to feet: the order is by position.
    put(
        &mut o,
        tags::INSTANCE_NUMBER,
        VR::IS,
        (1000 - index).to_string().as_str(),
    );
    put(&mut o, tags::IMAGE_TYPE, VR::CS, "ORIGINAL\\PRIMARY\\AXIAL");
    put(
        &mut o,
        tags::PHOTOMETRIC_INTERPRETATION,
        VR::CS,
        "MONOCHROME2",
    );
    put(
        &mut o,
        tags::BITS_STORED,
        VR::US,
        PrimitiveValue::from(16u16),
    );
    put(&mut o, tags::HIGH_BIT, VR::US, PrimitiveValue::from(15u16));
    let half_x = spacing_mm * columns as f64 / 2.0;
    let half_y = spacing_mm * rows as f64 / 2.0;
    put(
        &mut o,
        tags::IMAGE_POSITION_PATIENT,
        VR::DS,
        format!("{:.3}\\{:.3}\\{z:.3}", -half_x, -half_y).as_str(),
    );
    put(
        &mut o,
        tags::IMAGE_ORIENTATION_PATIENT,
        VR::DS,
        "1\\0\\0\\0\\1\\0",
    );
    put(
        &mut o,
        tags::PIXEL_SPACING,
        VR::DS,
        format!("{spacing_mm}\\{spacing_mm}").as_str(),
    );
    put(
        &mut o,
        tags::SLICE_THICKNESS,
        VR::DS,
        format!("{thickness_mm}").as_str(),
    );
    put(
        &mut o,
        tags::SLICE_LOCATION,
        VR::DS,
        format!("{z:.3}").as_str(),
    );
    put(&mut o, tags::RESCALE_INTERCEPT, VR::DS, "-1024");
    put(&mut o, tags::RESCALE_SLOPE, VR::DS, "1");
    put(&mut o, tags::RESCALE_TYPE, VR::LO, "HU");
    put(&mut o, tags::WINDOW_CENTER, VR::DS, "40");
    put(&mut o, tags::WINDOW_WIDTH, VR::DS, "400");
    put(&mut o, tags::KVP, VR::DS, "120");
    let stored: Vec<u16> = hu
        .iter()
        .map(|v| (i32::from(*v) + 1024).clamp(0, 65535) as u16)
        .collect();
    pixels(&mut o, rows, columns, &stored);
    file(o, CT_CLASS, &instance)
}
