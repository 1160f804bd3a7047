/*
 * test_sasl.c - unit tests of auth/sasl.c: SCRAM-SHA-256/512 and PLAIN
 * through kg_sasl_* against a real client.
 *
 * The client is cyrus-sasl's own client side (sasl_client_*), so our server
 * wrapper and an independent client implementation meet; it also checks the
 * server-final signature. Messages a well-behaved client never sends
 * (tokenauth, authzid mismatch, channel binding) and the benchmark use a
 * small hand-written SCRAM client whose ClientKey is computed once, so the
 * measured cost is the server's alone.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sasl/sasl.h>
#include <sasl/saslplug.h>

#include "auth/sasl.h"
#include "auth/users.h"

#define ALL_MECHS (KG_SASL_MECH_BIT(KG_SASL_SCRAM_SHA_256) | KG_SASL_MECH_BIT(KG_SASL_SCRAM_SHA_512) | \
		   KG_SASL_MECH_BIT(KG_SASL_PLAIN))
#define CB(f) ((sasl_callback_ft)(void (*)(void))(f))

static struct kg_users *g_users; /* the set tests run against */
static uint8_t g_salt512[KG_SCRAM_SALT_DEFAULT]; /* alice's SHA-512 salt */

/* ---- credential set ---- */

static void add_user(struct kg_users *u, const char *name, const char *pw, unsigned mechs,
		     uint8_t *salt512_out)
{
	struct kg_scram_cred c[KG_SCRAM_NMECH];
	memset(c, 0, sizeof(c));
	for (int m = 0; m < KG_SCRAM_NMECH; m++) {
		uint8_t salt[KG_SCRAM_SALT_DEFAULT];
		if (!(mechs & (1u << m)))
			continue;
		assert_int_equal(kg_scram_random_salt(salt, sizeof(salt)), 0);
		if (m == KG_SCRAM_SHA_512 && salt512_out)
			memcpy(salt512_out, salt, sizeof(salt));
		assert_int_equal(kg_scram_derive(m, pw, strlen(pw), salt, sizeof(salt), 4096, &c[m]), 0);
	}
	assert_int_equal(kg_users_put(u, name, c), 0);
}

static struct kg_users *make_users(const char *alice_pw)
{
	struct kg_users *u = kg_users_new();
	add_user(u, "alice", alice_pw, 3, g_salt512);
	add_user(u, "carol", "carolpw", 1, NULL); /* SCRAM-SHA-256 only */
	add_user(u, "we,ird=name", "weird", 3, NULL);
	add_user(u, " spaced ", "sp", 3, NULL);
	return u;
}

/* ---- cyrus client ---- */

static const char *c_user, *c_authz, *c_pass;

static int cli_simple(void *ctx, int id, const char **res, unsigned *len)
{
	(void)ctx;
	if (id == SASL_CB_AUTHNAME)
		*res = c_user;
	else if (id == SASL_CB_USER)
		*res = c_authz;
	else
		return SASL_FAIL;
	if (len)
		*len = (unsigned)strlen(*res);
	return SASL_OK;
}

static int cli_secret(sasl_conn_t *conn, void *ctx, int id, sasl_secret_t **ps)
{
	static union {
		sasl_secret_t s;
		char b[sizeof(sasl_secret_t) + 256];
	} sec;
	(void)conn;
	(void)ctx;
	(void)id;
	sec.s.len = strlen(c_pass);
	memcpy(sec.s.data, c_pass, sec.s.len + 1);
	*ps = &sec.s;
	return SASL_OK;
}

/* What one exchange did. */
struct result {
	int rc;                      /* last kg_sasl_step result */
	int steps;                   /* server steps run */
	int client_ok;               /* cyrus client accepted server-final */
	int unknown;                 /* kg_sasl_unknown_user */
	char first[512];             /* server-first message */
	char user[600];              /* kg_sasl_user */
	char reason[200];            /* kg_sasl_fail_reason */
};

static void cyrus_exchange(const char *mech, const char *user, const char *authz,
			   const char *pass, struct result *r)
{
	sasl_callback_t cbs[] = {
		{SASL_CB_AUTHNAME, CB(cli_simple), NULL},
		{SASL_CB_USER, CB(cli_simple), NULL},
		{SASL_CB_PASS, CB(cli_secret), NULL},
		{SASL_CB_LIST_END, NULL, NULL},
	};
	sasl_conn_t *cc;
	const char *out, *used;
	unsigned outl;
	char err[256];

	memset(r, 0, sizeof(*r));
	c_user = user;
	c_authz = authz;
	c_pass = pass;
	assert_int_equal(sasl_client_new("kafka", "localhost", NULL, NULL, cbs, 0, &cc), SASL_OK);
	int cr = sasl_client_start(cc, mech, NULL, &out, &outl, &used);
	assert_true(cr == SASL_CONTINUE || cr == SASL_OK);
	struct kg_sasl_sess *s = kg_sasl_new(mech, ALL_MECHS, err, sizeof(err));
	assert_non_null(s);
	const uint8_t *so;
	size_t sol;
	for (;;) {
		r->rc = kg_sasl_step(s, (const uint8_t *)out, outl, &so, &sol);
		r->steps++;
		if (r->rc == KG_SASL_FAIL) {
			assert_null(so);
			break;
		}
		if (r->steps == 1 && sol < sizeof(r->first))
			memcpy(r->first, so, sol);
		cr = sasl_client_step(cc, (const char *)so, (unsigned)sol, NULL, &out, &outl);
		if (r->rc == KG_SASL_DONE) {
			r->client_ok = cr == SASL_OK;
			break;
		}
		assert_int_equal(cr, SASL_CONTINUE);
	}
	snprintf(r->user, sizeof(r->user), "%s", kg_sasl_user(s));
	snprintf(r->reason, sizeof(r->reason), "%s", kg_sasl_fail_reason(s));
	r->unknown = kg_sasl_unknown_user(s);
	kg_sasl_free(s);
	sasl_dispose(&cc);
}

