#!/usr/bin/env bash
# make bench: producer and consumer throughput over four paths to the same brokers and topic,
#   direct      plaintext to the brokers' PLAINTEXT listeners (127.0.0.1:29092-29094)
#   gateway     plaintext through kafka-gateway
#   gateway-tls TLS through a second kafka-gateway instance with listen.tls (clients: SSL)
#   gateway-acl plaintext through an instance with a realistic policy instead of allow-all:
#               1,000 rules in 50 roles (literal, prefix, regex, deny), the client in 3 of them,
#               so that "policy / allow-all" (gateway-acl / gateway) comes from one run
#   gateway-audit  plaintext through a third instance with the audit log on (file sink, default
#               settings: block policy, fsync every second, summaries every minute), so that
#               "audit on / audit off" (gateway-audit / gateway) comes from one run
#   gateway-nometrics  plaintext through an instance of build/kafka-gateway-nometrics: the same
#               code and config as "gateway" with metrics recording compiled out (KG_METRICS_OFF),
#               so that "metrics on / off" (gateway / gateway-nometrics) comes from one run
#   direct-ssl  TLS to the brokers' own SSL listeners (127.0.0.1:29392-29394)
# and each gateway's CPU seconds per GB forwarded. Results: a Markdown table on stdout and the
# generated block for KAFKA_VERSION in BENCHMARKS.md (replaced on every run of that version).
#
# Method: one topic (6 partitions, RF 3). BENCH_ROUNDS rounds; each round runs
#   producer-perf  (--record-size 1024 --throughput -1, acks=all)  on every path
#   consumer-perf  (fresh group, from the earliest offset)           on every path
# in an order that changes every round (rotated by one each round, reversed in rounds 3-4, 7-8, ...),
# so drift of the machine does not favour one path. Each gateway's utime+stime
# (/proc/PID/stat) is sampled around each of its runs and divided by the record payload moved
# (records x record size for produce, the consumer's MB for consume).
#
# Environment:
#   KAFKA_VERSION   Kafka test bed version (default 3.6.2; 4.3.1 also works). An already running
#                   bed of this version is reused and left running; otherwise it is started and
#                   stopped. The TLS paths need the bed's SSL listener (kafka-bed.sh default,
#                   KG_BED_SSL=1) and its certificates (KG_BED_CERTS, made by certs/mkcerts.sh).
#   BENCH_RECORDS   records per run (default 200000, i.e. ~195 MiB)
#   BENCH_ROUNDS    rounds (default 3)
#   BENCH_PATHS     paths to measure (default "direct gateway gateway-acl gateway-audit gateway-nometrics gateway-tls direct-ssl")
#   BENCH_WORKERS   gateway worker threads, both instances (default 1)
#   BENCH_RECORD_SIZE  bytes per record (default 1024)
#   BENCH_WARMUP    records produced on every path before round 1, not counted (default
#                   BENCH_RECORDS: a fresh bed needs a while for the JIT; 0 = none)
#   BENCH_TOOL_JVM_OPTS  extra JVM options for the perf tools only, via JDK_JAVA_OPTIONS (default
#                   none; kafka-bed.sh runs tools with C1 only, e.g. "-XX:-TieredCompilation"
#                   gives them C2, which matters for the clients' TLS decryption)
#   BENCH_MD        file to write the results block into (default <repo>/BENCHMARKS.md;
#                   BENCH_MD=- prints only)
#   BENCH_KEEP      1 = keep the work directory (build/bench/RUN) and the topic
#   KG_BED_DIR, KG_CACHE, KG_TOOL_HEAP, KG_BED_CERTS  passed to tests/kafka/kafka-bed.sh
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
BED="$REPO/tests/kafka/kafka-bed.sh"
REPORT="$HERE/report.py"
GW_BIN="${KG_GATEWAY_BIN:-$REPO/build/kafka-gateway}"
GW_NOMETRICS_BIN="${KG_GATEWAY_NOMETRICS_BIN:-$REPO/build/kafka-gateway-nometrics}"

