//! MMS (ISO 9506) over the OSI upper layers on ISO-on-TCP (port 102):
//! IEC 61850-8-1 client/server traffic and IEC 60870-6 TASE.2 / ICCP.
//!
//! # Spec notes
//!
//! The TPKT (RFC 1006) / COTP (ISO 8073 class 0) layers are decoded
//! elsewhere; [`MmsState::input_tsdu`] gets each reassembled COTP TSDU.
//!
//! * **Session** (ISO 8327-1 §8): an SPDU is SI (1 octet), LI (1 octet, or
//!   0xff + 2 octets) and LI octets of parameters (PI/PGI code, length,
//!   value). CONNECT (SI 13) / ACCEPT (14) / REFUSE (12) / FINISH (9) /
//!   DISCONNECT (10) / NOT FINISHED (8) / ABORT (25) carry the
//!   presentation PPDU in the User Data parameter (PGI 193, or Extended
//!   User Data 194). Data travels as GIVE TOKENS (SI 1, LI 0) concatenated
//!   with DATA TRANSFER (SI 1): the PPDU is the user information after the
//!   DT parameters (`01 00 01 00 <ppdu>`); a lone DT or TYPED DATA (33) is
//!   accepted too. Quirks accepted: LI larger than the TSDU is clipped; a
//!   zero-length User Data parameter followed by more bytes yields those
//!   bytes (a server in the test captures does this; tshark calls the
//!   SPDU malformed); a TSDU starting with a context-class tag (>= 0x80)
//!   is a bare MMS PDU without session/presentation (test generators).
//! * **Presentation** (ISO 8823-1 §8): CP-type / CPA-PPDU are SETs whose
//!   normal-mode-parameters [2] end with User-data; CPR-PPDU (SEQUENCE)
//!   and ARU-PPDU ([0]) likewise. User-data is fully-encoded-data
//!   [APPLICATION 1] = SEQUENCE OF PDV-list { transfer-syntax-name OID
//!   OPTIONAL, presentation-context-identifier INTEGER, single-ASN1-type
//!   [0] | octet-aligned [1] | arbitrary [2] }, or simply-encoded-data
//!   [APPLICATION 0]. Presentation contexts are not tracked: an embedded
//!   PDU with an APPLICATION tag is ACSE, a context-specific tag is MMS
//!   (so flows picked up mid-association decode too).
//! * **ACSE** (ISO 8650-1): AARQ [APPLICATION 0] / AARE [1] / RLRQ [2] /
//!   RLRE [3] / ABRT [4]. Logged: application context name, calling /
//!   called / responding AP title (OID form) and AE qualifier, mechanism
//!   name, the kind of authentication value (never the value), AARE
//!   result. The MMS PDU rides in user-information [30] = SEQUENCE OF
//!   EXTERNAL { direct-reference, indirect-reference, encoding
//!   single-ASN1-type [0] | octet-aligned [1] }.
//! * **MMS** (ISO 9506-2 §7): MMSpdu CHOICE confirmed-RequestPDU [0] {
//!   invokeID, listOfModifier OPTIONAL, ConfirmedServiceRequest },
//!   confirmed-ResponsePDU [1], confirmed-ErrorPDU [2] { invokeID [0],
//!   modifierPosition [1], serviceError [2] }, unconfirmed-PDU [3],
//!   rejectPDU [4] { originalInvokeID [0], rejectReason [1..11] },
//!   cancel-Request/Response/Error [5..7], initiate-Request/Response/Error
//!   [8..10] { localDetail [0], maxServOutstandingCalling [1] / Called [2],
//!   dataStructureNestingLevel [3], initDetail [4] { version [0],
//!   parameterCBB [1], servicesSupported [2] } }, conclude-Request /
//!   Response / Error [11..13]. Service tags above 30 use the BER
//!   high-tag-number form (`9f 27` = [39], `bf 48` = [72]); see
//!   [`crate::proto::ber`].
//! * Decoded service details: getNameList (object class, scope, domain,
//!   continueAfter; response identifiers, moreFollows), identify (vendor /
//!   model / revision), status, read / write / informationReport
//!   (variable access specification: list of variables as
//!   `domainId/itemId`, or a variable list name; `Data` values), write
//!   results, getVariableAccessAttributes, define / get / delete named
//!   variable lists, the domain services (download / upload sequences,
//!   load / store domain content, delete domain), program invocation
//!   services (create, delete, start, stop, resume, reset, kill), file
//!   services (fileOpen / Read / Close / Rename / Delete / Directory,
//!   obtainFile), and the object name of the semaphore, event and journal
//!   services. `Data` (ISO 9506-2 §14.4): array, structure, boolean,
//!   bit-string, integer, unsigned, floating-point (exponent-width octet 8
//!   or 11, then IEEE 754), octet-string, visible-string, generalized-time,
//!   binary-time, bcd, booleanArray, objId, MMSString, utc-time.
//!
//! # Pairing and bounds
//!
//! Confirmed requests wait for the response / error / reject with the same
//! invoke ID coming the other way (requests are tracked per direction:
//! ICCP peers both send requests). At most [`state::MAX_PENDING`] (64)
//! requests wait; the oldest is then logged request-only, as is any still
//! waiting at [`MmsState::finish`] or whose invoke ID is reused.
//! initiate and conclude pair by order. Strings are cut at
//! [`parser::MAX_STR`] (256) bytes, lists at [`parser::MAX_ITEMS`] (64)
//! entries (`truncated: true`), `Data` at 8 levels and 256 nodes per
//! message, at most 8 PDVs per TSDU. The state holds no byte buffers.
//!
//! # Op vocabulary (`Op::proto = "mms"`)
//!
//! `function` is the service name: the confirmed services in
//! [`parser::SERVICES`] (`read`, `write`, `get_name_list`, `identify`,
//! `file_open`, `delete_program_invocation`, ...; `code` is the service
//! tag), the unconfirmed `information_report` / `unsolicited_status` /
//! `event_notification` (response-only, class Report), and `initiate`,
//! `conclude`, `cancel`, `abort` (class Session), `reject` for an
//! unmatched rejectPDU, `unknown`. Classes: read, read_journal,
//! get_alarm_* = Read; write, write_journal = Write, but a write to an IEC
//! 61850 control object (functional constraint `$CO$`: Oper, SBOw,
//! Cancel) = Command; status = Diagnostic; identify, get_name_list,
//! get_capability_list, get_*_attributes, report_*_status = Discovery;
//! download sequence, request_domain_download, load_domain_content and
//! delete_domain (replaces / removes program content) = Download; upload
//! sequence, request_domain_upload, store_domain_content = Upload;
//! create / delete_program_invocation, start, stop, resume, kill =
//! ModeChange; reset (program invocation back to idle) = Restart; file
//! services and obtain_file = File; define / delete / rename of lists,
//! types, semaphores, events, journals = Other.
//! `object` is the RptID of a report, else the first variable, the
//! variable list, the program invocation, object name, domain or file. `quantity` = number of
//! variables. `values` = write data flattened (booleans 0/1, numbers).
//! An unmatched response that names no service has function `unknown`
//! and code `u32::MAX`.
//! `status`: error class tag (0..12) for an error PDU, 0x100 + rejected PDU
//! type for a reject, 0x200 + DataAccessError of the first failed write
//! item, the AARE result of a refused association. attrs: `invoke_id`,
//! `domain`, `object_class`, `authentication`, `error_class`, `error_code`,
//! and from an identify response `id_vendor`, `id_model`, `id_version`.
//!
//! # EVE shape (`"mms": {...}`)
//!
//! ```json
//! {"tx_id":3,"pdu":"confirmed","service":"read","invoke_id":4432,
//!  "direction":"to_client","request":{"variables":[
//!   "KIRKLAND/Bilateral_Table_ID","TASE2_Version","Supported_Features"]},
//!  "response":{"result":"success","data":[{"visible_string":"1.0"},
//!   {"structure":[{"integer":1996},{"integer":8}]},
//!   {"bit_string":"111110110000"}]}}
//! {"tx_id":8,"pdu":"confirmed","service":"write","invoke_id":4436,
//!  "direction":"to_client","request":{"variables":["KIRKLAND/CITEC_TS0"],
//!   "data":[{"structure":[{"unsigned":1},{"boolean":true}]}]},
//!  "response":{"result":"success","data":["success"]}}
//! {"tx_id":1,"pdu":"confirmed","service":"identify","invoke_id":1,
//!  "direction":"to_server","request":{},"response":{"result":"success",
//!   "vendor":"INFO TECH","model":"S61850 for PC","revision":"0.0.1"}}
//! {"tx_id":1,"pdu":"confirmed","service":"get_variable_access_attributes",
//!  "invoke_id":303731,"direction":"to_server",
//!  "request":{"variables":["AA1E1Q01FP2LD0/LLN0$BR$rcb_B02"]},
//!  "response":{"result":"error","error_class":"access","error_code":2}}
//! {"tx_id":0,"pdu":"initiate","service":"initiate","direction":"to_server",
//!  "request":{"local_detail":32000,"max_serv_outstanding_calling":20,
//!   "max_serv_outstanding_called":20,"data_structure_nesting_level":4,
//!   "version":1,"parameter_cbb":"05fb00",
//!   "services_supported":"036e1d000000000064000198",
//!   "application_context":"1.0.9506.1.1","ap_title":"1.1.1",
//!   "ae_qualifier":1,"called_ap_title":"1.1.2","called_ae_qualifier":2},
//!  "response":{"result":"success","version":1,"ap_title":"1.1.2",
//!   "ae_qualifier":2,"acse_result":0}}
//! {"tx_id":0,"pdu":"unconfirmed","service":"information_report",
//!  "direction":"to_client","request":{"variable_list":"RPT",
//!   "data":[{"visible_string":"AA1C1Q01A1LD0/LLN0$rcb_I02"},
//!    {"bit_string":"0101000000"},{"unsigned":57},...],
//!   "report_id":"AA1C1Q01A1LD0/LLN0$rcb_I02"}}
//! {"tx_id":4,"pdu":"abort","service":"abort","direction":"to_client",
//!  "request":{"acse_result":1}}
//! ```
//! See [`event::MmsMessage`] for every field.

