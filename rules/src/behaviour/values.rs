//! Parsers of the scalar values of the language: integers and integer
//! ranges, value comparisons, durations, time-of-day windows, days, and
//! address expressions. Each returns a message for the user on failure;
//! the caller adds the position.

use std::net::IpAddr;

use ipnet::IpNet;

use super::compile::Vars;
use super::matchers::{Pred, Ranges};

/// An unsigned integer: decimal, `0x…`, `0o…` or `0b…`.
pub(crate) fn parse_uint(s: &str) -> Option<u64> {
    let s = s.trim();
    let (digits, radix) = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        (h, 16)
    } else if let Some(o) = s.strip_prefix("0o") {
        (o, 8)
    } else if let Some(b) = s.strip_prefix("0b") {
        (b, 2)
    } else {
        (s, 10)
    };
    if digits.is_empty() || digits.starts_with('+') || digits.starts_with('-') {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

/// One term of an integer set: `5`, `5-8`, `>5`, `>=5`, `<5`, `<=5`, `!=5`.
pub(crate) fn parse_int_term(s: &str, max: u64) -> Result<Vec<(u64, u64)>, String> {
    let num = |t: &str| -> Result<u64, String> {
        match parse_uint(t) {
            Some(v) if v <= max => Ok(v),
            Some(v) => Err(format!("{v} is larger than {max}")),
            None => Err(format!(
                "{t:?} is not a number (use 12, 0x0c, ranges \"5-8\", \">100\", \"<=7\", \"!=0\")"
            )),
        }
    };
    if s.is_empty() {
        return Err("empty value".into());
    }
    let r = if let Some(t) = s.strip_prefix(">=") {
        vec![(num(t)?, max)]
    } else if let Some(t) = s.strip_prefix("<=") {
        vec![(0, num(t)?)]
    } else if let Some(t) = s.strip_prefix("!=") {
        let v = num(t)?;
        let mut r = Vec::new();
        if v > 0 {
            r.push((0, v - 1));
        }
        if v < max {
            r.push((v + 1, max));
        }
        r
    } else if let Some(t) = s.strip_prefix('>') {
        let v = num(t)?;
        if v >= max {
            return Err(format!("\"{s}\" matches nothing"));
        }
        vec![(v + 1, max)]
    } else if let Some(t) = s.strip_prefix('<') {
        let v = num(t)?;
        if v == 0 {
            return Err(format!("\"{s}\" matches nothing"));
        }
        vec![(0, v - 1)]
    } else if let Some((a, b)) = s.split_once('-') {
        let (a, b) = (num(a)?, num(b)?);
        if a > b {
            return Err(format!("range \"{s}\" runs backwards"));
        }
        vec![(a, b)]
    } else {
        let v = num(s)?;
        vec![(v, v)]
    };
    Ok(r)
}

fn parse_float(s: &str) -> Option<f64> {
    let t = s.trim();
    if let Some(v) = parse_uint(t) {
        return Some(v as f64);
    }
    if let Some(neg) = t.strip_prefix('-') {
        if let Some(v) = parse_uint(neg) {
            return Some(-(v as f64));
        }
    }
    // Only plain decimal notation: no "inf", "nan".
    if t.is_empty()
        || !t
            .bytes()
            .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b))
    {
        return None;
    }
    t.parse::<f64>().ok().filter(|x| x.is_finite())
}

/// A value predicate: `1000`, `-2.5`, `5-8`, `-10--5`, `>x`, `>=x`, `<x`,
/// `<=x`, `!=x`, `=x`.
pub(crate) fn parse_pred(s: &str) -> Result<Pred, String> {
    let num = |t: &str| {
        parse_float(t).ok_or_else(|| {
            format!(
                "{:?} is not a number (comparisons look like \">1000\", \"<=5\", \"!=0\", \
                 \"5-8\")",
                t.trim()
            )
        })
    };
    if s.is_empty() {
        return Err("empty value".into());
    }
    for (op, f) in [
        (">=", Pred::Ge as fn(f64) -> Pred),
        ("<=", Pred::Le),
        ("!=", Pred::Ne),
        (">", Pred::Gt),
        ("<", Pred::Lt),
        ("=", Pred::Eq),
    ] {
        if let Some(t) = s.strip_prefix(op) {
            return Ok(f(num(t)?));
        }
    }
    if let Some(v) = parse_float(s) {
        return Ok(Pred::Eq(v));
    }
    // A range: split at a '-' that is not a sign.
    let b = s.as_bytes();
    for i in 1..b.len() {
        if b[i] == b'-' && !matches!(b[i - 1], b'-' | b'e' | b'E') {
            if let (Some(lo), Some(hi)) = (parse_float(&s[..i]), parse_float(&s[i + 1..])) {
                if lo > hi {
                    return Err(format!("range \"{s}\" runs backwards"));
                }
                return Ok(Pred::Range(lo, hi));
            }
        }
    }
    Err(num(s).err().unwrap_or_default())
}

