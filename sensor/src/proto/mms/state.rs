//! Per-flow MMS state: pairs confirmed requests with their responses by
//! invoke ID (per request direction, bounded), initiate and conclude by
//! order, and turns every TSDU into events.

use std::collections::VecDeque;

use super::event::{MmsEvent, MmsMessage};
use super::parser::{
    decode_tsdu, parse_pdu, service_name, unconfirmed_name, AcseKind, MmsPdu, Spdu,
};

/// Most outstanding confirmed (and cancel) requests kept per flow; the
/// oldest is logged request-only when a new one would exceed it.
pub const MAX_PENDING: usize = 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Confirmed,
    Cancel,
}

#[derive(Debug)]
struct Pending {
    kind: Kind,
    to_server: bool,
    invoke_id: u32,
    service: u32,
    msg: MmsMessage,
}

/// Per-flow MMS decoder state. Feed it each reassembled COTP TSDU.
#[derive(Debug, Default)]
pub struct MmsState {
    next_tx: u64,
    pending: VecDeque<Pending>,
    /// initiate-Request (with its AARQ facts) awaiting the response.
    init: Option<(bool, MmsMessage)>,
    /// conclude-Request awaiting the response (its direction).
    conclude: Option<bool>,
    /// TSDUs or PDUs that failed to decode.
    pub errors: u64,
    /// MMS PDUs decoded.
    pub pdus: u64,
}

fn dir(to_server: bool) -> &'static str {
    if to_server {
        "to_server"
    } else {
        "to_client"
    }
}

impl MmsState {
    pub fn new() -> MmsState {
        MmsState::default()
    }

    /// Outstanding requests held (confirmed, cancel, initiate, conclude).
    pub fn pending(&self) -> usize {
        self.pending.len() + usize::from(self.init.is_some()) + usize::from(self.conclude.is_some())
    }

    fn emit(&mut self, mut ev: MmsEvent, out: &mut Vec<MmsEvent>) {
        ev.tx_id = self.next_tx;
        self.next_tx += 1;
        out.push(ev);
    }

    /// Decode one complete TSDU sent in direction `to_server`.
    pub fn input_tsdu(&mut self, to_server: bool, tsdu: &[u8], out: &mut Vec<MmsEvent>) {
        let d = match decode_tsdu(tsdu) {
            Ok(d) => d,
            Err(_) => {
                self.errors += 1;
                return;
            }
        };
        let mut acse_used = false;
        for m in &d.mms {
            match parse_pdu(m) {
                Ok(p) => {
                    self.pdus += 1;
                    let acse = d.acse.as_ref().map(|a| &a.info);
                    acse_used |= self.pdu(to_server, p, acse, out);
                }
                Err(_) => self.errors += 1,
            }
        }
        match &d.acse {
            Some(a) if !acse_used => match a.kind {
                AcseKind::Aarq => {
                    // Association request without an MMS initiate inside.
                    self.flush_init(out);
                    self.init = Some((to_server, a.info.clone()));
                }
                AcseKind::Aare => {
                    let mut resp = a.info.clone();
                    resp.result = Some(if resp.acse_result.unwrap_or(0) == 0 {
                        "success"
                    } else {
                        "error"
                    });
                    self.initiate_done(to_server, resp, out);
                }
                AcseKind::Abrt => self.abort(to_server, a.info.clone(), out),
                AcseKind::Rlrq | AcseKind::Rlre => {}
            },
            None if d.spdu == Spdu::Abort => self.abort(to_server, MmsMessage::default(), out),
            _ => {}
        }
    }

    fn abort(&mut self, to_server: bool, msg: MmsMessage, out: &mut Vec<MmsEvent>) {
        let ev = MmsEvent {
            tx_id: 0,
            pdu: "abort",
            service: "abort",
            code: 0,
            invoke_id: None,
            direction: dir(to_server),
            request: Some(msg),
            response: None,
        };
        self.emit(ev, out);
    }

    fn initiate_done(&mut self, to_server: bool, resp: MmsMessage, out: &mut Vec<MmsEvent>) {
        let (req_dir, req) = match self.init.take() {
            Some((d, m)) => (d, Some(m)),
            None => (!to_server, None),
        };
        let ev = MmsEvent {
            tx_id: 0,
            pdu: "initiate",
            service: "initiate",
            code: 8,
            invoke_id: None,
            direction: dir(req_dir),
            request: req,
            response: Some(resp),
        };
        self.emit(ev, out);
    }

