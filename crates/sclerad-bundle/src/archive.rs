//! Bundles as zip archives: the export a browser downloads, the input an
//! analysis run keeps. Written deterministically (fixed member order and
//! timestamps), so the same tables always give the same bytes; read with
//! every size bounded by a limit, never by what the archive declares.

use std::io::{Read, Write};
use std::path::PathBuf;

use crate::BundleError;

/// The most members [`unzip`] reads from one archive.
pub const ZIP_MEMBERS_MAX: usize = 10_000;

/// `files` (name, bytes), in that order, as a zip archive (deflate).
pub fn zip<N: AsRef<str>, B: AsRef<[u8]>>(files: &[(N, B)]) -> Result<Vec<u8>, BundleError> {
    let fail = |e: &dyn std::fmt::Display| BundleError::Archive {
        path: PathBuf::from("(zip being written)"),
        reason: e.to_string(),
    };
    let mut out = std::io::Cursor::new(Vec::new());
    let mut archive = zip::ZipWriter::new(&mut out);
    // No timestamp from the clock: the default (1980-01-01) keeps the
    // bytes a function of the files alone.
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(false);
    for (name, bytes) in files {
        archive
            .start_file(name.as_ref(), options)
            .map_err(|e| fail(&e))?;
        archive.write_all(bytes.as_ref()).map_err(|e| fail(&e))?;
    }
    archive.finish().map_err(|e| fail(&e))?;
    Ok(out.into_inner())
}

/// The files of the zip archive `bytes` (named `source` in errors), folders
/// left out: each at most `max_member_bytes` as read (a declared size may
/// lie), at most [`ZIP_MEMBERS_MAX`] of them, and all together at most
/// `max_total_bytes`.
pub fn unzip(
    source: &str,
    bytes: &[u8],
    max_member_bytes: u64,
    max_total_bytes: u64,
) -> Result<Vec<(String, Vec<u8>)>, BundleError> {
    let refuse = |path: String, reason: String| BundleError::Archive {
        path: PathBuf::from(path),
        reason,
    };
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| {
        refuse(
            source.to_string(),
            format!("not a readable zip archive ({e})"),
        )
    })?;
    if archive.len() > ZIP_MEMBERS_MAX {
        return Err(refuse(
            source.to_string(),
            format!(
                "holds {} members, more than the {ZIP_MEMBERS_MAX} it may",
                archive.len()
            ),
        ));
    }
    let mut files = Vec::new();
    let mut total = 0u64;
    for i in 0..archive.len() {
        let mut member = archive.by_index(i).map_err(|e| {
            refuse(
                format!("{source}!(member {})", i + 1),
                format!("cannot be read ({e})"),
            )
        })?;
        if member.is_dir() {
            continue;
        }
        let name = match member.enclosed_name() {
            Some(path) => path.to_string_lossy().into_owned(),
            None => {
                return Err(refuse(
                    format!("{source}!(member {})", i + 1),
                    "its name leaves the archive's folder (.. or an absolute path)".into(),
                ))
            }
        };
        let here = format!("{source}!{name}");
        let room = max_member_bytes.min(max_total_bytes.saturating_sub(total));
        let mut data = Vec::new();
        (&mut member)
            .take(room.saturating_add(1))
            .read_to_end(&mut data)
            .map_err(|e| refuse(here.clone(), format!("cannot be read ({e})")))?;
        if data.len() as u64 > max_member_bytes {
            return Err(refuse(
                here,
                format!("larger than the limit of {max_member_bytes} bytes a file may have"),
            ));
        }
        if data.len() as u64 > room {
            return Err(refuse(
                here,
                format!("the archive unpacks to more than {max_total_bytes} bytes"),
            ));
        }
        total += data.len() as u64;
        files.push((name, data));
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zip_reads_back_and_is_the_same_bytes_each_time() {
        let files = [
            ("patients.csv", b"patient_id\nA\n".to_vec()),
            ("hand_readings.csv", vec![b'x'; 10_000]),
        ];
        let a = zip(&files).expect("zip");
        assert_eq!(a, zip(&files).expect("zip"), "deterministic");
        let back = unzip("a.zip", &a, 1 << 20, 1 << 20).expect("unzip");
        assert_eq!(back.len(), 2);
        assert_eq!(back[0].0, "patients.csv");
        assert_eq!(back[1].1, files[1].1);
    }

    #[test]
    fn limits_hold_whatever_the_archive_declares() {
        let files = [("a.csv", vec![b'a'; 5000]), ("b.csv", vec![b'b'; 5000])];
        let bytes = zip(&files).expect("zip");
        let one = unzip("x.zip", &bytes, 4999, 1 << 20).expect_err("member too large");
        assert!(one.to_string().contains("x.zip!a.csv"), "{one}");
        let all = unzip("x.zip", &bytes, 5000, 9000).expect_err("total too large");
        assert!(all.to_string().contains("more than 9000 bytes"), "{all}");
        let not = unzip("n.zip", b"patient_id\n", 10, 10).expect_err("not a zip");
        assert!(
            not.to_string().starts_with("n.zip: not a readable zip"),
            "{not}"
        );
    }
}
