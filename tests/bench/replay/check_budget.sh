#!/usr/bin/env bash
# check_budget.sh - the per-request instruction counts of callgrind.sh against budget.tsv:
# exits 1 when a kind is over budget + tolerance, or when a kind of the budget was not
# measured. Ports: REPLAY_BROKER_PORT / REPLAY_GATEWAY_PORT (callgrind.sh); the defaults here
# stay clear of the integration tests' gateways and test beds.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
budget=${CHECK_BUDGET:-$here/budget.tsv}   # CHECK_BUDGET: another file (tests of this script)
count=${CHECK_COUNT:-400}
export REPLAY_BROKER_PORT=${REPLAY_BROKER_PORT:-38092} REPLAY_GATEWAY_PORT=${REPLAY_GATEWAY_PORT:-38192}
kinds=$(awk '!/^#/ && NF >= 3 {print $1}' "$budget" | tr '\n' ' ')
measured=$(KINDS="$kinds" "$here/callgrind.sh" "$count")
fail=0
while read -r kind max tol; do
	case "$kind" in ''|'#'*) continue ;; esac
	got=$(awk -v k="$kind" '$1 == k {print $2}' <<<"$measured")
	if [ -z "$got" ] || [ "$got" -le 0 ]; then
		echo "check-instructions: $kind: not measured"; fail=1; continue
	fi
	limit=$((max + max * tol / 100))
	pct=$(awk -v g="$got" -v m="$max" 'BEGIN {printf "%+.1f", (g - m) * 100 / m}')
	if [ "$got" -gt "$limit" ]; then
		echo "check-instructions: $kind: $got instructions per request, budget $max ($pct %, over the $tol % tolerance): FAIL"
		fail=1
	else
		echo "check-instructions: $kind: $got instructions per request, budget $max ($pct %): ok"
	fi
done < "$budget"
exit "$fail"
