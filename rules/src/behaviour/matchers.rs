//! The compiled pieces a rule condition is made of: integer sets, value
//! predicates, globs, address sets and time windows. All of them answer
//! without allocating.

use std::net::IpAddr;

use crate::ot::Attr;

/// A set of unsigned integers as sorted, disjoint, non-adjacent inclusive
/// ranges.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct NumSet {
    ranges: Box<[(u64, u64)]>,
}

impl NumSet {
    /// Normalise any list of inclusive ranges (`lo <= hi` each).
    pub fn new(mut ranges: Vec<(u64, u64)>) -> NumSet {
        ranges.sort_unstable();
        let mut out: Vec<(u64, u64)> = Vec::with_capacity(ranges.len());
        for (lo, hi) in ranges {
            match out.last_mut() {
                Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
                _ => out.push((lo, hi)),
            }
        }
        NumSet {
            ranges: out.into_boxed_slice(),
        }
    }

    pub fn contains(&self, x: u64) -> bool {
        self.overlaps(x, x)
    }

    /// True when some member lies in `lo..=hi`.
    pub fn overlaps(&self, lo: u64, hi: u64) -> bool {
        let r = &self.ranges;
        if r.len() <= 8 {
            return r.iter().any(|&(a, b)| a <= hi && lo <= b);
        }
        let i = r.partition_point(|&(_, b)| b < lo);
        i < r.len() && r[i].0 <= hi
    }
}

/// A comparison on a number (`value:` and numeric `attrs:`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Pred {
    Eq(f64),
    Ne(f64),
    Gt(f64),
    Ge(f64),
    Lt(f64),
    Le(f64),
    Range(f64, f64),
}

impl Pred {
    pub fn test(self, x: f64) -> bool {
        match self {
            Pred::Eq(v) => x == v,
            Pred::Ne(v) => x != v,
            Pred::Gt(v) => x > v,
            Pred::Ge(v) => x >= v,
            Pred::Lt(v) => x < v,
            Pred::Le(v) => x <= v,
            Pred::Range(lo, hi) => lo <= x && x <= hi,
        }
    }
}

/// A shell-style pattern: `*` any run of characters, `?` one character,
/// everything else literal; matched against the whole text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Glob {
    Exact(Box<str>),
    Prefix(Box<str>),
    Pattern(Box<[char]>),
}

impl Glob {
    pub fn new(pattern: &str) -> Glob {
        let wild = |c: char| c == '*' || c == '?';
        match pattern.find(wild) {
            None => Glob::Exact(pattern.into()),
            Some(i) if i + 1 == pattern.len() && pattern.ends_with('*') => {
                Glob::Prefix(pattern[..i].into())
            }
            Some(_) => Glob::Pattern(pattern.chars().collect()),
        }
    }

    pub fn matches(&self, text: &str) -> bool {
        match self {
            Glob::Exact(s) => **s == *text,
            Glob::Prefix(p) => text.starts_with(&**p),
            Glob::Pattern(p) => glob_match(p, text),
        }
    }
}

