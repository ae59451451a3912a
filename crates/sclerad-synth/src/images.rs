//! Synthetic images that agree with the readings: for each patient, a hand
//! radiograph (both hands, PA, MONOCHROME1) drawn to the layout of the
//! reading form's drawing, and an axial CT series over the levels the CT
//! covers, so a demo can be read for real and the viewer tested against
//! known truth.
//!
//! The truth is the patient's consensus reading, else the reading of the
//! reader first by name. On the radiograph: calcinosis is a dense nodule at
//! the site, periarticular calcification a smaller one beside the joint,
//! acro-osteolysis a tuft whose bone stops short, erosion a notch in the
//! joint's bone, joint space narrowing a joint gap closed; subluxation and
//! flexion contracture are not drawn. On the CT, each level is four 6 mm
//! slices (the lowest through the disc below it): an anterior
//! (discovertebral) calcification is a dense spot at the front of the disc
//! and body, a canal calcification one at the front wall of the canal
//! (beside it in the foramen when foraminal), a posterior one behind the
//! canal, on the reading's side.
//!
//! The files carry made-up hospital identifiers (a hospital Patient ID,
//! name, birth date, institution, physician, accession number), so that
//! taking them in exercises the de-identification and the map.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use dicom_object::{FileDicomObject, InMemDicomObject};
use sclerad_dicom::synthetic::{ct_slice, radiograph, Hospital};
use sclerad_model::layout::{right_hand_outline, site_point};
use sclerad_model::{
    Cohort, HandSide, HandSite, Lesion, Patient, Sex, SpineSegment, SpineSide, VertebralLevel,
};

use crate::Rng;

/// One DICOM file of a patient.
pub type Instance = FileDicomObject<InMemDicomObject>;

/// A patient's synthetic images.
pub struct PatientImages {
    /// The hospital's Patient ID in the files (the map's
    /// `dicom_patient_id`).
    pub hospital_id: String,
    /// The hand radiograph, if the patient has one.
    pub hand: Option<Instance>,
    /// The CT's slices, feet to head, if the patient has a CT.
    pub ct: Vec<Instance>,
}

/// The hospital Patient ID of a study patient in the synthetic files.
pub fn hospital_id(patient_id: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in patient_id.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    format!("IPP{:08}", h % 100_000_000)
}

/// What is drawn on a hand: (side, site) → lesions.
type HandTruth = BTreeMap<(HandSide, HandSite), Vec<Lesion>>;
/// What is drawn on a spine: (level, segment, foraminal, side).
type SpineTruth = Vec<(VertebralLevel, SpineSegment, bool, Option<SpineSide>)>;

fn truth_reader<'a>(readers: impl Iterator<Item = &'a str>) -> Option<String> {
    let mut names: Vec<&str> = readers.collect();
    names.sort_unstable();
    names.dedup();
    if names.iter().any(|n| n.eq_ignore_ascii_case("consensus")) {
        return Some("consensus".into());
    }
    names.first().map(|n| n.to_string())
}

fn hand_truth(cohort: &Cohort, patient: &str) -> HandTruth {
    let mut truth = HandTruth::new();
    let Some(hand) = &cohort.hand_readings else {
        return truth;
    };
    let rows: Vec<_> = hand
        .rows
        .iter()
        .filter(|r| r.patient_id == patient)
        .collect();
    let Some(reader) = truth_reader(rows.iter().map(|r| r.reader.as_str())) else {
        return truth;
    };
    for r in rows
        .iter()
        .filter(|r| r.reader.eq_ignore_ascii_case(&reader))
    {
        if let (Some(side), Some(site), Some(lesion)) = (r.side, r.site, r.lesion) {
            truth.entry((side, site)).or_default().push(lesion);
        }
    }
    truth
}

fn spine_truth(cohort: &Cohort, patient: &str) -> SpineTruth {
    let Some(spine) = &cohort.spine_readings else {
        return Vec::new();
    };
    let rows: Vec<_> = spine
        .rows
        .iter()
        .filter(|r| r.patient_id == patient)
        .collect();
    let Some(reader) = truth_reader(rows.iter().map(|r| r.reader.as_str())) else {
        return Vec::new();
    };
    rows.iter()
        .filter(|r| r.reader.eq_ignore_ascii_case(&reader))
        .filter_map(|r| Some((r.level?, r.segment?, r.foraminal.unwrap_or(false), r.side)))
        .collect()
}

