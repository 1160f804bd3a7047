# kafka-gateway - plain GNU make.
#
#   make            build build/kafka-gateway
#   make run        fresh machine -> local 3-broker Kafka + gateway in front
#   make test       everything CI runs: regen and layer checks, unit
#                   (+ASan/UBSan), fuzz, deploy/ validation (make
#                   deploy-check), integration (with the CI cells of the
#                   compatibility matrix) against Kafka 3.6.2 with ZooKeeper,
#                   3.6.2 KRaft and 4.3.1
#   make compat     every cell of the compatibility matrix on every bed
#   make bench      direct vs gateway throughput, CPU s/GB -> BENCHMARKS.md
#   make bench-instructions   instructions per Produce/Fetch (callgrind)
#   make check-instructions   the same against tests/bench/replay/budget.tsv
#                   (in make test: fails when a request gets 10 % dearer)
#
# CFLAGS is yours (optimisation, debug, extra warnings); the flags the
# build needs are in KG_CFLAGS and always apply, so `make CFLAGS=-O0` keeps
# -std, -Werror and the include roots.

SHELL    := /bin/bash
CC       ?= gcc
CLANG    ?= clang-14
CFLAGS   ?= -O2 -g
KG_CFLAGS = -std=c11 -Wall -Wextra -Werror -pthread
# Includes name their folder: "kafka/codec.h" (under proxy/), "auth/sasl.h".
KG_CPPFLAGS = -Iproxy -I.
DEPFLAGS = -MMD -MP
LDLIBS   += -lev -ljansson -lssl -lcrypto -lpcre2-8 -lsasl2 -lmicrohttpd -pthread
PYTHON   ?= python3
# Test bed generations: X.Y.Z-zk is Kafka X.Y.Z with ZooKeeper (kafka-bed.sh).
KAFKA_VERSIONS ?= 3.6.2-zk 3.6.2 4.3.1
KAFKA_VERSION  ?= 3.6.2
# Newest Kafka message definitions: the kafka-clients jar of this release.
KAFKA_DEFS_VERSION ?= 4.4.0
KAFKA_DEFS_JAR = $(HOME)/.m2/repository/org/apache/kafka/kafka-clients/$(KAFKA_DEFS_VERSION)/kafka-clients-$(KAFKA_DEFS_VERSION).jar
SHARED   ?= ../shared
FUZZ_SECONDS ?= 30

# One folder per concern (README "Layout").
SRC_DIRS = proxy/base proxy/kafka proxy/io proxy/loop proxy/route proxy/enforce \
           proxy/config proxy/ops proxy/cli auth acl audit
