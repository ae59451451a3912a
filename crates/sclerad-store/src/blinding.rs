//! Planning blinded worklists: which reader reads which exam, under which
//! pseudonymous code, in which order.
//!
//! Each reader gets every exam once, in an order of their own; a share of
//! the exams is presented a second time under a new code, for intra-reader
//! agreement, mixed among the first presentations of the second half of
//! the list and at least a quarter of the list after its own first
//! presentation. Codes carry no information: they come from the operating
//! system's randomness ([`exam_code`]), never from an identifier or from
//! the generator that orders the list.

use std::collections::HashMap;

use crate::types::{Actor, NewAssignment, ReadingKind, Role};
use crate::{Store, StoreError, StoreResult};

/// A small, good-enough generator (SplitMix64) for worklist orders (codes
/// come from [`exam_code`]). Seed it from the operating system in
/// production ([`Shuffler::from_os`]); tests fix the seed.
#[derive(Debug, Clone)]
pub struct Shuffler(u64);

impl Shuffler {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Self {
        Shuffler(seed)
    }

    /// A generator seeded from the operating system.
    pub fn from_os() -> StoreResult<Self> {
        let mut seed = [0u8; 8];
        getrandom::fill(&mut seed)
            .map_err(|e| StoreError::Backend(format!("no randomness from the OS: {e}")))?;
        Ok(Shuffler(u64::from_le_bytes(seed)))
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        // Lemire's multiply-shift; the bias is below 2^-32 for any list a
        // study can hold.
        ((u128::from(self.next()) * n as u128) >> 64) as usize
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}

/// A pseudonymous exam code from the operating system's randomness: a
/// letter for the modality, a dash, then ten characters of an alphabet
/// without look-alikes (49 random bits), drawn without modulo bias. No code
/// can be predicted from another.
pub fn exam_code(prefix: char) -> StoreResult<String> {
    const ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTVWXYZ23456789";
    let mut code = String::with_capacity(12);
    code.push(prefix);
    code.push('-');
    while code.len() < 12 {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes)
            .map_err(|e| StoreError::Backend(format!("no randomness from the OS: {e}")))?;
        for b in bytes {
            // 240 = 8 × 30: bytes above are dropped so every letter is as likely.
            if b < 240 && code.len() < 12 {
                code.push(ALPHABET[usize::from(b) % ALPHABET.len()] as char);
            }
        }
    }
    Ok(code)
}

/// Plans assignments of `exams` (id and code prefix) to `readers`.
/// `repeat_share` (0–1) of the exams, chosen at random for each reader, are
/// presented again; `next_position` gives each reader's first free position.
///
/// A repeat is slotted in at random among the presentations that come at
/// least a quarter of the list after its first one (and in the second half
/// of the list; at the end when the list is too short for that), so repeats
/// are mixed with first readings instead of forming a tell-tale tail.
pub fn plan(
    exams: &[(i64, char)],
    readers: &[i64],
    repeat_share: f64,
    next_position: &HashMap<i64, i64>,
    rng: &mut Shuffler,
) -> StoreResult<Vec<NewAssignment>> {
    let share = if repeat_share.is_finite() {
        repeat_share.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let n = exams.len();
    let repeats = (share * n as f64).round() as usize;
    let gap = (n / 4).max(1);
    let mut out = Vec::with_capacity(readers.len() * (n + repeats));
    for &reader in readers {
        let mut order: Vec<(i64, char)> = exams.to_vec();
        rng.shuffle(&mut order);
        // (slot, tie-break, exam, prefix, kind): the first reading of the
        // exam at i sits at slot 2i + 1; a repeat goes to an even slot 2j,
        // i.e. just before first reading j, with j ≥ i + gap (or at the end).
        let mut slots: Vec<(usize, usize, i64, char, ReadingKind)> = order
            .iter()
            .enumerate()
            .map(|(i, &(exam, prefix))| (2 * i + 1, 0, exam, prefix, ReadingKind::Primary))
            .collect();
        let mut chosen: Vec<usize> = (0..n).collect();
        rng.shuffle(&mut chosen);
        for &i in chosen.iter().take(repeats) {
            let (exam, prefix) = order[i];
            let earliest = (i + gap).max(n / 2).min(n);
            let j = earliest + rng.below(n - earliest + 1);
            let tie = rng.below(1 << 20);
            slots.push((2 * j, tie, exam, prefix, ReadingKind::Repeat));
        }
        slots.sort_unstable_by_key(|s| (s.0, s.1));
        let start = next_position.get(&reader).copied().unwrap_or(0);
        for (k, (_, _, exam, prefix, kind)) in slots.into_iter().enumerate() {
            out.push(NewAssignment {
                exam_id: exam,
                reader_id: reader,
                code: exam_code(prefix)?,
                position: start + k as i64,
                kind,
            });
        }
    }
    Ok(out)
}

/// Which exams of a study a worklist request covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExamChoice {
    /// Hand radiographs only.
    HandRadiograph,
    /// CTs only.
    Ct,
    /// Both.
    Both,
}

