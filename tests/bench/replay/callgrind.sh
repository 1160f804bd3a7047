#!/usr/bin/env bash
# callgrind.sh - instructions the gateway executes per request, counted by
# valgrind's callgrind over a fixed replay (replay.py) against a canned
# upstream (fake_broker.py): repeatable on a noisy machine, unlike time.
#
#   tests/bench/replay/callgrind.sh [COUNT]      (default 200 per kind)
#   CG_KEEP=DIR KINDS=produce-v9 ...             keep the profiles in DIR/<kind>/
#
# Prints one line per kind: "<kind> <instructions per request>". The
# gateway runs one worker, plaintext, no SASL, the allow-all policy, no
# audit; only the measured requests are counted (callgrind_control zeroes
# the counters after a warm-up and dumps them after the run).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
count=${1:-200}
kinds=${KINDS:-produce-v9 produce-v11 fetch-v12 fetch-v16}
bin=${KG_BINARY:-$repo/build/kafka-gateway}
work=$(mktemp -d /tmp/kg-replay.XXXXXX)
broker_port=${REPLAY_BROKER_PORT:-39092}
gw_port=${REPLAY_GATEWAY_PORT:-39192}
topic_id=5a1f1e1d0c0b0a090807060504030201
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

python3 "$here/fake_broker.py" --port "$broker_port" --topic-id "$topic_id" >"$work/broker.log" 2>&1 &
pids+=($!)
cat >"$work/gw.json" <<JSON
{
  "workers": 1,
  "log_level": "warn",
  "listen": { "bind_host": "127.0.0.1", "advertised_host": "127.0.0.1",
              "bootstrap_port": $gw_port, "broker_port_base": $((gw_port + 100)) },
  "upstream": { "bootstrap_servers": ["127.0.0.1:$broker_port"], "metadata_refresh_ms": 3600000 },
  "acl": { "policy_file": "$repo/conf/policy-allow-all.json" }
}
JSON
for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$broker_port) 2>/dev/null && break; sleep 0.1; done
valgrind --tool=callgrind --callgrind-out-file="$work/cg.out.%p" --dump-instr=no \
	"$bin" run -c "$work/gw.json" >"$work/gw.log" 2>&1 &
vg=$!
pids+=($vg)
for _ in $(seq 300); do (exec 3<>/dev/tcp/127.0.0.1/$gw_port) 2>/dev/null && break; sleep 0.1; done
sleep 2   # the first metadata refresh (topic id) under valgrind
for kind in $kinds; do
	python3 "$here/replay.py" --port "$gw_port" --topic-id "$topic_id" --kind "$kind" --count 20
	callgrind_control --zero "$vg" >/dev/null 2>&1
	python3 "$here/replay.py" --port "$gw_port" --topic-id "$topic_id" --kind "$kind" --count "$count"
	rm -f "$work"/cg.out.*.*
	callgrind_control --dump="$kind" "$vg" >/dev/null 2>&1
	for _ in $(seq 100); do ls "$work"/cg.out.*.* >/dev/null 2>&1 && break; sleep 0.1; done
	sleep 0.5
	total=$(awk '/^summary:/ {s += $2} END {print s + 0}' "$work"/cg.out.*.*)
	# CG_KEEP=DIR keeps the profiles for callgrind_annotate
	if [ -n "${CG_KEEP:-}" ]; then mkdir -p "$CG_KEEP/$kind"; cp "$work"/cg.out.*.* "$CG_KEEP/$kind/"; fi
	printf '%-14s %d\n' "$kind" $((total / count))
done
kill -TERM "$vg"
wait "$vg" || true
