//! A calendar queue (R. Brown, 1988): the classic O(1) future event list,
//! measured against the engine's `stacksim::engine::EventQueue` in
//! `cargo bench --bench engine -- queue_hold`. The heap is faster up to some
//! thousands of pending events, the calendar beyond; the engine keeps the
//! heap (`docs/performance.md` says why).
//!
//! Events hash by time into `nb` buckets of `width` ns, a year being
//! `nb x width`; each bucket is kept sorted, and dequeuing walks the buckets
//! from the current one, taking an event only if it falls in the bucket's
//! slot of the current year. The bucket count doubles or halves with the
//! population and the width is re-estimated from the earliest events then,
//! so a bucket holds about one to three events whatever the count.

/// An event with its `(time << 64) | seq` key.
#[derive(Clone, Copy)]
struct Slot<E> {
    key: u128,
    event: E,
}

/// A calendar queue ordered by time, then scheduling order (FIFO at equal
/// times), like `stacksim::engine::EventQueue`.
pub struct CalendarQueue<E> {
    /// Each sorted by descending key: the earliest is at the end.
    buckets: Vec<Vec<Slot<E>>>,
    /// log2 of the bucket width (ns).
    shift: u32,
    /// Bucket being dequeued from, and the end of its slot this year.
    cur: usize,
    top: u64,
    len: usize,
    seq: u64,
    now: u64,
}

impl<E: Copy> Default for CalendarQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

const MIN_BUCKETS: usize = 16;

impl<E: Copy> CalendarQueue<E> {
    /// An empty queue at time zero.
    pub fn new() -> Self {
        let mut q = CalendarQueue {
            buckets: (0..MIN_BUCKETS).map(|_| Vec::new()).collect(),
            shift: 10,
            cur: 0,
            top: 0,
            len: 0,
            seq: 0,
            now: 0,
        };
        q.top = q.slot_end(0);
        q
    }

    /// The current simulated time (ns).
    pub fn now(&self) -> u64 {
        self.now
    }

    /// Number of pending events.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when no event is pending.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    #[inline]
    fn bucket_of(&self, time: u64) -> usize {
        ((time >> self.shift) as usize) & (self.buckets.len() - 1)
    }

    /// The end of the bucket slot holding `time`.
    #[inline]
    fn slot_end(&self, time: u64) -> u64 {
        ((time >> self.shift) + 1).saturating_mul(1 << self.shift)
    }

    /// Schedules `event` at absolute time `time` (never before now).
    pub fn schedule(&mut self, time: u64, event: E) {
        let time = time.max(self.now);
        let key = (u128::from(time) << 64) | u128::from(self.seq);
        self.seq += 1;
        self.push_key(key, event);
    }

    /// Adds an event under its `(time << 64) | seq` key.
    fn push_key(&mut self, key: u128, event: E) {
        // A peek may have moved `cur` ahead of now, to the earliest event;
        // an event before that slot becomes the earliest and `cur` goes back.
        let t = (key >> 64) as u64;
        if t < self.top.saturating_sub(1 << self.shift) {
            self.cur = self.bucket_of(t);
            self.top = self.slot_end(t);
        }
        self.insert(Slot { key, event });
        self.len += 1;
        if self.len > 2 * self.buckets.len() {
            self.resize(self.buckets.len() * 2);
        }
    }

    #[inline]
    fn insert(&mut self, s: Slot<E>) {
        let b = self.bucket_of((s.key >> 64) as u64);
        let v = &mut self.buckets[b];
        // Descending: find the first entry smaller than the new key.
        let at = v.partition_point(|x| x.key > s.key);
        v.insert(at, s);
    }

    /// Removes the earliest event and advances the clock to its time.
    pub fn pop(&mut self) -> Option<(u64, E)> {
        self.pop_key()
            .map(|(key, event)| ((key >> 64) as u64, event))
    }

    /// Time of the next event, if any (finding it moves the scan position,
    /// hence `&mut`).
    pub fn peek_time(&mut self) -> Option<u64> {
        let b = self.locate()?;
        self.buckets[b].last().map(|s| (s.key >> 64) as u64)
    }

    /// Removes the earliest event, returning it with its key.
    fn pop_key(&mut self) -> Option<(u128, E)> {
        let b = self.locate()?;
        let s = self.buckets[b].pop()?;
        self.len -= 1;
        self.now = (s.key >> 64) as u64;
        let nb = self.buckets.len();
        if self.len < nb / 2 && nb > MIN_BUCKETS {
            self.resize(nb / 2);
        }
        Some((s.key, s.event))
    }

    /// Moves `cur` to the bucket holding the earliest event and returns it.
    fn locate(&mut self) -> Option<usize> {
        if self.len == 0 {
            return None;
        }
        let nb = self.buckets.len();
        let mut found = None;
        for _ in 0..nb {
            if let Some(s) = self.buckets[self.cur].last()
                && ((s.key >> 64) as u64) < self.top
            {
                found = Some(self.cur);
                break;
            }
            self.cur = (self.cur + 1) & (nb - 1);
            self.top = self.top.saturating_add(1 << self.shift);
        }
        let b = match found {
            Some(b) => b,
            None => {
                // A whole year empty: the width is too small for how
                // spread out the events are. Re-estimate it, then jump
                // straight to the earliest event.
                self.resize(nb);
                let b = (0..nb)
                    .filter(|&i| !self.buckets[i].is_empty())
                    .min_by_key(|&i| self.buckets[i].last().map(|s| s.key))?;
                let t = self.buckets[b].last().map(|s| (s.key >> 64) as u64)?;
                self.cur = b;
                self.top = self.slot_end(t);
                b
            }
        };
        Some(b)
    }

    /// Rebuilds with `nb` buckets and a width of about three mean gaps
    /// between the earliest pending events (Brown's estimate).
    fn resize(&mut self, nb: usize) {
        let mut all: Vec<Slot<E>> = self.buckets.iter_mut().flat_map(|b| b.drain(..)).collect();
        all.sort_unstable_by_key(|s| s.key);
        let sample = all.len().min(64);
        if sample >= 2 {
            let first = (all[0].key >> 64) as u64;
            let last = (all[sample - 1].key >> 64) as u64;
            let gap = (last - first) / (sample as u64 - 1);
            let width = gap.saturating_mul(3).max(1);
            self.shift = 63 - width.leading_zeros();
        }
        self.buckets = (0..nb).map(|_| Vec::new()).collect();
        // Pushed latest first, every bucket comes out in descending order.
        for s in all.into_iter().rev() {
            let b = self.bucket_of((s.key >> 64) as u64);
            self.buckets[b].push(s);
        }
        self.cur = self.bucket_of(self.now);
        self.top = self.slot_end(self.now);
    }
}
