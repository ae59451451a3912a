//! The image viewer beside the reading forms: an exam's stored,
//! de-identified instances, addressed only through the page that shows
//! them (the reader's worklist code; the adjudicator's exam), rendered on
//! the server as PNG (no codec, WebGL or CDN in the browser).
//!
//! A radiograph is shown at its own window (its VOI LUT or window, else its
//! range), MONOCHROME1 inverted so bone is white, with window/level,
//! invert, zoom and pan. A CT series is assembled into a volume (slices
//! ordered by position along the normal, HU from the modality LUT) and
//! shown as an axial slice beside a sagittal reformat with a level ruler,
//! both with the bone and soft-tissue presets or any window, and thick
//! maximum-intensity slabs; the HU under the cursor is asked of the server.
//!
//! Assembled exams are kept in a small cache ([`ImageCache`]); the slices
//! and planes are rendered per request (about a millisecond each).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Json, Response};
use dicom_object::{FileDicomObject, InMemDicomObject};
use sclerad_dicom::render::{self, Rendered, Window};
use sclerad_dicom::volume::{Plane, Volume};
use sclerad_model::LevelSet;
use sclerad_store::Role;
use serde::Deserialize;

use super::{PageError, Viewer};
use crate::{AppError, AppState};

type Instance = FileDicomObject<InMemDicomObject>;

/// One radiograph of an exam.
pub struct Radiograph {
    file: Instance,
    /// Its SOP Instance UID (de-identified): where a mark was made.
    pub uid: String,
    pub width: u32,
    pub height: u32,
    pub frames: u32,
    /// The window it opens with.
    pub window: (f64, f64),
}

/// A CT series as a volume.
pub struct CtSeries {
    pub volume: Volume,
    /// Each slice's SOP Instance UID, in the volume's order.
    pub uids: Vec<String>,
}

/// An exam's images, ready to render.
pub enum Loaded {
    /// No image stored.
    Empty,
    /// Radiographs.
    Radiographs(Vec<Radiograph>),
    /// A CT series.
    Ct(CtSeries),
    /// Images that cannot be shown, and why.
    Unviewable(String),
}

impl Loaded {
    fn bytes(&self) -> usize {
        match self {
            Loaded::Radiographs(r) => r
                .iter()
                .map(|r| (r.width * r.height * r.frames) as usize * 2)
                .sum(),
            Loaded::Ct(ct) => ct.volume.rows * ct.volume.columns * ct.volume.slices() * 2,
            _ => 0,
        }
    }
}

type Slot = Arc<tokio::sync::OnceCell<Arc<Loaded>>>;

/// Exams assembled recently, the most recent last: at most
/// [`ImageCache::EXAMS`] exams and [`ImageCache::BYTES`] of pixels. Each
/// is kept with the ids of the images it was assembled from, so an exam
/// whose images changed since (an import while the server runs) is
/// assembled again.
#[derive(Default)]
pub struct ImageCache {
    entries: Mutex<VecDeque<(i64, Vec<i64>, Slot)>>,
}

impl ImageCache {
    /// Exams kept.
    pub const EXAMS: usize = 6;
    /// Pixels kept, in bytes (a 500-slice 512 × 512 CT is 262 MB).
    pub const BYTES: usize = 768 << 20;

    fn slot(&self, exam: i64, images: &[i64]) -> Slot {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(i) = entries.iter().position(|(e, _, _)| *e == exam) {
            if let Some(entry) = entries.remove(i) {
                if entry.1 == images {
                    let slot = Arc::clone(&entry.2);
                    entries.push_back(entry);
                    return slot;
                }
            }
        }
        let slot = Slot::default();
        entries.push_back((exam, images.to_vec(), Arc::clone(&slot)));
        // Bounded by count and by the pixels of those loaded.
        let mut total: usize = entries
            .iter()
            .filter_map(|(_, _, s)| s.get().map(|l| l.bytes()))
            .sum();
        while entries.len() > Self::EXAMS || (total > Self::BYTES && entries.len() > 1) {
            if let Some((_, _, old)) = entries.pop_front() {
                total = total.saturating_sub(old.get().map_or(0, |l| l.bytes()));
            }
        }
        slot
    }
}