KAFKA_VERSION="${KAFKA_VERSION:-3.6.2}"
RECORDS="${BENCH_RECORDS:-200000}"
ROUNDS="${BENCH_ROUNDS:-3}"
WORKERS="${BENCH_WORKERS:-1}"
RECORD_SIZE="${BENCH_RECORD_SIZE:-1024}"
WARMUP="${BENCH_WARMUP:-$RECORDS}"
MD="${BENCH_MD:-$REPO/BENCHMARKS.md}"
TOOL_JVM_OPTS="${BENCH_TOOL_JVM_OPTS:-}"
TOOL_ENV=(); [ -z "$TOOL_JVM_OPTS" ] || TOOL_ENV=(env JDK_JAVA_OPTIONS="$TOOL_JVM_OPTS")
PATHS_WANTED="${BENCH_PATHS:-direct gateway gateway-acl gateway-audit gateway-nometrics gateway-tls direct-ssl}"
KEEP="${BENCH_KEEP:-0}"
TOOL_TIMEOUT="${BENCH_TOOL_TIMEOUT:-600}"
export KG_TOOL_HEAP="${KG_TOOL_HEAP:-768m}"
PARTITIONS=6
RF=3

RUN_ID="$(date +%Y%m%d-%H%M%S)-$$"
WORK="$REPO/build/bench/$RUN_ID"
TOPIC="kg-bench-$RUN_ID"
DIRECT_BOOTSTRAP="127.0.0.1:29092,127.0.0.1:29093,127.0.0.1:29094"
BED_PORTS=(29092 29093 29094 29192 29193 29194)
MAJOR="${KAFKA_VERSION%%.*}"

log() { echo "bench: $*" >&2; }
die() { echo "bench: error: $*" >&2; exit 1; }

# ---- argument and environment checks --------------------------------------------------------
is_uint() { [[ "$1" =~ ^[0-9]+$ ]]; }
is_uint "$RECORDS" && [ "$RECORDS" -ge 1000 ] || die "BENCH_RECORDS must be an integer >= 1000 (got '$RECORDS')"
is_uint "$ROUNDS" && [ "$ROUNDS" -ge 1 ] || die "BENCH_ROUNDS must be an integer >= 1 (got '$ROUNDS')"
is_uint "$WORKERS" && [ "$WORKERS" -ge 1 ] || die "BENCH_WORKERS must be an integer >= 1 (got '$WORKERS')"
is_uint "$RECORD_SIZE" && [ "$RECORD_SIZE" -ge 1 ] || die "BENCH_RECORD_SIZE must be a positive integer"
is_uint "$WARMUP" || die "BENCH_WARMUP must be an integer (got '$WARMUP')"
[[ "$KAFKA_VERSION" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "bad KAFKA_VERSION '$KAFKA_VERSION'"
read -r -a PATHS <<< "$PATHS_WANTED"
[ "${#PATHS[@]}" -ge 1 ] || die "BENCH_PATHS is empty"
for p in "${PATHS[@]}"; do
    case "$p" in direct|gateway|gateway-acl|gateway-audit|gateway-nometrics|gateway-tls|direct-ssl) ;; *) die "unknown path '$p' in BENCH_PATHS (known: direct gateway gateway-acl gateway-audit gateway-nometrics gateway-tls direct-ssl)" ;; esac
