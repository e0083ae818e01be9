//! NIC offloads that hide what a span port sends. With GRO or LRO on, the
//! kernel merges TCP segments before capture, so the sensor sees 64 KB
//! super-frames instead of the wire's packets. Read with the ethtool ioctl
//! (SIOCETHTOOL), which needs no privilege for these queries.

use std::io;

const SIOCETHTOOL: libc::c_ulong = 0x8946;
const ETHTOOL_GFLAGS: u32 = 0x0000_0025;
const ETHTOOL_GGRO: u32 = 0x0000_002b;
const ETH_FLAG_LRO: u32 = 1 << 15;

#[repr(C)]
struct EthtoolValue {
    cmd: u32,
    data: u32,
}

#[repr(C)]
struct IfReq {
    name: [libc::c_char; libc::IFNAMSIZ],
    data: *mut EthtoolValue,
    _pad: [u8; 16],
}

fn ethtool_get(iface: &str, cmd: u32) -> io::Result<u32> {
    if iface.is_empty() || iface.len() >= libc::IFNAMSIZ {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "bad interface name",
        ));
    }
    let mut val = EthtoolValue { cmd, data: 0 };
    let mut req = IfReq {
        name: [0; libc::IFNAMSIZ],
        data: &mut val,
        _pad: [0; 16],
    };
    for (d, s) in req.name.iter_mut().zip(iface.bytes()) {
        *d = s as libc::c_char;
    }
    // SAFETY: a datagram socket used only for the ioctl, closed below.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `req` points at `val`, both live for the call.
    let rc = unsafe { libc::ioctl(fd, SIOCETHTOOL, &mut req as *mut IfReq) };
    let err = io::Error::last_os_error();
    // SAFETY: fd is ours.
    unsafe { libc::close(fd) };
    if rc < 0 {
        return Err(err);
    }
    Ok(val.data)
}

/// Warnings (with the `ethtool` line that fixes them) for offloads that
/// would change what is captured on `iface`. Queries the driver does not
/// support are skipped.
pub fn offload_warnings(iface: &str) -> Vec<String> {
    let mut w = Vec::new();
    if ethtool_get(iface, ETHTOOL_GGRO).is_ok_and(|v| v != 0) {
        w.push(format!(
            "{iface}: generic receive offload (GRO) is on: merged TCP segments hide the packets the span port sends; fix: ethtool -K {iface} gro off"
        ));
    }
    if ethtool_get(iface, ETHTOOL_GFLAGS).is_ok_and(|v| v & ETH_FLAG_LRO != 0) {
        w.push(format!(
            "{iface}: large receive offload (LRO) is on: merged TCP segments hide the packets the span port sends; fix: ethtool -K {iface} lro off"
        ));
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_answers_and_bad_names_fail() {
        // Loopback supports the GRO query on any kernel this runs on.
        assert!(ethtool_get("lo", ETHTOOL_GGRO).is_ok());
        assert!(ethtool_get("no-such-if0", ETHTOOL_GGRO).is_err());
        assert!(ethtool_get("", ETHTOOL_GGRO).is_err());
        assert!(ethtool_get("a-name-much-too-long-for-linux", ETHTOOL_GGRO).is_err());
        // Warnings name the interface and the fix.
        for msg in offload_warnings("lo") {
            assert!(
                msg.starts_with("lo: ") && msg.contains("ethtool -K lo"),
                "{msg}"
            );
        }
        assert!(offload_warnings("no-such-if0").is_empty());
    }

    #[test]
    fn agrees_with_the_ethtool_command_where_installed() {
        let Ok(out) = std::process::Command::new("ethtool")
            .args(["-k", "lo"])
            .output()
        else {
            eprintln!("SKIPPED: ethtool is not installed");
            return;
        };
        let text = String::from_utf8_lossy(&out.stdout);
        let gro_on = text
            .lines()
            .any(|l| l.starts_with("generic-receive-offload: on"));
        assert_eq!(
            ethtool_get("lo", ETHTOOL_GGRO).unwrap() != 0,
            gro_on,
            "{text}"
        );
    }
}
