"""IEC 61850 GOOSE scenario for make-ot.sh (layer 2, EtherType 0x88B8).

GOOSE is publish-only multicast, so there is no server:

  python3 goose.py client IP   a publisher on the client veth (scapy sendp;
                               the goosePdu BER-encoded here per IEC 61850-8-1
                               Annex A) sends to 01:0c:cd:01:00:01:
    gcb01 (APPID 0x0001): stNum 1 sqNum 0..2 (retransmissions), then 22
      state changes 0.1 s apart (stNum 2..23, sqNum 0, the boolean toggles
      each time): a state-change flood,
    gcb02 (APPID 0x0002): stNum 1 sqNum 0 with test = TRUE,
    gcb03 (APPID 0x0003): stNum 1 sqNum 0 with the simulation bit (bit 15)
      set in Reserved 1,
    gcb04 (APPID 0x0004): stNum 1 sqNum 0 with timeAllowedToLive 0.
IP is not used.
"""
import struct
import sys
import time

from scapy.all import Ether, Raw, conf, sendp

conf.verb = 0
IFACE = "veth-otc"
SRC = "02:00:0a:4e:00:01"
DST = "01:0c:cd:01:00:01"


def tlv(tag, value):
    n = len(value)
    if n < 0x80:
        ln = bytes([n])
    elif n < 0x100:
        ln = bytes([0x81, n])
    else:
        ln = bytes([0x82]) + struct.pack(">H", n)
    return bytes([tag]) + ln + value


def uint(v):
    b = v.to_bytes(max(1, (v.bit_length() + 7) // 8), "big")
    return b"\x00" + b if b[0] & 0x80 else b


def frame(appid, gcb, st, sq, value, ttl=2000, test=False, simulation=False):
    now = time.time()
    secs = int(now)
    frac = int((now - secs) * (1 << 24))
    t = struct.pack(">I", secs) + frac.to_bytes(3, "big") + b"\x0a"  # quality: 10 bits accuracy
    ld = "IED1LD0/LLN0"
    pdu = b"".join([
        tlv(0x80, f"{ld}$GO${gcb}".encode()),
        tlv(0x81, uint(ttl)),
        tlv(0x82, f"{ld}$DS_{gcb}".encode()),
        tlv(0x83, f"IED1_{gcb}".encode()),
        tlv(0x84, t),
        tlv(0x85, uint(st)),
        tlv(0x86, uint(sq)),
        tlv(0x87, b"\xff" if test else b"\x00"),
        tlv(0x88, uint(1)),
        tlv(0x89, b"\x00"),
        tlv(0x8A, uint(2)),
        tlv(0xAB, tlv(0x83, b"\x01" if value else b"\x00") + tlv(0x84, b"\x03\x00")),  # boolean, bit-string q
    ])
    apdu = tlv(0x61, pdu)
    hdr = struct.pack(">HHHH", appid, 8 + len(apdu), 0x8000 if simulation else 0, 0)
    return Ether(dst=DST, src=SRC, type=0x88B8) / Raw(hdr + apdu)


def client(_ip):
    for sq in range(3):
        sendp(frame(1, "gcb01", 1, sq, False), iface=IFACE)
        time.sleep(0.1)
    for st in range(2, 24):
        sendp(frame(1, "gcb01", st, 0, st % 2 == 0), iface=IFACE)
        time.sleep(0.1)
    print("gcb01: 3 retransmissions, 22 state changes: sent")
    sendp(frame(2, "gcb02", 1, 0, True, test=True), iface=IFACE)
    print("gcb02: test = TRUE: sent")
    time.sleep(0.1)
    sendp(frame(3, "gcb03", 1, 0, True, simulation=True), iface=IFACE)
    print("gcb03: simulation bit: sent")
    time.sleep(0.1)
    sendp(frame(4, "gcb04", 1, 0, True, ttl=0), iface=IFACE)
    print("gcb04: timeAllowedToLive 0: sent")
    time.sleep(0.2)


if __name__ == "__main__":
    mode, ip = sys.argv[1], sys.argv[2]
    if mode != "client":
        raise SystemExit("GOOSE has no server side")
    client(ip)
