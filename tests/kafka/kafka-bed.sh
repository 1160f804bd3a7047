#!/usr/bin/env bash
# Real Apache Kafka test bed for kafka-gateway: a 3-node KRaft cluster on loopback,
# each node (broker+controller, combined mode) in its own JVM; or, for a VERSION written
# X.Y.Z-zk (Kafka 3.x), 3 brokers with ZooKeeper (an ensemble of one, from the zookeeper jar
# Kafka 3.x ships with), as many seed deployments run.
#
#   kafka-bed.sh fetch  VERSION           resolve broker+tools jars from Maven Central (cached)
#   kafka-bed.sh up     VERSION           fetch, format, start 3 nodes, wait until ready (idempotent)
#   kafka-bed.sh down   VERSION           stop all nodes (SIGTERM, then SIGKILL after a timeout)
#   kafka-bed.sh status VERSION           print node states; exit 0 iff all 3 nodes run
#   kafka-bed.sh kill-node  VERSION ID    SIGKILL one node (failure tests)
#   kafka-bed.sh start-node VERSION ID    start one node again and wait until it is registered
#   kafka-bed.sh pause-node VERSION ID    SIGSTOP one node: it accepts connections, answers nothing
#   kafka-bed.sh resume-node VERSION ID   SIGCONT it again
#   kafka-bed.sh tool   VERSION NAME ARGS run a Kafka Java tool by short name (see tool_class)
#   kafka-bed.sh bootstrap VERSION        print the bootstrap list (127.0.0.1:29092,...)
#   kafka-bed.sh ssl VERSION              print the SSL listener settings as shell assignments
#                                         (KG_BED_SSL_BOOTSTRAP, _CA, _TRUSTSTORE, _PASSWORD)
#   kafka-bed.sh mirror-libs VERSION      resolve MirrorMaker 2 (connect-mirror) jars (cached) and
#                                         print the classpath that runs it
#   kafka-bed.sh sasl VERSION             print the SASL_PLAINTEXT listener settings as shell
#                                         assignments (KG_BED_SASL_BOOTSTRAP, _MECHANISMS, _USERS)
#
# Environment:
#   KG_CACHE      jar cache root (default $HOME/.cache/kafka-gateway); jars in kafka-V/libs
#   KG_BED_DIR    data root (default <repo>/build/kafka); node data in V/nodeN
#   KG_BED_HEAP   JVM heap options per node (default "-Xms256m -Xmx512m")
#   KG_BED_READY_TIMEOUT  seconds to wait for readiness (default 120)
#   KG_BED_SSL    1 (default): each node also has an SSL listener; 0: PLAINTEXT only
#   KG_BED_CERTS  certificates for it (default <data root>/certs, made by certs/mkcerts.sh)
#   KG_BED_SASL   1 (default): each node also has a SASL_PLAINTEXT listener and Kafka's
#                 StandardAuthorizer; 0: no SASL listener, no authorizer
#
# Ports: node N (1..3) listens PLAINTEXT on 127.0.0.1:(29091+N), CONTROLLER on 127.0.0.1:(29191+N)
# (KRaft; ZooKeeper on 127.0.0.1:29181 instead for -zk),
# SSL on 127.0.0.1:(29391+N) (server auth only, keystore broker.p12; clients trust ca.pem or
# truststore.p12 of KG_BED_CERTS, password changeit). Inter-broker traffic stays PLAINTEXT.
# SASL_PLAINTEXT on 127.0.0.1:(29491+N): PLAIN with the static users below (JAAS, in the
# listener's config) and SCRAM-SHA-512 (credentials of the same users must be created through
# AlterUserScramCredentials, e.g. by the tests, as the bed is formatted without them).
# Authorization (KG_BED_SASL=1): StandardAuthorizer (AclAuthorizer with ZooKeeper) on every node
# (combined broker+controller,
# so also for the requests brokers forward to the controller: CreateTopics, DeleteTopics,
# CreatePartitions, AlterConfigs, ...), allow.everyone.if.no.acl.found=false,
# super.users=User:ANONYMOUS;User:admin: the PLAINTEXT, SSL and CONTROLLER listeners (principal
# ANONYMOUS) keep full access; SASL users get what ACLs grant them.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
CACHE_ROOT="${KG_CACHE:-$HOME/.cache/kafka-gateway}"
BED_ROOT="${KG_BED_DIR:-$REPO/build/kafka}"
case "$BED_ROOT" in /*) ;; *) BED_ROOT="$REPO/$BED_ROOT" ;; esac
HEAP="${KG_BED_HEAP:--Xms256m -Xmx512m}"
READY_TIMEOUT="${KG_BED_READY_TIMEOUT:-120}"
SSL="${KG_BED_SSL:-1}"
case "$SSL" in 1|true|yes|on) SSL=1 ;; *) SSL=0 ;; esac
CERTS="${KG_BED_CERTS:-$BED_ROOT/certs}"
case "$CERTS" in /*) ;; *) CERTS="$REPO/$CERTS" ;; esac
SSL_PASS=changeit
SASL="${KG_BED_SASL:-1}"
case "$SASL" in 1|true|yes|on) SASL=1 ;; *) SASL=0 ;; esac
SASL_MECHANISMS="PLAIN,SCRAM-SHA-512"
# user:password pairs of the SASL listener (PLAIN: static JAAS; SCRAM: see above)
SASL_USERS="admin:admin-secret alice:alice-secret bob:bob-secret carol:carol-secret tenant-a-app:ta-secret tenant-b-app:tb-secret"
NODES=(1 2 3)
HOST=127.0.0.1
ZK_PORT=29181

die() { echo "kafka-bed: error: $*" >&2; exit 1; }
log() { echo "kafka-bed: $*" >&2; }

usage() {
    sed -n '2,/^set -e/p' "${BASH_SOURCE[0]}" | sed -n 's/^# \{0,1\}//p' >&2
    exit 2
}

check_version() {
    case "$1" in
        3.6.2|3.6.2-zk|4.3.1) ;;
        [0-9]*.[0-9]*.[0-9]*-zk) [ "$(major "$1")" -lt 4 ] || die "Kafka $(base "$1") has no ZooKeeper mode"
                               log "warning: version $1 is not one of the tested versions (3.6.2, 3.6.2-zk, 4.3.1)" ;;
        [0-9]*.[0-9]*.[0-9]*) log "warning: version $1 is not one of the tested versions (3.6.2, 3.6.2-zk, 4.3.1)" ;;
        *) die "bad Kafka version '$1'" ;;
    esac
}

major() { echo "${1%%.*}"; }
base()  { echo "${1%-zk}"; }            # the release whose jars a bed runs
is_zk() { case "$1" in *-zk) return 0 ;; esac; return 1; }

libs_dir()   { echo "$CACHE_ROOT/kafka-$(base "$1")/libs"; }
marker()     { echo "$CACHE_ROOT/kafka-$(base "$1")/.fetched"; }
bed_dir()    { echo "$BED_ROOT/$1"; }
node_dir()   { echo "$BED_ROOT/$1/node$2"; }
broker_port()     { echo $((29091 + $1)); }
controller_port() { echo $((29191 + $1)); }
ssl_port()        { echo $((29391 + $1)); }
sasl_port()       { echo $((29491 + $1)); }

sasl_bootstrap() {
    local out="" n
    for n in "${NODES[@]}"; do out="${out:+$out,}$HOST:$(sasl_port "$n")"; done
    echo "$out"
}

ssl_bootstrap() {
    local out="" n
    for n in "${NODES[@]}"; do out="${out:+$out,}$HOST:$(ssl_port "$n")"; done
    echo "$out"
}

# The brokers' keystore and the clients' trust files (certs/mkcerts.sh is idempotent).
ensure_certs() {
    [ "$SSL" = 1 ] || return 0
    command -v openssl >/dev/null || die "openssl not found (needed for the SSL listener; or KG_BED_SSL=0)"
    "$REPO/certs/mkcerts.sh" "$CERTS" >/dev/null || die "certs/mkcerts.sh $CERTS failed"
}

bootstrap() {
    local out="" n
    for n in "${NODES[@]}"; do out="${out:+$out,}$HOST:$(broker_port "$n")"; done
    echo "$out"
}

voters() {
    local out="" n
    for n in "${NODES[@]}"; do out="${out:+$out,}$n@$HOST:$(controller_port "$n")"; done
    echo "$out"
}

logging_flavor() { if [ "$(major "$1")" -ge 4 ]; then echo log4j2; else echo reload4j; fi; }

# JVM flags selecting the logging config ("broker" or "tools").
log_opts() {
    local v="$1" kind="$2"
    if [ "$(logging_flavor "$v")" = log4j2 ]; then
        echo "-Dlog4j2.configurationFile=$HERE/config/log4j2-$kind.properties"
    else
        echo "-Dlog4j.configuration=file:$HERE/config/log4j-$kind.properties"
    fi
}

# Short tool name -> main class, per version (classes moved from kafka_2.13 to kafka-tools in 4.x).
tool_class() {
    local v="$1" name="$2"
    if [ "$(major "$v")" -ge 4 ]; then
        case "$name" in
            topics)              echo org.apache.kafka.tools.TopicCommand ;;
            console-producer)    echo org.apache.kafka.tools.ConsoleProducer ;;
            console-consumer)    echo org.apache.kafka.tools.consumer.ConsoleConsumer ;;
            producer-perf)       echo org.apache.kafka.tools.ProducerPerformance ;;
            consumer-perf)       echo org.apache.kafka.tools.ConsumerPerformance ;;
            consumer-groups)     echo org.apache.kafka.tools.consumer.group.ConsumerGroupCommand ;;
            configs)             echo kafka.admin.ConfigCommand ;;
            metadata-quorum)     echo org.apache.kafka.tools.MetadataQuorumCommand ;;
            broker-api-versions) echo org.apache.kafka.tools.BrokerApiVersionsCommand ;;
            get-offsets)         echo org.apache.kafka.tools.GetOffsetShell ;;
            leader-election)     echo org.apache.kafka.tools.LeaderElectionCommand ;;
            storage)             echo kafka.tools.StorageTool ;;
            *) return 1 ;;
        esac
    else
        case "$name" in
            topics)              echo kafka.admin.TopicCommand ;;
            console-producer)    echo kafka.tools.ConsoleProducer ;;
            console-consumer)    echo kafka.tools.ConsoleConsumer ;;
            producer-perf)       echo org.apache.kafka.tools.ProducerPerformance ;;
            consumer-perf)       echo org.apache.kafka.tools.ConsumerPerformance ;;
            consumer-groups)     echo kafka.admin.ConsumerGroupCommand ;;
            configs)             echo kafka.admin.ConfigCommand ;;
            metadata-quorum)     echo org.apache.kafka.tools.MetadataQuorumCommand ;;
            broker-api-versions) echo kafka.admin.BrokerApiVersionsCommand ;;
            get-offsets)         echo kafka.tools.GetOffsetShell ;;
            leader-election)     echo kafka.admin.LeaderElectionCommand ;;
            storage)             echo kafka.tools.StorageTool ;;
            *) return 1 ;;
        esac
    fi
}
TOOL_NAMES="topics console-producer console-consumer producer-perf consumer-perf consumer-groups configs metadata-quorum broker-api-versions get-offsets leader-election storage"

# ---------------------------------------------------------------------------------------------
cmd_fetch() {
    local v libs mk pomsum
    v="$(base "$1")"
    libs="$(libs_dir "$v")"; mk="$(marker "$v")"
    pomsum="$(sha256sum "$HERE/pom.xml" | cut -d' ' -f1)"
    if [ -f "$mk" ] && [ "$(cat "$mk")" = "$pomsum" ] && [ -f "$libs/kafka_2.13-$v.jar" ] \
        && [ -f "$libs/kafka-tools-$v.jar" ]; then
        return 0
    fi
    command -v mvn >/dev/null || die "mvn not found (needed to fetch Kafka $v jars)"
    command -v java >/dev/null || die "java not found"
    log "fetching Kafka $v jars from Maven Central into $libs"
    rm -rf "$libs.tmp" "$mk"
    mkdir -p "$libs.tmp"
    mvn -q -B -Dstyle.color=never -f "$HERE/pom.xml" -Dkafka.version="$v" -Dkafka.logging="$(logging_flavor "$v")" \
        dependency:copy-dependencies -DoutputDirectory="$libs.tmp" -DincludeScope=runtime \
        || die "maven could not resolve Kafka $v"
    [ -f "$libs.tmp/kafka_2.13-$v.jar" ] || die "kafka_2.13-$v.jar missing after maven run"
    [ -f "$libs.tmp/kafka-tools-$v.jar" ] || die "kafka-tools-$v.jar missing after maven run"
    # exactly one SLF4J binding
    local bindings
    bindings="$(cd "$libs.tmp" && ls | grep -E '^(slf4j-(reload4j|log4j12|nop|simple|jdk14)|log4j-slf4j2?-impl|logback-classic)-' || true)"
    [ "$(echo "$bindings" | grep -c .)" -eq 1 ] || die "expected one SLF4J binding for Kafka $v, got: $bindings"
    rm -rf "$libs"
    mv "$libs.tmp" "$libs"
    echo "$pomsum" > "$mk"
    log "Kafka $v: $(ls "$libs" | wc -l) jars, SLF4J binding: $bindings"
}

# MirrorMaker 2 runs on Connect, which the broker does not need: its jars live apart
# (kafka-V/mirror-libs) and are fetched only by the tests that run it.
cmd_mirror_libs() {
    local v libs mk pomsum
    v="$(base "$1")"
    cmd_fetch "$v"
    libs="$CACHE_ROOT/kafka-$v/mirror-libs"; mk="$CACHE_ROOT/kafka-$v/.mirror-fetched"
    pomsum="$(sha256sum "$HERE/mirror-pom.xml" | cut -d' ' -f1)"
    if ! { [ -f "$mk" ] && [ "$(cat "$mk")" = "$pomsum" ] && [ -f "$libs/connect-mirror-$v.jar" ]; }; then
        log "fetching MirrorMaker 2 $v jars from Maven Central into $libs"
        rm -rf "$libs.tmp" "$mk"
        mkdir -p "$libs.tmp"
        mvn -q -B -Dstyle.color=never -f "$HERE/mirror-pom.xml" -Dkafka.version="$v" \
            dependency:copy-dependencies -DoutputDirectory="$libs.tmp" -DincludeScope=runtime >&2 \
            || die "maven could not resolve connect-mirror $v"
        [ -f "$libs.tmp/connect-mirror-$v.jar" ] || die "connect-mirror-$v.jar missing after maven run"
        rm -rf "$libs"
        mv "$libs.tmp" "$libs"
        echo "$pomsum" > "$mk"
    fi
    echo "$(libs_dir "$v")/*:$libs/*"
}

# ---------------------------------------------------------------------------------------------
write_props() {
    local v="$1" n="$2" d
    d="$(node_dir "$v" "$n")"
    mkdir -p "$d/data" "$d/logs"
    local listeners="PLAINTEXT://$HOST:$(broker_port "$n"),CONTROLLER://$HOST:$(controller_port "$n")"
    local advertised="PLAINTEXT://$HOST:$(broker_port "$n")"
    local protomap="PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
    if [ "$SSL" = 1 ]; then
        listeners="$listeners,SSL://$HOST:$(ssl_port "$n")"
        advertised="$advertised,SSL://$HOST:$(ssl_port "$n")"
        protomap="$protomap,SSL:SSL"
    fi
    if [ "$SASL" = 1 ]; then
        listeners="$listeners,SASL_PLAINTEXT://$HOST:$(sasl_port "$n")"
        advertised="$advertised,SASL_PLAINTEXT://$HOST:$(sasl_port "$n")"
        protomap="$protomap,SASL_PLAINTEXT:SASL_PLAINTEXT"
    fi
    local authorizer=org.apache.kafka.metadata.authorizer.StandardAuthorizer
    if is_zk "$v"; then
        listeners="${listeners/,CONTROLLER:\/\/$HOST:$(controller_port "$n")/}"
        protomap="${protomap/,CONTROLLER:PLAINTEXT/}"
        authorizer=kafka.security.authorizer.AclAuthorizer
        cat > "$d/server.properties" <<EOF
# generated by tests/kafka/kafka-bed.sh (Kafka $(base "$v") with ZooKeeper, broker $n)
broker.id=$n
zookeeper.connect=$HOST:$ZK_PORT
zookeeper.connection.timeout.ms=30000
EOF
    else
        cat > "$d/server.properties" <<EOF
# generated by tests/kafka/kafka-bed.sh (Kafka $v, node $n)
process.roles=broker,controller
node.id=$n
controller.quorum.voters=$(voters)
controller.listener.names=CONTROLLER
EOF
    fi
    cat >> "$d/server.properties" <<EOF
listeners=$listeners
advertised.listeners=$advertised
listener.security.protocol.map=$protomap
inter.broker.listener.name=PLAINTEXT
log.dirs=$d/data
num.partitions=1
default.replication.factor=3
min.insync.replicas=2
offsets.topic.replication.factor=3
offsets.topic.num.partitions=12
transaction.state.log.replication.factor=3
transaction.state.log.min.isr=2
transaction.state.log.num.partitions=6
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
delete.topic.enable=true
unclean.leader.election.enable=false
log.segment.bytes=16777216
log.retention.hours=24
log.retention.check.interval.ms=60000
log.cleaner.dedupe.buffer.size=4194304
log.cleaner.threads=1
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
num.replica.fetchers=1
background.threads=4
socket.request.max.bytes=104857600
replica.lag.time.max.ms=10000
controlled.shutdown.enable=true
leader.imbalance.check.interval.seconds=10
EOF
    if [ "$SSL" = 1 ]; then
        cat >> "$d/server.properties" <<EOF
listener.name.ssl.ssl.keystore.type=PKCS12
listener.name.ssl.ssl.keystore.location=$CERTS/broker.p12
listener.name.ssl.ssl.keystore.password=$SSL_PASS
listener.name.ssl.ssl.key.password=$SSL_PASS
listener.name.ssl.ssl.client.auth=none
EOF
    fi
    if [ "$SASL" = 1 ]; then
        local up="" u
        for u in $SASL_USERS; do up="$up user_${u%%:*}=\"${u#*:}\""; done
        cat >> "$d/server.properties" <<EOF
listener.name.sasl_plaintext.sasl.enabled.mechanisms=$SASL_MECHANISMS
listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret"$up;
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
authorizer.class.name=$authorizer
super.users=User:ANONYMOUS;User:admin
allow.everyone.if.no.acl.found=false
EOF
    fi
}

# Whether a node runs with the SSL / SASL_PLAINTEXT listener (its server.properties says so).
node_has_ssl() { grep -q "^listeners=.*[,=]SSL://" "$(node_dir "$1" "$2")/server.properties" 2>/dev/null; }
node_has_sasl() { grep -q "^listeners=.*SASL_PLAINTEXT://" "$(node_dir "$1" "$2")/server.properties" 2>/dev/null; }

pid_of() { # prints pid if the node's JVM is alive, else nothing
    local d pf pid
    d="$(node_dir "$1" "$2")"; pf="$d/node.pid"
    [ -f "$pf" ] || return 0
    pid="$(cat "$pf" 2>/dev/null || true)"
    [ -n "$pid" ] || return 0
    kill -0 "$pid" 2>/dev/null || return 0
    local cmdline
    cmdline="$(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null || true)"
    case "$cmdline" in *"$d/server.properties"*) echo "$pid" ;; esac
}

port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

cluster_id() {
    local v="$1" f
    f="$(bed_dir "$v")/cluster.id"
    if [ ! -s "$f" ]; then
        mkdir -p "$(bed_dir "$v")"
        python3 -c 'import uuid,base64;print(base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("="))' > "$f"
    fi
    cat "$f"
}

format_node() {
    local v="$1" n="$2" d
    d="$(node_dir "$v" "$n")"
    is_zk "$v" && return 0              # brokers with ZooKeeper need no format
    [ -f "$d/data/meta.properties" ] && return 0
    java -Xmx256m $(log_opts "$v" tools) -cp "$(libs_dir "$v")/*" kafka.tools.StorageTool \
        format -t "$(cluster_id "$v")" -c "$d/server.properties" --ignore-formatted \
        > "$d/logs/format.out" 2>&1 || { cat "$d/logs/format.out" >&2; die "formatting node $n failed"; }
}

start_node_proc() {
    local v="$1" n="$2" d pid
    d="$(node_dir "$v" "$n")"
    pid="$(pid_of "$v" "$n")"
    if [ -n "$pid" ]; then return 0; fi
    # a JVM of this node whose pid file was lost: adopt it instead of starting a second one
    pid="$(pgrep -f -- "kafka.Kafka $d/server.properties" | head -n1 || true)"
    if [ -n "$pid" ]; then echo "$pid" > "$d/node.pid"; log "node $n: adopted running pid $pid"; return 0; fi
    if port_open "$(broker_port "$n")" || { ! is_zk "$v" && port_open "$(controller_port "$n")"; } \
        || { [ "$SSL" = 1 ] && port_open "$(ssl_port "$n")"; } \
        || { [ "$SASL" = 1 ] && port_open "$(sasl_port "$n")"; }; then
        die "port $(broker_port "$n"), $(controller_port "$n"), $(ssl_port "$n") or $(sasl_port "$n") already in use by another process (another bed version up? run: $0 down OTHER_VERSION)"
    fi
    ensure_certs
    write_props "$v" "$n"
    format_node "$v" "$n"
    # shellcheck disable=SC2086
    setsid java -server $HEAP -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
        -Dkafka.logs.dir="$d/logs" $(log_opts "$v" broker) \
        -cp "$(libs_dir "$v")/*" kafka.Kafka "$d/server.properties" \
        > "$d/logs/node.out" 2>&1 < /dev/null &
    pid=$!
    echo "$pid" > "$d/node.pid"
    # wait until the child has exec'd the JVM (pid_of matches on the JVM's command line)
    local i
    for i in $(seq 1 100); do
        [ -n "$(pid_of "$v" "$n")" ] && return 0
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    [ -n "$(pid_of "$v" "$n")" ] || { log_tails "$v"; die "node $n of Kafka $v did not start (pid $pid)"; }
}

# ---------------------------------------------------------------------------------------------
# ZooKeeper (X.Y.Z-zk beds): an ensemble of one, from the zookeeper jar of Kafka's dependencies.
zk_dir() { echo "$(bed_dir "$1")/zookeeper"; }

zk_pid() {
    local d pf pid
    d="$(zk_dir "$1")"; pf="$d/zk.pid"
    [ -f "$pf" ] || return 0
    pid="$(cat "$pf" 2>/dev/null || true)"
    { [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; } || return 0
    case "$(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null)" in *"$d/zk.cfg"*) echo "$pid" ;; esac
}

start_zk() {
    local v="$1" d pid i
    d="$(zk_dir "$v")"
    [ -n "$(zk_pid "$v")" ] && return 0
    port_open "$ZK_PORT" && die "port $ZK_PORT already in use by another process"
    mkdir -p "$d/data" "$d/logs"
    cat > "$d/zk.cfg" <<EOF
# generated by tests/kafka/kafka-bed.sh (ZooKeeper of Kafka $(base "$v"))
dataDir=$d/data
clientPort=$ZK_PORT
clientPortAddress=$HOST
tickTime=2000
maxClientCnxns=0
admin.enableServer=false
4lw.commands.whitelist=srvr,ruok
EOF
    # shellcheck disable=SC2046
    setsid java -Xms64m -Xmx256m -Djava.awt.headless=true -Dzookeeper.log.dir="$d/logs" \
        $(log_opts "$v" tools) -cp "$(libs_dir "$v")/*" org.apache.zookeeper.server.quorum.QuorumPeerMain \
        "$d/zk.cfg" > "$d/logs/zk.out" 2>&1 < /dev/null &
    pid=$!
    echo "$pid" > "$d/zk.pid"
    for i in $(seq 1 200); do
        port_open "$ZK_PORT" && return 0
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    tail -n 30 "$d/logs/zk.out" >&2 || true
    die "ZooKeeper of bed $v did not start"
}

stop_zk() {
    local pid
    pid="$(zk_pid "$1")"
    if [ -n "$pid" ]; then stop_pids 20 "$pid"; log "ZooKeeper of bed $1 stopped"; fi
    rm -f "$(zk_dir "$1")/zk.pid"
}

log_tails() {
    local v="$1" n d
    for n in "${NODES[@]}"; do
        d="$(node_dir "$v" "$n")"
        echo "----- node $n: $d/logs/node.out (tail) -----" >&2
        tail -n 15 "$d/logs/node.out" 2>/dev/null >&2 || true
        echo "----- node $n: $d/logs/server.log (tail) -----" >&2
        tail -n 25 "$d/logs/server.log" 2>/dev/null >&2 || true
    done
}

# Registered broker ids as seen by a metadata round trip (one per line).
registered_brokers() {
    local v="$1"
    run_tool "$v" broker-api-versions --bootstrap-server "$(bootstrap)" 2>/dev/null \
        | sed -n 's/.*(id: \([0-9]*\) rack.*/\1/p' | sort -u || true
}