pub mod event;
pub mod parser;
pub mod state;

pub use event::{MmsEvent, MmsMessage};
pub use parser::{decode_tsdu, parse_pdu, DataValue, MmsError, MmsPdu, Spdu};
pub use state::MmsState;

use crate::proto::common::Probe;

/// Does a COTP TSDU look like MMS (session SPDU carrying a presentation
/// PPDU with ACSE or MMS inside, or a bare MMS PDU)? Used to tell MMS from
/// S7comm (0x32) / S7comm-plus (0x72) on port 102.
pub fn probe_tsdu(tsdu: &[u8]) -> Probe {
    if tsdu.is_empty() {
        return Probe::NeedMore;
    }
    match decode_tsdu(tsdu) {
        Ok(d) if d.spdu == Spdu::Bare => {
            if d.mms.first().is_some_and(|m| parse_pdu(m).is_ok()) {
                Probe::Yes
            } else {
                Probe::No
            }
        }
        Ok(d) if d.acse.is_some() || !d.mms.is_empty() => Probe::Yes,
        _ => Probe::No,
    }
}

#[cfg(test)]
mod tests {
    use super::parser::tests::unhex;
    use super::*;
    use crate::proto::common::{Frame, StreamBuf};

    // --- fixtures (TSDUs from the test captures, annotated) -----------------

    /// iec61850_read.pcap frame 8: CONNECT with AARQ and initiate-Request.
    /// 0d b2                  CONNECT SPDU, LI 178
    ///   05 06 13 01 00 16 01 02   Connect/Accept Item: options, version 2
    ///   14 02 00 02          Session User Requirements
    ///   33 02 00 01 34 02 00 01   calling / called session selectors
    ///   c1 9c                User Data, 156 octets:
    ///     31 81 99           CP-type SET
    ///       a0 03 80 01 01   mode-selector normal
    ///       a2 81 91         normal-mode-parameters
    ///         81 04 .. 82 04 ..   calling / called presentation selectors
    ///         a4 23          context definition list (ACSE 1, MMS 3)
    ///         88 02 06 00    presentation-requirements
    ///         61 5a 30 58 02 01 01 a0 53   User-data, PDV context 1 (ACSE)
    ///           60 51        AARQ: a1 aSO-context 1.0.9506.2.3,
    ///                        a2 called AP title 1.3.9999.2, a3 qualifier 23
    ///             be 35 28 33 06 02 51 01 02 01 03 a0 2a   EXTERNAL ctx 3
    ///               a8 28    initiate-RequestPDU: localDetail 30000,
    ///                        maxServOutstanding 1000/1000, nesting 5,
    ///                        initDetail { version 1, CBB, services }
    pub(crate) const CONNECT: &str = "0db20506130100160102140200023302000134020001c19c318199a003800101a28191810400000001820400000001a423300f0201010604520100013004060251013010020103060528ca22020130040602510188020600615a3058020101a053605180020780a107060528ca220203a20606042bce0f02a303020117be35283306025101020103a02aa82880027530810203e8820203e8830105a417800101810305fb00820d03ffffffffffffffffffffff00";

