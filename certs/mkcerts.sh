#!/usr/bin/env bash
# Development PKI for kafka-gateway: a CA and, signed by it, the gateway's server certificate,
# mTLS client certificates (good, expired, revoked, other CA), a CRL and the brokers' keystore.
# FOR TESTS AND LOCAL USE ONLY: keys are unencrypted and passwords are public.
#
#   certs/mkcerts.sh [--force] [OUTDIR]        (default OUTDIR: build/certs)
#   certs/mkcerts.sh --renew-server [OUTDIR]   issue a new server.pem/server.key (new key, new
#                                              serial) from the existing CA, e.g. to test reload
#   certs/mkcerts.sh --revoke NAME [OUTDIR]    revoke NAME.pem and rewrite crl.pem (tests; the
#                                              next plain run then regenerates everything)
#
# Without --force, an OUTDIR whose files are all present and still verify is left as it is.
# Environment: MKCERTS_KEY=ec (default, P-256) or rsa (2048 bits).
#
# Files (PEM unless said otherwise; keystore password "changeit"):
#   ca.pem ca.key                 the development CA (825 days)
#   server.pem                    gateway certificate + CA chain; SANs localhost, 127.0.0.1,
#                                 bootstrap.kafka.local, *.kafka.local, broker-{1,2,3}.kafka.local
#   server.crt                    gateway certificate alone
#   server.key                    its key, unencrypted PKCS#8
#   server-enc.key server-key.pass  the same key as AES-256 encrypted PKCS#8, and its password
#   NAME.pem NAME.key NAME.p12    client certs: alice (CN=alice,OU=eng,O=kafka-gateway-dev; RFC 2253
#                                 order), bob (CN=bob,OU=ops,...),
#                                 expired (notAfter in the past), revoked (listed in crl.pem),
#                                 wrongca (signed by wrongca-ca.pem, a CA nobody trusts)
#   crl.pem                       CRL of the CA, revokes revoked.pem
#   truststore.p12                PKCS#12 truststore with ca.pem (made by keytool, for Java)
#   broker.p12                    keystore for the brokers' own SSL listener (CN=broker,
#                                 SAN localhost, 127.0.0.1)
set -euo pipefail

FORCE=0 RENEW=0 REVOKE="" OUT=""
while [ $# -gt 0 ]; do
    a="$1"; shift
    case "$a" in
        --force) FORCE=1 ;;
        --renew-server) RENEW=1 ;;
        --revoke) [ $# -ge 1 ] || { echo "mkcerts: --revoke needs a NAME" >&2; exit 2; }; REVOKE="$1"; shift ;;
        -h|--help) sed -n '2,/^set -e/p' "$0" | sed -n 's/^# \{0,1\}//p'; exit 0 ;;
        -*) echo "mkcerts: unknown option $a" >&2; exit 2 ;;
        *) [ -z "$OUT" ] || { echo "mkcerts: one OUTDIR only" >&2; exit 2; }; OUT="$a" ;;
    esac
done
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${OUT:-$REPO/build/certs}"
KEYTYPE="${MKCERTS_KEY:-ec}"
PASS=changeit
DAYS=825
ORG="O=kafka-gateway-dev"

die() { echo "mkcerts: error: $*" >&2; exit 1; }
command -v openssl >/dev/null || die "openssl not found"

newkey() { # newkey FILE : unencrypted PKCS#8 private key
    case "$KEYTYPE" in
        ec)  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null ;;
        rsa) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1" 2>/dev/null ;;
        *) die "MKCERTS_KEY must be ec or rsa" ;;
    esac
    chmod 600 "$1"
}