/// The largest share of exams presented a second time.
pub const MAX_REPEAT_SHARE: f64 = 0.5;

/// Checks what a worklist request says before anything is looked up: the
/// repeat share (0–0.5) and the number of readers (1–50).
pub fn check_request(readers: &[String], repeat_share: f64) -> StoreResult<()> {
    if !(0.0..=MAX_REPEAT_SHARE).contains(&repeat_share) {
        return Err(StoreError::invalid(
            "repeat_share",
            format!("between 0 and {MAX_REPEAT_SHARE}"),
        ));
    }
    if readers.is_empty() || readers.len() > 50 {
        return Err(StoreError::invalid("readers", "1 to 50 reader names"));
    }
    Ok(())
}

/// What a worklist request asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct WorklistRequest {
    /// Reader user names.
    pub readers: Vec<String>,
    /// Which exams of each chosen patient.
    pub exams: ExamChoice,
    /// Share (0–0.5) of the exams assigned now presented a second time.
    pub repeat_share: f64,
    /// Only these patients (their ids); every patient of the study when
    /// `None`.
    pub patients: Option<Vec<String>>,
    /// Leave out, for each reader, the exams already on their worklist, so
    /// that a worklist grows by the patients added since; without it such
    /// an exam is refused (`AlreadyExists`) and nothing is assigned.
    pub skip_assigned: bool,
}

impl WorklistRequest {
    /// Every chosen exam of every patient for `readers`, as the first
    /// worklists of a study.
    pub fn all(readers: &[String], exams: ExamChoice, repeat_share: f64) -> Self {
        WorklistRequest {
            readers: readers.to_vec(),
            exams,
            repeat_share,
            patients: None,
            skip_assigned: false,
        }
    }
}

/// Builds blinded worklists in `study_id` for the readers the request
/// names (users with the reader role, each once, none sharing a name with
/// a reader of the study's imported readings, since readings are told
/// apart by reader name): every reader gets every chosen exam of the
/// chosen patients once (with `skip_assigned`, those not on their
/// worklist yet), after what their worklist already holds, in a random
/// order of their own, under codes from the operating system, with
/// `repeat_share` (0–0.5) of them presented again. Returns the number of
/// assignments made; a refused request (`Invalid` naming `readers[i]`,
/// `patients[i]` or `repeat_share`) writes nothing.
pub async fn assign(
    store: &dyn Store,
    actor: &Actor,
    study_id: i64,
    request: &WorklistRequest,
) -> StoreResult<usize> {
    let readers = &request.readers;
    check_request(readers, request.repeat_share)?;
    let users = store.users().await?;
    let readings = store.readings(study_id).await?;
    let imported: std::collections::BTreeSet<&str> = readings
        .iter()
        .filter(|r| matches!(r.kind, ReadingKind::Imported | ReadingKind::Consensus))
        .map(|r| r.reader.as_str())
        .collect();
    let mut reader_ids = Vec::new();
    for (i, r) in readers.iter().enumerate() {
        let field = format!("readers[{i}]");
        let user = users
            .iter()
            .find(|u| &u.name == r)
            .ok_or_else(|| StoreError::invalid(&field, format!("no user named {r:?}")))?;
        if user.role != Role::Reader {
            return Err(StoreError::invalid(field, format!("{r:?} is not a reader")));
        }
        if reader_ids.contains(&user.id) {
            return Err(StoreError::invalid(field, format!("{r:?} is listed twice")));
        }
        if imported.contains(r.as_str()) {
            return Err(StoreError::invalid(
                field,
                format!("the imported readings of this study already have a reader named {r:?}"),
            ));
        }
        reader_ids.push(user.id);
    }
    let patients = store.patients(study_id).await?;
    if let Some(wanted) = &request.patients {
        if wanted.is_empty() {
            return Err(StoreError::invalid(
                "patients",
                "choose at least one patient",
            ));
        }
        let held: std::collections::HashSet<&str> =
            patients.iter().map(|p| p.patient_id.as_str()).collect();
        for (i, id) in wanted.iter().enumerate() {
            if !held.contains(id.as_str()) {
                return Err(StoreError::invalid(
                    format!("patients[{i}]"),
                    format!("no patient {id:?} in this study"),
                ));
            }
        }
    }
    let wanted: Option<std::collections::HashSet<&str>> = request
        .patients
        .as_ref()
        .map(|w| w.iter().map(String::as_str).collect());
    let mut chosen = Vec::new();
    for p in &patients {
        if wanted
            .as_ref()
            .is_some_and(|w| !w.contains(p.patient_id.as_str()))
        {
            continue;
        }
        if request.exams != ExamChoice::Ct {
            chosen.push((p.hand_radiograph.id, 'H'));
        }
        if request.exams != ExamChoice::HandRadiograph {
            chosen.push((p.ct.id, 'C'));
        }
    }
    let mut rng = Shuffler::from_os()?;
    let mut planned = Vec::new();
    for (&id, name) in reader_ids.iter().zip(readers) {
        let list = store.worklist(id).await?;
        let next = HashMap::from([(id, list.last().map_or(0, |w| w.position + 1))]);
        let exams: Vec<(i64, char)> = if request.skip_assigned {
            let held: std::collections::HashSet<i64> = readings
                .iter()
                .filter(|r| r.reader == *name && r.kind == ReadingKind::Primary)
                .map(|r| r.exam_id)
                .collect();
            chosen
                .iter()
                .copied()
                .filter(|(exam, _)| !held.contains(exam))
                .collect()
        } else {
            chosen.clone()
        };
        planned.extend(plan(&exams, &[id], request.repeat_share, &next, &mut rng)?);
    }
    if planned.is_empty() {
        return Ok(0);
    }
    store.create_assignments(actor, study_id, &planned).await
}

