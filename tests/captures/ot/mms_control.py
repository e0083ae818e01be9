"""IEC 61850 MMS control scenario for make-ot.sh: libiec61850 (pyiec61850-ng
bindings) server and client, TCP 102.

  python3 mms_control.py server IP   an IED "IED1" built in code: logical
                                     device LD0 with LLN0 and CSWI1, whose
                                     Pos is a controllable single point
                                     (SPC, direct control with normal
                                     security); every operate is accepted
  python3 mms_control.py client IP   associate, then 12 direct operates of
                                     IED1LD0/CSWI1.Pos (ON/OFF alternately,
                                     origin "eng-laptop", 0.2 s apart): MMS
                                     writes of CSWI1$CO$Pos$Oper; then an
                                     initiateUploadSequence of domain
                                     IED1LD0 (the server rejects it); release
"""
import ctypes
import sys
import time

import pyiec61850.pyiec61850 as iec

N_OPER = 12
REF = "IED1LD0/CSWI1.Pos"


def server(ip):
    model = iec.IedModel_create("IED1")
    ld = iec.LogicalDevice_create("LD0", model)
    lln0 = iec.LogicalNode_create("LLN0", ld)
    iec.CDC_ENS_create("Mod", iec.toModelNode(lln0), 0)
    iec.CDC_ENS_create("Health", iec.toModelNode(lln0), 0)
    cswi = iec.LogicalNode_create("CSWI1", ld)
    iec.CDC_SPC_create("Pos", iec.toModelNode(cswi), 0, iec.CONTROL_MODEL_DIRECT_NORMAL)
    srv = iec.IedServer_create(model)
    iec.IedServer_setLocalIpAddress(srv, ip) if hasattr(iec, "IedServer_setLocalIpAddress") else None
    iec.IedServer_start(srv, 102)
    if not iec.IedServer_isRunning(srv):
        raise SystemExit("IedServer did not start")
    print("server: IED1 running", flush=True)
    while True:
        time.sleep(1)


def client(ip):
    con = iec.IedConnection_create()
    err = iec.IedConnection_connect(con, ip, 102)
    if isinstance(err, tuple):  # the binding returns (None, IedClientError)
        err = err[-1]
    if err != iec.IED_ERROR_OK:
        raise SystemExit(f"connect: error {err}")
    print("associate: ok")
    ctl = iec.ControlObjectClient_create(REF, con)
    if not ctl:
        raise SystemExit(f"ControlObjectClient_create {REF} failed")
    iec.ControlObjectClient_setOrigin(ctl, "eng-laptop", 3)
    ok = 0
    for i in range(N_OPER):
        val = iec.MmsValue_newBoolean(i % 2 == 0)
        if iec.ControlObjectClient_operate(ctl, val, 0):
            ok += 1
        iec.MmsValue_delete(val)
        time.sleep(0.2)
    print(f"{N_OPER} operates of {REF}: {ok} accepted")
    if ok == 0:
        raise SystemExit("no operate accepted")
    iec.ControlObjectClient_destroy(ctl)
    # initiateUploadSequence [29] "IED1LD0" as a raw confirmed-RequestPDU
    # (invoke id 0x7f): libiec61850's client has no upload call, but its
    # MmsConnection_sendRawData sends a raw MMS PDU through the association
    # (called through ctypes: the binding cannot pass a uint8_t buffer).
    dom = b"IED1LD0"
    svc = bytes([0x9D, len(dom)]) + dom
    body = b"\x02\x01\x7f" + svc
    pdu = bytes([0xA0, len(body)]) + body
    mms = iec.IedConnection_getMmsConnection(con)
    err = iec.MmsError_create()
    send_raw = ctypes.CDLL(iec._pyiec61850.__file__).MmsConnection_sendRawData
    send_raw.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
    send_raw.restype = None
    send_raw(int(mms), int(err), pdu, len(pdu))
    print(f"initiateUploadSequence {dom.decode()}: sent")
    time.sleep(0.5)
    iec.IedConnection_close(con)
    iec.IedConnection_destroy(con)


if __name__ == "__main__":
    mode, ip = sys.argv[1], sys.argv[2]
    server(ip) if mode == "server" else client(ip)
