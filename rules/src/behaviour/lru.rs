//! A bounded map that forgets its least recently used entries first.
//!
//! Entries live in one vector linked in recency order (indices, not
//! pointers); a hash map finds an entry's slot. Touching, inserting and
//! evicting are O(1); removal keeps the vector dense by moving the last
//! entry into the freed slot.

use std::collections::HashMap;
use std::hash::Hash;

const NIL: u32 = u32::MAX;

struct Slot<K, V> {
    key: K,
    val: V,
    /// Towards the most recent.
    prev: u32,
    /// Towards the least recent.
    next: u32,
}

pub(crate) struct Lru<K, V> {
    map: HashMap<K, u32, foldhash::fast::RandomState>,
    slots: Vec<Slot<K, V>>,
    /// Most recently used.
    head: u32,
    /// Least recently used.
    tail: u32,
    cap: usize,
}

impl<K: Hash + Eq + Copy, V> Lru<K, V> {
    /// A map holding at most `cap` entries (at least 1).
    pub fn new(cap: usize) -> Lru<K, V> {
        Lru {
            map: HashMap::default(),
            slots: Vec::new(),
            head: NIL,
            tail: NIL,
            cap: cap.clamp(1, NIL as usize - 1),
        }
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// The entry of `key`, made the most recent; created with `make` when
    /// absent, evicting the least recent entry first when full (returned).
    pub fn get_or_insert_with(
        &mut self,
        key: K,
        make: impl FnOnce() -> V,
    ) -> (&mut V, Option<(K, V)>) {
        if let Some(&i) = self.map.get(&key) {
            self.touch(i);
            return (&mut self.slots[i as usize].val, None);
        }
        let evicted = if self.slots.len() >= self.cap {
            self.pop_oldest()
        } else {
            None
        };
        let i = self.slots.len() as u32;
        self.slots.push(Slot {
            key,
            val: make(),
            prev: NIL,
            next: self.head,
        });
        self.link_front(i);
        self.map.insert(key, i);
        (&mut self.slots[i as usize].val, evicted)
    }

    /// The entry of `key`, made the most recent.
    pub fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        let i = *self.map.get(key)?;
        self.touch(i);
        Some(&mut self.slots[i as usize].val)
    }

    /// The least recently used entry.
    pub fn oldest(&self) -> Option<(&K, &V)> {
        self.slots.get(self.tail as usize).map(|s| (&s.key, &s.val))
    }

    /// Remove and return the least recently used entry.
    pub fn pop_oldest(&mut self) -> Option<(K, V)> {
        if self.tail == NIL {
            return None;
        }
        let key = self.slots[self.tail as usize].key;
        self.remove(&key).map(|v| (key, v))
    }

    pub fn remove(&mut self, key: &K) -> Option<V> {
        let i = self.map.remove(key)?;
        self.unlink(i);
        let last = self.slots.len() as u32 - 1;
        if i != last {
            // Move the last slot into `i` and repair the links to it.
            let (prev, next, moved_key) = {
                let s = &self.slots[last as usize];
                (s.prev, s.next, s.key)
            };
            if prev != NIL {
                self.slots[prev as usize].next = i;
            } else {
                self.head = i;
            }
            if next != NIL {
                self.slots[next as usize].prev = i;
            } else {
                self.tail = i;
            }
            self.map.insert(moved_key, i);
        }
        Some(self.slots.swap_remove(i as usize).val)
    }

    fn touch(&mut self, i: u32) {
        if self.head != i {
            self.unlink(i);
            self.link_front(i);
        }
    }

    fn unlink(&mut self, i: u32) {
        let (prev, next) = {
            let s = &self.slots[i as usize];
            (s.prev, s.next)
        };
        if prev != NIL {
            self.slots[prev as usize].next = next;
        } else {
            self.head = next;
        }
        if next != NIL {
            self.slots[next as usize].prev = prev;
        } else {
            self.tail = prev;
        }
    }

    fn link_front(&mut self, i: u32) {
        let old = self.head;
        {
            let s = &mut self.slots[i as usize];
            s.prev = NIL;
            s.next = old;
        }
        if old != NIL {
            self.slots[old as usize].prev = i;
        } else {
            self.tail = i;
        }
        self.head = i;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_least_recent_and_stays_consistent() {
        let mut l: Lru<u32, u32> = Lru::new(3);
        for k in 0..3 {
            l.get_or_insert_with(k, || k * 10);
        }
        // Touch 0: now 1 is the oldest.
        assert_eq!(*l.get_or_insert_with(0, || 99).0, 0);
        let (_, ev) = l.get_or_insert_with(3, || 30);
        assert_eq!(ev, Some((1, 10)));
        assert_eq!(l.oldest().map(|(k, _)| *k), Some(2));
        assert_eq!(l.remove(&0), Some(0));
        assert_eq!(l.len(), 2);
        assert_eq!(l.pop_oldest(), Some((2, 20)));
        assert_eq!(l.pop_oldest(), Some((3, 30)));
        assert_eq!(l.len(), 0);
        assert!(l.pop_oldest().is_none());
    }

    #[test]
    fn random_operations_match_a_model() {
        let mut l: Lru<u16, u64> = Lru::new(50);
        let mut model: Vec<(u16, u64)> = Vec::new(); // most recent last
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for step in 0..20_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let k = (x % 97) as u16;
            if x.is_multiple_of(5) {
                let got = l.remove(&k);
                let want = model
                    .iter()
                    .position(|e| e.0 == k)
                    .map(|p| model.remove(p).1);
                assert_eq!(got, want);
            } else {
                let (v, ev) = l.get_or_insert_with(k, || step);
                let v = *v;
                let want_ev = if let Some(p) = model.iter().position(|e| e.0 == k) {
                    let e = model.remove(p);
                    model.push(e);
                    None
                } else {
                    let ev = (model.len() >= 50).then(|| model.remove(0));
                    model.push((k, step));
                    ev
                };
                assert_eq!(ev, want_ev);
                assert_eq!(v, model.last().map(|e| e.1).unwrap_or_default());
            }
            assert_eq!(l.len(), model.len());
            assert_eq!(l.oldest().map(|(k, _)| *k), model.first().map(|e| e.0));
        }
    }
}
