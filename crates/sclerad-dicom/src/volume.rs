//! A CT series as a volume: slices ordered by their position along the
//! slice normal (not by instance number), Hounsfield units from each
//! slice's modality LUT, and the planes a spine reader needs — an axial
//! slice, a sagittal reformat at true aspect, and thick-slab maximum
//! intensity projections, where calcifications stand out.

use dicom_core::Tag;
use dicom_dictionary_std::tags;
use dicom_object::{FileDicomObject, InMemDicomObject};
use dicom_pixeldata::{ConvertOptions, PixelDecoder, VoiLutOption};

use crate::render::{linear_grey, Rendered, Window};

/// Why instances do not make one volume.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum VolumeError {
    #[error("no slice")]
    Empty,
    #[error("slice {index}: no {what}")]
    Missing { index: usize, what: &'static str },
    #[error("slice {index}: {what} differs from the first slice's")]
    Differs { index: usize, what: &'static str },
    #[error("slices {a} and {b} are at the same position along the normal ({at:.3} mm)")]
    SamePosition { a: usize, b: usize, at: f64 },
    #[error("slice {index}: cannot decode the pixel data: {why}")]
    Decode { index: usize, why: String },
}

/// A plane cut from a volume, in HU, with its pixel size in mm.
#[derive(Debug, Clone, PartialEq)]
pub struct Plane {
    pub width: usize,
    pub height: usize,
    pub hu: Vec<i16>,
    /// Millimetres per pixel across and down.
    pub spacing: (f64, f64),
}

impl Plane {
    /// Grey levels through `window` (`Auto`: soft tissue).
    pub fn render(&self, window: Window) -> Rendered {
        let (c, w) = window.center_width().unwrap_or((40.0, 400.0));
        Rendered {
            width: self.width as u32,
            height: self.height as u32,
            grey: self
                .hu
                .iter()
                .map(|v| linear_grey(*v as f64, c, w))
                .collect(),
        }
    }

    /// The HU at a pixel, if inside.
    pub fn at(&self, x: usize, y: usize) -> Option<i16> {
        (x < self.width && y < self.height).then(|| self.hu[y * self.width + x])
    }
}

/// Slices of one series, ordered from inferior to superior along the
/// slice normal.
#[derive(Debug, Clone)]
pub struct Volume {
    pub rows: usize,
    pub columns: usize,
    /// Position of each slice along the normal, mm, increasing.
    pub positions: Vec<f64>,
    /// Each slice's index among the instances given.
    pub order: Vec<usize>,
    /// Row spacing, column spacing (mm).
    pub pixel_spacing: (f64, f64),
    /// The median distance between consecutive slices (mm).
    pub slice_spacing: f64,
    /// HU, slice after slice, row after row.
    hu: Vec<i16>,
}

/// The numbers of a multi-valued DS element (as parsed, or as one text
/// with backslashes).
fn numbers(obj: &InMemDicomObject, tag: Tag) -> Option<Vec<f64>> {
    let value = obj.get(tag)?.value();
    if let Ok(v) = value.to_multi_float64() {
        return Some(v.to_vec());
    }
    value
        .to_str()
        .ok()?
        .split('\\')
        .map(|n| n.trim().parse::<f64>().ok())
        .collect()
}

/// Where a slice lies along its normal (mm): Image Position (Patient)
/// projected on the cross product of the row and column directions of
/// Image Orientation (Patient). `None` without both.
pub fn slice_position(obj: &InMemDicomObject) -> Option<f64> {
    let o = numbers(obj, tags::IMAGE_ORIENTATION_PATIENT).filter(|v| v.len() == 6)?;
    let p = numbers(obj, tags::IMAGE_POSITION_PATIENT).filter(|v| v.len() == 3)?;
    let n = cross([o[0], o[1], o[2]], [o[3], o[4], o[5]]);
    let d = p[0] * n[0] + p[1] * n[1] + p[2] * n[2];
    d.is_finite().then_some(d)
}

fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

impl Volume {
    /// Assemble `slices` (single-frame instances of one series) into a
    /// volume: same orientation, size and pixel spacing, each at its own
    /// position along the normal.
    pub fn assemble(slices: &[FileDicomObject<InMemDicomObject>]) -> Result<Volume, VolumeError> {
        let first = slices.first().ok_or(VolumeError::Empty)?;
        let geometry = |index: usize, obj: &InMemDicomObject| {
            let missing = |what| VolumeError::Missing { index, what };
            let orientation = numbers(obj, tags::IMAGE_ORIENTATION_PATIENT)
                .filter(|v| v.len() == 6)
                .ok_or(missing("Image Orientation (Patient)"))?;
            let position = numbers(obj, tags::IMAGE_POSITION_PATIENT)
                .filter(|v| v.len() == 3)
                .ok_or(missing("Image Position (Patient)"))?;
            let spacing = numbers(obj, tags::PIXEL_SPACING)
                .filter(|v| v.len() == 2 && v[0] > 0.0 && v[1] > 0.0)
                .ok_or(missing("Pixel Spacing"))?;
            let size = |tag| {
                obj.get(tag)
                    .and_then(|e| e.value().to_int::<u32>().ok())
                    .map(|n| n as usize)
            };
            let rows = size(tags::ROWS).ok_or(missing("Rows"))?;
            let columns = size(tags::COLUMNS).ok_or(missing("Columns"))?;
            Ok::<_, VolumeError>((orientation, position, spacing, rows, columns))
        };
        let (orientation, _, spacing, rows, columns) = geometry(0, first)?;
        let normal = cross(
            [orientation[0], orientation[1], orientation[2]],
            [orientation[3], orientation[4], orientation[5]],
        );
        let mut placed: Vec<(f64, usize)> = Vec::with_capacity(slices.len());
        for (index, obj) in slices.iter().enumerate() {
            let (o, p, s, r, c) = geometry(index, obj)?;
            let differs = |what| VolumeError::Differs { index, what };
            if o.iter()
                .zip(&orientation)
                .any(|(a, b)| (a - b).abs() > 1e-4)
            {
                return Err(differs("Image Orientation (Patient)"));
            }
            if (r, c) != (rows, columns) {
                return Err(differs("the image size"));
            }
            if s.iter().zip(&spacing).any(|(a, b)| (a - b).abs() > 1e-4) {
                return Err(differs("Pixel Spacing"));
            }
            placed.push((
                p[0] * normal[0] + p[1] * normal[1] + p[2] * normal[2],
                index,
            ));
        }
        placed.sort_by(|a, b| a.0.total_cmp(&b.0));
        for w in placed.windows(2) {
            if (w[1].0 - w[0].0).abs() < 1e-3 {
                return Err(VolumeError::SamePosition {
                    a: w[0].1,
                    b: w[1].1,
                    at: w[0].0,
                });
            }
        }
        let per_slice = rows * columns;
        let mut hu = Vec::with_capacity(per_slice * slices.len());
        for (_, index) in &placed {
            let decode = |why: String| VolumeError::Decode { index: *index, why };
            let decoded = slices[*index]
                .decode_pixel_data()
                .map_err(|e| decode(e.to_string()))?;
            let values: Vec<f64> = decoded
                .to_vec_frame_with_options(
                    0,
                    &ConvertOptions::new().with_voi_lut(VoiLutOption::Identity),
                )
                .map_err(|e| decode(e.to_string()))?;
            if values.len() != per_slice {
                return Err(decode(format!(
                    "{} values for {rows}×{columns}",
                    values.len()
                )));
            }
            hu.extend(
                values
                    .iter()
                    .map(|v| v.round().clamp(i16::MIN as f64, i16::MAX as f64) as i16),
            );
        }
        let mut gaps: Vec<f64> = placed.windows(2).map(|w| w[1].0 - w[0].0).collect();
        gaps.sort_by(f64::total_cmp);
        let slice_spacing = gaps.get(gaps.len() / 2).copied().unwrap_or(spacing[0]);
        Ok(Volume {
            rows,
            columns,
            positions: placed.iter().map(|(d, _)| *d).collect(),
            order: placed.iter().map(|(_, i)| *i).collect(),
            pixel_spacing: (spacing[0], spacing[1]),
            slice_spacing,
            hu,
        })
    }

    pub fn slices(&self) -> usize {
        self.positions.len()
    }

    fn value(&self, slice: usize, row: usize, column: usize) -> i16 {
        self.hu[(slice * self.rows + row) * self.columns + column]
    }

    /// Slice `n` (0: the most inferior).
    pub fn axial(&self, n: usize) -> Option<Plane> {
        (n < self.slices()).then(|| {
            let per = self.rows * self.columns;
            Plane {
                width: self.columns,
                height: self.rows,
                hu: self.hu[n * per..(n + 1) * per].to_vec(),
                spacing: (self.pixel_spacing.1, self.pixel_spacing.0),
            }
        })
    }

    /// The sagittal plane through `column`, superior at the top, at true
    /// aspect: as many rows as the series' extent needs at the image's
    /// row spacing, each interpolated between the two nearest slices.
    pub fn sagittal(&self, column: usize) -> Option<Plane> {
        self.sagittal_slab(column, 1)
    }

    /// The maximum over `width` columns centred on `column` (a thick
    /// slab: a calcification off the plane still shows), sagittal as
    /// [`Volume::sagittal`].
    pub fn sagittal_slab(&self, column: usize, width: usize) -> Option<Plane> {
        if column >= self.columns || self.slices() == 0 {
            return None;
        }
        let half = width.max(1) / 2;
        let from = column.saturating_sub(half);
        let to = (column + half).min(self.columns - 1);
        // One column of maxima per slice: rows × slices.
        let n = self.slices();
        let mut cut = vec![i16::MIN; n * self.rows];
        for s in 0..n {
            for r in 0..self.rows {
                let row = &self.hu[(s * self.rows + r) * self.columns..][..self.columns];
                cut[s * self.rows + r] = row[from..=to].iter().copied().max().unwrap_or(i16::MIN);
            }
        }
        let extent = self.positions[n - 1] - self.positions[0];
        let step = self.pixel_spacing.0;
        let height = ((extent / step).round() as usize + 1).max(1);
        let mut hu = Vec::with_capacity(height * self.rows);
        // From the top (the most superior position) down: `s` is the
        // slice at or below the row's position, `s + 1` the one above.
        let mut s = n.saturating_sub(2);
        for y in 0..height {
            let at = self.positions[n - 1] - y as f64 * step;
            while s > 0 && self.positions[s] > at {
                s -= 1;
            }
            let (a, b) = if n == 1 { (0, 0) } else { (s, s + 1) };
            let span = self.positions[b] - self.positions[a];
            let t = if span > 0.0 {
                ((at - self.positions[a]) / span).clamp(0.0, 1.0)
            } else {
                0.0
            };
            for r in 0..self.rows {
                let va = cut[a * self.rows + r] as f64;
                let vb = cut[b * self.rows + r] as f64;
                hu.push((va + (vb - va) * t).round() as i16);
            }
        }
        Some(Plane {
            width: self.rows,
            height,
            hu,
            spacing: (self.pixel_spacing.0, step),
        })
    }

    /// The maximum over the slices within `thickness` mm centred on slice
    /// `n` (an axial thick slab).
    pub fn axial_slab(&self, n: usize, thickness: f64) -> Option<Plane> {
        let centre = *self.positions.get(n)?;
        let per = self.rows * self.columns;
        let mut hu = vec![i16::MIN; per];
        for (s, p) in self.positions.iter().enumerate() {
            if (p - centre).abs() <= thickness / 2.0 || s == n {
                for (out, v) in hu.iter_mut().zip(&self.hu[s * per..(s + 1) * per]) {
                    *out = (*out).max(*v);
                }
            }
        }
        Some(Plane {
            width: self.columns,
            height: self.rows,
            hu,
            spacing: (self.pixel_spacing.1, self.pixel_spacing.0),
        })
    }

    /// The HU at a voxel (slice from the most inferior).
    pub fn at(&self, slice: usize, row: usize, column: usize) -> Option<i16> {
        (slice < self.slices() && row < self.rows && column < self.columns)
            .then(|| self.value(slice, row, column))
    }
}
