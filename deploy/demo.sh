#!/usr/bin/env bash
# The sensor's main job on captures from this repository: build the release
# binary, replay the demo capture (real DNS/HTTP/TLS stacks talking to
# threat-actor names, recorded by tests/captures/make-demo.sh) against the
# demo IOC list, and show the alerts it raises.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/cache/sensor-target}"
if ! command -v cargo >/dev/null 2>&1; then
  echo "demo: cargo is not installed. Install a Rust toolchain (1.85 or newer), then re-run." >&2
  exit 1
fi
need_apt=()
for pkg in gcc make clang libbpf-dev libpcap-dev; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
cargo build --release -p sensor
out="${DEMO_OUT:-/tmp/sensor-demo}"
mkdir -p "$out"
rm -f "$out/eve.json"
"$CARGO_TARGET_DIR/release/sensor" replay tests/captures/demo-ioc.pcap \
  --ioc deploy/demo/ioc-demo.txt --eve "$out/eve.json" --no-progress
echo
echo "Alerts (full EVE records in $out/eve.json):"
python3 - "$out/eve.json" <<'PY'
import json, sys
n = 0
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e.get("event_type") != "alert":
        continue
    n += 1
    a = e["alert"]
    md = a.get("metadata", {})
    print(f'  {e["timestamp"]}  {e["src_ip"]} -> {e["dest_ip"]}  {a["signature"]}'
          f'  [actor={",".join(md.get("actor", ["?"]))} sid={a["signature_id"]}]')
print(f"{n} alerts")
PY
