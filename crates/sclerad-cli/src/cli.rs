//! Every command and flag of `sclerad`, defined once; `--help` is generated
//! from these definitions.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Imaging-phenotype cohort studies in systemic sclerosis: validate study
/// bundles of hand radiograph and spinal CT readings.
#[derive(Debug, Parser)]
#[command(name = "sclerad", version, propagate_version = true)]
#[command(
    after_help = "Exit status: 0 success, 1 the bundle has problems, 2 usage or I/O error.\n\nRun 'sclerad help <command>' for a command's options and examples."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a study bundle and list every problem with file, row and column.
    #[command(after_help = VALIDATE_EXAMPLES)]
    Validate(ValidateArgs),
    /// Write a reproducible synthetic cohort as a study bundle.
    #[command(after_help = SYNTH_EXAMPLES)]
    Synth(SynthArgs),
}

const SYNTH_EXAMPLES: &str = "\
The cohort has plausible correlations between lesions and the clinical
picture (calcinosis with PAH, foraminal calcification with death, ...). The
same --seed always gives the same bundle.

Examples:
  sclerad synth --patients 500 --seed 7 --out cohort-500/
  sclerad synth --patients 200 --readings long --out multi-reader/
  sclerad synth --patients 1000000 --out big/ --force";

#[derive(Debug, Args)]
pub struct SynthArgs {
    /// Number of patients.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub patients: u64,

    /// Random seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,

    /// Folder to write the bundle into (created if needed).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,

    /// Lesions as summary columns of patients.csv, or as long-format
    /// hand_readings.csv and spine_readings.csv.
    #[arg(long, value_enum, default_value_t = ReadingsArg::Summary)]
    pub readings: ReadingsArg,

    /// Readers of the long-format readings ('consensus' reads the truth, the
    /// others miss or add lesions now and then).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "rad1,rad2,consensus",
        value_name = "NAMES"
    )]
    pub readers: Vec<String>,

    /// Replace a bundle already in the folder.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReadingsArg {
    /// Lesion columns in patients.csv.
    Summary,
    /// Long-format readings files.
    Long,
}

const VALIDATE_EXAMPLES: &str = "\
A bundle is a folder holding patients.csv (and optionally hand_readings.csv
and spine_readings.csv), a single .csv file read as patients, or an .xlsx
workbook with sheets patients, hand_readings, spine_readings.

Examples:
  sclerad validate nancy-cohort/
  sclerad validate cohort.xlsx --reader consensus
  sclerad validate export.csv --date-format dmy
  sclerad validate nancy-cohort/ --format json > problems.json
  sclerad validate nancy-cohort/ --derived derived.csv

Exit status: 0 no errors (warnings and notes may be listed), 1 the bundle
has errors, 2 usage or I/O error (e.g. the path does not exist).";

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The bundle: a folder, a .csv file or an .xlsx workbook.
    pub bundle: PathBuf,

    #[command(flatten)]
    pub input: InputArgs,

    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,

    /// Also write the derived per-patient variables (age, disease duration,
    /// imaging gap, ACR/EULAR 2013 score, lesion flags, spine_any…) to this
    /// CSV file; written only when the bundle has no errors.
    #[arg(long, value_name = "FILE.csv")]
    pub derived: Option<PathBuf>,
}

/// How a bundle is read; shared by every command that reads one.
#[derive(Debug, Args)]
pub struct InputArgs {
    /// Reader whose readings give the lesion flags (default: 'consensus' if
    /// present, else the only reader).
    #[arg(long, value_name = "NAME")]
    pub reader: Option<String>,

    /// How text dates are written. ISO YYYY-MM-DD is always accepted; 'dmy'
    /// also accepts DD/MM/YYYY. Dates are never guessed.
    #[arg(long, value_enum, default_value_t = DateFormatArg::Iso, value_name = "FORMAT")]
    pub date_format: DateFormatArg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DateFormatArg {
    /// YYYY-MM-DD only.
    Iso,
    /// DD/MM/YYYY as well as YYYY-MM-DD.
    Dmy,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// A table for people.
    Table,
    /// JSON for tools.
    Json,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
