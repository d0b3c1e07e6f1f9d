//! Grouping rows by value: the part of every fit and every scoring run whose cost grows with
//! the number of customers, so it is written for speed.
//!
//! Rows are keyed by the bit patterns of their values (`[u64; K]`) in an open-addressing table
//! (linear probing, load at most 1/4, multiplicative hashing whose top bits depend on every key
//! bit: the f64 patterns of round numbers have all-zero low bits). Work is cut into fixed
//! chunks of [`CHUNK`] rows; each chunk is grouped on its own (distinct keys in order of first
//! appearance, weights summed in row order), then the chunks are merged in chunk order. Chunks
//! may be grouped on several threads, but the chunking and the merge order do not depend on how
//! many there are, so neither does the result — to the bit, weight sums included.

/// Rows per chunk. Fixed: the result (weight sums in particular) depends on it, never on the
/// number of threads.
pub(crate) const CHUNK: usize = 1 << 15;

/// Below this many rows one thread does all the work (starting a thread costs about as much as
/// grouping 10,000 rows).
const PARALLEL_FROM: usize = 1 << 17;

/// Distinct keys and their group numbers; `slots` holds group number + 1 (0 = empty).
pub(crate) struct KeyTable<const K: usize> {
    slots: Vec<u32>,
    keys: Vec<[u64; K]>,
    shift: u32,
}

#[inline]
fn hash<const K: usize>(key: &[u64; K]) -> u64 {
    let mut h = 0u64;
    for &w in key {
        h = (h ^ w).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
    h
}

#[inline(always)]
fn same<const K: usize>(a: &[u64; K], b: &[u64; K]) -> bool {
    let mut d = 0;
    for i in 0..K {
        d |= a[i] ^ b[i];
    }
    d == 0
}

/// Room made up front in a chunk's table and lists: the growth steps (rehash, copies) of a
/// table that reaches this many keys are skipped, for 16 KiB of slots.
const ROOM: usize = 1024;

impl<const K: usize> KeyTable<K> {
    pub(crate) fn new() -> Self {
        Self::with_room(0)
    }

    /// A table that holds `keys` keys (at most [`ROOM`] are planned for) without growing.
    pub(crate) fn with_room(keys: usize) -> Self {
        let keys = keys.min(ROOM);
        let bits = (4 * keys).next_power_of_two().trailing_zeros().max(10);
        KeyTable {
            slots: vec![0; 1 << bits],
            keys: Vec::with_capacity(keys),
            shift: 64 - bits,
        }
    }

    /// Number of distinct keys.
    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }

    /// The distinct keys, in order of insertion.
    pub(crate) fn keys(&self) -> &[[u64; K]] {
        &self.keys
    }

    /// Forget every key, keeping the memory.
    fn clear(&mut self) {
        self.slots.fill(0);
        self.keys.clear();
    }

    /// The group number of `key`, if it is in the table.
    #[inline]
    pub(crate) fn find(&self, key: &[u64; K]) -> Option<u32> {
        let mask = self.slots.len() - 1;
        let mut i = (hash(key) >> self.shift) as usize;
        loop {
            let s = self.slots[i];
            if s == 0 {
                return None;
            }
            if same(&self.keys[(s - 1) as usize], key) {
                return Some(s - 1);
            }
            i = (i + 1) & mask;
        }
    }

    /// The group number of `key`, and whether it is new (then it is `len() − 1`).
    #[inline(always)]
    pub(crate) fn find_or_insert(&mut self, key: [u64; K]) -> (u32, bool) {
        let mask = self.slots.len() - 1;
        let mut i = (hash(&key) >> self.shift) as usize;
        loop {
            let s = self.slots[i];
            if s == 0 {
                break;
            }
            if same(&self.keys[(s - 1) as usize], &key) {
                return (s - 1, false);
            }
            i = (i + 1) & mask;
        }
        self.insert_at(i, key)
    }

    #[inline(never)]
    fn insert_at(&mut self, i: usize, key: [u64; K]) -> (u32, bool) {
        let g = self.keys.len();
        // Fewer distinct keys than rows, and rows fit in memory: u32 suffices for any input a
        // 64-bit machine can hold as rows of several f64 each below 2^32 rows; beyond that the
        // invariant is checked here.
        let g32 = u32::try_from(g + 1).expect("fewer than 2^32 - 1 distinct rows");
        self.slots[i] = g32;
        self.keys.push(key);
        if 4 * self.keys.len() > self.slots.len() {
            self.grow();
        }
        (g32 - 1, true)
    }

    fn grow(&mut self) {
        let bits = 64 - self.shift + 1;
        self.shift = 64 - bits;
        self.slots = vec![0; 1 << bits];
        self.reinsert();
    }

    /// Make the slots match `keys` (set directly), growing as needed.
    fn rebuild(&mut self) {
        let mut bits = 64 - self.shift;
        while (4 * self.keys.len()) as u64 > 1u64 << bits {
            bits += 1;
        }
        self.shift = 64 - bits;
        self.slots = vec![0; 1 << bits];
        self.reinsert();
    }

    fn reinsert(&mut self) {
        let mask = self.slots.len() - 1;
        for (g, key) in self.keys.iter().enumerate() {
            let mut i = (hash(key) >> self.shift) as usize;
            while self.slots[i] != 0 {
                i = (i + 1) & mask;
            }
            self.slots[i] = g as u32 + 1;
        }
    }
}

