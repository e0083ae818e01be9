"""IEC 60870-5-104 scenario for make-ot.sh: c104 server and client.

  python3 iec104.py server IP    station CA 47 on IP:2404: M_ME_NC_1 IOA 11,
                                 M_SP_NA_1 IOA 12, C_SC_NA_1 IOA 20
                                 (select-and-execute)
  python3 iec104.py client IP    STARTDT, general interrogation (C_IC_NA_1),
                                 single command C_SC_NA_1 IOA 20 ON
                                 (select, then execute), STOPDT/close
Init.MUTED: the client connects without STARTDT and sends it itself
(unmute); no automatic interrogation or clock synchronisation, so every ASDU
in the capture is one asked for here.
"""
import sys
import time

import c104

CA = 47
IOA_CMD = 20


def server(ip):
    srv = c104.Server(ip=ip, port=2404, select_timeout_ms=5000)
    st = srv.add_station(common_address=CA)
    meas = st.add_point(io_address=11, type=c104.Type.M_ME_NC_1)
    meas.value = 42.5
    st.add_point(io_address=12, type=c104.Type.M_SP_NA_1)
    cmd = st.add_point(io_address=IOA_CMD, type=c104.Type.C_SC_NA_1,
                       command_mode=c104.CommandMode.SELECT_AND_EXECUTE)

    def on_cmd(point: c104.Point, previous_info: c104.Information,
               message: c104.IncomingMessage) -> c104.ResponseState:
        print(f"server: {point.type} IOA {point.io_address} select={message.is_select_command} value={point.value}",
              flush=True)
        return c104.ResponseState.SUCCESS

    cmd.on_receive(callable=on_cmd)
    srv.start()
    while True:
        time.sleep(1)


def client(ip):
    cl = c104.Client(tick_rate_ms=50, command_timeout_ms=3000)
    con = cl.add_connection(ip=ip, port=2404, init=c104.Init.MUTED)
    st = con.add_station(common_address=CA)
    cmd = st.add_point(io_address=IOA_CMD, type=c104.Type.C_SC_NA_1,
                       command_mode=c104.CommandMode.SELECT_AND_EXECUTE)
    cl.start()
    for _ in range(50):
        if con.state == c104.ConnectionState.OPEN_MUTED:  # TCP up, no STARTDT yet
            break
        time.sleep(0.1)
    else:
        raise SystemExit(f"not connected: {con.state}")
    if not con.unmute():  # STARTDT act -> con
        raise SystemExit("STARTDT failed")
    for _ in range(50):
        if con.state == c104.ConnectionState.OPEN:
            break
        time.sleep(0.1)
    else:
        raise SystemExit(f"not open: {con.state}")
    print("STARTDT: ok")
    time.sleep(0.3)
    if not con.interrogation(common_address=CA, cause=c104.Cot.ACTIVATION, qualifier=c104.Qoi.STATION):
        raise SystemExit("interrogation failed")
    print("interrogation: ok")
    time.sleep(0.3)
    cmd.value = True
    if not cmd.transmit(cause=c104.Cot.ACTIVATION):
        raise SystemExit("C_SC_NA_1 select+execute failed")
    print("C_SC_NA_1 IOA 20 ON select+execute: ok")
    time.sleep(0.3)
    con.disconnect()
    time.sleep(0.3)
    cl.stop()


if __name__ == "__main__":
    mode, ip = sys.argv[1], sys.argv[2]
    server(ip) if mode == "server" else client(ip)
