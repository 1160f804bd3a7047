/*
 * test_users.c - unit tests of auth/users.c (credential store, SCRAM key
 * derivation, fake credentials) and proxy/cli/cli_user.c (the user CLI).
 *
 * The SCRAM-SHA-256 vector is RFC 7677 section 3 (user "user", password
 * "pencil"); its StoredKey/ServerKey and the SCRAM-SHA-512 keys for the
 * same input were computed independently with Python's hashlib/hmac.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "cli/cli_user.h"
#include "auth/users.h"

static char g_dir[256];

/* ---- helpers ---- */

static void b64dec(const char *s, uint8_t *out, size_t want)
{
	long n = kg_b64_decode(s, strlen(s), out, 128);
	assert_int_equal(n, (long)want);
}

static const char *tmp_path(const char *name)
{
	static char p[4][512];
	static int k;
	k = (k + 1) % 4;
	snprintf(p[k], sizeof(p[k]), "%s/%s", g_dir, name);
	return p[k];
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	unlink(path);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

/* A valid credential object for mech, with the given iterations text. */
static const char *cred_json(int mech, const char *iter)
{
	static char buf[4][600];
	static int k;
	k = (k + 1) % 4;
	uint8_t key[64] = {1};
	char salt[64], kb[100];
	kg_b64_encode((const uint8_t *)"0123456789abcdef", 16, salt, sizeof(salt));
	kg_b64_encode(key, kg_scram_keylen(mech), kb, sizeof(kb));
	snprintf(buf[k], sizeof(buf[k]),
		 "{\"salt\":\"%s\",\"stored_key\":\"%s\",\"server_key\":\"%s\",\"iterations\":%s}", salt,
		 kb, kb, iter);
	return buf[k];
}

/* Loads text as a users file and returns the error (NULL on success). */
static const char *load_err(const char *text)
{
	static char err[1024];
	const char *p = tmp_path("u.json");
	write_file(p, text, 0600);
	struct kg_users *u = kg_users_load(p, err, sizeof(err));
	if (u) {
		kg_users_release(u);
		return NULL;
	}
	/* Strip the "users file <path>: " prefix, checked once below. */
	char pre[600];
	snprintf(pre, sizeof(pre), "users file %s: ", p);
	assert_true(strncmp(err, pre, strlen(pre)) == 0);
	return err + strlen(pre);
}

/* ---- derivation ---- */

static void test_derive_rfc7677(void **state)
{
	(void)state;
	uint8_t salt[16], sk[32], vk[32];
	struct kg_scram_cred c;
	b64dec("W22ZaJ0SNY7soEsUEjb6gQ==", salt, 16);
	assert_int_equal(kg_scram_derive(KG_SCRAM_SHA_256, "pencil", 6, salt, 16, 4096, &c), 0);
	b64dec("WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=", sk, 32);
	b64dec("wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=", vk, 32);
	assert_int_equal(c.keylen, 32);
	assert_memory_equal(c.stored_key, sk, 32);
	assert_memory_equal(c.server_key, vk, 32);
	assert_int_equal(c.present, 1);
	assert_int_equal(c.fake, 0);

	/* ServerSignature of the RFC's exchange from our ServerKey, and the
	 * client proof it shows verifies against our StoredKey. */
	const char *am = "n=user,r=rOprNGfwEbeRWgbNEkqO,"
			 "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
			 "s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,"
			 "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
	uint8_t sig[32], want[32], proof[32], csig[32], ck[32], h[32];
	unsigned int l;
	HMAC(EVP_sha256(), c.server_key, 32, (const uint8_t *)am, strlen(am), sig, &l);
	b64dec("6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=", want, 32);
	assert_memory_equal(sig, want, 32);
	b64dec("dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=", proof, 32);
	HMAC(EVP_sha256(), c.stored_key, 32, (const uint8_t *)am, strlen(am), csig, &l);
	for (int i = 0; i < 32; i++)
		ck[i] = proof[i] ^ csig[i];
	EVP_Digest(ck, 32, h, &l, EVP_sha256(), NULL);
	assert_memory_equal(h, c.stored_key, 32);

	assert_int_equal(kg_scram_check_password(&c, "pencil", 6), 1);
	assert_int_equal(kg_scram_check_password(&c, "pencil!", 7), 0);
	assert_int_equal(kg_scram_check_password(&c, "", 0), 0);
}

static void test_derive_sha512(void **state)
{
	(void)state;
	uint8_t salt[16], sk[64], vk[64];
	struct kg_scram_cred c;
	b64dec("W22ZaJ0SNY7soEsUEjb6gQ==", salt, 16);
	assert_int_equal(kg_scram_derive(KG_SCRAM_SHA_512, "pencil", 6, salt, 16, 4096, &c), 0);
	b64dec("6AAub3065EYRmyFpM2RNwqK+eGnrkYuEWbXn19LsEmBqzu8QaCXNc1FwpnX9NhH2hK/60dzj9DoO5DvVkOHbvg==",
	       sk, 64);
	b64dec("jZHbYjC1aHh0/hKbxyBuGFjDrgjgKTT1esA7awWiKcRZ0o/0b1yWEebBeSVkkCFewf91nLDfKF24mvD5nmE6rA==",
	       vk, 64);
	assert_int_equal(c.keylen, 64);
	assert_memory_equal(c.stored_key, sk, 64);
	assert_memory_equal(c.server_key, vk, 64);
}

static void test_derive_bad_args(void **state)
{
	(void)state;
	struct kg_scram_cred c;
	const uint8_t s[4] = {1, 2, 3, 4};
	assert_int_equal(kg_scram_derive(KG_SCRAM_SHA_256, "x", 1, s, 4, 4095, &c), -1);
	assert_int_equal(kg_scram_derive(KG_SCRAM_SHA_256, "x", 1, s, 4, 16385, &c), -1);
	assert_int_equal(kg_scram_derive(KG_SCRAM_SHA_256, "x", 1, s, 0, 4096, &c), -1);
	assert_int_equal(kg_scram_derive(7, "x", 1, s, 4, 4096, &c), -1);
	assert_int_equal(kg_scram_derive(KG_SCRAM_SHA_256, "x", 1, s, 4, 16384, &c), 0);
}

static void test_base64_strict(void **state)
{
	(void)state;
	uint8_t o[16];
	char e[16];
	assert_int_equal(kg_b64_decode("YWJj", 4, o, sizeof(o)), 3);
	assert_int_equal(kg_b64_decode("YWI=", 4, o, sizeof(o)), 2);
	assert_int_equal(kg_b64_decode("YQ==", 4, o, sizeof(o)), 1);
	assert_int_equal(kg_b64_decode("", 0, o, sizeof(o)), 0);
	assert_int_equal(kg_b64_decode("YQ=", 3, o, sizeof(o)), -1);    /* length */
	assert_int_equal(kg_b64_decode("YR==", 4, o, sizeof(o)), -1);   /* non-zero pad bits */
	assert_int_equal(kg_b64_decode("Y===", 4, o, sizeof(o)), -1);
	assert_int_equal(kg_b64_decode("YQ==YWJj", 8, o, sizeof(o)), -1); /* data after pad */
	assert_int_equal(kg_b64_decode("YW J", 4, o, sizeof(o)), -1);
	assert_int_equal(kg_b64_decode("YWJj", 4, o, 2), -1);            /* no room */
	assert_int_equal(kg_b64_encode((const uint8_t *)"ab", 2, e, sizeof(e)), 4);
	assert_string_equal(e, "YWI=");
	assert_int_equal(kg_b64_encode((const uint8_t *)"abcd", 4, e, 8), -1);
}

static void test_name_valid(void **state)
{
	(void)state;
	assert_true(kg_user_name_valid("alice", 5));
	assert_true(kg_user_name_valid("CN=x,O=y", 8));
	assert_true(kg_user_name_valid("j\xc3\xbcrgen", 7));
	assert_false(kg_user_name_valid("", 0));
	assert_false(kg_user_name_valid("a\tb", 3));
	assert_false(kg_user_name_valid("a\x7f", 2));
	assert_false(kg_user_name_valid("a\xc2\x85", 3));   /* U+0085 NEL */
	assert_false(kg_user_name_valid("\xc3\x28", 2));     /* bad continuation */
	assert_false(kg_user_name_valid("\xc0\xaf", 2));     /* overlong */
	assert_false(kg_user_name_valid("\xed\xa0\x80", 3)); /* surrogate */
	char big[KG_USER_NAME_MAX + 2];
	memset(big, 'a', sizeof(big));
	assert_true(kg_user_name_valid(big, KG_USER_NAME_MAX));
	assert_false(kg_user_name_valid(big, KG_USER_NAME_MAX + 1));
}

/* ---- loading ---- */

static void test_load_errors(void **state)
{
	(void)state;
	char doc[2048], c256[600];
	snprintf(c256, sizeof(c256), "%s", cred_json(KG_SCRAM_SHA_256, "8192"));

	assert_null(load_err("{\"version\":1,\"users\":{}}"));
	snprintf(doc, sizeof(doc), "{\"version\":1,\"users\":{\"alice\":{\"SCRAM-SHA-256\":%s}}}", c256);
	assert_null(load_err(doc));

	assert_string_equal(load_err("[]"), "top level: must be an object");
	assert_string_equal(load_err("{\"users\":{}}"), "/version: missing");
	assert_string_equal(load_err("{\"version\":2,\"users\":{}}"), "/version: must be 1");
	assert_string_equal(load_err("{\"version\":\"1\",\"users\":{}}"), "/version: must be 1");
	assert_string_equal(load_err("{\"version\":1}"), "/users: missing");
	assert_string_equal(load_err("{\"version\":1,\"users\":[]}"), "/users: must be an object");
	assert_string_equal(load_err("{\"version\":1,\"users\":{},\"extra\":0}"),
			    "/extra: unknown key (expected version, users, decoy_key)");
	assert_string_equal(load_err("{\"version\":1,\"users\":{\"\":{}}}"), "/users/: empty user name");
	assert_string_equal(load_err("{\"version\":1,\"users\":{\"a\\u0001b\":{}}}"),
			    "/users/a\\x01b: user name contains a control character");
	assert_string_equal(load_err("{\"version\":1,\"users\":{\"a\\u0085\":{}}}"),
			    "/users/a\\xc2\\x85: user name contains a control character");
	assert_string_equal(load_err("{\"version\":1,\"users\":{\"alice\":[]}}"),
			    "/users/alice: must be an object");
	assert_string_equal(load_err("{\"version\":1,\"users\":{\"alice\":{}}}"),
			    "/users/alice: no credentials (expected SCRAM-SHA-256 and/or SCRAM-SHA-512)");
	snprintf(doc, sizeof(doc), "{\"version\":1,\"users\":{\"alice\":{\"SCRAM-SHA-1\":%s}}}", c256);
	assert_string_equal(load_err(doc), "/users/alice/SCRAM-SHA-1: unknown mechanism (expected "
					   "SCRAM-SHA-256 or SCRAM-SHA-512)");
	assert_string_equal(load_err("{\"version\":1,\"users\":{\"alice\":{\"SCRAM-SHA-256\":1}}}"),
			    "/users/alice/SCRAM-SHA-256: must be an object");

	/* iterations: Kafka's 4096..16384 */
	snprintf(doc, sizeof(doc), "{\"version\":1,\"users\":{\"alice\":{\"SCRAM-SHA-512\":%s}}}",
		 cred_json(KG_SCRAM_SHA_512, "2048"));
	assert_string_equal(load_err(doc),
			    "/users/alice/SCRAM-SHA-512/iterations: 2048 is outside 4096..16384");
	snprintf(doc, sizeof(doc), "{\"version\":1,\"users\":{\"alice\":{\"SCRAM-SHA-512\":%s}}}",
		 cred_json(KG_SCRAM_SHA_512, "4095"));
	assert_string_equal(load_err(doc),
			    "/users/alice/SCRAM-SHA-512/iterations: 4095 is outside 4096..16384");
	snprintf(doc, sizeof(doc), "{\"version\":1,\"users\":{\"alice\":{\"SCRAM-SHA-512\":%s}}}",
		 cred_json(KG_SCRAM_SHA_512, "16385"));
	assert_string_equal(load_err(doc),
			    "/users/alice/SCRAM-SHA-512/iterations: 16385 is outside 4096..16384");
	snprintf(doc, sizeof(doc), "{\"version\":1,\"users\":{\"alice\":{\"SCRAM-SHA-512\":%s}}}",
		 cred_json(KG_SCRAM_SHA_512, "\"8192\""));
	assert_string_equal(load_err(doc), "/users/alice/SCRAM-SHA-512/iterations: must be an integer");
	snprintf(doc, sizeof(doc), "{\"version\":1,\"users\":{\"alice\":{\"SCRAM-SHA-512\":%s}}}",
		 cred_json(KG_SCRAM_SHA_512, "16384"));
	assert_null(load_err(doc));

	/* key lengths follow the mechanism */
	snprintf(doc, sizeof(doc), "{\"version\":1,\"users\":{\"alice\":{\"SCRAM-SHA-512\":%s}}}", c256);
	assert_string_equal(load_err(doc),
			    "/users/alice/SCRAM-SHA-512/stored_key: must be 64 bytes for SCRAM-SHA-512, got 32");
	assert_string_equal(
		load_err("{\"version\":1,\"users\":{\"alice\":{\"SCRAM-SHA-256\":{\"salt\":\"YWJj\","
			 "\"stored_key\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\","
			 "\"server_key\":\"AAAA\",\"iterations\":4096}}}}"),
		"/users/alice/SCRAM-SHA-256/server_key: must be 32 bytes for SCRAM-SHA-256, got 3");
	assert_string_equal(
		load_err("{\"version\":1,\"users\":{\"alice\":{\"SCRAM-SHA-256\":{\"salt\":\"abc\","
			 "\"stored_key\":\"\",\"server_key\":\"\",\"iterations\":4096}}}}"),
		"/users/alice/SCRAM-SHA-256/salt: not valid base64");
	assert_string_equal(
		load_err("{\"version\":1,\"users\":{\"alice\":{\"SCRAM-SHA-256\":{\"salt\":\"\","
			 "\"stored_key\":\"\",\"server_key\":\"\",\"iterations\":4096}}}}"),
		"/users/alice/SCRAM-SHA-256/salt: empty");
	assert_string_equal(
		load_err("{\"version\":1,\"users\":{\"alice\":{\"SCRAM-SHA-256\":{"
			 "\"stored_key\":\"\",\"server_key\":\"\",\"iterations\":4096}}}}"),
		"/users/alice/SCRAM-SHA-256/salt: missing");
	assert_string_equal(
		load_err("{\"version\":1,\"users\":{\"alice\":{\"SCRAM-SHA-256\":{\"salt\":5,"
			 "\"stored_key\":\"\",\"server_key\":\"\",\"iterations\":4096}}}}"),
		"/users/alice/SCRAM-SHA-256/salt: must be a base64 string");
	assert_string_equal(
		load_err("{\"version\":1,\"users\":{\"alice\":{\"SCRAM-SHA-256\":{\"salt\":\"YWJj\","
			 "\"stored_key\":\"\",\"server_key\":\"\",\"iterations\":4096,\"iteration\":1}}}}"),
		"/users/alice/SCRAM-SHA-256/iteration: unknown key (expected salt, stored_key, "
		"server_key, iterations)");
	/* JSON Pointer escaping of '/' and '~' in a user name */
	snprintf(doc, sizeof(doc), "{\"version\":1,\"users\":{\"a/b~c\":{\"SCRAM-SHA-256\":%s}}}",
		 cred_json(KG_SCRAM_SHA_256, "1"));
	assert_string_equal(load_err(doc), "/users/a~1b~0c/SCRAM-SHA-256/iterations: 1 is outside "
					   "4096..16384");

	/* syntax and duplicates come from jansson, with a position */
	const char *e = load_err("{\"version\":1,");
	assert_true(strncmp(e, "line 1 column ", 14) == 0);
	snprintf(doc, sizeof(doc),
		 "{\"version\":1,\"users\":{\"alice\":{\"SCRAM-SHA-256\":%s},\"alice\":{\"SCRAM-SHA-256\":%s}}}",
		 c256, c256);
	e = load_err(doc);
	assert_non_null(strstr(e, "duplicate object key"));
}

static void test_load_file_problems(void **state)
{
	(void)state;
	char err[1024], want[1200];
	const char *p = tmp_path("perm.json");

	write_file(p, "{\"version\":1,\"users\":{}}", 0640);
	assert_null(kg_users_load(p, err, sizeof(err)));
	snprintf(want, sizeof(want),
		 "users file %s: mode 0640 gives group/other access; it holds password verifiers: "
		 "chmod 600 %s",
		 p, p);
	assert_string_equal(err, want);
	write_file(p, "{\"version\":1,\"users\":{}}", 0604);
	assert_null(kg_users_load(p, err, sizeof(err)));
	assert_non_null(strstr(err, "mode 0604 gives group/other access"));
	write_file(p, "{\"version\":1,\"users\":{}}", 0602);
	assert_null(kg_users_load(p, err, sizeof(err)));
	write_file(p, "{\"version\":1,\"users\":{}}", 0400);
	struct kg_users *u = kg_users_load(p, err, sizeof(err));
	assert_non_null(u);
	kg_users_release(u);

	const char *missing = tmp_path("missing.json");
	errno = 0;
	assert_null(kg_users_load(missing, err, sizeof(err)));
	assert_int_equal(errno, ENOENT);
	snprintf(want, sizeof(want), "users file %s: No such file or directory", missing);
	assert_string_equal(err, want);

	assert_null(kg_users_load(g_dir, err, sizeof(err)));
	snprintf(want, sizeof(want), "users file %s: not a regular file", g_dir);
	assert_string_equal(err, want);
}

/* ---- save / load ---- */

static struct kg_users *make_set(void)
{
	struct kg_users *u = kg_users_new();
	struct kg_scram_cred c[KG_SCRAM_NMECH];
	uint8_t salt[KG_SCRAM_SALT_DEFAULT];
	const char *names[] = {"bob", "alice", "j\xc3\xbcrgen", "we,ird=name"};
	for (int i = 0; i < 4; i++) {
		memset(c, 0, sizeof(c));
		for (int m = 0; m < KG_SCRAM_NMECH; m++) {
			if (i == 1 && m == KG_SCRAM_SHA_512)
				continue; /* alice: SHA-256 only */
			assert_int_equal(kg_scram_random_salt(salt, sizeof(salt)), 0);
			assert_int_equal(kg_scram_derive(m, "pw", 2, salt, sizeof(salt),
							 i == 0 ? 8192 : 4096, &c[m]),
					 0);
		}
		assert_int_equal(kg_users_put(u, names[i], c), 0);
	}
	return u;
}

static void test_save_load_roundtrip(void **state)
{
	(void)state;
	char err[1024];
	const char *p = tmp_path("rt.json");
	unlink(p);
	struct kg_users *u = make_set();
	assert_int_equal(u->n, 4);
	assert_string_equal(u->user[0].name, "alice"); /* sorted */
	assert_int_equal(kg_users_save(u, p, err, sizeof(err)), 0);
	struct stat st;
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	struct kg_users *v = kg_users_load(p, err, sizeof(err));
	assert_non_null(v);
	assert_int_equal(v->n, u->n);
	for (size_t i = 0; i < u->n; i++) {
		assert_string_equal(v->user[i].name, u->user[i].name);
		assert_memory_equal(v->user[i].cred, u->user[i].cred, sizeof(u->user[i].cred));
	}
	const struct kg_user *e = kg_users_find(v, "we,ird=name");
	assert_non_null(e);
	assert_int_equal(kg_scram_check_password(&e->cred[KG_SCRAM_SHA_512], "pw", 2), 1);
	assert_null(kg_users_find(v, "nobody"));

	/* Saving over an existing file keeps 0600 and leaves no temp files. */
	assert_int_equal(kg_users_remove(u, "bob"), 0);
	assert_int_equal(kg_users_remove(u, "bob"), -1);
	assert_int_equal(kg_users_save(u, p, err, sizeof(err)), 0);
	kg_users_release(v);
	v = kg_users_load(p, err, sizeof(err));
	assert_non_null(v);
	assert_int_equal(v->n, 3);
	kg_users_release(v);
	kg_users_release(u);
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "ls %s | grep -c tmp >/dev/null", g_dir);
	assert_int_not_equal(system(cmd), 0);
}

