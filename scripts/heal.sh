#!/usr/bin/env bash
# Heal: reproduces issue 14's two measurements end to end with the release binary against
# the fake API on 127.0.0.1, and prints the figures (about 2.5 minutes):
#  1. `serve --refresh-interval 20s --tick 1s`, 12 sites, started inside a 15 s rebuild
#     window (every traffic answer all zeros): wrong-zero and missing days 75 s after the
#     window closed.
#  2. 25% of traffic answers cut: the exit code of `fetch`, then the sites that have all
#     28 days 40 s after `serve --refresh-interval 10m` starts under the same faults.
# The truth is `fetch --format json` against a fake without faults or window (its data is
# deterministic); scripts/compare-days.py compares it with /metrics.
#   scripts/heal.sh                           # today's code
#   HEAL_BIN=/path/to/pantheon-metrics scripts/heal.sh   # any other build, same fake
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}
port=${HEAL_PORT:-18191}   # uses this port and the next five
sites_per_account=6        # 2 accounts: 12 sites
window=15
after=75
cut=0.25
settle=40
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT

if [ -n "${HEAL_BIN:-}" ]; then
  bin=$(realpath "$HEAL_BIN")
  cargo build --release --quiet --example fake-api
else
  bin=$target/release/pantheon-metrics
  cargo build --release --quiet --bin pantheon-metrics --example fake-api
fi
fake_bin=$target/release/examples/fake-api

# Starts a fake on port $1 with the extra options after it, its pid in $fake_pid; waits
# for its tokens.
start_fake() {
  local p=$1; shift
  rm -f "$work/tokens.$p"
  "$fake_bin" --port "$p" --sites "$sites_per_account" --accounts 2 \
    --tokens-file "$work/tokens.$p" "$@" > "$work/fake.$p.log" 2>&1 &
  fake_pid=$!
  for _ in $(seq 100); do [ -s "$work/tokens.$p" ] && return 0; sleep 0.1; done
  echo "fake API on port $p did not start:" >&2; cat "$work/fake.$p.log" >&2; exit 1
}
# The binary's options to reach the fake on port $1 (its tokens go in the environment).
api() { echo "--api-url http://127.0.0.1:$1/api --timeout 5s"; }
# Scrapes the serve on port $1 and compares with the truth:
# prints "sites complete missing wrong_zero wrong_other traffic_days".
compare() {
  curl -sf --max-time 10 "http://127.0.0.1:$1/metrics" -o "$work/metrics.$1" \
    || { echo "scrape of port $1 failed" >&2; : > "$work/metrics.$1"; }
  python3 scripts/compare-days.py "$work/truth.json" "$work/metrics.$1"
}

echo "binary: $bin ($("$bin" --version 2>/dev/null || echo unknown version))"

# The truth, from a fake without faults.
truth_port=$port
start_fake "$truth_port"
PANTHEON_MACHINE_TOKENS_FILE="$work/tokens.$truth_port" \
  timeout 60 "$bin" $(api "$truth_port") fetch --format json \
  > "$work/truth.json" 2> "$work/truth.err" \
  || { echo "truth fetch failed:" >&2; cat "$work/truth.err" >&2; exit 1; }
read -r n _ _ _ _ traffic < <(python3 scripts/compare-days.py "$work/truth.json" /dev/null)
kill "$fake_pid"
echo "truth: $n sites, $traffic of $((n * 28)) days with traffic"

# 1. Started inside a rebuild window.
api1=$((port + 1)); serve1=$((port + 2))
start_fake "$api1" --rebuild-at-start "${window}s"
PANTHEON_MACHINE_TOKENS_FILE="$work/tokens.$api1" "$bin" $(api "$api1") \
  serve --listen "127.0.0.1:$serve1" --refresh-interval 20s --tick 1s \
  > "$work/serve1.log" 2>&1 &
serve_pid=$!
for _ in $(seq $(( (window + 5) * 10 ))); do
  grep -q 'rebuild window closed' "$work/fake.$api1.log" && break; sleep 0.1
done
grep -q 'rebuild window closed' "$work/fake.$api1.log" \
  || { echo "the rebuild window never closed" >&2; exit 1; }
sleep "$after"
read -r n complete missing wrong_zero wrong_other _ < <(compare "$serve1")
echo "1. serve --refresh-interval 20s, started in a ${window}s rebuild window, ${after}s after it closed:"
echo "   wrong-zero days: $wrong_zero, missing days: $missing, other wrong days: $wrong_other," \
  "sites with all 28 days: $complete of $n"
kill "$serve_pid" "$fake_pid"

# 2. A quarter of the traffic answers cut.
api2=$((port + 3))
start_fake "$api2" --cut-traffic "$cut"
set +e
PANTHEON_MACHINE_TOKENS_FILE="$work/tokens.$api2" \
  timeout 120 "$bin" $(api "$api2") fetch --format json > "$work/fetch2.json" 2> "$work/fetch2.err"
fetch_code=$?
set -e
fetched=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$work/fetch2.json" 2>/dev/null || echo 0)
kill "$fake_pid"
# A fresh fake, so serve meets the same seeded fault sequence whatever fetch drew.
api3=$((port + 5)); serve2=$((port + 4))
start_fake "$api3" --cut-traffic "$cut"
PANTHEON_MACHINE_TOKENS_FILE="$work/tokens.$api3" "$bin" $(api "$api3") \
  serve --listen "127.0.0.1:$serve2" --refresh-interval 10m \
  > "$work/serve2.log" 2>&1 &
sleep "$settle"
read -r n complete missing wrong_zero wrong_other _ < <(compare "$serve2")
echo "2. $(awk "BEGIN{print $cut*100}")% of traffic answers cut:"
echo "   fetch exit code: $fetch_code ($fetched of $n sites printed)"
echo "   serve --refresh-interval 10m, ${settle}s after start: sites with all 28 days: $complete of $n," \
  "missing days: $missing, wrong-zero days: $wrong_zero, other wrong days: $wrong_other"
