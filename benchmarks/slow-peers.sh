#!/usr/bin/env bash
# Hostile slow peers against a release server, in one invocation:
#   1. 50 connections each sending a 4 MiB frame minus its last byte, with the partial-frame budget
#      off (a budget larger than all of it) and at its default (64 MiB): server RSS before and at the
#      peak, connections the budget closed, and whether a new client is then served;
#   2. 1,000 slowloris connections (preface, then one byte of a frame every second) at the defaults:
#      RSS, how many the frame timeout closed, and whether a new client is served meanwhile.
# Writes benchmarks/results/<UTC date>-slow-peers.{json,md}.
#
#   benchmarks/slow-peers.sh
source "$(dirname "$0")/lib.sh"
bench_setup slow-peers
ulimit -n 8192 2>/dev/null || true  # 1,000 peers and the server's side of them

run_case() {  # label: runs the python attack in $WORK/attack.py with its arguments, against a fresh server
  local label=$1; shift
  local server_args=()
  while [[ $# -gt 0 && $1 != -- ]]; do server_args+=("$1"); shift; done
  shift
  start_server "slow-$label" --synchronous normal "${server_args[@]}"
  python3 "$WORK/attack.py" "$PORT" "$SERVER_PID" "$BIN/commerce-load" "$@" >"$WORK/$label.json"
  stop_server
}

cat >"$WORK/attack.py" <<'PY'
import json, os, socket, struct, subprocess, sys, time
port, pid, load, mode = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
PREFACE = b"FRPC\x00\x01\x00\x00"
def rss_kib():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"): return int(line.split()[1])
def served():  # a new client's Health/Check calls, through commerce-load
    out = subprocess.run([load, "--port", str(port), "--scenario", "health", "--requests", "20", "--concurrency", "1",
                          "--warmup", "0", "--json", "--quiet"], capture_output=True, text=True, timeout=60)
    try: return json.loads(out.stdout)["ok"]
    except Exception: return 0
def open_peer():
    s = socket.create_connection(("127.0.0.1", port)); s.sendall(PREFACE); return s
def closed_by_server(s):
    s.setblocking(False)
    try:
        while True:
            if not s.recv(65536): return True
    except BlockingIOError: return False
    except OSError: return True
before = rss_kib(); peak = before
if mode == "big":
    count, length = int(sys.argv[5]), 4 * 1024 * 1024
    peers = []
    for _ in range(count):
        s = open_peer()
        try: s.sendall(struct.pack(">IIBB", length, 1, 1, 0) + b"\x07" * (length - 1))
        except OSError: pass  # closed by the server while sending
        peers.append(s); peak = max(peak, rss_kib())
    for _ in range(20): time.sleep(0.1); peak = max(peak, rss_kib())
    closed = sum(1 for s in peers if closed_by_server(s))
    result = {"connections": count, "closed_by_server": closed, "rss_before_kib": before, "rss_peak_kib": peak, "new_client_ok": served()}
else:
    count, seconds = int(sys.argv[5]), int(sys.argv[6])
    peers = [open_peer() for _ in range(count)]
    frame = struct.pack(">IIBB", 100, 1, 1, 0) + b"\x07" * 100  # a valid request frame, one byte a second
    start = time.time(); ok_during = 0; step = 0
    while time.time() - start < seconds:
        for s in peers:
            try: s.sendall(frame[step:step + 1])
            except OSError: pass
        step += 1
        peak = max(peak, rss_kib())
        if ok_during == 0 and time.time() - start > 2: ok_during = served()
        time.sleep(1)
    closed = sum(1 for s in peers if closed_by_server(s))
    result = {"connections": count, "seconds": seconds, "closed_by_server": closed, "rss_before_kib": before,
              "rss_peak_kib": peak, "new_client_ok_during": ok_during, "new_client_ok_after": served()}
for s in peers: s.close()
print(json.dumps(result))
PY

echo "50 connections x a 4 MiB frame minus one byte: budget off, then at its default" >&2
run_case big-off --max-partial-frame-mib 1000000 -- big 50
run_case big-default -- big 50
echo "1,000 slowloris connections for 15 s at the defaults" >&2
run_case slowloris -- slow 1000 15

python3 - "$WORK" "$OUT" <<'PY'
import json, sys, datetime
work, out = sys.argv[1:3]
off, on, slow = (json.load(open(f"{work}/{n}.json")) for n in ("big-off", "big-default", "slowloris"))
mib = lambda kib: kib / 1024
result = {"benchmark": "slow-peers", "date": datetime.datetime.utcnow().isoformat() + "Z", "command": "benchmarks/slow-peers.sh",
          "big_frames_budget_off": off, "big_frames_budget_default": on, "slowloris": slow,
          "peak_growth_ratio_default_vs_off": (on["rss_peak_kib"] - on["rss_before_kib"]) / max(1, off["rss_peak_kib"] - off["rss_before_kib"])}
json.dump(result, open(out + ".json", "w"), indent=2)
md = [f"Slow peers — `{result['command']}` — {result['date']}", "",
      "| case | connections | closed by the server | RSS before → peak (MiB) | a new client's 20 Health/Check calls |", "| --- | ---: | ---: | --- | ---: |",
      f"| 4 MiB frames minus a byte, budget off | {off['connections']} | {off['closed_by_server']} | {mib(off['rss_before_kib']):.0f} → {mib(off['rss_peak_kib']):.0f} | {off['new_client_ok']} ok |",
      f"| the same, budget at its default (64 MiB) | {on['connections']} | {on['closed_by_server']} | {mib(on['rss_before_kib']):.0f} → {mib(on['rss_peak_kib']):.0f} | {on['new_client_ok']} ok |",
      f"| slowloris, {slow['seconds']} s, defaults | {slow['connections']} | {slow['closed_by_server']} | {mib(slow['rss_before_kib']):.0f} → {mib(slow['rss_peak_kib']):.0f} | {slow['new_client_ok_during']} ok during, {slow['new_client_ok_after']} after |",
      "", f"RSS growth with the budget at its default against off: {result['peak_growth_ratio_default_vs_off']:.2f}×."]
open(out + ".md", "w").write("\n".join(md) + "\n")
print("\n".join(md))
PY