done
want_path() { case " ${PATHS[*]} " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
NEED_SSL=0; { want_path gateway-tls || want_path direct-ssl; } && NEED_SSL=1
for p in java python3 timeout getconf ss; do
    command -v "$p" >/dev/null || die "'$p' not found on PATH (make deps installs what is needed)"
done
[ -x "$GW_BIN" ] || die "gateway binary $GW_BIN not found: run 'make' first (or 'make bench')"
[ -x "$BED" ] || die "$BED not found or not executable"
CLK_TCK="$(getconf CLK_TCK)"

# ---- cleanup --------------------------------------------------------------------------------
declare -A GW_PID=()       # gateway|gateway-acl|gateway-audit|gateway-nometrics|gateway-tls -> pid
TOOL_PGID=""
STARTED_KAFKA=0
BED_PIDS=""
TOPIC_CREATED=0
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    set +e
    [ -n "$TOOL_PGID" ] && kill -TERM -- -"$TOOL_PGID" 2>/dev/null
    local g pid
    for g in "${!GW_PID[@]}"; do
        pid="${GW_PID[$g]}"
        kill -0 "$pid" 2>/dev/null || continue
        kill -TERM "$pid" 2>/dev/null
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$pid" 2>/dev/null; then
            log "$g (pid $pid) did not stop on SIGTERM within 5s: SIGKILL"
            kill -KILL "$pid" 2>/dev/null
        fi
        wait "$pid" 2>/dev/null
    done
    if [ "$TOPIC_CREATED" = 1 ] && [ "$KEEP" != 1 ] && [ "$STARTED_KAFKA" = 0 ] \
        && [ "$(bed_pids)" = "$BED_PIDS" ]; then
        # a shared bed: do not leave GBs of benchmark data behind
        timeout 120 "$BED" tool "$KAFKA_VERSION" topics --bootstrap-server "$DIRECT_BOOTSTRAP" \
            --delete --topic "$TOPIC" >/dev/null 2>&1 || log "warning: could not delete topic $TOPIC"
    fi
    if [ "$STARTED_KAFKA" = 1 ]; then
        # only if the nodes are still the ones this run started (not restarted by someone else)
        now="$(bed_pids)"
        if [ "$now" = "$BED_PIDS" ]; then
            log "stopping the Kafka $KAFKA_VERSION bed this run started"
            "$BED" down "$KAFKA_VERSION" || log "warning: 'kafka-bed.sh down $KAFKA_VERSION' failed"
        else
            log "warning: the Kafka $KAFKA_VERSION nodes changed during the run (pids '$BED_PIDS' -> '$now'): not stopping them"
        fi
    fi
    if [ "$KEEP" != 1 ] && [ "$rc" = 0 ]; then rm -rf "$WORK"; fi
    [ "$rc" = 0 ] || log "failed (exit $rc); files of this run: $WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT
trap 'log "terminated"; exit 143' TERM

mkdir -p "$WORK"
RESULTS="$WORK/results.jsonl"
# Run a copy of the binary: another session's 'make' during the run must not change what is
# measured, and the block names the revision that was current when this run started.
cp "$GW_BIN" "$WORK/kafka-gateway"
GW_BIN_DESC="$(date -u -r "$GW_BIN" '+%Y-%m-%d %H:%M UTC'), sha256 $(sha256sum "$GW_BIN" | cut -c1-12)"
GW_BIN="$WORK/kafka-gateway"
if want_path gateway-nometrics; then
    [ -x "$GW_NOMETRICS_BIN" ] || die "$GW_NOMETRICS_BIN not found: run 'make build/kafka-gateway-nometrics' (make bench does)"
    cp "$GW_NOMETRICS_BIN" "$WORK/kafka-gateway-nometrics"
    GW_NOMETRICS_BIN="$WORK/kafka-gateway-nometrics"
fi
GW_REV="$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)"
git -C "$REPO" diff --quiet HEAD -- proxy auth 2>/dev/null || GW_REV="$GW_REV + uncommitted proxy/ or auth/ changes"
: > "$RESULTS"

# ---- helpers --------------------------------------------------------------------------------
bed_pids() { "$BED" status "$KAFKA_VERSION" 2>/dev/null | awk '{print $5}' | tr '\n' ' '; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

cpu_ticks() { # utime+stime of a pid, in clock ticks
    local line rest
    read -r line < "/proc/$1/stat" || return 1
    rest="${line##*) }"            # fields from 3 (state) on; comm may contain spaces
    # shellcheck disable=SC2086
    set -- $rest
    echo $(( ${12} + ${13} ))      # fields 14 (utime) and 15 (stime)
}

machine_ticks() { # "busy total" jiffies of all CPUs
    local _cpu u n s i w q sq st
    read -r _cpu u n s i w q sq st _ < /proc/stat
    echo "$((u + n + s + q + sq + st)) $((u + n + s + i + w + q + sq + st))"
}

free_port_base() { # [AVOID] a base B with B and B+11..B+13 free (bootstrap B, node N on B+10+N)
    python3 - "${1:-0}" <<'EOF'
import random, socket, sys
avoid = int(sys.argv[1])
def free(p):
    s = socket.socket()
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", p)); return True
    except OSError:
        return False
    finally:
        s.close()
for _ in range(200):
    b = random.randrange(20000, 28000)
    if avoid and abs(b - avoid) < 20:
        continue
    if all(free(p) for p in (b, b + 11, b + 12, b + 13)):
        print(b); break
else:
    raise SystemExit("no free port range found")
EOF
}

gw_alive() { # gw_alive [gateway|gateway-acl|gateway-audit|gateway-nometrics|gateway-tls] (default: every gateway started)
    local g gs=("$@")
    [ $# -gt 0 ] || gs=("${!GW_PID[@]}")
    for g in "${gs[@]}"; do
        [ -n "${GW_PID[$g]:-}" ] && kill -0 "${GW_PID[$g]}" 2>/dev/null && continue
        echo "----- $g log tail ($WORK/$g.log) -----" >&2
        tail -n 40 "$WORK/$g.log" >&2 || true
        die "$g (pid ${GW_PID[$g]:-none}) died during the benchmark"
    done
}

tool() { # tool NAME ARGS... (stdout+stderr to the caller)
    timeout "$TOOL_TIMEOUT" "$BED" tool "$KAFKA_VERSION" "$@"
}

# watched_tool OUTFILE NAME ARGS... : a measured tool run. Polls every second, so a bed stopped
# or restarted by someone else (or a dead gateway) aborts the run at once instead of after the
# clients' own timeouts. Returns the tool's exit status.
TOOL_PGID=""
watched_tool() {
    local out="$1" rc=0 n=0 g; shift
    "${TOOL_ENV[@]}" timeout "$TOOL_TIMEOUT" "$BED" tool "$KAFKA_VERSION" "$@" > "$out" 2>&1 &
    TOOL_PGID=$!   # timeout(1) puts itself and the tool into their own process group
    while kill -0 "$TOOL_PGID" 2>/dev/null; do
        sleep 1
        n=$((n + 1))
        for g in "${!GW_PID[@]}"; do
            if ! kill -0 "${GW_PID[$g]}" 2>/dev/null; then
                kill -TERM -- -"$TOOL_PGID" 2>/dev/null || true
                gw_alive "$g"
            fi
        done
        if [ $((n % 3)) = 0 ] && kill -0 "$TOOL_PGID" 2>/dev/null && [ "$(bed_pids)" != "$BED_PIDS" ]; then
            kill -TERM -- -"$TOOL_PGID" 2>/dev/null || true
            bed_unchanged
        fi
    done
    wait "$TOOL_PGID" || rc=$?
    TOOL_PGID=""
    return "$rc"
}

# ---- the Kafka bed --------------------------------------------------------------------------
other_bed_up() { # prints the version of another running bed, if any
    local v
    for v in 3.6.2 4.3.1; do
        [ "$v" = "$KAFKA_VERSION" ] && continue
        case "$("$BED" status "$v" 2>/dev/null || true)" in *running*) echo "$v"; return ;; esac
    done
}

if "$BED" status "$KAFKA_VERSION" >/dev/null 2>&1; then
    log "Kafka $KAFKA_VERSION is already up: reusing it (it is left running)"
elif case "$("$BED" status "$KAFKA_VERSION" 2>/dev/null || true)" in *running*) true ;; *) false ;; esac; then
    "$BED" status "$KAFKA_VERSION" >&2 || true
    die "the Kafka $KAFKA_VERSION bed is only partly up (someone's failover test?); not touching it. Retry when it is fully up or down."
