"""PROFINET DCP scenario for make-ot.sh (layer 2, EtherType 0x8892), scapy.

  python3 dcp.py server IP    a PROFINET device "plc-1" on the server veth
                              (scapy sniff): answers every Identify request
                              (all, or filtered by its name) with an Identify
                              response (NameOfStation, DeviceID, IP), and a
                              Set request with a Set response (control
                              block: no error)
  python3 dcp.py client IP    from the client veth, with scapy:
    - 25 Identify All requests to the DCP multicast 01:0e:cf:00:00:00,
      0.1 s apart (an Identify flood, and network-wide discovery),
    - Set "Reset to Factory" (control option 5/6, qualifier 2) unicast to
      the device's MAC.
IP is not used (DCP has no IP header); the interface names are fixed by
make-ot.sh.
"""
import sys
import time

from scapy.all import AsyncSniffer, Ether, conf, sendp
from scapy.contrib.pnio import ProfinetIO
from scapy.contrib.pnio_dcp import (
    DCPControlBlock,
    DCPDeviceIDBlock,
    DCPIPBlock,
    DCPNameOfStationBlock,
    ProfinetDCP,
)

conf.verb = 0
DCP_MCAST = "01:0e:cf:00:00:00"
CLIENT_IF, SERVER_IF = "veth-otc", "veth-ots"
DEVICE_MAC = "02:00:0a:4e:00:02"
NAME = b"plc-1"


def server(_ip):
    def answer(p):
        if ProfinetDCP not in p or p[ProfinetDCP].service_type != 0:
            return
        d = p[ProfinetDCP]
        if d.service_id == 5:  # Identify request
            resp = (Ether(dst=p.src, src=DEVICE_MAC, type=0x8892)
                    / ProfinetIO(frameID=0xFEFF)
                    / ProfinetDCP(service_id=5, service_type=1, xid=d.xid,
                                  dcp_blocks=[DCPNameOfStationBlock(name_of_station=NAME),
                                              DCPDeviceIDBlock(vendor_id=0x002A, device_id=0x0313),
                                              DCPIPBlock(ip="10.78.0.2", netmask="255.255.255.0",
                                                         gateway="0.0.0.0")]))
        elif d.service_id == 4:  # Set request
            resp = (Ether(dst=p.src, src=DEVICE_MAC, type=0x8892)
                    / ProfinetIO(frameID=0xFEFD)
                    / ProfinetDCP(service_id=4, service_type=1, xid=d.xid,
                                  dcp_blocks=[DCPControlBlock(response=d.option,
                                                              response_sub_option=d.sub_option,
                                                              block_error=0)]))
        else:
            return
        sendp(resp, iface=SERVER_IF)
        print(f"server: answered service {d.service_id} xid {d.xid:#x}", flush=True)

    sn = AsyncSniffer(iface=SERVER_IF, filter="ether proto 0x8892", prn=answer, store=False)
    sn.start()
    time.sleep(0.5)
    print("ready", flush=True)
    while True:
        time.sleep(1)


def client(_ip):
    got = AsyncSniffer(iface=CLIENT_IF, filter="ether proto 0x8892 and not ether src 02:00:0a:4e:00:01")
    got.start()
    time.sleep(0.5)
    for i in range(25):
        sendp(Ether(dst=DCP_MCAST, src="02:00:0a:4e:00:01", type=0x8892)
              / ProfinetIO(frameID=0xFEFE)
              / ProfinetDCP(service_id=5, service_type=0, xid=0x1000 + i, reserved=1,
                            option=255, sub_option=255, dcp_data_length=4),
              iface=CLIENT_IF)
        time.sleep(0.1)
    print("25 Identify All requests: sent")
    # Set, option 5 (control) / 6 (reset to factory), block qualifier 2
    sendp(Ether(dst=DEVICE_MAC, src="02:00:0a:4e:00:01", type=0x8892)
          / ProfinetIO(frameID=0xFEFD)
          / ProfinetDCP(service_id=4, service_type=0, xid=0x2000, option=5, sub_option=6,
                        dcp_data_length=6, dcp_block_length=2, block_qualifier=2),
          iface=CLIENT_IF)
    print("Set reset-to-factory: sent")
    time.sleep(1)
    pk = got.stop()
    n_id = sum(1 for p in pk if ProfinetDCP in p and p[ProfinetDCP].service_id == 5)
    n_set = sum(1 for p in pk if ProfinetDCP in p and p[ProfinetDCP].service_id == 4)
    print(f"responses: {n_id} identify, {n_set} set")
    if n_id != 25 or n_set != 1:
        raise SystemExit("missing responses")


if __name__ == "__main__":
    mode, ip = sys.argv[1], sys.argv[2]
    server(ip) if mode == "server" else client(ip)