    /// piccolo.pcap frame 2: ACCEPT with CPA-PPDU, AARE (result 0) and
    /// initiate-ResponsePDU (a9).
    pub(crate) const ACCEPT: &str = "0e95050613010016010214020002c187318184a003800101a27d830400000001a5123007800100810251013007800100810251016161305f020101a05a6158a107060528ca220203a203020100a305a103020100a40706052901876701a50302010cbe33283106025101020103a028a926800300c000810101820101830105a416800101810305e100820c03ee1c000004000000010010";

    /// piccolo.pcap frame 3: identify request.
    /// 01 00 01 00            GIVE TOKENS + DATA TRANSFER
    /// 61 0e 30 0c 02 01 03 a0 07   fully-encoded-data, context 3
    ///   a0 05 02 01 01       confirmed-RequestPDU, invokeID 1
    ///     82 00              identify [2] NULL
    pub(crate) const IDENTIFY_REQ: &str = "01000100610e300c020103a007a0050201018200";

    /// piccolo.pcap frame 4: identify response.
    ///   a1 26 02 01 01       confirmed-ResponsePDU, invokeID 1
    ///     a2 21              identify
    ///       80 09 "INFO TECH"  vendorName
    ///       81 0d "S61850 for PC"  modelName
    ///       82 05 "0.0.1"    revision
    pub(crate) const IDENTIFY_RSP: &str = "01000100612f302d020103a028a126020101a2218009494e464f2054454348810d53363138353020666f722050438205302e302e31";

    /// mms-session-pcapr.pcap frame 20 (server to client): read of one
    /// domain-specific and two VMD-specific variables.
    ///   a0 59 02 02 11 50    confirmed-RequestPDU, invokeID 4432
    ///     a4 53 a1 51 a0 4f  read, variableAccessSpecification, listOfVariable
    ///       30 22 a0 20 a1 1e 1a 08 "KIRKLAND" 1a 12 "Bilateral_Table_ID"
    ///       30 11 a0 0f 80 0d "TASE2_Version"
    ///       30 16 a0 14 80 12 "Supported_Features"
    pub(crate) const READ_REQ: &str = "0100010061623060020103a05ba05902021150a453a151a04f3022a020a11e1a084b49524b4c414e441a1242696c61746572616c5f5461626c655f49443011a00f800d54415345325f56657273696f6e3016a0148012537570706f727465645f4665617475726573";

    /// Frame 32 (client to server): the read response.
    ///   a1 1b 02 02 11 50    confirmed-ResponsePDU, invokeID 4432
    ///     a4 15 a1 13        read, listOfAccessResult
    ///       8a 03 "1.0"      visible-string
    ///       a2 07 85 02 07 cc 85 01 08   structure { integer 1996, integer 8 }
    ///       84 03 04 fb 00   bit-string (4 unused bits)
    pub(crate) const READ_RSP: &str =
        "0100010061243022020103a01da11b02021150a415a1138a03312e30a207850207cc850108840304fb00";

    /// Sample_File_MMS_and_GOOSE.pcap frame 124: getVariableAccessAttributes
    /// of AA1E1Q01FP2LD0/LLN0$BR$rcb_B02, invokeID 303731.
    pub(crate) const GVAA_REQ: &str = "01000100613530330201 03a02ea02c020304a273a625a023a1211a0e41413145315130314650324c44301a0f4c4c4e30244252247263625f423032";

    /// Frame 126: confirmed-ErrorPDU
    ///   a2 0c 80 03 04 a2 73 invokeID [0] 303731
    ///     a2 05 a0 03 87 01 02   serviceError { errorClass access [7] 2 }
    pub(crate) const GVAA_ERR: &str = "0100010061153013020103a00ea20c800304a273a205a003870102";

    /// mms-stopRequest.pcap frame 16 (bare MMS): stop [41] of program
    /// invocation "R395024397Application_1", invokeID 1.
    ///   a0 1f 02 01 01 bf 29 19 80 17 "R3950..."
    pub(crate) const STOP_REQ: &str =
        "a01f020101bf29198017523339353032343339374170706c69636174696f6e5f31";

    /// mms-initiateDownloadSequence.pcap frame 16 (bare MMS):
    /// initiateDownloadSequence [26] { domainName [0] "DTLogFilesDomain",
    /// listOfCapabilities [1] { "MuSecAC800M" }, sharable [2] FALSE }.
    pub(crate) const DOWNLOAD_REQ: &str =
        "a029020101ba24801044544c6f6746696c6573446f6d61696ea10d1a0b4d7553656341433830304d820100";

    /// Sample_File frame 127: informationReport (IEC 61850 report "RPT").
    pub(crate) const REPORT: &str = "0100010061693067020103a062a360a05ea1058003525054a0558a1a414131433151303141314c44302f4c4c4e30247263625f4130328403065300860208db83010089080000000000000ecd84050180000000a2168402068084030300009108486e0e927d2f1b0a83010184020240";

    /// iec61850_write.pcap frame 12: write "mu" := integer 0.
    pub(crate) const WRITE_REQ: &str =
        "01000100611d301b020103a016a014020100a50fa0083006a00480026d75a003850100";

    fn run(st: &mut MmsState, msgs: &[(bool, &str)]) -> Vec<MmsEvent> {
        let mut out = Vec::new();
        for (to_server, h) in msgs {
            st.input_tsdu(*to_server, &unhex(h), &mut out);
        }
        out
    }