# openssl ca configuration (database in OUTDIR/ca-db, random serials, same subject may be reissued)
write_ca_conf() { # write_ca_conf DBDIR CAPREFIX
    local db="$1" ca="$2"
    mkdir -p "$db"
    touch "$db/index.txt"
    echo "unique_subject = no" > "$db/index.txt.attr"
    cat > "$db/ca.cnf" <<EOF
[ ca ]
default_ca = dev_ca
[ dev_ca ]
dir = $db
database = \$dir/index.txt
new_certs_dir = \$dir
certificate = $ca.pem
private_key = $ca.key
rand_serial = yes
crlnumber = \$dir/crlnumber
default_md = sha256
default_days = $DAYS
default_crl_days = $DAYS
policy = any
preserve = yes
copy_extensions = none
[ any ]
organizationName = optional
organizationalUnitName = optional
commonName = supplied
[ server_ext ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = DNS:localhost, IP:127.0.0.1, DNS:bootstrap.kafka.local, DNS:*.kafka.local, DNS:broker-1.kafka.local, DNS:broker-2.kafka.local, DNS:broker-3.kafka.local
[ broker_ext ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = DNS:localhost, IP:127.0.0.1
[ client_ext ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
    [ -f "$db/crlnumber" ] || echo 1000 > "$db/crlnumber"
}

make_ca() { # make_ca PREFIX SUBJECT
    newkey "$1.key"
    openssl req -x509 -new -key "$1.key" -sha256 -days "$DAYS" -subj "$2" -out "$1.pem" \
        -addext "basicConstraints=critical,CA:true" -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -addext "subjectKeyIdentifier=hash"
}

issue() { # issue DBDIR NAME SUBJECT EXT [extra openssl ca args] : NAME.key + NAME.pem (cert only)
    local db="$1" name="$2" subj="$3" ext="$4"; shift 4
    newkey "$name.key"
    openssl req -new -key "$name.key" -subj "$subj" -out "$db/$(basename "$name").csr"
    openssl ca -batch -notext -config "$db/ca.cnf" -extensions "$ext" "$@" \
        -in "$db/$(basename "$name").csr" -out "$name.pem" 2>"$db/last.err" \
        || { cat "$db/last.err" >&2; die "signing $name failed"; }
}

p12() { # p12 NAME ALIAS CAFILE : NAME.p12 with key, cert and CA chain
    openssl pkcs12 -export -in "$1.pem" -inkey "$1.key" -certfile "$3" -name "$2" \
        -passout "pass:$PASS" -out "$1.p12"
}

issue_server() {
    issue "$OUT/ca-db" "$OUT/server" "/$ORG/OU=gateway/CN=localhost" server_ext
    cp "$OUT/server.pem" "$OUT/server.crt"
    cat "$OUT/ca.pem" >> "$OUT/server.pem"
    [ -s "$OUT/server-key.pass" ] || { openssl rand -hex 16 > "$OUT/server-key.pass"; chmod 600 "$OUT/server-key.pass"; }
    openssl pkcs8 -topk8 -v2 aes-256-cbc -in "$OUT/server.key" -out "$OUT/server-enc.key" \
        -passout "file:$OUT/server-key.pass"
    chmod 600 "$OUT/server-enc.key"
}

CLIENTS="alice bob expired revoked wrongca"
FILES="ca.pem ca.key server.pem server.crt server.key server-enc.key server-key.pass crl.pem
       truststore.p12 broker.p12 broker.pem broker.key wrongca-ca.pem"
for c in $CLIENTS; do FILES="$FILES $c.pem $c.key $c.p12"; done

valid() { # everything present, chains verify, CRL current, nothing expiring within a day
    local f
    for f in $FILES; do [ -s "$OUT/$f" ] || return 1; done
    local v=(openssl verify -CAfile "$OUT/ca.pem" -crl_check -CRLfile "$OUT/crl.pem")
    "${v[@]}" "$OUT/server.crt" "$OUT/alice.pem" "$OUT/bob.pem" "$OUT/broker.pem" >/dev/null 2>&1 || return 1
    ! "${v[@]}" "$OUT/revoked.pem" >/dev/null 2>&1 || return 1
    for f in ca.pem server.crt alice.pem bob.pem broker.pem; do
        openssl x509 -in "$OUT/$f" -noout -checkend 86400 >/dev/null || return 1
    done
    [ "$(openssl x509 -in "$OUT/server.crt" -noout -pubkey)" = "$(openssl pkey -in "$OUT/server.key" -pubout)" ]
}

summary() {
    echo "mkcerts: $1 in $OUT"
    printf '  %-34s %s\n' \
        "ca.pem ca.key" "development CA ($(openssl x509 -in "$OUT/ca.pem" -noout -enddate))" \
        "server.pem server.key" "gateway cert+chain, key (PKCS#8); serial $(openssl x509 -in "$OUT/server.crt" -noout -serial | cut -d= -f2)" \
        "server-enc.key server-key.pass" "same key, AES-256 encrypted, and its password" \
        "NAME.pem NAME.key NAME.p12" "mTLS clients alice bob expired revoked wrongca (p12 pass $PASS)" \
        "crl.pem" "CRL revoking revoked.pem" \
        "truststore.p12" "PKCS#12 truststore with ca.pem (pass $PASS, keytool)" \
        "broker.p12" "brokers' SSL keystore, CN=broker (pass $PASS)"
}

mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"

if [ "$RENEW" = 1 ] || [ -n "$REVOKE" ]; then
    [ -s "$OUT/ca.key" ] && [ -s "$OUT/ca.pem" ] || die "no CA in $OUT (run mkcerts.sh $OUT first)"
    write_ca_conf "$OUT/ca-db" "$OUT/ca"   # paths in ca.cnf are absolute: OUTDIR may be a copy
    if [ -n "$REVOKE" ]; then
        [ -s "$OUT/$REVOKE.pem" ] || die "no $OUT/$REVOKE.pem"
        openssl ca -batch -config "$OUT/ca-db/ca.cnf" -revoke "$OUT/$REVOKE.pem" 2>"$OUT/ca-db/last.err" \
            || grep -qi "already revoked" "$OUT/ca-db/last.err" || { cat "$OUT/ca-db/last.err" >&2; die "revoking $REVOKE failed"; }
        openssl ca -batch -config "$OUT/ca-db/ca.cnf" -gencrl -out "$OUT/crl.pem" 2>/dev/null
        echo "mkcerts: revoked $REVOKE.pem (serial $(openssl x509 -in "$OUT/$REVOKE.pem" -noout -serial | cut -d= -f2)); crl.pem rewritten"
    fi
    if [ "$RENEW" = 1 ]; then issue_server; summary "renewed server certificate"; fi
    exit 0
fi

if [ "$FORCE" = 0 ] && valid; then
    echo "mkcerts: $OUT is up to date (use --force to regenerate)"
    exit 0
fi

# (re)generate everything
rm -rf "$OUT/ca-db" "$OUT/wrongca-db"
for f in $FILES; do rm -f "$OUT/$f"; done
rm -f "$OUT/wrongca-ca.key"

make_ca "$OUT/ca" "/$ORG/CN=kafka-gateway dev CA"
write_ca_conf "$OUT/ca-db" "$OUT/ca"
issue_server
issue "$OUT/ca-db" "$OUT/broker" "/$ORG/OU=kafka/CN=broker" broker_ext
issue "$OUT/ca-db" "$OUT/alice" "/$ORG/OU=eng/CN=alice" client_ext
issue "$OUT/ca-db" "$OUT/bob" "/$ORG/OU=ops/CN=bob" client_ext
issue "$OUT/ca-db" "$OUT/expired" "/$ORG/OU=eng/CN=expired" client_ext \
    -startdate "$(date -u -d '-3 days' +%Y%m%d%H%M%SZ)" -enddate "$(date -u -d '-1 day' +%Y%m%d%H%M%SZ)"
issue "$OUT/ca-db" "$OUT/revoked" "/$ORG/OU=eng/CN=revoked" client_ext
openssl ca -batch -config "$OUT/ca-db/ca.cnf" -revoke "$OUT/revoked.pem" -crl_reason keyCompromise 2>/dev/null
openssl ca -batch -config "$OUT/ca-db/ca.cnf" -gencrl -out "$OUT/crl.pem" 2>/dev/null

# a second CA that nobody trusts, and a client cert (same subject style) signed by it
make_ca "$OUT/wrongca-ca" "/$ORG/CN=untrusted dev CA"
write_ca_conf "$OUT/wrongca-db" "$OUT/wrongca-ca"
issue "$OUT/wrongca-db" "$OUT/wrongca" "/$ORG/OU=eng/CN=wrongca" client_ext

for c in alice bob expired revoked; do p12 "$OUT/$c" "$c" "$OUT/ca.pem"; done
p12 "$OUT/wrongca" wrongca "$OUT/wrongca-ca.pem"
p12 "$OUT/broker" broker "$OUT/ca.pem"

if command -v keytool >/dev/null; then
    keytool -importcert -noprompt -storetype PKCS12 -alias kafka-gateway-dev-ca -file "$OUT/ca.pem" \
        -keystore "$OUT/truststore.p12" -storepass "$PASS" >/dev/null 2>&1 \
        || die "keytool could not create truststore.p12"
else
    echo "mkcerts: warning: keytool not found, truststore.p12 not created (Java clients need it)" >&2
fi

valid || die "generated files do not verify (bug in mkcerts.sh)"
summary "generated"