/// One reader's progress through a study's worklist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReaderProgress {
    /// The reader.
    pub reader: String,
    /// First presentations assigned, and read.
    pub assigned: usize,
    /// Of those, read.
    pub read: usize,
    /// Repeat presentations assigned.
    pub repeats: usize,
    /// Of those, read.
    pub repeats_read: usize,
}

/// Every reader's progress through their worklist in `study_id`, by name.
pub async fn progress(store: &dyn Store, study_id: i64) -> StoreResult<Vec<ReaderProgress>> {
    let mut by_reader: std::collections::BTreeMap<String, ReaderProgress> = Default::default();
    for r in store.readings(study_id).await? {
        let repeat = match r.kind {
            ReadingKind::Primary => false,
            ReadingKind::Repeat => true,
            ReadingKind::Imported | ReadingKind::Consensus => continue,
        };
        let p = by_reader
            .entry(r.reader.clone())
            .or_insert_with(|| ReaderProgress {
                reader: r.reader.clone(),
                assigned: 0,
                read: 0,
                repeats: 0,
                repeats_read: 0,
            });
        let read = usize::from(r.findings.is_some());
        if repeat {
            p.repeats += 1;
            p.repeats_read += read;
        } else {
            p.assigned += 1;
            p.read += read;
        }
    }
    Ok(by_reader.into_values().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_reader_gets_every_exam_once_plus_repeats_later() {
        let exams: Vec<(i64, char)> = (1..=20).map(|i| (i, 'H')).collect();
        let mut rng = Shuffler::new(7);
        let plan = plan(&exams, &[1, 2], 0.1, &HashMap::from([(2, 5)]), &mut rng).expect("plan");
        assert_eq!(plan.len(), 2 * 22);
        let codes: HashSet<&str> = plan.iter().map(|a| a.code.as_str()).collect();
        assert_eq!(codes.len(), plan.len(), "codes are unique");
        for reader in [1, 2] {
            let mine: Vec<&NewAssignment> = plan.iter().filter(|a| a.reader_id == reader).collect();
            let primary: HashSet<i64> = mine
                .iter()
                .filter(|a| a.kind == ReadingKind::Primary)
                .map(|a| a.exam_id)
                .collect();
            assert_eq!(primary.len(), 20);
            // Every repeat comes after its first presentation, by at least
            // a quarter of the list (5 of 20) unless that is past the end.
            for r in mine.iter().filter(|a| a.kind == ReadingKind::Repeat) {
                let first = mine
                    .iter()
                    .find(|a| a.kind == ReadingKind::Primary && a.exam_id == r.exam_id)
                    .expect("first presentation");
                assert!(r.position > first.position, "{r:?} after {first:?}");
                let room = first.position + 5 <= 21;
                assert!(
                    !room || r.position >= first.position + 5,
                    "{r:?} after {first:?}"
                );
            }
            let positions: HashSet<i64> = mine.iter().map(|a| a.position).collect();
            assert_eq!(positions.len(), 22, "positions are distinct");
        }
        // Over many plans, repeats are not always at the tail.
        let mut again = Shuffler::new(3);
        let mixed = (0..50).any(|_| {
            let p = super::plan(&exams, &[1], 0.2, &HashMap::new(), &mut again).expect("plan");
            p.iter().take(20).any(|a| a.kind == ReadingKind::Repeat)
        });
        assert!(mixed, "repeats are mixed with first readings");
        assert_eq!(
            plan.iter()
                .filter(|a| a.reader_id == 2)
                .map(|a| a.position)
                .min(),
            Some(5)
        );
        // The two readers see different orders.
        let order = |r| -> Vec<i64> {
            plan.iter()
                .filter(|a| a.reader_id == r)
                .map(|a| a.exam_id)
                .collect()
        };
        assert_ne!(order(1), order(2));
        assert!(plan[0].code.starts_with("H-") && plan[0].code.len() == 12);
        let alphabet = "ABCDEFGHJKMNPQRSTVWXYZ23456789";
        assert!(plan
            .iter()
            .all(|a| a.code[2..].chars().all(|c| alphabet.contains(c))));
    }
}
