#!/usr/bin/env bash
# Regenerates tests/captures/demo-ioc.pcap: real DNS, HTTP and TLS traffic
# between two network namespaces, recorded with tcpdump.
#
#   "server" (10.77.0.2)  dnsmasq (DNS, UDP+TCP 53), python3 http.server (80),
#                         openssl s_server (443, self-signed cert made here)
#   "client" (10.77.0.1)  dig, curl, openssl s_client
#
# The two namespaces are joined by one veth pair (veth-c <-> veth-s); nothing
# is routed anywhere else, so no packet leaves this machine. The clients ask
# for names and URLs taken from the maltrail lists (apt_kimsuky.txt,
# apt_lazarus.txt, apt_gamaredon.txt; see deploy/demo/ioc-demo.txt) and for
# two benign plant names, so the capture holds matching and non-matching
# traffic. Alerts must come from DNS query names, HTTP Host/URL and TLS SNI:
# the server address is not an indicator.
#
# Usage (as root):  bash tests/captures/make-demo.sh [OUTPUT.pcap]
# Default output: demo-ioc.pcap next to this script. Re-running is safe: stale
# namespaces from an earlier run are removed first, and the namespaces and
# every process started here are removed on exit, even on failure.
# Each run gives new timestamps, ephemeral ports, DNS ids, TLS randoms and a
# new certificate; the names, URLs and SNI values stay the same.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="${1:-$HERE/demo-ioc.pcap}"

NS_C=client
NS_S=server
VETH_C=veth-c
VETH_S=veth-s
IP_C=10.77.0.1
IP_S=10.77.0.2

# --- indicators (from the maltrail lists, see deploy/demo/ioc-demo.txt) ----
KIMSUKY=(tcjst.com safe-naver-mail.pe.hu korea.getenjoyment.net)   # apt_kimsuky.txt
LAZARUS=(celasllc.com bitfiniex.org)                                # apt_lazarus.txt
LAZARUS_URL_HOST=ando.co.kr                                         # apt_lazarus.txt:
LAZARUS_URL_PATH=/service/s_top.asp                                 #   ando.co.kr/service/s_top.asp
GAMAREDON=(check-update.ru email-attachments.ru admin-ru.ru)        # apt_gamaredon.txt
# --- benign names (no indicator) --------------------------------------------
BENIGN=(updates.plant.example historian.plant.example)

ALL_NAMES=("${KIMSUKY[@]}" "${LAZARUS[@]}" "$LAZARUS_URL_HOST" "${GAMAREDON[@]}" "${BENIGN[@]}")

