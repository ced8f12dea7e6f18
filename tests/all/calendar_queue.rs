//! The benchmark's calendar queue against a list searched for its minimum.
use crate::calendar::*;
use proptest::prelude::*;

proptest! {
    /// Scheduling, peeking and popping interleaved, through growth and
    /// shrinking and years with gaps, agrees with a list searched for
    /// its minimum.
    #[test]
    fn matches_a_list(ops in proptest::collection::vec(
        (0u8..4, prop_oneof![0u64..50, 0u64..5_000_000]), 0..600)
    ) {
        let mut q = CalendarQueue::new();
        let mut model: Vec<(u64, usize)> = Vec::new();
        for (i, &(kind, delay)) in ops.iter().enumerate() {
            let next = model.iter().enumerate().min_by_key(|(_, e)| **e).map(|(k, e)| (k, *e));
            match kind {
                0 | 1 => {
                    q.schedule(q.now() + delay, i);
                    model.push((q.now() + delay, i));
                }
                2 => prop_assert_eq!(q.peek_time(), next.map(|(_, e)| e.0)),
                _ => {
                    let want = next.map(|(k, _)| model.remove(k));
                    prop_assert_eq!(q.pop(), want);
                }
            }
            prop_assert_eq!(q.len(), model.len());
        }
        model.sort();
        let rest: Vec<(u64, usize)> = std::iter::from_fn(|| q.pop()).collect();
        prop_assert_eq!(rest, model);
    }
}
