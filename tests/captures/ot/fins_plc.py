"""OMRON FINS/UDP scenario for make-ot.sh (UDP 9600).

No FINS server is on PyPI, so the server is a small CPU simulator over a
plain UDP socket; the client is the `fins` package (UDPFinsConnection).

  python3 fins_plc.py server IP   answers every FINS command on IP:9600 with
                              end code 0000 (normal completion): controller
                              data read with a model "CJ2M-CPU31", memory
                              and program area reads with zeros
  python3 fins_plc.py client IP   FINS node 1 -> node 2 (net 0, unit 0):
    controller data read (0501), memory area write D100 = 0x1234 (0102),
    stop / program mode (0402), program area write 8 bytes at word 0
    (0307), run (0401), program area read 8 bytes at word 0 (0306),
    reset (0403)
(Named fins_plc.py: a script named fins.py would shadow the package.)
"""
import socket
import sys


def server(ip):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((ip, 9600))
    while True:
        req, addr = s.recvfrom(2048)
        if len(req) < 12 or req[0] & 0x40:
            continue
        icf, _rsv, gct, dna, da1, da2, sna, sa1, sa2, sid = req[:10]
        cmd = req[10:12]
        data = b""
        if cmd == b"\x05\x01":  # controller data read
            data = b"CJ2M-CPU31".ljust(20, b" ") + b"02.01".ljust(20, b" ") + bytes(40) + bytes(12)
        elif cmd == b"\x01\x01":  # memory area read
            data = bytes(2 * int.from_bytes(req[16:18], "big"))
        elif cmd == b"\x03\x06":  # program area read: program no, word, length, data
            n = int.from_bytes(req[18:20], "big")
            data = req[12:20] + bytes(n)
        elif cmd == b"\x03\x07":  # program area write: echo program no, word, length
            data = req[12:20]
        resp = bytes([0xC0, 0, 2, sna, sa1, sa2, dna, da1, da2, sid]) + cmd + b"\x00\x00" + data
        s.sendto(resp, addr)
        print(f"server: {cmd.hex()} from {addr[0]}", flush=True)


def client(ip):
    from fins.udp import UDPFinsConnection

    c = UDPFinsConnection()
    c.connect(ip)
    c.dest_node_add, c.srce_node_add = 2, 1
    steps = [
        ("controller data read", lambda: c.cpu_unit_data_read()),
        ("memory area write D100", lambda: c.memory_area_write(b"\x82", b"\x00\x64\x00", b"\x12\x34", 1)),
        ("stop (program mode)", lambda: c.change_to_program_mode()),
        ("program area write", lambda: c.program_area_write(0, 8, b"\x00\x01\x02\x03\x04\x05\x06\x07")),
        ("run", lambda: c.change_to_run_mode()),
        ("program area read", lambda: c.program_area_read(0, 8)),
        ("reset", lambda: c.execute_fins_command_frame(c.fins_command_frame(b"\x04\x03"))),
    ]
    for what, f in steps:
        r = f()
        if len(r) < 14 or r[12:14] != b"\x00\x00":
            raise SystemExit(f"{what}: bad response {r.hex()}")
        print(f"{what} ({r[10:12].hex()}): ok")


if __name__ == "__main__":
    mode, ip = sys.argv[1], sys.argv[2]
    server(ip) if mode == "server" else client(ip)
