//! The records of one study bundle, as read: patients and image readings.

use chrono::NaiveDate;

use crate::codes;
use crate::codes::{
    CtType, HandSide, HandSite, Lesion, Morphology, Sex, SpineFlag, SpineSegment, SpineSide, Subset,
};
use crate::level::{LevelSet, VertebralLevel};
use crate::problem::TableName;

codes! {
    /// Every column of the `patients` table the format defines, in the
    /// order a bundle is written.
    pub enum PatientColumn ("a patients column") {
        PatientId = "patient_id",
        Sex = "sex",
        AgeYears = "age_years",
        BirthDate = "birth_date",
        Subset = "subset",
        OnsetDate = "onset_date",
        DiseaseDurationYears = "disease_duration_years",
        HandXrayDate = "hand_xray_date",
        CtDate = "ct_date",
        CtType = "ct_type",
        CtLevels = "ct_levels",
        DigitalUlcers = "digital_ulcers",
        IldCt = "ild_ct",
        RestrictiveSyndrome = "restrictive_syndrome",
        FvcPctPred = "fvc_pct_pred",
        TlcPctPred = "tlc_pct_pred",
        DlcoPctPred = "dlco_pct_pred",
        Pah = "pah",
        MpapMmhg = "mpap_mmhg",
        PawpMmhg = "pawp_mmhg",
        PvrWu = "pvr_wu",
        Death = "death",
        DeathDate = "death_date",
        LastFollowupDate = "last_followup_date",
        Mrss = "mrss",
        SkinProximalMcp = "skin_proximal_mcp",
        PuffyFingers = "puffy_fingers",
        Sclerodactyly = "sclerodactyly",
        FingertipUlcers = "fingertip_ulcers",
        PittingScars = "pitting_scars",
        Telangiectasia = "telangiectasia",
        AbnormalCapillaries = "abnormal_capillaries",
        Raynaud = "raynaud",
        AntiCentromere = "anti_centromere",
        AntiScl70 = "anti_scl70",
        AntiRnap3 = "anti_rnap3",
        Calcinosis = "calcinosis",
        AcroOsteolysis = "acro_osteolysis",
        PeriarticularCalcification = "periarticular_calcification",
        Erosion = "erosion",
        JointSpaceNarrowing = "joint_space_narrowing",
        Subluxation = "subluxation",
        FlexionContracture = "flexion_contracture",
        SpineAnterior = "spine_anterior",
        SpineCanal = "spine_canal",
        SpineForaminal = "spine_foraminal",
        SpinePosterior = "spine_posterior",
    }
}

codes! {
    /// Every column of the `hand_readings` table, in the order a bundle is
    /// written (the bundle reader, its writer and the study store share it).
    pub enum HandColumn ("a hand_readings column") {
        PatientId = "patient_id",
        Reader = "reader",
        Side = "side",
        Site = "site",
        Lesion = "lesion",
        Grade = "grade",
        ImageUid = "image_uid",
        Frame = "frame",
        X = "x",
        Y = "y",
    }
}

codes! {
    /// Every column of the `spine_readings` table, in the order a bundle is
    /// written.
    pub enum SpineColumn ("a spine_readings column") {
        PatientId = "patient_id",
        Reader = "reader",
        Level = "level",
        Segment = "segment",
        Foraminal = "foraminal",
        Side = "side",
        Morphology = "morphology",
        ImageUid = "image_uid",
        Frame = "frame",
        X = "x",
        Y = "y",
    }
}

/// The columns of a mark on an image (version 2 of the format), in both
/// readings tables; a bundle writes them only when a reading has a mark.
pub const MARK_COLUMNS: &[&str] = &["image_uid", "frame", "x", "y"];

/// Where a reader saw a finding: an image of the exam (its de-identified
/// SOP Instance UID), the frame of a multi-frame instance, and the point
/// (column, row, in image pixels); without a point, the whole image.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageMark {
    /// The de-identified SOP Instance UID.
    pub image_uid: String,
    /// The frame, from 1.
    pub frame: Option<u32>,
    /// (x, y): column and row, in image pixels.
    pub point: Option<(f64, f64)>,
}

