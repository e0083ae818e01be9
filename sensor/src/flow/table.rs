//! The per-worker flow table: a slab of flows indexed by a hash table of
//! precomputed symmetric hashes. One table per worker, so no locks.
//!
//! Expiry walks the slab incrementally (a bounded number of slots per call),
//! so no packet pays for a full sweep. When the table is full, the least
//! recently seen flow among a small window of slots is evicted and counted.

use hashbrown::HashTable;

use super::key::FlowKey;

/// How a flow ended, for the EVE `flow.reason` field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndReason {
    Timeout,
    /// Evicted to make room: the table was full.
    Evicted,
    /// End of input (replay finished) or shutdown.
    Shutdown,
}

impl EndReason {
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::Timeout => "timeout",
            EndReason::Evicted => "forced",
            EndReason::Shutdown => "shutdown",
        }
    }
}

/// Slab entry: the flow, or a free slot.
pub struct Slot<F> {
    pub key: FlowKey,
    pub hash: u64,
    pub last_ns: u64,
    pub flow: Option<F>,
}

/// Flow table with a hard size bound.
pub struct FlowTable<F> {
    slots: Vec<Slot<F>>,
    free: Vec<u32>,
    index: HashTable<u32>,
    max: usize,
    cursor: usize,
    len: usize,
}

/// Result of a lookup.
pub enum Lookup {
    /// Slot of an existing flow, and when it was last seen before this call.
    Found(u32, u64),
    Created(u32),
}

impl<F> Default for FlowTable<F> {
    /// An empty table with the smallest bound (placeholder while the real
    /// table is borrowed out).
    fn default() -> Self {
        FlowTable {
            slots: Vec::new(),
            free: Vec::new(),
            index: HashTable::new(),
            max: 16,
            cursor: 0,
            len: 0,
        }
    }
}