    fn flush_init(&mut self, out: &mut Vec<MmsEvent>) {
        if let Some((d, m)) = self.init.take() {
            let ev = MmsEvent {
                tx_id: 0,
                pdu: "initiate",
                service: "initiate",
                code: 8,
                invoke_id: None,
                direction: dir(d),
                request: Some(m),
                response: None,
            };
            self.emit(ev, out);
        }
    }

    fn flush_conclude(&mut self, out: &mut Vec<MmsEvent>) {
        if let Some(d) = self.conclude.take() {
            let ev = MmsEvent {
                tx_id: 0,
                pdu: "conclude",
                service: "conclude",
                code: 11,
                invoke_id: None,
                direction: dir(d),
                request: Some(MmsMessage::default()),
                response: None,
            };
            self.emit(ev, out);
        }
    }

    fn pending_event(p: Pending, response: Option<MmsMessage>) -> MmsEvent {
        let (pdu, service, code) = match p.kind {
            Kind::Confirmed => ("confirmed", service_name(p.service), p.service),
            Kind::Cancel => ("cancel", "cancel", 5),
        };
        MmsEvent {
            tx_id: 0,
            pdu,
            service,
            code,
            invoke_id: Some(p.invoke_id),
            direction: dir(p.to_server),
            request: Some(p.msg),
            response,
        }
    }

    fn push_pending(&mut self, p: Pending, out: &mut Vec<MmsEvent>) {
        // A reused invoke ID ends the older request.
        if let Some(i) = self.pending.iter().position(|q| {
            q.kind == p.kind && q.to_server == p.to_server && q.invoke_id == p.invoke_id
        }) {
            if let Some(old) = self.pending.remove(i) {
                let ev = Self::pending_event(old, None);
                self.emit(ev, out);
            }
        }
        if self.pending.len() >= MAX_PENDING {
            if let Some(old) = self.pending.pop_front() {
                let ev = Self::pending_event(old, None);
                self.emit(ev, out);
            }
        }
        self.pending.push_back(p);
    }

    /// Complete a pending request answered in direction `to_server`;
    /// returns false when there was none.
    fn complete(
        &mut self,
        kind: Kind,
        to_server: bool,
        invoke_id: u32,
        resp: &mut Option<MmsMessage>,
        out: &mut Vec<MmsEvent>,
    ) -> bool {
        let Some(i) = self
            .pending
            .iter()
            .position(|q| q.kind == kind && q.to_server != to_server && q.invoke_id == invoke_id)
        else {
            return false;
        };
        let Some(p) = self.pending.remove(i) else {
            return false;
        };
        let ev = Self::pending_event(p, resp.take());
        self.emit(ev, out);
        true
    }

    fn response_only(
        to_server: bool,
        pdu: &'static str,
        service: &'static str,
        code: u32,
        invoke_id: Option<u32>,
        msg: MmsMessage,
    ) -> MmsEvent {
        MmsEvent {
            tx_id: 0,
            pdu,
            service,
            code,
            invoke_id,
            direction: dir(to_server),
            request: None,
            response: Some(msg),
        }
    }