impl PatientColumn {
    /// The summary column of a hand lesion.
    pub fn of_lesion(lesion: Lesion) -> Self {
        match lesion {
            Lesion::Calcinosis => PatientColumn::Calcinosis,
            Lesion::AcroOsteolysis => PatientColumn::AcroOsteolysis,
            Lesion::PeriarticularCalcification => PatientColumn::PeriarticularCalcification,
            Lesion::Erosion => PatientColumn::Erosion,
            Lesion::JointSpaceNarrowing => PatientColumn::JointSpaceNarrowing,
            Lesion::Subluxation => PatientColumn::Subluxation,
            Lesion::FlexionContracture => PatientColumn::FlexionContracture,
        }
    }

    /// The summary column of a spine flag.
    pub fn of_spine(flag: SpineFlag) -> Self {
        match flag {
            SpineFlag::Anterior => PatientColumn::SpineAnterior,
            SpineFlag::Canal => PatientColumn::SpineCanal,
            SpineFlag::Foraminal => PatientColumn::SpineForaminal,
            SpineFlag::Posterior => PatientColumn::SpinePosterior,
        }
    }

    /// The ACR/EULAR 2013 item columns.
    pub const ACR_EULAR_ITEMS: [PatientColumn; 11] = [
        PatientColumn::SkinProximalMcp,
        PatientColumn::PuffyFingers,
        PatientColumn::Sclerodactyly,
        PatientColumn::FingertipUlcers,
        PatientColumn::PittingScars,
        PatientColumn::Telangiectasia,
        PatientColumn::AbnormalCapillaries,
        PatientColumn::Raynaud,
        PatientColumn::AntiCentromere,
        PatientColumn::AntiScl70,
        PatientColumn::AntiRnap3,
    ];
}

/// What a cell of a `patients` column holds: the format's definition of
/// the column, which the bundle reader checks cells against and from which
/// other descriptions of the format (the REDCap data dictionary) are made.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ColumnKind {
    /// Free text (`patient_id`).
    Text,
    /// A code of a vocabulary: its codes, in the format's order.
    Code(&'static [&'static str]),
    /// A boolean: written `yes` or `no`.
    Boolean,
    /// A calendar date: written `YYYY-MM-DD`.
    Date,
    /// A number in a range: `min < x < max` when `exclusive`, else
    /// `min ≤ x ≤ max`.
    Number {
        /// The lower bound.
        min: f64,
        /// The upper bound.
        max: f64,
        /// Whether the bounds themselves are refused.
        exclusive: bool,
    },
    /// A whole number, `min ≤ n ≤ max`.
    WholeNumber {
        /// The smallest value.
        min: u8,
        /// The largest value.
        max: u8,
    },
    /// A list of vertebral level ranges (`c7-t12,l1-l5`).
    LevelList,
}

/// What the format requires of a `patients` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requirement {
    /// The column must be in the header and every row must have a value.
    ColumnAndCell,
    /// The column must be in the header; cells may be missing.
    Column,
    /// This column or the other must be in the header.
    OneOf(PatientColumn),
    /// Required when the bundle has no `hand_readings`.
    UnlessHandReadings,
    /// Required when the bundle has no `spine_readings`.
    UnlessSpineReadings,
    /// Optional.
    Optional,
}

impl PatientColumn {
    /// What a cell of this column holds.
    pub fn kind(self) -> ColumnKind {
        use PatientColumn as C;
        let percent = ColumnKind::Number {
            min: 0.0,
            max: 250.0,
            exclusive: false,
        };
        let pressure = ColumnKind::Number {
            min: 0.0,
            max: 200.0,
            exclusive: false,
        };
        match self {
            C::PatientId => ColumnKind::Text,
            C::Sex => ColumnKind::Code(Sex::CODES),
            C::Subset => ColumnKind::Code(Subset::CODES),
            C::CtType => ColumnKind::Code(CtType::CODES),
            C::CtLevels => ColumnKind::LevelList,
            C::AgeYears => ColumnKind::Number {
                min: 0.0,
                max: 120.0,
                exclusive: true,
            },
            C::DiseaseDurationYears => ColumnKind::Number {
                min: 0.0,
                max: 100.0,
                exclusive: false,
            },
            C::FvcPctPred | C::TlcPctPred | C::DlcoPctPred => percent,
            C::MpapMmhg | C::PawpMmhg => pressure,
            C::PvrWu => ColumnKind::Number {
                min: 0.0,
                max: 100.0,
                exclusive: false,
            },
            C::Mrss => ColumnKind::WholeNumber { min: 0, max: 51 },
            C::BirthDate
            | C::OnsetDate
            | C::HandXrayDate
            | C::CtDate
            | C::DeathDate
            | C::LastFollowupDate => ColumnKind::Date,
            C::DigitalUlcers
            | C::IldCt
            | C::RestrictiveSyndrome
            | C::Pah
            | C::Death
            | C::SkinProximalMcp
            | C::PuffyFingers
            | C::Sclerodactyly
            | C::FingertipUlcers
            | C::PittingScars
            | C::Telangiectasia
            | C::AbnormalCapillaries
            | C::Raynaud
            | C::AntiCentromere
            | C::AntiScl70
            | C::AntiRnap3
            | C::Calcinosis
            | C::AcroOsteolysis
            | C::PeriarticularCalcification
            | C::Erosion
            | C::JointSpaceNarrowing
            | C::Subluxation
            | C::FlexionContracture
            | C::SpineAnterior
            | C::SpineCanal
            | C::SpineForaminal
            | C::SpinePosterior => ColumnKind::Boolean,
        }
    }

