//! The immutable, query-side [`IocSet`].

use std::net::IpAddr;

use foldhash::{HashMap, HashSet};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use prefix_trie::PrefixMap;

use super::parse::{
    canon_ip, decode_hex, is_ja4, lower_into, split_url_value, strip_host, MAX_DOMAIN_LEN,
};
use super::{Indicator, IocKind, SID_BASE, SID_SPACE};

/// Lookup buffer: a maximal DNS name plus a trailing dot, rounded up.
const NAME_BUF: usize = 256;
const NONE: u32 = u32::MAX;

/// One node of a byte trie over URL paths.
struct PathNode {
    /// (byte, child node), sorted by byte.
    edges: Vec<(u8, u32)>,
    /// Indicator ending here, or `NONE`.
    ind: u32,
}

/// An immutable indicator set: cheap, allocation-free lookups, `Send + Sync`
/// (share it behind an `Arc` and swap on reload).
pub struct IocSet {
    indicators: Vec<Indicator>,
    counts: [usize; IocKind::ALL.len()],
    ip4: HashMap<u32, u32>,
    ip6: HashMap<u128, u32>,
    net4: PrefixMap<Ipv4Net, u32>,
    net6: PrefixMap<Ipv6Net, u32>,
    domains: HashMap<Box<[u8]>, u32>,
    snis: HashMap<Box<[u8]>, u32>,
    /// URL host → root node in `path_nodes`.
    url_hosts: HashMap<Box<[u8]>, u32>,
    /// Root of the trie of path-only URL indicators, or `NONE`.
    url_any: u32,
    path_nodes: Vec<PathNode>,
    ja3: HashMap<[u8; 16], u32>,
    ja4: HashMap<[u8; 36], u32>,
    certs: HashMap<[u8; 20], u32>,
}

