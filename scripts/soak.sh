#!/usr/bin/env bash
# Soak: `serve` against the fake API with faults on, at accelerated intervals, while a
# scraper reads /metrics. The fake starts inside a rebuild window (all-zero traffic answers)
# of SOAK_REBUILD_START (default 60s; 0s for none). Prints RSS, open descriptors, error
# counts and the served days that are zero where the API has traffic (wrong0: compared with
# `fetch --format json` from a fake without faults) every minute.
#   SOAK_MINUTES=30 SOAK_SITES=200 SOAK_REBUILD_START=60s scripts/soak.sh
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${SOAK_MINUTES:-30}
sites=${SOAK_SITES:-100}
rebuild_start=${SOAK_REBUILD_START:-60s}
api_port=${SOAK_API_PORT:-18181}
port=${SOAK_PORT:-18182}
truth_port=${SOAK_TRUTH_PORT:-18183}
target=${CARGO_TARGET_DIR:-target}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

cargo build --release --quiet --bin pantheon-metrics --example fake-api

# The truth: the same generated world without faults (its numbers are deterministic).
"$target/release/examples/fake-api" --port "$truth_port" --sites "$sites" --accounts 2 \
  --tokens-file "$work/truth-tokens" > "$work/truth-fake.log" 2>&1 &
truth_fake=$!
for _ in $(seq 50); do [ -s "$work/truth-tokens" ] && break; sleep 0.2; done
PANTHEON_MACHINE_TOKENS_FILE="$work/truth-tokens" "$target/release/pantheon-metrics" \
  --api-url "http://127.0.0.1:$truth_port/api" fetch --format json > "$work/truth.json"
kill "$truth_fake"

window=()
[ "$rebuild_start" = 0s ] || [ "$rebuild_start" = 0 ] || window=(--rebuild-at-start "$rebuild_start")
"$target/release/examples/fake-api" --port "$api_port" --sites "$sites" --accounts 2 \
  --tokens-file "$work/tokens" --faults "${window[@]}" > "$work/fake.log" 2>&1 &
for _ in $(seq 50); do [ -s "$work/tokens" ] && break; sleep 0.2; done

PANTHEON_MACHINE_TOKENS_FILE="$work/tokens" "$target/release/pantheon-metrics" \
  --api-url "http://127.0.0.1:$api_port/api" --timeout 5s \
  serve --listen "127.0.0.1:$port" --refresh-interval 2m --tick 5s > "$work/serve.log" 2>&1 &
serve_pid=$!

scrapes=0; failed=0
end=$(( $(date +%s) + minutes * 60 ))
next_report=$(( $(date +%s) + 60 ))
metric() { grep -E "^$1 " "$work/last" | awk '{print $2}' | head -1; }
# The fourth number compare-days.py prints: days served as 0 where the API has traffic.
wrong_zero() { python3 scripts/compare-days.py "$work/truth.json" "$1" | awk '{print $4}'; }
printf '%-6s %-9s %-5s %-8s %-8s %-9s %-8s %-8s %-6s\n' \
  min rss_kib fds scrapes failed samples refresh_err rebuild wrong0
while [ "$(date +%s)" -lt "$end" ]; do
  if curl -sf --max-time 10 "http://127.0.0.1:$port/metrics" -o "$work/last"; then
    scrapes=$((scrapes + 1))
  else
    failed=$((failed + 1))
  fi
  if [ "$(date +%s)" -ge "$next_report" ]; then
    next_report=$((next_report + 60))
    rss=$(awk '/VmRSS/{print $2}' "/proc/$serve_pid/status")
    fds=$(ls "/proc/$serve_pid/fd" | wc -l)
    samples=$(grep -c '^pantheon_visits{' "$work/last" || true)
    printf '%-6s %-9s %-5s %-8s %-8s %-9s %-8s %-8s %-6s\n' \
      $(( (minutes * 60 - end + $(date +%s)) / 60 )) "$rss" "$fds" "$scrapes" "$failed" "$samples" \
      "$(metric pantheon_exporter_site_refresh_errors_total)" "$(metric pantheon_exporter_rebuild_responses_ignored_total)" \
      "$(wrong_zero "$work/last")"
  fi
  sleep 2
done
kill -TERM "$serve_pid"; wait "$serve_pid" && echo "serve exited 0 on SIGTERM"
echo "scrapes: $scrapes ok, $failed failed"
grep -c '^pantheon_visits{' "$work/last" | sed 's/^/final visits samples: /'
python3 scripts/compare-days.py "$work/truth.json" "$work/last" \
  | awk '{printf "final: %d of %d sites with every day, %d days missing, %d zero where the API has traffic, %d other wrong\n", $2, $1, $3, $4, $5}'
[ "$failed" -eq 0 ]