    /// What the format requires of this column.
    pub fn requirement(self) -> Requirement {
        use PatientColumn as C;
        match self {
            C::PatientId | C::Sex | C::Subset => Requirement::ColumnAndCell,
            C::DigitalUlcers | C::IldCt | C::Pah | C::Death => Requirement::Column,
            C::AgeYears => Requirement::OneOf(C::BirthDate),
            C::BirthDate => Requirement::OneOf(C::AgeYears),
            C::OnsetDate => Requirement::OneOf(C::DiseaseDurationYears),
            C::DiseaseDurationYears => Requirement::OneOf(C::OnsetDate),
            C::Calcinosis
            | C::AcroOsteolysis
            | C::PeriarticularCalcification
            | C::Erosion
            | C::JointSpaceNarrowing
            | C::Subluxation
            | C::FlexionContracture => Requirement::UnlessHandReadings,
            C::SpineAnterior | C::SpineCanal | C::SpineForaminal | C::SpinePosterior => {
                Requirement::UnlessSpineReadings
            }
            _ => Requirement::Optional,
        }
    }
}

/// A set of [`PatientColumn`]s: which columns a `patients` table has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ColumnSet(u64);

impl ColumnSet {
    /// Adds a column.
    pub fn insert(&mut self, column: PatientColumn) {
        self.0 |= 1 << column.index();
    }

    /// Whether the column is present.
    pub fn contains(self, column: PatientColumn) -> bool {
        self.0 & (1 << column.index()) != 0
    }

    /// The columns present, in format order.
    pub fn iter(self) -> impl Iterator<Item = PatientColumn> {
        PatientColumn::ALL
            .iter()
            .copied()
            .filter(move |c| self.contains(*c))
    }

    /// Every column the format defines.
    pub fn all() -> Self {
        let mut s = ColumnSet::default();
        for c in PatientColumn::ALL {
            s.insert(*c);
        }
        s
    }
}

/// The ACR/EULAR 2013 items of one patient (absent cell = `None`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AcrEularItems {
    /// Skin thickening of the fingers of both hands proximal to the MCPs (sufficient).
    pub skin_proximal_mcp: Option<bool>,
    /// Puffy fingers (2).
    pub puffy_fingers: Option<bool>,
    /// Sclerodactyly (4).
    pub sclerodactyly: Option<bool>,
    /// Digital tip ulcers (2).
    pub fingertip_ulcers: Option<bool>,
    /// Fingertip pitting scars (3).
    pub pitting_scars: Option<bool>,
    /// Telangiectasia (2).
    pub telangiectasia: Option<bool>,
    /// Abnormal nailfold capillaries (2).
    pub abnormal_capillaries: Option<bool>,
    /// Raynaud's phenomenon (3).
    pub raynaud: Option<bool>,
    /// Anticentromere antibodies.
    pub anti_centromere: Option<bool>,
    /// Anti-topoisomerase I (Scl-70) antibodies.
    pub anti_scl70: Option<bool>,
    /// Anti-RNA polymerase III antibodies.
    pub anti_rnap3: Option<bool>,
}