/// The exam's images, assembled (or from the cache).
pub async fn load(state: &AppState, exam_id: i64) -> Result<Arc<Loaded>, AppError> {
    // The exam's images as stored now (their rows, not their bytes).
    let images = state.store.exam_images(exam_id).await?;
    let ids: Vec<i64> = images.iter().map(|i| i.id).collect();
    let slot = state.images.slot(exam_id, &ids);
    let loaded = slot
        .get_or_try_init(|| async {
            let mut files = Vec::with_capacity(images.len());
            for image in &images {
                let data =
                    state.store.image_data(image.id).await?.ok_or_else(|| {
                        AppError::NotFound("an image of this exam has gone".into())
                    })?;
                files.push((image.clone(), data));
            }
            let built = tokio::task::spawn_blocking(move || assemble(files))
                .await
                .map_err(|e| AppError::Internal(format!("assembling images: {e}")))?;
            Ok::<_, AppError>(Arc::new(built))
        })
        .await?;
    Ok(Arc::clone(loaded))
}

fn assemble(files: Vec<(sclerad_store::Image, Vec<u8>)>) -> Loaded {
    if files.is_empty() {
        return Loaded::Empty;
    }
    let mut read = Vec::with_capacity(files.len());
    for (image, data) in files {
        match sclerad_dicom::read(&data) {
            sclerad_dicom::Read::Instance(file) => read.push((image, *file)),
            sclerad_dicom::Read::Skipped(why) | sclerad_dicom::Read::Refused(why) => {
                return Loaded::Unviewable(format!("a stored image cannot be read: {why}"))
            }
        }
    }
    if read.iter().all(|(i, _)| i.modality == "CT") {
        // The series with the most slices (a scout is one image).
        let mut series: Vec<&str> = read.iter().map(|(i, _)| i.series_uid.as_str()).collect();
        series.sort_unstable();
        series.dedup();
        let biggest = series
            .iter()
            .max_by_key(|s| read.iter().filter(|(i, _)| i.series_uid == **s).count())
            .map(|s| s.to_string())
            .unwrap_or_default();
        let (images, slices): (Vec<_>, Vec<_>) = read
            .into_iter()
            .filter(|(i, _)| i.series_uid == biggest)
            .unzip();
        return match Volume::assemble(&slices) {
            Ok(volume) => {
                let uids = volume
                    .order
                    .iter()
                    .map(|i| images[*i].sop_instance_uid.clone())
                    .collect();
                Loaded::Ct(CtSeries { volume, uids })
            }
            Err(e) => Loaded::Unviewable(format!("the CT series cannot be assembled: {e}")),
        };
    }
    let mut radiographs = Vec::new();
    for (image, file) in read {
        let window = render::initial_window(&file).unwrap_or((2048.0, 4096.0));
        radiographs.push(Radiograph {
            uid: image.sop_instance_uid,
            width: image.columns as u32,
            height: image.rows as u32,
            frames: image.frames.max(1) as u32,
            window,
            file,
        });
    }
    Loaded::Radiographs(radiographs)
}

/// How a view is asked for, in the query of the page and of each image
/// (other fields of the query, such as the hand site, are the page's).
#[derive(Debug, Default, Clone, Deserialize)]
pub struct ViewQuery {
    /// `bone`, `soft`, `auto` or `CENTER,WIDTH`.
    pub window: Option<String>,
    /// Inverted grey levels.
    #[serde(default)]
    pub invert: bool,
    /// The radiograph shown (from 0).
    pub image: Option<usize>,
    /// Its frame.
    pub frame: Option<u32>,
    /// The axial slice shown (0: the most inferior).
    pub slice: Option<usize>,
    /// The image column the sagittal plane passes through.
    pub column: Option<usize>,
    /// Slab thickness, mm (a maximum-intensity projection).
    pub slab: Option<f64>,
}

impl ViewQuery {
    fn window(&self, default: Window) -> Result<Window, AppError> {
        match self.window.as_deref().filter(|w| !w.is_empty()) {
            None => Ok(default),
            Some(w) => Window::parse(w).map_err(|m| AppError::Invalid {
                field: "window".into(),
                message: m,
            }),
        }
    }

    fn slab(&self) -> f64 {
        self.slab
            .filter(|s| s.is_finite())
            .unwrap_or(0.0)
            .clamp(0.0, 100.0)
    }
}

