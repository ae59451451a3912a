//! DICOM for sclerad: reading instances and de-identifying them on the
//! way in (DICOM PS3.15 Annex E). No HTTP and no SQL here: the command
//! line and the server call in, this crate calls nothing of theirs.
//!
//! - [`read`] tells a DICOM instance from a file that is not DICOM (a
//!   README or a viewer on a CD: *skipped*), a DICOMDIR (*skipped*) and a
//!   corrupt file (*refused*).
//! - [`deid::deidentify`] applies the profile of [`profile`] (the
//!   standard's Table E.1-1, edition [`profile::EDITION`], read as data).

pub mod deid;
pub mod intake;
pub mod listen;
pub mod profile;
pub mod render;
pub mod synthetic;
pub mod volume;

use dicom_core::value::Value;
use dicom_dictionary_std::tags;
use dicom_object::{FileDicomObject, InMemDicomObject, OpenFileOptions};

pub use deid::{deidentify, Options, Outcome, Report, Source, StudySecret, Subject};

/// The SOP class of a DICOMDIR (Media Storage Directory Storage).
pub const DICOMDIR_CLASS: &str = "1.2.840.10008.1.3.10";

/// What a file is.
#[derive(Debug)]
pub enum Read {
    /// A DICOM instance.
    Instance(Box<FileDicomObject<InMemDicomObject>>),
    /// Not an instance to import, and not an error: why.
    Skipped(String),
    /// A DICOM file that cannot be read: why.
    Refused(String),
}

/// Whether `bytes` look like a DICOM file: the `DICM` prefix after the
/// 128-byte preamble.
pub fn looks_like_dicom(bytes: &[u8]) -> bool {
    bytes.get(128..132) == Some(b"DICM")
}

/// Read one file's bytes.
pub fn read(bytes: &[u8]) -> Read {
    if !looks_like_dicom(bytes) {
        return Read::Skipped("not a DICOM file (no DICM prefix after the preamble)".into());
    }
    let options = OpenFileOptions::new().read_preamble(dicom_object::file::ReadPreamble::Always);
    match options.from_reader(bytes) {
        Ok(obj) => {
            if obj
                .meta()
                .media_storage_sop_class_uid()
                .trim_end_matches('\0')
                == DICOMDIR_CLASS
            {
                Read::Skipped("a DICOMDIR (a media directory, not an image)".into())
            } else {
                match incomplete(&obj) {
                    Some(why) => Read::Refused(why),
                    None => Read::Instance(Box::new(obj)),
                }
            }
        }
        Err(e) => Read::Refused(format!("a corrupt DICOM file: {e}")),
    }
}

/// A number of an element (US, or a number in a string).
fn number(obj: &InMemDicomObject, tag: dicom_core::Tag) -> Option<usize> {
    let v = obj.get(tag)?.value();
    v.to_int::<u32>().ok().map(|n| n as usize)
}

/// Why a parsed file is not a whole instance, if it is not: the reader
/// stops quietly at the end of the bytes, so a file cut short parses.
fn incomplete(obj: &InMemDicomObject) -> Option<String> {
    for (tag, name) in [
        (tags::SOP_CLASS_UID, "SOP Class UID"),
        (tags::SOP_INSTANCE_UID, "SOP Instance UID"),
    ] {
        if obj.get(tag).is_none() {
            return Some(format!("not an instance: no {name} (a file cut short?)"));
        }
    }
    let (Some(rows), Some(columns)) = (number(obj, tags::ROWS), number(obj, tags::COLUMNS)) else {
        return None;
    };
    let Some(pixels) = obj.get(tags::PIXEL_DATA) else {
        return Some(format!(
            "an image of {rows}×{columns} without its pixel data (a file cut short?)"
        ));
    };
    if let Value::Primitive(p) = pixels.value() {
        let bits = number(obj, tags::BITS_ALLOCATED).unwrap_or(8).max(1);
        let samples = number(obj, tags::SAMPLES_PER_PIXEL).unwrap_or(1).max(1);
        let frames = number(obj, tags::NUMBER_OF_FRAMES).unwrap_or(1).max(1);
        let Some(expected) = [columns, samples, frames, bits]
            .into_iter()
            .try_fold(rows, |n, m| n.checked_mul(m))
            .map(|n| n.div_ceil(8))
        else {
            return Some(format!(
                "an image of {rows}×{columns}, {frames} frame(s), larger than can be addressed"
            ));
        };
        let got = p.calculate_byte_len();
        if got < expected {
            return Some(format!(
                "the pixel data is cut short: {got} of {expected} bytes"
            ));
        }
    }
    None
}