else
    other="$(other_bed_up)"
    [ -z "$other" ] || die "the Kafka $other bed holds the bed ports; not touching it. Re-run with KAFKA_VERSION=$other to reuse it, or when it is down."
    for p in "${BED_PORTS[@]}"; do
        port_open "$p" && die "port $p is in use by a process that is not a Kafka $KAFKA_VERSION bed (KG_BED_DIR differs?); not touching it"
    done
    log "starting the Kafka $KAFKA_VERSION bed (stopped again at the end)"
    # kafka-bed.sh has no lock: if someone else starts the same bed at the same moment, a failed
    # 'up' may leave THEIR nodes running, so a failed start is not cleaned up blindly.
    "$BED" up "$KAFKA_VERSION" || die "could not start the Kafka $KAFKA_VERSION bed (not stopping anything; check '$BED status $KAFKA_VERSION')"
    STARTED_KAFKA=1
    BED_PIDS="$(bed_pids)"
fi

[ -n "$BED_PIDS" ] || BED_PIDS="$(bed_pids)"
bed_unchanged() {
    local now; now="$(bed_pids)"
    [ "$now" = "$BED_PIDS" ] || die "the Kafka $KAFKA_VERSION bed was stopped or restarted by someone else during the benchmark (node pids '$BED_PIDS' -> '$now'); results discarded"
}

