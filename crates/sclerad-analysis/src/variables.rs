//! The analysis variables by name, read from a patient and its derived row.

use sclerad_model::{DerivedPatient, Lesion, Patient, Sex, SpineFlag, Subset};

/// The 7 hand lesions, in the plan's order: the model's vocabulary.
pub const HAND_LESIONS: &[&str] = Lesion::CODES;

/// The 5 spine flags, in the plan's order: `spine_any` (a calcification in
/// any segment), then the model's spine flags.
pub const SPINE_FLAGS: [&str; 5] = {
    let f = SpineFlag::CODES;
    assert!(f.len() == 4, "spine_any and the four spine flags");
    ["spine_any", f[0], f[1], f[2], f[3]]
};

/// The clinical binaries.
pub const BINARY_CLINICAL: [&str; 6] = [
    "sex_female",
    "digital_ulcers",
    "ild_ct",
    "restrictive_syndrome",
    "pah",
    "death",
];

/// One analysed patient: the record and its derived variables.
pub(crate) struct Subject<'a> {
    pub patient: &'a Patient,
    pub derived: &'a DerivedPatient,
}

/// A binary analysis variable, resolved once from its name so that reading
/// it for a million patients is a match, not a string comparison.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Binary {
    Lesion(Lesion),
    Spine(SpineFlag),
    SpineAny,
    SexFemale,
    SubsetDcssc,
    DigitalUlcers,
    IldCt,
    RestrictiveSyndrome,
    Pah,
    Death,
}

impl Binary {
    /// The variable called `name`, if it is a binary one.
    pub fn named(name: &str) -> Option<Binary> {
        if let Some(lesion) = Lesion::parse(name) {
            return Some(Binary::Lesion(lesion));
        }
        if let Some(flag) = SpineFlag::parse(name) {
            return Some(Binary::Spine(flag));
        }
        Some(match name {
            "spine_any" => Binary::SpineAny,
            "sex_female" => Binary::SexFemale,
            "subset_dcssc" => Binary::SubsetDcssc,
            "digital_ulcers" => Binary::DigitalUlcers,
            "ild_ct" => Binary::IldCt,
            "restrictive_syndrome" => Binary::RestrictiveSyndrome,
            "pah" => Binary::Pah,
            "death" => Binary::Death,
            _ => return None,
        })
    }

    /// Its value for one subject.
    pub fn of(self, s: &Subject<'_>) -> Option<bool> {
        let (p, d) = (s.patient, s.derived);
        match self {
            Binary::Lesion(lesion) => d.lesion(lesion),
            Binary::Spine(flag) => d.spine_flag(flag),
            Binary::SpineAny => d.spine_any,
            Binary::SexFemale => Some(p.sex == Sex::Female),
            Binary::SubsetDcssc => Some(p.subset == Subset::Diffuse),
            Binary::DigitalUlcers => p.digital_ulcers,
            Binary::IldCt => p.ild_ct,
            Binary::RestrictiveSyndrome => d.restrictive_syndrome,
            Binary::Pah => p.pah,
            Binary::Death => p.death,
        }
    }
}

impl Subject<'_> {
    /// A continuous variable by name.
    pub fn continuous(&self, name: &str) -> Option<f64> {
        match name {
            "age_years" => self.derived.age_years,
            "disease_duration_years" => self.derived.disease_duration_years,
            _ => None,
        }
    }
}

/// Whether `name` is a continuous variable.
pub(crate) fn is_continuous(name: &str) -> bool {
    matches!(name, "age_years" | "disease_duration_years")
}

/// Every analysis variable as a column over the analysed subjects, built
/// once so that each comparison is a pass over two slices.
pub(crate) struct Columns {
    binary: std::collections::HashMap<&'static str, Vec<Option<bool>>>,
    continuous: std::collections::HashMap<&'static str, Vec<Option<f64>>>,
    empty_binary: Vec<Option<bool>>,
    empty_continuous: Vec<Option<f64>>,
}

impl Columns {
    pub fn new(subjects: &[Subject<'_>]) -> Self {
        let names = HAND_LESIONS
            .iter()
            .chain(&SPINE_FLAGS)
            .chain(&BINARY_CLINICAL)
            .chain(&["subset_dcssc"]);
        let names: Vec<&'static str> = names.copied().collect();
        // One column per variable, built on every core.
        let columns: Vec<Vec<Option<bool>>> =
            sclerad_model::parallel::map(&names, |n| match Binary::named(n) {
                Some(b) => subjects.iter().map(|s| b.of(s)).collect(),
                None => vec![None; subjects.len()],
            });
        let binary = names.into_iter().zip(columns).collect();
        let continuous = ["age_years", "disease_duration_years"]
            .into_iter()
            .map(|n| (n, subjects.iter().map(|s| s.continuous(n)).collect()))
            .collect();
        Columns {
            binary,
            continuous,
            empty_binary: vec![None; subjects.len()],
            empty_continuous: vec![None; subjects.len()],
        }
    }

    /// A binary column (all missing for an unknown name).
    pub fn binary(&self, name: &str) -> &[Option<bool>] {
        self.binary.get(name).unwrap_or(&self.empty_binary)
    }

    /// A continuous column (all missing for an unknown name).
    pub fn continuous(&self, name: &str) -> &[Option<f64>] {
        self.continuous.get(name).unwrap_or(&self.empty_continuous)
    }
}