MAIN_SRC = proxy/cli/main.c
LIB_SRC  = $(filter-out $(MAIN_SRC),$(foreach d,$(SRC_DIRS),$(wildcard $(d)/*.c)))
UNIT_SRC = $(wildcard tests/unit/test_*.c)
FUZZ_SRC = $(wildcard tests/fuzz/fuzz_*.c)

# Three object sets, each compiled once and shared by every binary of
# its kind: plain, ASan/UBSan (unit tests again), libFuzzer (clang).
LIB_OBJ   = $(LIB_SRC:%.c=build/obj/%.o)
ASAN_OBJ  = $(LIB_SRC:%.c=build/asan/obj/%.o)
FUZZ_OBJ  = $(LIB_SRC:%.c=build/fuzz/obj/%.o)
UNIT_BIN  = $(UNIT_SRC:tests/unit/%.c=build/tests/%)
ASAN_BIN  = $(UNIT_SRC:tests/unit/%.c=build/asan/%)
FUZZ_BIN  = $(FUZZ_SRC:tests/fuzz/%.c=build/fuzz/%)
ASAN_FLAGS = -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
FUZZ_FLAGS = -std=c11 -g -O1 -pthread -fsanitize=fuzzer-no-link,address,undefined

.SECONDARY:

.PHONY: all deps regen check-regen check-layers unit asan fuzz test integration compat run \
        kafka-up kafka-down kafka-status bench bench-acl bench-instructions check-instructions certs \
        clean deploy-check

all: build/kafka-gateway

build/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(KG_CFLAGS) $(CFLAGS) $(KG_CPPFLAGS) $(CPPFLAGS) $(DEPFLAGS) -c -o $@ $<

build/asan/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(KG_CFLAGS) $(CFLAGS) $(ASAN_FLAGS) $(KG_CPPFLAGS) $(CPPFLAGS) $(DEPFLAGS) -c -o $@ $<

# The same code with metrics recording compiled out (`make bench` measures
# what recording costs, base/metrics.h); never installed or shipped.
build/nometrics/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(KG_CFLAGS) $(CFLAGS) -DKG_METRICS_OFF $(KG_CPPFLAGS) $(CPPFLAGS) $(DEPFLAGS) -c -o $@ $<

build/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CLANG) $(FUZZ_FLAGS) $(KG_CPPFLAGS) $(CPPFLAGS) $(DEPFLAGS) -c -o $@ $<

-include $(wildcard $(LIB_OBJ:.o=.d) $(ASAN_OBJ:.o=.d) $(FUZZ_OBJ:.o=.d) build/obj/proxy/cli/main.d \
                    $(NOMETRICS_OBJ:.o=.d) \
                    $(UNIT_SRC:%.c=build/obj/%.d) $(UNIT_SRC:%.c=build/asan/obj/%.d) \
                    $(FUZZ_SRC:%.c=build/fuzz/obj/%.d))

build/kafka-gateway: build/obj/$(MAIN_SRC:.c=.o) $(LIB_OBJ)
	$(CC) $(KG_CFLAGS) $(CFLAGS) -o $@ $^ $(LDLIBS)

NOMETRICS_OBJ = $(LIB_SRC:%.c=build/nometrics/obj/%.o) build/nometrics/obj/$(MAIN_SRC:.c=.o)
build/kafka-gateway-nometrics: $(NOMETRICS_OBJ)
	$(CC) $(KG_CFLAGS) $(CFLAGS) -o $@ $^ $(LDLIBS)

# ---- dependencies (Debian packages, Python packages) ----
DEB_PKGS = gcc make libssl-dev libsasl2-dev libsasl2-modules libev-dev libpcre2-dev \
           libjansson-dev libmicrohttpd-dev libcmocka-dev clang-14 libclang-rt-14-dev libfuzzer-14-dev \
           kcat maven openjdk-17-jdk-headless python3-pip openssl valgrind prometheus logrotate systemd
deps:
	@missing=$$(for p in $(DEB_PKGS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing:" $$missing; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q $$missing; \
	fi
	@$(PYTHON) -c 'import confluent_kafka, pytest, kafka, kubernetes_validate' 2>/dev/null || \
	  $(PYTHON) -m pip install -q -r tests/requirements.txt
	@for v in $(KAFKA_VERSIONS); do tests/kafka/kafka-bed.sh fetch $$v || exit 1; done
	@# The matrix's Node.js and Go clients (pinned: package-lock.json, go.sum).
	@command -v node >/dev/null || { SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get install -y -q nodejs npm; }
	@[ -d tests/compat/node/node_modules/kafkajs ] || (cd tests/compat/node && npm ci --no-audit --no-fund -s)
	@if command -v go >/dev/null; then (cd tests/compat/go && go mod download); else \
	  echo "deps: no Go toolchain: the franz-go cells of the matrix will fail as NOT RUN"; fi

# ---- generated protocol codec ----
GEN = $(PYTHON) proxy/kafka/gen_codec.py --defs $(SHARED)/kafka-messages --defs $(KAFKA_DEFS_JAR)

$(KAFKA_DEFS_JAR):
	mvn -q -B dependency:get -Dartifact=org.apache.kafka:kafka-clients:$(KAFKA_DEFS_VERSION) -Dtransitive=false

regen: $(KAFKA_DEFS_JAR)
	$(GEN) --out proxy/kafka/codec_gen.c --header proxy/kafka/fields_gen.h

check-regen: $(KAFKA_DEFS_JAR)
	@mkdir -p build
	$(GEN) --out build/codec_gen.c --header build/fields_gen.h
	@for f in codec_gen.c fields_gen.h; do \
	  cmp -s build/$$f proxy/kafka/$$f || { echo "proxy/kafka/$$f is stale: run 'make regen' and commit"; \
	    diff -u proxy/kafka/$$f build/$$f | head -20; exit 1; }; done
	@echo "check-regen: proxy/kafka/codec_gen.c and fields_gen.h match the generator"

# ---- the house rules: includes name their folder, no include cycles ----
check-layers: all
	$(PYTHON) tests/tools/check_layers.py

# ---- unit tests (cmocka), plain and with ASan/UBSan ----
build/tests/%: build/obj/tests/unit/%.o $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(KG_CFLAGS) $(CFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

build/asan/%: build/asan/obj/tests/unit/%.o $(ASAN_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(KG_CFLAGS) $(ASAN_FLAGS) -o $@ $^ $(LDLIBS) -lcmocka

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

asan: $(ASAN_BIN)
	@set -e; for t in $(ASAN_BIN); do echo "== $$t (ASan/UBSan)"; $$t; done

# ---- fuzzing (libFuzzer) ----
build/fuzz/%: build/fuzz/obj/tests/fuzz/%.o $(FUZZ_OBJ)
	@mkdir -p $(dir $@)
	$(CLANG) $(FUZZ_FLAGS) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)

fuzz: $(FUZZ_BIN)
	@set -e; for f in $(FUZZ_BIN); do \
	  mkdir -p build/fuzz/corpus-$$(basename $$f); \
	  echo "== $$f for $(FUZZ_SECONDS)s"; \
	  $$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 build/fuzz/corpus-$$(basename $$f) $$( [ -d tests/fuzz/corpus ] && echo tests/fuzz/corpus ) 2>&1 | tail -n 12; \
	  test $${PIPESTATUS[0]} -eq 0; \
	done

# ---- real Kafka test bed and integration tests ----
kafka-up:
	tests/kafka/kafka-bed.sh up $(KAFKA_VERSION)

kafka-down:
	tests/kafka/kafka-bed.sh down $(KAFKA_VERSION)

kafka-status:
	tests/kafka/kafka-bed.sh status $(KAFKA_VERSION)

# One pytest session per Kafka version; each starts and stops its own
# cluster on the same ports, so only one version is up at a time.
integration: deps all certs
	@set -e; for v in $(KAFKA_VERSIONS); do \
	  for o in $(KAFKA_VERSIONS); do tests/kafka/kafka-bed.sh down $$o; done; \
	  echo "== integration tests against Kafka $$v"; \
	  KAFKA_VERSION=$$v $(PYTHON) -m pytest tests/integration -v -rfE -p no:cacheprovider \
	    --basetemp=build/pytest-$$v || { tests/kafka/kafka-bed.sh down $$v; exit 1; }; \
	done

# ---- deployments (deploy/): offline checks, no cluster, no container engine ----
deploy-check: all
	KG_DEPLOY_STRICT=1 $(PYTHON) -m pytest tests/deploy -q -rsx -p no:cacheprovider

test: deps check-regen check-layers unit asan fuzz check-instructions deploy-check integration

# Every cell of the compatibility matrix, on every bed generation.
compat: deps all certs
	@set -e; for v in $(KAFKA_VERSIONS); do \
	  for o in $(KAFKA_VERSIONS); do tests/kafka/kafka-bed.sh down $$o; done; \
	  echo "== compatibility matrix against Kafka $$v"; \
	  KAFKA_VERSION=$$v KG_COMPAT=full $(PYTHON) -m pytest tests/integration/test_matrix.py \
	    tests/integration/test_compat.py -v -rfE -p no:cacheprovider --basetemp=build/compat-$$v \
	    || { tests/kafka/kafka-bed.sh down $$v; exit 1; }; \
	  tests/kafka/kafka-bed.sh down $$v; \
	done

certs:
	certs/mkcerts.sh build/certs

# ---- a working gateway in front of a local Kafka ----
run: deps all certs
	tests/kafka/kafka-bed.sh up $(KAFKA_VERSION)
	tests/demo/prepare.sh
	build/kafka-gateway run -c conf/gateway.json

bench: deps all build/kafka-gateway-nometrics
	tests/bench/bench.sh

# Authorization engine micro-benchmark (1,000-rule policy, decisions/s on
# one core); not part of `make test`.
build/bench/acl_bench: build/obj/tests/bench/acl_bench.o $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(KG_CFLAGS) $(CFLAGS) -o $@ $^ $(LDLIBS)

bench-acl: build/bench/acl_bench
	build/bench/acl_bench

# Instructions per request (Produce, Fetch) through the gateway, counted
# by callgrind over a fixed replay: repeatable on a noisy machine.
bench-instructions: deps all
	tests/bench/replay/callgrind.sh 400

# The regression guard: instructions per Produce / Fetch within the committed
# budget (tests/bench/replay/budget.tsv) plus its tolerance.
check-instructions: all
	tests/bench/replay/check_budget.sh

clean:
	rm -rf build
