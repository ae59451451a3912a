//! `sclerad synth`.

use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use sclerad_synth::{generate, ReadingsMode, SynthOptions};

use crate::cli::{ReadingsArg, SynthArgs};

pub fn run(args: &SynthArgs) -> Result<ExitCode> {
    if args.out.join("patients.csv").exists() && !args.force {
        bail!(
            "{} already holds a bundle (patients.csv); use --force to replace it",
            args.out.display()
        );
    }
    if args.images && matches!(args.readings, ReadingsArg::Summary) {
        bail!("--images draws the lesions where the readings put them: add --readings long");
    }
    let readings = match args.readings {
        ReadingsArg::Summary => ReadingsMode::Summary,
        ReadingsArg::Long => {
            let readers: Vec<String> = args
                .readers
                .iter()
                .map(|r| r.trim().to_string())
                .filter(|r| !r.is_empty())
                .collect();
            if readers.is_empty() {
                bail!("--readers needs at least one name");
            }
            ReadingsMode::Long(readers)
        }
    };
    let patients = usize::try_from(args.patients)?;
    let options = SynthOptions {
        patients,
        seed: args.seed,
        readings,
        ..Default::default()
    };
    let cohort = generate(&options);
    sclerad_bundle::write_folder(&cohort, &args.out)?;
    println!(
        "Wrote {} synthetic patients (seed {}) to {}",
        cohort.patients.len(),
        args.seed,
        args.out.display()
    );
    if args.images {
        let files = sclerad_synth::images::write_images(&cohort, &args.out)
            .with_context(|| format!("cannot write the images into {}", args.out.display()))?;
        println!(
            "Wrote {files} DICOM files to {} and their map to {}",
            args.out.join("images").display(),
            args.out.join("images-map.csv").display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
