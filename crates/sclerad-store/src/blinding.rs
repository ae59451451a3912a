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
    let repeats = (share * exams.len() as f64).round() as usize;
    let mut out = Vec::with_capacity(readers.len() * (exams.len() + repeats));
    for &reader in readers {
        let mut position = next_position.get(&reader).copied().unwrap_or(0);
        let mut order: Vec<(i64, char)> = exams.to_vec();
        rng.shuffle(&mut order);
        for &(exam, prefix) in &order {
            out.push(NewAssignment {
                exam_id: exam,
                reader_id: reader,
                code: rng.code(prefix),
                position,
                kind: ReadingKind::Primary,
            });
            position += 1;
        }
        // A different random selection and order for the repeats.
        rng.shuffle(&mut order);
        for &(exam, prefix) in order.iter().take(repeats) {
            out.push(NewAssignment {
                exam_id: exam,
                reader_id: reader,
                code: rng.code(prefix),
                position,
                kind: ReadingKind::Repeat,
            });
            position += 1;
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
            let last_primary = mine
                .iter()
                .filter(|a| a.kind == ReadingKind::Primary)
                .map(|a| a.position)
                .max();
            let first_repeat = mine
                .iter()
                .filter(|a| a.kind == ReadingKind::Repeat)
                .map(|a| a.position)
                .min();
            assert!(first_repeat > last_primary);
        }
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