    #[test]
    fn association_and_identify() {
        let mut st = MmsState::new();
        let out = run(
            &mut st,
            &[
                (true, CONNECT),
                (false, ACCEPT),
                (true, IDENTIFY_REQ),
                (false, IDENTIFY_RSP),
            ],
        );
        assert_eq!(out.len(), 2, "{out:#?}");
        let init = &out[0];
        assert_eq!(
            (init.pdu, init.service, init.tx_id),
            ("initiate", "initiate", 0)
        );
        let rq = init.request.as_ref().expect("request");
        assert_eq!(rq.local_detail, Some(30000));
        assert_eq!(rq.max_serv_outstanding_calling, Some(1000));
        assert_eq!(rq.application_context.as_deref(), Some("1.0.9506.2.3"));
        assert_eq!(rq.called_ap_title.as_deref(), Some("1.3.9999.2"));
        assert_eq!(rq.called_ae_qualifier, Some(23));
        let rs = init.response.as_ref().expect("response");
        assert_eq!(rs.acse_result, Some(0));
        assert_eq!(rs.ap_title.as_deref(), Some("1.1.1.999.1"));
        assert_eq!(rs.version, Some(1));
        let op = init.op().expect("op");
        assert_eq!(
            (op.function, op.class),
            ("initiate", rules::ot::OpClass::Session)
        );
        assert_eq!(op.status, None);

        let id = &out[1];
        assert_eq!(
            (id.service, id.invoke_id, id.tx_id),
            ("identify", Some(1), 1)
        );
        let j = serde_json::to_string(id).expect("json");
        assert_eq!(
            j,
            r#"{"tx_id":1,"pdu":"confirmed","service":"identify","invoke_id":1,"direction":"to_server","request":{},"response":{"result":"success","vendor":"INFO TECH","model":"S61850 for PC","revision":"0.0.1"}}"#
        );
        let op = id.op().expect("op");
        assert_eq!(op.class, rules::ot::OpClass::Discovery);
        assert_eq!(op.code, 2);
        assert_eq!(
            op.attr("id_vendor"),
            Some(&rules::ot::Attr::Str("INFO TECH".into()))
        );
        assert_eq!(
            op.attr("id_model"),
            Some(&rules::ot::Attr::Str("S61850 for PC".into()))
        );
        assert_eq!(
            op.attr("id_version"),
            Some(&rules::ot::Attr::Str("0.0.1".into()))
        );
        assert_eq!(st.pending(), 0);
    }

    #[test]
    fn read_from_server_side_pairs_with_client_response() {
        let mut st = MmsState::new();
        let out = run(&mut st, &[(false, READ_REQ), (true, READ_RSP)]);
        assert_eq!(out.len(), 1);
        let j = serde_json::to_string(&out[0]).expect("json");
        assert_eq!(
            j,
            r#"{"tx_id":0,"pdu":"confirmed","service":"read","invoke_id":4432,"direction":"to_client","request":{"variables":["KIRKLAND/Bilateral_Table_ID","TASE2_Version","Supported_Features"]},"response":{"result":"success","data":[{"visible_string":"1.0"},{"structure":[{"integer":1996},{"integer":8}]},{"bit_string":"111110110000"}]}}"#
        );
        let op = out[0].op().expect("op");
        assert_eq!(op.class, rules::ot::OpClass::Read);
        assert_eq!(op.object.as_deref(), Some("KIRKLAND/Bilateral_Table_ID"));
        assert_eq!(op.quantity, Some(3));
        assert!(!op.response_only);
    }

    #[test]
    fn error_response_sets_status() {
        let mut st = MmsState::new();
        let out = run(&mut st, &[(true, GVAA_REQ), (false, GVAA_ERR)]);
        assert_eq!(out.len(), 1);
        let e = &out[0];
        assert_eq!(e.service, "get_variable_access_attributes");
        assert_eq!(e.invoke_id, Some(303731));
        let r = e.response.as_ref().expect("resp");
        assert_eq!(
            (r.result, r.error_class, r.error_code),
            (Some("error"), Some("access"), Some(2))
        );
        let op = e.op().expect("op");
        assert_eq!(op.status, Some(7));
        assert_eq!(op.object.as_deref(), Some("AA1E1Q01FP2LD0/LLN0$BR$rcb_B02"));
        assert_eq!(op.class, rules::ot::OpClass::Discovery);
    }

    #[test]
    fn program_and_domain_services() {
        let mut st = MmsState::new();
        let mut out = run(&mut st, &[(true, STOP_REQ), (true, DOWNLOAD_REQ)]);
        // Same invoke ID reused: the first request is logged request-only.
        assert_eq!(out.len(), 1);
        st.finish(&mut out);
        assert_eq!(out.len(), 2);
        let op = out[0].op().expect("op");
        assert_eq!(
            (op.function, op.code, op.class),
            ("stop", 41, rules::ot::OpClass::ModeChange)
        );
        assert_eq!(op.object.as_deref(), Some("R395024397Application_1"));
        let op = out[1].op().expect("op");
        assert_eq!(op.function, "initiate_download_sequence");
        assert_eq!(op.class, rules::ot::OpClass::Download);
        assert_eq!(op.object.as_deref(), Some("DTLogFilesDomain"));
        assert_eq!(
            out[1].request.as_ref().map(|r| r.names.clone()),
            Some(vec!["MuSecAC800M".to_owned()])
        );
    }

    #[test]
    fn reused_invoke_id_flushes_older_request() {
        let mut st = MmsState::new();
        let out = run(&mut st, &[(true, STOP_REQ), (true, STOP_REQ)]);
        assert_eq!(out.len(), 1);
        assert!(out[0].response.is_none());
        assert_eq!(st.pending(), 1);
    }