wait_ready() { # wait_ready V ID... : wait until these nodes' broker ports accept and all are registered
    local v="$1"; shift
    local want=("$@") deadline n ok ids
    deadline=$((SECONDS + READY_TIMEOUT))
    while :; do
        for n in "${want[@]}"; do
            [ -n "$(pid_of "$v" "$n")" ] || { log_tails "$v"; die "node $n of Kafka $v died during startup (see logs above)"; }
        done
        ok=1
        for n in "${want[@]}"; do
            port_open "$(broker_port "$n")" || { ok=0; break; }
            if node_has_ssl "$v" "$n"; then port_open "$(ssl_port "$n")" || { ok=0; break; }; fi
            if node_has_sasl "$v" "$n"; then port_open "$(sasl_port "$n")" || { ok=0; break; }; fi
        done
        if [ "$ok" = 1 ]; then
            ids="$(registered_brokers "$v" | tr '\n' ' ')"
            ok=1
            for n in "${NODES[@]}"; do
                case " $ids " in *" $n "*) ;; *) ok=0 ;; esac
            done
            if [ "$ok" = 1 ] && run_tool "$v" topics --bootstrap-server "$(bootstrap)" --list >/dev/null 2>&1; then
                return 0
            fi
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            log_tails "$v"
            die "Kafka $v not ready after ${READY_TIMEOUT}s (registered brokers: ${ids:-none}; want ${NODES[*]})"
        fi
        sleep 2
    done
}