/// A level on the ruler beside the sagittal plane, in mm from its top.
#[derive(Clone)]
pub struct Tick {
    pub label: String,
    /// Its upper and lower edge, and its middle.
    pub top: f64,
    pub bottom: f64,
    pub middle: f64,
}

/// The viewer pane of a page.
#[derive(Clone)]
pub struct Pane {
    /// The page its images hang under (`/read/CODE`).
    pub base: String,
    /// Why nothing is shown, when nothing is.
    pub message: Option<String>,
    pub radiograph: Option<RadiographView>,
    pub ct: Option<CtView>,
    /// The query the pane was drawn with, for its links.
    pub window: String,
    pub invert: bool,
    pub slab: f64,
}

/// A radiograph in the pane.
#[derive(Clone)]
pub struct RadiographView {
    pub count: usize,
    pub image: usize,
    pub uid: String,
    pub width: u32,
    pub height: u32,
    /// The window it opens with (centre, width).
    pub center: f64,
    pub width_window: f64,
}

/// A CT series in the pane.
#[derive(Clone)]
pub struct CtView {
    pub slices: usize,
    pub slice: usize,
    pub uid: String,
    pub rows: usize,
    pub columns: usize,
    pub column: usize,
    /// The sagittal plane's size in mm (anterior–posterior, extent).
    pub ap_mm: f64,
    pub extent_mm: f64,
    /// The current slice, mm from the sagittal plane's top.
    pub at_mm: f64,
    pub ticks: Vec<Tick>,
    /// The current slice's position along the normal (mm).
    pub position: String,
    /// Millimetres per sagittal row (for the script: row → mm).
    pub row_mm: f64,
    /// Each slice's mm from the sagittal top, for the script.
    pub offsets: String,
    /// Each slice's position along the normal (mm), for the script.
    pub positions: String,
    /// Each slice's SOP Instance UID, for the script's marks.
    pub uids: String,
}

impl Pane {
    /// The pane of `loaded`, as `q` asks; `levels` are the CT's covered
    /// levels (the ruler spreads them over the series).
    pub fn new(base: String, loaded: &Loaded, q: &ViewQuery, levels: Option<LevelSet>) -> Pane {
        let mut pane = Pane {
            base,
            message: None,
            radiograph: None,
            ct: None,
            window: q.window.clone().unwrap_or_default(),
            invert: q.invert,
            slab: q.slab(),
        };
        match loaded {
            Loaded::Empty => pane.message = Some("No image is stored for this exam.".into()),
            Loaded::Unviewable(why) => pane.message = Some(why.clone()),
            Loaded::Radiographs(list) => {
                let image = q.image.unwrap_or(0).min(list.len().saturating_sub(1));
                let r = &list[image];
                pane.radiograph = Some(RadiographView {
                    count: list.len(),
                    image,
                    uid: r.uid.clone(),
                    width: r.width,
                    height: r.height,
                    center: r.window.0,
                    width_window: r.window.1,
                });
            }
            Loaded::Ct(ct) => {
                let v = &ct.volume;
                let n = v.slices();
                let slice = q.slice.unwrap_or(n / 2).min(n.saturating_sub(1));
                let step = v.slice_spacing;
                let top = v.positions[n - 1];
                let extent = (top - v.positions[0]).max(step);
                let ticks = ruler(levels, v.positions[0] - step / 2.0, top + step / 2.0, top)
                    .into_iter()
                    .map(|t| Tick {
                        top: t.top.max(0.0),
                        bottom: t.bottom.min(extent),
                        middle: t.middle.clamp(0.0, extent),
                        label: t.label,
                    })
                    .collect();
                let offsets: Vec<String> = v
                    .positions
                    .iter()
                    .map(|p| format!("{:.2}", top - p))
                    .collect();
                pane.ct = Some(CtView {
                    slices: n,
                    slice,
                    uid: ct.uids.get(slice).cloned().unwrap_or_default(),
                    rows: v.rows,
                    columns: v.columns,
                    column: q.column.unwrap_or(v.columns / 2).min(v.columns - 1),
                    ap_mm: v.rows as f64 * v.pixel_spacing.0,
                    extent_mm: extent,
                    at_mm: top - v.positions[slice],
                    ticks,
                    position: format!("{:.1}", v.positions[slice]),
                    row_mm: v.pixel_spacing.0,
                    offsets: offsets.join(" "),
                    positions: v
                        .positions
                        .iter()
                        .map(|p| format!("{p:.1}"))
                        .collect::<Vec<_>>()
                        .join(" "),
                    uids: ct.uids.join(" "),
                });
            }
        }
        pane
    }