    #[test]
    fn information_report_is_response_only() {
        let mut st = MmsState::new();
        let out = run(&mut st, &[(false, REPORT)]);
        assert_eq!(out.len(), 1);
        let e = &out[0];
        assert_eq!((e.pdu, e.service), ("unconfirmed", "information_report"));
        let rq = e.request.as_ref().expect("report");
        assert_eq!(rq.variable_list.as_deref(), Some("RPT"));
        assert_eq!(rq.report_id.as_deref(), Some("AA1C1Q01A1LD0/LLN0$rcb_A02"));
        let j = serde_json::to_string(&rq.data).expect("json");
        assert!(
            j.contains(r#"{"utc_time":"2008-07-04T11:50:42.489000022Z"}"#),
            "{j}"
        );
        assert!(matches!(rq.data[0], DataValue::VisibleString(_)));
        let op = e.op().expect("op");
        assert!(op.response_only);
        assert_eq!(op.class, rules::ot::OpClass::Report);
        assert_eq!(op.object.as_deref(), Some("AA1C1Q01A1LD0/LLN0$rcb_A02"));
    }

    #[test]
    fn write_values_and_control_class() {
        let mut st = MmsState::new();
        let mut out = run(&mut st, &[(true, WRITE_REQ)]);
        st.finish(&mut out);
        let op = out[0].op().expect("op");
        assert_eq!(
            (op.function, op.class),
            ("write", rules::ot::OpClass::Write)
        );
        assert_eq!(op.values, vec![0.0]);
        assert_eq!(op.object.as_deref(), Some("mu"));
        // A write to a CO (control) object is a command; a failed write
        // sets status 0x200 + DataAccessError.
        // a0 .. 02 01 05 a5 ..: write { listOfVariable { domain-specific
        // "LD0" / "CSWI1$CO$Pos$Oper" }, listOfData { structure { boolean
        // TRUE } } }
        let name = b"CSWI1$CO$Pos$Oper";
        let mut var = vec![0x1a, 3, b'L', b'D', b'0', 0x1a, name.len() as u8];
        var.extend(name);
        let mut spec = vec![0xa1, var.len() as u8];
        spec.extend(&var);
        let mut vs = vec![0xa0, spec.len() as u8];
        vs.extend(&spec);
        let mut item = vec![0x30, vs.len() as u8];
        item.extend(&vs);
        let mut lov = vec![0xa0, item.len() as u8];
        lov.extend(&item);
        let data = [0xa0, 0x05, 0xa2, 0x03, 0x83, 0x01, 0x01];
        let mut w = lov.clone();
        w.extend(data);
        let mut svc = vec![0xa5, w.len() as u8];
        svc.extend(&w);
        let mut req = vec![0xa0, (svc.len() + 3) as u8, 0x02, 0x01, 0x05];
        req.extend(&svc);
        let rsp = [0xa1, 0x08, 0x02, 0x01, 0x05, 0xa5, 0x03, 0x80, 0x01, 0x03];
        let mut out = Vec::new();
        st.input_tsdu(true, &req, &mut out);
        st.input_tsdu(false, &rsp, &mut out);
        assert_eq!(out.len(), 1);
        let op = out[0].op().expect("op");
        assert_eq!(op.class, rules::ot::OpClass::Command);
        assert_eq!(op.values, vec![1.0]);
        assert_eq!(op.object.as_deref(), Some("LD0/CSWI1$CO$Pos$Oper"));
        assert_eq!(op.status, Some(0x203));
        let j = serde_json::to_value(&out[0]).expect("json");
        assert_eq!(j["response"]["data"][0]["failure"], "object_access_denied");
    }

    #[test]
    fn unmatched_response_and_conclude() {
        let mut st = MmsState::new();
        // conclude-Request (8b 00) then conclude-Response (8c 00), bare.
        let out = run(
            &mut st,
            &[(false, IDENTIFY_RSP), (true, "8b00"), (false, "8c00")],
        );
        assert_eq!(out.len(), 2);
        assert!(out[0].request.is_none());
        let op = out[0].op().expect("op");
        assert!(op.response_only);
        assert_eq!(op.function, "identify");
        assert_eq!(
            op.attr("id_vendor"),
            Some(&rules::ot::Attr::Str("INFO TECH".into()))
        );
        assert_eq!(
            (out[1].service, out[1].direction),
            ("conclude", "to_server")
        );
        assert!(out[1].request.is_some() && out[1].response.is_some());
    }

    #[test]
    fn reject_pairs_by_invoke_id() {
        let mut st = MmsState::new();
        // rejectPDU a4 06 { originalInvokeID [0] 1, confirmed-requestPDU [1] 1 }
        let out = run(
            &mut st,
            &[(true, IDENTIFY_REQ), (false, "a406800101810101")],
        );
        assert_eq!(out.len(), 1);
        let r = out[0].response.as_ref().expect("resp");
        assert_eq!(
            (r.result, r.reject_pdu, r.reject_code),
            (Some("reject"), Some("confirmed_request"), Some(1))
        );
        assert_eq!(out[0].op().and_then(|o| o.status), Some(0x101));
    }

    #[test]
    fn probe() {
        assert_eq!(probe_tsdu(&unhex(CONNECT)), Probe::Yes);
        assert_eq!(probe_tsdu(&unhex(IDENTIFY_REQ)), Probe::Yes);
        assert_eq!(probe_tsdu(&unhex(STOP_REQ)), Probe::Yes);
        assert_eq!(probe_tsdu(&[]), Probe::NeedMore);
        // S7comm job header.
        assert_eq!(
            probe_tsdu(&unhex("320100000a00000e00000401120a10020001000082000000")),
            Probe::No
        );
        assert_eq!(probe_tsdu(b"GET / HTTP/1.1\r\n"), Probe::No);
    }

    /// BER TLV builder for hand-made fixtures (short or 0x81/0x82 lengths).
    fn tlv(tag: &[u8], content: &[u8]) -> Vec<u8> {
        let mut v = tag.to_vec();
        match content.len() {
            n @ 0..=127 => v.push(n as u8),
            n @ 128..=255 => v.extend([0x81, n as u8]),
            n => v.extend([0x82, (n >> 8) as u8, n as u8]),
        }
        v.extend(content);
        v
    }

    fn cat(parts: &[Vec<u8>]) -> Vec<u8> {
        parts.concat()
    }

    /// confirmed-RequestPDU { invokeID 9, service }
    fn creq(service: Vec<u8>) -> Vec<u8> {
        tlv(&[0xa0], &cat(&[tlv(&[0x02], &[9]), service]))
    }

    fn req_msg(service: Vec<u8>) -> (u32, MmsMessage) {
        match parse_pdu(&creq(service)).expect("pdu") {
            MmsPdu::ConfirmedRequest {
                service,
                msg,
                invoke_id: 9,
            } => (service, msg),
            p => panic!("{p:?}"),
        }
    }

    fn rsp_msg(service: Vec<u8>) -> MmsMessage {
        let pdu = tlv(&[0xa1], &cat(&[tlv(&[0x02], &[9]), service]));
        match parse_pdu(&pdu).expect("pdu") {
            MmsPdu::ConfirmedResponse { msg, .. } => msg,
            p => panic!("{p:?}"),
        }
    }

    #[test]
    fn service_fixtures() {
        let vis = |s: &str| tlv(&[0x1a], s.as_bytes());
        let gstr = |s: &str| tlv(&[0x19], s.as_bytes());
        // ObjectName domain-specific [1] { "LD0", "LLN0$DS1" }
        let dom_name = tlv(&[0xa1], &cat(&[vis("LD0"), vis("LLN0$DS1")]));

        // getNameList [1] { objectClass [0] { basicObjectClass [0] 9 (domain) },
        // objectScope [1] { vmdSpecific [0] NULL } } (iec61850_get_name_list
        // frame 12 asks for class 0 named variables).
        let (s, m) = req_msg(tlv(
            &[0xa1],
            &cat(&[tlv(&[0xa0], &[0x80, 1, 9]), tlv(&[0xa1], &[0x80, 0])]),
        ));
        assert_eq!(
            (s, m.object_class, m.scope),
            (1, Some("domain"), Some("vmd"))
        );
        // getNameList domain scope: objectScope [1] { domainSpecific [1] "LD0" },
        // continueAfter [2] "X".
        let (_, m) = req_msg(tlv(
            &[0xa1],
            &cat(&[
                tlv(&[0xa0], &[0x80, 1, 0]),
                tlv(&[0xa1], &tlv(&[0x81], b"LD0")),
                tlv(&[0x82], b"X"),
            ]),
        ));
        assert_eq!(
            (m.scope, m.domain.as_deref(), m.continue_after.as_deref()),
            (Some("domain"), Some("LD0"), Some("X"))
        );
        // getNameList response { listOfIdentifier [0] { "LD0", "LD1" }, moreFollows [1] FALSE }
        let m = rsp_msg(tlv(
            &[0xa1],
            &cat(&[
                tlv(&[0xa0], &cat(&[vis("LD0"), vis("LD1")])),
                vec![0x81, 1, 0],
            ]),
        ));
        assert_eq!(
            (m.names.clone(), m.more_follows),
            (vec!["LD0".to_owned(), "LD1".to_owned()], Some(false))
        );

        // status response [0] { vmdLogicalStatus [0] 0, vmdPhysicalStatus [1] 2 }
        let m = rsp_msg(tlv(&[0xa0], &[0x80, 1, 0, 0x81, 1, 2]));
        assert_eq!(
            (m.vmd_logical_status, m.vmd_physical_status),
            (Some("state_changes_allowed"), Some("inoperable"))
        );

        // defineNamedVariableList [11] { variableListName, listOfVariable [0] {
        // SEQUENCE { name [0] { vmd-specific [0] "V" } } } }
        let item = tlv(&[0x30], &tlv(&[0xa0], &tlv(&[0x80], b"V")));
        let (s, m) = req_msg(tlv(&[0xab], &cat(&[dom_name.clone(), tlv(&[0xa0], &item)])));
        assert_eq!(
            (s, m.variable_list.as_deref(), m.variables.clone()),
            (11, Some("LD0/LLN0$DS1"), vec!["V".to_owned()])
        );
        // getNamedVariableListAttributes [12] ObjectName
        let (s, m) = req_msg(tlv(&[0xac], &dom_name));
        assert_eq!((s, m.variable_list.as_deref()), (12, Some("LD0/LLN0$DS1")));
        // deleteNamedVariableList [13] { listOfVariableListName [1] { ObjectName } }
        let (s, m) = req_msg(tlv(&[0xad], &tlv(&[0xa1], &dom_name)));
        assert_eq!(
            (s, m.variable_list.as_deref(), m.names.len()),
            (13, Some("LD0/LLN0$DS1"), 1)
        );

        // fileOpen [72] { fileName [0] { "COMTRADE", "x.cfg" }, initialPosition [1] 0 }
        let (s, m) = req_msg(tlv(
            &[0xbf, 0x48],
            &cat(&[
                tlv(&[0xa0], &cat(&[gstr("COMTRADE"), gstr("x.cfg")])),
                vec![0x81, 1, 0],
            ]),
        ));
        assert_eq!(
            (s, m.files.clone()),
            (72, vec!["COMTRADE/x.cfg".to_owned()])
        );
        // fileOpen response { frsmID [0] 7, fileAttributes [1] { sizeOfFile [0] 1000 } }
        let m = rsp_msg(tlv(
            &[0xbf, 0x48],
            &cat(&[vec![0x80, 1, 7], tlv(&[0xa1], &[0x80, 2, 0x03, 0xe8])]),
        ));
        assert_eq!((m.frsm_id, m.file_size), (Some(7), Some(1000)));
        // fileRead [73] frsmID 7; fileClose [74]
        let (s, m) = req_msg(vec![0x9f, 0x49, 1, 7]);
        assert_eq!((s, m.frsm_id), (73, Some(7)));
        // fileDelete [76] FileName
        let (s, m) = req_msg(tlv(&[0xbf, 0x4c], &gstr("/etc/cfg")));
        assert_eq!((s, m.files.clone()), (76, vec!["/etc/cfg".to_owned()]));
        // fileRename [75] { current [0], new [1] }
        let (s, m) = req_msg(tlv(
            &[0xbf, 0x4b],
            &cat(&[tlv(&[0xa0], &gstr("a")), tlv(&[0xa1], &gstr("b"))]),
        ));
        assert_eq!(
            (s, m.files.clone()),
            (75, vec!["a".to_owned(), "b".to_owned()])
        );
        // fileDirectory response { listOfDirectoryEntry [0] { { fileName [0] {"f1"} } }, moreFollows [1] TRUE }
        let entry = tlv(&[0x30], &tlv(&[0xa0], &gstr("f1")));
        let m = rsp_msg(tlv(
            &[0xbf, 0x4d],
            &cat(&[tlv(&[0xa0], &entry), vec![0x81, 1, 1]]),
        ));
        assert_eq!(
            (m.files.clone(), m.more_follows),
            (vec!["f1".to_owned()], Some(true))
        );
        // obtainFile [46] { sourceFile [1] {"s"}, destinationFile [2] {"d"} }
        let (s, m) = req_msg(tlv(
            &[0xbf, 0x2e],
            &cat(&[tlv(&[0xa1], &gstr("s")), tlv(&[0xa2], &gstr("d"))]),
        ));
        assert_eq!(
            (s, m.files.clone()),
            (46, vec!["s".to_owned(), "d".to_owned()])
        );

        // deleteDomain [36] "PLC1"; initiateUploadSequence [29] "PLC1"
        let (s, m) = req_msg(tlv(&[0x9f, 0x24], b"PLC1"));
        assert_eq!((s, m.domain.as_deref()), (36, Some("PLC1")));
        let (s, m) = req_msg(tlv(&[0x9d], b"PLC1"));
        assert_eq!((s, m.domain.as_deref()), (29, Some("PLC1")));
        // uploadSegment [30] ulsmID 3
        let (s, m) = req_msg(vec![0x9e, 1, 3]);
        assert_eq!((s, m.ulsm_id), (30, Some(3)));
        // createProgramInvocation [38] { name [0] "P", listOfDomainName [1] { "D" } }
        let (s, m) = req_msg(tlv(
            &[0xbf, 0x26],
            &cat(&[tlv(&[0x80], b"P"), tlv(&[0xa1], &vis("D"))]),
        ));
        assert_eq!(
            (s, m.program_invocation.as_deref(), m.names.clone()),
            (38, Some("P"), vec!["D".to_owned()])
        );
        // kill [44] { programInvocationName [0] "P" }
        let (s, m) = req_msg(tlv(&[0xbf, 0x2c], &tlv(&[0x80], b"P")));
        assert_eq!((s, m.program_invocation.as_deref()), (44, Some("P")));
        // takeControl [19] { semaphoreName [0] { vmd-specific "S" } }
        let (s, m) = req_msg(tlv(&[0xb3], &tlv(&[0xa0], &tlv(&[0x80], b"S"))));
        assert_eq!((s, m.object_name.as_deref()), (19, Some("S")));
        // readJournal [65] { journalName [0] { aa-specific [2] "J" } }
        let (s, m) = req_msg(tlv(&[0xbf, 0x41], &tlv(&[0xa0], &tlv(&[0x82], b"J"))));
        assert_eq!((s, m.object_name.as_deref()), (65, Some("@J")));

        // cancel-RequestPDU [5] 9 / cancel-ResponsePDU [6] 9 pair.
        let mut st = MmsState::new();
        let mut out = Vec::new();
        st.input_tsdu(true, &[0x85, 1, 9], &mut out);
        st.input_tsdu(false, &[0x86, 1, 9], &mut out);
        assert_eq!(
            (out.len(), out[0].pdu, out[0].invoke_id),
            (1, "cancel", Some(9))
        );
        // initiate-ErrorPDU [10] { errorClass [0] { initiate [8] 1 } }
        st.input_tsdu(true, &tlv(&[0xa8], &[0x81, 1, 5]), &mut out);
        st.input_tsdu(false, &tlv(&[0xaa], &tlv(&[0xa0], &[0x88, 1, 1])), &mut out);
        let r = out[1].response.as_ref().expect("resp");
        assert_eq!(
            (out[1].service, r.result, r.error_class),
            ("initiate", Some("error"), Some("initiate"))
        );
        assert_eq!(out[1].op().and_then(|o| o.status), Some(8));
    }

    #[test]
    fn abort_and_release() {
        // Session ABORT (19) with User Data (c1): ARU-PPDU [0] { user-data
        // 61 { PDV { 02 01 01, a0 { ABRT 64 { abort-source [0] 1 } } } } }
        let abrt = tlv(&[0x64], &[0x80, 1, 1]);
        let pdv = tlv(&[0x30], &cat(&[vec![0x02, 1, 1], tlv(&[0xa0], &abrt)]));
        let aru = tlv(&[0xa0], &tlv(&[0x61], &pdv));
        let mut tsdu = vec![0x19, (aru.len() + 2) as u8, 0xc1, aru.len() as u8];
        tsdu.extend(&aru);
        let mut st = MmsState::new();
        let mut out = Vec::new();
        st.input_tsdu(false, &tsdu, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!((out[0].pdu, out[0].direction), ("abort", "to_client"));
        assert_eq!(out[0].request.as_ref().and_then(|r| r.acse_result), Some(1));
        assert_eq!(
            out[0].op().map(|o| o.class),
            Some(rules::ot::OpClass::Session)
        );
        // Bare session ABORT without user data.
        st.input_tsdu(true, &[0x19, 0x03, 0x11, 0x01, 0x09], &mut out);
        assert_eq!((out.len(), out[1].pdu), (2, "abort"));
        // FINISH with RLRQ: no event.
        let rlrq = tlv(&[0x62], &[0x80, 1, 0]);
        let pdv = tlv(&[0x30], &cat(&[vec![0x02, 1, 1], tlv(&[0xa0], &rlrq)]));
        let ud = tlv(&[0x61], &pdv);
        let mut tsdu = vec![0x09, (ud.len() + 2) as u8, 0xc1, ud.len() as u8];
        tsdu.extend(&ud);
        st.input_tsdu(true, &tsdu, &mut out);
        assert_eq!(out.len(), 2);
        assert_eq!(st.errors, 0);
    }

    // --- split points: TPKT/COTP stream framing in the test -----------------

    /// TPKT framing (RFC 1006): 03 00 len16.
    fn tpkt(h: &[u8], _resync: bool) -> Frame {
        match h {
            [3, 0, a, b, ..] => Frame::Len(usize::from(u16::from_be_bytes([*a, *b])).max(7)),
            [3] | [3, 0] | [3, 0, _] | [] => Frame::Need,
            _ => Frame::Skip(1),
        }
    }

    /// Minimal TPKT + COTP DT reassembly feeding MmsState (test only; the
    /// real one lives in the COTP decoder).
    #[derive(Default)]
    struct Iso {
        ts: Option<StreamBuf>,
        tc: Option<StreamBuf>,
        tsdu: [Vec<u8>; 2],
    }

    impl Iso {
        fn input(
            &mut self,
            st: &mut MmsState,
            to_server: bool,
            data: &[u8],
            out: &mut Vec<MmsEvent>,
        ) {
            let sb = if to_server {
                &mut self.ts
            } else {
                &mut self.tc
            };
            let sb = sb.get_or_insert_with(|| StreamBuf::new(65_536));
            let acc = &mut self.tsdu[usize::from(to_server)];
            sb.feed(data, tpkt, |pdu| {
                // COTP: LI, code (0xf0 = DT), TPDU-NR/EOT.
                let Some(&li) = pdu.get(4) else { return };
                let hdr = 5 + usize::from(li);
                if pdu.get(5).map(|c| c & 0xf0) != Some(0xf0) || pdu.len() < hdr {
                    return;
                }
                acc.extend_from_slice(&pdu[hdr..]);
                if pdu.get(6).is_some_and(|n| n & 0x80 != 0) {
                    st.input_tsdu(to_server, acc, out);
                    acc.clear();
                }
            });
        }
    }

    fn framed(tsdu: &[u8], parts: usize) -> Vec<u8> {
        // Split the TSDU over `parts` DT TPDUs.
        let mut v = Vec::new();
        let chunk = tsdu.len().div_ceil(parts).max(1);
        let chunks: Vec<&[u8]> = tsdu.chunks(chunk).collect();
        for (i, c) in chunks.iter().enumerate() {
            let eot = if i + 1 == chunks.len() { 0x80 } else { 0x00 };
            let len = (c.len() + 7) as u16;
            v.extend([3, 0]);
            v.extend(len.to_be_bytes());
            v.extend([2, 0xf0, eot]);
            v.extend(*c);
        }
        v
    }

    #[test]
    fn split_at_every_byte() {
        let req = framed(&unhex(READ_REQ), 2);
        let rsp = framed(&unhex(READ_RSP), 1);
        let whole = {
            let (mut st, mut iso, mut out) = (MmsState::new(), Iso::default(), Vec::new());
            iso.input(&mut st, false, &req, &mut out);
            iso.input(&mut st, true, &rsp, &mut out);
            st.finish(&mut out);
            serde_json::to_string(&out).expect("json")
        };
        assert!(whole.contains("Bilateral_Table_ID") && whole.contains("1996"));
        for (dir, bytes) in [(false, &req), (true, &rsp)] {
            for cut in 0..=bytes.len() {
                let (mut st, mut iso, mut out) = (MmsState::new(), Iso::default(), Vec::new());
                if dir {
                    iso.input(&mut st, false, &req, &mut out);
                }
                iso.input(&mut st, dir, &bytes[..cut], &mut out);
                iso.input(&mut st, dir, &bytes[cut..], &mut out);
                if !dir {
                    iso.input(&mut st, true, &rsp, &mut out);
                }
                st.finish(&mut out);
                assert_eq!(
                    serde_json::to_string(&out).expect("json"),
                    whole,
                    "cut {cut}"
                );
            }
        }
    }

    // --- bounds and robustness ----------------------------------------------

    #[test]
    fn pending_requests_are_bounded() {
        let mut st = MmsState::new();
        let mut out = Vec::new();
        for id in 0..10_000u32 {
            // confirmed-RequestPDU { invokeID id (4 octets), identify }
            let b = id.to_be_bytes();
            let req = [0xa0, 0x08, 0x02, 0x04, 0x00, b[1], b[2], b[3], 0x82, 0x00];
            st.input_tsdu(true, &req, &mut out);
            assert!(st.pending() <= state::MAX_PENDING);
        }
        assert_eq!(out.len(), 10_000 - state::MAX_PENDING);
        st.finish(&mut out);
        assert_eq!(out.len(), 10_000);
        assert_eq!(st.pending(), 0);
        // tx ids are consecutive.
        assert!(out.iter().enumerate().all(|(i, e)| e.tx_id == i as u64));
    }

    #[test]
    fn huge_lists_are_bounded() {
        // getNameList response with 1000 identifiers of 300 bytes.
        let ident: Vec<u8> = std::iter::once(0x1a)
            .chain([0x82, 0x01, 0x2c])
            .chain(std::iter::repeat_n(b'a', 300))
            .collect();
        let mut list = Vec::new();
        for _ in 0..1000 {
            list.extend(&ident);
        }
        let mut l0 = vec![0xa0, 0x83];
        l0.extend(&(list.len() as u32).to_be_bytes()[1..]);
        l0.extend(&list);
        let mut svc = vec![0xa1, 0x83];
        svc.extend(&(l0.len() as u32).to_be_bytes()[1..]);
        svc.extend(&l0);
        let mut pdu = vec![0xa1, 0x83];
        pdu.extend(&((svc.len() + 3) as u32).to_be_bytes()[1..]);
        pdu.extend([0x02, 0x01, 0x07]);
        pdu.extend(&svc);
        let MmsPdu::ConfirmedResponse { msg, .. } = parse_pdu(&pdu).expect("pdu") else {
            panic!()
        };
        assert_eq!(msg.names.len(), parser::MAX_ITEMS);
        assert!(msg.names.iter().all(|n| n.len() == parser::MAX_STR));
        assert!(msg.truncated);
    }

    use crate::test_util::XorShift as Rng;

    #[test]
    fn random_and_mutated_inputs_never_panic() {
        let seeds: Vec<Vec<u8>> = [
            CONNECT,
            ACCEPT,
            IDENTIFY_REQ,
            IDENTIFY_RSP,
            READ_REQ,
            READ_RSP,
            GVAA_REQ,
            GVAA_ERR,
            STOP_REQ,
            DOWNLOAD_REQ,
            REPORT,
            WRITE_REQ,
        ]
        .iter()
        .map(|h| unhex(h))
        .collect();
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        let mut st = MmsState::new();
        let mut out = Vec::new();
        for i in 0..200_000u32 {
            let buf: Vec<u8> = if i % 2 == 0 {
                let n = (rng.next() % 200) as usize;
                let first = [0x01, 0x0d, 0x0e, 0xa0, 0xa1, 0xa3, 0x61][(rng.next() % 7) as usize];
                std::iter::once(first)
                    .chain((0..n).map(|_| rng.next() as u8))
                    .collect()
            } else {
                let mut b = seeds[(rng.next() % seeds.len() as u64) as usize].clone();
                for _ in 0..=(rng.next() % 4) {
                    let n = b.len();
                    match rng.next() % 3 {
                        0 => b[(rng.next() as usize) % n] = rng.next() as u8,
                        1 => b.truncate((rng.next() as usize) % n + 1),
                        _ => b.insert((rng.next() as usize) % n, rng.next() as u8),
                    }
                }
                b
            };
            let _ = probe_tsdu(&buf);
            let _ = parse_pdu(&buf);
            st.input_tsdu(i % 3 == 0, &buf, &mut out);
            assert!(st.pending() <= state::MAX_PENDING + 2);
            if out.len() > 10_000 {
                out.clear();
            }
        }
        st.finish(&mut out);
    }
}
