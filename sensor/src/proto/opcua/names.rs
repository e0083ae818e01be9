//! OPC UA numeric identifiers (OPC 10000-6 Annex A, NodeIds.csv) and
//! StatusCodes (OPC 10000-4 §7.39, StatusCode.csv) this decoder names.

use rules::ot::OpClass;

/// A service: binary encoding ids of its request and response, the
/// snake_case function name and the class of the operation.
pub struct Service {
    pub request: u32,
    pub response: u32,
    pub name: &'static str,
    pub function: &'static str,
    pub class: OpClass,
}

macro_rules! svc {
    ($req:expr, $resp:expr, $name:expr, $f:expr, $c:ident) => {
        Service {
            request: $req,
            response: $resp,
            name: $name,
            function: $f,
            class: OpClass::$c,
        }
    };
}

/// Every service of OPC 10000-4 with its DefaultBinary encoding ids.
pub const SERVICES: &[Service] = &[
    svc!(422, 425, "FindServers", "find_servers", Discovery),
    svc!(
        12208,
        12209,
        "FindServersOnNetwork",
        "find_servers_on_network",
        Discovery
    ),
    svc!(428, 431, "GetEndpoints", "get_endpoints", Discovery),
    svc!(437, 440, "RegisterServer", "register_server", Discovery),
    svc!(
        12211,
        12212,
        "RegisterServer2",
        "register_server2",
        Discovery
    ),
    svc!(
        446,
        449,
        "OpenSecureChannel",
        "open_secure_channel",
        Session
    ),
    svc!(
        452,
        455,
        "CloseSecureChannel",
        "close_secure_channel",
        Session
    ),
    svc!(461, 464, "CreateSession", "create_session", Session),
    svc!(467, 470, "ActivateSession", "activate_session", Session),
    svc!(473, 476, "CloseSession", "close_session", Session),
    svc!(479, 482, "Cancel", "cancel", Session),
    svc!(488, 491, "AddNodes", "add_nodes", Download),
    svc!(494, 497, "AddReferences", "add_references", Download),
    svc!(500, 503, "DeleteNodes", "delete_nodes", Download),
    svc!(506, 509, "DeleteReferences", "delete_references", Download),
    svc!(527, 530, "Browse", "browse", Discovery),
    svc!(533, 536, "BrowseNext", "browse_next", Discovery),
    svc!(
        554,
        557,
        "TranslateBrowsePathsToNodeIds",
        "translate_browse_paths_to_node_ids",
        Discovery
    ),
    svc!(560, 563, "RegisterNodes", "register_nodes", Read),
    svc!(566, 569, "UnregisterNodes", "unregister_nodes", Read),
    svc!(615, 618, "QueryFirst", "query_first", Discovery),
    svc!(621, 624, "QueryNext", "query_next", Discovery),
    svc!(631, 634, "Read", "read", Read),
    svc!(664, 667, "HistoryRead", "history_read", Read),
    svc!(673, 676, "Write", "write", Write),
    svc!(700, 703, "HistoryUpdate", "history_update", Write),
    svc!(712, 715, "Call", "call", Command),
    svc!(
        751,
        754,
        "CreateMonitoredItems",
        "create_monitored_items",
        Read
    ),
    svc!(
        763,
        766,
        "ModifyMonitoredItems",
        "modify_monitored_items",
        Read
    ),
    svc!(769, 772, "SetMonitoringMode", "set_monitoring_mode", Read),
    svc!(775, 778, "SetTriggering", "set_triggering", Read),
    svc!(
        781,
        784,
        "DeleteMonitoredItems",
        "delete_monitored_items",
        Read
    ),
    svc!(787, 790, "CreateSubscription", "create_subscription", Read),
    svc!(793, 796, "ModifySubscription", "modify_subscription", Read),
    svc!(799, 802, "SetPublishingMode", "set_publishing_mode", Read),
    svc!(826, 829, "Publish", "publish", Read),
    svc!(832, 835, "Republish", "republish", Read),
    svc!(
        841,
        844,
        "TransferSubscriptions",
        "transfer_subscriptions",
        Read
    ),
    svc!(
        847,
        850,
        "DeleteSubscriptions",
        "delete_subscriptions",
        Read
    ),
];

/// ServiceFault encoding id (a response to any request).
pub const SERVICE_FAULT: u32 = 397;

/// Look up a service by its request (`true`) or response encoding id.
pub fn service_by_id(id: u32) -> Option<(&'static Service, bool)> {
    SERVICES.iter().find_map(|s| {
        if s.request == id {
            Some((s, true))
        } else if s.response == id {
            Some((s, false))
        } else {
            None
        }
    })
}

/// Zeek-style identifier string: `ReadRequest`, `ServiceFault`, ...
pub fn identifier_str(id: u32) -> Option<String> {
    if id == SERVICE_FAULT {
        return Some("ServiceFault".to_string());
    }
    let (s, req) = service_by_id(id)?;
    Some(format!(
        "{}{}",
        s.name,
        if req { "Request" } else { "Response" }
    ))
}