log() { printf '[make-demo] %s\n' "$*"; }
die() { printf '[make-demo] ERROR: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run as root (network namespaces, tcpdump)"

# --- tools --------------------------------------------------------------------
need_pkgs=()
for pair in ip:iproute2 tcpdump:tcpdump dnsmasq:dnsmasq-base curl:curl \
            openssl:openssl dig:dnsutils python3:python3 ethtool:ethtool; do
  cmd=${pair%%:*} pkg=${pair#*:}
  if ! command -v "$cmd" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$cmd" ] && [ ! -x "/sbin/$cmd" ]; then
    need_pkgs+=("$pkg")
  fi
done
if [ ${#need_pkgs[@]} -gt 0 ]; then
  log "installing: ${need_pkgs[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi
export PATH="$PATH:/usr/sbin:/sbin"
PY="$(command -v python3)"

# --- cleanup --------------------------------------------------------------------
WORK="$(mktemp -d /tmp/make-demo.XXXXXX)"
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

wait_port() {   # proto port: wait until something listens in the server ns
  local proto=$1 port=$2 i
  for i in $(seq 1 50); do
    if ins ss -Hln"${proto:0:1}" "sport = :$port" | grep -q .; then return 0; fi
    sleep 0.1
  done
  die "nothing listening on $proto/$port in $NS_S"
}

# --- namespaces -----------------------------------------------------------------
log "removing stale namespaces (if any)"
del_ns "$NS_C"
del_ns "$NS_S"

log "creating namespaces $NS_C ($IP_C) and $NS_S ($IP_S) joined by $VETH_C <-> $VETH_S"
ip netns add "$NS_C"
ip netns add "$NS_S"
for ns in "$NS_C" "$NS_S"; do
  # IPv4 only: no router solicitations / MLD / ND noise in the capture.
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  ip netns exec "$ns" ip link set lo up
done
ip link add "$VETH_C" netns "$NS_C" type veth peer name "$VETH_S" netns "$NS_S"
inc ip link set "$VETH_C" address 02:00:0a:4d:00:01
ins ip link set "$VETH_S" address 02:00:0a:4d:00:02
inc ip addr add "$IP_C/24" dev "$VETH_C"
ins ip addr add "$IP_S/24" dev "$VETH_S"
# No offloads: tcpdump sees every segment as it is on the wire (<= MTU).
for pair in "$NS_C:$VETH_C" "$NS_S:$VETH_S"; do
  ns=${pair%%:*} dev=${pair#*:}
  ip netns exec "$ns" ethtool -K "$dev" gro off tso off gso off >/dev/null 2>&1 \
    || log "ethtool -K $dev: some offloads could not be changed (continuing)"
done
inc ip link set "$VETH_C" up
ins ip link set "$VETH_S" up

# --- server content ---------------------------------------------------------------
mkdir -p "$WORK/www/service" "$WORK/www/update" "$WORK/www/firmware" "$WORK/www/api/v1" "$WORK/tls"
printf '<html><body>demo page (served inside a test namespace)</body></html>\n' > "$WORK/www/service/s_top.asp"
printf '<html><body>demo index</body></html>\n' > "$WORK/www/index.html"
printf 'no update\n' > "$WORK/www/update/check.php"
printf '{"firmware":"demo","version":"1.0.0"}\n' > "$WORK/www/firmware/manifest.json"
printf '{"tags":["FIC101.PV","TIC204.PV"]}\n' > "$WORK/www/api/v1/tags"

log "generating self-signed certificate (CN=demo-server.plant.example)"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
  -subj "/C=XX/O=Sensor Demo/CN=demo-server.plant.example" \
  -keyout "$WORK/tls/key.pem" -out "$WORK/tls/cert.pem" 2>/dev/null

# Background jobs are started with a plain `ip netns exec` (no shell function)
# so that $! is the server process itself and `kill $!` really stops it.
# --- servers ----------------------------------------------------------------------
dns_args=()
for n in "${ALL_NAMES[@]}"; do dns_args+=("--address=/$n/$IP_S"); done
log "starting dnsmasq on $IP_S:53 (A records for ${#ALL_NAMES[@]} names -> $IP_S)"
ip netns exec "$NS_S" dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts --no-poll \
  --bind-interfaces --listen-address="$IP_S" --pid-file= --user=root --local-ttl=300 \
  --log-queries --log-facility="$WORK/dnsmasq.log" "${dns_args[@]}" &
PIDS+=($!)

log "starting python3 http.server on $IP_S:80"
ip netns exec "$NS_S" "$PY" -m http.server 80 --bind "$IP_S" --directory "$WORK/www" >"$WORK/http.log" 2>&1 &
PIDS+=($!)

log "starting openssl s_server on $IP_S:443"
ip netns exec "$NS_S" openssl s_server -quiet -accept 443 -www -cert "$WORK/tls/cert.pem" -key "$WORK/tls/key.pem" \
  >"$WORK/tls.log" 2>&1 </dev/null &
PIDS+=($!)

wait_port udp 53
wait_port tcp 53
wait_port tcp 80
wait_port tcp 443

# --- capture ----------------------------------------------------------------------
log "starting tcpdump on $NS_S/$VETH_S"
ip netns exec "$NS_S" tcpdump -i "$VETH_S" -s 0 -U -n -Z root -w "$WORK/cap.pcap" 2>"$WORK/tcpdump.log" &
TCPDUMP_PID=$!
PIDS+=("$TCPDUMP_PID")
for _ in $(seq 1 50); do
  grep -q "listening on" "$WORK/tcpdump.log" 2>/dev/null && break
  sleep 0.1
done
grep -q "listening on" "$WORK/tcpdump.log" || die "tcpdump did not start: $(cat "$WORK/tcpdump.log")"
sleep 0.3

fails=0
run() {   # run a client command in the client namespace, log it, keep going on failure
  local what=$1; shift
  if out=$(inc "$@" 2>&1); then
    log "  ok   $what${out:+ -> $(printf '%s' "$out" | tr '\n' ' ' | cut -c1-100)}"
  else
    log "  FAIL $what: $(printf '%s' "$out" | tr '\n' ' ' | cut -c1-200)"
    fails=$((fails + 1))
  fi
}

log "DNS over UDP (dig @$IP_S NAME A)"
for n in "${ALL_NAMES[@]}"; do
  run "dig $n" dig @"$IP_S" "$n" A +tries=1 +time=2 +short
done

log "DNS over TCP (dig +tcp)"
run "dig +tcp korea.getenjoyment.net" dig @"$IP_S" korea.getenjoyment.net A +tcp +tries=1 +time=2 +short

CURL=(curl -sS --max-time 5 -o /dev/null -w '%{http_code}')
log "HTTP (curl)"
run "GET http://$LAZARUS_URL_HOST$LAZARUS_URL_PATH" \
  "${CURL[@]}" --resolve "$LAZARUS_URL_HOST:80:$IP_S" "http://$LAZARUS_URL_HOST$LAZARUS_URL_PATH"
run "GET http://$LAZARUS_URL_HOST/index.html (same host, path not listed)" \
  "${CURL[@]}" --resolve "$LAZARUS_URL_HOST:80:$IP_S" "http://$LAZARUS_URL_HOST/index.html"
run "GET http://tcjst.com/update/check.php?id=1" \
  "${CURL[@]}" --resolve "tcjst.com:80:$IP_S" "http://tcjst.com/update/check.php?id=1"
run "GET http://$IP_S/update/check.php with Host: check-update.ru" \
  "${CURL[@]}" -H "Host: check-update.ru" "http://$IP_S/update/check.php"
run "GET http://updates.plant.example/firmware/manifest.json (benign)" \
  "${CURL[@]}" --resolve "updates.plant.example:80:$IP_S" "http://updates.plant.example/firmware/manifest.json"
run "GET http://historian.plant.example/api/v1/tags (benign)" \
  "${CURL[@]}" --resolve "historian.plant.example:80:$IP_S" "http://historian.plant.example/api/v1/tags"

log "TLS (ClientHello with SNI)"
run "openssl s_client -servername safe-naver-mail.pe.hu (TLS 1.3)" \
  sh -c "openssl s_client -connect $IP_S:443 -servername safe-naver-mail.pe.hu -brief </dev/null 2>&1 | grep -m1 -i 'protocol version'"
run "openssl s_client -servername email-attachments.ru (TLS 1.3)" \
  sh -c "openssl s_client -connect $IP_S:443 -servername email-attachments.ru -brief </dev/null 2>&1 | grep -m1 -i 'protocol version'"
run "openssl s_client -servername bitfiniex.org (TLS 1.2, certificate in clear)" \
  sh -c "openssl s_client -connect $IP_S:443 -servername bitfiniex.org -tls1_2 -brief </dev/null 2>&1 | grep -m1 -i 'protocol version'"
run "curl -k https://celasllc.com/ (TLS 1.3)" \
  "${CURL[@]}" -k --resolve "celasllc.com:443:$IP_S" "https://celasllc.com/"
run "curl -k https://historian.plant.example/ (benign, TLS 1.3)" \
  "${CURL[@]}" -k --resolve "historian.plant.example:443:$IP_S" "https://historian.plant.example/"

sleep 1
log "stopping tcpdump"
# SIGTERM, not SIGINT: background jobs of a non-interactive shell ignore
# SIGINT. tcpdump flushes and prints its counters on SIGTERM as well.
kill -TERM "$TCPDUMP_PID" 2>/dev/null || true
wait "$TCPDUMP_PID" 2>/dev/null || true
tail -n 3 "$WORK/tcpdump.log" | sed 's/^/[make-demo]   tcpdump: /'

[ -s "$WORK/cap.pcap" ] || die "empty capture"
[ "$fails" -eq 0 ] || die "$fails client step(s) failed; capture not written"

mkdir -p "$(dirname "$OUT")"
cp "$WORK/cap.pcap" "$OUT.tmp"
chmod 0644 "$OUT.tmp"
mv -f "$OUT.tmp" "$OUT"
pkts=$(tcpdump -r "$OUT" -n 2>/dev/null | wc -l)
log "wrote $OUT: $pkts packets, $(stat -c %s "$OUT") bytes"
log "dnsmasq answered $(grep -c ' query\[' "$WORK/dnsmasq.log" 2>/dev/null || echo 0) queries; http.server served $(grep -c '"GET ' "$WORK/http.log" 2>/dev/null || echo 0) requests"
