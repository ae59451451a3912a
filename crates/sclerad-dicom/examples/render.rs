//! Render benchmark: a 512×512 16-bit CT slice (synthetic: a water disc
//! with a bone ring in air), decoded, windowed and encoded as PNG, many
//! times; then a series of SLICES such slices (500), 1 mm apart, assembled
//! into a volume and reformatted sagittally (a plane, and a 9-column
//! maximum-intensity slab). Prints the median and 95th percentile of each
//! step. Writes the slice as `SLICE.dcm` when a path is given, for other
//! tools to render.
//!
//! ```sh
//! cargo run --release -p sclerad-dicom --example render -- [RUNS] [SLICE.dcm] [SLICES]
//! ```

use std::time::{Duration, Instant};

use dicom_core::value::PrimitiveValue;
use dicom_core::{DataElement, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};
use sclerad_dicom::render::{png, render, Window};

fn slice(z: f64) -> dicom_object::FileDicomObject<InMemDicomObject> {
    let n = 512usize;
    let mut pixels = Vec::with_capacity(n * n);
    for y in 0..n {
        for x in 0..n {
            let (dx, dy) = (x as f64 - 256.0, y as f64 - 256.0);
            let r = (dx * dx + dy * dy).sqrt();
            let hu: f64 = if r < 40.0 {
                1200.0
            } else if r < 200.0 {
                40.0 + (x % 7) as f64
            } else {
                -1000.0
            };
            pixels.push((hu + 1024.0) as u16);
        }
    }
    let s = |tag, vr, v: &str| DataElement::new(tag, vr, PrimitiveValue::from(v));
    let u = |tag, v: u16| DataElement::new(tag, VR::US, PrimitiveValue::from(v));
    let obj = InMemDicomObject::from_element_iter([
        s(tags::SOP_CLASS_UID, VR::UI, uids::CT_IMAGE_STORAGE),
        s(tags::SOP_INSTANCE_UID, VR::UI, "2.25.1"),
        s(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, "MONOCHROME2"),
        u(tags::SAMPLES_PER_PIXEL, 1),
        u(tags::ROWS, 512),
        u(tags::COLUMNS, 512),
        u(tags::BITS_ALLOCATED, 16),
        u(tags::BITS_STORED, 12),
        u(tags::HIGH_BIT, 11),
        u(tags::PIXEL_REPRESENTATION, 0),
        s(tags::RESCALE_INTERCEPT, VR::DS, "-1024"),
        s(tags::RESCALE_SLOPE, VR::DS, "1"),
        s(tags::IMAGE_ORIENTATION_PATIENT, VR::DS, "1\\0\\0\\0\\1\\0"),
        s(
            tags::IMAGE_POSITION_PATIENT,
            VR::DS,
            &format!("-128\\-128\\{z}"),
        ),
        s(tags::PIXEL_SPACING, VR::DS, "0.5\\0.5"),
        DataElement::new(tags::PIXEL_DATA, VR::OW, PrimitiveValue::U16(pixels.into())),
    ]);
    let meta = FileMetaTableBuilder::new()
        .media_storage_sop_class_uid(uids::CT_IMAGE_STORAGE)
        .media_storage_sop_instance_uid("2.25.1")
        .transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN)
        .implementation_class_uid(sclerad_dicom::deid::IMPLEMENTATION_CLASS_UID)
        .build()
        .expect("meta");
    obj.with_exact_meta(meta)
}

fn summary(name: &str, mut t: Vec<Duration>) {
    t.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "| {name} | {} | {:.2} | {:.2} |",
        t.len(),
        ms(t[t.len() / 2]),
        ms(t[(t.len() * 95 / 100).min(t.len() - 1)])
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runs: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(200);
    let file = slice(0.0);
    if let Some(path) = args.get(1) {
        file.write_to_file(path).expect("write the slice");
    }
    let (mut windowed, mut encoded, mut both) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        let t = Instant::now();
        let r = render(&file, 0, Window::Bone).expect("render");
        let t1 = Instant::now();
        let bytes = png(&r).expect("png");
        let t2 = Instant::now();
        std::hint::black_box(bytes);
        windowed.push(t1 - t);
        encoded.push(t2 - t1);
        both.push(t2 - t);
    }
    println!("| step (512×512, 16-bit, bone window) | runs | median, ms | p95, ms |");
    println!("|---|---:|---:|---:|");
    summary("decode + modality LUT + window", windowed);
    summary("PNG encode", encoded);
    summary("render, total", both);

    let count: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(500);
    let series: Vec<_> = (0..count).map(|k| slice(k as f64)).collect();
    let t = Instant::now();
    let volume = sclerad_dicom::volume::Volume::assemble(&series).expect("volume");
    let assembled = t.elapsed();
    drop(series);
    let (mut plane, mut slab) = (Vec::new(), Vec::new());
    for _ in 0..20 {
        let t = Instant::now();
        std::hint::black_box(volume.sagittal(256).expect("sagittal"));
        plane.push(t.elapsed());
        let t = Instant::now();
        std::hint::black_box(volume.sagittal_slab(256, 9).expect("slab"));
        slab.push(t.elapsed());
    }
    println!("\n| step ({count} slices of 512×512, 1 mm apart, pixels 0.5 mm) | runs | median, ms | p95, ms |");
    println!("|---|---:|---:|---:|");
    summary("assemble the volume (decode + HU), once", vec![assembled]);
    summary("sagittal reformat (1,000 rows at 0.5 mm)", plane);
    summary("sagittal 9-column MIP slab", slab);
}