/// MessageSecurityMode.
pub fn security_mode(m: u32) -> Option<&'static str> {
    Some(match m {
        0 => "Invalid",
        1 => "None",
        2 => "Sign",
        3 => "SignAndEncrypt",
        _ => return None,
    })
}

/// User identity token encodings (DefaultBinary ids).
pub fn user_token(id: u32) -> Option<&'static str> {
    Some(match id {
        321 => "AnonymousIdentityToken",
        324 => "UserNameIdentityToken",
        327 => "X509IdentityToken",
        940 => "IssuedIdentityToken",
        _ => return None,
    })
}

/// Common StatusCode names.
pub fn status_name(code: u32) -> Option<&'static str> {
    Some(match code {
        0x0000_0000 => "Good",
        0x8001_0000 => "BadUnexpectedError",
        0x8002_0000 => "BadInternalError",
        0x8003_0000 => "BadOutOfMemory",
        0x8004_0000 => "BadResourceUnavailable",
        0x8005_0000 => "BadCommunicationError",
        0x8006_0000 => "BadEncodingError",
        0x8007_0000 => "BadDecodingError",
        0x8008_0000 => "BadEncodingLimitsExceeded",
        0x8009_0000 => "BadUnknownResponse",
        0x800a_0000 => "BadTimeout",
        0x800b_0000 => "BadServiceUnsupported",
        0x800c_0000 => "BadShutdown",
        0x800d_0000 => "BadServerNotConnected",
        0x800e_0000 => "BadServerHalted",
        0x800f_0000 => "BadNothingToDo",
        0x8010_0000 => "BadTooManyOperations",
        0x8011_0000 => "BadDataTypeIdUnknown",
        0x8012_0000 => "BadCertificateInvalid",
        0x8013_0000 => "BadSecurityChecksFailed",
        0x8014_0000 => "BadCertificateTimeInvalid",
        0x8015_0000 => "BadCertificateIssuerTimeInvalid",
        0x8016_0000 => "BadCertificateHostNameInvalid",
        0x8017_0000 => "BadCertificateUriInvalid",
        0x8018_0000 => "BadCertificateUseNotAllowed",
        0x8019_0000 => "BadCertificateIssuerUseNotAllowed",
        0x801a_0000 => "BadCertificateUntrusted",
        0x801b_0000 => "BadCertificateRevocationUnknown",
        0x801c_0000 => "BadCertificateIssuerRevocationUnknown",
        0x801d_0000 => "BadCertificateRevoked",
        0x801e_0000 => "BadCertificateIssuerRevoked",
        0x801f_0000 => "BadUserAccessDenied",
        0x8020_0000 => "BadIdentityTokenInvalid",
        0x8021_0000 => "BadIdentityTokenRejected",
        0x8022_0000 => "BadSecureChannelIdInvalid",
        0x8023_0000 => "BadInvalidTimestamp",
        0x8024_0000 => "BadNonceInvalid",
        0x8025_0000 => "BadSessionIdInvalid",
        0x8026_0000 => "BadSessionClosed",
        0x8027_0000 => "BadSessionNotActivated",
        0x8028_0000 => "BadSubscriptionIdInvalid",
        0x802a_0000 => "BadRequestHeaderInvalid",
        0x802b_0000 => "BadTimestampsToReturnInvalid",
        0x802c_0000 => "BadRequestCancelledByClient",
        0x8033_0000 => "BadNodeIdInvalid",
        0x8034_0000 => "BadNodeIdUnknown",
        0x8035_0000 => "BadAttributeIdInvalid",
        0x8036_0000 => "BadIndexRangeInvalid",
        0x8037_0000 => "BadIndexRangeNoData",
        0x8038_0000 => "BadDataEncodingInvalid",
        0x8039_0000 => "BadDataEncodingUnsupported",
        0x803a_0000 => "BadNotReadable",
        0x803b_0000 => "BadNotWritable",
        0x803c_0000 => "BadOutOfRange",
        0x803d_0000 => "BadNotSupported",
        0x803e_0000 => "BadNotFound",
        0x803f_0000 => "BadObjectDeleted",
        0x8040_0000 => "BadNotImplemented",
        0x8041_0000 => "BadMonitoringModeInvalid",
        0x8042_0000 => "BadMonitoredItemIdInvalid",
        0x8043_0000 => "BadMonitoredItemFilterInvalid",
        0x8044_0000 => "BadMonitoredItemFilterUnsupported",
        0x8045_0000 => "BadFilterNotAllowed",
        0x804a_0000 => "BadContinuationPointInvalid",
        0x804b_0000 => "BadNoContinuationPoints",
        0x804c_0000 => "BadReferenceTypeIdInvalid",
        0x804d_0000 => "BadBrowseDirectionInvalid",
        0x804e_0000 => "BadNodeNotInView",
        0x804f_0000 => "BadServerUriInvalid",
        0x8050_0000 => "BadServerNameMissing",
        0x8051_0000 => "BadDiscoveryUrlMissing",
        0x8052_0000 => "BadSempahoreFileMissing",
        0x8053_0000 => "BadRequestTypeInvalid",
        0x8054_0000 => "BadSecurityModeRejected",
        0x8055_0000 => "BadSecurityPolicyRejected",
        0x8056_0000 => "BadTooManySessions",
        0x8057_0000 => "BadUserSignatureInvalid",
        0x8058_0000 => "BadApplicationSignatureInvalid",
        0x8059_0000 => "BadNoValidCertificates",
        0x805a_0000 => "BadRequestCancelledByRequest",
        0x805b_0000 => "BadParentNodeIdInvalid",
        0x805c_0000 => "BadReferenceNotAllowed",
        0x805d_0000 => "BadNodeIdRejected",
        0x805e_0000 => "BadNodeIdExists",
        0x805f_0000 => "BadNodeClassInvalid",
        0x8060_0000 => "BadBrowseNameInvalid",
        0x8061_0000 => "BadBrowseNameDuplicated",
        0x8062_0000 => "BadNodeAttributesInvalid",
        0x8063_0000 => "BadTypeDefinitionInvalid",
        0x8064_0000 => "BadSourceNodeIdInvalid",
        0x8065_0000 => "BadTargetNodeIdInvalid",
        0x8066_0000 => "BadDuplicateReferenceNotAllowed",
        0x8067_0000 => "BadInvalidSelfReference",
        0x8068_0000 => "BadReferenceLocalOnly",
        0x8069_0000 => "BadNoDeleteRights",
        0x806a_0000 => "BadServerIndexInvalid",
        0x806b_0000 => "BadViewIdUnknown",
        0x806d_0000 => "BadTooManyMatches",
        0x806e_0000 => "BadQueryTooComplex",
        0x806f_0000 => "BadNoMatch",
        0x8070_0000 => "BadMaxAgeInvalid",
        0x8071_0000 => "BadHistoryOperationInvalid",
        0x8072_0000 => "BadHistoryOperationUnsupported",
        0x8073_0000 => "BadWriteNotSupported",
        0x8074_0000 => "BadTypeMismatch",
        0x8075_0000 => "BadMethodInvalid",
        0x8076_0000 => "BadArgumentsMissing",
        0x8077_0000 => "BadTooManySubscriptions",
        0x8078_0000 => "BadTooManyPublishRequests",
        0x8079_0000 => "BadNoSubscription",
        0x807a_0000 => "BadSequenceNumberUnknown",
        0x807b_0000 => "BadMessageNotAvailable",
        0x807c_0000 => "BadInsufficientClientProfile",
        0x807d_0000 => "BadTcpServerTooBusy",
        0x807e_0000 => "BadTcpMessageTypeInvalid",
        0x807f_0000 => "BadTcpSecureChannelUnknown",
        0x8080_0000 => "BadTcpMessageTooLarge",
        0x8081_0000 => "BadTcpNotEnoughResources",
        0x8082_0000 => "BadTcpInternalError",
        0x8083_0000 => "BadTcpEndpointUrlInvalid",
        0x8084_0000 => "BadRequestInterrupted",
        0x8085_0000 => "BadRequestTimeout",
        0x8086_0000 => "BadSecureChannelClosed",
        0x8087_0000 => "BadSecureChannelTokenUnknown",
        0x8088_0000 => "BadSequenceNumberInvalid",
        0x8089_0000 => "BadConfigurationError",
        0x808a_0000 => "BadNotConnected",
        0x808b_0000 => "BadDeviceFailure",
        0x808c_0000 => "BadSensorFailure",
        0x808d_0000 => "BadOutOfService",
        0x808e_0000 => "BadDeadbandFilterInvalid",
        0x80ab_0000 => "BadInvalidArgument",
        0x80ac_0000 => "BadConnectionRejected",
        0x80ad_0000 => "BadDisconnect",
        0x80ae_0000 => "BadConnectionClosed",
        0x80af_0000 => "BadInvalidState",
        0x80b0_0000 => "BadEndOfStream",
        0x80b8_0000 => "BadRequestTooLarge",
        0x80b9_0000 => "BadResponseTooLarge",
        0x80be_0000 => "BadProtocolVersionUnsupported",
        0x80c1_0000 => "BadFilterOperatorInvalid",
        0x80c6_0000 => "BadIdentityChangeNotSupported",
        0x80e5_0000 => "BadTooManyArguments",
        0x80e6_0000 => "BadSecurityModeInsufficient",
        0x4000_0000 => "Uncertain",
        0x8000_0000 => "Bad",
        _ => return None,
    })
}