impl AcrEularItems {
    /// The item recorded in `column`, or `None` if `column` is not an item.
    pub fn get(&self, column: PatientColumn) -> Option<Option<bool>> {
        Some(match column {
            PatientColumn::SkinProximalMcp => self.skin_proximal_mcp,
            PatientColumn::PuffyFingers => self.puffy_fingers,
            PatientColumn::Sclerodactyly => self.sclerodactyly,
            PatientColumn::FingertipUlcers => self.fingertip_ulcers,
            PatientColumn::PittingScars => self.pitting_scars,
            PatientColumn::Telangiectasia => self.telangiectasia,
            PatientColumn::AbnormalCapillaries => self.abnormal_capillaries,
            PatientColumn::Raynaud => self.raynaud,
            PatientColumn::AntiCentromere => self.anti_centromere,
            PatientColumn::AntiScl70 => self.anti_scl70,
            PatientColumn::AntiRnap3 => self.anti_rnap3,
            _ => return None,
        })
    }

    /// Mutable access to the item recorded in `column`.
    pub fn get_mut(&mut self, column: PatientColumn) -> Option<&mut Option<bool>> {
        Some(match column {
            PatientColumn::SkinProximalMcp => &mut self.skin_proximal_mcp,
            PatientColumn::PuffyFingers => &mut self.puffy_fingers,
            PatientColumn::Sclerodactyly => &mut self.sclerodactyly,
            PatientColumn::FingertipUlcers => &mut self.fingertip_ulcers,
            PatientColumn::PittingScars => &mut self.pitting_scars,
            PatientColumn::Telangiectasia => &mut self.telangiectasia,
            PatientColumn::AbnormalCapillaries => &mut self.abnormal_capillaries,
            PatientColumn::Raynaud => &mut self.raynaud,
            PatientColumn::AntiCentromere => &mut self.anti_centromere,
            PatientColumn::AntiScl70 => &mut self.anti_scl70,
            PatientColumn::AntiRnap3 => &mut self.anti_rnap3,
            _ => return None,
        })
    }
}

/// Per-lesion values, indexed by [`Lesion`].
pub type LesionFlags = [Option<bool>; 7];
/// Per-flag spine values, indexed by [`SpineFlag`].
pub type SpineFlags = [Option<bool>; 4];

/// One row of the `patients` table. `None` is a missing cell.
#[derive(Debug, Clone, PartialEq)]
pub struct Patient {
    /// Spreadsheet row the patient was read from (header = 1).
    pub row: u32,
    /// Pseudonymous identifier, unique in the bundle.
    pub patient_id: String,
    /// Sex.
    pub sex: Sex,
    /// Age in years as recorded.
    pub age_years: Option<f64>,
    /// Birth date.
    pub birth_date: Option<NaiveDate>,
    /// Cutaneous subset.
    pub subset: Subset,
    /// First non-Raynaud symptom.
    pub onset_date: Option<NaiveDate>,
    /// Disease duration in years as recorded.
    pub disease_duration_years: Option<f64>,
    /// Date of the hand radiograph.
    pub hand_xray_date: Option<NaiveDate>,
    /// Date of the CT.
    pub ct_date: Option<NaiveDate>,
    /// Kind of CT.
    pub ct_type: Option<CtType>,
    /// Levels the CT covered, when given explicitly.
    pub ct_levels: Option<LevelSet>,
    /// Ever had digital ulcers.
    pub digital_ulcers: Option<bool>,
    /// Interstitial lung disease on CT.
    pub ild_ct: Option<bool>,
    /// Restrictive syndrome as recorded.
    pub restrictive_syndrome: Option<bool>,
    /// FVC, % predicted.
    pub fvc_pct_pred: Option<f64>,
    /// TLC, % predicted.
    pub tlc_pct_pred: Option<f64>,
    /// DLCO, % predicted.
    pub dlco_pct_pred: Option<f64>,
    /// PAH confirmed by right heart catheterisation.
    pub pah: Option<bool>,
    /// Mean pulmonary arterial pressure, mmHg.
    pub mpap_mmhg: Option<f64>,
    /// Pulmonary arterial wedge pressure, mmHg.
    pub pawp_mmhg: Option<f64>,
    /// Pulmonary vascular resistance, Wood units.
    pub pvr_wu: Option<f64>,
    /// Died.
    pub death: Option<bool>,
    /// Date of death.
    pub death_date: Option<NaiveDate>,
    /// Last follow-up, the censoring date of survivors.
    pub last_followup_date: Option<NaiveDate>,
    /// Modified Rodnan skin score, 0–51.
    pub mrss: Option<u8>,
    /// ACR/EULAR 2013 items.
    pub acr_eular: AcrEularItems,
    /// Hand lesion summary columns.
    pub hand: LesionFlags,
    /// Spine summary columns.
    pub spine: SpineFlags,
    /// Values of the unknown columns, aligned with [`Cohort::patient_extra_columns`].
    pub extra: Vec<String>,
}

