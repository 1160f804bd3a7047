# kafka-gateway - plain GNU make.
#
#   make            build build/kafka-gateway
#   make run        fresh machine -> local 3-broker Kafka + gateway in front
#   make test       everything CI runs: regen check, unit (+ASan/UBSan), fuzz,
#                   integration against Kafka 3.6.2 and 4.3.1
#   make bench      direct vs gateway throughput, CPU s/GB -> BENCHMARKS.md

SHELL    := /bin/bash
CC       ?= gcc
CLANG    ?= clang-14
CFLAGS   ?= -O2 -g
CFLAGS   += -std=c11 -Wall -Wextra -Werror -pthread -Iproxy -Iauth -Iacl -Iaudit
LDLIBS   += -lev -ljansson -lssl -lcrypto -lpcre2-8 -lsasl2 -pthread
PYTHON   ?= python3
KAFKA_VERSIONS ?= 3.6.2 4.3.1
KAFKA_VERSION  ?= 3.6.2
# Newest Kafka message definitions: the kafka-clients jar of this release.
KAFKA_DEFS_VERSION ?= 4.4.0
KAFKA_DEFS_JAR = $(HOME)/.m2/repository/org/apache/kafka/kafka-clients/$(KAFKA_DEFS_VERSION)/kafka-clients-$(KAFKA_DEFS_VERSION).jar
SHARED   ?= ../shared
FUZZ_SECONDS ?= 30

PROXY_SRC = $(filter-out proxy/main.c,$(wildcard proxy/*.c auth/*.c acl/*.c audit/*.c))
HEADERS   = $(wildcard proxy/*.h auth/*.h acl/*.h audit/*.h)
PROXY_OBJ = $(PROXY_SRC:%.c=build/obj/%.o)
UNIT_SRC  = $(wildcard tests/unit/test_*.c)
UNIT_BIN  = $(UNIT_SRC:tests/unit/%.c=build/tests/%)
ASAN_BIN  = $(UNIT_SRC:tests/unit/%.c=build/asan/%)
ASAN_FLAGS = -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

.PHONY: all deps regen check-regen unit asan fuzz test integration run kafka-up kafka-down kafka-status bench bench-acl certs clean

all: build/kafka-gateway

build/obj/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

build/kafka-gateway: build/obj/proxy/main.o $(PROXY_OBJ)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# ---- dependencies (Debian packages, Python packages) ----
DEB_PKGS = gcc make libssl-dev libsasl2-dev libsasl2-modules libev-dev libpcre2-dev \
           libjansson-dev libcmocka-dev clang-14 libclang-rt-14-dev libfuzzer-14-dev \
           kcat maven openjdk-17-jre-headless python3-pip openssl
deps:
	@missing=$$(for p in $(DEB_PKGS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing:" $$missing; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q $$missing; \
	fi
	@$(PYTHON) -c 'import confluent_kafka, pytest, kafka' 2>/dev/null || \
	  $(PYTHON) -m pip install -q -r tests/requirements.txt
	@for v in $(KAFKA_VERSIONS); do tests/kafka/kafka-bed.sh fetch $$v || exit 1; done

# ---- generated protocol codec ----
$(KAFKA_DEFS_JAR):
	mvn -q -B dependency:get -Dartifact=org.apache.kafka:kafka-clients:$(KAFKA_DEFS_VERSION) -Dtransitive=false

regen: $(KAFKA_DEFS_JAR)
	$(PYTHON) proxy/codegen/gen_codec.py --defs $(SHARED)/kafka-messages --defs $(KAFKA_DEFS_JAR) --out proxy/codec_gen.c

check-regen: $(KAFKA_DEFS_JAR)
	@mkdir -p build
	$(PYTHON) proxy/codegen/gen_codec.py --defs $(SHARED)/kafka-messages --defs $(KAFKA_DEFS_JAR) --out build/codec_gen.c
	@cmp -s build/codec_gen.c proxy/codec_gen.c || { echo "proxy/codec_gen.c is stale: run 'make regen' and commit"; diff -u proxy/codec_gen.c build/codec_gen.c | head -20; exit 1; }
	@echo "check-regen: proxy/codec_gen.c matches the generator"

# ---- unit tests (cmocka), plain and with ASan/UBSan ----
build/tests/%: tests/unit/%.c $(PROXY_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

build/asan/%: tests/unit/%.c $(PROXY_SRC) $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -O2,$(CFLAGS)) $(ASAN_FLAGS) -o $@ $< $(PROXY_SRC) $(LDLIBS) -lcmocka

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

asan: $(ASAN_BIN)
	@set -e; for t in $(ASAN_BIN); do echo "== $$t (ASan/UBSan)"; $$t; done

# ---- fuzzing (libFuzzer) ----
FUZZ_SRC = $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN = $(FUZZ_SRC:tests/fuzz/%.c=build/fuzz/%)
build/fuzz/%: tests/fuzz/%.c $(PROXY_SRC) $(HEADERS)
	@mkdir -p $(dir $@)
	$(CLANG) -std=c11 -g -O1 -Iproxy -Iauth -Iacl -Iaudit -fsanitize=fuzzer,address,undefined -o $@ $< $(PROXY_SRC) $(LDLIBS)

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

test: deps check-regen unit asan fuzz integration

certs:
	certs/mkcerts.sh build/certs

# ---- a working gateway in front of a local Kafka ----
run: deps all certs
	tests/kafka/kafka-bed.sh up $(KAFKA_VERSION)
	tests/demo/prepare.sh
	build/kafka-gateway run -c conf/gateway.json

bench: deps all
	tests/bench/bench.sh

# Authorization engine micro-benchmark (1,000-rule policy, decisions/s on
# one core); not part of `make test`.
build/bench/acl_bench: tests/bench/acl_bench.c $(PROXY_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

bench-acl: build/bench/acl_bench
	build/bench/acl_bench

clean:
	rm -rf build
