//! The analysis variables by name, read from a patient and its derived row.

use sclerad_model::{DerivedPatient, Lesion, Patient, Sex, SpineFlag, Subset};

/// The 7 hand lesions, in the plan's order.
pub const HAND_LESIONS: [&str; 7] = [
    "calcinosis",
    "acro_osteolysis",
    "periarticular_calcification",
    "erosion",
    "joint_space_narrowing",
    "subluxation",
    "flexion_contracture",
];

/// The 5 spine flags, in the plan's order.
pub const SPINE_FLAGS: [&str; 5] = [
    "spine_any",
    "spine_anterior",
    "spine_canal",
    "spine_foraminal",
    "spine_posterior",
];

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

impl Subject<'_> {
    /// A binary variable by name (`None`: missing, or not a binary name).
    pub fn binary(&self, name: &str) -> Option<bool> {
        let (p, d) = (self.patient, self.derived);
        if let Some(lesion) = Lesion::parse(name) {
            return d.lesion(lesion);
        }
        if let Some(flag) = SpineFlag::parse(name) {
            return d.spine_flag(flag);
        }
        match name {
            "spine_any" => d.spine_any,
            "sex_female" => Some(p.sex == Sex::Female),
            "subset_dcssc" => Some(p.subset == Subset::Diffuse),
            "digital_ulcers" => p.digital_ulcers,
            "ild_ct" => p.ild_ct,
            "restrictive_syndrome" => d.restrictive_syndrome,
            "pah" => p.pah,
            "death" => p.death,
            _ => None,
        }
    }

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
        let binary = names
            .map(|n| (*n, subjects.iter().map(|s| s.binary(n)).collect()))
            .collect();
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
