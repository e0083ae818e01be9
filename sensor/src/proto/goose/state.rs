//! GOOSE sequence tracking: per publisher (source MAC, gocbRef) the last
//! stNum / sqNum / allData fingerprint, and per gocbRef the first MAC seen,
//! in bounded two-generation maps.

use std::collections::HashMap;

use serde::Serialize;

use super::event::GooseEvent;
use super::parser::fnv1a;

/// Entries per generation; each map holds at most twice this.
pub const TRACK_CAP: usize = 4096;

/// One thing a publication did that a well-behaved publisher does not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GooseAnomalyKind {
    /// stNum went backwards (replay or a second, spoofing publisher; also
    /// a publisher restart, which resets stNum to 1).
    StNumDecreased,
    /// stNum unchanged but sqNum is not the previous + 1 (lost frames,
    /// replay or injection).
    SqNumNotIncremented,
    /// stNum increased but allData is identical (injected state change).
    StNumWithoutDataChange,
    /// allData changed but stNum did not (injected values).
    DataChangeWithoutStNum,
    /// The same gocbRef published from another source MAC.
    SecondPublisher,
    /// test / simulation flag set (PDU element or Reserved 1 S bit).
    TestFlag,
    /// timeAllowedtoLive of 0.
    ZeroTtl,
}

impl GooseAnomalyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            GooseAnomalyKind::StNumDecreased => "st_num_decreased",
            GooseAnomalyKind::SqNumNotIncremented => "sq_num_not_incremented",
            GooseAnomalyKind::StNumWithoutDataChange => "st_num_without_data_change",
            GooseAnomalyKind::DataChangeWithoutStNum => "data_change_without_st_num",
            GooseAnomalyKind::SecondPublisher => "second_publisher",
            GooseAnomalyKind::TestFlag => "test_flag",
            GooseAnomalyKind::ZeroTtl => "zero_ttl",
        }
    }
}

/// Format a MAC address `aa:bb:cc:dd:ee:ff`.
pub fn mac_str(m: &[u8; 6]) -> String {
    format!(
        "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        m[0], m[1], m[2], m[3], m[4], m[5]
    )
}

/// What [`GooseTracker::observe`] found wrong with one publication.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GooseAnomaly {
    pub kinds: Vec<GooseAnomalyKind>,
    pub gocb_ref: String,
    pub src_mac: String,
    pub st_num: u32,
    pub sq_num: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prev_st_num: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prev_sq_num: Option<u32>,
    /// The first publisher's MAC, for `second_publisher`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub other_mac: Option<String>,
}

#[derive(Clone, Copy, Debug)]
struct Track {
    st: u32,
    sq: u32,
    hash: u64,
}

/// A map bounded by keeping two generations: when the current one is full
/// it becomes the old one (the previous old one is dropped); hits in the
/// old one move back to the current one.
#[derive(Debug)]
struct Gen<K, V> {
    cur: HashMap<K, V>,
    old: HashMap<K, V>,
    cap: usize,
}

impl<K: std::hash::Hash + Eq + Copy, V: Copy> Gen<K, V> {
    fn new(cap: usize) -> Self {
        Gen {
            cur: HashMap::new(),
            old: HashMap::new(),
            cap,
        }
    }

    fn get(&mut self, k: &K) -> Option<V> {
        if let Some(v) = self.cur.get(k) {
            return Some(*v);
        }
        let v = self.old.remove(k)?;
        self.insert(*k, v);
        Some(v)
    }

    fn insert(&mut self, k: K, v: V) {
        if self.cur.len() >= self.cap && !self.cur.contains_key(&k) {
            self.old = std::mem::take(&mut self.cur);
        }
        self.cur.insert(k, v);
    }

    fn len(&self) -> usize {
        self.cur.len() + self.old.len()
    }
}

/// Tracks GOOSE publishers and reports sequence / identity anomalies.
#[derive(Debug)]
pub struct GooseTracker {
    tracks: Gen<([u8; 6], u64), Track>,
    owners: Gen<u64, [u8; 6]>,
}

impl Default for GooseTracker {
    fn default() -> Self {
        GooseTracker::with_capacity(TRACK_CAP)
    }
}

/// `a` is after `b` in serial-number arithmetic (stNum wraps to 1).
fn newer(a: u32, b: u32) -> bool {
    a != b && a.wrapping_sub(b) < 0x8000_0000
}

impl GooseTracker {
    pub fn new() -> GooseTracker {
        GooseTracker::default()
    }

    /// A tracker holding at most `2 * cap` publishers and gocbRefs.
    pub fn with_capacity(cap: usize) -> GooseTracker {
        GooseTracker {
            tracks: Gen::new(cap.max(1)),
            owners: Gen::new(cap.max(1)),
        }
    }

    /// Publishers and gocbRefs currently tracked.
    pub fn len(&self) -> usize {
        self.tracks.len() + self.owners.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Record one publication from `src_mac`; report what was abnormal.
    /// An exact repeat of the previous frame (same stNum, sqNum and data:
    /// PRP/HSR or span duplicates) is not reported.
    pub fn observe(&mut self, src_mac: [u8; 6], ev: &GooseEvent) -> Option<GooseAnomaly> {
        let gref = fnv1a(ev.gocb_ref.as_bytes());
        let mut kinds = Vec::new();
        let mut other_mac = None;
        match self.owners.get(&gref) {
            None => self.owners.insert(gref, src_mac),
            Some(m) if m != src_mac => {
                kinds.push(GooseAnomalyKind::SecondPublisher);
                other_mac = Some(mac_str(&m));
            }
            Some(_) => {}
        }
        let key = (src_mac, gref);
        let prev = self.tracks.get(&key);
        if let Some(p) = prev {
            if ev.st_num == p.st {
                let dup = ev.sq_num == p.sq && ev.data_hash == p.hash;
                let next =
                    ev.sq_num == p.sq.wrapping_add(1) || (p.sq == u32::MAX && ev.sq_num <= 1);
                if !dup && !next {
                    kinds.push(GooseAnomalyKind::SqNumNotIncremented);
                }
                if ev.data_hash != p.hash {
                    kinds.push(GooseAnomalyKind::DataChangeWithoutStNum);
                }
            } else if newer(ev.st_num, p.st) {
                if ev.data_hash == p.hash {
                    kinds.push(GooseAnomalyKind::StNumWithoutDataChange);
                }
            } else {
                kinds.push(GooseAnomalyKind::StNumDecreased);
            }
        }
        // Always follow the latest frame: after a publisher restart
        // (stNum back to 1) only the first frame is reported.
        self.tracks.insert(
            key,
            Track {
                st: ev.st_num,
                sq: ev.sq_num,
                hash: ev.data_hash,
            },
        );
        if ev.test || ev.simulation {
            kinds.push(GooseAnomalyKind::TestFlag);
        }
        if ev.time_allowed_to_live == 0 {
            kinds.push(GooseAnomalyKind::ZeroTtl);
        }
        if kinds.is_empty() {
            return None;
        }
        Some(GooseAnomaly {
            kinds,
            gocb_ref: ev.gocb_ref.clone(),
            src_mac: mac_str(&src_mac),
            st_num: ev.st_num,
            sq_num: ev.sq_num,
            prev_st_num: prev.map(|p| p.st),
            prev_sq_num: prev.map(|p| p.sq),
            other_mac,
        })
    }
}
