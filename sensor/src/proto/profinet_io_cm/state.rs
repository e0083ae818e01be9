//! Per-flow PNIO-CM state: request/response pairing by activity UUID and
//! sequence number.

use std::collections::VecDeque;

use super::event::{control_command_name, operation_info, packet_type_name, IoCmEvent};
use super::parser::{
    interface_of, object_ids, parse_call, parse_rpc_header, uuid_text, Interface, RpcHeader, Uuid,
    PT_FAULT, PT_REJECT, PT_REQUEST, PT_RESPONSE, RPC_HEADER_LEN,
};

/// Unanswered requests kept per flow.
pub const MAX_PENDING: usize = 64;

#[derive(Debug)]
struct Pending {
    activity: Uuid,
    seqnum: u32,
    event: IoCmEvent,
}

/// Per-flow PNIO-CM state (UDP).
#[derive(Debug, Default)]
pub struct IoCmState {
    pending: VecDeque<Pending>,
    next_tx: u64,
    errors: u64,
}

impl IoCmState {
    pub fn new() -> Self {
        Self::default()
    }

    fn tx(&mut self) -> u64 {
        let t = self.next_tx;
        self.next_tx += 1;
        t
    }

    /// One UDP datagram.
    pub fn datagram(&mut self, _to_server: bool, payload: &[u8], out: &mut Vec<IoCmEvent>) {
        let h = match parse_rpc_header(payload) {
            Ok(h) => h,
            Err(_) => {
                self.errors += 1;
                return;
            }
        };
        let iface = interface_of(&h.interface);
        if !matches!(h.ptype, PT_REQUEST | PT_RESPONSE | PT_FAULT | PT_REJECT)
            || (iface == Interface::Other && h.ptype == PT_REQUEST)
        {
            return;
        }
        let end = (RPC_HEADER_LEN + usize::from(h.fraglen)).min(payload.len());
        let body = payload.get(RPC_HEADER_LEN..end).unwrap_or(&[]);
        if h.ptype == PT_REQUEST {
            if h.fragnum != 0 {
                // Later fragments of a large write: nothing new to log.
                return;
            }
            let e = build(&h, iface, body, "request");
            if self.pending.len() >= MAX_PENDING {
                if let Some(p) = self.pending.pop_front() {
                    let mut old = p.event;
                    old.tx_id = self.tx();
                    out.push(old);
                }
            }
            self.pending.push_back(Pending {
                activity: h.activity,
                seqnum: h.seqnum,
                event: e,
            });
            return;
        }
        let idx = self
            .pending
            .iter()
            .position(|p| p.activity == h.activity && p.seqnum == h.seqnum);
        let mut e = match idx.and_then(|i| self.pending.remove(i)) {
            Some(p) => {
                let mut e = p.event;
                e.kind = "transaction";
                let c = parse_call(&h, body);
                e.pnio_status = c.status;
                if e.record_data_length.is_none() || h.opnum == 2 || h.opnum == 5 {
                    // Reads: the response says how much was returned.
                    e.record_data_length = c.record_data_length.or(e.record_data_length);
                }
                e
            }
            None => {
                // Responses may not carry the interface UUID of a known
                // PNIO call (EPM replies); keep them only when they do.
                if iface == Interface::Other {
                    return;
                }
                build(&h, iface, body, "response")
            }
        };
        if h.ptype != PT_RESPONSE {
            e.response_type = Some(packet_type_name(h.ptype));
            e.pnio_status = parse_call(&h, body).status;
        }
        e.tx_id = self.tx();
        out.push(e);
    }

    /// Flow end: unanswered requests.
    pub fn finish(&mut self, out: &mut Vec<IoCmEvent>) {
        while let Some(p) = self.pending.pop_front() {
            let mut e = p.event;
            e.tx_id = self.tx();
            out.push(e);
        }
    }

    /// Unanswered requests held.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Datagrams that were not RPC.
    pub fn errors(&self) -> u64 {
        self.errors
    }
}

fn build(h: &RpcHeader, iface: Interface, body: &[u8], kind: &'static str) -> IoCmEvent {
    let c = parse_call(h, body);
    let ids = object_ids(&h.object);
    IoCmEvent {
        tx_id: 0,
        kind,
        response_type: None,
        interface: iface.name(),
        operation: operation_info(h.opnum, iface == Interface::Epm).0,
        opnum: h.opnum,
        sequence_num: h.seqnum,
        activity_uuid: uuid_text(&h.activity),
        object_uuid: uuid_text(&h.object),
        vendor_id: ids.map(|i| i.0),
        device_id: ids.map(|i| i.1),
        instance: ids.map(|i| i.2),
        pnio_status: if kind == "response" { c.status } else { None },
        block_type: c.block_type,
        api: c.api,
        slot: c.slot,
        subslot: c.subslot,
        index: c.index,
        record_data_length: c.record_data_length,
        ar_type: c.ar_type,
        ar_uuid: c.ar_uuid.as_ref().map(uuid_text),
        station_name: c.station_name,
        control_command: c.control_command.map(control_command_name),
    }
}