/// Rows grouped by key. Groups are in order of first appearance; `first[g]` is the first row
/// of group g and `weight[g]` the sum of its rows' weights (chunk by chunk in row order, then
/// the chunks' sums in chunk order).
pub(crate) struct Groups<const K: usize> {
    pub table: KeyTable<K>,
    pub first: Vec<usize>,
    pub weight: Vec<f64>,
    /// Per row, its group (only when asked for).
    pub index: Vec<u32>,
    /// The first row whose weight is negative, infinite or NaN.
    pub bad_weight: Option<usize>,
    /// Whether some row has weight 0.
    pub zero_weight: bool,
}

impl<const K: usize> Groups<K> {
    pub(crate) fn len(&self) -> usize {
        self.table.len()
    }
}

/// What grouping one chunk gives (its rows' groups go to the chunk's slice of the index).
struct Chunk<const K: usize> {
    keys: Vec<[u64; K]>,
    first: Vec<usize>,
    weight: Vec<f64>,
    bad_weight: Option<usize>,
    zero_weight: bool,
}

/// Group `rows` (which start at row `offset`) in `table` (cleared first). `WEIGHTS`: sum and
/// check the weights; `INDEX`: write each row's group (in the chunk's numbering) to `index`.
fn group_chunk<T, const K: usize, const WEIGHTS: bool, const INDEX: bool>(
    rows: &[T],
    offset: usize,
    key: &(impl Fn(&T) -> ([u64; K], f64) + Sync),
    table: &mut KeyTable<K>,
    index: &mut [u32],
) -> Chunk<K> {
    table.clear();
    let room = rows.len().min(ROOM);
    table.keys.reserve(room);
    let mut c = Chunk {
        keys: Vec::new(),
        first: Vec::with_capacity(room),
        weight: Vec::with_capacity(if WEIGHTS { room } else { 0 }),
        bad_weight: None,
        zero_weight: false,
    };
    for (i, r) in rows.iter().enumerate() {
        let (k, w) = key(r);
        let (g, new) = table.find_or_insert(k);
        if new {
            c.first.push(offset + i);
            if WEIGHTS {
                c.weight.push(0.0);
            }
        }
        if WEIGHTS {
            c.weight[g as usize] += w;
            if !(w > 0.0 && w < f64::INFINITY) {
                if w == 0.0 {
                    c.zero_weight = true;
                } else if c.bad_weight.is_none() {
                    c.bad_weight = Some(offset + i);
                }
            }
        }
        if INDEX {
            index[i] = g;
        }
    }
    c.keys = std::mem::take(&mut table.keys);
    c
}

/// One unit of work: a chunk's number, its rows and its slice of the index (empty without
/// `INDEX`).
type Job<'a, T> = (usize, &'a [T], &'a mut [u32]);

