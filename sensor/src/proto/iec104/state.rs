//! Per-flow IEC 104 state: APDU framing per direction and pairing of
//! activations with their confirmation / termination.

use std::collections::VecDeque;

use crate::proto::common::StreamBuf;

use super::event::{
    is_control_type, is_mirror_cot, Asdu, Body, Confirm, Iec104Event, COT_ACT, COT_DEACT,
};
use super::parser::{apdu_frame, parse_apdu, parse_asdu_header, parse_objects, Apci, MAX_APDU};

/// Activations waiting for their confirmation, over both directions.
pub const MAX_PENDING: usize = 64;
/// Information objects kept per event.
pub const MAX_OBJECTS: usize = 64;

/// Counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Iec104Stats {
    pub i_frames: u64,
    pub s_frames: u64,
    pub u_frames: u64,
    /// APDUs that failed to parse after framing, ASDUs whose objects did
    /// not fit.
    pub malformed: u64,
    /// Octets skipped looking for an APDU start.
    pub skipped_bytes: u64,
}

/// Per-flow IEC 104 state.
#[derive(Debug)]
pub struct Iec104State {
    ts: StreamBuf,
    tc: StreamBuf,
    shared: Shared,
}

#[derive(Debug, Default)]
struct Shared {
    pending: VecDeque<Iec104Event>,
    next_tx: u64,
    stats: Iec104Stats,
}

impl Default for Iec104State {
    fn default() -> Self {
        Iec104State {
            ts: StreamBuf::new(MAX_APDU),
            tc: StreamBuf::new(MAX_APDU),
            shared: Shared::default(),
        }
    }
}

/// What an activation is keyed on: type id, common address, first IOA.
fn key(e: &Iec104Event) -> Option<(u8, u16, Option<u32>)> {
    let a = e.asdu()?;
    Some((a.header.type_id, a.header.ca, a.objects.first_ioa))
}

/// An ASDU that waits for a confirmation: command-type activation or
/// deactivation, or a read command (COT 5).
fn is_activation(a: &Asdu) -> bool {
    let h = &a.header;
    is_control_type(h.type_id)
        && (matches!(h.cot, COT_ACT | COT_DEACT) || (h.type_id == 102 && h.cot == 5))
}

impl Iec104State {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn stats(&self) -> Iec104Stats {
        let mut s = self.shared.stats;
        s.skipped_bytes = self.ts.skipped_bytes + self.tc.skipped_bytes;
        s
    }

    /// Octets held in the stream buffers.
    pub fn buffered(&self) -> usize {
        self.ts.buffered() + self.tc.buffered()
    }

    /// Activations waiting for confirmation.
    pub fn pending(&self) -> usize {
        self.shared.pending.len()
    }

    /// Events created so far (the next event gets this `tx_id`).
    pub fn tx_count(&self) -> u64 {
        self.shared.next_tx
    }

    /// Feed TCP stream bytes of one direction.
    pub fn input(&mut self, to_server: bool, data: &[u8], out: &mut Vec<Iec104Event>) {
        let Iec104State { ts, tc, shared } = self;
        let buf = if to_server { ts } else { tc };
        buf.feed(data, apdu_frame, |apdu| shared.apdu(to_server, apdu, out));
    }

    /// Bytes were lost in one direction: resynchronise on the next APDU.
    pub fn gap(&mut self, to_server: bool) {
        if to_server {
            self.ts.gap();
        } else {
            self.tc.gap();
        }
    }

    /// Flow end: emit activations still waiting for confirmation.
    pub fn finish(&mut self, out: &mut Vec<Iec104Event>) {
        out.extend(self.shared.pending.drain(..));
    }
}

