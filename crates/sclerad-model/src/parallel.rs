//! Splitting work between the cores: [`chunked`] for many small items (the
//! per-patient passes of derive and validate), [`map`] for fewer, unequal
//! jobs (the analysis's comparisons and survival models).

/// Below this many items the work stays on one core.
const PARALLEL_ITEMS: usize = 50_000;

/// `f` over consecutive chunks of `items` on every core, the results
/// concatenated in the order of `items`.
pub fn chunked<T: Sync, R: Send>(items: &[T], f: impl Fn(&[T]) -> Vec<R> + Sync) -> Vec<R> {
    let cores = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 8);
    if cores == 1 || items.len() < PARALLEL_ITEMS {
        return f(items);
    }
    let size = items.len().div_ceil(cores);
    std::thread::scope(|scope| {
        let f = &f;
        let handles: Vec<_> = items
            .chunks(size)
            .map(|chunk| scope.spawn(move || f(chunk)))
            .collect();
        let mut out = Vec::new();
        for h in handles {
            match h.join() {
                Ok(part) => out.extend(part),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        out
    })
}

/// `items.iter().map(f)`, shared between the cores in interleaved order (so
/// each thread gets large and small jobs); the order of the output is that
/// of `items`.
pub fn map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 8);
    if threads == 1 || items.len() < 2 {
        return items.iter().map(&f).collect();
    }
    let mut slots: Vec<Option<R>> = (0..items.len()).map(|_| None).collect();
    std::thread::scope(|scope| {
        let f = &f;
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || {
                    items
                        .iter()
                        .enumerate()
                        .skip(t)
                        .step_by(threads)
                        .map(|(i, item)| (i, f(item)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for h in handles {
            if let Ok(done) = h.join() {
                for (i, r) in done {
                    slots[i] = Some(r);
                }
            }
        }
    });
    // A thread that panicked leaves gaps: compute those here.
    slots
        .into_iter()
        .zip(items)
        .map(|(slot, item)| slot.unwrap_or_else(|| f(item)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::chunked;

    #[test]
    fn chunks_keep_order() {
        let items: Vec<u32> = (0..120_001).collect();
        let doubled = chunked(&items, |c| c.iter().map(|x| x * 2).collect());
        assert_eq!(doubled.len(), items.len());
        assert!(doubled.iter().enumerate().all(|(i, x)| *x == 2 * i as u32));
        assert_eq!(chunked(&[1u8, 2], |c| c.to_vec()), [1, 2]);
    }
}