fn hospital(p: &Patient, exam: &str, date: NaiveDate) -> Hospital {
    const FAMILY: &[&str] = &["MARTIN", "BERNARD", "DUBOIS", "THOMAS", "ROBERT", "RICHARD"];
    const GIVEN: &[&str] = &["ANNE", "MARIE", "CLAIRE", "JEAN", "LOUIS", "SOPHIE"];
    let n = hospital_id(&p.patient_id);
    let k: usize = n[3..].parse::<usize>().unwrap_or(0);
    Hospital {
        patient_id: n.clone(),
        patient_name: format!(
            "{}^{}",
            FAMILY[k % FAMILY.len()],
            GIVEN[(k / 7) % GIVEN.len()]
        ),
        birth_date: p
            .birth_date
            .unwrap_or_else(|| NaiveDate::from_ymd_opt(1950, 1, 1).unwrap_or_default()),
        sex: match p.sex {
            Sex::Male => "M".into(),
            _ => "F".into(),
        },
        accession_number: format!("ACC{}{}", &n[3..], if exam == "ct" { 2 } else { 1 }),
        institution: "CHRU de Nancy, Hôpital Brabois".into(),
        referring_physician: "DUPONT^PIERRE^^DR".into(),
        date,
        seed: format!("{}:{exam}", p.patient_id),
    }
}

/// The images of one patient of `cohort`.
pub fn patient_images(cohort: &Cohort, patient: &Patient) -> PatientImages {
    let mut rng = Rng::new(
        patient
            .patient_id
            .bytes()
            .fold(7u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b))),
    );
    let hand = patient.hand_xray_date.map(|date| {
        let (w, h, values) = draw_hands(&hand_truth(cohort, &patient.patient_id), &mut rng);
        radiograph(
            &hospital(patient, "hand", date),
            h,
            w,
            RADIOGRAPH_SPACING,
            &values,
            true,
        )
    });
    let mut ct = Vec::new();
    if let (Some(date), Some(levels)) = (patient.ct_date, patient.ct_coverage()) {
        let h = hospital(patient, "ct", date);
        let truth = spine_truth(cohort, &patient.patient_id);
        let mut index = 0;
        // Feet to head: S1 first.
        let mut covered: Vec<VertebralLevel> = levels.iter().collect();
        covered.sort_by_key(|l| std::cmp::Reverse(l.index()));
        for level in covered {
            for k in 0..SLICES_PER_LEVEL {
                let z = level_z(level) + k as f64 * SLICE_MM;
                let hu = draw_slice(level, k, &truth, &mut rng);
                ct.push(ct_slice(
                    &h, index, CT_SIZE, CT_SIZE, CT_SPACING, z, SLICE_MM, &hu,
                ));
                index += 1;
            }
        }
    }
    PatientImages {
        hospital_id: hospital_id(&patient.patient_id),
        hand,
        ct,
    }
}

// ---- the radiograph ----

/// Pixels per drawing unit, and millimetres per pixel.
const RADIOGRAPH_SCALE: f64 = 0.75;
const RADIOGRAPH_SPACING: f64 = 0.32;

/// Attenuation (MONOCHROME2 sense, 12 bits): stored inverted.
const AIR: f64 = 250.0;
const SOFT: f64 = 1100.0;
const BONE: f64 = 2500.0;
const CALCIFIED: f64 = 3900.0;

fn segment_distance(px: f64, py: f64, (x1, y1, x2, y2): (f64, f64, f64, f64)) -> f64 {
    let (dx, dy) = (x2 - x1, y2 - y1);
    let len2 = dx * dx + dy * dy;
    let t = if len2 == 0.0 {
        0.0
    } else {
        (((px - x1) * dx + (py - y1) * dy) / len2).clamp(0.0, 1.0)
    };
    ((px - x1 - t * dx).powi(2) + (py - y1 - t * dy).powi(2)).sqrt()
}

fn inside(px: f64, py: f64, polygon: &[(f64, f64)]) -> bool {
    let mut inside = false;
    let mut j = polygon.len() - 1;
    for i in 0..polygon.len() {
        let (xi, yi) = polygon[i];
        let (xj, yj) = polygon[j];
        if (yi > py) != (yj > py) && px < (xj - xi) * (py - yi) / (yj - yi) + xi {
            inside = !inside;
        }
        j = i;
    }
    inside
}

/// The sites along each digit, tuft first, for the bone and its joints.
const DIGITS: [&[HandSite]; 5] = {
    use HandSite::*;
    [
        &[TuftD1, IpD1, McpD1, CmcD1],
        &[TuftD2, DipD2, PipD2, McpD2],
        &[TuftD3, DipD3, PipD3, McpD3],
        &[TuftD4, DipD4, PipD4, McpD4],
        &[TuftD5, DipD5, PipD5, McpD5],
    ]
};

