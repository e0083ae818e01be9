"""S7comm memory reset scenario for make-ot.sh: python-snap7 server and client.

  python3 s7_mres.py server IP   S7 server on IP:102 with DB1 (64 bytes)
  python3 s7_mres.py client IP   connect (rack 0, slot 1), PLC stop, then the
                                 programmer command "memory reset" (MRES):
                                 a USERDATA request, group 1 (programmer
                                 commands), subfunction 0x0C, sent through
                                 the snap7 client's connection (snap7 has no
                                 MRES call); the server answers it with an
                                 error (it has no such function)
"""
import struct
import sys
import time

import snap7
from snap7.type import SrvArea


def server(ip):
    srv = snap7.server.Server()
    srv.register_area(SrvArea.DB, 1, bytearray(64))
    srv.host = ip
    srv.start(tcp_port=102)
    while True:
        time.sleep(1)


def client(ip):
    c = snap7.client.Client()
    c.connect(ip, 0, 1, 102)
    print(f"plc_stop: {c.plc_stop()}")
    param = struct.pack(">BBBBBBBB", 0x00, 0x01, 0x12, 0x04, 0x11, 0x41, 0x0C, 0x00)
    data = struct.pack(">BBH", 0x0A, 0x00, 0x0000)  # no data
    header = struct.pack(">BBHHHH", 0x32, 0x07, 0, c.protocol._next_sequence(), len(param), len(data))
    try:
        resp = c._send_receive(header + param + data)
        print(f"memory reset (userdata 1/0x0c): answered {resp.get('error_code', resp.get('error'))}")
    except Exception as e:  # noqa: BLE001  (an error answer is expected)
        print(f"memory reset (userdata 1/0x0c): error answer ({type(e).__name__}: {e})")
    c.disconnect()


if __name__ == "__main__":
    mode, ip = sys.argv[1], sys.argv[2]
    server(ip) if mode == "server" else client(ip)
