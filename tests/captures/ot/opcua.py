"""OPC UA scenario for make-ot.sh: asyncua server and client (binary,
SecurityPolicy None, anonymous).

  python3 opcua.py server IP    opc.tcp://IP:4840/ with object Plant
                                (ns=2): variable Setpoint (Double, writable)
                                and method Reset()
  python3 opcua.py client IP    connect, browse Objects and Plant, read and
                                write Setpoint = 1234.5, call Plant.Reset
"""
import asyncio
import logging
import sys

from asyncua import Client, Server, ua, uamethod

URI = "urn:sensor-test:plant"


@uamethod
def reset(parent):
    print("server: Reset called", flush=True)
    return True


async def server(ip):
    srv = Server()
    await srv.init()
    srv.set_endpoint(f"opc.tcp://{ip}:4840/")
    srv.set_server_name("sensor test plant")
    srv.set_security_policy([ua.SecurityPolicyType.NoSecurity])
    idx = await srv.register_namespace(URI)
    plant = await srv.nodes.objects.add_object(ua.NodeId("Plant", idx), f"{idx}:Plant")
    sp = await plant.add_variable(ua.NodeId("Setpoint", idx), f"{idx}:Setpoint", 10.0)
    await sp.set_writable()
    await plant.add_method(ua.NodeId("Reset", idx), f"{idx}:Reset", reset, [], [ua.VariantType.Boolean])
    async with srv:
        while True:
            await asyncio.sleep(1)


async def client(ip):
    async with Client(url=f"opc.tcp://{ip}:4840/", timeout=5) as c:
        idx = await c.get_namespace_index(URI)
        children = await c.nodes.objects.get_children()
        print(f"browse Objects: {len(children)} children")
        plant = await c.nodes.objects.get_child(f"{idx}:Plant")
        print(f"browse Plant: {[str(n) for n in await plant.get_children()]}")
        sp = c.get_node(ua.NodeId("Setpoint", idx))
        print(f"read Setpoint: {await sp.read_value()}")
        await sp.write_value(ua.DataValue(ua.Variant(1234.5, ua.VariantType.Double)))
        print(f"write Setpoint = 1234.5, read back {await sp.read_value()}")
        res = await plant.call_method(ua.NodeId("Reset", idx))
        print(f"call Reset: {res}")


if __name__ == "__main__":
    logging.basicConfig(level=logging.ERROR)
    mode, ip = sys.argv[1], sys.argv[2]
    asyncio.run(server(ip) if mode == "server" else client(ip))