    /// Handle one PDU; returns true when it consumed the ACSE facts.
    fn pdu(
        &mut self,
        to_server: bool,
        p: MmsPdu,
        acse: Option<&MmsMessage>,
        out: &mut Vec<MmsEvent>,
    ) -> bool {
        match p {
            MmsPdu::ConfirmedRequest {
                invoke_id,
                service,
                msg,
            } => {
                let p = Pending {
                    kind: Kind::Confirmed,
                    to_server,
                    invoke_id,
                    service,
                    msg,
                };
                self.push_pending(p, out);
            }
            MmsPdu::ConfirmedResponse {
                invoke_id,
                service,
                msg,
            } => {
                let mut r = Some(msg);
                if !self.complete(Kind::Confirmed, to_server, invoke_id, &mut r, out) {
                    let code = service.unwrap_or(u32::MAX);
                    let name = service.map_or("unknown", service_name);
                    let msg = r.unwrap_or_default();
                    let ev = Self::response_only(
                        to_server,
                        "confirmed",
                        name,
                        code,
                        Some(invoke_id),
                        msg,
                    );
                    self.emit(ev, out);
                }
            }
            MmsPdu::ConfirmedError { invoke_id, msg } => {
                let mut r = Some(msg);
                if !self.complete(Kind::Confirmed, to_server, invoke_id, &mut r, out) {
                    let msg = r.unwrap_or_default();
                    let ev = Self::response_only(
                        to_server,
                        "confirmed",
                        "unknown",
                        u32::MAX,
                        Some(invoke_id),
                        msg,
                    );
                    self.emit(ev, out);
                }
            }
            MmsPdu::Reject { invoke_id, msg } => {
                let mut r = Some(msg);
                let paired = invoke_id.is_some_and(|id| {
                    self.complete(Kind::Confirmed, to_server, id, &mut r, out)
                        || self.complete(Kind::Cancel, to_server, id, &mut r, out)
                });
                if !paired {
                    let msg = r.unwrap_or_default();
                    let ev = Self::response_only(to_server, "reject", "reject", 4, invoke_id, msg);
                    self.emit(ev, out);
                }
            }
            MmsPdu::Unconfirmed { service, msg } => {
                let ev = MmsEvent {
                    tx_id: 0,
                    pdu: "unconfirmed",
                    service: unconfirmed_name(service),
                    code: service,
                    invoke_id: None,
                    direction: dir(to_server),
                    request: Some(msg),
                    response: None,
                };
                self.emit(ev, out);
            }
            MmsPdu::CancelRequest { invoke_id } => {
                let p = Pending {
                    kind: Kind::Cancel,
                    to_server,
                    invoke_id,
                    service: 5,
                    msg: MmsMessage::default(),
                };
                self.push_pending(p, out);
            }
            MmsPdu::CancelResponse { invoke_id } => {
                let mut r = Some(MmsMessage {
                    result: Some("success"),
                    ..MmsMessage::default()
                });
                if !self.complete(Kind::Cancel, to_server, invoke_id, &mut r, out) {
                    let msg = r.unwrap_or_default();
                    let ev =
                        Self::response_only(to_server, "cancel", "cancel", 6, Some(invoke_id), msg);
                    self.emit(ev, out);
                }
            }
            MmsPdu::CancelError { invoke_id, msg } => {
                let mut r = Some(msg);
                if !self.complete(Kind::Cancel, to_server, invoke_id, &mut r, out) {
                    let msg = r.unwrap_or_default();
                    let ev =
                        Self::response_only(to_server, "cancel", "cancel", 7, Some(invoke_id), msg);
                    self.emit(ev, out);
                }
            }
            MmsPdu::InitiateRequest(mut msg) => {
                self.flush_init(out);
                if let Some(a) = acse {
                    msg.merge_acse(a);
                }
                self.init = Some((to_server, msg));
                return acse.is_some();
            }
            MmsPdu::InitiateResponse(mut msg) | MmsPdu::InitiateError(mut msg) => {
                if let Some(a) = acse {
                    msg.merge_acse(a);
                }
                self.initiate_done(to_server, msg, out);
                return acse.is_some();
            }
            MmsPdu::ConcludeRequest => {
                self.flush_conclude(out);
                self.conclude = Some(to_server);
            }
            MmsPdu::ConcludeResponse | MmsPdu::ConcludeError(_) => {
                let msg = match p {
                    MmsPdu::ConcludeError(m) => m,
                    _ => MmsMessage {
                        result: Some("success"),
                        ..MmsMessage::default()
                    },
                };
                let (d, req) = match self.conclude.take() {
                    Some(d) => (d, Some(MmsMessage::default())),
                    None => (!to_server, None),
                };
                let ev = MmsEvent {
                    tx_id: 0,
                    pdu: "conclude",
                    service: "conclude",
                    code: 11,
                    invoke_id: None,
                    direction: dir(d),
                    request: req,
                    response: Some(msg),
                };
                self.emit(ev, out);
            }
        }
        false
    }

    /// Flow end: log requests still unanswered, request-only.
    pub fn finish(&mut self, out: &mut Vec<MmsEvent>) {
        self.flush_init(out);
        while let Some(p) = self.pending.pop_front() {
            let ev = Self::pending_event(p, None);
            self.emit(ev, out);
        }
        self.flush_conclude(out);
    }
}
