#!/usr/bin/env bash
# Regenerates tests/captures/ot-SCENARIO.pcap: real OT protocol stacks from
# PyPI (or, where PyPI has no usable stack, scapy / plain Python sockets
# speaking the protocol) talking between two network namespaces, recorded
# with tcpdump. One capture per scenario; the scripts are in ot/*.py.
#
# Benign operation of one stack each (pinned alert by alert in
# sensor/tests/ot_stacks.rs):
#
#   ot-modbus.pcap  pymodbus server + client (TCP 502), unit 1:
#                   read holding registers 0..9, write single register
#                   address 9 (= 40010 in 1-based Modicon numbering) = 1234,
#                   read it back, write multiple registers 20..22 = 11,22,33,
#                   diagnostics 0x08 sub-function 0x01 restart communications
#   ot-s7.pcap      python-snap7 (pure-Python S7 server + client, TCP 102):
#                   COTP connect rack 0 slot 1, setup communication, read
#                   DB1.DBB0 x16, write DB1.DBW4 = 1234, read it back,
#                   PLC stop, PLC hot start
#   ot-iec104.pcap  c104 server + client (TCP 2404), common address 47:
#                   STARTDT, general interrogation (C_IC_NA_1), single
#                   command C_SC_NA_1 IOA 20 ON as select then execute
#   ot-opcua.pcap   asyncua server + client (TCP 4840, SecurityPolicy None,
#                   anonymous): hello/open/session, browse Objects and
#                   ns=2;s=Plant, read + write ns=2;s=Setpoint = 1234.5,
#                   call method ns=2;s=Reset
#
# Attack / misuse behaviour for the OT rule pack (the rules each fires are
# pinned in sensor/tests/ot_rules.rs, GENERATED; details in each script's
# docstring):
#
#   ot-modbus-scan.pcap    modbus_attack.py, pymodbus (TCP 502): unit-id
#                          scan 1..20, 12 reads of unmapped registers
#   ot-modbus-writes.pcap  modbus_attack.py: write sweep over addresses
#                          0..39, 100-write flood, 12 refused writes
#   ot-umas.pcap           modbus_attack.py: UMAS (function 90) read id,
#                          STOP, download (init/block/end), START, upload
#                          (init/block/end); pymodbus server with a UMAS
#                          custom PDU answering "OK"
#   ot-iec104-attack.pcap  iec104_attack.py, c104 (TCP 2404): C_SC_NA_1 to
#                          IOAs 100..115, 16 more commands (flood), 6 to
#                          unknown IOAs (COT 47), C_RP_NA_1 reset process
#                          (raw APDUs: c104 has no C_RP_NA_1 point)
#   ot-enip-attack.pcap    enip_attack.py, cpppo server + pycomm3 client (TCP
#                          44818): ListIdentity to 20 hosts (10.78.0.10-29),
#                          Set_Attribute_Single TCP/IP Interface (0xF5) and
#                          Ethernet Link (0xF6), a request to the NVS object
#                          (0xA1)
#   ot-bacnet-sweep.pcap   bacnet.py, bacpypes3 device + client (UDP 47808):
#                          24 Who-Is over device-instance blocks, one I-Am
#   ot-fins.pcap           fins_plc.py, `fins` client + plain-socket CPU
#                          simulator (UDP 9600): controller data read, memory
#                          area write, stop, program area write, run, program
#                          area read, reset
#   ot-hart-ip.pcap        hart_ip.py, plain sockets both sides (TCP 5094):
#                          session, command 0, 18, 35, 40, 42 (device reset)
#   ot-dnp3.pcap           dnp3.py, plain sockets both sides (TCP 20000):
#                          read, open file (FC 25), activate configuration
#                          (FC 31), enable unsolicited, 55 unsolicited
#                          responses 50 ms apart, each confirmed
#   ot-mms-control.pcap    mms_control.py, libiec61850 (pyiec61850-ng) IED +
#                          client (TCP 102): 12 direct operates of
#                          CSWI1.Pos, a raw initiateUploadSequence
#   ot-s7-mres.pcap        s7_mres.py, python-snap7 (TCP 102): PLC stop, then
#                          the programmer command memory reset (USERDATA
#                          group 1 / subfunction 0x0C, as Wireshark names
#                          it), sent through the snap7 client's connection
#   ot-dcp.pcap            dcp.py, scapy (layer 2, 0x8892): a device
#                          responder; 25 Identify All, Set reset to factory
#   ot-goose.pcap          goose.py, scapy (layer 2, 0x88B8, no server): 22
#                          state changes in 2.2 s, test flag, simulation bit,
#                          TTL 0
#
#   "ot-server" (10.78.0.2, and 10.78.0.10-29 for sweeps)  the servers
#   "ot-client" (10.78.0.1)                                the clients
#
# The namespaces are joined by one veth pair (veth-otc <-> veth-ots); nothing
# is routed anywhere else, so no packet leaves this machine. Layer-2
# scenarios send on the veth only.
#
# Usage (as root):  bash tests/captures/make-ot.sh [SCENARIO ...]
#   SCENARIO: modbus s7 iec104 opcua modbus-scan modbus-writes umas
#   iec104-attack enip-attack bacnet-sweep fins hart-ip dnp3 mms-control
#   s7-mres dcp goose
#   (default: all). Outputs go next to this script as ot-SCENARIO.pcap.
# The tests only replay the committed captures; nothing runs this script
# in CI.
# The Python stacks are installed (pinned versions, once) into a venv at
# $OT_VENV (default /var/cache/sensor-ot-venv). Re-running is safe: stale
# namespaces are removed first, and the namespaces and every process started
# here are removed on exit, even on failure. Each run gives new timestamps,
# ports, sequence numbers, session ids / nonces; the operations stay the
# same.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ALL=(modbus s7 iec104 opcua modbus-scan modbus-writes umas iec104-attack enip-attack bacnet-sweep fins hart-ip dnp3 mms-control s7-mres dcp goose)
PROTOS=("$@")
[ ${#PROTOS[@]} -gt 0 ] || PROTOS=("${ALL[@]}")

NS_C=ot-client
NS_S=ot-server
VETH_C=veth-otc
VETH_S=veth-ots
IP_C=10.78.0.1
IP_S=10.78.0.2
OT_VENV="${OT_VENV:-/var/cache/sensor-ot-venv}"
PY_PKGS=(pymodbus==3.16.1 python-snap7==3.3.0 c104==2.2.1 asyncua==2.1.0
         scapy==2.8.0 cpppo==5.2.5 pycomm3==1.2.16 bacpypes3==0.0.110 fins==1.0.5
         pyiec61850-ng==1.6.1.10)

log() { printf '[make-ot] %s\n' "$*"; }
die() { printf '[make-ot] ERROR: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run as root (network namespaces, tcpdump)"

# scenario -> "script server filter": server is tcp:PORT / udp:PORT (wait
# until the server script listens there), ready (wait until it prints
# "ready": layer-2 responders) or none (the client only sends raw frames);
# filter is tcpdump's.
spec_of() {
  case $1 in
    modbus)        echo "modbus.py tcp:502 tcp port 502" ;;
    s7)            echo "s7.py tcp:102 tcp port 102" ;;
    iec104)        echo "iec104.py tcp:2404 tcp port 2404" ;;
    opcua)         echo "opcua.py tcp:4840 tcp port 4840" ;;
    modbus-scan|modbus-writes|umas)
                   echo "modbus_attack.py tcp:502 tcp port 502" ;;
    iec104-attack) echo "iec104_attack.py tcp:2404 tcp port 2404" ;;
    enip-attack)   echo "enip_attack.py tcp:44818 tcp port 44818" ;;
    bacnet-sweep)  echo "bacnet.py udp:47808 udp port 47808" ;;
    fins)          echo "fins_plc.py udp:9600 udp port 9600" ;;
    hart-ip)       echo "hart_ip.py tcp:5094 tcp port 5094" ;;
    dnp3)          echo "dnp3.py tcp:20000 tcp port 20000" ;;
    mms-control)   echo "mms_control.py tcp:102 tcp port 102" ;;
    s7-mres)       echo "s7_mres.py tcp:102 tcp port 102" ;;
    dcp)           echo "dcp.py ready ether proto 0x8892" ;;
    goose)         echo "goose.py none ether proto 0x88b8" ;;
    *) die "unknown scenario '$1' (${ALL[*]})" ;;
  esac
}
for p in "${PROTOS[@]}"; do spec_of "$p" >/dev/null; done

