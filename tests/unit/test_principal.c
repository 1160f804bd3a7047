/*
 * test_principal.c - unit tests of auth/principal.c: subject DN in Java's
 * RFC 2253 form, SAN extraction, and ssl.principal.mapping.rules.
 *
 * Certificates are built here with OpenSSL and sent through DER and back, as
 * a peer's certificate arrives. The expected DN strings were checked against
 * X500Principal.getName() on JDK 25 (JDK 17 agrees except for the BMPString
 * and T61String cases, whose bytes it misreads as UTF-8), and the expected
 * rule results against Kafka 4.3.1's SslPrincipalMapper (which differs only
 * where we refuse on purpose: L/U on non-ASCII, the backtracking budget,
 * empty results). Run with KG_PRINCIPAL_DUMP=<dir> to get each certificate
 * as <dir>/<name>.pem to repeat that check.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "auth/principal.h"

/* ---- building certificates ---- */

/* One attribute of a subject name, in encoding order. */
struct ava {
	const char *field;           /* short name or dotted OID, e.g. "CN" */
	int type;                    /* MBSTRING_UTF8 or a V_ASN1_* string type */
	const char *val;             /* value bytes */
	int len;                     /* value length, -1 for strlen */
	int join;                    /* 1: same RDN as the previous attribute */
};

/* One subjectAltName entry. */
struct san {
	int type;                    /* GEN_DNS, GEN_EMAIL, GEN_URI */
	const char *val;             /* value bytes */
	int len;                     /* value length, -1 for strlen */
};

static EVP_PKEY *g_key;

static X509_NAME *make_name(const struct ava *a, size_t na)
{
	X509_NAME *nm = X509_NAME_new();
	assert_non_null(nm);
	for (size_t i = 0; i < na; i++)
		assert_true(X509_NAME_add_entry_by_txt(nm, a[i].field, a[i].type,
						       (const unsigned char *)a[i].val, a[i].len, -1,
						       a[i].join ? -1 : 0));
	return nm;
}

static X509 *make_cert(const char *name, const struct ava *a, size_t na, const struct san *s,
		       size_t ns)
{
	X509 *x = X509_new();
	assert_non_null(x);
	assert_true(X509_set_version(x, 2));
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_NAME *nm = make_name(a, na);
	assert_true(X509_set_subject_name(x, nm));
	assert_true(X509_set_issuer_name(x, nm));
	X509_NAME_free(nm);
	assert_true(X509_set_pubkey(x, g_key));
	if (ns) {
		GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
		for (size_t i = 0; i < ns; i++) {
			GENERAL_NAME *g = GENERAL_NAME_new();
			ASN1_IA5STRING *v = ASN1_IA5STRING_new();
			assert_true(ASN1_STRING_set(v, s[i].val, s[i].len));  /* -1: strlen */
			GENERAL_NAME_set0_value(g, s[i].type, v);
			sk_GENERAL_NAME_push(gens, g);
		}
		assert_true(X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT));
		GENERAL_NAMES_free(gens);
	}
	assert_true(X509_sign(x, g_key, EVP_sha256()) > 0);

	/* Through DER and back: the SET OF in a multi-valued RDN gets its DER
	 * order, which is what a peer sends and what Java prints. */
	unsigned char *der = NULL;
	int n = i2d_X509(x, &der);
	assert_true(n > 0);
	const unsigned char *p = der;
	X509 *y = d2i_X509(NULL, &p, n);
	assert_non_null(y);
	OPENSSL_free(der);
	X509_free(x);

	const char *dir = getenv("KG_PRINCIPAL_DUMP");
	if (dir) {
		char path[512];
		snprintf(path, sizeof(path), "%s/%s.pem", dir, name);
		FILE *f = fopen(path, "w");
		assert_non_null(f);
		PEM_write_X509(f, y);
		fclose(f);
	}
	return y;
}

static int setup_key(void **state)
{
	(void)state;
	g_key = EVP_EC_gen("P-256");
	return g_key ? 0 : -1;
}

static int teardown_key(void **state)
{
	(void)state;
	EVP_PKEY_free(g_key);
	return 0;
}

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define U8 MBSTRING_UTF8

