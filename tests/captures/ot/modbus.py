"""Modbus/TCP scenario for make-ot.sh: pymodbus server and client.

  python3 modbus.py server IP    serve holding registers on IP:502
  python3 modbus.py client IP    run the operations below against IP:502

Register numbering: "40010" is the Modicon 1-based holding register 10, i.e.
PDU (0-based, on-the-wire) address 9. The client writes 1234 there.
"""
import asyncio
import logging
import sys

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.server import StartAsyncTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

UNIT = 1
REG_40010 = 9  # PDU address of holding register 40010


async def server(ip):
    # unit 1: one shared block of 100 registers, addresses 0..99, all 0
    dev = SimDevice(id=UNIT, simdata=[SimData(address=0, count=100, values=0, datatype=DataType.REGISTERS)])
    await StartAsyncTcpServer(context=dev, address=(ip, 502))


def check(what, rr):
    if rr.isError():
        raise SystemExit(f"{what}: {rr}")
    print(f"{what}: ok {getattr(rr, 'registers', '')}")


async def client(ip):
    c = AsyncModbusTcpClient(ip, port=502, timeout=3, retries=0)
    if not await c.connect():
        raise SystemExit("connect failed")
    # 1. read holding registers 40001..40010 (addresses 0..9, count 10)
    check("read_holding_registers 0 x10", await c.read_holding_registers(0, count=10, device_id=UNIT))
    # 2. write single register 40010 (address 9) = 1234
    check("write_register 9 = 1234", await c.write_register(REG_40010, 1234, device_id=UNIT))
    # 3. read it back
    rr = await c.read_holding_registers(REG_40010, count=1, device_id=UNIT)
    check("read_holding_registers 9 x1", rr)
    if rr.registers != [1234]:
        raise SystemExit(f"read back {rr.registers}, want [1234]")
    # 4. write multiple registers 40021..40023 (addresses 20..22) = 11, 22, 33
    check("write_registers 20 = [11,22,33]", await c.write_registers(20, [11, 22, 33], device_id=UNIT))
    # 5. diagnostics (0x08) sub-function 0x01 restart communications option
    check("diag_restart_communication", await c.diag_restart_communication(False, device_id=UNIT))
    c.close()


if __name__ == "__main__":
    logging.basicConfig(level=logging.ERROR)
    mode, ip = sys.argv[1], sys.argv[2]
    asyncio.run(server(ip) if mode == "server" else client(ip))