/// Draws both hands; returns (width, height, stored values).
fn draw_hands(truth: &HandTruth, rng: &mut Rng) -> (usize, usize, Vec<u16>) {
    let w = (1000.0 * RADIOGRAPH_SCALE) as usize;
    let h = (600.0 * RADIOGRAPH_SCALE) as usize;
    let (fingers, palm) = right_hand_outline();
    let mut soft: Vec<(f64, f64, f64, f64, f64)> = Vec::new();
    let mut bone: Vec<(f64, f64, f64, f64, f64)> = Vec::new();
    let mut dense: Vec<(f64, f64, f64)> = Vec::new();
    let mut notches: Vec<(f64, f64, f64)> = Vec::new();
    let mut gaps: Vec<(f64, f64, f64)> = Vec::new();
    let mut palms = Vec::new();
    for side in [HandSide::Right, HandSide::Left] {
        let mx = |x: i32| match side {
            HandSide::Right => f64::from(x),
            HandSide::Left => 1000.0 - f64::from(x),
        };
        palms.push(
            palm.iter()
                .map(|(x, y)| (mx(*x), f64::from(*y)))
                .collect::<Vec<_>>(),
        );
        for (x1, y1, x2, y2) in &fingers {
            soft.push((mx(*x1), f64::from(*y1) - 8.0, mx(*x2), f64::from(*y2), 24.0));
        }
        let has = |site: HandSite, lesion: Lesion| {
            truth
                .get(&(side, site))
                .is_some_and(|l| l.contains(&lesion))
        };
        for digit in DIGITS {
            for pair in digit.windows(2) {
                let (ax, ay, _) = site_point(pair[0]);
                let (bx, by, _) = site_point(pair[1]);
                let (mut ax, mut ay) = (mx(ax), f64::from(ay));
                if pair[0] == digit[0] && has(pair[0], Lesion::AcroOsteolysis) {
                    // The tuft resorbed: bone stops a third of the way down.
                    ax += (mx(bx) - ax) * 0.35;
                    ay += (f64::from(by) - ay) * 0.35;
                }
                bone.push((ax, ay, mx(bx), f64::from(by), 7.5));
            }
            for site in &digit[1..] {
                let (x, y, _) = site_point(*site);
                let (x, y) = (mx(x), f64::from(y));
                if !has(*site, Lesion::JointSpaceNarrowing) {
                    gaps.push((x, y, 4.0));
                }
                if has(*site, Lesion::Erosion) {
                    notches.push((x - 6.0, y + 4.0, 5.5));
                }
                if has(*site, Lesion::PeriarticularCalcification) {
                    dense.push((x + 14.0, y, 4.5));
                }
            }
        }
        for ((s, site), lesions) in truth {
            if *s == side && lesions.contains(&Lesion::Calcinosis) {
                let (x, y, _) = site_point(*site);
                dense.push((mx(x) - 10.0, f64::from(y) - 4.0, 7.0));
            }
        }
        // The carpus and the distal radius.
        let (cx, cy, _) = site_point(HandSite::Carpus);
        bone.push((
            mx(cx) - 40.0,
            f64::from(cy),
            mx(cx) + 40.0,
            f64::from(cy),
            22.0,
        ));
        let (wx, wy, _) = site_point(HandSite::Wrist);
        bone.push((mx(wx), f64::from(wy) + 10.0, mx(wx), 600.0, 26.0));
        soft.push((mx(wx), f64::from(wy) - 30.0, mx(wx), 600.0, 70.0));
    }
    // Each shape is drawn over its bounding box only, into masks, and the
    // masks are combined: soft tissue, then bone less its joint gaps and
    // notches, then calcifications.
    let mut soft_mask = vec![false; w * h];
    let mut bone_mask = vec![false; w * h];
    let mut cut_mask = vec![false; w * h];
    let mut dense_mask = vec![false; w * h];
    let paint = |mask: &mut Vec<bool>,
                 (x0, y0, x1, y1): (f64, f64, f64, f64),
                 test: &dyn Fn(f64, f64) -> bool| {
        let c0 = ((x0 * RADIOGRAPH_SCALE).floor().max(0.0)) as usize;
        let r0 = ((y0 * RADIOGRAPH_SCALE).floor().max(0.0)) as usize;
        let c1 = ((x1 * RADIOGRAPH_SCALE).ceil().max(0.0) as usize).min(w);
        let r1 = ((y1 * RADIOGRAPH_SCALE).ceil().max(0.0) as usize).min(h);
        for row in r0..r1 {
            for col in c0..c1 {
                let (x, y) = (col as f64 / RADIOGRAPH_SCALE, row as f64 / RADIOGRAPH_SCALE);
                if test(x, y) {
                    mask[row * w + col] = true;
                }
            }
        }
    };
    let stroke_box = |s: &(f64, f64, f64, f64, f64)| {
        (
            s.0.min(s.2) - s.4,
            s.1.min(s.3) - s.4,
            s.0.max(s.2) + s.4,
            s.1.max(s.3) + s.4,
        )
    };
    for p in &palms {
        let (x0, x1) = p.iter().fold((f64::MAX, f64::MIN), |(a, b), (x, _)| {
            (a.min(*x), b.max(*x))
        });
        let (y0, y1) = p.iter().fold((f64::MAX, f64::MIN), |(a, b), (_, y)| {
            (a.min(*y), b.max(*y))
        });
        paint(&mut soft_mask, (x0, y0, x1, y1), &|x, y| inside(x, y, p));
    }
    for s in &soft {
        paint(&mut soft_mask, stroke_box(s), &|x, y| {
            segment_distance(x, y, (s.0, s.1, s.2, s.3)) <= s.4
        });
    }
    for s in &bone {
        paint(&mut bone_mask, stroke_box(s), &|x, y| {
            segment_distance(x, y, (s.0, s.1, s.2, s.3)) <= s.4
        });
    }
    for g in &gaps {
        let (hx, hy) = (g.2 * 2.2, g.2 * 0.6);
        paint(
            &mut cut_mask,
            (g.0 - hx, g.1 - hy, g.0 + hx, g.1 + hy),
            &|x, y| (x - g.0).abs() <= hx && (y - g.1).abs() <= hy,
        );
    }
    for n in &notches {
        paint(
            &mut cut_mask,
            (n.0 - n.2, n.1 - n.2, n.0 + n.2, n.1 + n.2),
            &|x, y| (x - n.0).powi(2) + (y - n.1).powi(2) <= n.2 * n.2,
        );
    }
    for d in &dense {
        paint(
            &mut dense_mask,
            (d.0 - d.2, d.1 - d.2, d.0 + d.2, d.1 + d.2),
            &|x, y| (x - d.0).powi(2) + (y - d.1).powi(2) <= d.2 * d.2,
        );
    }
    let mut values = Vec::with_capacity(w * h);
    for i in 0..w * h {
        let v = if dense_mask[i] {
            CALCIFIED
        } else if bone_mask[i] && !cut_mask[i] {
            BONE
        } else if soft_mask[i] {
            SOFT
        } else {
            AIR
        };
        let noisy = v + rng.normal() * 35.0;
        // MONOCHROME1: stored as 4095 − attenuation, so that bone shows
        // white once the viewer inverts it.
        values.push((4095.0 - noisy).clamp(0.0, 4095.0) as u16);
    }
    (w, h, values)
}