    /// The query of this pane at `slice` (clamped), for a plain link.
    pub fn at_slice(&self, slice: i64) -> String {
        let last = self.ct.as_ref().map_or(0, |c| c.slices.saturating_sub(1)) as i64;
        let mut q = vec![format!("slice={}", slice.clamp(0, last))];
        q.extend(self.carried());
        q.join("&")
    }

    /// The query of this pane with the window `window`.
    pub fn with_window(&self, window: &str) -> String {
        let mut q = vec![format!("window={}", super::encode(window))];
        if let Some(ct) = &self.ct {
            q.push(format!("slice={}", ct.slice));
            if self.slab > 0.0 {
                q.push(format!("slab={}", self.slab));
            }
        }
        if let Some(r) = &self.radiograph {
            q.push(format!("image={}", r.image));
        }
        if self.invert {
            q.push("invert=true".into());
        }
        q.join("&")
    }

    /// The query of this pane with a slab of `mm` (0: none).
    pub fn with_slab(&self, mm: u32) -> String {
        let mut q = Vec::new();
        if let Some(ct) = &self.ct {
            q.push(format!("slice={}", ct.slice));
        }
        if !self.window.is_empty() {
            q.push(format!("window={}", super::encode(&self.window)));
        }
        if mm > 0 {
            q.push(format!("slab={mm}"));
        }
        if self.invert {
            q.push("invert=true".into());
        }
        q.join("&")
    }

    /// The query of this pane, inverted or not.
    pub fn inverted(&self) -> String {
        let mut q = Vec::new();
        if let Some(ct) = &self.ct {
            q.push(format!("slice={}", ct.slice));
        }
        if let Some(r) = &self.radiograph {
            q.push(format!("image={}", r.image));
        }
        if !self.window.is_empty() {
            q.push(format!("window={}", super::encode(&self.window)));
        }
        if self.slab > 0.0 {
            q.push(format!("slab={}", self.slab));
        }
        if !self.invert {
            q.push("invert=true".into());
        }
        q.join("&")
    }

    fn carried(&self) -> Vec<String> {
        let mut q = Vec::new();
        if !self.window.is_empty() {
            q.push(format!("window={}", super::encode(&self.window)));
        }
        if self.invert {
            q.push("invert=true".into());
        }
        if self.slab > 0.0 {
            q.push(format!("slab={}", self.slab));
        }
        q
    }

    /// The image query (window, invert, slab) the pane's images carry.
    pub fn image_query(&self) -> String {
        self.carried().join("&")
    }

    /// Whether the pane shows images.
    pub fn shows_images(&self) -> bool {
        self.radiograph.is_some() || self.ct.is_some()
    }
}

/// The covered levels spread evenly over the series' extent (`bottom` to
/// `top`, mm along the normal), the most cranial at the top: an estimate
/// for the reader to check against the anatomy, exact when the series
/// covers the levels from end plate to end plate.
fn ruler(levels: Option<LevelSet>, bottom: f64, top: f64, first_top: f64) -> Vec<Tick> {
    let Some(levels) = levels.filter(|l| !l.is_empty()) else {
        return Vec::new();
    };
    let list: Vec<_> = levels.iter().collect();
    let each = (top - bottom) / list.len() as f64;
    let offset = top - first_top;
    list.iter()
        .enumerate()
        .map(|(i, level)| {
            let t = i as f64 * each - offset;
            Tick {
                label: level.code().to_uppercase(),
                top: t,
                bottom: t + each,
                middle: t + each / 2.0,
            }
        })
        .collect()
}

