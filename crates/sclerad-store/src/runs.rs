//! Analysis runs: what a run of the analysis plan on a study's data keeps,
//! so that any earlier result can be reopened and reproduced. The run
//! itself (reading the bundle, analysing, rendering) is the caller's; the
//! store keeps its input and outputs, proven like every data row.

use serde::Serialize;

/// A kept run, without its archives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AnalysisRun {
    /// Store identifier.
    pub id: i64,
    /// The study analysed.
    pub study_id: i64,
    /// Who ran it.
    pub actor: String,
    /// When (RFC 3339, UTC).
    pub created_at: String,
    /// The settings, as a settings file (TOML).
    pub settings: String,
    /// The sclerad version that ran it.
    pub software_version: String,
    /// The input bundle's fingerprint, as `sclerad analyze` records it.
    pub input_sha256: String,
    /// SHA-256 of the kept input archive.
    pub input_zip_sha256: String,
    /// SHA-256 of the run's results.json.
    pub results_sha256: String,
    /// SHA-256 of the kept outputs archive.
    pub outputs_sha256: String,
    /// Patients in the input bundle.
    pub patients: i64,
}

/// A run to keep.
#[derive(Debug, Clone)]
pub struct NewAnalysisRun {
    /// The settings, as a settings file (TOML).
    pub settings: String,
    /// The sclerad version that ran it.
    pub software_version: String,
    /// The input bundle's fingerprint.
    pub input_sha256: String,
    /// SHA-256 of results.json.
    pub results_sha256: String,
    /// Patients in the input bundle.
    pub patients: i64,
    /// The input bundle as a zip of its files.
    pub input: Vec<u8>,
    /// Every output file as a zip.
    pub outputs: Vec<u8>,
}

/// Which archive of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunArchive {
    /// The input bundle.
    Input,
    /// The output files.
    Outputs,
}

impl RunArchive {
    /// Its column in `analysis_runs`.
    pub fn column(self) -> &'static str {
        match self {
            RunArchive::Input => "input",
            RunArchive::Outputs => "outputs",
        }
    }
}

/// The most bytes one archive of a run may hold (1 GiB, within both
/// databases' limits for one value).
pub const RUN_ARCHIVE_MAX_BYTES: usize = 1 << 30;
