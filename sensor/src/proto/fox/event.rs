//! The EVE `fox` object and its [`Op`].

use rules::ot::{Attr, Op, OpClass};
use serde::Serialize;

use super::parser::{FoxMessage, MAX_TOKEN};

fn text(s: &str) -> String {
    let mut out: String = s
        .chars()
        .take(MAX_TOKEN)
        .map(|c| if c.is_control() { '.' } else { c })
        .collect();
    out.truncate(out.trim_end().len());
    out
}

/// The identity one side announces in its `fox hello`.
#[derive(Clone, Debug, Serialize, PartialEq, Default)]
pub struct FoxHello {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fox_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vm_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vm_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub station_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vm_uuid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub brand_id: Option<String>,
}

impl FoxHello {
    /// Extract the hello tuples.
    pub fn from_message(m: &FoxMessage<'_>) -> FoxHello {
        let g = |k: &str| m.get(k).map(text).filter(|s| !s.is_empty());
        FoxHello {
            fox_version: g("fox.version"),
            host_name: g("hostName"),
            host_address: g("hostAddress"),
            app_name: g("app.name"),
            app_version: g("app.version"),
            vm_name: g("vm.name"),
            vm_version: g("vm.version"),
            os_name: g("os.name"),
            os_version: g("os.version"),
            station_name: g("station.name"),
            lang: g("lang"),
            time_zone: g("timeZone"),
            host_id: g("hostId"),
            vm_uuid: g("vmUuid"),
            brand_id: g("brandId"),
        }
    }
}

/// Class of a fox-channel command.
pub fn command_class(command: &str) -> OpClass {
    let c = command.to_ascii_lowercase();
    if c == "hello" || c == "close" || c == "disconnect" {
        OpClass::Session
    } else if c.contains("auth") || c.contains("challenge") || c.contains("login") {
        OpClass::Security
    } else {
        OpClass::Other
    }
}

/// One Fox exchange: the hello handshake (client hello + server hello),
/// or another `fox`-channel message (challenge, authentication, close).
#[derive(Clone, Debug, Serialize, PartialEq, Default)]
pub struct FoxEvent {
    #[serde(skip)]
    pub tx_id: u64,
    /// `transaction` (hello answered), `request` (client message) or
    /// `response` (server message).
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub channel: String,
    pub command: String,
    /// Frame type letter of the (first) message.
    pub frame_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<FoxHello>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<FoxHello>,
    /// Challenge / authentication details.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_method: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

impl FoxEvent {
    /// Per-flow transaction number.
    pub fn tx_id(&self) -> u64 {
        self.tx_id
    }

    /// Stable function name of the command.
    fn function(&self) -> &'static str {
        match self.command.to_ascii_lowercase().as_str() {
            "hello" => "hello",
            "challenge" => "challenge",
            "authenticate" | "auth" => "authenticate",
            "close" | "disconnect" => "close",
            c if c.contains("auth") || c.contains("login") => "authenticate",
            _ => "other",
        }
    }

    /// The protocol-neutral operation. The server's hello gives the
    /// station identity.
    pub fn op(&self) -> Option<Op> {
        let f = self.function();
        let class = command_class(&self.command);
        let mut op = Op::new("fox", f, 0, class);
        op.response_only = self.kind == "response";
        op.object = Some(format!("{} {}", self.channel, self.command));
        if let Some(m) = &self.auth_method {
            op.attrs.push(("auth_method", Attr::Str(m.clone())));
        }
        if let Some(u) = &self.username {
            op.attrs.push(("username", Attr::Str(u.clone())));
        }
        if let Some(c) = &self.client {
            if let Some(a) = &c.app_name {
                op.attrs.push(("client_app_name", Attr::Str(a.clone())));
            }
            if let Some(h) = &c.host_name {
                op.attrs.push(("client_host_name", Attr::Str(h.clone())));
            }
        }
        if let Some(s) = &self.server {
            let mut push = |k: &'static str, v: &Option<String>| {
                if let Some(v) = v {
                    op.attrs.push((k, Attr::Str(v.clone())));
                }
            };
            push("id_product", &s.app_name);
            push("id_version", &s.app_version);
            push("id_vendor", &s.brand_id);
            push("id_serial", &s.host_id);
            push("os_name", &s.os_name);
            push("os_version", &s.os_version);
            push("vm_name", &s.vm_name);
            push("host_name", &s.host_name);
            push("host_address", &s.host_address);
            push("fox_version", &s.fox_version);
            if let Some(n) = s.station_name.as_ref().or(s.host_name.as_ref()) {
                op.attrs.push(("id_name", Attr::Str(n.clone())));
            }
        }
        Some(op)
    }
}