impl<F> FlowTable<F> {
    pub fn new(max: usize) -> Self {
        let max = max.max(16);
        FlowTable {
            slots: Vec::new(),
            free: Vec::new(),
            index: HashTable::with_capacity(max.min(1 << 16)),
            max,
            cursor: 0,
            len: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn capacity(&self) -> usize {
        self.max
    }

    #[inline]
    pub fn get_mut(&mut self, idx: u32) -> Option<&mut F> {
        self.slots.get_mut(idx as usize)?.flow.as_mut()
    }

    #[inline]
    pub fn slot_mut(&mut self, idx: u32) -> Option<&mut Slot<F>> {
        self.slots.get_mut(idx as usize)
    }

    /// Find the flow for `key`, or create it with `make`. When the table is
    /// full, `evict` receives the evicted flow first.
    #[inline]
    pub fn lookup_or_insert(
        &mut self,
        key: &FlowKey,
        hash: u64,
        now_ns: u64,
        make: impl FnOnce() -> F,
        evict: &mut dyn FnMut(FlowKey, F),
    ) -> Lookup {
        let slots = &self.slots;
        if let Some(&idx) = self.index.find(hash, |&i| {
            slots[i as usize].key == *key && slots[i as usize].flow.is_some()
        }) {
            let s = &mut self.slots[idx as usize];
            let prev = s.last_ns;
            s.last_ns = prev.max(now_ns);
            return Lookup::Found(idx, prev);
        }
        if self.len >= self.max {
            self.evict_one(evict);
        }
        let idx = match self.free.pop() {
            Some(i) => i,
            None => {
                self.slots.push(Slot {
                    key: *key,
                    hash,
                    last_ns: now_ns,
                    flow: None,
                });
                (self.slots.len() - 1) as u32
            }
        };
        let slot = &mut self.slots[idx as usize];
        slot.key = *key;
        slot.hash = hash;
        slot.last_ns = now_ns;
        slot.flow = Some(make());
        let slots = &self.slots;
        self.index
            .insert_unique(hash, idx, |&i| slots[i as usize].hash);
        self.len += 1;
        Lookup::Created(idx)
    }

    /// Remove the flow in slot `idx`.
    pub fn remove(&mut self, idx: u32) -> Option<(FlowKey, F)> {
        let slot = self.slots.get_mut(idx as usize)?;
        let flow = slot.flow.take()?;
        let key = slot.key;
        let hash = slot.hash;
        if let Ok(entry) = self.index.find_entry(hash, |&i| i == idx) {
            entry.remove();
        }
        self.free.push(idx);
        self.len -= 1;
        Some((key, flow))
    }

    fn evict_one(&mut self, evict: &mut dyn FnMut(FlowKey, F)) {
        // Approximate LRU: the stalest of up to 64 occupied slots after the
        // cursor.
        let n = self.slots.len();
        if n == 0 {
            return;
        }
        let mut best: Option<(u32, u64)> = None;
        let mut seen = 0;
        let mut i = self.cursor % n;
        for _ in 0..n {
            let s = &self.slots[i];
            if s.flow.is_some() {
                if best.is_none_or(|(_, t)| s.last_ns < t) {
                    best = Some((i as u32, s.last_ns));
                }
                seen += 1;
                if seen >= 64 {
                    break;
                }
            }
            i = (i + 1) % n;
        }
        self.cursor = i;
        if let Some((idx, _)) = best {
            if let Some((k, f)) = self.remove(idx) {
                evict(k, f);
            }
        }
    }

    /// Examine up to `budget` slots from the sweep cursor and end every flow
    /// for which `expired(slot)` says so.
    pub fn sweep(
        &mut self,
        budget: usize,
        expired: &mut dyn FnMut(&Slot<F>) -> bool,
        end: &mut dyn FnMut(FlowKey, F),
    ) {
        let n = self.slots.len();
        if n == 0 {
            return;
        }
        for _ in 0..budget.min(n) {
            let i = self.cursor % n;
            self.cursor = i + 1;
            let s = &self.slots[i];
            if s.flow.is_some() && expired(s) {
                if let Some((k, f)) = self.remove(i as u32) {
                    end(k, f);
                }
            }
        }
    }

    /// Every live flow with its key.
    pub fn iter(&self) -> impl Iterator<Item = (&FlowKey, &F)> {
        self.slots
            .iter()
            .filter_map(|s| s.flow.as_ref().map(|f| (&s.key, f)))
    }

    /// End every flow (end of input, shutdown).
    pub fn drain(&mut self, end: &mut dyn FnMut(FlowKey, F)) {
        for i in 0..self.slots.len() {
            if let Some((k, f)) = self.remove(i as u32) {
                end(k, f);
            }
        }
        self.slots.clear();
        self.free.clear();
        self.index.clear();
        self.cursor = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u16) -> FlowKey {
        FlowKey {
            lo_addr: [0; 16],
            hi_addr: [1; 16],
            lo_port: n,
            hi_port: 80,
            vlan: 0,
            proto: 6,
            v6: false,
        }
    }

    #[test]
    fn insert_find_remove() {
        let mut t: FlowTable<u32> = FlowTable::new(100);
        let k = key(1);
        let mut never = |_: FlowKey, _: u32| panic!("no eviction expected");
        assert!(matches!(
            t.lookup_or_insert(&k, k.hash(), 1, || 7, &mut never),
            Lookup::Created(0)
        ));
        assert!(matches!(
            t.lookup_or_insert(&k, k.hash(), 2, || 8, &mut never),
            Lookup::Found(0, 1)
        ));
        assert_eq!(t.get_mut(0), Some(&mut 7));
        assert_eq!(t.len(), 1);
        assert_eq!(t.remove(0).map(|(_, f)| f), Some(7));
        assert!(t.is_empty());
        // The slot is reused.
        assert!(matches!(
            t.lookup_or_insert(&key(2), key(2).hash(), 3, || 9, &mut never),
            Lookup::Created(0)
        ));
    }

    #[test]
    fn full_table_evicts_the_stalest() {
        let mut t: FlowTable<u16> = FlowTable::new(16);
        let mut evicted = Vec::new();
        for n in 0..16u16 {
            let k = key(n);
            // Flow 5 is the oldest.
            let ts = if n == 5 { 0 } else { 100 + n as u64 };
            t.lookup_or_insert(&k, k.hash(), ts, || n, &mut |_, f| evicted.push(f));
        }
        assert!(evicted.is_empty());
        let k = key(99);
        t.lookup_or_insert(&k, k.hash(), 500, || 99, &mut |_, f| evicted.push(f));
        assert_eq!(evicted, vec![5]);
        assert_eq!(t.len(), 16);
    }

    #[test]
    fn sweep_and_drain() {
        let mut t: FlowTable<u16> = FlowTable::new(100);
        for n in 0..10u16 {
            let k = key(n);
            t.lookup_or_insert(&k, k.hash(), n as u64, || n, &mut |_, _| {});
        }
        let mut ended = Vec::new();
        t.sweep(100, &mut |s| s.last_ns < 5, &mut |_, f| ended.push(f));
        ended.sort();
        assert_eq!(ended, vec![0, 1, 2, 3, 4]);
        ended.clear();
        t.drain(&mut |_, f| ended.push(f));
        assert_eq!(ended.len(), 5);
        assert!(t.is_empty());
    }
}