/* ---- subject DN ---- */

struct dn_case {
	const char *name;            /* test name, also the dump file name */
	struct ava ava[6];           /* subject, encoding order (least specific first) */
	size_t n;                    /* attributes used */
	const char *want;            /* Java's X500Principal.getName(), NULL: refused */
};

static const struct dn_case dn_cases[] = {
	{ "basic", { { "C", U8, "US", -1, 0 }, { "O", U8, "kafka-gateway-dev", -1, 0 },
		     { "OU", U8, "eng", -1, 0 }, { "CN", U8, "alice", -1, 0 } }, 4,
	  "CN=alice,OU=eng,O=kafka-gateway-dev,C=US" },
	{ "specials", { { "O", U8, "Sue, Grabbit and Runn", -1, 0 },
			{ "CN", U8, "a+b\"c\\d<e>f;g=h#i", -1, 0 } }, 2,
	  "CN=a\\+b\\\"c\\\\d\\<e\\>f\\;g\\=h\\#i,O=Sue\\, Grabbit and Runn" },
	{ "spaces", { { "O", U8, "  two lead, two trail  ", -1, 0 },
		      { "CN", U8, "#hash", -1, 0 } }, 2,
	  "CN=\\#hash,O=\\ \\ two lead\\, two trail\\ \\ " },
	{ "controls", { { "CN", U8, "a\r\tb\x01 \r", -1, 0 } }, 1, "CN=a\r\tb\x01\\ \\\r" },
	{ "nul", { { "CN", U8, "a\0b", 3, 0 } }, 1, "CN=a\\00b" },
	{ "multivalued", { { "DC", U8, "example", -1, 0 }, { "O", U8, "acme", -1, 0 },
			   { "UID", U8, "42", -1, 0 }, { "CN", U8, "alice", -1, 1 },
			   { "OU", U8, "eng", -1, 0 } }, 5,
	  "OU=eng,CN=alice+UID=42,O=acme,DC=example" },
	{ "oid_types", { { "O", U8, "acme", -1, 0 }, { "serialNumber", U8, "123", -1, 0 },
			 { "emailAddress", U8, "alice@example.com", -1, 0 },
			 { "street", U8, "1 Main St", -1, 0 }, { "L", U8, "Paris", -1, 0 } }, 5,
	  "L=Paris,STREET=1 Main St,1.2.840.113549.1.9.1=#1611616c696365406578616d706c652e636f6d,"
	  "2.5.4.5=#1303313233,O=acme" },
	{ "utf8", { { "CN", U8, "Zo\xc3\xab \xe2\x82\xac \xf0\x9f\x94\x91", -1, 0 } }, 1,
	  "CN=Zo\xc3\xab \xe2\x82\xac \xf0\x9f\x94\x91" },
	{ "t61_latin1", { { "CN", V_ASN1_T61STRING, "caf\xe9", -1, 0 } }, 1, "CN=caf\xc3\xa9" },
	{ "bmp", { { "CN", V_ASN1_BMPSTRING, "\0Z\0o\0\xeb\x20\xac", 8, 0 } }, 1,
	  "CN=Zo\xc3\xab\xe2\x82\xac" },
	{ "numeric_hex", { { "CN", V_ASN1_NUMERICSTRING, "12", -1, 0 } }, 1, "CN=#12023132" },
	{ "ia5_non_ascii", { { "CN", V_ASN1_IA5STRING, "caf\xe9", -1, 0 } }, 1, NULL },
	{ "utf8_invalid", { { "CN", V_ASN1_UTF8STRING, "a\xc3(", -1, 0 } }, 1, NULL },
	{ "utf8_overlong", { { "CN", V_ASN1_UTF8STRING, "\xc0\xaf", -1, 0 } }, 1, NULL },
};