/* The s= value of a server-first message. */
static const char *salt_of(const char *first, char *out, size_t outlen)
{
	const char *s = strstr(first, ",s=");
	assert_non_null(s);
	s += 3;
	size_t n = strcspn(s, ",");
	assert_true(n < outlen);
	memcpy(out, s, n);
	out[n] = 0;
	return out;
}

/* ---- hand-written SCRAM client ---- */

struct mclient {
	int mech;                    /* enum kg_scram_mech */
	const EVP_MD *md;            /* its hash */
	size_t kl;                   /* hash size */
	uint8_t ck[64];              /* ClientKey, computed once */
	uint8_t sk[64];              /* StoredKey */
	uint8_t svk[64];             /* ServerKey */
	char gs2[64];                /* gs2 header sent */
	char bare[256];              /* client-first-bare sent */
	char am[1400];               /* AuthMessage of the last final */
};

static void mc_init(struct mclient *c, int mech, const char *pw, const uint8_t *salt, size_t sl)
{
	uint8_t sp[64];
	unsigned int l;
	memset(c, 0, sizeof(*c));
	c->mech = mech;
	c->md = mech == KG_SCRAM_SHA_512 ? EVP_sha512() : EVP_sha256();
	c->kl = kg_scram_keylen(mech);
	assert_int_equal(PKCS5_PBKDF2_HMAC(pw, (int)strlen(pw), salt, (int)sl, 4096, c->md, (int)c->kl, sp), 1);
	HMAC(c->md, sp, (int)c->kl, (const uint8_t *)"Client Key", 10, c->ck, &l);
	EVP_Digest(c->ck, c->kl, c->sk, &l, c->md, NULL);
	HMAC(c->md, sp, (int)c->kl, (const uint8_t *)"Server Key", 10, c->svk, &l);
}

/* client-first = gs2 + bare */
static size_t mc_first(struct mclient *c, const char *gs2, const char *bare, char *out, size_t cap)
{
	snprintf(c->gs2, sizeof(c->gs2), "%s", gs2);
	snprintf(c->bare, sizeof(c->bare), "%s", bare);
	int n = snprintf(out, cap, "%s%s", gs2, bare);
	return (size_t)n;
}

/* client-final for server-first sf, r= with prefix before the server's
 * nonce (librdkafka before 2.6.1 repeats its nonce there) */
static size_t mc_final_r(struct mclient *c, const uint8_t *sf, size_t sfl, const char *prefix,
			 char *out, size_t cap)
{
	char sfs[512], cb[64], wo[600], pb[100];
	uint8_t sig[64], proof[64];
	unsigned int l;
	assert_true(sfl < sizeof(sfs));
	memcpy(sfs, sf, sfl);
	sfs[sfl] = 0;
	assert_true(strncmp(sfs, "r=", 2) == 0);
	size_t nl = strcspn(sfs + 2, ",");
	kg_b64_encode((const uint8_t *)c->gs2, strlen(c->gs2), cb, sizeof(cb));
	snprintf(wo, sizeof(wo), "c=%s,r=%s%.*s", cb, prefix, (int)nl, sfs + 2);
	snprintf(c->am, sizeof(c->am), "%s,%s,%s", c->bare, sfs, wo);
	HMAC(c->md, c->sk, (int)c->kl, (const uint8_t *)c->am, strlen(c->am), sig, &l);
	for (size_t i = 0; i < c->kl; i++)
		proof[i] = c->ck[i] ^ sig[i];
	kg_b64_encode(proof, c->kl, pb, sizeof(pb));
	return (size_t)snprintf(out, cap, "%s,p=%s", wo, pb);
}

static size_t mc_final(struct mclient *c, const uint8_t *sf, size_t sfl, char *out, size_t cap)
{
	return mc_final_r(c, sf, sfl, "", out, cap);
}

/* Whether server-final v= is HMAC(ServerKey, AuthMessage) of the last final. */
static int mc_server_final_ok(const struct mclient *c, const uint8_t *v, size_t vl)
{
	uint8_t sig[64];
	char b[128];
	unsigned int l;
	HMAC(c->md, c->svk, (int)c->kl, (const uint8_t *)c->am, strlen(c->am), sig, &l);
	kg_b64_encode(sig, c->kl, b, sizeof(b));
	return vl == strlen(b) + 2 && memcmp(v, "v=", 2) == 0 && memcmp(v + 2, b, vl - 2) == 0;
}