/// FNV-1a, 64 bit: a fixed, dependency-free hash so signature ids do not
/// change with library versions or process seeds.
fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for &b in *part {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

/// The id an indicator gets when there is no collision.
pub(crate) fn preferred_sid(kind: IocKind, value: &str) -> u32 {
    let h = fnv1a(&[kind.as_str().as_bytes(), &[0], value.as_bytes()]);
    let folded = (h ^ (h >> 32)) % u64::from(SID_SPACE);
    // folded < SID_SPACE <= u32::MAX - SID_BASE, so this cannot overflow
    SID_BASE + u32::try_from(folded).unwrap_or(0)
}

fn assign_sids(inds: &mut [Indicator]) {
    let mut used: HashSet<u32> = inds
        .iter()
        .map(|i| i.signature_id)
        .filter(|&s| s != 0)
        .collect();
    let mut todo: Vec<(u32, usize)> = inds
        .iter()
        .enumerate()
        .filter(|(_, i)| i.signature_id == 0)
        .map(|(n, i)| (preferred_sid(i.kind, &i.value), n))
        .collect();
    // Order-independent probing: by preferred id, then kind and value.
    todo.sort_unstable_by(|a, b| {
        let (x, y) = (&inds[a.1], &inds[b.1]);
        (a.0, x.kind, &x.value).cmp(&(b.0, y.kind, &y.value))
    });
    for (sid, n) in todo {
        let mut s = sid;
        while !used.insert(s) {
            s = if s >= SID_BASE + (SID_SPACE - 1) {
                SID_BASE
            } else {
                s + 1
            };
        }
        inds[n].signature_id = s;
    }
}

impl IocSet {
    pub(crate) fn from_indicators(mut indicators: Vec<Indicator>) -> IocSet {
        assign_sids(&mut indicators);
        let mut set = IocSet {
            indicators: Vec::new(),
            counts: [0; IocKind::ALL.len()],
            ip4: HashMap::default(),
            ip6: HashMap::default(),
            net4: PrefixMap::new(),
            net6: PrefixMap::new(),
            domains: HashMap::default(),
            snis: HashMap::default(),
            url_hosts: HashMap::default(),
            url_any: NONE,
            path_nodes: Vec::new(),
            ja3: HashMap::default(),
            ja4: HashMap::default(),
            certs: HashMap::default(),
        };
        for (n, ind) in indicators.iter().enumerate() {
            let Ok(idx) = u32::try_from(n) else { break };
            if set.index(ind, idx) {
                set.counts[ind.kind.index()] += 1;
            }
        }
        set.indicators = indicators;
        set
    }

    /// Inserts one (already normalised) indicator; false if unusable.
    fn index(&mut self, ind: &Indicator, idx: u32) -> bool {
        let v = ind.value.as_str();
        match ind.kind {
            IocKind::Ip => match v.parse::<IpAddr>().map(canon_ip) {
                Ok(IpAddr::V4(a)) => {
                    self.ip4.entry(u32::from(a)).or_insert(idx);
                }
                Ok(IpAddr::V6(a)) => {
                    self.ip6.entry(u128::from(a)).or_insert(idx);
                }
                Err(_) => return false,
            },
            IocKind::Cidr => match v.parse::<IpNet>() {
                Ok(IpNet::V4(n)) => {
                    self.net4.entry(n.trunc()).or_insert(idx);
                }
                Ok(IpNet::V6(n)) => {
                    self.net6.entry(n.trunc()).or_insert(idx);
                }
                Err(_) => return false,
            },
            IocKind::Domain => {
                self.domains.entry(v.as_bytes().into()).or_insert(idx);
            }
            IocKind::Sni => {
                self.snis.entry(v.as_bytes().into()).or_insert(idx);
            }
            IocKind::Url => {
                let (host, path) = split_url_value(v);
                let root = if host.is_empty() {
                    if self.url_any == NONE {
                        self.url_any = self.new_node();
                    }
                    self.url_any
                } else if let Some(&r) = self.url_hosts.get(host.as_bytes()) {
                    r
                } else {
                    let r = self.new_node();
                    self.url_hosts.insert(host.as_bytes().into(), r);
                    r
                };
                self.insert_path(root, path.as_bytes(), idx);
            }
            IocKind::Ja3 => match decode_hex::<16>(v) {
                Some(k) => {
                    self.ja3.entry(k).or_insert(idx);
                }
                None => return false,
            },
            IocKind::Ja4 => {
                let mut k = [0u8; 36];
                match lower_into(v, &mut k) {
                    Some(_) if v.len() == 36 => {
                        self.ja4.entry(k).or_insert(idx);
                    }
                    _ => return false,
                }
            }
            IocKind::CertSha1 => match decode_hex::<20>(v) {
                Some(k) => {
                    self.certs.entry(k).or_insert(idx);
                }
                None => return false,
            },
        }
        true
    }

    fn new_node(&mut self) -> u32 {
        let id = u32::try_from(self.path_nodes.len()).unwrap_or(NONE);
        self.path_nodes.push(PathNode {
            edges: Vec::new(),
            ind: NONE,
        });
        id
    }

    fn insert_path(&mut self, root: u32, path: &[u8], idx: u32) {
        let mut node = root;
        for &b in path {
            let edges = &self.path_nodes[node as usize].edges;
            node = match edges.binary_search_by_key(&b, |e| e.0) {
                Ok(p) => edges[p].1,
                Err(p) => {
                    let child = self.new_node();
                    self.path_nodes[node as usize].edges.insert(p, (b, child));
                    child
                }
            };
        }
        let n = &mut self.path_nodes[node as usize];
        if n.ind == NONE {
            n.ind = idx;
        }
    }

    /// Longest indicator path that is a prefix of `path`.
    fn longest_path(&self, root: u32, path: &[u8]) -> Option<u32> {
        let mut node = self.path_nodes.get(root as usize)?;
        let mut best = None;
        for &b in path {
            if node.ind != NONE {
                best = Some(node.ind);
            }
            match node.edges.binary_search_by_key(&b, |e| e.0) {
                Ok(p) => node = &self.path_nodes[node.edges[p].1 as usize],
                Err(_) => return best,
            }
        }
        if node.ind != NONE {
            best = Some(node.ind);
        }
        best
    }

    fn at(&self, idx: u32) -> Option<&Indicator> {
        self.indicators.get(idx as usize)
    }

    /// Number of indicators.
    pub fn len(&self) -> usize {
        self.indicators.len()
    }

    /// True when the set holds no indicator.
    pub fn is_empty(&self) -> bool {
        self.indicators.is_empty()
    }

    /// Indicators per kind, in [`IocKind::ALL`] order (zeros included).
    pub fn count_by_kind(&self) -> Vec<(IocKind, usize)> {
        IocKind::ALL
            .iter()
            .map(|k| (*k, self.counts[k.index()]))
            .collect()
    }

    /// All indicators; the position is the index used by
    /// [`get`](Self::get) and the prefix exports.
    pub fn indicators(&self) -> &[Indicator] {
        &self.indicators
    }

    /// Indicator by index.
    pub fn get(&self, index: u32) -> Option<&Indicator> {
        self.at(index)
    }

    /// Exact IP indicator first, else the longest CIDR prefix containing
    /// `ip`. IPv4-mapped IPv6 addresses are looked up as IPv4.
    pub fn match_ip(&self, ip: IpAddr) -> Option<&Indicator> {
        match canon_ip(ip) {
            IpAddr::V4(a) => {
                if let Some(&i) = self.ip4.get(&u32::from(a)) {
                    return self.at(i);
                }
                if self.net4.is_empty() {
                    return None;
                }
                let (_, &i) = self.net4.get_lpm(&Ipv4Net::from(a))?;
                self.at(i)
            }
            IpAddr::V6(a) => {
                if let Some(&i) = self.ip6.get(&u128::from(a)) {
                    return self.at(i);
                }
                if self.net6.is_empty() {
                    return None;
                }
                let (_, &i) = self.net6.get_lpm(&Ipv6Net::from(a))?;
                self.at(i)
            }
        }
    }

    /// A Domain indicator equal to `name` or to one of its parent domains
    /// (`a.b.evil.com` hits `evil.com`; `notevil.com` does not).
    /// Case-insensitive, trailing dot ignored. No allocation for names up
    /// to 253 bytes (longer names are lower-cased on the heap).
    pub fn match_domain(&self, name: &str) -> Option<&Indicator> {
        if self.domains.is_empty() {
            return None;
        }
        with_lower_name(name, |n| suffix_lookup(&self.domains, n)).and_then(|i| self.at(i))
    }

    /// URL indicators: `host/path` hits when `host` is equal
    /// (case-insensitive, port and trailing dot ignored) and
    /// `path_and_query` starts with the indicator's path; path-only
    /// indicators hit on any host. The longest matching path wins, and a
    /// host-specific indicator wins over a path-only one. An absolute-form
    /// request target (`http://host/path`) is reduced to its path. Domain
    /// indicators are not consulted: call [`match_domain`](Self::match_domain)
    /// for the host as well.
    pub fn match_url(&self, host: &str, path_and_query: &str) -> Option<&Indicator> {
        if self.path_nodes.is_empty() {
            return None;
        }
        let mut path = path_and_query;
        if !path.starts_with('/') {
            if let Some((_, rest)) = path.split_once("://") {
                path = rest.find('/').map_or("/", |i| &rest[i..]);
            }
        }
        let path = if path.is_empty() { "/" } else { path };
        if !self.url_hosts.is_empty() {
            let hit = with_lower_name(strip_host(host), |h| {
                let &root = self.url_hosts.get(h)?;
                self.longest_path(root, path.as_bytes())
            });
            if let Some(i) = hit {
                return self.at(i);
            }
        }
        if self.url_any == NONE {
            return None;
        }
        self.longest_path(self.url_any, path.as_bytes())
            .and_then(|i| self.at(i))
    }

    /// TLS server name: Sni indicators match exactly; Domain indicators
    /// match it and its subdomains (as [`match_domain`](Self::match_domain)).
    pub fn match_sni(&self, sni: &str) -> Option<&Indicator> {
        if self.snis.is_empty() && self.domains.is_empty() {
            return None;
        }
        with_lower_name(sni, |n| {
            if let Some(&i) = self.snis.get(n) {
                return Some(i);
            }
            suffix_lookup(&self.domains, n)
        })
        .and_then(|i| self.at(i))
    }

    /// JA3 fingerprint (32 hex digits, any case).
    pub fn match_ja3(&self, md5_hex: &str) -> Option<&Indicator> {
        let k = decode_hex::<16>(md5_hex.trim())?;
        self.ja3.get(&k).and_then(|&i| self.at(i))
    }

    /// JA4 fingerprint (any case).
    pub fn match_ja4(&self, ja4: &str) -> Option<&Indicator> {
        let ja4 = ja4.trim();
        if !is_ja4(ja4.as_bytes()) {
            return None;
        }
        let mut k = [0u8; 36];
        lower_into(ja4, &mut k)?;
        self.ja4.get(&k).and_then(|&i| self.at(i))
    }

    /// Certificate SHA-1, plain or colon-separated hex, any case.
    pub fn match_cert_sha1(&self, hex: &str) -> Option<&Indicator> {
        let k = decode_hex::<20>(hex.trim())?;
        self.certs.get(&k).and_then(|&i| self.at(i))
    }

    /// All IPv4 Ip (as /32) and Cidr indicators as (network address in host
    /// byte order, prefix length, indicator index), sorted — the input for a
    /// kernel LPM trie.
    pub fn ipv4_prefixes(&self) -> Vec<(u32, u8, u32)> {
        let mut v: Vec<(u32, u8, u32)> = self.ip4.iter().map(|(&a, &i)| (a, 32, i)).collect();
        v.extend(
            self.net4
                .iter()
                .map(|(n, &i)| (u32::from(n.network()), n.prefix_len(), i)),
        );
        v.sort_unstable();
        v
    }

    /// All IPv6 Ip (as /128) and Cidr indicators as (network address bytes,
    /// prefix length, indicator index), sorted.
    pub fn ipv6_prefixes(&self) -> Vec<([u8; 16], u8, u32)> {
        let mut v: Vec<([u8; 16], u8, u32)> = self
            .ip6
            .iter()
            .map(|(&a, &i)| (a.to_be_bytes(), 128, i))
            .collect();
        v.extend(
            self.net6
                .iter()
                .map(|(n, &i)| (n.network().octets(), n.prefix_len(), i)),
        );
        v.sort_unstable();
        v
    }
}

impl std::fmt::Debug for IocSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IocSet")
            .field("len", &self.len())
            .field("by_kind", &self.count_by_kind())
            .finish_non_exhaustive()
    }
}

/// Runs `f` on the lower-cased `name` without trailing dot, using a stack
/// buffer when it fits (always for valid DNS names).
#[inline]
fn with_lower_name<R>(name: &str, f: impl FnOnce(&[u8]) -> Option<R>) -> Option<R> {
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.is_empty() {
        return None;
    }
    let mut buf = [0u8; NAME_BUF];
    if name.len() <= MAX_DOMAIN_LEN {
        let n = lower_into(name, &mut buf)?;
        f(n)
    } else {
        f(name.to_ascii_lowercase().as_bytes())
    }
}

/// Exact name, then each parent obtained by dropping leading labels;
/// single-label suffixes are never indicators, so they are not probed.
#[inline]
fn suffix_lookup(map: &HashMap<Box<[u8]>, u32>, name: &[u8]) -> Option<u32> {
    let mut s = name;
    loop {
        let dot = s.iter().position(|&c| c == b'.')?;
        if let Some(&i) = map.get(s) {
            return Some(i);
        }
        s = &s[dot + 1..];
    }
}