log "creating topic $TOPIC ($PARTITIONS partitions, RF $RF)"
tool topics --bootstrap-server "$DIRECT_BOOTSTRAP" --create --topic "$TOPIC" \
    --partitions "$PARTITIONS" --replication-factor "$RF" > "$WORK/topic.out" 2>&1 \
    || { cat "$WORK/topic.out" >&2; die "could not create topic $TOPIC"; }
TOPIC_CREATED=1

# ---- TLS settings: the bed's SSL listener and its CA ----------------------------------------
SSL_BOOTSTRAP="" CERTS=""
if [ "$NEED_SSL" = 1 ]; then
    case "$("$BED" status "$KAFKA_VERSION" 2>/dev/null || true)" in *" ssl "*) true ;; *) false ;; esac \
        || die "the Kafka $KAFKA_VERSION bed runs without its SSL listener (started with KG_BED_SSL=0 or by an older kafka-bed.sh): restart it, or BENCH_PATHS=\"direct gateway\""
    SSL_ENV="$("$BED" ssl "$KAFKA_VERSION")" || die "kafka-bed.sh ssl $KAFKA_VERSION failed"
    SSL_BOOTSTRAP="$(sed -n 's/^KG_BED_SSL_BOOTSTRAP=//p' <<< "$SSL_ENV")"
    SSL_CA="$(sed -n 's/^KG_BED_SSL_CA=//p' <<< "$SSL_ENV")"
    SSL_TRUSTSTORE="$(sed -n 's/^KG_BED_SSL_TRUSTSTORE=//p' <<< "$SSL_ENV")"
    SSL_PASSWORD="$(sed -n 's/^KG_BED_SSL_PASSWORD=//p' <<< "$SSL_ENV")"
    CERTS="$(dirname "$SSL_CA")"
    for f in "$SSL_CA" "$SSL_TRUSTSTORE" "$CERTS/server.pem" "$CERTS/server.key"; do
        [ -r "$f" ] || die "$f missing (certs/mkcerts.sh $CERTS makes it)"
    done
    # one CA for both: the gateway's server.pem and the brokers' broker.p12 come from mkcerts.sh
    cat > "$WORK/client-ssl.properties" <<EOF
security.protocol=SSL
ssl.truststore.type=PKCS12
ssl.truststore.location=$SSL_TRUSTSTORE
ssl.truststore.password=$SSL_PASSWORD
EOF
fi

# ---- the gateways ---------------------------------------------------------------------------
# gateway (plaintext), gateway-audit (plaintext, audit log on) and gateway-tls (listen.tls, the
# bed's server.pem), each its own process
# with its own config on its own free ports, both in front of the brokers' PLAINTEXT listeners.
declare -A GW_BOOT=() GW_BASE=()
listening() { [ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]; }   # no probe connections
start_gateway() { # start_gateway gateway|gateway-acl|gateway-audit|gateway-nometrics|gateway-tls
    local g="$1" base tls="" audit="" i
    base="$(free_port_base "${GW_BASE[gateway]:-0}")" || die "no free local port range for $g"
    if [ "$g" = gateway-tls ]; then
        tls=',
              "tls": { "cert_file": "'"$CERTS/server.pem"'", "key_file": "'"$CERTS/server.key"'" }'
    fi
    local policy="$REPO/conf/policy-allow-all.json"
    if [ "$g" = gateway-acl ]; then
        policy="$WORK/policy-1000.json"
        python3 "$HERE/make_policy.py" --rules 1000 --roles 50 --member User:ANONYMOUS \
            --topic-prefix kg-bench- > "$policy" || die "cannot generate the bench policy"
    fi
    if [ "$g" = gateway-audit ]; then
        audit=',
  "audit": { "path": "'"$WORK/audit.log"'", "instance_id": "bench" }'
    fi
    cat > "$WORK/$g.json" <<EOF
{
  "workers": $WORKERS,
  "log_level": "info",
  "listen": { "bind_host": "127.0.0.1", "advertised_host": "127.0.0.1",
              "bootstrap_port": $base, "broker_port_base": $((base + 10))$tls },
  "upstream": { "bootstrap_servers": ["127.0.0.1:29092", "127.0.0.1:29093", "127.0.0.1:29094"],
                "connect_timeout_ms": 5000, "metadata_refresh_ms": 30000 },
  "limits": { "max_frame_bytes": 104857600, "max_response_bytes": 268435456,
              "buffer_bytes": 262144, "idle_timeout_ms": 600000, "max_inflight": 1024,
              "max_connections": 10000 },
  "acl": { "policy_file": "$policy" }$audit
}
EOF
    "$GW_BIN" check -c "$WORK/$g.json" >/dev/null || die "generated $g config is invalid: $WORK/$g.json"
    local bin="$GW_BIN"; [ "$g" = gateway-nometrics ] && bin="$GW_NOMETRICS_BIN"
    "$bin" run -c "$WORK/$g.json" > "$WORK/$g.log" 2>&1 &
    GW_PID[$g]=$!
    GW_BASE[$g]=$base
    GW_BOOT[$g]="127.0.0.1:$base"
    for i in $(seq 300); do
        gw_alive "$g"
        if listening "$base" && listening $((base + 11)) && listening $((base + 12)) && listening $((base + 13)); then
            break
        fi
        sleep 0.1
    done
    listening $((base + 13)) && listening $((base + 12)) && listening $((base + 11)) || {
        tail -n 20 "$WORK/$g.log" >&2
        die "$g did not open ports $base and $((base + 11))-$((base + 13)) (bootstrap + nodes 1-3) within 30s: are all 3 brokers registered?"; }
    log "$g pid ${GW_PID[$g]}, $WORKERS worker(s), bootstrap ${GW_BOOT[$g]}, brokers on $((base + 11))-$((base + 13))${tls:+ (TLS)}"
}
want_path gateway && start_gateway gateway
want_path gateway-acl && start_gateway gateway-acl
want_path gateway-audit && start_gateway gateway-audit
want_path gateway-nometrics && start_gateway gateway-nometrics
want_path gateway-tls && start_gateway gateway-tls