/* Runs a server session over a crafted client-first. Returns the step
 * result and leaves the session in *sp (caller frees). */
static int server_first(const char *mech, const char *msg, struct kg_sasl_sess **sp,
			const uint8_t **so, size_t *sol)
{
	char err[256];
	*sp = kg_sasl_new(mech, ALL_MECHS, err, sizeof(err));
	assert_non_null(*sp);
	return kg_sasl_step(*sp, (const uint8_t *)msg, strlen(msg), so, sol);
}

/* CPU time of this thread: what the server costs on one core, without the
 * noise of being preempted on a busy machine. */
static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- tests: full exchanges ---- */

static void test_scram_success(void **state)
{
	(void)state;
	struct result r;
	cyrus_exchange("SCRAM-SHA-256", "alice", "", "secret", &r);
	assert_int_equal(r.rc, KG_SASL_DONE);
	assert_int_equal(r.steps, 2);
	assert_true(r.client_ok); /* cyrus client verified our ServerSignature */
	assert_string_equal(r.user, "alice");
	assert_string_equal(r.reason, "");
	assert_non_null(strstr(r.first, ",i=4096"));

	cyrus_exchange("SCRAM-SHA-512", "alice", "", "secret", &r);
	assert_int_equal(r.rc, KG_SASL_DONE);
	assert_int_equal(r.steps, 2);
	assert_true(r.client_ok);
	assert_string_equal(r.user, "alice");
	/* the salt served is alice's SHA-512 salt */
	char b64[64], got[64];
	kg_b64_encode(g_salt512, sizeof(g_salt512), b64, sizeof(b64));
	assert_string_equal(salt_of(r.first, got, sizeof(got)), b64);
}

static void test_scram_authzid_same(void **state)
{
	(void)state;
	struct result r;
	/* cyrus's client sends a=alice when an authzid is given */
	cyrus_exchange("SCRAM-SHA-512", "alice", "alice", "secret", &r);
	assert_int_equal(r.rc, KG_SASL_DONE);
	assert_string_equal(r.user, "alice");
}

static void test_scram_names_as_sent(void **state)
{
	(void)state;
	struct result r;
	/* =2C / =3D decoded; no trimming, no SASLprep, no case folding */
	cyrus_exchange("SCRAM-SHA-256", "we,ird=name", "", "weird", &r);
	assert_int_equal(r.rc, KG_SASL_DONE);
	assert_string_equal(r.user, "we,ird=name");
	/* Leading/trailing spaces: cyrus's built-in canonicaliser would trim
	 * them (its client side does, so our own client is used here). */
	struct mclient mc;
	char first[256], fin[512];
	const uint8_t *so;
	size_t sol;
	struct kg_sasl_sess *s;
	const struct kg_user *sp = kg_users_find(g_users, " spaced ");
	assert_non_null(sp);
	mc_init(&mc, KG_SCRAM_SHA_512, "sp", sp->cred[KG_SCRAM_SHA_512].salt,
		sp->cred[KG_SCRAM_SHA_512].saltlen);
	mc_first(&mc, "n,,", "n= spaced ,r=sp1", first, sizeof(first));
	assert_int_equal(server_first("SCRAM-SHA-512", first, &s, &so, &sol), KG_SASL_CONTINUE);
	size_t fl = mc_final(&mc, so, sol, fin, sizeof(fin));
	assert_int_equal(kg_sasl_step(s, (const uint8_t *)fin, fl, &so, &sol), KG_SASL_DONE);
	assert_string_equal(kg_sasl_user(s), " spaced ");
	kg_sasl_free(s);
	mc_first(&mc, "n,,", "n=spaced,r=sp2", first, sizeof(first));
	assert_int_equal(server_first("SCRAM-SHA-512", first, &s, &so, &sol), KG_SASL_CONTINUE);
	fl = mc_final(&mc, so, sol, fin, sizeof(fin));
	assert_int_equal(kg_sasl_step(s, (const uint8_t *)fin, fl, &so, &sol), KG_SASL_FAIL);
	kg_sasl_free(s);
	cyrus_exchange("SCRAM-SHA-512", "Alice", "", "secret", &r);
	assert_int_equal(r.rc, KG_SASL_FAIL);
}

static void test_scram_wrong_password(void **state)
{
	(void)state;
	struct result r;
	for (int m = 0; m < 2; m++) {
		cyrus_exchange(m ? "SCRAM-SHA-512" : "SCRAM-SHA-256", "alice", "", "wrong", &r);
		assert_int_equal(r.rc, KG_SASL_FAIL);
		assert_int_equal(r.steps, 2); /* server-first was sent */
		assert_int_equal(r.unknown, 0);
		assert_string_equal(r.user, "");
		assert_non_null(strstr(r.reason, "StoredKey mismatch"));
	}
}