/// Group rows by `key` (the row's key and weight). With `WEIGHTS` false the weights are ignored
/// (`weight` stays empty); with `INDEX` true `index` maps every row to its group.
pub(crate) fn group<T: Sync, const K: usize, const WEIGHTS: bool, const INDEX: bool>(
    rows: &[T],
    key: impl Fn(&T) -> ([u64; K], f64) + Sync,
) -> Groups<K> {
    let mut index = vec![0u32; if INDEX { rows.len() } else { 0 }];
    if rows.len() <= CHUNK {
        // One chunk: its table and numbering are the answer.
        let mut table = KeyTable::with_room(rows.len());
        let c = group_chunk::<T, K, WEIGHTS, INDEX>(rows, 0, &key, &mut table, &mut index);
        table.keys = c.keys;
        return Groups {
            table,
            first: c.first,
            weight: c.weight,
            index,
            bad_weight: c.bad_weight,
            zero_weight: c.zero_weight,
        };
    }
    let mut slices: Vec<&mut [u32]> = if INDEX {
        index.chunks_mut(CHUNK).collect()
    } else {
        Vec::new()
    };
    let mut jobs: Vec<Job<'_, T>> = Vec::new();
    for (c, part) in rows.chunks(CHUNK).enumerate() {
        let slice = if INDEX {
            std::mem::take(&mut slices[c])
        } else {
            &mut []
        };
        jobs.push((c, part, slice));
    }
    let threads = if rows.len() < PARALLEL_FROM {
        1
    } else {
        crate::cores().min(jobs.len())
    };
    let run = |list: &mut [Job<'_, T>]| -> Vec<Chunk<K>> {
        let mut table = KeyTable::with_room(CHUNK);
        list.iter_mut()
            .map(|(c, part, slice)| {
                group_chunk::<T, K, WEIGHTS, INDEX>(part, *c * CHUNK, &key, &mut table, slice)
            })
            .collect()
    };
    let results: Vec<Chunk<K>> = if threads <= 1 {
        run(&mut jobs)
    } else {
        // Contiguous runs of chunks per thread, joined in chunk order.
        let per = jobs.len().div_ceil(threads);
        let run = &run;
        std::thread::scope(|s| {
            let handles: Vec<_> = jobs
                .chunks_mut(per)
                .map(|list| s.spawn(move || run(list)))
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().expect("grouping a chunk does not panic"))
                .collect()
        })
    };
    drop(jobs);
    merge::<K, WEIGHTS, INDEX>(results, index)
}

/// Merge chunk results in chunk order (first appearance and weight sums as defined in
/// [`Groups`]), renumbering each chunk's part of `index` from its own groups to the merged ones.
fn merge<const K: usize, const WEIGHTS: bool, const INDEX: bool>(
    chunks: Vec<Chunk<K>>,
    mut index: Vec<u32>,
) -> Groups<K> {
    let mut out = Groups {
        table: KeyTable::new(),
        first: Vec::new(),
        weight: Vec::new(),
        index: Vec::new(),
        bad_weight: None,
        zero_weight: false,
    };
    let mut map = Vec::new();
    for (c, chunk) in chunks.into_iter().enumerate() {
        if c == 0 {
            // The first chunk's numbering is the merged one.
            out.table.keys = chunk.keys;
            out.table.rebuild();
            out.first = chunk.first;
            out.weight = chunk.weight;
            out.bad_weight = chunk.bad_weight;
            out.zero_weight = chunk.zero_weight;
            continue;
        }
        map.clear();
        for (l, k) in chunk.keys.iter().enumerate() {
            let (g, new) = out.table.find_or_insert(*k);
            if new {
                out.first.push(chunk.first[l]);
                if WEIGHTS {
                    out.weight.push(0.0);
                }
            }
            if WEIGHTS {
                out.weight[g as usize] += chunk.weight[l];
            }
            map.push(g);
        }
        if out.bad_weight.is_none() {
            out.bad_weight = chunk.bad_weight;
        }
        out.zero_weight |= chunk.zero_weight;
        let identity = map.iter().enumerate().all(|(l, &g)| l as u32 == g);
        if INDEX && !identity {
            let end = ((c + 1) * CHUNK).min(index.len());
            for g in &mut index[c * CHUNK..end] {
                *g = map[*g as usize];
            }
        }
    }
    out.index = index;
    out
}