/// The exam behind a reader's code, or 404.
async fn readers_exam(state: &AppState, viewer: &Viewer, code: &str) -> Result<i64, PageError> {
    viewer.require(Role::Reader)?;
    if !crate::auth::plain_text(code, 200) {
        return Err(AppError::NotFound("no such exam in your worklist".into()).into());
    }
    state
        .store
        .work_item_exam(viewer.user.id, code)
        .await?
        .ok_or_else(|| AppError::NotFound("no such exam in your worklist".into()).into())
}

fn png_response(mut rendered: Rendered, invert: bool) -> Result<Response, PageError> {
    if invert {
        for g in &mut rendered.grey {
            *g = 255 - *g;
        }
    }
    let png = render::png(&rendered).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/png"),
            // Rendered pixels only, no identifier; kept by this browser.
            (header::CACHE_CONTROL, "private, max-age=600"),
        ],
        png,
    )
        .into_response())
}

fn not_here(what: &str) -> PageError {
    AppError::NotFound(format!("this exam has no {what}")).into()
}

/// A radiograph of the exam as PNG.
pub async fn radiograph(
    state: &AppState,
    exam: i64,
    n: usize,
    q: &ViewQuery,
) -> Result<Response, PageError> {
    let loaded = load(state, exam).await?;
    let Loaded::Radiographs(list) = loaded.as_ref() else {
        return Err(not_here("radiograph"));
    };
    let r = list
        .get(n)
        .ok_or_else(|| not_here(&format!("radiograph {n}")))?;
    let window = q.window(Window::Auto)?;
    let frame = q.frame.unwrap_or(0);
    let rendered = render::render(&r.file, frame, window).map_err(|e| AppError::Invalid {
        field: "frame".into(),
        message: e.to_string(),
    })?;
    png_response(rendered, q.invert)
}

/// A plane of the exam's CT as PNG: `axial` slice `index` (a slab of
/// `slab` mm), or the `sagittal` plane through column `index` (a slab as
/// wide).
pub async fn ct_plane(
    state: &AppState,
    exam: i64,
    plane: &str,
    index: usize,
    q: &ViewQuery,
) -> Result<Response, PageError> {
    let loaded = load(state, exam).await?;
    let Loaded::Ct(ct) = loaded.as_ref() else {
        return Err(not_here("CT series"));
    };
    let v = &ct.volume;
    let slab = q.slab();
    let cut: Option<Plane> = match plane {
        "axial" if slab > 0.0 => v.axial_slab(index, slab),
        "axial" => v.axial(index),
        "sagittal" => {
            let width = (slab / v.pixel_spacing.1).round() as usize;
            v.sagittal_slab(index, width.max(1))
        }
        other => return Err(AppError::NotFound(format!("no {other} plane")).into()),
    };
    let cut = cut.ok_or_else(|| not_here(&format!("{plane} plane {index}")))?;
    let window = q.window(Window::Bone)?;
    png_response(cut.render(window), q.invert)
}

/// Where the HU is asked for.
#[derive(Debug, Deserialize)]
pub struct HuQuery {
    plane: String,
    index: usize,
    x: usize,
    y: usize,
}

/// The HU at a pixel of a plane, and the slice it lies in.
pub async fn ct_hu(state: &AppState, exam: i64, q: &HuQuery) -> Result<Response, PageError> {
    let loaded = load(state, exam).await?;
    let Loaded::Ct(ct) = loaded.as_ref() else {
        return Err(not_here("CT series"));
    };
    let v = &ct.volume;
    let (slice, row, column) = match q.plane.as_str() {
        "axial" => (q.index, q.y, q.x),
        "sagittal" => {
            // Row y of the reformat lies y pixel spacings below the top.
            let top = v.positions[v.slices().saturating_sub(1)];
            let at = top - q.y as f64 * v.pixel_spacing.0;
            let slice = v
                .positions
                .iter()
                .enumerate()
                .min_by(|a, b| (a.1 - at).abs().total_cmp(&(b.1 - at).abs()))
                .map_or(0, |(i, _)| i);
            (slice, q.x, q.index)
        }
        _ => return Err(AppError::NotFound("no such plane".into()).into()),
    };
    let hu = v
        .at(slice, row, column)
        .ok_or_else(|| AppError::NotFound("outside the volume".into()))?;
    Ok((
        [(header::CACHE_CONTROL, "private, max-age=600")],
        Json(serde_json::json!({ "hu": hu, "slice": slice, "row": row, "column": column })),
    )
        .into_response())
}

