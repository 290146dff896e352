#!/usr/bin/env bash
# CPU time `hookhost serve` spends per request at a low and a high arrival
# rate (docs/performance.md, "Latency under load"): a keep-alive client posts
# uploads to a serve with no hook, `perf stat` counts the server's task-clock
# and context switches. Needs perf and python3; builds nothing.
#   scripts/serve-cpu.sh [WORKERS]    WORKERS: serve's Tokio worker threads
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(mktemp -d)
trap 'kill "$serve" 2>/dev/null || true; rm -rf "$dir"' EXIT
echo '{}' > "$dir/empty.json"
port=18766
cat > "$dir/client.py" <<'PY'
import http.client, json, sys, time
port, rate, n = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
body = json.dumps({"action": "upload", "username": "alice", "path": "/srv/a/f",
                   "virtual_path": "/f", "protocol": "SFTP", "status": 1, "fs_provider": 0})
conn = http.client.HTTPConnection("127.0.0.1", port)
start = time.perf_counter() + 0.01
for i in range(n):
    at = start + i / rate
    while time.perf_counter() < at:
        pass
    conn.request("POST", "/v1/actions/fs", body, {"content-type": "application/json"})
    conn.getresponse().read()
PY
TOKIO_WORKER_THREADS="${1:-2}" target/release/hookhost serve --config "$dir/empty.json" \
  --listen "127.0.0.1:$port" --no-watch 2>/dev/null &
serve=$!
sleep 1
python3 "$dir/client.py" "$port" 1000 500 # warm-up
for run in "100 1000" "2000 10000"; do
  set -- $run
  perf stat -x, -e task-clock,context-switches -p "$serve" -o "$dir/stat" -- \
    python3 "$dir/client.py" "$port" "$1" "$2"
  awk -F, -v rate="$1" -v n="$2" '
    /task-clock/ { cpu = $1 * 1000 / n }
    /context-switches/ { cs = $1 / n }
    END { printf "%6d/s: %.1f µs CPU and %.2f context switches per request\n", rate, cpu, cs }' "$dir/stat"
done