static void test_put_rejects(void **state)
{
	(void)state;
	struct kg_users *u = kg_users_new();
	struct kg_scram_cred c[KG_SCRAM_NMECH];
	memset(c, 0, sizeof(c));
	assert_int_equal(kg_users_put(u, "alice", c), -1); /* no credential */
	uint8_t s[8] = {0};
	assert_int_equal(kg_scram_derive(KG_SCRAM_SHA_256, "p", 1, s, 8, 4096, &c[0]), 0);
	assert_int_equal(kg_users_put(u, "", c), -1);
	assert_int_equal(kg_users_put(u, "a\nb", c), -1);
	c[0].mech = KG_SCRAM_SHA_512; /* in the wrong slot */
	assert_int_equal(kg_users_put(u, "alice", c), -1);
	kg_users_release(u);
}

/* ---- fake credentials ---- */

static void test_fake_credentials(void **state)
{
	(void)state;
	struct kg_users *u = make_set();
	struct kg_scram_cred f1, f2, f3;
	/* bob has 8192, the others 4096: a fake takes one real user's shape */
	const struct kg_scram_cred *a = kg_users_scram(u, "mallory", KG_SCRAM_SHA_512, &f1);
	const struct kg_scram_cred *b = kg_users_scram(u, "mallory", KG_SCRAM_SHA_512, &f2);
	assert_ptr_equal(a, &f1);
	assert_ptr_equal(b, &f2);
	assert_int_equal(f1.fake, 1);
	assert_int_equal(f1.present, 1);
	assert_true(f1.iterations == 4096 || f1.iterations == 8192);
	assert_int_equal(f1.saltlen, KG_SCRAM_SALT_DEFAULT);
	assert_int_equal(f1.keylen, 64);
	/* the salt is deterministic; the keys are random and never shown */
	assert_int_equal(f2.saltlen, f1.saltlen);
	assert_int_equal(f2.iterations, f1.iterations);
	assert_memory_equal(f1.salt, f2.salt, f1.saltlen);
	assert_memory_not_equal(f1.stored_key, f2.stored_key, 64);
	kg_users_scram(u, "mallory2", KG_SCRAM_SHA_512, &f3);
	assert_memory_not_equal(f1.salt, f3.salt, f1.saltlen);
	kg_users_scram(u, "mallory", KG_SCRAM_SHA_256, &f3);
	assert_memory_not_equal(f1.salt, f3.salt, f3.saltlen);
	/* never verifies, and costs a full PBKDF2 */
	assert_int_equal(kg_scram_check_password(&f1, "pw", 2), 0);
	assert_int_equal(kg_scram_check_password(&f1, "", 0), 0);

	/* A real user without that mechanism gets a fake too. */
	a = kg_users_scram(u, "alice", KG_SCRAM_SHA_512, &f1);
	assert_ptr_equal(a, &f1);
	assert_int_equal(f1.fake, 1);
	a = kg_users_scram(u, "alice", KG_SCRAM_SHA_256, &f1);
	assert_ptr_not_equal(a, &f1);
	assert_int_equal(a->fake, 0);

	/* PLAIN prefers SHA-512 */
	const struct kg_user *bob = kg_users_find(u, "bob");
	assert_ptr_equal(kg_users_plain(u, "bob", &f1), &bob->cred[KG_SCRAM_SHA_512]);
	const struct kg_user *alice = kg_users_find(u, "alice");
	assert_ptr_equal(kg_users_plain(u, "alice", &f1), &alice->cred[KG_SCRAM_SHA_256]);
	assert_ptr_equal(kg_users_plain(u, "nobody", &f1), &f1);
	assert_int_equal(f1.fake, 1);

	/* An empty set: 4096 iterations; a NULL set works too. */
	struct kg_users *e = kg_users_new();
	kg_users_scram(e, "x", KG_SCRAM_SHA_256, &f1);
	assert_int_equal(f1.iterations, 4096);
	assert_non_null(kg_users_scram(NULL, "x", KG_SCRAM_SHA_256, &f2));
	assert_memory_equal(f1.salt, f2.salt, f1.saltlen);
	assert_null(kg_users_scram(e, "x", 5, &f1));
	kg_users_release(e);
	kg_users_release(u);
}