/// `index.iter().map(|&j| values[j]).collect()`, written by several threads on large inputs
/// (a plain copy: the result does not depend on their number). On fresh memory the cost is
/// mostly the page faults of the output, which threads take in parallel.
pub fn gather<T: Copy + Default + Send + Sync>(values: &[T], index: &[u32]) -> Vec<T> {
    let threads = if index.len() < PARALLEL_FROM {
        1
    } else {
        crate::cores()
    };
    if threads <= 1 {
        return index.iter().map(|&j| values[j as usize]).collect();
    }
    let mut out = vec![T::default(); index.len()];
    let per = index.len().div_ceil(threads);
    std::thread::scope(|s| {
        for (dst, src) in out.chunks_mut(per).zip(index.chunks(per)) {
            s.spawn(move || {
                for (d, &j) in dst.iter_mut().zip(src) {
                    *d = values[j as usize];
                }
            });
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference: a plain sequential grouping with a std map.
    fn naive(keys: &[([u64; 2], f64)]) -> (Vec<[u64; 2]>, Vec<usize>, Vec<u32>) {
        let mut map = std::collections::HashMap::new();
        let (mut distinct, mut first, mut index) = (Vec::new(), Vec::new(), Vec::new());
        for (i, (k, _)) in keys.iter().enumerate() {
            let g = *map.entry(*k).or_insert_with(|| {
                distinct.push(*k);
                first.push(i);
                distinct.len() as u32 - 1
            });
            index.push(g);
        }
        (distinct, first, index)
    }

    fn data(n: usize, distinct: u64) -> Vec<([u64; 2], f64)> {
        let mut s = 12345u64;
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let v = (s >> 33) % distinct;
                // Round f64s (low bits zero), as real keys are.
                (
                    [(v as f64).to_bits(), ((v % 7) as f64 * 0.5).to_bits()],
                    1.0 + (v % 3) as f64 * 0.25,
                )
            })
            .collect()
    }

    #[test]
    fn chunked_grouping_equals_sequential_grouping() {
        // One chunk, several chunks, several threads; many distinct keys (the table grows).
        for (n, d) in [
            (10, 3),
            (5_000, 700),
            (3 * CHUNK + 17, 50),
            (PARALLEL_FROM + CHUNK + 5, 5_000),
        ] {
            let rows = data(n, d);
            let g = group::<_, 2, true, true>(&rows, |r| *r);
            let (distinct, first, index) = naive(&rows);
            assert_eq!(g.table.keys(), &distinct[..], "n = {n}");
            assert_eq!(g.first, first);
            assert_eq!(g.index, index);
            // Weights are multiples of 1/4: every order of summation is exact.
            let mut w = vec![0.0; distinct.len()];
            for (i, (_, wi)) in rows.iter().enumerate() {
                w[index[i] as usize] += wi;
            }
            assert_eq!(g.weight, w);
            assert_eq!((g.bad_weight, g.zero_weight), (None, false));
            let lookups = group::<_, 2, false, false>(&rows, |r| *r);
            assert_eq!(lookups.table.keys(), g.table.keys());
            assert!(lookups.weight.is_empty() && lookups.index.is_empty());
        }
    }

    #[test]
    fn gather_picks_every_rows_value_on_any_number_of_threads() {
        let values: Vec<f64> = (0..997).map(|v| v as f64 * 0.5).collect();
        for n in [0, 5, PARALLEL_FROM + 3] {
            let index: Vec<u32> = (0..n).map(|i| ((i * 7919) % 997) as u32).collect();
            let got = gather(&values, &index);
            assert_eq!(got.len(), n);
            assert!(got
                .iter()
                .zip(&index)
                .all(|(g, &j)| *g == values[j as usize]));
        }
    }

    #[test]
    fn reports_the_first_bad_weight_and_zero_weights() {
        let mut rows = data(PARALLEL_FROM + 3, 10);
        rows[CHUNK + 4].1 = f64::NAN;
        rows[3 * CHUNK].1 = -1.0;
        rows[7].1 = 0.0;
        let g = group::<_, 2, true, false>(&rows, |r| *r);
        assert_eq!(g.bad_weight, Some(CHUNK + 4));
        assert!(g.zero_weight);
        rows[2].1 = f64::INFINITY;
        assert_eq!(
            group::<_, 2, true, false>(&rows, |r| *r).bad_weight,
            Some(2)
        );
    }
}
