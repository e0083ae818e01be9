#!/usr/bin/env bash
# The whole test suite: tools, formatting, lints, unit/integration tests,
# golden cases over ../shared/testdata, schema validation.
# Idempotent: installs only what is missing. Run as root on Debian 12.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/cache/sensor-target}"
export CARGO_TERM_COLOR=never

need_apt=()
for pkg in make clang libbpf-dev libpcap-dev tcpdump tcpreplay tshark; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "tests: installing ${need_apt[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if [ ! -d ../shared/testdata ]; then
  echo "tests: NOTE ../shared/testdata is absent: golden cases over real captures will be SKIPPED"
fi

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings
echo "== cargo test"
cargo test --workspace --release 2>&1 | tee "$CARGO_TARGET_DIR/test.log"
# One closing line for the whole suite (cargo prints one per test binary).
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($i == "passed;") p += $(i-1); if ($i == "failed;") f += $(i-1) } }
     END { printf "suite: %d passed, %d failed\n", p, f }' "$CARGO_TARGET_DIR/test.log"