static void test_scram_unknown_user(void **state)
{
	(void)state;
	struct result a, b, w;
	char s1[64], s2[64], sw[64];
	for (int m = 0; m < 2; m++) {
		const char *mech = m ? "SCRAM-SHA-512" : "SCRAM-SHA-256";
		cyrus_exchange(mech, "mallory", "", "secret", &a);
		cyrus_exchange(mech, "mallory", "", "other", &b);
		cyrus_exchange(mech, "alice", "", "wrong", &w);
		/* same step, same message shape as a wrong password */
		assert_int_equal(a.rc, KG_SASL_FAIL);
		assert_int_equal(a.steps, w.steps);
		assert_int_equal(a.unknown, 1);
		assert_non_null(strstr(a.first, ",i=4096"));
		/* the made-up salt is stable and as long as a real one */
		assert_string_equal(salt_of(a.first, s1, sizeof(s1)), salt_of(b.first, s2, sizeof(s2)));
		assert_int_equal(strlen(s1), strlen(salt_of(w.first, sw, sizeof(sw))));
		assert_int_equal(strlen(a.first), strlen(w.first));
	}
	/* carol has no SCRAM-SHA-512 credential: treated as unknown */
	cyrus_exchange("SCRAM-SHA-512", "carol", "", "carolpw", &a);
	assert_int_equal(a.rc, KG_SASL_FAIL);
	assert_int_equal(a.steps, 2);
	assert_int_equal(a.unknown, 1);
	cyrus_exchange("SCRAM-SHA-256", "carol", "", "carolpw", &a);
	assert_int_equal(a.rc, KG_SASL_DONE);
}

/* Per-step server time, unknown user against wrong password: the same
 * work is done, so the medians must be close. Loose bound (noise). */
static void test_scram_unknown_timing(void **state)
{
	(void)state;
	enum { N = 301 };
	static double t[2][N];
	struct mclient mc;
	mc_init(&mc, KG_SCRAM_SHA_512, "not-it", g_salt512, sizeof(g_salt512));
	for (int i = 0; i < N; i++) {
		for (int k = 0; k < 2; k++) {
			char first[256], fin[512], bare[64];
			const uint8_t *so;
			size_t sol;
			struct kg_sasl_sess *s;
			snprintf(bare, sizeof(bare), "n=%s,r=nonce%d", k ? "mallory" : "alice", i);
			mc_first(&mc, "n,,", bare, first, sizeof(first));
			double t0 = now_s();
			assert_int_equal(server_first("SCRAM-SHA-512", first, &s, &so, &sol), KG_SASL_CONTINUE);
			double t1 = now_s();
			size_t fl = mc_final(&mc, so, sol, fin, sizeof(fin));
			double t2 = now_s();
			assert_int_equal(kg_sasl_step(s, (const uint8_t *)fin, fl, &so, &sol), KG_SASL_FAIL);
			double t3 = now_s();
			kg_sasl_free(s);
			t[k][i] = (t1 - t0) + (t3 - t2);
		}
	}
	double med[2];
	for (int k = 0; k < 2; k++) {
		for (int i = 1; i < N; i++) /* insertion sort, N is small */
			for (int j = i; j > 0 && t[k][j - 1] > t[k][j]; j--) {
				double x = t[k][j];
				t[k][j] = t[k][j - 1];
				t[k][j - 1] = x;
			}
		med[k] = t[k][N / 2];
	}
	print_message("SCRAM-SHA-512 failed exchange, server time median: wrong password %.1f us, "
		      "unknown user %.1f us\n",
		      med[0] * 1e6, med[1] * 1e6);
	assert_true(med[1] < med[0] * 3 && med[0] < med[1] * 3);
}

/* ---- tests: Kafka's message rules ---- */

static void expect_first_fail(const char *mech, const char *msg, const char *why)
{
	struct kg_sasl_sess *s;
	const uint8_t *so;
	size_t sol;
	assert_int_equal(server_first(mech, msg, &s, &so, &sol), KG_SASL_FAIL);
	assert_null(so);
	assert_int_equal(sol, 0);
	if (strstr(kg_sasl_fail_reason(s), why) == NULL)
		fail_msg("'%s': reason '%s' lacks '%s'", msg, kg_sasl_fail_reason(s), why);
	/* a failed session stays failed */
	assert_int_equal(kg_sasl_step(s, (const uint8_t *)"x", 1, &so, &sol), KG_SASL_FAIL);
	kg_sasl_free(s);
}

