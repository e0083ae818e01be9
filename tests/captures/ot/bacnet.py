"""BACnet/IP scenario for make-ot.sh: bacpypes3 device and client (UDP 47808).

  python3 bacnet.py server IP   a bacpypes3 device, instance 1042
                                ("ahu-1"), on IP:47808
  python3 bacnet.py client IP   a bacpypes3 client (instance 999) on
                                10.78.0.1:47808 sends 24 Who-Is, 0.25 s
                                apart, each for a block of 100 device
                                instances (0-99, 100-199, ..., 2300-2399),
                                unicast to IP: a discovery sweep; the device
                                answers the block 1000-1099 with I-Am.
(Unicast: bacpypes3 bound to one address of a veth did not see Who-Is sent
to the subnet broadcast.)
"""
import asyncio
import sys

from bacpypes3.app import Application
from bacpypes3.argparse import SimpleArgumentParser
from bacpypes3.pdu import Address


def app_for(name, instance, address):
    args = SimpleArgumentParser().parse_args(
        ["--name", name, "--instance", str(instance), "--address", f"{address}/24"])
    return Application.from_args(args)


async def server(ip):
    app_for("ahu-1", 1042, ip)
    await asyncio.Future()


async def client(ip):
    app = app_for("sweeper", 999, "10.78.0.1")
    found = []
    futs = []
    for i in range(24):
        futs.append(app.who_is(i * 100, i * 100 + 99, Address(ip), timeout=2))
        await asyncio.sleep(0.25)
    for f in futs:
        found += await f
    print(f"24 Who-Is: I-Am from {[str(i.iAmDeviceIdentifier) for i in found]}")
    if not found:
        raise SystemExit("no I-Am")
    app.close()


if __name__ == "__main__":
    mode, ip = sys.argv[1], sys.argv[2]
    asyncio.run(server(ip) if mode == "server" else client(ip))
