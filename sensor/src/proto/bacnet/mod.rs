//! BACnet/IP decoder (UDP, usually port 47808 = 0xBAC0).
//!
//! # Wire format (ASHRAE 135-2020)
//!
//! * **BVLC** (Annex J.2): type `0x81` (BACnet/IPv4), function, 2-byte
//!   length of the whole BVLL message. Functions: BVLC-Result (2-byte
//!   result code), Write-/Read-Broadcast-Distribution-Table(-Ack) (10-byte
//!   entries), Forwarded-NPDU (6-byte originating B/IP address, then the
//!   NPDU), Register-Foreign-Device (2-byte TTL), Read-Foreign-Device-
//!   Table(-Ack), Delete-Foreign-Device-Table-Entry, Distribute-Broadcast-
//!   To-Network, Original-Unicast-NPDU, Original-Broadcast-NPDU,
//!   Secure-BVLL.
//! * **NPDU** (clause 6.2): version 1, control octet (bit 7 network layer
//!   message, bit 5 DNET present, bit 3 SNET present, bit 2 expecting
//!   reply, bits 1-0 priority), DNET/DLEN/DADR, SNET/SLEN/SADR, hop count
//!   (with DNET), then either a network layer message type (+ vendor id
//!   for types >= 0x80, clause 6.2.4) or an APDU.
//! * **APDU** (clause 20.1): the type in the high nibble of octet 0.
//!   Confirmed-Request: SEG/MOR/SA flags, max segments / max APDU, invoke
//!   id, sequence number and proposed window size when segmented, service
//!   choice. Unconfirmed-Request: service choice. Simple-ACK and
//!   Complex-ACK (SEG/MOR, sequence/window when segmented): invoke id and
//!   service choice. Segment-ACK: NAK/SRV flags, invoke id, sequence
//!   number, window. Error: invoke id, service, error class + code
//!   (application enumerations, possibly inside a constructed error).
//!   Reject / Abort: invoke id and reason (Abort has the SRV flag).
//! * Service parameters use the tag encoding of clause 20.2 (application
//!   and context tags, opening/closing tags for constructed data).
//!
//! # What is decoded
//!
//! Who-Is (instance range), I-Am (device, max APDU, segmentation, vendor
//! id + name for the common vendors), Who-Has / I-Have, ReadProperty(-ACK),
//! ReadPropertyMultiple(-ACK), WriteProperty, WritePropertyMultiple
//! (object, property, array index, priority, written values),
//! ReinitializeDevice (state, password present), DeviceCommunicationControl
//! (enable/disable/disable-initiation, duration, password present),
//! AtomicReadFile / AtomicWriteFile (+acks: access method, start, counts,
//! data length), SubscribeCOV(-Property), COV notifications, event
//! notification, acknowledge alarm, TimeSynchronization / UTC,
//! CreateObject / DeleteObject, Confirmed/Unconfirmed PrivateTransfer
//! (vendor id, service number), ReadRange (object/property). Other
//! services are logged by name only. Network layer messages are
//! recognised by type (network numbers listed). BACnet/IPv6 (`0x82`) and
//! BACnet/SC are not decoded.
//!
//! # Pairing and bounds
//!
//! [`BacnetState::datagram`] pairs a confirmed request with its Simple-ACK,
//! Complex-ACK (last segment), Error, Reject or Abort by (invoke id,
//! requesting side); at most [`state::MAX_PENDING`] requests wait (the
//! oldest is then emitted request-only). Later segments and Segment-ACKs
//! are counted into the transaction, not logged separately; values of a
//! segmented Complex-ACK are taken from its first segment only (marked
//! `truncated`). Unconfirmed requests and network layer messages are
//! standalone events. BVLC control requests pair with the next
//! BVLC-Result / table ack in the other direction. At most 16 values and
//! 16 property references are kept per PDU; character strings are cut at
//! 128 characters; constructed data nests at most 32 deep.
//!
//! # `Op::function` vocabulary
//!
//! * Confirmed services (code = service choice): `acknowledge_alarm`,
//!   `confirmed_cov_notification`, `confirmed_event_notification`,
//!   `get_alarm_summary`, `get_enrollment_summary`, `subscribe_cov`,
//!   `atomic_read_file`, `atomic_write_file`, `add_list_element`,
//!   `remove_list_element`, `create_object`, `delete_object`,
//!   `read_property`, `read_property_conditional`,
//!   `read_property_multiple`, `write_property`, `write_property_multiple`,
//!   `device_communication_control`, `confirmed_private_transfer`,
//!   `confirmed_text_message`, `reinitialize_device`, `vt_open`,
//!   `vt_close`, `vt_data`, `authenticate`, `request_key`, `read_range`,
//!   `life_safety_operation`, `subscribe_cov_property`,
//!   `get_event_information`, `subscribe_cov_property_multiple`,
//!   `confirmed_cov_notification_multiple`, `confirmed_audit_notification`,
//!   `audit_log_query`.
//! * Unconfirmed services (code = service choice): `i_am`, `i_have`,
//!   `unconfirmed_cov_notification`, `unconfirmed_event_notification`,
//!   `unconfirmed_private_transfer`, `unconfirmed_text_message`,
//!   `time_synchronization`, `who_has`, `who_is`,
//!   `utc_time_synchronization`, `write_group`,
//!   `unconfirmed_cov_notification_multiple`,
//!   `unconfirmed_audit_notification`, `who_am_i`, `you_are`.
//! * Unpaired PDUs without a service (code = APDU type): `segment_ack`,
//!   `reject`, `abort`.
//! * Network layer messages (code = message type):
//!   `who_is_router_to_network`, `i_am_router_to_network`, ...,
//!   `what_is_network_number`, `network_number_is`,
//!   `proprietary_network_message`.
//! * BVLC control (code = BVLC function): `bvlc_result`,
//!   `write_broadcast_distribution_table`,
//!   `read_broadcast_distribution_table(_ack)`, `register_foreign_device`,
//!   `read_foreign_device_table(_ack)`,
//!   `delete_foreign_device_table_entry`, `secure_bvll`.
//!
//! Classes: reads/subscriptions/summaries `read`; write/list/create/delete
//! object `write`; atomic file services `file`; device communication
//! control `mode_change`; reinitialize device (every state, see attr
//! `device_state`) `restart`; Who-Is/I-Am/Who-Has/I-Have/Who-Am-I/You-Are
//! and router discovery `discovery`; notifications `report`; acknowledge
//! alarm and life safety operation `command`; time synchronisation
//! `diagnostic`; VT sessions `session`; authenticate/request key and
//! network security messages `security`.
//!
//! `Op` fields: `unit` = the addressed device instance (a device object in
//! the request, else the instance learned from that side's I-Am or device
//! object reads; for I-Am/I-Have the sender's device), `object` =
//! `analog-value,3`, `address` = object instance, `quantity` = property
//! references of a multiple-property service or file octets/records,
//! `values` = written / notified numeric values, `status` = error code,
//! reject reason or abort reason. Attrs: `pdu_type`, `invoke_id`,
//! `property`, `array_index`, `priority`, `device_state`, `password`
//! (present flag), `time_duration`, `vendor_id`, `service_number`,
//! `range`, `object_name`, `device_instance`, `result`
//! (`error`/`reject`/`abort`), `error_class`, `result_code`, `is_orig`
//! (the request/PDU came from the flow originator), `dnet`, `snet`.
//! Identity: an I-Am sets `id_vendor` (vendor name when known, else the
//! number; `vendor_id` is always the number) for its sender; a read of the
//! device object's vendor-name / vendor-identifier / model-name /
//! firmware-revision / object-name / serial-number sets `id_vendor`,
//! `id_model`, `id_version`, `id_name`, `id_serial` for the responder.
//! I-Am and I-Have ops are `response_only` (answers to a discovery).
//!
//! # EVE shape (`"bacnet"`)
//!
//! ```json
//! {"tx_id":0,"is_orig":true,"bvlc_function":"original_unicast_npdu",
//!  "request":{"pdu_type":"confirmed_request","pdu_service":"write_property",
//!    "service_choice":15,"invoke_id":2,"object_type":"analog-output",
//!    "instance_number":101,"property":"present-value","priority":16,
//!    "values":["80.0"]},
//!  "response":{"pdu_type":"simple_ack","pdu_service":"write_property",
//!    "service_choice":15,"invoke_id":2,"result":"success"}}
//! ```
//! Optional top-level parts: `forwarded_from`, `npdu` (`dnet`, `dadr`,
//! `snet`, `sadr`, `hop_count`, only when routed), `network_message`
//! (`message_type`, `code`, `vendor_id`, `networks`), `bvlc` (`ttl`,
//! `entries`, `result`). See [`event::ApduInfo`] for every request /
//! response field. Passwords are never logged, only their presence.

pub mod event;
pub mod names;
pub mod parser;
pub mod state;

pub use event::{ApduInfo, BacnetEvent};
pub use parser::ParseError;
pub use state::BacnetState;

/// True when the UDP payload is a BACnet/IP (BVLC type 0x81) datagram:
/// known function, length field equal to the payload length, NPDU version
/// 1 and a valid APDU type when an NPDU is carried. Recognised on any
/// port.
pub fn probe_datagram(payload: &[u8], _sport: u16, _dport: u16) -> bool {
    let Ok(b) = parser::parse_bvlc(payload) else {
        return false;
    };
    if usize::from(b.length) != payload.len() {
        return false;
    }
    match b.npdu {
        None => true,
        Some(n) => match parser::parse_npdu(n) {
            Ok(n) if n.is_network_message() => true,
            Ok(n) => parser::parse_apdu(n.payload).is_ok(),
            Err(_) => false,
        },
    }
}

#[cfg(test)]
mod tests;