static void test_scram_rules(void **state)
{
	(void)state;
	const char *m = "SCRAM-SHA-256";
	expect_first_fail(m, "n,,n=alice,r=abcdef,tokenauth=true", "tokenauth");
	expect_first_fail(m, "n,,n=alice,r=abcdef,x=1,tokenauth=false", "tokenauth");
	expect_first_fail(m, "n,a=bob,n=alice,r=abcdef", "authorization id differs");
	expect_first_fail(m, "n,a=alice,n=alicex,r=abcdef", "authorization id differs");
	expect_first_fail(m, "y,,n=alice,r=abcdef", "channel binding");
	expect_first_fail(m, "p=tls-unique,,n=alice,r=abcdef", "channel binding");
	expect_first_fail(m, "n,,m=ext,n=alice,r=abcdef", "mandatory extension");
	expect_first_fail(m, "n,,n=al=2Xice,r=abcdef", "malformed SCRAM user name");
	expect_first_fail(m, "n,,n=,r=abcdef", "malformed SCRAM user name");
	expect_first_fail(m, "n,,n=alice,r=", "empty SCRAM client nonce");
	expect_first_fail(m, "n,,n=alice,r=ab cd", "malformed SCRAM client nonce");
	expect_first_fail(m, "n,,n=alice", "without r=");
	expect_first_fail(m, "n,,r=abc,n=alice", "without n=");
	expect_first_fail(m, "n,,n=alice,r=abc,1=2", "malformed SCRAM extension");
	expect_first_fail(m, "", "empty SCRAM client-first");
	expect_first_fail(m, "n,a=,n=alice,r=abcdef", "malformed SCRAM authorization id");

	/* an unknown extension is ignored, as Kafka does */
	struct kg_sasl_sess *s;
	const uint8_t *so;
	size_t sol;
	assert_int_equal(server_first(m, "n,,n=alice,r=abcdef,foo=bar", &s, &so, &sol), KG_SASL_CONTINUE);
	kg_sasl_free(s);
	/* an escaped authzid equal to the user is fine */
	assert_int_equal(server_first(m, "n,a=we=2Cird=3Dname,n=we=2Cird=3Dname,r=abc", &s, &so, &sol),
			 KG_SASL_CONTINUE);
	kg_sasl_free(s);
	/* NUL inside */
	s = kg_sasl_new(m, ALL_MECHS, NULL, 0);
	assert_non_null(s);
	assert_int_equal(kg_sasl_step(s, (const uint8_t *)"n,,n=a\0b,r=abc", 14, &so, &sol), KG_SASL_FAIL);
	kg_sasl_free(s);
}

static void test_scram_final_rules(void **state)
{
	(void)state;
	struct mclient mc;
	char first[256], fin[512];
	const uint8_t *so;
	size_t sol;
	struct kg_sasl_sess *s;
	mc_init(&mc, KG_SCRAM_SHA_512, "secret", g_salt512, sizeof(g_salt512));

	/* our own client succeeds with a=alice ... */
	mc_first(&mc, "n,a=alice,", "n=alice,r=fyko+d2lbbFgONRv9qkxdawL", first, sizeof(first));
	assert_int_equal(server_first("SCRAM-SHA-512", first, &s, &so, &sol), KG_SASL_CONTINUE);
	size_t fl = mc_final(&mc, so, sol, fin, sizeof(fin));
	assert_int_equal(kg_sasl_step(s, (const uint8_t *)fin, fl, &so, &sol), KG_SASL_DONE);
	assert_true(sol > 2 && memcmp(so, "v=", 2) == 0);
	assert_string_equal(kg_sasl_user(s), "alice");
	/* nothing more after DONE */
	assert_int_equal(kg_sasl_step(s, (const uint8_t *)"x", 1, &so, &sol), KG_SASL_FAIL);
	kg_sasl_free(s);

	/* ... but c= must encode the gs2 header actually sent */
	mc_first(&mc, "n,,", "n=alice,r=fyko+d2lbbFgONRv9qkxdawL", first, sizeof(first));
	assert_int_equal(server_first("SCRAM-SHA-512", first, &s, &so, &sol), KG_SASL_CONTINUE);
	snprintf(mc.gs2, sizeof(mc.gs2), "n,a=alice,"); /* lie in client-final */
	fl = mc_final(&mc, so, sol, fin, sizeof(fin));
	assert_int_equal(kg_sasl_step(s, (const uint8_t *)fin, fl, &so, &sol), KG_SASL_FAIL);
	assert_non_null(strstr(kg_sasl_fail_reason(s), "c="));
	kg_sasl_free(s);

	/* a nonce that is not the server's fails in cyrus */
	mc_first(&mc, "n,,", "n=alice,r=abc", first, sizeof(first));
	assert_int_equal(server_first("SCRAM-SHA-512", first, &s, &so, &sol), KG_SASL_CONTINUE);
	const char *bad = "c=biws,r=abcXXXX,p=AAAA";
	assert_int_equal(kg_sasl_step(s, (const uint8_t *)bad, strlen(bad), &so, &sol), KG_SASL_FAIL);
	kg_sasl_free(s);
}

/* ---- tests: PLAIN ---- */

static int plain(const char *msg, size_t len, char *user_out, struct kg_sasl_sess **keep)
{
	char err[256];
	const uint8_t *so;
	size_t sol;
	struct kg_sasl_sess *s = kg_sasl_new("PLAIN", ALL_MECHS, err, sizeof(err));
	assert_non_null(s);
	int rc = kg_sasl_step(s, (const uint8_t *)msg, len, &so, &sol);
	if (rc == KG_SASL_DONE)
		assert_int_equal(sol, 0);
	if (user_out)
		strcpy(user_out, kg_sasl_user(s));
	if (keep)
		*keep = s;
	else
		kg_sasl_free(s);
	return rc;
}