static void test_dn_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(dn_cases); i++) {
		const struct dn_case *c = &dn_cases[i];
		char out[512];
		int rc;
		if (c->want == NULL) {
			/* OpenSSL will not encode (nor parse) a name whose strings it
			 * cannot convert to UTF-8, so these never come from a peer;
			 * check the refusal on the in-memory name. */
			X509_NAME *nm = make_name(c->ava, c->n);
			rc = kg_x509_name_rfc2253(nm, out, sizeof(out));
			X509_NAME_free(nm);
		} else {
			X509 *x = make_cert(c->name, c->ava, c->n, NULL, 0);
			rc = kg_x509_subject_dn(x, out, sizeof(out));
			X509_free(x);
		}
		if (c->want) {
			if (rc != 0 || strcmp(out, c->want) != 0)
				print_error("case %s: got rc %d \"%s\"\n", c->name, rc, out);
			assert_int_equal(rc, 0);
			assert_string_equal(out, c->want);
		} else {
			if (rc != -1)
				print_error("case %s: accepted as \"%s\"\n", c->name, out);
			assert_int_equal(rc, -1);
			assert_string_equal(out, "");
		}
	}
}

static void test_dn_differs_from_openssl_rfc2253(void **state)
{
	/* Why we format ourselves: XN_FLAG_RFC2253 escapes neither '=' nor a
	 * '#' after the first character, and reverses the AVAs of an RDN. */
	(void)state;
	const struct ava a[] = { { "UID", U8, "42", -1, 0 }, { "CN", U8, "a=b#c", -1, 1 } };
	X509 *x = make_cert("openssl_differs", a, N(a), NULL, 0);
	BIO *b = BIO_new(BIO_s_mem());
	X509_NAME_print_ex(b, X509_get_subject_name(x), 0, XN_FLAG_RFC2253);
	char ossl[128] = { 0 };
	BIO_read(b, ossl, sizeof(ossl) - 1);
	BIO_free(b);
	char out[128];
	assert_int_equal(kg_x509_subject_dn(x, out, sizeof(out)), 0);
	assert_string_equal(out, "CN=a\\=b\\#c+UID=42");
	assert_string_equal(ossl, "UID=42+CN=a=b#c");
	X509_free(x);
}

static void test_dn_bounds(void **state)
{
	(void)state;
	const struct ava a[] = { { "O", U8, "acme", -1, 0 }, { "CN", U8, "alice", -1, 0 } };
	X509 *x = make_cert("bounds", a, N(a), NULL, 0);
	const char *want = "CN=alice,O=acme";
	char out[64];
	memset(out, 'x', sizeof(out));
	assert_int_equal(kg_x509_subject_dn(x, out, strlen(want) + 1), 0);
	assert_string_equal(out, want);
	memset(out, 'x', sizeof(out));
	assert_int_equal(kg_x509_subject_dn(x, out, strlen(want)), -1);
	assert_string_equal(out, "");
	assert_int_equal(kg_x509_subject_dn(x, out, 0), -1);
	assert_int_equal(kg_x509_subject_dn(NULL, out, sizeof(out)), -1);
	assert_string_equal(out, "");

	/* An empty subject is an empty DN, as in Java. */
	X509 *e = make_cert("empty_subject", NULL, 0, NULL, 0);
	assert_int_equal(kg_x509_subject_dn(e, out, sizeof(out)), 0);
	assert_string_equal(out, "");
	X509_free(e);
	X509_free(x);
}

/* ---- subjectAltName ---- */