// ---- the reader's routes ----

pub async fn read_radiograph(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((code, n)): Path<(String, usize)>,
    Query(q): Query<ViewQuery>,
) -> Result<Response, PageError> {
    let exam = readers_exam(&state, &viewer, &code).await?;
    radiograph(&state, exam, n, &q).await
}

pub async fn read_ct_plane(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((code, plane, index)): Path<(String, String, usize)>,
    Query(q): Query<ViewQuery>,
) -> Result<Response, PageError> {
    let exam = readers_exam(&state, &viewer, &code).await?;
    ct_plane(&state, exam, &plane, index, &q).await
}

pub async fn read_ct_hu(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(code): Path<String>,
    Query(q): Query<HuQuery>,
) -> Result<Response, PageError> {
    let exam = readers_exam(&state, &viewer, &code).await?;
    ct_hu(&state, exam, &q).await
}

/// The pane for a reader's exam page.
pub async fn reader_pane(
    state: &AppState,
    viewer: &Viewer,
    code: &str,
    q: &ViewQuery,
    levels: Option<LevelSet>,
) -> Result<Pane, PageError> {
    let exam = readers_exam(state, viewer, code).await?;
    let loaded = load(state, exam).await?;
    Ok(Pane::new(
        format!("/read/{}", super::encode(code)),
        &loaded,
        q,
        levels,
    ))
}

// ---- the adjudicator's routes ----

/// The exam of an adjudicator's page (the study must exist; adjudicators
/// see every study's disagreements).
async fn adjudicators_exam(
    state: &AppState,
    viewer: &Viewer,
    study: &str,
    exam: &str,
) -> Result<i64, PageError> {
    viewer.require(Role::Adjudicator)?;
    if state.store.study(study).await?.is_none() {
        return Err(AppError::NotFound(format!("no study {study:?}")).into());
    }
    exam.parse()
        .map_err(|_| AppError::NotFound(format!("no exam {exam:?}")).into())
}

pub async fn adjudicate_radiograph(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((study, exam, n)): Path<(String, String, usize)>,
    Query(q): Query<ViewQuery>,
) -> Result<Response, PageError> {
    let exam = adjudicators_exam(&state, &viewer, &study, &exam).await?;
    radiograph(&state, exam, n, &q).await
}

pub async fn adjudicate_ct_plane(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((study, exam, plane, index)): Path<(String, String, String, usize)>,
    Query(q): Query<ViewQuery>,
) -> Result<Response, PageError> {
    let exam = adjudicators_exam(&state, &viewer, &study, &exam).await?;
    ct_plane(&state, exam, &plane, index, &q).await
}

pub async fn adjudicate_ct_hu(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((study, exam)): Path<(String, String)>,
    Query(q): Query<HuQuery>,
) -> Result<Response, PageError> {
    let exam = adjudicators_exam(&state, &viewer, &study, &exam).await?;
    ct_hu(&state, exam, &q).await
}

/// The pane of an adjudicator's exam page.
pub async fn adjudicator_pane(
    state: &AppState,
    study: &str,
    exam: i64,
    q: &ViewQuery,
    levels: Option<LevelSet>,
) -> Result<Pane, PageError> {
    let loaded = load(state, exam).await?;
    Ok(Pane::new(
        format!("/adjudicate/{}/{exam}", super::encode(study)),
        &loaded,
        q,
        levels,
    ))
}

/// Every reading's marks, for the viewer to draw (JSON safe inside a
/// `<script type="application/json">`): reader, its number (1, 2…),
/// finding key, instance and point.
pub fn reader_marks(readings: &[(String, Vec<sclerad_model::Finding>)]) -> String {
    let mut marks = Vec::new();
    for (n, (reader, findings)) in readings.iter().enumerate() {
        for f in findings {
            if let (Some(key), Some(uid), Some(x), Some(y)) =
                (super::marks::finding_key(f), &f.image_uid, f.x, f.y)
            {
                marks.push(serde_json::json!({
                    "reader": reader, "n": n + 1, "key": key, "uid": uid, "x": x, "y": y,
                }));
            }
        }
    }
    serde_json::Value::Array(marks)
        .to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}