/// Seconds: `60`, `90s`, `5m`, `2h`, `1d`.
pub(crate) fn parse_duration(s: &str) -> Option<u64> {
    let (digits, mult) = match s.as_bytes().last()? {
        b's' => (&s[..s.len() - 1], 1),
        b'm' => (&s[..s.len() - 1], 60),
        b'h' => (&s[..s.len() - 1], 3600),
        b'd' => (&s[..s.len() - 1], 86_400),
        _ => (s, 1),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<u64>().ok()?.checked_mul(mult)
}

/// `"22:00-06:00"` → seconds of the day (start, end); the end is exclusive
/// and may be `24:00`.
pub(crate) fn parse_hours(s: &str) -> Result<(u32, u32), String> {
    let Some((a, b)) = s.split_once('-') else {
        return Err(format!("{s:?} is not a window like \"22:00-06:00\""));
    };
    let time = |t: &str, end: bool| -> Result<u32, String> {
        let t = t.trim();
        let bad = || format!("{t:?} is not a time of day (HH:MM)");
        let (h, m) = t.split_once(':').ok_or_else(bad)?;
        if h.is_empty() || h.len() > 2 || m.len() != 2 {
            return Err(bad());
        }
        let h: u32 = h.parse().map_err(|_| bad())?;
        let m: u32 = m.parse().map_err(|_| bad())?;
        if m > 59 || h > 24 || (h == 24 && (m != 0 || !end)) {
            return Err(bad());
        }
        Ok(h * 3600 + m * 60)
    };
    let (start, end) = (time(a, false)?, time(b, true)?);
    if start == end {
        return Err(format!(
            "window {s:?} is empty (use \"00:00-24:00\" for the whole day)"
        ));
    }
    Ok((start, end.min(86_400)))
}

/// `mon`, `monday`, `mon-fri`, `weekdays`, `weekend` → day bits.
pub(crate) fn parse_days(s: &str) -> Result<u8, String> {
    const NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    const FULL: [&str; 7] = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    let day = |t: &str| -> Result<u8, String> {
        let t = t.trim().to_ascii_lowercase();
        NAMES
            .iter()
            .position(|n| *n == t)
            .or_else(|| FULL.iter().position(|n| *n == t))
            .map(|i| i as u8)
            .ok_or_else(|| {
                format!("{t:?} is not a day (mon … sun, ranges like mon-fri, weekdays, weekend)")
            })
    };
    match s.to_ascii_lowercase().as_str() {
        "weekdays" => return Ok(0x1f),
        "weekend" => return Ok(0x60),
        "" => return Err("empty day".into()),
        _ => {}
    }
    if let Some((a, b)) = s.split_once('-') {
        let (a, b) = (day(a)?, day(b)?);
        let mut bits = 0u8;
        let mut d = a;
        loop {
            bits |= 1 << d;
            if d == b {
                break;
            }
            d = (d + 1) % 7;
        }
        return Ok(bits);
    }
    Ok(1 << day(s)?)
}

/// Parser of address expressions: `a, !b, [c, !$D], 10.0.0.1-10.0.0.9`.
struct AddrParser<'a> {
    s: &'a [u8],
    text: &'a str,
    i: usize,
    vars: &'a Vars,
    problems: Vec<String>,
}

/// (v4, v6) ranges.
pub(crate) type Fam = (Ranges, Ranges);

const V4_MAX: u128 = u32::MAX as u128;

/// Positive items (or everything when there is none) minus negated items.
pub(crate) fn combine(items: Vec<(bool, Fam)>) -> Fam {
    let mut pos: Option<Fam> = None;
    let mut neg = (Ranges::default(), Ranges::default());
    for (negated, (v4, v6)) in items {
        if negated {
            neg = (neg.0.union(&v4), neg.1.union(&v6));
        } else {
            pos = Some(match pos {
                None => (v4, v6),
                Some((a, b)) => (a.union(&v4), b.union(&v6)),
            });
        }
    }
    let pos = pos.unwrap_or((Ranges::full(V4_MAX), Ranges::full(u128::MAX)));
    (pos.0.minus(&neg.0), pos.1.minus(&neg.1))
}