# ---- one measured run -----------------------------------------------------------------------
run_one() { # run_one produce|consume PATH ROUND N_RECORDS [record]
    local kind="$1" path="$2" round="$3" n="$4" rec="${5:-record}"
    local boot out t0 t1 c0 c1 m0 m1 off wire busy rc gw="" cfg=() props=() logf
    case "$path" in
        direct)      boot="$DIRECT_BOOTSTRAP" ;;
        direct-ssl)  boot="$SSL_BOOTSTRAP" ;;
        gateway|gateway-acl|gateway-audit|gateway-nometrics|gateway-tls) gw="$path"; boot="${GW_BOOT[$path]}" ;;
    esac
    case "$path" in
        *ssl|*tls) if [ "$MAJOR" -ge 4 ]; then cfg=(--command-config "$WORK/client-ssl.properties")
                   elif [ "$kind" = produce ]; then cfg=(--producer.config "$WORK/client-ssl.properties")
                   else cfg=(--consumer.config "$WORK/client-ssl.properties"); fi ;;
    esac
    out="$WORK/$kind-$path-$round.out"
    if [ -n "$gw" ]; then
        gw_alive "$gw"; logf="$WORK/$gw.log"
        c0="$(cpu_ticks "${GW_PID[$gw]}")"; off="$(stat -c %s "$logf")"
    fi
    m0="$(machine_ticks)"; t0="$(date +%s.%N)"
    rc=0
    if [ "$kind" = produce ]; then
        props=(acks=all bootstrap.servers="$boot")
        if [ "$MAJOR" -ge 4 ]; then props=(--command-property "${props[@]}"); else props=(--producer-props "${props[@]}"); fi
        watched_tool "$out" producer-perf --topic "$TOPIC" --num-records "$n" --record-size "$RECORD_SIZE" \
            --throughput -1 "${props[@]}" "${cfg[@]}" || rc=$?
    else
        local nflag=--messages; [ "$MAJOR" -ge 4 ] && nflag=--num-records
        watched_tool "$out" consumer-perf --bootstrap-server "$boot" --topic "$TOPIC" "$nflag" "$n" \
            --group "kg-bench-$RUN_ID-$path-$round" --timeout 60000 "${cfg[@]}" || rc=$?
    fi
    t1="$(date +%s.%N)"; m1="$(machine_ticks)"
    bed_unchanged
    if [ "$rc" != 0 ]; then
        tail -n 30 "$out" >&2
        [ -n "$gw" ] && { echo "----- $gw log since the start of this run -----" >&2; tail -c +"$((off + 1))" "$logf" | tail -n 30 >&2; }
        "$BED" status "$KAFKA_VERSION" >/dev/null 2>&1 \
            || die "$kind via $path failed (exit $rc): the Kafka $KAFKA_VERSION bed is no longer fully up (stopped by someone else?)"
        [ "$rc" = 124 ] && die "$kind via $path timed out after ${TOOL_TIMEOUT}s ($out)"
        die "$kind via $path failed with exit $rc ($out)"
    fi
    busy="$(awk -v a="$m0" -v b="$m1" 'BEGIN{split(a,x," ");split(b,y," ");
        t=y[2]-x[2]; printf "%.1f", (t>0 ? 100*(y[1]-x[1])/t : 0)}')"
    [ "$rec" = record ] || { log "warm-up $kind via $path done"; return 0; }
    local extra=()
    if [ -n "$gw" ]; then
        gw_alive "$gw"
        sleep 0.3   # let the gateway log the closes of the tool's connections
        c1="$(cpu_ticks "${GW_PID[$gw]}")"
        wire="$(python3 "$REPORT" wire-bytes "$logf" "$off")"
        extra=(--cpu-ticks $((c1 - c0)) --clk-tck "$CLK_TCK" --wire-bytes "$wire")
    fi
    python3 "$REPORT" record --results "$RESULTS" --kind "$kind" --path "$path" --round "$round" \
        --tool-out "$out" --record-size "$RECORD_SIZE" \
        --elapsed "$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}')" --busy "$busy" "${extra[@]}"
}

