/* principal.h - client certificate identity and principal mapping rules
 * (see principal-t.h). Link with -lssl -lcrypto -lpcre2-8. */
#ifndef KG_PRINCIPAL_H
#define KG_PRINCIPAL_H

#include <stddef.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include "auth/principal-t.h"

/* Longest DN / principal name the gateway handles; a longer one is refused. */
#define KG_PRINCIPAL_MAX 1024

/*
 * Writes cert's subject DN as Java's X500Principal.getName() (RFC 2253)
 * prints it, which is the string Kafka's mapping rules see: most specific
 * RDN first, ',' between RDNs and '+' inside a multi-valued RDN (its AVAs
 * in encoded order), no spaces; keywords only for CN C L ST O OU STREET DC
 * UID, any other type as a dotted OID with the value as '#' + hex of its
 * DER; in string values ,=+<>#;"\ and leading/trailing spaces and CRs are
 * backslash-escaped, NUL becomes \00, other characters pass as UTF-8
 * (T61String read as Latin-1, BMPString as UCS-2: what JDK 25 prints; JDK
 * 17 instead misreads those two types' bytes as UTF-8).
 * Returns 0, or -1 (out = "") when the name does not fit in outlen, a value
 * is longer than KG_PRINCIPAL_MAX or not valid in its string type (fail
 * closed: Java would substitute U+FFFD), or cert is NULL.
 */
int kg_x509_subject_dn(X509 *cert, char *out, size_t outlen);

/* The same for any X509_NAME. */
int kg_x509_name_rfc2253(const X509_NAME *name, char *out, size_t outlen);

/*
 * Writes the first subjectAltName entry of `type` (GEN_DNS, GEN_EMAIL or
 * GEN_URI) as is. Returns 0, or -1 (out = "") when there is none, the type
 * is not one of those, the certificate has several SAN extensions, the
 * value holds a control or non-ASCII byte (a NUL would let "a\0.evil"
 * pass as "a"), or it does not fit in outlen.
 */
int kg_x509_san_first(X509 *cert, int type, char *out, size_t outlen);

/*
 * Parses and compiles rules[0..n) (each "DEFAULT" or
 * "RULE:pattern/replacement/" + optional "L" or "U", surrounding
 * whitespace ignored). Replacement syntax (Java's, as Kafka uses it):
 * "$N" inserts group N (N = 0 whole match; further digits are taken while
 * the number stays a valid group, so "$10" is group 1 then "0" when there
 * are fewer than 10 groups), "\c" inserts c literally (so "\\", "\$",
 * "\/"); a group that did not participate inserts nothing.
 * Returns NULL with a message in err, naming the rule by its 1-based
 * position, on: no rules, a malformed rule, a pattern pcre2 rejects (with
 * its offset and message), "$" without a number, "$N" beyond the pattern's
 * groups (Kafka would print "$N" literally: write "\$N" for that), or
 * allocation failure.
 */
struct kg_principal_rules *kg_principal_rules_compile(const char *const *rules, size_t n,
						      char *err, size_t errlen);

/*
 * Maps dn to a principal name (no "User:" prefix) with the first rule
 * whose pattern matches the whole dn. Returns 0, or -1 (out = "") when no
 * rule matches, the result is empty or does not fit in outlen, or a match
 * fails (invalid UTF-8, pcre2 match limit), or an L/U rule's result has
 * non-ASCII bytes (Java folds all of Unicode; we fold ASCII only, so we
 * refuse rather than produce another name): the caller refuses the
 * connection. Safe to call from many threads on the same rules.
 */
int kg_principal_map(const struct kg_principal_rules *r, const char *dn, char *out, size_t outlen);

void kg_principal_rules_free(struct kg_principal_rules *r);

#endif