static void test_san_first(void **state)
{
	(void)state;
	const struct ava a[] = { { "CN", U8, "alice", -1, 0 } };
	const struct san s[] = {
		{ GEN_DNS, "alice.example.com", -1 }, { GEN_EMAIL, "alice@example.com", -1 },
		{ GEN_DNS, "second.example.com", -1 }, { GEN_URI, "spiffe://acme/ns/a/sa/alice", -1 },
	};
	X509 *x = make_cert("san", a, N(a), s, N(s));
	char out[64];
	assert_int_equal(kg_x509_san_first(x, GEN_DNS, out, sizeof(out)), 0);
	assert_string_equal(out, "alice.example.com");
	assert_int_equal(kg_x509_san_first(x, GEN_EMAIL, out, sizeof(out)), 0);
	assert_string_equal(out, "alice@example.com");
	assert_int_equal(kg_x509_san_first(x, GEN_URI, out, sizeof(out)), 0);
	assert_string_equal(out, "spiffe://acme/ns/a/sa/alice");
	/* Not a type we extract; and a buffer one byte short. */
	assert_int_equal(kg_x509_san_first(x, GEN_IPADD, out, sizeof(out)), -1);
	assert_string_equal(out, "");
	assert_int_equal(kg_x509_san_first(x, GEN_DNS, out, strlen("alice.example.com")), -1);
	assert_string_equal(out, "");
	assert_int_equal(kg_x509_san_first(x, GEN_DNS, out, strlen("alice.example.com") + 1), 0);
	X509_free(x);

	/* No SAN extension at all; a SAN without the asked type. */
	X509 *y = make_cert("no_san", a, N(a), NULL, 0);
	assert_int_equal(kg_x509_san_first(y, GEN_DNS, out, sizeof(out)), -1);
	X509_free(y);
	const struct san only_dns[] = { { GEN_DNS, "a.example", 9 } };
	X509 *z = make_cert("san_dns_only", a, N(a), only_dns, 1);
	assert_int_equal(kg_x509_san_first(z, GEN_URI, out, sizeof(out)), -1);
	assert_int_equal(kg_x509_san_first(NULL, GEN_DNS, out, sizeof(out)), -1);
	X509_free(z);
}

static void test_san_refuses_hidden_bytes(void **state)
{
	/* "admin\0.evil.com" must not pass as "admin"; and being the first DNS
	 * SAN, the clean second one is not used instead either. */
	(void)state;
	const struct ava a[] = { { "CN", U8, "x", -1, 0 } };
	const struct san s[] = { { GEN_DNS, "admin\0.evil.com", 15 }, { GEN_DNS, "ok.example", 10 },
				 { GEN_EMAIL, "a\nb@example.com", 15 } };
	X509 *x = make_cert("san_nul", a, N(a), s, N(s));
	char out[64];
	assert_int_equal(kg_x509_san_first(x, GEN_DNS, out, sizeof(out)), -1);
	assert_string_equal(out, "");
	assert_int_equal(kg_x509_san_first(x, GEN_EMAIL, out, sizeof(out)), -1);
	X509_free(x);
}

/* ---- mapping rules ---- */

struct map_case {
	const char *rules[4];        /* rules, NULL-terminated */
	const char *dn;              /* input DN */
	const char *want;            /* principal name, NULL: -1 */
};