impl AddrParser<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    /// `item (, item)*` up to `]` or the end, combined.
    fn list(&mut self, depth: usize) -> Fam {
        combine(self.items(depth))
    }

    /// `item (, item)*` up to `]` or the end.
    fn items(&mut self, depth: usize) -> Vec<(bool, Fam)> {
        let mut items = Vec::new();
        loop {
            self.ws();
            let (neg, fam) = self.item(depth);
            items.push((neg, fam));
            self.ws();
            match self.s.get(self.i) {
                Some(b',') => self.i += 1,
                _ => break,
            }
        }
        items
    }

    fn item(&mut self, depth: usize) -> (bool, Fam) {
        let empty = || (Ranges::default(), Ranges::default());
        if depth > 16 {
            self.problems.push("expression nested too deeply".into());
            self.i = self.s.len();
            return (false, empty());
        }
        self.ws();
        match self.s.get(self.i) {
            Some(b'!') => {
                self.i += 1;
                let (neg, fam) = self.item(depth + 1);
                (!neg, fam)
            }
            Some(b'[') => {
                self.i += 1;
                let fam = self.list(depth + 1);
                self.ws();
                if self.s.get(self.i) == Some(&b']') {
                    self.i += 1;
                } else {
                    self.problems.push("missing `]`".into());
                }
                (false, fam)
            }
            _ => {
                let start = self.i;
                while self.i < self.s.len() && !b",[]!".contains(&self.s[self.i]) {
                    self.i += 1;
                }
                let atom = self.text[start..self.i].trim();
                (false, self.atom(atom))
            }
        }
    }

    fn atom(&mut self, a: &str) -> Fam {
        let mut v4 = Ranges::default();
        let mut v6 = Ranges::default();
        let add = |lo: IpAddr, hi: IpAddr, v4: &mut Ranges, v6: &mut Ranges| match (lo, hi) {
            (IpAddr::V4(a), IpAddr::V4(b)) => {
                *v4 = v4.union(&Ranges(vec![(u32::from(a).into(), u32::from(b).into())]));
            }
            (IpAddr::V6(a), IpAddr::V6(b)) => {
                *v6 = v6.union(&Ranges(vec![(u128::from(a), u128::from(b))]));
            }
            _ => {}
        };
        if a.is_empty() {
            self.problems.push("empty item".into());
        } else if a == "any" {
            return (Ranges::full(V4_MAX), Ranges::full(u128::MAX));
        } else if let Some(name) = a.strip_prefix('$') {
            match self.vars.get(name) {
                Some(nets) => {
                    for n in nets {
                        add(n.network(), n.broadcast(), &mut v4, &mut v6);
                    }
                }
                None => self.problems.push(format!(
                    "undefined variable ${name}; define it with the sensor's rule variables \
                     (a list of CIDRs)"
                )),
            }
        } else if let Ok(net) = a.parse::<IpNet>() {
            add(net.network(), net.broadcast(), &mut v4, &mut v6);
        } else if let Ok(ip) = a.parse::<IpAddr>() {
            add(ip, ip, &mut v4, &mut v6);
        } else if let Some((lo, hi)) = a.split_once('-') {
            match (lo.trim().parse::<IpAddr>(), hi.trim().parse::<IpAddr>()) {
                (Ok(lo), Ok(hi)) if lo.is_ipv4() == hi.is_ipv4() && lo <= hi => {
                    add(lo, hi, &mut v4, &mut v6);
                }
                _ => self.problems.push(format!(
                    "{a:?} is not an address range (first-last, same family, ascending)"
                )),
            }
        } else {
            self.problems.push(format!(
                "{a:?} is not an IP address, CIDR, range, $VARIABLE or `any`"
            ));
        }
        (v4, v6)
    }
}