// ---- the CT ----

const CT_SIZE: usize = 96;
const CT_SPACING: f64 = 2.0;
const SLICE_MM: f64 = 6.0;
const SLICES_PER_LEVEL: usize = 4;

/// The z (mm) of a level's lowest slice: S1 at 0, each level 24 mm above
/// the one below.
pub fn level_z(level: VertebralLevel) -> f64 {
    (VertebralLevel::COUNT - 1 - level.index()) as f64 * SLICE_MM * SLICES_PER_LEVEL as f64
}

/// Where a calcification of a segment lies on an axial slice (x, y in mm
/// from the centre; +x the patient's left, +y posterior).
fn spot(segment: SpineSegment, foraminal: bool, side: Option<SpineSide>) -> (f64, f64) {
    let lateral = match side {
        Some(SpineSide::Left) => 1.0,
        Some(SpineSide::Right) => -1.0,
        _ => 0.0,
    };
    match segment {
        SpineSegment::Anterior => (lateral * 6.0, 4.0),
        SpineSegment::Canal if foraminal => {
            (if lateral == 0.0 { 1.0 } else { lateral } * 12.0, 42.0)
        }
        SpineSegment::Canal => (lateral * 3.0, 38.0),
        SpineSegment::Posterior => (lateral * 5.0, 54.0),
    }
}

