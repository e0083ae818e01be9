"""S7comm scenario for make-ot.sh: python-snap7 server and client.

  python3 s7.py server IP    S7 server on IP:102 with DB1 (64 bytes)
  python3 s7.py client IP    connect (rack 0, slot 1), read DB1, write DB1,
                             PLC stop, PLC hot start
"""
import sys
import time

import snap7
from snap7.type import SrvArea


def server(ip):
    srv = snap7.server.Server()
    db1 = bytearray(64)
    db1[0:4] = b"\x00\x01\x00\x02"
    srv.register_area(SrvArea.DB, 1, db1)
    srv.host = ip
    srv.start(tcp_port=102)
    while True:
        time.sleep(1)


def client(ip):
    c = snap7.client.Client()
    c.connect(ip, 0, 1, 102)
    data = c.db_read(1, 0, 16)
    print(f"db_read DB1.DBB0 x16: {bytes(data).hex()}")
    c.db_write(1, 4, bytearray(b"\x04\xd2"))  # DB1.DBW4 = 1234
    back = c.db_read(1, 4, 2)
    if bytes(back) != b"\x04\xd2":
        raise SystemExit(f"read back {bytes(back).hex()}")
    print("db_write DB1.DBW4 = 1234: ok")
    print(f"plc_stop: {c.plc_stop()}")
    print(f"plc_hot_start: {c.plc_hot_start()}")
    c.disconnect()


if __name__ == "__main__":
    mode, ip = sys.argv[1], sys.argv[2]
    server(ip) if mode == "server" else client(ip)