/// Parse one address expression into its items (negated?, addresses);
/// also the problems found, as messages.
pub(crate) fn addr_items(text: &str, vars: &Vars) -> (Vec<(bool, Fam)>, Vec<String>) {
    let mut p = AddrParser {
        s: text.as_bytes(),
        text,
        i: 0,
        vars,
        problems: Vec::new(),
    };
    let items = p.items(0);
    if p.i < p.s.len() {
        p.problems.push(format!("unexpected `{}`", &text[p.i..]));
    }
    (items, p.problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int_terms() {
        assert_eq!(parse_int_term("5-8", 100), Ok(vec![(5, 8)]));
        assert_eq!(parse_int_term("0x05-0x08", 100), Ok(vec![(5, 8)]));
        assert_eq!(parse_int_term(">=90", 100), Ok(vec![(90, 100)]));
        assert_eq!(parse_int_term("!=0", 100), Ok(vec![(1, 100)]));
        assert_eq!(parse_int_term("<1", 100), Ok(vec![(0, 0)]));
        assert!(parse_int_term("8-5", 100).is_err());
        assert!(parse_int_term("101", 100).is_err());
        assert!(parse_int_term(">100", 100).is_err());
        assert!(parse_int_term("-5", 100).is_err());
        assert!(parse_int_term("x", 100).is_err());
    }

    #[test]
    fn value_preds() {
        assert_eq!(parse_pred(">1000"), Ok(Pred::Gt(1000.0)));
        assert_eq!(parse_pred("-10--5"), Ok(Pred::Range(-10.0, -5.0)));
        assert_eq!(parse_pred("-10-5"), Ok(Pred::Range(-10.0, 5.0)));
        assert_eq!(parse_pred("1e3"), Ok(Pred::Eq(1000.0)));
        assert_eq!(parse_pred("1e-3-2"), Ok(Pred::Range(0.001, 2.0)));
        assert_eq!(parse_pred("0x10"), Ok(Pred::Eq(16.0)));
        assert!(parse_pred("nan").is_err());
        assert!(parse_pred("5-1").is_err());
        assert!(parse_pred(">").is_err());
    }

    #[test]
    fn durations_hours_days() {
        assert_eq!(parse_duration("90s"), Some(90));
        assert_eq!(parse_duration("5m"), Some(300));
        assert_eq!(parse_duration("1d"), Some(86_400));
        assert_eq!(parse_duration("m"), None);
        assert_eq!(parse_hours("22:00-06:00"), Ok((79_200, 21_600)));
        assert_eq!(parse_hours("0:00-24:00"), Ok((0, 86_400)));
        assert!(parse_hours("24:00-01:00").is_err());
        assert!(parse_hours("08:00-08:00").is_err());
        assert!(parse_hours("8-9").is_err());
        assert_eq!(parse_days("mon-fri"), Ok(0x1f));
        assert_eq!(parse_days("sat-mon"), Ok(0x61));
        assert_eq!(parse_days("Sunday"), Ok(0x40));
        assert!(parse_days("someday").is_err());
    }

    #[test]
    fn address_expressions() {
        let mut vars = Vars::new();
        vars.insert("A".into(), vec!["10.0.0.0/24".parse().unwrap()]);
        let set = |t: &str| {
            let (items, problems) = addr_items(t, &vars);
            assert!(problems.is_empty(), "{t}: {problems:?}");
            combine(items)
        };
        let v4 = |r: &[(u32, u32)]| Ranges(r.iter().map(|&(a, b)| (a.into(), b.into())).collect());
        let ip = |s: &str| u32::from(s.parse::<std::net::Ipv4Addr>().unwrap());
        assert_eq!(set("$A").0, v4(&[(ip("10.0.0.0"), ip("10.0.0.255"))]));
        assert_eq!(
            set("$A, !10.0.0.5").0,
            v4(&[
                (ip("10.0.0.0"), ip("10.0.0.4")),
                (ip("10.0.0.6"), ip("10.0.0.255"))
            ])
        );
        // Not (A without .5): everything else, plus .5.
        let (not, _) = set("![$A, !10.0.0.5]");
        assert_eq!(
            not,
            v4(&[
                (0, ip("9.255.255.255")),
                (ip("10.0.0.5"), ip("10.0.0.5")),
                (ip("10.0.1.0"), u32::MAX)
            ])
        );
        assert_eq!(set("!!10.0.0.1").0, v4(&[(ip("10.0.0.1"), ip("10.0.0.1"))]));
        assert!(set("10.0.0.1").1 .0.is_empty());
        for bad in [
            "",
            "10.0.0.1/33",
            "$B",
            "[10.0.0.1",
            "10.0.0.1]",
            "10.0.0.9-10.0.0.1",
            "::1-10.0.0.1",
        ] {
            assert!(!addr_items(bad, &vars).1.is_empty(), "{bad}");
        }
    }
}
