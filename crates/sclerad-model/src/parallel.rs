//! Splitting per-patient work between the cores for large cohorts.

/// Below this many items the work stays on one core.
const PARALLEL_ITEMS: usize = 50_000;

/// `f` over consecutive chunks of `items` on every core, the results
/// concatenated in the order of `items`.
pub(crate) fn chunked<T: Sync, R: Send>(items: &[T], f: impl Fn(&[T]) -> Vec<R> + Sync) -> Vec<R> {
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
