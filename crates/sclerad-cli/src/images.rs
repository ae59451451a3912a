//! `sclerad images`: DICOM instances.

use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use sclerad_dicom::{read, render, Read};

use crate::cli::{ImagesCommand, ImagesRenderArgs};

pub fn run(command: &ImagesCommand) -> Result<ExitCode> {
    match command {
        ImagesCommand::Render(args) => render_file(args),
    }
}

/// Files larger than this are not read (a DICOM instance of a hand
/// radiograph or a CT slice is a few MB; a multi-frame series may be more).
const MAX_FILE: u64 = 2 << 30;

fn render_file(args: &ImagesRenderArgs) -> Result<ExitCode> {
    let path = &args.file;
    let meta =
        std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    if !meta.is_file() {
        bail!("{} is not a regular file", path.display());
    }
    if meta.len() > MAX_FILE {
        bail!(
            "{} is {} bytes, more than the 2 GiB this command reads",
            path.display(),
            meta.len()
        );
    }
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let file = match read(&bytes) {
        Read::Instance(file) => file,
        Read::Skipped(why) | Read::Refused(why) => bail!("{}: {why}", path.display()),
    };
    let rendered = render::render(&file, args.frame, args.window)
        .with_context(|| format!("cannot render {}", path.display()))?;
    let png = render::png(&rendered)?;
    // Written beside, then renamed: never a half-written PNG.
    let part = args.out.with_file_name(format!(
        ".{}.part-{}",
        file_name(&args.out),
        std::process::id()
    ));
    if let Err(e) = std::fs::write(&part, png).and_then(|()| std::fs::rename(&part, &args.out)) {
        let _ = std::fs::remove_file(&part);
        return Err(e).with_context(|| format!("cannot write {}", args.out.display()));
    }
    println!(
        "Wrote {} ({}×{}, frame {}).",
        args.out.display(),
        rendered.width,
        rendered.height,
        args.frame
    );
    Ok(ExitCode::SUCCESS)
}

fn file_name(path: &std::path::Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "image.png".into())
}