#define PLAIN(lit, u) plain(lit, sizeof(lit) - 1, u, NULL)

static void test_plain(void **state)
{
	(void)state;
	char user[600];
	struct kg_sasl_sess *s;
	assert_int_equal(PLAIN("\0alice\0secret", user), KG_SASL_DONE);
	assert_string_equal(user, "alice");
	assert_int_equal(PLAIN("alice\0alice\0secret", user), KG_SASL_DONE);
	assert_int_equal(PLAIN("\0carol\0carolpw", user), KG_SASL_DONE); /* SHA-256 only */
	assert_string_equal(user, "carol");
	assert_int_equal(PLAIN("\0we,ird=name\0weird", user), KG_SASL_DONE);
	assert_string_equal(user, "we,ird=name");
	assert_int_equal(PLAIN("\0 spaced \0sp", user), KG_SASL_DONE);
	assert_string_equal(user, " spaced ");

	assert_int_equal(PLAIN("\0alice\0wrong", user), KG_SASL_FAIL);
	assert_string_equal(user, "");
	assert_int_equal(PLAIN("\0alice\0secre", NULL), KG_SASL_FAIL);
	assert_int_equal(PLAIN("\0alice\0secret\0", NULL), KG_SASL_FAIL);
	assert_int_equal(PLAIN("bob\0alice\0secret", NULL), KG_SASL_FAIL);
	assert_int_equal(PLAIN("\0\0secret", NULL), KG_SASL_FAIL);
	assert_int_equal(PLAIN("\0alice\0", NULL), KG_SASL_FAIL);
	assert_int_equal(PLAIN("alice", NULL), KG_SASL_FAIL);
	assert_int_equal(PLAIN("", NULL), KG_SASL_FAIL);

	assert_int_equal(plain("\0mallory\0secret", 15, NULL, &s), KG_SASL_FAIL);
	assert_int_equal(kg_sasl_unknown_user(s), 1);
	kg_sasl_free(s);
	assert_int_equal(plain("\0alice\0wrong", 12, NULL, &s), KG_SASL_FAIL);
	assert_int_equal(kg_sasl_unknown_user(s), 0);
	assert_non_null(strstr(kg_sasl_fail_reason(s), "PLAIN"));
	kg_sasl_free(s);
	assert_int_equal(plain("bob\0alice\0secret", 16, NULL, &s), KG_SASL_FAIL);
	assert_string_equal(kg_sasl_fail_reason(s), "PLAIN authorization id differs from the user name");
	kg_sasl_free(s);
}

/* ---- tests: sessions ---- */

static void test_new_mechanisms(void **state)
{
	(void)state;
	char err[256];
	assert_null(kg_sasl_new("GSSAPI", ALL_MECHS, err, sizeof(err)));
	assert_string_equal(err, "unsupported SASL mechanism");
	assert_null(kg_sasl_new("scram-sha-256", ALL_MECHS, err, sizeof(err)));
	assert_null(kg_sasl_new("PLAIN", KG_SASL_MECH_BIT(KG_SASL_SCRAM_SHA_512), err, sizeof(err)));
	assert_string_equal(err, "SASL mechanism PLAIN is not enabled");
	assert_int_equal(kg_sasl_mech_parse("SCRAM-SHA-512"), KG_SASL_SCRAM_SHA_512);
	assert_string_equal(kg_sasl_mech_name(KG_SASL_PLAIN), "PLAIN");
	char e2[256];
	assert_int_equal(kg_sasl_init(e2, sizeof(e2)), 0); /* idempotent */
}

/* A session keeps the credential set it started with across a reload. */
static void test_reload_mid_exchange(void **state)
{
	(void)state;
	struct mclient mc;
	char first[256], fin[512];
	const uint8_t *so;
	size_t sol;
	struct kg_sasl_sess *s;
	mc_init(&mc, KG_SCRAM_SHA_512, "secret", g_salt512, sizeof(g_salt512));
	mc_first(&mc, "n,,", "n=alice,r=reload1", first, sizeof(first));
	assert_int_equal(server_first("SCRAM-SHA-512", first, &s, &so, &sol), KG_SASL_CONTINUE);

	uint8_t keep[sizeof(g_salt512)];
	memcpy(keep, g_salt512, sizeof(keep));
	kg_users_swap(make_users("changed")); /* old set stays alive in s */
	memcpy(g_salt512, keep, sizeof(keep));

	size_t fl = mc_final(&mc, so, sol, fin, sizeof(fin));
	assert_int_equal(kg_sasl_step(s, (const uint8_t *)fin, fl, &so, &sol), KG_SASL_DONE);
	kg_sasl_free(s);

	struct result r;
	cyrus_exchange("SCRAM-SHA-512", "alice", "", "secret", &r);
	assert_int_equal(r.rc, KG_SASL_FAIL);
	cyrus_exchange("SCRAM-SHA-512", "alice", "", "changed", &r);
	assert_int_equal(r.rc, KG_SASL_DONE);

	/* no users at all: everybody fails, at the proof */
	kg_users_swap(NULL);
	cyrus_exchange("SCRAM-SHA-512", "alice", "", "changed", &r);
	assert_int_equal(r.rc, KG_SASL_FAIL);
	assert_int_equal(r.steps, 2);
	assert_int_equal(PLAIN("\0alice\0changed", NULL), KG_SASL_FAIL);

	kg_users_swap(kg_users_acquire(g_users));
}