cmd_up() {
    local v="$1" n t0=$SECONDS
    cmd_fetch "$v"
    mkdir -p "$(bed_dir "$v")"
    if is_zk "$v"; then start_zk "$v"; fi
    local started=0
    for n in "${NODES[@]}"; do
        if [ -z "$(pid_of "$v" "$n")" ]; then start_node_proc "$v" "$n"; started=1; fi
    done
    wait_ready "$v" "${NODES[@]}"
    if [ "$SSL" = 1 ]; then
        for n in "${NODES[@]}"; do
            node_has_ssl "$v" "$n" || log "warning: node $n runs without the SSL listener (started by an older kafka-bed.sh or with KG_BED_SSL=0); 'down' then 'up' to get it"
        done
    fi
    if [ "$SASL" = 1 ]; then
        for n in "${NODES[@]}"; do
            node_has_sasl "$v" "$n" || log "warning: node $n runs without the SASL_PLAINTEXT listener and authorizer (started by an older kafka-bed.sh or with KG_BED_SASL=0); 'down' then 'up' to get it"
        done
    fi
    if [ "$started" = 1 ]; then
        log "Kafka $v up in $((SECONDS - t0))s: bootstrap $(bootstrap) (data $(bed_dir "$v"))"
    else
        log "Kafka $v already up: bootstrap $(bootstrap)"
    fi
}