static const struct map_case map_cases[] = {
	/* The examples of Kafka's documentation. */
	{ { "RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/" },
	  "CN=kafka-broker1,OU=ServiceUsers,O=Org,C=US", "kafka-broker1" },
	{ { "RULE:^CN=(.*?),OU=(.*?),O=(.*?),L=(.*?),ST=(.*?),C=(.*?)$/$1@$2/L" },
	  "CN=Duke,OU=JavaSoft,O=Sun Microsystems,L=Santa Clara,ST=CA,C=US", "duke@javasoft" },
	{ { "RULE:^.*[Cc][Nn]=([a-zA-Z0-9.]*).*$/$1/L" }, "OU=x,cn=Adam.Smith,O=y", "adam.smith" },
	{ { "RULE:^.*[Cc][Nn]=([a-zA-Z0-9.]*).*$/$1/U" }, "CN=Adam.Smith,O=y", "ADAM.SMITH" },
	{ { "DEFAULT" }, "CN=alice,OU=eng,O=kafka-gateway-dev", "CN=alice,OU=eng,O=kafka-gateway-dev" },
	/* First match wins; DEFAULT as the fallback; no match at all. */
	{ { "RULE:^CN=(.*?),OU=ServiceUsers.*$/svc-$1/", "RULE:^CN=([^,]*),.*$/$1/", "DEFAULT" },
	  "CN=bob,OU=ServiceUsers,O=x", "svc-bob" },
	{ { "RULE:^CN=(.*?),OU=ServiceUsers.*$/svc-$1/", "RULE:^CN=([^,]*),.*$/$1/", "DEFAULT" },
	  "CN=bob,OU=people,O=x", "bob" },
	{ { "RULE:^CN=(.*?),OU=ServiceUsers.*$/svc-$1/", "RULE:^CN=([^,]*),.*$/$1/", "DEFAULT" },
	  "O=x", "O=x" },
	{ { "RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/", "RULE:^CN=admin$/root/" }, "CN=alice,O=x", NULL },
	/* The whole DN must match: a prefix or a substring is not enough. */
	{ { "RULE:CN=alice/x/" }, "CN=alice,O=x", NULL },
	{ { "RULE:O=x/x/" }, "CN=alice,O=x", NULL },
	{ { "RULE:CN=([a-z]*),O=x/$1/" }, "CN=alice,O=x", "alice" },
	/* Replacement syntax: escapes, $0, greedy group numbers, unset group. */
	{ { "RULE:^CN=(.*)$/a\\/b\\\\c\\$d$1/U" }, "CN=Bob", "A/B\\C$DBOB" },
	{ { "RULE:^CN=(.*)$/$1\\n/" }, "CN=Bob", "Bobn" },
	{ { "RULE:^CN=(.*)$/<$0>/" }, "CN=Bob", "<CN=Bob>" },
	{ { "RULE:^CN=(.*)$/$10/" }, "CN=Bob", "Bob0" },
	{ { "RULE:^(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)$/$10-$1/" }, "abcdefghij", "j-a" },
	{ { "RULE:^CN=(x)?(.*)$/[$1]$2/" }, "CN=a", "[]a" },
	{ { "RULE:^CN=(.*)\\/x$/$1/" }, "CN=a/x", "a" },
	/* Java's replaceAll walk for patterns that also match elsewhere. */
	{ { "RULE:(.*?)/x$1/" }, "ab", "xaxbx" },
	{ { "RULE:(.*)/[$1]/" }, "ab", "[ab][]" },
	{ { "RULE:([a-z]+)=?/<$1>/" }, "cn=", "<cn>" },
	/* Surrounding whitespace is ignored, as in Kafka's list. */
	{ { "  RULE:^CN=(.*)$/$1/L \t" }, "CN=Bob", "bob" },
	{ { " DEFAULT " }, "CN=Bob", "CN=Bob" },
	/* Empty result; empty DN. */
	{ { "RULE:^CN=(a)$//" }, "CN=a", NULL },
	{ { "DEFAULT" }, "", NULL },
	/* Non-ASCII: kept as is, but refused when it would need case folding. */
	{ { "RULE:^CN=(.*)$/$1/" }, "CN=Zo\xc3\xab", "Zo\xc3\xab" },
	{ { "RULE:^CN=(.*)$/$1/L" }, "CN=Zo\xc3\xab", NULL },
	{ { "RULE:^CN=(.)(.*)$/$2/" }, "CN=\xc3\xa9t\xc3\xa9", "t\xc3\xa9" },
	/* Invalid UTF-8 in the DN: refused, DEFAULT is not reached. */
	{ { "RULE:^CN=b$/b/", "DEFAULT" }, "CN=a\xff", NULL },
	/* A pattern that exceeds the backtracking budget refuses the DN rather
	 * than falling through to a later rule. */
	{ { "RULE:^(a|aa)+$/x/", "DEFAULT" }, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab", NULL },
};

static size_t count_rules(const char *const *r)
{
	size_t n = 0;
	while (n < 4 && r[n])
		n++;
	return n;
}

static void test_map_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(map_cases); i++) {
		const struct map_case *c = &map_cases[i];
		char err[256] = "";
		struct kg_principal_rules *r =
			kg_principal_rules_compile(c->rules, count_rules(c->rules), err, sizeof(err));
		if (r == NULL)
			print_error("case %zu: %s\n", i, err);
		assert_non_null(r);
		char out[256];
		int rc = kg_principal_map(r, c->dn, out, sizeof(out));
		if (c->want) {
			if (rc != 0 || strcmp(out, c->want) != 0)
				print_error("case %zu (%s): got %d \"%s\"\n", i, c->rules[0], rc, out);
			assert_int_equal(rc, 0);
			assert_string_equal(out, c->want);
		} else {
			if (rc != -1)
				print_error("case %zu (%s): got \"%s\"\n", i, c->rules[0], out);
			assert_int_equal(rc, -1);
			assert_string_equal(out, "");
		}
		kg_principal_rules_free(r);
	}
}