/* ---- concurrency and throughput ---- */

struct worker_arg {
	int n;                       /* handshakes to run */
	int ok;                      /* how many succeeded */
};

static void *worker(void *p)
{
	struct worker_arg *a = p;
	struct mclient mc;
	mc_init(&mc, KG_SCRAM_SHA_512, "secret", g_salt512, sizeof(g_salt512));
	for (int i = 0; i < a->n; i++) {
		char first[256], fin[512], bare[64], err[128];
		const uint8_t *so;
		size_t sol;
		snprintf(bare, sizeof(bare), "n=alice,r=t%p-%d", (void *)a, i);
		mc_first(&mc, "n,,", bare, first, sizeof(first));
		struct kg_sasl_sess *s = kg_sasl_new("SCRAM-SHA-512", ALL_MECHS, err, sizeof(err));
		if (!s)
			continue;
		if (kg_sasl_step(s, (const uint8_t *)first, strlen(first), &so, &sol) == KG_SASL_CONTINUE) {
			size_t fl = mc_final(&mc, so, sol, fin, sizeof(fin));
			if (kg_sasl_step(s, (const uint8_t *)fin, fl, &so, &sol) == KG_SASL_DONE &&
			    strcmp(kg_sasl_user(s), "alice") == 0)
				a->ok++;
		}
		kg_sasl_free(s);
	}
	return NULL;
}

static void test_threads(void **state)
{
	(void)state;
	enum { T = 4 };
	pthread_t th[T];
	struct worker_arg a[T];
	for (int i = 0; i < T; i++) {
		a[i] = (struct worker_arg){.n = 200, .ok = 0};
		assert_int_equal(pthread_create(&th[i], NULL, worker, &a[i]), 0);
	}
	/* reloads while the workers run */
	for (int i = 0; i < 20; i++)
		kg_users_swap(kg_users_acquire(g_users));
	for (int i = 0; i < T; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(a[i].ok, a[i].n);
	}
}

/* Server-side SCRAM-SHA-512 handshakes per second on this thread: the
 * client's PBKDF2 is done once up front, and only the server's calls are
 * timed (new, client-first, client-final, free). */
static void test_bench_scram512(void **state)
{
	(void)state;
	const char *env = getenv("KG_SASL_BENCH_N");
	int n = env ? atoi(env) : 3000;
	struct mclient mc;
	double server = 0;
	mc_init(&mc, KG_SCRAM_SHA_512, "secret", g_salt512, sizeof(g_salt512));
	for (int i = 0; i < n; i++) {
		char first[256], fin[512], bare[64], err[128];
		const uint8_t *so;
		size_t sol;
		snprintf(bare, sizeof(bare), "n=alice,r=bench%d", i);
		size_t l1 = mc_first(&mc, "n,,", bare, first, sizeof(first));
		double t0 = now_s();
		struct kg_sasl_sess *s = kg_sasl_new("SCRAM-SHA-512", ALL_MECHS, err, sizeof(err));
		int r1 = kg_sasl_step(s, (const uint8_t *)first, l1, &so, &sol);
		double t1 = now_s();
		assert_int_equal(r1, KG_SASL_CONTINUE);
		size_t fl = mc_final(&mc, so, sol, fin, sizeof(fin));
		double t2 = now_s();
		int r2 = kg_sasl_step(s, (const uint8_t *)fin, fl, &so, &sol);
		kg_sasl_free(s);
		double t3 = now_s();
		assert_int_equal(r2, KG_SASL_DONE);
		server += (t1 - t0) + (t3 - t2);
	}
	print_message("SCRAM-SHA-512 (4096 iterations): %d server-side handshakes in %.3f s = %.0f/s "
		      "of one core's CPU time (%.1f us each)\n",
		      n, server, n / server, server / n * 1e6);

	/* PLAIN does the PBKDF2 on the server: that is its cost. */
	double t0 = now_s();
	for (int i = 0; i < 20; i++)
		assert_int_equal(PLAIN("\0alice\0secret", NULL), KG_SASL_DONE);
	double t = now_s() - t0;
	print_message("PLAIN (SCRAM-SHA-512 verifier, 4096 iterations): %.0f logins/s of one core "
		      "(%.2f ms each)\n",
		      20 / t, t / 20 * 1e3);
}

/* ---- listen.auth.scram_nonce "suffix": librdkafka before 2.6.1 ---- */

/* One SCRAM-SHA-512 exchange for alice: r= of client-final is prefix +
 * the server's nonce; the suffix rule on or off. */