stop_pids() { # stop_pids TIMEOUT PID...
    local timeout="$1"; shift
    local pids=("$@") p deadline alive
    [ "${#pids[@]}" -gt 0 ] || return 0
    kill -TERM "${pids[@]}" 2>/dev/null || true
    deadline=$((SECONDS + timeout))
    while :; do
        alive=()
        for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive+=("$p"); done
        [ "${#alive[@]}" -eq 0 ] && return 0
        if [ "$SECONDS" -ge "$deadline" ]; then
            log "SIGKILL after ${timeout}s: ${alive[*]}"
            kill -KILL "${alive[@]}" 2>/dev/null || true
            sleep 0.5
            return 0
        fi
        sleep 0.3
    done
}

cmd_down() {
    local v="$1" n pid pids=()
    for n in "${NODES[@]}"; do
        pid="$(pid_of "$v" "$n")"
        [ -n "$pid" ] && pids+=("$pid")
    done
    if [ "${#pids[@]}" -eq 0 ]; then log "Kafka $v: no node running"; else
        stop_pids 30 "${pids[@]}"
        log "Kafka $v stopped (${#pids[@]} nodes)"
    fi
    for n in "${NODES[@]}"; do rm -f "$(node_dir "$v" "$n")/node.pid"; done
    if is_zk "$v"; then stop_zk "$v"; fi
}