round_order() { # round_order R: PATHS rotated by R-1, reversed in rounds 3-4, 7-8, ...
    # (reversing every other round would undo the rotation of two paths: a b, a b, ...; this
    # gives a b, b a, b a, a b)
    local r="$1" n="${#PATHS[@]}" i k out=()
    for ((i = 0; i < n; i++)); do out+=("${PATHS[$(( (i + r - 1) % n ))]}"); done
    if [ $(( (r - 1) / 2 % 2 )) = 1 ]; then
        for ((i = 0, k = n - 1; i < k; i++, k--)); do local t="${out[$i]}"; out[$i]="${out[$k]}"; out[$k]="$t"; done
    fi
    echo "${out[*]}"
}

# ---- the benchmark --------------------------------------------------------------------------
read -r LOAD1 _ < /proc/loadavg
log "Kafka $KAFKA_VERSION, paths: ${PATHS[*]}; $ROUNDS rounds x $RECORDS records of $RECORD_SIZE B, load average before start $LOAD1"
T_START=$SECONDS
if [ "$WARMUP" -gt 0 ]; then
    for p in "${PATHS[@]}"; do run_one produce "$p" 0 "$WARMUP" warmup; done
fi
ORDERS=()
for r in $(seq "$ROUNDS"); do
    read -r -a order <<< "$(round_order "$r")"
    ORDERS+=("${order[*]}")
    log "round $r of $ROUNDS: ${order[*]}"
    for p in "${order[@]}"; do run_one produce "$p" "$r" "$RECORDS"; done
    for p in "${order[@]}"; do run_one consume "$p" "$r" "$RECORDS"; done
done
gw_alive
GW_RSS=""
for g in gateway gateway-acl gateway-audit gateway-nometrics gateway-tls; do
    [ -n "${GW_PID[$g]:-}" ] || continue
    rss="$(awk '/VmHWM/{print $2" "$3}' "/proc/${GW_PID[$g]}/status")"
    GW_RSS="${GW_RSS:+$GW_RSS, }$g $rss"
    grep -E '\b(WARN|ERROR)\b' "$WORK/$g.log" | head -n 5 >&2 || true
done
log "all runs done in $((SECONDS - T_START))s; peak RSS: $GW_RSS"

# ---- report ---------------------------------------------------------------------------------
MODEL="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
MEM_GB="$(awk '/MemTotal/{printf "%.0f", $2/1048576}' /proc/meminfo)"
DEST="$MD"; [ "$MD" = - ] && DEST="$WORK/BENCHMARKS.md"
# the command that reproduces this block: non-default knobs in front of 'make bench'
CMD="make bench"
for kv in "KAFKA_VERSION=$KAFKA_VERSION:3.6.2" "BENCH_RECORDS=$RECORDS:200000" "BENCH_ROUNDS=$ROUNDS:3" \
          "BENCH_WORKERS=$WORKERS:1" "BENCH_RECORD_SIZE=$RECORD_SIZE:1024" "BENCH_WARMUP=$WARMUP:$RECORDS" \
          "BENCH_PATHS=${PATHS[*]}:direct gateway gateway-acl gateway-audit gateway-nometrics gateway-tls direct-ssl" "BENCH_TOOL_JVM_OPTS=$TOOL_JVM_OPTS:"; do
    cur="${kv%:*}"; def="${kv##*:}"
    [ "${cur#*=}" = "$def" ] || { case "$cur" in *" "*) cur="${cur%%=*}=\"${cur#*=}\"" ;; esac; CMD="$cur $CMD"; }