# --- tools --------------------------------------------------------------------
need_pkgs=()
for pair in ip:iproute2 tcpdump:tcpdump python3:python3 ethtool:ethtool ss:iproute2; do
  cmd=${pair%%:*} pkg=${pair#*:}
  if ! command -v "$cmd" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$cmd" ] && [ ! -x "/sbin/$cmd" ]; then
    need_pkgs+=("$pkg")
  fi
done
if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1 && [ ! -x "$OT_VENV/bin/python" ]; then
  need_pkgs+=(python3-venv)
fi
if [ ${#need_pkgs[@]} -gt 0 ]; then
  log "installing: ${need_pkgs[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi
export PATH="$PATH:/usr/sbin:/sbin"

if [ ! -x "$OT_VENV/bin/python" ]; then
  log "creating venv $OT_VENV"
  python3 -m venv "$OT_VENV"
fi
PY="$OT_VENV/bin/python"
if ! "$PY" - "${PY_PKGS[@]}" <<'PYEOF' >/dev/null 2>&1
import sys
from importlib.metadata import version
for spec in sys.argv[1:]:
    name, want = spec.split("==")
    assert version(name) == want, spec
PYEOF
then
  log "installing into $OT_VENV: ${PY_PKGS[*]}"
  "$PY" -m pip install -q --disable-pip-version-check "${PY_PKGS[@]}"
fi

# --- cleanup --------------------------------------------------------------------
WORK="$(mktemp -d /tmp/make-ot.XXXXXX)"
PIDS=()

kill_ns_procs() {   # processes still running inside one of our namespaces
  local ns=$1 pid
  ip netns list 2>/dev/null | awk '{print $1}' | grep -qx "$ns" || return 0
  for pid in $(ip netns pids "$ns" 2>/dev/null); do
    kill "$pid" 2>/dev/null || true
  done
  sleep 0.2
  for pid in $(ip netns pids "$ns" 2>/dev/null); do
    kill -9 "$pid" 2>/dev/null || true
  done
}

del_ns() {
  local ns=$1
  if ip netns list 2>/dev/null | awk '{print $1}' | grep -qx "$ns"; then
    kill_ns_procs "$ns"
    ip netns del "$ns" 2>/dev/null || true
  fi
}

cleanup() {
  local rc=$?
  set +e
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  del_ns "$NS_C"    # also SIGKILLs whatever still runs inside
  del_ns "$NS_S"
  for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
  rm -rf "$WORK"
  if [ $rc -eq 0 ]; then log "cleaned up namespaces $NS_C/$NS_S"; else log "failed (rc=$rc); namespaces removed"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

inc() { ip netns exec "$NS_C" "$@"; }
ins() { ip netns exec "$NS_S" "$@"; }

wait_port() {   # tcp|udp port: wait until something listens there in the server ns
  local l4=$1 port=$2 i flag=-Hlnt
  [ "$l4" = udp ] && flag=-Hlnu
  for i in $(seq 1 100); do
    if ins ss $flag "sport = :$port" | grep -q .; then return 0; fi
    sleep 0.1
  done
  return 1
}

# --- namespaces -----------------------------------------------------------------
log "removing stale namespaces (if any)"
del_ns "$NS_C"
del_ns "$NS_S"

log "creating namespaces $NS_C ($IP_C) and $NS_S ($IP_S) joined by $VETH_C <-> $VETH_S"
ip netns add "$NS_C"
ip netns add "$NS_S"
for ns in "$NS_C" "$NS_S"; do
  # IPv4 only: no router solicitations / MLD / ND noise in the captures.
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  ip netns exec "$ns" ip link set lo up
done
ip link add "$VETH_C" netns "$NS_C" type veth peer name "$VETH_S" netns "$NS_S"
inc ip link set "$VETH_C" address 02:00:0a:4e:00:01
ins ip link set "$VETH_S" address 02:00:0a:4e:00:02
inc ip addr add "$IP_C/24" dev "$VETH_C"
ins ip addr add "$IP_S/24" dev "$VETH_S"
# Sweep targets: 20 more "devices" (10.78.0.10-29) on the server side.
for i in $(seq 10 29); do ins ip addr add "10.78.0.$i/24" dev "$VETH_S"; done
# No offloads: tcpdump sees every segment as it is on the wire (<= MTU).
for pair in "$NS_C:$VETH_C" "$NS_S:$VETH_S"; do
  ns=${pair%%:*} dev=${pair#*:}
  ip netns exec "$ns" ethtool -K "$dev" gro off tso off gso off >/dev/null 2>&1 \
    || log "ethtool -K $dev: some offloads could not be changed (continuing)"
done
inc ip link set "$VETH_C" up
ins ip link set "$VETH_S" up
# Resolve each other's MAC now, so no ARP exchange lands mid-capture.
inc ping -c1 -W2 "$IP_S" >/dev/null 2>&1 || true

# --- one scenario ---------------------------------------------------------------
record() {   # scenario: server up, tcpdump on, client, tcpdump off, server down
  local proto=$1 spec script srv filter out srv_pid="" td_pid rc
  spec=$(spec_of "$proto")
  read -r script srv filter <<<"$spec"
  script="$HERE/ot/$script"
  out="$HERE/ot-$proto.pcap"
  log "== $proto ($srv; $filter): $script"

  # Background jobs are started with a plain `ip netns exec` (no shell
  # function) so that $! is the process itself.
  if [ "$srv" != none ]; then
    ip netns exec "$NS_S" "$PY" -u "$script" server "$IP_S" "$proto" >"$WORK/$proto-server.log" 2>&1 &
    srv_pid=$!
    PIDS+=("$srv_pid")
    if [ "$srv" = ready ]; then
      for _ in $(seq 1 100); do
        grep -qx ready "$WORK/$proto-server.log" && break
        sleep 0.1
      done
      grep -qx ready "$WORK/$proto-server.log" \
        || die "$proto server not ready: $(tail -n 20 "$WORK/$proto-server.log")"
    else
      wait_port "${srv%%:*}" "${srv#*:}" \
        || die "$proto server not listening on $srv: $(tail -n 20 "$WORK/$proto-server.log")"
    fi
  else
    : >"$WORK/$proto-server.log"
  fi

  # shellcheck disable=SC2086  # the filter is several words
  ip netns exec "$NS_S" tcpdump -i "$VETH_S" -s 0 -U -n -Z root -w "$WORK/$proto.pcap" \
    $filter 2>"$WORK/$proto-tcpdump.log" &
  td_pid=$!
  PIDS+=("$td_pid")
  for _ in $(seq 1 50); do
    grep -q "listening on" "$WORK/$proto-tcpdump.log" 2>/dev/null && break
    sleep 0.1
  done
  grep -q "listening on" "$WORK/$proto-tcpdump.log" || die "tcpdump did not start: $(cat "$WORK/$proto-tcpdump.log")"
  sleep 0.3

  rc=0
  inc timeout 90 "$PY" -u "$script" client "$IP_S" "$proto" >"$WORK/$proto-client.log" 2>&1 || rc=$?
  sed 's/^/[make-ot]   client: /' "$WORK/$proto-client.log"
  sleep 1
  # SIGTERM, not SIGINT: background jobs of a non-interactive shell ignore
  # SIGINT. tcpdump flushes and prints its counters on SIGTERM as well.
  kill -TERM "$td_pid" 2>/dev/null || true
  wait "$td_pid" 2>/dev/null || true
  if [ -n "$srv_pid" ]; then
    kill -TERM "$srv_pid" 2>/dev/null || true
    wait "$srv_pid" 2>/dev/null || true
  fi
  grep -v '^\s*$' "$WORK/$proto-server.log" | grep -iv warning | head -n 10 | sed 's/^/[make-ot]   server: /' || true
  tail -n 3 "$WORK/$proto-tcpdump.log" | sed 's/^/[make-ot]   tcpdump: /'
  if [ "$rc" -ne 0 ]; then
    log "$proto client failed (rc=$rc); capture discarded"
    return 1
  fi
  [ -s "$WORK/$proto.pcap" ] || die "$proto: empty capture"

  # (errexit is off inside `if record ...`: check each step)
  cp "$WORK/$proto.pcap" "$out.tmp" && chmod 0644 "$out.tmp" && mv -f "$out.tmp" "$out" \
    || die "$proto: could not write $out"
  log "wrote $out: $(tcpdump -r "$out" -n -q 2>/dev/null | wc -l) packets, $(stat -c %s "$out") bytes"
}

# c104 2.2.1's client now and then never sends the execute after a select
# confirmation that arrives very quickly (select act/actcon, then nothing),
# and libiec61850's ControlObjectClient_create now and then fails on a fresh
# association (and keeps failing on it): a failed attempt is discarded and
# the scenario recorded again from scratch.
for p in "${PROTOS[@]}"; do
  ok=0
  for attempt in 1 2 3; do
    if record "$p"; then ok=1; break; fi
    log "$p: attempt $attempt failed"
  done
  [ "$ok" -eq 1 ] || die "$p: every attempt failed; capture not written"
done