static void test_map_bounds(void **state)
{
	(void)state;
	const char *rules[] = { "RULE:^CN=([^,]*).*$/$1-$1/", "DEFAULT" };
	struct kg_principal_rules *r = kg_principal_rules_compile(rules, 2, NULL, 0);
	assert_non_null(r);
	char out[16];
	/* "alice-alice" is 11 bytes: fits in 12, refused (not cut) in 11. */
	assert_int_equal(kg_principal_map(r, "CN=alice,O=x", out, 12), 0);
	assert_string_equal(out, "alice-alice");
	memset(out, 'x', sizeof(out));
	assert_int_equal(kg_principal_map(r, "CN=alice,O=x", out, 11), -1);
	assert_string_equal(out, "");
	/* Same for DEFAULT. */
	assert_int_equal(kg_principal_map(r, "O=0123456789abc", out, sizeof(out)), 0);
	assert_int_equal(kg_principal_map(r, "O=0123456789abcd", out, sizeof(out)), -1);
	assert_string_equal(out, "");
	assert_int_equal(kg_principal_map(r, "CN=a", out, 0), -1);
	assert_int_equal(kg_principal_map(r, NULL, out, sizeof(out)), -1);
	assert_int_equal(kg_principal_map(NULL, "CN=a", out, sizeof(out)), -1);
	kg_principal_rules_free(r);
	kg_principal_rules_free(NULL);
}

struct bad_case {
	const char *rules[3];        /* rules, NULL-terminated */
	size_t n;                    /* rules passed (may include a NULL) */
	const char *err;             /* exact message */
};

static const struct bad_case bad_cases[] = {
	{ { NULL }, 0, "no rules: list at least one (DEFAULT maps to the whole DN)" },
	{ { "DEFAULT", NULL }, 2, "rule 2: missing (NULL)" },
	{ { "   " }, 1, "rule 1: empty" },
	{ { "FOO" }, 1, "rule 1: expected DEFAULT or RULE:pattern/replacement/[L|U]" },
	{ { "default" }, 1, "rule 1: expected DEFAULT or RULE:pattern/replacement/[L|U]" },
	{ { "DEFAULT/L" }, 1, "rule 1: expected DEFAULT or RULE:pattern/replacement/[L|U]" },
	{ { "RULE:^CN=(.*)$" }, 1, "rule 1: pattern is not terminated by '/'" },
	{ { "RULE:^CN=(.*)$\\/" }, 1, "rule 1: pattern is not terminated by '/'" },
	{ { "DEFAULT", "RULE:^CN=(.*)$/$1" }, 2, "rule 2: replacement is not terminated by '/'" },
	{ { "RULE:^CN=(.*)$/$1\\/" }, 1, "rule 1: replacement is not terminated by '/'" },
	{ { "RULE:^CN=(.*)$/$1/Lxyz" }, 1,
	  "rule 1: unexpected \"Lxyz\" after the replacement (only L or U may follow)" },
	{ { "RULE:^CN=(.*)$/$1/ L" }, 1,
	  "rule 1: unexpected \" L\" after the replacement (only L or U may follow)" },
	{ { "RULE:^CN=(.*)$/$1/l" }, 1,
	  "rule 1: unexpected \"l\" after the replacement (only L or U may follow)" },
	{ { "RULE:^CN=(.*$/$1/" }, 1,
	  "rule 1: bad pattern at offset 8: missing closing parenthesis" },
	{ { "DEFAULT", "RULE:^CN=[a-/$1/" }, 2,
	  "rule 2: bad pattern at offset 7: missing terminating ] for character class" },
	{ { "RULE:^CN=(.*)$/$2/" }, 1,
	  "rule 1: replacement refers to $2 but the pattern has 1 capturing group" },
	{ { "RULE:^CN=a$/$1/" }, 1,
	  "rule 1: replacement refers to $1 but the pattern has 0 capturing groups" },
	{ { "RULE:^CN=(a)$/$/" }, 1,
	  "rule 1: '$' in the replacement must be followed by a group number (write \\$ for a "
	  "literal '$')" },
	{ { "RULE:^CN=(?<x>a)$/${x}/" }, 1,
	  "rule 1: '$' in the replacement must be followed by a group number (write \\$ for a "
	  "literal '$')" },
};