done
AUDIT_DESC=""
if [ -n "${GW_PID[gateway-audit]:-}" ]; then
    # the audit log of the whole run must verify (the gateway still runs: the live file)
    AUDIT_OUT="$("$GW_BIN" audit verify "$WORK/audit.log" 2>&1)" \
        || die "the audit log of gateway-audit does not verify: $AUDIT_OUT"
    AUDIT_DESC="gateway-audit: audit.path on the same disk as the brokers, other audit settings default (on_full block, fsync interval 1 s, summaries every 60 s, no HMAC); it wrote $(wc -l < "$WORK/audit.log") records ($(du -k "$WORK/audit.log" | cut -f1) KiB) in the run; audit verify: ${AUDIT_OUT%%$'\n'*}"
fi
TLS_DESC=""
[ -n "${GW_PID[gateway-tls]:-}" ] && TLS_DESC="$(grep -m1 -oE 'TLSv1\.[23] [A-Za-z0-9_-]+' "$WORK/gateway-tls.log" || true)"
python3 "$REPORT" summarize --results "$RESULTS" --md "$DEST" \
    "version=$KAFKA_VERSION" \
    "date=$(date -u '+%Y-%m-%d %H:%M UTC')" \
    "command=$CMD" \
    "knobs=KAFKA_VERSION=$KAFKA_VERSION BENCH_RECORDS=$RECORDS BENCH_ROUNDS=$ROUNDS BENCH_WORKERS=$WORKERS BENCH_WARMUP=$WARMUP${TOOL_JVM_OPTS:+ BENCH_TOOL_JVM_OPTS=$TOOL_JVM_OPTS}" \
    "machine=$(nproc) CPUs ($MODEL), ${MEM_GB} GiB RAM" \
    "kernel=$(uname -sr); $(openssl version 2>/dev/null || echo 'openssl ?'); $(java -version 2>&1 | head -n 1)" \
    "kafka=Apache Kafka $KAFKA_VERSION, 3 KRaft nodes on loopback (tests/kafka/kafka-bed.sh), PLAINTEXT 29092-29094 and SSL 29392-29394 listeners (server auth), Java tools from the same release (kafka-bed.sh: -XX:TieredStopAtLevel=1 -XX:+UseSerialGC${TOOL_JVM_OPTS:+; plus JDK_JAVA_OPTIONS=$TOOL_JVM_OPTS for the perf tools})" \
    "gateway=build/kafka-gateway (built $GW_BIN_DESC; HEAD $GW_REV at the start), workers=$WORKERS, one instance per gateway path (plaintext; plaintext with a 1,000-rule policy (gateway-acl); plaintext with the audit log on; build/kafka-gateway-nometrics, the same code with metrics recording compiled out (gateway-nometrics); listen.tls with the bed CA's server.pem; defaults otherwise, allow-all policy), all to the brokers' PLAINTEXT listeners; peak RSS: $GW_RSS" \
    "audit=$AUDIT_DESC" \
    "tls=clients: security.protocol=SSL, truststore.p12 of the bed's CA, other SSL settings default (hostname verification on)${TLS_DESC:+; negotiated with the gateway: $TLS_DESC}" \
    "workload=topic $PARTITIONS partitions RF $RF; producer-perf --num-records $RECORDS --record-size $RECORD_SIZE --throughput -1 acks=all (other producer settings default); consumer-perf $RECORDS records, fresh group, from earliest; warm-up: $WARMUP records produced per path; $ROUNDS rounds, orders: $(IFS=';'; echo "${ORDERS[*]}" | sed 's/;/ | /g')" \
    "load=1-min load average $LOAD1 before the start; everything (3 brokers, client JVM, gateways) shares the $(nproc) CPUs"
