//! PROFINET DCP is connectionless layer 2: there is no per-flow state.
//! A multicast Identify draws one response per device, so frames are not
//! paired; each frame is one event and [`DcpCounters`] tallies what is
//! not logged (cyclic RT data, alarm housekeeping, malformed frames).

use super::event::DcpEvent;
use super::parser::{classify, parse_alarm, parse_dcp, FrameKind};

/// Per-sensor (or per-interface) tallies of EtherType 0x8892 frames.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DcpCounters {
    /// Cyclic RT frames (RT_CLASS_1/2/3): counted, never logged.
    pub cyclic: u64,
    /// DCP frames decoded.
    pub dcp: u64,
    /// Alarm frames (notifications logged; ACK/NACK/ERR only counted).
    pub alarms: u64,
    /// Other FrameIDs (PTCP, fragmentation, reserved).
    pub other: u64,
    /// Frames that failed to parse.
    pub errors: u64,
}

impl DcpCounters {
    /// Classify and decode one frame (payload after the EtherType),
    /// counting it; DCP frames and alarm notifications become events.
    pub fn frame(&mut self, payload: &[u8], out: &mut Vec<DcpEvent>) {
        match classify(payload) {
            Some(FrameKind::Cyclic) => self.cyclic += 1,
            Some(FrameKind::Other) => self.other += 1,
            Some(FrameKind::Dcp) => match parse_dcp(payload) {
                Ok(f) => {
                    self.dcp += 1;
                    out.push(DcpEvent::from_frame(&f));
                }
                Err(_) => self.errors += 1,
            },
            Some(FrameKind::Alarm) => {
                self.alarms += 1;
                match parse_alarm(payload) {
                    Ok(Some(a)) => out.push(DcpEvent::from_alarm(&a)),
                    Ok(None) => {}
                    Err(_) => self.errors += 1,
                }
            }
            None => self.errors += 1,
        }
    }
}