/// The pixel (column, row) of an axial slice at the centre of the spot
/// drawn for a spine finding, and the positions (mm along the normal) of
/// the slices that show it: the viewer tested against known truth.
pub fn spine_spot(
    level: VertebralLevel,
    segment: SpineSegment,
    foraminal: bool,
    side: Option<SpineSide>,
) -> ((f64, f64), Vec<f64>) {
    let (x, y) = spot(segment, foraminal, side);
    let half = CT_SIZE as f64 * CT_SPACING / 2.0;
    let pixel = ((x + half) / CT_SPACING - 0.5, (y + half) / CT_SPACING - 0.5);
    let slices = match segment {
        SpineSegment::Anterior => vec![0, 1],
        _ => vec![1, 2],
    };
    let z = level_z(level);
    (
        pixel,
        slices
            .into_iter()
            .map(|k| z + k as f64 * SLICE_MM)
            .collect(),
    )
}

fn draw_slice(level: VertebralLevel, k: usize, truth: &SpineTruth, rng: &mut Rng) -> Vec<i16> {
    let thoracic = (7..19).contains(&level.index());
    let disc = k == 0;
    let spots: Vec<(f64, f64)> = truth
        .iter()
        .filter(|(l, ..)| *l == level)
        .filter(|(_, segment, ..)| match segment {
            // Discovertebral: through the disc and the endplate above.
            SpineSegment::Anterior => k <= 1,
            _ => k == 1 || k == 2,
        })
        .map(|(_, segment, foraminal, side)| spot(*segment, *foraminal, *side))
        .collect();
    let half = CT_SIZE as f64 * CT_SPACING / 2.0;
    let mut out = Vec::with_capacity(CT_SIZE * CT_SIZE);
    for row in 0..CT_SIZE {
        for col in 0..CT_SIZE {
            let x = (col as f64 + 0.5) * CT_SPACING - half;
            let y = (row as f64 + 0.5) * CT_SPACING - half;
            let within = |cx: f64, cy: f64, rx: f64, ry: f64| {
                ((x - cx) / rx).powi(2) + ((y - cy) / ry).powi(2) <= 1.0
            };
            let r_body = ((x).powi(2) + (y - 20.0).powi(2)).sqrt();
            let r_canal = ((x).powi(2) + (y - 44.0).powi(2)).sqrt();
            let mut v: f64 = -1000.0;
            if within(0.0, 10.0, 88.0, 72.0) {
                v = 40.0;
                if thoracic && (within(-45.0, 0.0, 30.0, 45.0) || within(45.0, 0.0, 30.0, 45.0)) {
                    v = -850.0;
                }
            }
            if r_body <= 16.0 {
                v = if disc {
                    90.0
                } else if r_body >= 14.0 {
                    700.0
                } else {
                    260.0
                };
            }
            if !disc && (8.0..=13.0).contains(&r_canal) && y >= 40.0 {
                v = 450.0;
            }
            if !disc && x.abs() <= 3.0 && (55.0..=70.0).contains(&y) {
                v = 450.0;
            }
            if r_canal < 8.0 {
                v = 15.0;
            }
            if spots
                .iter()
                .any(|(sx, sy)| (x - sx).powi(2) + (y - sy).powi(2) <= 3.0 * 3.0)
            {
                v = 1150.0;
            }
            out.push((v + rng.normal() * 12.0).round() as i16);
        }
    }
    out
}

/// Writes the images of every patient of `cohort` under `dir`:
/// `dir/images/HOSPITAL_ID/hand/IM0001.dcm` and `…/ct/IM0001.dcm…`, and
/// the map `dir/images-map.csv` (`dicom_patient_id,patient_id`) that
/// `sclerad images import` takes. Returns the number of files written.
pub fn write_images(cohort: &Cohort, dir: &std::path::Path) -> std::io::Result<usize> {
    let root = dir.join("images");
    let mut map = String::from("dicom_patient_id,patient_id\n");
    let mut files = 0;
    for patient in &cohort.patients {
        let images = patient_images(cohort, patient);
        map.push_str(&format!("{},{}\n", images.hospital_id, patient.patient_id));
        let write = |sub: &str, n: usize, instance: &Instance| -> std::io::Result<()> {
            let folder = root.join(&images.hospital_id).join(sub);
            std::fs::create_dir_all(&folder)?;
            let mut bytes = Vec::new();
            instance
                .write_all(&mut bytes)
                .map_err(|e| std::io::Error::other(e.to_string()))?;
            std::fs::write(folder.join(format!("IM{n:04}.dcm")), bytes)
        };
        if let Some(hand) = &images.hand {
            write("hand", 1, hand)?;
            files += 1;
        }
        for (i, slice) in images.ct.iter().enumerate() {
            write("ct", i + 1, slice)?;
            files += 1;
        }
    }
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("images-map.csv"), map)?;
    Ok(files)
}