/* Made-up credentials take their shape (iterations, salt length) from the
 * real users, in proportion: a user with a rare count is as likely to be
 * a fake as a real one. */
static void test_fake_shapes_follow_real_distribution(void **state)
{
	(void)state;
	struct kg_users *u = kg_users_new();
	struct kg_scram_cred c[KG_SCRAM_NMECH], f, g;
	uint8_t salt[32] = {0};
	const unsigned it[] = {16384, 8192, 8192, 4096};
	const size_t sl[] = {32, 24, 24, 16};
	for (int i = 0; i < 4; i++) {
		char n[16];
		memset(c, 0, sizeof(c));
		snprintf(n, sizeof(n), "u%d", i);
		assert_int_equal(kg_scram_derive(KG_SCRAM_SHA_512, "p", 1, salt, sl[i], it[i],
						 &c[KG_SCRAM_SHA_512]), 0);
		assert_int_equal(kg_users_put(u, n, c), 0);
	}
	int count[3] = {0};
	for (int i = 0; i < 4000; i++) {
		char n[32];
		snprintf(n, sizeof(n), "ghost-%d", i);
		kg_users_scram(u, n, KG_SCRAM_SHA_512, &f);
		assert_int_equal(f.fake, 1);
		/* always one real user's pair */
		if (f.iterations == 16384) {
			assert_int_equal(f.saltlen, 32);
			count[0]++;
		} else if (f.iterations == 8192) {
			assert_int_equal(f.saltlen, 24);
			count[1]++;
		} else {
			assert_int_equal(f.iterations, 4096);
			assert_int_equal(f.saltlen, 16);
			count[2]++;
		}
		/* the same name always looks the same */
		kg_users_scram(u, n, KG_SCRAM_SHA_512, &g);
		assert_int_equal(g.iterations, f.iterations);
		assert_memory_equal(g.salt, f.salt, f.saltlen);
	}
	/* 1/4, 1/2, 1/4 of 4000, within 5 percentage points */
	assert_in_range(count[0], 800, 1200);
	assert_in_range(count[1], 1800, 2200);
	assert_in_range(count[2], 800, 1200);
	kg_users_release(u);
}

