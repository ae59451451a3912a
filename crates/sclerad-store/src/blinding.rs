//! Planning blinded worklists: which reader reads which exam, under which
//! pseudonymous code, in which order.
//!
//! Each reader gets every exam once, in an order of their own; a share of
//! the exams is presented a second time, after all first presentations and
//! under a new code, for intra-reader agreement. Codes carry no
//! information: they are drawn at random, never derived from an identifier.

use std::collections::HashMap;

use crate::types::{NewAssignment, ReadingKind};

/// A small, good-enough generator (SplitMix64) for orders and codes. Seed it
/// from the operating system in production; tests fix the seed.
#[derive(Debug, Clone)]
pub struct Shuffler(u64);

impl Shuffler {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Self {
        Shuffler(seed)
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

    /// A fresh code: a letter for the modality, then ten characters of an
    /// alphabet without look-alikes (50 random bits).
    pub fn code(&mut self, prefix: char) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTVWXYZ23456789";
        let mut code = String::with_capacity(12);
        code.push(prefix);
        code.push('-');
        for _ in 0..10 {
            code.push(ALPHABET[self.below(ALPHABET.len())] as char);
        }
        code
    }
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
) -> Vec<NewAssignment> {
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
                code: rng.code(prefix),
                position: start + k as i64,
                kind,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_reader_gets_every_exam_once_plus_repeats_later() {
        let exams: Vec<(i64, char)> = (1..=20).map(|i| (i, 'H')).collect();
        let mut rng = Shuffler::new(7);
        let plan = plan(&exams, &[1, 2], 0.1, &HashMap::from([(2, 5)]), &mut rng);
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
            let p = super::plan(&exams, &[1], 0.2, &HashMap::new(), &mut again);
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
    }
}
