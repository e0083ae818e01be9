"""DNP3 scenario for make-ot.sh (TCP 20000), plain Python sockets.

The opendnp3 binding on PyPI (dnp3-python) has no build for this Python, so
both sides speak IEEE 1815-2012 here: link frames (05 64, CRC-16/DNP per
header and 16-octet block), one transport segment per fragment, application
layer. Master address 1 (the client), outstation address 10 (the server).

  python3 dnp3.py server IP   the outstation on IP:20000: answers read,
                              open file (g70v4 file command status),
                              activate configuration and enable unsolicited
                              (null responses, IIN 0); after enable
                              unsolicited it reports 55 binary input change
                              events (g2v1), one unsolicited response (FC 130,
                              CON) every 50 ms, each confirmed by the master
  python3 dnp3.py client IP   the master: integrity read (class 0, g60v1),
                              open file "/cfg/station.xml" for writing (FC 25,
                              g70v3), activate configuration (FC 31, g70v8
                              "/cfg/station.xml"), enable unsolicited (FC 20,
                              classes 1-3), then confirms (FC 0, UNS) the 55
                              unsolicited responses
"""
import socket
import struct
import sys
import time

MASTER, OUTSTATION = 1, 10
N_UNSOL = 55
FILE = b"/cfg/station.xml"


def crc16(data):
    crc = 0
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA6BC if crc & 1 else crc >> 1
    return struct.pack("<H", ~crc & 0xFFFF)


def link_frame(ctrl, dst, src, user):
    hdr = b"\x05\x64" + bytes([5 + len(user), ctrl]) + struct.pack("<HH", dst, src)
    out = hdr + crc16(hdr)
    for i in range(0, len(user), 16):
        blk = user[i:i + 16]
        out += blk + crc16(blk)
    return out


class Link:
    def __init__(self, sock, me, peer, master):
        self.s, self.me, self.peer = sock, me, peer
        self.ctrl = 0xC4 if master else 0x44  # DIR (master), PRM, unconfirmed user data
        self.tseq = 0
        self.buf = b""

    def send(self, apdu):
        seg = bytes([0xC0 | self.tseq]) + apdu  # FIN FIR
        self.tseq = (self.tseq + 1) & 0x3F
        self.s.sendall(link_frame(self.ctrl, self.peer, self.me, seg))

    def recv(self):
        """Next application fragment (single-segment), or None at EOF."""
        while True:
            while len(self.buf) < 10:
                d = self.s.recv(4096)
                if not d:
                    return None
                self.buf += d
            n = self.buf[2] - 5
            total = 10 + n + 2 * ((n + 15) // 16)
            while len(self.buf) < total:
                d = self.s.recv(4096)
                if not d:
                    return None
                self.buf += d
            frame, self.buf = self.buf[:total], self.buf[total:]
            body = frame[10:]
            user = b"".join(body[i:i + 16] for i in range(0, len(body), 18))
            if user:
                return user[1:]  # drop the transport header


def outstation(conn):
    link = Link(conn, OUTSTATION, MASTER, master=False)
    iin = b"\x00\x00"
    while True:
        apdu = link.recv()
        if apdu is None:
            return
        ctrl, fc = apdu[0], apdu[1]
        seq = ctrl & 0x0F
        if fc == 0:  # confirm
            continue
        objs = b""
        if fc == 1:  # read: two binary inputs with flags
            objs = b"\x01\x02\x00\x00\x01\x81\x01"
        elif fc == 25:  # open file: g70v4 file command status, handle 0x1234, status 0
            status = struct.pack("<IIHHB", 0x1234, 0, 1024, 7, 0)
            objs = b"\x46\x04\x5b\x01" + struct.pack("<H", len(status)) + status
        resp = bytes([0xC0 | seq, 129]) + iin + objs
        link.send(resp)
        print(f"server: FC {fc} answered", flush=True)
        if fc == 20:
            time.sleep(0.1)
            for i in range(N_UNSOL):
                useq = i & 0x0F
                state = 0x81 if i % 2 == 0 else 0x01
                link.send(bytes([0xF0 | useq, 130]) + iin + b"\x02\x01\x17\x01" + bytes([i % 8, state]))
                time.sleep(0.05)
            print(f"server: {N_UNSOL} unsolicited responses sent", flush=True)


def server(ip):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((ip, 20000))
    ls.listen()
    while True:
        conn, _ = ls.accept()
        with conn:
            outstation(conn)


def client(ip):
    s = socket.create_connection((ip, 20000), timeout=5)
    link = Link(s, MASTER, OUTSTATION, master=True)
    seq = 0

    def request(fc, objs, what):
        nonlocal seq
        link.send(bytes([0xC0 | seq, fc]) + objs)
        r = link.recv()
        if r is None or r[1] != 129 or (r[0] & 0x0F) != seq:
            raise SystemExit(f"{what}: bad response {r!r}")
        seq = (seq + 1) & 0x0F
        print(f"{what}: ok")

    request(1, b"\x3c\x01\x06", "read class 0")
    # g70v3 file command: name offset 26, name size, created (6 octets),
    # permissions 0x01FF, auth key 0, file size 0, mode 2 (write), max block
    # 1024, request id 7, name
    cmd = (struct.pack("<HH", 26, len(FILE)) + bytes(6)
           + struct.pack("<HIIHHH", 0x01FF, 0, 0, 2, 1024, 7) + FILE)
    request(25, b"\x46\x03\x5b\x01" + struct.pack("<H", len(cmd)) + cmd, "open file")
    request(31, b"\x46\x08\x5b\x01" + struct.pack("<H", len(FILE)) + FILE, "activate configuration")
    request(20, b"\x3c\x02\x06\x3c\x03\x06\x3c\x04\x06", "enable unsolicited")
    for i in range(N_UNSOL):
        r = link.recv()
        if r is None or r[1] != 130:
            raise SystemExit(f"unsolicited {i}: {r!r}")
        link.send(bytes([0xD0 | (r[0] & 0x0F), 0]))  # confirm: FIR FIN UNS
    print(f"{N_UNSOL} unsolicited responses confirmed")
    time.sleep(0.2)
    s.close()


if __name__ == "__main__":
    mode, ip = sys.argv[1], sys.argv[2]
    server(ip) if mode == "server" else client(ip)