impl Shared {
    fn apdu(&mut self, to_server: bool, b: &[u8], out: &mut Vec<Iec104Event>) {
        let Ok(apdu) = parse_apdu(b) else {
            self.stats.malformed += 1;
            return;
        };
        let body = match apdu.apci {
            Apci::S { .. } => {
                self.stats.s_frames += 1;
                return;
            }
            Apci::U { ctrl } => {
                self.stats.u_frames += 1;
                Body::U { ctrl }
            }
            Apci::I { tx, rx } => {
                self.stats.i_frames += 1;
                let asdu = parse_asdu_header(apdu.asdu).ok().map(|(h, rest)| {
                    let objects = parse_objects(&h, rest, MAX_OBJECTS);
                    Asdu { header: h, objects }
                });
                if asdu.as_ref().is_none_or(|a| a.objects.malformed) {
                    self.stats.malformed += 1;
                }
                Body::I { tx, rx, asdu }
            }
        };
        let mut ev = Iec104Event {
            apdu_len: apdu.len,
            body,
            tx_id: self.next_tx,
            to_server,
            confirm: None,
            paired: false,
        };
        self.next_tx += 1;
        let Some(a) = ev.asdu() else {
            out.push(ev);
            return;
        };
        if is_activation(a) {
            if self.pending.len() >= MAX_PENDING {
                if let Some(old) = self.pending.pop_front() {
                    out.push(old);
                }
            }
            self.pending.push_back(ev);
            return;
        }
        let h = a.header;
        let mirror = is_control_type(h.type_id) && is_mirror_cot(h.cot);
        // Data returned for a read command.
        let read_reply = matches!(h.type_id, 1..=40) && h.cot == 5;
        if mirror || read_reply {
            let k = key(&ev);
            let found = self.pending.iter().position(|p| {
                if p.to_server == to_server {
                    return false;
                }
                let Some(pa) = p.asdu() else { return false };
                if read_reply {
                    pa.header.type_id == 102
                        && pa.header.ca == h.ca
                        && pa.objects.first_ioa == k.and_then(|k| k.2)
                } else {
                    let deact = pa.header.cot == COT_DEACT;
                    key(p) == k && (deact == (h.cot == 9) || matches!(h.cot, 44..=47))
                }
            });
            if let Some(i) = found {
                if let Some(mut act) = self.pending.remove(i) {
                    act.confirm = Some(Confirm {
                        cot: h.cot,
                        negative: h.negative,
                    });
                    ev.paired = true;
                    out.push(act);
                }
            }
        }
        out.push(ev);
    }
}

#[cfg(test)]
mod tests {
    use super::super::parser::tests::{asdu, i_frame, s_frame, u_frame};
    use super::*;
    use rules::ot::OpClass;

    fn sco(cot: u8, ioa: u32, sco: u8) -> Vec<u8> {
        let i = ioa.to_le_bytes();
        asdu(45, 1, cot, 3, &[i[0], i[1], i[2], sco])
    }

    #[test]
    fn select_execute_pairing() {
        let mut st = Iec104State::new();
        let mut out = Vec::new();
        st.input(true, &u_frame(0x07), &mut out);
        st.input(false, &u_frame(0x0b), &mut out);
        st.input(true, &i_frame(0, 0, &sco(6, 4500, 0x81)), &mut out); // select on
        assert_eq!(out.len(), 2, "activation waits");
        st.input(false, &i_frame(0, 1, &sco(7, 4500, 0x81)), &mut out);
        st.input(true, &s_frame(1), &mut out);
        st.input(true, &i_frame(1, 1, &sco(6, 4500, 0x01)), &mut out); // execute on
        st.input(false, &i_frame(1, 2, &sco(0x47, 4500, 0x01)), &mut out); // negative actcon
        st.input(false, &i_frame(2, 2, &sco(10, 4500, 0x01)), &mut out); // actterm
        assert_eq!(out.len(), 7);
        let ops: Vec<_> = out.iter().map(|e| e.op()).collect();
        assert_eq!(ops[0].as_ref().map(|o| o.function), Some("startdt_act"));
        assert!(ops[1].is_none());
        let sel = ops[2].as_ref().expect("select");
        assert_eq!(sel.attr("select"), Some(&rules::ot::Attr::Bool(true)));
        assert_eq!(sel.status, None);
        assert!(ops[3].is_none(), "paired actcon");
        let exe = ops[4].as_ref().expect("execute");
        assert_eq!((exe.class, exe.status), (OpClass::Command, Some(7)));
        assert!(ops[5].is_none() && ops[6].is_none());
        assert_eq!(st.stats().s_frames, 1);
    }

    #[test]
    fn unanswered_flushed_and_bounded() {
        let mut st = Iec104State::new();
        let mut out = Vec::new();
        for i in 0..200u32 {
            st.input(true, &i_frame(i as u16, 0, &sco(6, i, 0x01)), &mut out);
            assert!(st.pending() <= MAX_PENDING);
        }
        assert_eq!(out.len(), 200 - MAX_PENDING);
        st.finish(&mut out);
        assert_eq!(out.len(), 200);
        assert!(out.iter().all(|e| e.op().is_some_and(|o| !o.response_only)));
    }

    #[test]
    fn read_command_pairs_with_requested_data() {
        let mut st = Iec104State::new();
        let mut out = Vec::new();
        st.input(
            true,
            &i_frame(0, 0, &asdu(102, 1, 5, 1, &[9, 0, 0])),
            &mut out,
        );
        assert!(out.is_empty());
        st.input(
            false,
            &i_frame(0, 1, &asdu(1, 1, 5, 1, &[9, 0, 0, 1])),
            &mut out,
        );
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].op().map(|o| o.class), Some(OpClass::Read));
    }
}