cmd_status() {
    local v="$1" n pid rc=0
    if is_zk "$v"; then
        pid="$(zk_pid "$v")"
        if [ -n "$pid" ]; then echo "zookeeper: running pid $pid $HOST:$ZK_PORT"; else echo "zookeeper: stopped"; rc=3; fi
    fi
    for n in "${NODES[@]}"; do
        pid="$(pid_of "$v" "$n")"
        if [ -n "$pid" ]; then
            echo "node $n: running pid $pid broker $HOST:$(broker_port "$n")$(is_zk "$v" || echo " controller $HOST:$(controller_port "$n")")$(node_has_ssl "$v" "$n" && echo " ssl $HOST:$(ssl_port "$n")")$(node_has_sasl "$v" "$n" && echo " sasl $HOST:$(sasl_port "$n")")"
        else
            echo "node $n: stopped"; rc=3
        fi
    done
    return $rc
}

check_node_id() { case "$1" in 1|2|3) ;; *) die "node id must be 1, 2 or 3 (got '$1')" ;; esac; }

cmd_kill_node() {
    local v="$1" n="$2" pid
    check_node_id "$n"
    pid="$(pid_of "$v" "$n")"
    [ -n "$pid" ] || die "node $n of Kafka $v is not running"
    kill -KILL "$pid"
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
    rm -f "$(node_dir "$v" "$n")/node.pid"
    log "node $n (pid $pid) killed with SIGKILL"
}