/// Iterative wildcard matching with one backtrack point (the last `*`):
/// O(len(pattern) × len(text)) at worst, no recursion, no allocation.
fn glob_match(p: &[char], text: &str) -> bool {
    let mut pi = 0;
    let mut ti = 0;
    // (pattern index after the last `*`, text index it is retried from)
    let mut star: Option<(usize, usize)> = None;
    while ti < text.len() {
        let Some(c) = text[ti..].chars().next() else {
            return false;
        };
        match p.get(pi) {
            Some('*') => {
                pi += 1;
                star = Some((pi, ti));
            }
            Some(&pc) if pc == '?' || pc == c => {
                pi += 1;
                ti += c.len_utf8();
            }
            _ => match star {
                Some((sp, st)) => {
                    let Some(skip) = text[st..].chars().next() else {
                        return false;
                    };
                    let next = st + skip.len_utf8();
                    pi = sp;
                    ti = next;
                    star = Some((sp, next));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// Function names: exact names and patterns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct NameSet {
    pub globs: Box<[Glob]>,
}

impl NameSet {
    pub fn matches(&self, name: &str) -> bool {
        self.globs.iter().any(|g| g.matches(name))
    }
}

/// One pattern of an `attrs:` entry.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum AttrPat {
    /// `test: true`
    Bool(bool),
    /// `cot: 6`, `cot: "6-7"`, `st_num: ">100"`: numeric test on integer
    /// attributes; the text (`"6"`) also matches string attributes.
    Num(Pred, Glob),
    /// `go_id: "X*"`: string attributes only.
    Text(Glob),
}

impl AttrPat {
    pub fn matches(&self, attr: &Attr) -> bool {
        match (self, attr) {
            (AttrPat::Bool(b), Attr::Bool(a)) => a == b,
            (AttrPat::Num(p, _), Attr::Int(i)) => p.test(*i as f64),
            (AttrPat::Num(_, g) | AttrPat::Text(g), Attr::Str(s)) => g.matches(s),
            _ => false,
        }
    }
}

/// The `status:` condition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct StatusMatch {
    /// `none`: matches a response that succeeded (no status).
    pub none: bool,
    /// Codes (`any` is the whole range).
    pub codes: NumSet,
}

impl StatusMatch {
    pub fn matches(&self, status: Option<u32>) -> bool {
        match status {
            None => self.none,
            Some(s) => self.codes.contains(u64::from(s)),
        }
    }
}

/// An address set as sorted disjoint ranges per family. Built by set
/// algebra at load time (lists, negation, variables), so matching is one
/// search whatever the expression was.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct AddrSet {
    v4: Box<[(u32, u32)]>,
    v6: Box<[(u128, u128)]>,
}

impl AddrSet {
    pub fn from_ranges(v4: &Ranges, v6: &Ranges) -> AddrSet {
        AddrSet {
            v4: v4
                .0
                .iter()
                .map(|&(a, b)| {
                    (
                        a.min(u32::MAX as u128) as u32,
                        b.min(u32::MAX as u128) as u32,
                    )
                })
                .collect(),
            v6: v6.0.clone().into_boxed_slice(),
        }
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match ip {
            IpAddr::V4(a) => search(&self.v4, u32::from(a)),
            IpAddr::V6(a) => search(&self.v6, u128::from(a)),
        }
    }
}

fn search<T: Ord + Copy>(r: &[(T, T)], x: T) -> bool {
    if r.len() <= 4 {
        return r.iter().any(|&(a, b)| a <= x && x <= b);
    }
    let i = r.partition_point(|&(_, b)| b < x);
    i < r.len() && r[i].0 <= x
}

/// Sorted, disjoint inclusive ranges over one address family, for building
/// an [`AddrSet`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Ranges(pub Vec<(u128, u128)>);

impl Ranges {
    pub fn full(max: u128) -> Ranges {
        Ranges(vec![(0, max)])
    }

    pub fn union(&self, other: &Ranges) -> Ranges {
        let mut all: Vec<(u128, u128)> = self.0.iter().chain(&other.0).copied().collect();
        all.sort_unstable();
        let mut out: Vec<(u128, u128)> = Vec::with_capacity(all.len());
        for (lo, hi) in all {
            match out.last_mut() {
                Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
                _ => out.push((lo, hi)),
            }
        }
        Ranges(out)
    }

    /// `self` without the members of `other` (both normalised).
    pub fn minus(&self, other: &Ranges) -> Ranges {
        let mut out = Vec::new();
        for &(lo, hi) in &self.0 {
            let mut cur = lo;
            let mut done = false;
            for &(a, b) in &other.0 {
                if b < cur || a > hi {
                    continue;
                }
                if a > cur {
                    out.push((cur, a - 1));
                }
                match b.checked_add(1) {
                    Some(n) if n <= hi => cur = n,
                    _ => {
                        done = true;
                        break;
                    }
                }
            }
            if !done {
                out.push((cur, hi));
            }
        }
        Ranges(out)
    }
}

/// Days of the week as bits, Monday = bit 0.
pub(crate) const ALL_DAYS: u8 = 0x7f;

/// One `when:` window: hours (any of, in seconds of the day, end exclusive)
/// on the given days. A window that wraps midnight (`22:00-06:00`) belongs
/// to the day it starts on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Window {
    /// Empty: the whole day.
    pub hours: Box<[(u32, u32)]>,
    pub days: u8,
}

