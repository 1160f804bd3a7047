#!/usr/bin/env bash
# Prepares what `make run` needs beside the gateway: a demo SCRAM user and
# client configurations that work against conf/gateway.json (SASL_SSL).
set -euo pipefail
cd "$(dirname "$0")/../.."
out=build/demo
mkdir -p "$out"
user=demo
pass_file=$out/demo.password
if [ ! -s "$pass_file" ]; then
  (umask 077; head -c 18 /dev/urandom | base64 | tr -d '/+=' > "$pass_file")
fi
pass=$(cat "$pass_file")
if [ ! -f "$out/users.json" ] || ! build/kafka-gateway user list --users "$out/users.json" | grep -q "^$user"; then
  rm -f "$out/users.json"
  build/kafka-gateway user add --users "$out/users.json" --password-stdin "$user" <<<"$pass" >/dev/null 2>&1
fi
cat > "$out/client.properties" <<PROPS
bootstrap.servers=localhost:9092
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="$user" password="$pass";
ssl.truststore.location=$(pwd)/build/certs/truststore.p12
ssl.truststore.type=PKCS12
ssl.truststore.password=changeit
PROPS
cat > "$out/librdkafka.conf" <<PROPS
bootstrap.servers=localhost:9092
security.protocol=sasl_ssl
sasl.mechanisms=SCRAM-SHA-512
sasl.username=$user
sasl.password=$pass
ssl.ca.location=$(pwd)/build/certs/ca.pem
PROPS
chmod 600 "$out/client.properties" "$out/librdkafka.conf"
cat <<MSG

kafka-gateway: SASL_SSL on localhost:9092 (brokers 127.0.0.1:29092-29094 are for the gateway only)
  demo user:        $user / $pass   (SCRAM-SHA-512, SCRAM-SHA-256, PLAIN)
  Java clients:     $out/client.properties
                    e.g. tests/kafka/kafka-bed.sh tool 3.6.2 topics --bootstrap-server localhost:9092 --command-config $out/client.properties --list
  librdkafka/kcat:  $out/librdkafka.conf
                    e.g. kcat -F $out/librdkafka.conf -L
  Stop with Ctrl-C; 'make kafka-down' stops Kafka.

MSG