# A hung broker: the kernel still completes TCP handshakes on its ports.
cmd_signal_node() {
    local v="$1" n="$2" sig="$3" pid
    check_node_id "$n"
    pid="$(pid_of "$v" "$n")"
    [ -n "$pid" ] || die "node $n of Kafka $v is not running"
    kill -"$sig" "$pid"
    log "node $n (pid $pid) sent SIG$sig"
}

cmd_start_node() {
    local v="$1" n="$2"
    check_node_id "$n"
    cmd_fetch "$v"
    if is_zk "$v"; then start_zk "$v"; fi
    start_node_proc "$v" "$n"
    wait_ready "$v" "$n"
    log "node $n of Kafka $v is up and registered"
}

run_tool() {
    local v="$1" name="$2" cls; shift 2
    cls="$(tool_class "$v" "$name")" || die "unknown tool '$name' (known: $TOOL_NAMES)"
    # shellcheck disable=SC2046
    java -Xms64m -Xmx${KG_TOOL_HEAP:-512m} -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true \
        $(log_opts "$v" tools) -cp "$(libs_dir "$v")/*" "$cls" "$@"
}

cmd_tool() {
    local v="$1"; shift
    [ $# -ge 1 ] || die "usage: $0 tool VERSION NAME [ARGS...]"
    tool_class "$v" "$1" >/dev/null || die "unknown tool '$1' (known: $TOOL_NAMES)"
    cmd_fetch "$v"
    run_tool "$v" "$@"
}

main() {
    [ $# -ge 2 ] || usage
    local sub="$1" v="$2"; shift 2
    check_version "$v"
    case "$sub" in
        fetch)      cmd_fetch "$v" ;;
        up)         cmd_up "$v" ;;
        down)       cmd_down "$v" ;;
        status)     cmd_status "$v" ;;
        kill-node)  [ $# -eq 1 ] || usage; cmd_kill_node "$v" "$1" ;;
        start-node) [ $# -eq 1 ] || usage; cmd_start_node "$v" "$1" ;;
        pause-node) [ $# -eq 1 ] || usage; cmd_signal_node "$v" "$1" STOP ;;
        resume-node) [ $# -eq 1 ] || usage; cmd_signal_node "$v" "$1" CONT ;;
        tool)       cmd_tool "$v" "$@" ;;
        mirror-libs) cmd_mirror_libs "$v" ;;
        bootstrap)  bootstrap ;;
        ssl)        [ "$SSL" = 1 ] || die "KG_BED_SSL=0: no SSL listener"
                    ensure_certs
                    echo "KG_BED_SSL_BOOTSTRAP=$(ssl_bootstrap)"
                    echo "KG_BED_SSL_CA=$CERTS/ca.pem"
                    echo "KG_BED_SSL_TRUSTSTORE=$CERTS/truststore.p12"
                    echo "KG_BED_SSL_PASSWORD=$SSL_PASS" ;;
        sasl)       [ "$SASL" = 1 ] || die "KG_BED_SASL=0: no SASL listener"
                    echo "KG_BED_SASL_BOOTSTRAP=$(sasl_bootstrap)"
                    echo "KG_BED_SASL_MECHANISMS=$SASL_MECHANISMS"
                    echo "KG_BED_SASL_USERS=$SASL_USERS" ;;
        *) usage ;;
    esac
}

main "$@"