/// A value the study's analyses need, missing from a patient's record:
/// the columns any one of which would give it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MissingValue(pub &'static [PatientColumn]);

impl MissingValue {
    /// The columns, as a data manager reads them (`age_years or
    /// birth_date`).
    pub fn columns(self) -> String {
        let names: Vec<&str> = self.0.iter().map(|c| c.code()).collect();
        names.join(" or ")
    }
}

impl Patient {
    /// The values the analyses need that this record lacks, in the order of
    /// the format's columns: age, disease duration, both exams' dates and
    /// the CT's type (eligibility, the imaging window, coverage), digital
    /// ulcers, ILD on CT, PAH and death (the clinical comparisons and the
    /// prognosis), and a dead patient's date of death. `sex`, `subset` and
    /// the id are never missing from a record that was read.
    pub fn missing_values(&self) -> Vec<MissingValue> {
        use PatientColumn as C;
        let checks: [(bool, &'static [PatientColumn]); 10] = [
            (
                self.age_years.is_none() && self.birth_date.is_none(),
                &[C::AgeYears, C::BirthDate],
            ),
            (
                self.onset_date.is_none() && self.disease_duration_years.is_none(),
                &[C::OnsetDate, C::DiseaseDurationYears],
            ),
            (self.hand_xray_date.is_none(), &[C::HandXrayDate]),
            (self.ct_date.is_none(), &[C::CtDate]),
            (self.ct_type.is_none(), &[C::CtType]),
            (self.digital_ulcers.is_none(), &[C::DigitalUlcers]),
            (self.ild_ct.is_none(), &[C::IldCt]),
            (self.pah.is_none(), &[C::Pah]),
            (self.death.is_none(), &[C::Death]),
            (
                self.death == Some(true) && self.death_date.is_none(),
                &[C::DeathDate],
            ),
        ];
        checks
            .into_iter()
            .filter(|(missing, _)| *missing)
            .map(|(_, columns)| MissingValue(columns))
            .collect()
    }

    /// A patient with every optional cell missing.
    pub fn new(row: u32, patient_id: impl Into<String>, sex: Sex, subset: Subset) -> Self {
        Patient {
            row,
            patient_id: patient_id.into(),
            sex,
            age_years: None,
            birth_date: None,
            subset,
            onset_date: None,
            disease_duration_years: None,
            hand_xray_date: None,
            ct_date: None,
            ct_type: None,
            ct_levels: None,
            digital_ulcers: None,
            ild_ct: None,
            restrictive_syndrome: None,
            fvc_pct_pred: None,
            tlc_pct_pred: None,
            dlco_pct_pred: None,
            pah: None,
            mpap_mmhg: None,
            pawp_mmhg: None,
            pvr_wu: None,
            death: None,
            death_date: None,
            last_followup_date: None,
            mrss: None,
            acr_eular: AcrEularItems::default(),
            hand: [None; 7],
            spine: [None; 4],
            extra: Vec::new(),
        }
    }

    /// The summary value of a hand lesion.
    pub fn lesion(&self, lesion: Lesion) -> Option<bool> {
        self.hand[lesion.index()]
    }

    /// The summary value of a spine flag.
    pub fn spine_flag(&self, flag: SpineFlag) -> Option<bool> {
        self.spine[flag.index()]
    }

    /// The levels the CT showed: `ct_levels` if given, else the default of
    /// `ct_type`, else unknown.
    pub fn ct_coverage(&self) -> Option<LevelSet> {
        self.ct_levels
            .or_else(|| self.ct_type.map(LevelSet::default_for))
    }
}

/// One row of `hand_readings`: a lesion one reader saw at one site, or
/// `lesion = none` (read, nothing found).
#[derive(Debug, Clone, PartialEq)]
pub struct HandReading {
    /// Spreadsheet row.
    pub row: u32,
    /// Patient read.
    pub patient_id: String,
    /// Who read it; `consensus` is the agreed reading.
    pub reader: String,
    /// Side, absent only for `none`.
    pub side: Option<HandSide>,
    /// Site, absent only for `none`.
    pub site: Option<HandSite>,
    /// The lesion; `None` is the code `none`.
    pub lesion: Option<Lesion>,
    /// Optional semi-quantitative grade 0–3.
    pub grade: Option<u8>,
    /// Where it was seen on an image, if marked.
    pub mark: Option<ImageMark>,
    /// Values of unknown columns.
    pub extra: Vec<String>,
}

/// One row of `spine_readings`: a calcification at one level and segment,
/// or `segment = none` (read, nothing found).
#[derive(Debug, Clone, PartialEq)]
pub struct SpineReading {
    /// Spreadsheet row.
    pub row: u32,
    /// Patient read.
    pub patient_id: String,
    /// Who read it.
    pub reader: String,
    /// Level, absent only for `none`.
    pub level: Option<VertebralLevel>,
    /// Segment; `None` is the code `none`.
    pub segment: Option<SpineSegment>,
    /// Foraminal (only with the canal segment).
    pub foraminal: Option<bool>,
    /// Side.
    pub side: Option<SpineSide>,
    /// Morphology.
    pub morphology: Option<Morphology>,
    /// Where it was seen on an image, if marked.
    pub mark: Option<ImageMark>,
    /// Values of unknown columns.
    pub extra: Vec<String>,
}

/// The name of the reader whose reading is the agreed one.
pub const CONSENSUS: &str = "consensus";

/// One readings table as read.
#[derive(Debug, Clone, PartialEq)]
pub struct Readings<T> {
    /// Where it came from.
    pub table: TableName,
    /// Rows that could be read.
    pub rows: Vec<T>,
    /// Unknown columns, kept.
    pub extra_columns: Vec<String>,
}

/// One study bundle: the patients and, optionally, detailed readings.
#[derive(Debug, Clone, PartialEq)]
pub struct Cohort {
    /// Where the patients came from.
    pub patients_table: TableName,
    /// Patients whose key cells could be read.
    pub patients: Vec<Patient>,
    /// Which known columns the `patients` table has.
    pub patient_columns: ColumnSet,
    /// Unknown columns of `patients`, kept in the order found.
    pub patient_extra_columns: Vec<String>,
    /// Hand readings, when given.
    pub hand_readings: Option<Readings<HandReading>>,
    /// Spine readings, when given.
    pub spine_readings: Option<Readings<SpineReading>>,
    /// Identifiers of every `patients` row, including rows whose other key
    /// cells were unreadable, so readings for them are not called unknown.
    pub all_patient_ids: Vec<String>,
}

impl Cohort {
    /// The patient with this id.
    pub fn patient(&self, id: &str) -> Option<&Patient> {
        self.patients.iter().find(|p| p.patient_id == id)
    }
}

#[cfg(test)]
mod missing_tests {
    use super::*;
    use crate::codes::{Sex, Subset};

    #[test]
    fn a_record_names_each_value_the_analyses_lack() {
        let mut p = Patient::new(2, "N1", Sex::Female, Subset::Limited);
        let names = |p: &Patient| -> Vec<String> {
            p.missing_values()
                .into_iter()
                .map(MissingValue::columns)
                .collect()
        };
        assert_eq!(
            names(&p),
            [
                "age_years or birth_date",
                "onset_date or disease_duration_years",
                "hand_xray_date",
                "ct_date",
                "ct_type",
                "digital_ulcers",
                "ild_ct",
                "pah",
                "death",
            ]
        );
        let day = NaiveDate::from_ymd_opt(2015, 4, 1);
        p.birth_date = day;
        p.disease_duration_years = Some(4.0);
        p.hand_xray_date = day;
        p.ct_date = day;
        p.ct_type = Some(crate::codes::CtType::Thoracic);
        p.digital_ulcers = Some(false);
        p.ild_ct = Some(true);
        p.pah = Some(false);
        p.death = Some(true);
        assert_eq!(names(&p), ["death_date"], "a death without its date");
        p.death_date = day;
        assert!(names(&p).is_empty());
    }
}