static int nonce_exchange(const char *pw, const char *prefix, bool suffix, bool *used,
			  bool *final_ok, const char *user)
{
	struct mclient mc;
	char first[256], fin[600], bare[128];
	const uint8_t *so;
	size_t sol;
	char err[256];
	mc_init(&mc, KG_SCRAM_SHA_512, pw, g_salt512, sizeof(g_salt512));
	snprintf(bare, sizeof(bare), "n=%s,r=rdkafkaNonce42", user);
	mc_first(&mc, "n,,", bare, first, sizeof(first));
	struct kg_sasl_sess *s = kg_sasl_new("SCRAM-SHA-512", ALL_MECHS, err, sizeof(err));
	assert_non_null(s);
	if (suffix)
		kg_sasl_allow_nonce_suffix(s);
	assert_int_equal(kg_sasl_step(s, (const uint8_t *)first, strlen(first), &so, &sol),
			 KG_SASL_CONTINUE);
	size_t fl = mc_final_r(&mc, so, sol, prefix, fin, sizeof(fin));
	int rc = kg_sasl_step(s, (const uint8_t *)fin, fl, &so, &sol);
	*used = kg_sasl_nonce_suffix_used(s);
	*final_ok = rc == KG_SASL_DONE && mc_server_final_ok(&mc, so, sol);
	if (rc == KG_SASL_DONE)
		assert_string_equal(kg_sasl_user(s), user);
	kg_sasl_free(s);
	return rc;
}

static void test_scram_nonce_suffix(void **state)
{
	(void)state;
	bool used, ok;
	/* librdkafka < 2.6.1: r=<cnonce><cnonce><snonce>, accepted with the
	 * setting; the server-final verifies for the client. */
	assert_int_equal(nonce_exchange("secret", "rdkafkaNonce42", true, &used, &ok, "alice"),
			 KG_SASL_DONE);
	assert_true(used);
	assert_true(ok);
	/* The exact nonce still goes through cyrus, and says so. */
	assert_int_equal(nonce_exchange("secret", "", true, &used, &ok, "alice"), KG_SASL_DONE);
	assert_false(used);
	assert_true(ok);
}

static void test_scram_nonce_suffix_refusals(void **state)
{
	(void)state;
	bool used, ok;
	/* Without the setting: refused, as by a Kafka 4 broker. */
	assert_int_equal(nonce_exchange("secret", "rdkafkaNonce42", false, &used, &ok, "alice"),
			 KG_SASL_FAIL);
	assert_false(used);
	/* With it: a wrong password, an unknown user, and a nonce that does
	 * not end with the server's are still refused. */
	assert_int_equal(nonce_exchange("wrong", "rdkafkaNonce42", true, &used, &ok, "alice"),
			 KG_SASL_FAIL);
	assert_int_equal(nonce_exchange("secret", "rdkafkaNonce42", true, &used, &ok, "nobody"),
			 KG_SASL_FAIL);
	assert_false(used);
	struct mclient mc;
	char first[256], fin[600];
	const uint8_t *so;
	size_t sol;
	char err[256];
	mc_init(&mc, KG_SCRAM_SHA_512, "secret", g_salt512, sizeof(g_salt512));
	mc_first(&mc, "n,,", "n=alice,r=rdkafkaNonce42", first, sizeof(first));
	struct kg_sasl_sess *s = kg_sasl_new("SCRAM-SHA-512", ALL_MECHS, err, sizeof(err));
	kg_sasl_allow_nonce_suffix(s);
	assert_int_equal(kg_sasl_step(s, (const uint8_t *)first, strlen(first), &so, &sol),
			 KG_SASL_CONTINUE);
	/* r= is the server's nonce with its last character changed. */
	char sf[512];
	memcpy(sf, so, sol);
	sf[sol] = 0;
	char *comma = strchr(sf, ',');
	comma[-1] = comma[-1] == 'x' ? 'y' : 'x';
	size_t fl = mc_final_r(&mc, (const uint8_t *)sf, sol, "rdkafkaNonce42", fin, sizeof(fin));
	assert_int_equal(kg_sasl_step(s, (const uint8_t *)fin, fl, &so, &sol), KG_SASL_FAIL);
	assert_false(kg_sasl_nonce_suffix_used(s));
	kg_sasl_free(s);
}

static int setup(void **state)
{
	(void)state;
	char err[512];
	if (kg_sasl_init(err, sizeof(err)) < 0) {
		fprintf(stderr, "kg_sasl_init: %s\n", err);
		return -1;
	}
	/* the test's client side: cyrus's default plugin path */
	if (sasl_client_init(NULL) != SASL_OK)
		return -1;
	g_users = make_users("secret");
	kg_users_swap(kg_users_acquire(g_users));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	kg_users_swap(NULL);
	kg_users_release(g_users);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scram_success),
		cmocka_unit_test(test_scram_nonce_suffix),
		cmocka_unit_test(test_scram_nonce_suffix_refusals),
		cmocka_unit_test(test_scram_authzid_same),
		cmocka_unit_test(test_scram_names_as_sent),
		cmocka_unit_test(test_scram_wrong_password),
		cmocka_unit_test(test_scram_unknown_user),
		cmocka_unit_test(test_scram_unknown_timing),
		cmocka_unit_test(test_scram_rules),
		cmocka_unit_test(test_scram_final_rules),
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_new_mechanisms),
		cmocka_unit_test(test_reload_mid_exchange),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_bench_scram512),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
