"""HART-IP scenario for make-ot.sh (TCP 5094), plain Python sockets.

No HART-IP stack is on PyPI; both sides speak HCF_SPEC-085 (HART-IP header)
around HCF_SPEC-081 token-passing PDUs here.

  python3 hart_ip.py server IP   a HART-IP field device on IP:5094 (expanded
                                 device type 0x264E, device id 0x0000D2,
                                 manufacturer 0x0026): answers session
                                 initiate/close and every token-passing
                                 command with response code 0 (command 0
                                 with its identity, writes echo their data)
  python3 hart_ip.py client IP   session initiate (primary master, 60 s);
    command 0 read unique identifier (short frame, polling address 0);
    then long-frame commands to the device's unique address:
    18 write tag/descriptor/date, 35 write PV range values (0..250 kPa),
    40 enter fixed current mode 12 mA, 42 perform device reset; session close
"""
import socket
import struct
import sys

DEV_TYPE = 0x264E
DEV_ID = b"\x00\x00\xd2"
LONG_ADDR = struct.pack(">H", DEV_TYPE | 0x8000) + DEV_ID  # bit 15: primary master


def chk(b):
    x = 0
    for v in b:
        x ^= v
    return bytes([x])


def header(msg_type, msg_id, seq, body):
    return struct.pack(">BBBBHH", 1, msg_type, msg_id, 0, seq, 8 + len(body)) + body


def recv_msg(s):
    hdr = b""
    while len(hdr) < 8:
        d = s.recv(8 - len(hdr))
        if not d:
            return None, None
        hdr += d
    n = struct.unpack(">H", hdr[6:8])[0] - 8
    body = b""
    while len(body) < n:
        body += s.recv(n - len(body))
    return hdr, body


def identity():
    # HART 7 command 0 response data (22 bytes)
    return (b"\xfe" + struct.pack(">H", DEV_TYPE) + b"\x05\x07\x04\x01\x08\x00" + DEV_ID
            + b"\x05\x04\x00\x01\x00" + struct.pack(">H", 0x0026) + struct.pack(">H", 0x0026) + b"\x01")


def serve(conn):
    while True:
        hdr, body = recv_msg(conn)
        if hdr is None:
            return
        _ver, _mt, msg_id, _st, seq, _n = struct.unpack(">BBBBHH", hdr)
        if msg_id in (0, 1, 2):  # session initiate / close / keep alive: echo the body
            conn.sendall(header(1, msg_id, seq, body))
            if msg_id == 1:
                return
            continue
        delim = body[0]
        alen = 5 if delim & 0x80 else 1
        addr = body[1:1 + alen]
        cmd, bc = body[1 + alen], body[2 + alen]
        data = body[3 + alen:3 + alen + bc]
        rdata = identity() if cmd == 0 else data
        pdu = bytes([0x86 if delim & 0x80 else 0x06]) + addr + bytes([cmd, 2 + len(rdata), 0, 0]) + rdata
        conn.sendall(header(1, 3, seq, pdu + chk(pdu)))
        print(f"server: command {cmd}", flush=True)


def server(ip):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((ip, 5094))
    ls.listen()
    while True:
        conn, _ = ls.accept()
        with conn:
            serve(conn)


def client(ip):
    s = socket.create_connection((ip, 5094), timeout=3)
    seq = 1

    def req(msg_id, body):
        nonlocal seq
        s.sendall(header(0, msg_id, seq, body))
        hdr, rbody = recv_msg(s)
        if hdr is None or hdr[1] != 1 or struct.unpack(">H", hdr[4:6])[0] != seq:
            raise SystemExit(f"bad answer to message {msg_id} seq {seq}")
        seq += 1
        return rbody

    def command(cmd, data=b"", short=False):
        pdu = (b"\x02\x80" if short else b"\x82" + LONG_ADDR) + bytes([cmd, len(data)]) + data
        r = req(3, pdu + chk(pdu))
        off = 2 if short else 6
        if r[off + 2] != 0:
            raise SystemExit(f"command {cmd}: response code {r[off + 2]}")
        print(f"command {cmd}: ok")
        return r

    req(0, b"\x01" + struct.pack(">I", 60000))
    print("session initiate: ok")
    command(0, short=True)
    # 18: tag (6 bytes packed ASCII), descriptor (12), date (3)
    command(18, b"\x82\x08\x20\x82\x08\x20" + bytes(12) + b"\x19\x0b\x7e")
    # 35: range units (12 = kPa), upper 250.0, lower 0.0
    command(35, b"\x0c" + struct.pack(">ff", 250.0, 0.0))
    # 40: fixed current 12.0 mA
    command(40, struct.pack(">f", 12.0))
    command(42)
    req(1, b"")
    print("session close: ok")
    s.close()


if __name__ == "__main__":
    mode, ip = sys.argv[1], sys.argv[2]
    server(ip) if mode == "server" else client(ip)