static void test_compile_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(bad_cases); i++) {
		const struct bad_case *c = &bad_cases[i];
		char err[256] = "";
		struct kg_principal_rules *r = kg_principal_rules_compile(c->rules, c->n, err, sizeof(err));
		if (r != NULL || strcmp(err, c->err) != 0)
			print_error("case %zu: got \"%s\"\n", i, err);
		assert_null(r);
		assert_string_equal(err, c->err);
	}
	/* A short error buffer is cut, not overrun; no buffer is fine too. */
	const char *bad[] = { "FOO" };
	char err[8];
	assert_null(kg_principal_rules_compile(bad, 1, err, sizeof(err)));
	assert_string_equal(err, "rule 1:");
	assert_null(kg_principal_rules_compile(bad, 1, NULL, 0));
}

/* ---- concurrency ---- */

struct worker_arg {
	const struct kg_principal_rules *r; /* shared rules */
	int id;                      /* thread number, makes the DNs differ */
	int bad;                     /* wrong results seen */
};

static void *map_worker(void *p)
{
	struct worker_arg *a = p;
	char dn[64], want[32], out[64];
	for (int i = 0; i < 20000; i++) {
		snprintf(dn, sizeof(dn), "CN=User%d-%d,OU=eng,O=acme", a->id, i);
		snprintf(want, sizeof(want), "user%d-%d@eng", a->id, i);
		if (kg_principal_map(a->r, dn, out, sizeof(out)) != 0 || strcmp(out, want) != 0)
			a->bad++;
	}
	return NULL;
}

static void test_map_concurrent(void **state)
{
	(void)state;
	const char *rules[] = { "RULE:^CN=([^,]*),OU=(.*?),O=acme$/$1@$2/L" };
	struct kg_principal_rules *r = kg_principal_rules_compile(rules, 1, NULL, 0);
	assert_non_null(r);
	pthread_t t[8];
	struct worker_arg a[8];
	for (int i = 0; i < 8; i++) {
		a[i] = (struct worker_arg){ r, i, 0 };
		assert_int_equal(pthread_create(&t[i], NULL, map_worker, &a[i]), 0);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(a[i].bad, 0);
	}
	kg_principal_rules_free(r);
}

/* ---- end to end ---- */

static void test_cert_to_principal(void **state)
{
	(void)state;
	const struct ava a[] = { { "O", U8, "kafka-gateway-dev", -1, 0 }, { "OU", U8, "eng", -1, 0 },
				 { "CN", U8, "Alice", -1, 0 } };
	X509 *x = make_cert("e2e", a, N(a), NULL, 0);
	const char *rules[] = { "RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/",
				"RULE:^CN=([^,]*),OU=eng,O=kafka-gateway-dev$/$1/L" };
	struct kg_principal_rules *r = kg_principal_rules_compile(rules, 2, NULL, 0);
	assert_non_null(r);
	char dn[KG_PRINCIPAL_MAX], name[KG_PRINCIPAL_MAX];
	assert_int_equal(kg_x509_subject_dn(x, dn, sizeof(dn)), 0);
	assert_int_equal(kg_principal_map(r, dn, name, sizeof(name)), 0);
	assert_string_equal(name, "alice");
	kg_principal_rules_free(r);
	X509_free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dn_table),
		cmocka_unit_test(test_dn_differs_from_openssl_rfc2253),
		cmocka_unit_test(test_dn_bounds),
		cmocka_unit_test(test_san_first),
		cmocka_unit_test(test_san_refuses_hidden_bytes),
		cmocka_unit_test(test_map_table),
		cmocka_unit_test(test_map_bounds),
		cmocka_unit_test(test_compile_errors),
		cmocka_unit_test(test_map_concurrent),
		cmocka_unit_test(test_cert_to_principal),
	};
	return cmocka_run_group_tests(tests, setup_key, teardown_key);
}
