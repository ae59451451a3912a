//! Rendering a frame for the eye: the modality LUT (Hounsfield units on
//! CT), then a window — a preset, the file's own window or VOI LUT, or one
//! given — to 8 bits, MONOCHROME1 inverted so that dense bone is white,
//! encoded as PNG.

use dicom_object::{FileDicomObject, InMemDicomObject};
use dicom_pixeldata::{ConvertOptions, PixelDecoder, VoiLutOption};

/// How values map to grey levels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Window {
    /// The file's VOI LUT, else its first window, else the frame's range.
    Auto,
    /// CT bone: centre 400 HU, width 1,800.
    Bone,
    /// CT soft tissue: centre 40 HU, width 400.
    Soft,
    /// A window given (centre, width), in the modality LUT's units.
    Custom { center: f64, width: f64 },
}

impl Window {
    /// `auto`, `bone`, `soft` or `CENTER,WIDTH`.
    pub fn parse(text: &str) -> Result<Window, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(Window::Auto),
            "bone" => Ok(Window::Bone),
            "soft" => Ok(Window::Soft),
            other => {
                let bad = || {
                    format!(
                        "window {other:?}: expected auto, bone, soft or CENTER,WIDTH (e.g. 400,1800)"
                    )
                };
                let (c, w) = other.split_once(',').ok_or_else(bad)?;
                let center: f64 = c.trim().parse().map_err(|_| bad())?;
                let width: f64 = w.trim().parse().map_err(|_| bad())?;
                if !(width >= 1.0 && center.is_finite() && width.is_finite()) {
                    return Err(format!("window {other:?}: the width must be at least 1"));
                }
                Ok(Window::Custom { center, width })
            }
        }
    }

    pub(crate) fn center_width(self) -> Option<(f64, f64)> {
        match self {
            Window::Auto => None,
            Window::Bone => Some((400.0, 1800.0)),
            Window::Soft => Some((40.0, 400.0)),
            Window::Custom { center, width } => Some((center, width)),
        }
    }
}

/// A rendered frame: 8-bit grey levels, row after row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub width: u32,
    pub height: u32,
    pub grey: Vec<u8>,
}

/// Why a frame cannot be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("cannot decode the pixel data: {0}")]
    Decode(String),
    #[error("frame {frame} does not exist: the instance has {frames} frame(s), numbered from 0")]
    NoFrame { frame: u32, frames: u32 },
    #[error(
        "photometric interpretation {0} is not rendered yet (MONOCHROME1 and MONOCHROME2 are)"
    )]
    Photometric(String),
    #[error("cannot write the PNG: {0}")]
    Png(String),
}

/// The linear VOI function of PS3.3 C.11.2.1.2.1, to 0–255.
pub(crate) fn linear_grey(value: f64, center: f64, width: f64) -> u8 {
    let low = center - 0.5 - (width - 1.0) / 2.0;
    let high = center - 0.5 + (width - 1.0) / 2.0;
    if value <= low {
        0
    } else if value > high {
        255
    } else {
        (((value - (center - 0.5)) / (width - 1.0) + 0.5) * 255.0).round() as u8
    }
}

/// Render `frame` of `file` through `window`.
pub fn render(
    file: &FileDicomObject<InMemDicomObject>,
    frame: u32,
    window: Window,
) -> Result<Rendered, RenderError> {
    let decoded = file
        .decode_pixel_data()
        .map_err(|e| RenderError::Decode(e.to_string()))?;
    let frames = decoded.number_of_frames();
    if frame >= frames {
        return Err(RenderError::NoFrame { frame, frames });
    }
    let photometric = decoded.photometric_interpretation().as_str().to_string();
    let inverted = match photometric.as_str() {
        "MONOCHROME1" => true,
        "MONOCHROME2" => false,
        other => return Err(RenderError::Photometric(other.to_string())),
    };
    // Modality LUT applied (rescale slope and intercept), no VOI yet.
    let values: Vec<f64> = decoded
        .to_vec_frame_with_options(
            frame,
            &ConvertOptions::new().with_voi_lut(VoiLutOption::Identity),
        )
        .map_err(|e| RenderError::Decode(e.to_string()))?;
    let mut grey: Vec<u8> = match window.center_width() {
        Some((c, w)) => values.iter().map(|v| linear_grey(*v, c, w)).collect(),
        None => auto(&decoded, &values),
    };
    if inverted {
        for g in &mut grey {
            *g = 255 - *g;
        }
    }
    Ok(Rendered {
        width: decoded.columns(),
        height: decoded.rows(),
        grey,
    })
}

/// The window a viewer starts from, as (centre, width) in the modality
/// LUT's units: the file's first window, else the first frame's range.
pub fn initial_window(file: &FileDicomObject<InMemDicomObject>) -> Result<(f64, f64), RenderError> {
    let decoded = file
        .decode_pixel_data()
        .map_err(|e| RenderError::Decode(e.to_string()))?;
    if let Ok(Some(windows)) = decoded.window() {
        if let Some(w) = windows.first().filter(|w| w.width >= 1.0) {
            return Ok((w.center, w.width));
        }
    }
    let values: Vec<f64> = decoded
        .to_vec_frame_with_options(
            0,
            &ConvertOptions::new().with_voi_lut(VoiLutOption::Identity),
        )
        .map_err(|e| RenderError::Decode(e.to_string()))?;
    let (low, high) = values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
            (l.min(*v), h.max(*v))
        });
    if high > low {
        Ok(((low + high) / 2.0, high - low))
    } else {
        Ok((low, 1.0))
    }
}

/// The file's own VOI: its VOI LUT, else its first window, else the
/// frame's range.
fn auto(decoded: &dicom_pixeldata::DecodedPixelData<'_>, values: &[f64]) -> Vec<u8> {
    if let Ok(Some(luts)) = decoded.voi_lut_sequence() {
        if let Some(lut) = luts.first().filter(|l| !l.data.is_empty()) {
            let top = ((1u32 << lut.bits_stored.clamp(1, 16)) - 1) as f64;
            let last = lut.data.len() as i64 - 1;
            return values
                .iter()
                .map(|v| {
                    let i = (v.round() as i64 - lut.min_pixel_value as i64).clamp(0, last);
                    let entry = lut.data.get(i as usize).copied().unwrap_or_default();
                    ((entry as f64 / top).clamp(0.0, 1.0) * 255.0).round() as u8
                })
                .collect();
        }
    }
    if let Ok(Some(windows)) = decoded.window() {
        if let Some(w) = windows.first().filter(|w| w.width >= 1.0) {
            return values
                .iter()
                .map(|v| linear_grey(*v, w.center, w.width))
                .collect();
        }
    }
    let (low, high) = values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
            (l.min(*v), h.max(*v))
        });
    if high.partial_cmp(&low) != Some(std::cmp::Ordering::Greater) {
        return vec![0; values.len()];
    }
    values
        .iter()
        .map(|v| (((v - low) / (high - low)) * 255.0).round() as u8)
        .collect()
}

/// `rendered` as an 8-bit greyscale PNG.
pub fn png(rendered: &Rendered) -> Result<Vec<u8>, RenderError> {
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, rendered.width, rendered.height);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_compression(png::Compression::Fast);
        let mut writer = encoder
            .write_header()
            .map_err(|e| RenderError::Png(e.to_string()))?;
        writer
            .write_image_data(&rendered.grey)
            .map_err(|e| RenderError::Png(e.to_string()))?;
    }
    Ok(out)
}