/* The decoy key lives in the users file: a set loaded again (a restart)
 * makes the same fake salts; another key makes others. */
static void test_decoy_key_persists_in_file(void **state)
{
	(void)state;
	char dir[] = "/tmp/kg-test-decoy-XXXXXX", path[64], err[256];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/users.json", dir);
	struct kg_users *u = make_set();
	assert_int_equal(u->has_decoy_key, 0);
	assert_int_equal(kg_users_decoy_key_ensure(u), 0);
	assert_int_equal(u->has_decoy_key, 1);
	uint8_t key[KG_USERS_DECOY_KEY_LEN];
	memcpy(key, u->decoy_key, sizeof(key));
	assert_int_equal(kg_users_decoy_key_ensure(u), 0);     /* kept, not replaced */
	assert_memory_equal(key, u->decoy_key, sizeof(key));
	assert_int_equal(kg_users_save(u, path, err, sizeof(err)), 0);
	struct kg_users *again = kg_users_load(path, err, sizeof(err));
	assert_non_null(again);
	assert_int_equal(again->has_decoy_key, 1);
	assert_memory_equal(key, again->decoy_key, sizeof(key));
	struct kg_scram_cred f1, f2, f3;
	kg_users_scram(u, "nobody", KG_SCRAM_SHA_256, &f1);
	kg_users_scram(again, "nobody", KG_SCRAM_SHA_256, &f2);
	assert_int_equal(f1.saltlen, f2.saltlen);
	assert_memory_equal(f1.salt, f2.salt, f1.saltlen);
	struct kg_users *other = make_set();
	assert_int_equal(kg_users_decoy_key_ensure(other), 0);
	kg_users_scram(other, "nobody", KG_SCRAM_SHA_256, &f3);
	assert_memory_not_equal(f1.salt, f3.salt, f1.saltlen);
	/* a key of the wrong length is refused, naming it */
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("{\"version\": 1, \"decoy_key\": \"AAAA\", \"users\": {}}", fp);
	fclose(fp);
	assert_int_equal(chmod(path, 0600), 0);
	assert_null(kg_users_load(path, err, sizeof(err)));
	assert_non_null(strstr(err, "/decoy_key"));
	assert_non_null(strstr(err, "must be 32 bytes"));
	kg_users_release(u);
	kg_users_release(again);
	kg_users_release(other);
	unlink(path);
	rmdir(dir);
}

