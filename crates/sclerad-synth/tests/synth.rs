//! Synthetic cohorts validate, are reproducible, survive a write/read round
//! trip, and the demo cohort has the Nancy abstract's marginals.

use sclerad_bundle::{read_bundle, write_folder, ReadOptions};
use sclerad_model::{
    derive, validate, Cohort, DerivedPatient, Lesion, ReaderChoice, Severity, SpineFlag, Subset,
    ValidateOptions,
};
use sclerad_synth::{generate, nancy_demo, ReadingsMode, SynthOptions, NANCY};

fn assert_valid(cohort: &Cohort) {
    let v = validate(
        cohort,
        &ValidateOptions {
            reader_required: true,
            ..Default::default()
        },
    );
    let errors: Vec<_> = v
        .problems
        .iter()
        .filter(|p| p.severity == Severity::Error)
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

fn long() -> ReadingsMode {
    ReadingsMode::Long(["rad1", "rad2", "consensus"].map(String::from).to_vec())
}

#[test]
fn summary_and_long_cohorts_validate() {
    for seed in 1..4 {
        assert_valid(&generate(&SynthOptions {
            patients: 400,
            seed,
            ..Default::default()
        }));
        assert_valid(&generate(&SynthOptions {
            patients: 200,
            seed,
            readings: long(),
            ..Default::default()
        }));
    }
}

#[test]
fn a_seed_gives_one_cohort() {
    let o = SynthOptions {
        patients: 50,
        seed: 9,
        readings: long(),
        ..Default::default()
    };
    assert_eq!(generate(&o), generate(&o));
    let other = SynthOptions {
        seed: 10,
        ..o.clone()
    };
    assert_ne!(generate(&o), generate(&other));
}

#[test]
fn synthetic_bundles_round_trip_through_files() {
    for readings in [ReadingsMode::Summary, long()] {
        let cohort = generate(&SynthOptions {
            patients: 120,
            seed: 3,
            readings,
            ..Default::default()
        });
        let dir = tempfile::tempdir().expect("tempdir");
        write_folder(&cohort, dir.path()).expect("write");
        let back = read_bundle(dir.path(), &ReadOptions::default()).expect("read");
        assert!(
            back.problems.iter().all(|p| p.severity != Severity::Error),
            "{:#?}",
            back.problems
        );
        assert_eq!(back.cohort, cohort);
    }
}

#[test]
fn synthetic_prevalences_are_plausible() {
    let cohort = generate(&SynthOptions {
        patients: 5000,
        seed: 5,
        ..Default::default()
    });
    let d = derive(&cohort, &Default::default(), 365);
    let share = |f: &dyn Fn(&DerivedPatient) -> bool| {
        d.iter().filter(|p| f(p)).count() as f64 / d.len() as f64
    };
    let anterior = share(&|p| p.spine_flag(SpineFlag::Anterior) == Some(true));
    assert!((0.65..0.90).contains(&anterior), "{anterior}");
    let calcinosis = share(&|p| p.lesion(Lesion::Calcinosis) == Some(true));
    assert!((0.15..0.40).contains(&calcinosis), "{calcinosis}");
    let women = cohort
        .patients
        .iter()
        .filter(|p| p.sex == sclerad_model::Sex::Female)
        .count() as f64
        / 5000.0;
    assert!((0.85..0.91).contains(&women), "{women}");
}

fn count(d: &[DerivedPatient], f: impl Fn(&DerivedPatient) -> Option<bool>) -> usize {
    d.iter().filter(|p| f(p) == Some(true)).count()
}

#[test]
fn the_demo_has_the_abstracts_marginals() {
    let cohort = nancy_demo();
    assert_valid(&cohort);
    let choice = ReaderChoice::resolve(&cohort, None);
    assert_eq!(choice.hand, Ok(Some("consensus".into())));
    let d = derive(&cohort, &choice.selection(), 365);
    assert_eq!(d.len(), NANCY.patients);
    let women = cohort
        .patients
        .iter()
        .filter(|p| p.sex == sclerad_model::Sex::Female)
        .count();
    assert_eq!(women, NANCY.women);
    let limited = cohort
        .patients
        .iter()
        .filter(|p| p.subset == Subset::Limited)
        .count();
    assert_eq!(
        (limited, NANCY.patients - limited),
        (NANCY.limited, NANCY.diffuse)
    );
    let mean_age = d.iter().filter_map(|p| p.age_years).sum::<f64>() / d.len() as f64;
    assert!((mean_age - NANCY.mean_age).abs() < 1e-9, "{mean_age}");
    for lesion in Lesion::ALL {
        assert_eq!(
            count(&d, |p| p.lesion(*lesion)),
            NANCY.hand[lesion.index()],
            "{lesion}"
        );
    }
    for flag in SpineFlag::ALL {
        assert_eq!(
            count(&d, |p| p.spine_flag(*flag)),
            NANCY.spine[flag.index()],
            "{flag}"
        );
    }
    assert!(d.iter().all(|p| p.imaging_within_window == Some(true)));
    assert!(d
        .iter()
        .all(|p| p.acr_eular_2013.and_then(|a| a.classified) == Some(true)));
}

/// (a, b, c, d) of exposure × outcome over the demo's consensus flags.
fn table(
    d: &[DerivedPatient],
    cohort: &Cohort,
    exposure: impl Fn(&DerivedPatient) -> Option<bool>,
    outcome: impl Fn(&sclerad_model::Patient) -> Option<bool>,
) -> [usize; 4] {
    let mut t = [0; 4];
    for (x, p) in d.iter().zip(&cohort.patients) {
        if let (Some(e), Some(o)) = (exposure(x), outcome(p)) {
            t[match (e, o) {
                (true, true) => 0,
                (true, false) => 1,
                (false, true) => 2,
                (false, false) => 3,
            }] += 1;
        }
    }
    t
}

#[test]
fn the_demo_builds_in_the_reported_associations() {
    let cohort = nancy_demo();
    let d = derive(
        &cohort,
        &ReaderChoice::resolve(&cohort, None).selection(),
        365,
    );
    let f = |flag: SpineFlag| move |x: &DerivedPatient| x.spine_flag(flag);
    assert_eq!(
        table(&d, &cohort, f(SpineFlag::Foraminal), |p| p.death),
        [4, 5, 4, 64]
    );
    assert_eq!(
        table(&d, &cohort, |x| x.lesion(Lesion::Calcinosis), |p| p.pah),
        [5, 15, 3, 54]
    );
    assert_eq!(
        table(&d, &cohort, f(SpineFlag::Posterior), |p| p.ild_ct),
        [15, 12, 15, 35]
    );
    assert_eq!(
        table(&d, &cohort, f(SpineFlag::Foraminal), |p| p.ild_ct),
        [7, 2, 23, 45]
    );
    for (lesion, ulcers) in [
        (Lesion::Calcinosis, [14, 6, 16, 41]),
        (Lesion::AcroOsteolysis, [12, 4, 18, 43]),
        (Lesion::PeriarticularCalcification, [13, 9, 17, 38]),
    ] {
        assert_eq!(
            table(&d, &cohort, |x| x.lesion(lesion), |p| p.digital_ulcers),
            ulcers,
            "{lesion}"
        );
    }
    // dcSSc against ILD on CT and against restrictive syndrome (TLC < 80 %).
    let mut ild = [0; 4];
    let mut restrictive = [0; 4];
    for (x, p) in d.iter().zip(&cohort.patients) {
        let cell = |yes: bool| match (p.subset == sclerad_model::Subset::Diffuse, yes) {
            (true, true) => 0,
            (true, false) => 1,
            (false, true) => 2,
            (false, false) => 3,
        };
        ild[cell(p.ild_ct == Some(true))] += 1;
        restrictive[cell(x.restrictive_syndrome == Some(true))] += 1;
    }
    assert_eq!(ild, [14, 8, 16, 39]);
    assert_eq!(restrictive, [14, 8, 14, 41]);
    let peri: Vec<Option<bool>> = d
        .iter()
        .map(|x| x.lesion(Lesion::PeriarticularCalcification))
        .collect();
    let mut t = [0; 4];
    for (x, p) in d.iter().zip(&peri) {
        let i = match (x.spine_any == Some(true), *p == Some(true)) {
            (true, true) => 0,
            (true, false) => 1,
            (false, true) => 2,
            (false, false) => 3,
        };
        t[i] += 1;
    }
    assert_eq!(t, [22, 40, 0, 15]);
}

/// The synthetic images show what the consensus reading says and nothing
/// it does not: a dense spot (over 1,000 HU) at each level and segment of
/// a spine finding, none at the other covered levels; on the radiograph, a
/// dense nodule beside each site of a calcinosis; slices ordered by
/// position, the CT covering exactly the patient's levels.
#[test]
fn images_agree_with_the_consensus_readings() {
    use sclerad_dicom::volume::Volume;
    use sclerad_model::Lesion;
    let cohort = sclerad_synth::nancy_demo();
    let spine = cohort.spine_readings.as_ref().expect("spine readings");
    let hand = cohort.hand_readings.as_ref().expect("hand readings");
    let mut checked_spots = 0;
    let mut checked_nodules = 0;
    for patient in cohort.patients.iter().take(12) {
        let images = sclerad_synth::images::patient_images(&cohort, patient);
        let levels = patient.ct_coverage().expect("a CT");
        assert_eq!(images.ct.len(), levels.len() * 4);
        let volume = Volume::assemble(&images.ct).expect("one volume");
        let found: Vec<_> = spine
            .rows
            .iter()
            .filter(|r| r.patient_id == patient.patient_id && r.reader == "consensus")
            .filter_map(|r| Some((r.level?, r.segment?)))
            .collect();
        for level in levels.iter() {
            // The level's four slices, from its z.
            let z0 = sclerad_synth::images::level_z(level);
            let slices: Vec<usize> = (0..volume.slices())
                .filter(|i| {
                    (volume.positions[*i] - z0) > -0.5 && (volume.positions[*i] - z0) < 23.5
                })
                .collect();
            assert_eq!(slices.len(), 4, "{level}");
            let max = slices
                .iter()
                .flat_map(|s| {
                    (0..volume.rows).flat_map(move |r| (0..volume.columns).map(move |c| (*s, r, c)))
                })
                .filter_map(|(s, r, c)| volume.at(s, r, c))
                .max()
                .expect("pixels");
            let expected = found.iter().any(|(l, _)| *l == level);
            assert_eq!(
                max > 1000,
                expected,
                "{} {level}: max {max} HU",
                patient.patient_id
            );
            if expected {
                checked_spots += 1;
            }
        }
        let radiograph = images.hand.expect("a radiograph");
        let rendered =
            sclerad_dicom::render::render(&radiograph, 0, sclerad_dicom::render::Window::Auto)
                .expect("render");
        for r in hand.rows.iter().filter(|r| {
            r.patient_id == patient.patient_id
                && r.reader == "consensus"
                && r.lesion == Some(Lesion::Calcinosis)
        }) {
            let (x, y, _) = sclerad_model::layout::site_point(r.site.expect("a site"));
            let x = match r.side.expect("a side") {
                sclerad_model::HandSide::Right => x,
                sclerad_model::HandSide::Left => 1000 - x,
            };
            // The nodule's centre: 10 units to the viewer's left of the
            // site, 4 up.
            let px = ((f64::from(x) - 10.0) * 0.75) as usize;
            let py = ((f64::from(y) - 4.0) * 0.75) as usize;
            let grey = rendered.grey[py * rendered.width as usize + px];
            assert!(
                grey > 240,
                "{} {:?}: grey {grey}",
                patient.patient_id,
                r.site
            );
            checked_nodules += 1;
        }
    }
    assert!(
        checked_spots > 3 && checked_nodules > 0,
        "{checked_spots} {checked_nodules}"
    );
}
