//! Images: de-identified DICOM instances, each stored with the exam it
//! belongs to. The store keeps bytes it is given and what they are; it
//! knows nothing of DICOM (the caller de-identifies and describes each
//! instance: `sclerad-dicom`).

use serde::Serialize;

/// The secret of a study's images: the key of every UID replacement,
/// date offset and pseudonym of the study. Created at the study's first
/// image import; it never leaves the store but to the code that
/// de-identifies (no API, export or event carries it).
#[derive(Clone, PartialEq, Eq)]
pub struct ImageSecret(pub [u8; 32]);

impl std::fmt::Debug for ImageSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ImageSecret(…)")
    }
}

impl ImageSecret {
    /// A new random secret.
    pub fn random() -> Result<ImageSecret, crate::StoreError> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)
            .map_err(|e| crate::StoreError::Backend(format!("no randomness: {e}")))?;
        Ok(ImageSecret(bytes))
    }

    /// The secret as the store keeps it: 64 lower-case hex digits.
    pub fn to_hex(&self) -> String {
        sclerad_model::hex(&self.0)
    }

    /// The secret from [`ImageSecret::to_hex`].
    pub fn from_hex(text: &str) -> Option<ImageSecret> {
        if text.len() != 64 || !text.is_ascii() {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(ImageSecret(out))
    }
}

/// One de-identified instance to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewImage {
    /// The exam it shows.
    pub exam_id: i64,
    /// Its (replaced) SOP Instance UID: unique in the study.
    pub sop_instance_uid: String,
    /// Its (replaced) Series Instance UID.
    pub series_uid: String,
    /// Its SOP Class UID.
    pub sop_class_uid: String,
    /// Its DICOM modality (`CR`, `DX`, `CT`…).
    pub modality: String,
    /// Its Instance Number, if it has one.
    pub instance_number: Option<i64>,
    /// Its position along the slice normal, in mm (a slice of a volume).
    pub position: Option<f64>,
    /// Rows of its pixel data.
    pub rows: i64,
    /// Columns of its pixel data.
    pub columns: i64,
    /// Frames of its pixel data.
    pub frames: i64,
    /// The quarantine reason a data manager overrode to store it, if any.
    pub overridden: Option<String>,
    /// The de-identified DICOM file (preamble, meta and data set).
    pub data: Vec<u8>,
}

/// A stored instance, without its bytes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Image {
    /// Store identifier.
    pub id: i64,
    /// The exam it shows.
    pub exam_id: i64,
    /// Its SOP Instance UID.
    pub sop_instance_uid: String,
    /// Its Series Instance UID.
    pub series_uid: String,
    /// Its SOP Class UID.
    pub sop_class_uid: String,
    /// Its DICOM modality.
    pub modality: String,
    /// Its Instance Number.
    pub instance_number: Option<i64>,
    /// Its position along the slice normal, in mm.
    pub position: Option<f64>,
    /// Rows of its pixel data.
    pub rows: i64,
    /// Columns of its pixel data.
    pub columns: i64,
    /// Frames of its pixel data.
    pub frames: i64,
    /// Size of the file, in bytes.
    pub bytes: i64,
    /// SHA-256 of the file, lower-case hex.
    pub sha256: String,
    /// The quarantine reason overridden to store it, if any.
    pub overridden: Option<String>,
    /// When it was stored (RFC 3339).
    pub created_at: String,
}

/// What an import of images is fed, in order: instances, then the end.
#[derive(Debug)]
pub enum ImageFeed {
    /// An instance to store.
    Image(NewImage),
    /// The end of the import, with what the caller did not store. A feed
    /// that closes without its end is an interrupted import: nothing of it
    /// is stored.
    End(ImageTally),
}

/// What an import looked at and did not store, for its audit event.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImageTally {
    /// Instances quarantined (may show burned-in text).
    pub quarantined: usize,
    /// DICOM files refused (corrupt, unknown patient, no exam).
    pub refused: usize,
    /// Files that are not instances (not DICOM, DICOMDIR).
    pub skipped: usize,
}

/// What became of one fed instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageStored {
    /// Stored now, with this id.
    New(i64),
    /// Already stored, byte for byte (an import run again).
    Unchanged(i64),
    /// Not stored: another instance with its UID is stored (why).
    Refused(String),
}

/// The summary of an image import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageImportSummary {
    /// One result per fed instance, in feed order.
    pub results: Vec<ImageStored>,
    /// Instances stored now.
    pub stored: usize,
    /// Instances already stored.
    pub unchanged: usize,
    /// SHA-256 over the stored instances (`uid sha256` lines, feed
    /// order), as the import's audit event records it.
    pub digest: String,
}