static void test_swap_current(void **state)
{
	(void)state;
	assert_null(kg_users_current());
	struct kg_users *a = make_set();
	kg_users_swap(a); /* current owns a's reference */
	struct kg_users *held = kg_users_current();
	assert_ptr_equal(held, a);
	assert_int_equal(atomic_load(&a->refs), 2);
	struct kg_users *b = kg_users_new();
	kg_users_swap(b);
	assert_int_equal(atomic_load(&held->refs), 1); /* still usable */
	assert_non_null(kg_users_find(held, "bob"));
	kg_users_release(held);
	struct kg_users *c = kg_users_current();
	assert_ptr_equal(c, b);
	kg_users_release(c);
	kg_users_swap(NULL);
	assert_null(kg_users_current());
}

/* ---- CLI ---- */

/* Runs kg_cli_user with stdin fed `input` and stdout captured. */
static int run_cli(const char *input, char *out, size_t outlen, int argc, ...)
{
	char *argv[16];
	va_list ap;
	va_start(ap, argc);
	for (int i = 0; i < argc; i++)
		argv[i] = va_arg(ap, char *);
	va_end(ap);
	argv[argc] = NULL;

	int in[2];
	assert_int_equal(pipe(in), 0);
	assert_int_equal(write(in[1], input, strlen(input)), (ssize_t)strlen(input));
	close(in[1]);
	const char *cap = tmp_path("stdout.txt");
	int capfd = open(cap, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(capfd >= 0);
	fflush(stdout);
	int save_in = dup(0), save_out = dup(1), save_err = dup(2);
	int devnull = open("/dev/null", O_WRONLY);
	dup2(in[0], 0);
	dup2(capfd, 1);
	dup2(devnull, 2);
	int rc = kg_cli_user(argc, argv);
	fflush(stdout);
	dup2(save_in, 0);
	dup2(save_out, 1);
	dup2(save_err, 2);
	close(save_in);
	close(save_out);
	close(save_err);
	close(devnull);
	close(in[0]);
	if (out) {
		lseek(capfd, 0, SEEK_SET);
		ssize_t n = read(capfd, out, outlen - 1);
		out[n > 0 ? n : 0] = 0;
	}
	close(capfd);
	return rc;
}

static void test_cli(void **state)
{
	(void)state;
	char err[1024], out[1024];
	const char *p = tmp_path("cli.json");
	char *path = strdup(p);
	unlink(path);

	/* add creates the file 0600 */
	assert_int_equal(run_cli("s3cret\n", NULL, 0, 6, "kafka-gateway", "user", "add", "--users",
				 path, "--password-stdin", "alice"),
			 2); /* no NAME */
	assert_int_equal(run_cli("s3cret\n", NULL, 0, 7, "kafka-gateway", "user", "add", "--users",
				 path, "--password-stdin", "alice"),
			 0);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	struct kg_users *u = kg_users_load(path, err, sizeof(err));
	assert_non_null(u);
	const struct kg_user *e = kg_users_find(u, "alice");
	assert_non_null(e);
	assert_int_equal(e->cred[KG_SCRAM_SHA_256].iterations, KG_SCRAM_ITER_DEFAULT);
	assert_int_equal(kg_scram_check_password(&e->cred[KG_SCRAM_SHA_256], "s3cret", 6), 1);
	assert_int_equal(kg_scram_check_password(&e->cred[KG_SCRAM_SHA_512], "s3cret", 6), 1);
	assert_memory_not_equal(e->cred[0].salt, e->cred[1].salt, KG_SCRAM_SALT_DEFAULT);
	kg_users_release(u);

	/* add again fails; set-password of a missing user fails */
	assert_int_equal(run_cli("x\n", NULL, 0, 7, "kafka-gateway", "user", "add", "--users", path,
				 "--password-stdin", "alice"),
			 1);
	assert_int_equal(run_cli("x\n", NULL, 0, 7, "kafka-gateway", "user", "set-password",
				 "--users", path, "--password-stdin", "bob"),
			 1);
	/* CRLF line, one mechanism, custom iterations */
	assert_int_equal(run_cli("pw two\r\nignored\n", NULL, 0, 11, "kafka-gateway", "user", "add",
				 "--users", path, "--mechanisms", "SCRAM-SHA-512", "--iterations",
				 "4096", "--password-stdin", "bob"),
			 0);
	assert_int_equal(run_cli("new\n", NULL, 0, 9, "kafka-gateway", "user", "set-password",
				 "--users", path, "--mechanisms", "SCRAM-SHA-256", "--password-stdin",
				 "alice"),
			 0);
	assert_int_equal(run_cli("", out, sizeof(out), 5, "kafka-gateway", "user", "list", "--users",
				 path),
			 0);
	assert_string_equal(out, "alice\tSCRAM-SHA-256:8192\nbob\tSCRAM-SHA-512:4096\n");
	u = kg_users_load(path, err, sizeof(err));
	assert_non_null(u);
	assert_int_equal(kg_scram_check_password(&kg_users_find(u, "bob")->cred[KG_SCRAM_SHA_512],
						 "pw two", 6),
			 1);
	assert_int_equal(kg_scram_check_password(&kg_users_find(u, "alice")->cred[KG_SCRAM_SHA_256],
						 "new", 3),
			 1);
	kg_users_release(u);

	/* usage errors */
	assert_int_equal(run_cli("x\n", NULL, 0, 9, "kafka-gateway", "user", "add", "--users", path,
				 "--iterations", "2048", "--password-stdin", "carol"),
			 2);
	assert_int_equal(run_cli("x\n", NULL, 0, 9, "kafka-gateway", "user", "add", "--users", path,
				 "--mechanisms", "PLAIN", "--password-stdin", "carol"),
			 2);
	assert_int_equal(run_cli("x\n", NULL, 0, 6, "kafka-gateway", "user", "add", "--users", path,
				 "--password-stdin"),
			 2);
	assert_int_equal(run_cli("", NULL, 0, 4, "kafka-gateway", "user", "add", "carol"), 2);
	assert_int_equal(run_cli("", NULL, 0, 3, "kafka-gateway", "user", "frob"), 2);
	/* empty password, and no password at all */
	assert_int_equal(run_cli("\n", NULL, 0, 7, "kafka-gateway", "user", "add", "--users", path,
				 "--password-stdin", "carol"),
			 1);
	assert_int_equal(run_cli("", NULL, 0, 7, "kafka-gateway", "user", "add", "--users", path,
				 "--password-stdin", "carol"),
			 1);

	/* remove */
	assert_int_equal(run_cli("", NULL, 0, 6, "kafka-gateway", "user", "remove", "--users", path,
				 "bob"),
			 0);
	assert_int_equal(run_cli("", NULL, 0, 6, "kafka-gateway", "user", "remove", "--users", path,
				 "bob"),
			 1);
	assert_int_equal(run_cli("", out, sizeof(out), 5, "kafka-gateway", "user", "list", "--users",
				 path),
			 0);
	assert_string_equal(out, "alice\tSCRAM-SHA-256:8192\n");

	/* a world-readable file is refused by the CLI too */
	chmod(path, 0644);
	assert_int_equal(run_cli("", NULL, 0, 5, "kafka-gateway", "user", "list", "--users", path), 1);
	free(path);
}

static int setup(void **state)
{
	(void)state;
	snprintf(g_dir, sizeof(g_dir), "/tmp/kg-test-users.XXXXXX");
	return mkdtemp(g_dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_derive_rfc7677),
		cmocka_unit_test(test_derive_sha512),
		cmocka_unit_test(test_derive_bad_args),
		cmocka_unit_test(test_base64_strict),
		cmocka_unit_test(test_name_valid),
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_load_file_problems),
		cmocka_unit_test(test_save_load_roundtrip),
		cmocka_unit_test(test_put_rejects),
		cmocka_unit_test(test_fake_credentials),
		cmocka_unit_test(test_fake_shapes_follow_real_distribution),
		cmocka_unit_test(test_decoy_key_persists_in_file),
		cmocka_unit_test(test_swap_current),
		cmocka_unit_test(test_cli),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