impl Window {
    fn matches(&self, weekday: u8, tod: u32) -> bool {
        let on = |d: u8| self.days & (1 << d) != 0;
        if self.hours.is_empty() {
            return on(weekday);
        }
        let yesterday = (weekday + 6) % 7;
        self.hours.iter().any(|&(start, end)| {
            if start < end {
                start <= tod && tod < end && on(weekday)
            } else {
                (tod >= start && on(weekday)) || (tod < end && on(yesterday))
            }
        })
    }
}

/// The `when:` condition: any of its windows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct When {
    pub windows: Box<[Window]>,
}

impl When {
    pub fn matches(&self, ts_ns: u64, utc_offset_s: i32) -> bool {
        let (weekday, tod) = local_time(ts_ns, utc_offset_s);
        self.windows.iter().any(|w| w.matches(weekday, tod))
    }
}

/// Weekday (Monday = 0) and second of the day of a Unix time in nanoseconds
/// shifted by a UTC offset.
pub(crate) fn local_time(ts_ns: u64, utc_offset_s: i32) -> (u8, u32) {
    let secs = (ts_ns / 1_000_000_000) as i64 + i64::from(utc_offset_s);
    let day = secs.div_euclid(86_400);
    let tod = secs.rem_euclid(86_400) as u32;
    // 1970-01-01 was a Thursday (Monday = 0 → Thursday = 3).
    let weekday = (day + 3).rem_euclid(7) as u8;
    (weekday, tod)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numset_merges_and_searches() {
        let s = NumSet::new(vec![(10, 20), (1, 1), (21, 25), (100, 100)]);
        assert_eq!(&*s.ranges, &[(1, 1), (10, 25), (100, 100)]);
        assert!(s.contains(1) && s.contains(25) && !s.contains(26) && !s.contains(0));
        assert!(s.overlaps(26, 100) && !s.overlaps(26, 99));
        let big = NumSet::new((0..50).map(|i| (i * 10, i * 10 + 2)).collect());
        assert!(big.contains(492) && !big.contains(493) && big.overlaps(483, 490));
        assert!(!big.overlaps(493, 1000) && !big.overlaps(483, 489) && !big.contains(u64::MAX));
    }

    #[test]
    fn globs() {
        for (p, t, want) in [
            ("LLN0$*", "LLN0$ST$Mod", true),
            ("LLN0$*", "LLN1$ST", false),
            ("*$Mod", "LLN0$ST$Mod", true),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("a?c", "aéc", true),
            ("*a*b*c*", "xxaxxbxxcxx", true),
            ("*a*b*c*", "xxaxxcxxbxx", false),
            ("", "", true),
            ("*", "", true),
            ("exact", "exact", true),
            ("exact", "exactly", false),
            ("**x", "yyx", true),
        ] {
            assert_eq!(Glob::new(p).matches(t), want, "{p} vs {t}");
        }
    }

    #[test]
    fn ranges_algebra() {
        let a = Ranges(vec![(0, 100)]);
        let b = Ranges(vec![(10, 20), (50, 100)]);
        assert_eq!(a.minus(&b).0, vec![(0, 9), (21, 49)]);
        assert_eq!(
            Ranges::full(u128::MAX)
                .minus(&Ranges(vec![(0, u128::MAX)]))
                .0,
            vec![]
        );
        assert_eq!(
            Ranges(vec![(0, 5)])
                .union(&Ranges(vec![(6, 9), (20, 30)]))
                .0,
            vec![(0, 9), (20, 30)]
        );
        assert_eq!(
            Ranges::full(10).minus(&Ranges(vec![(10, 10)])).0,
            vec![(0, 9)]
        );
    }

    #[test]
    fn local_time_weekdays() {
        // 2024-01-06 was a Saturday; 23:30 UTC.
        let ts = 1_704_583_800u64 * 1_000_000_000;
        assert_eq!(local_time(ts, 0), (5, 23 * 3600 + 1800));
        // +09:00: Sunday 08:30.
        assert_eq!(local_time(ts, 9 * 3600), (6, 8 * 3600 + 1800));
        assert_eq!(local_time(0, -3600), (2, 23 * 3600));
    }
}
