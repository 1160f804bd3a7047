/*
 * sasl.c - SASL server core on cyrus-sasl (see sasl-t.h, sasl.h).
 *
 * What cyrus does for us: the SCRAM-SHA-256/512 and PLAIN server state
 * machines (libscram, libplain from libsasl2-modules), nonce generation,
 * proof and signature computation. What we add around it:
 *   - an auxprop plugin answering "*authPassword", the property libscram's
 *     server reads stored verifiers from, in its format
 *     "<MECH>$<iterations>:<b64 salt>$<b64 StoredKey>:<b64 ServerKey>";
 *     it never serves "*userPassword", so no plaintext is ever needed;
 *   - a SASL_CB_SERVER_USERDB_CHECKPASS callback for PLAIN (PBKDF2 against
 *     the same verifier, CRYPTO_memcmp);
 *   - a canon_user plugin that takes names as sent (cyrus's built-in one
 *     trims whitespace and may append a realm; Kafka does neither);
 *   - Kafka's stricter message rules, checked before cyrus parses a token
 *     (cyrus accepts channel-binding flags y/p, ignores extensions such as
 *     tokenauth, and only prefix-checks c=).
 */
#define _GNU_SOURCE /* dladdr */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <sasl/sasl.h>
#include <sasl/saslplug.h>

#include "base/log.h"
#include "auth/sasl.h"
#include "auth/sasl-int.h"
#include "auth/users.h"

/* cyrus stores callbacks as int (*)(void); going through void (*)(void)
 * keeps gcc's -Wcast-function-type quiet about the deliberate cast. */
#define KG_CB(fn) ((sasl_callback_ft)(void (*)(void))(fn))

#define KG_PLUGIN_NAME "kafka-gateway"
/* Service and host names cyrus wants; a fixed host avoids the
 * gethostname()+DNS lookup sasl_server_new does for NULL. */
#define KG_SASL_SERVICE "kafka"
#define KG_SASL_FQDN "kafka-gateway"

static const char *const mech_names[KG_SASL_NMECH] = {
	"SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN",
};

int kg_sasl_mech_parse(const char *name)
{
	for (int m = 0; name && m < KG_SASL_NMECH; m++)
		if (strcmp(name, mech_names[m]) == 0)
			return m;
	return -1;
}

const char *kg_sasl_mech_name(int mech)
{
	return mech >= 0 && mech < KG_SASL_NMECH ? mech_names[mech] : NULL;
}

/* ---- cyrus global hooks ---- */

static void *mtx_alloc(void)
{
	pthread_mutex_t *m = malloc(sizeof(*m));
	if (m && pthread_mutex_init(m, NULL) != 0) {
		free(m);
		m = NULL;
	}
	return m;
}

static int mtx_lock(void *m)
{
	return pthread_mutex_lock(m) == 0 ? SASL_OK : SASL_FAIL;
}

static int mtx_unlock(void *m)
{
	return pthread_mutex_unlock(m) == 0 ? SASL_OK : SASL_FAIL;
}

static void mtx_free(void *m)
{
	if (m) {
		pthread_mutex_destroy(m);
		free(m);
	}
}

/* Directory cyrus loads plugins from: "sasl2" next to the libsasl2 we are
 * linked with, which is where its own packages install them. Asking
 * instead of trusting the SASL_PATH environment variable. */
static char plugin_dir[4096];

static int cb_getpath(void *ctx, const char **path)
{
	(void)ctx;
	*path = plugin_dir;
	return SASL_OK;
}

/* Of the plugin files there, only the two mechanisms we use are loaded:
 * not sasldb (which would read /etc/sasldb2) nor any other mechanism. Any
 * configuration or password file cyrus might want to open is refused. */
static int cb_verifyfile(void *ctx, const char *file, sasl_verify_type_t type)
{
	(void)ctx;
	if (type != SASL_VRFY_PLUGIN || !file)
		return SASL_FAIL;
	const char *b = strrchr(file, '/');
	b = b ? b + 1 : file;
	if (strncmp(b, "libscram.so", 11) == 0 || strncmp(b, "libplain.so", 11) == 0)
		return SASL_OK;
	return SASL_FAIL;
}

/* cyrus's own diagnostics: no secrets, but user names and texts from the
 * wire can appear, so cleaned. Failures are reported per session through
 * kg_sasl_fail_reason; these are debug detail. */
static int cb_log(void *ctx, int level, const char *msg)
{
	char clean[256];
	(void)ctx;
	if (!msg)
		return SASL_OK;
	kg_log_clean(msg, strlen(msg), clean, sizeof(clean));
	if (level <= SASL_LOG_ERR)
		log_warn("cyrus-sasl: %s", clean);
	else
		log_debug("cyrus-sasl: %s", clean);
	return SASL_OK;
}

/* Every option cyrus reads; anything else is "not set" (and, as no
 * application name is given to sasl_server_init, no configuration file
 * exists to fall back to). ctx is the session for per-connection lookups. */
static int cb_getopt(void *ctx, const char *plugin, const char *option, const char **result,
		     unsigned *len)
{
	struct kg_sasl_sess *s = ctx;
	const char *v = NULL;
	(void)plugin;
	if (!option || !result)
		return SASL_BADPARAM;
	if (strcmp(option, "auxprop_plugin") == 0)
		v = KG_PLUGIN_NAME;
	else if (strcmp(option, "canon_user_plugin") == 0)
		v = KG_PLUGIN_NAME;
	else if (strcmp(option, "mech_list") == 0)
		v = s ? mech_names[s->mech] : "SCRAM-SHA-256 SCRAM-SHA-512 PLAIN";
	else if (strcmp(option, "pwcheck_method") == 0)
		v = "auxprop"; /* fallback after our checkpass says no: our
		                  auxprop has no userPassword, so it fails too */
	else if (strcmp(option, "auto_transition") == 0)
		v = "no";
	if (!v)
		return SASL_FAIL;
	*result = v;
	if (len)
		*len = (unsigned)strlen(v);
	return SASL_OK;
}

/* ---- our plugins ---- */

/* The session a cyrus server connection belongs to: the context of our
 * getopt callback in its per-connection callback list. */
static struct kg_sasl_sess *sess_of(const sasl_server_params_t *sp)
{
	for (const sasl_callback_t *c = sp ? sp->callbacks : NULL; c && c->id != SASL_CB_LIST_END;
	     c++)
		if (c->id == SASL_CB_GETOPT && c->proc == KG_CB(cb_getopt))
			return c->context;
	return NULL;
}

/* Serves "*authPassword" for the authentication identity: the user's
 * verifier for the session's SCRAM mechanism, or a made-up one. */
static int auxprop_lookup(void *glob, sasl_server_params_t *sp, unsigned flags, const char *user,
			  unsigned ulen)
{
	(void)glob;
	/* Nothing is kept about authorization identities; "no properties" is
	 * success (SASL_NOUSER here would fail SCRAM's authzid canon). */
	if (flags & SASL_AUXPROP_AUTHZID)
		return SASL_OK;
	struct kg_sasl_sess *s = sess_of(sp);
	if (!s || !user || s->mech > KG_SASL_SCRAM_SHA_512)
		return SASL_NOUSER;
	int wanted = 0;
	for (const struct propval *pv = sp->utils->prop_get(sp->propctx); pv && pv->name; pv++) {
		if (strcmp(pv->name, "*authPassword") == 0) {
			if (pv->values && !(flags & SASL_AUXPROP_OVERRIDE))
				return SASL_OK;
			if (pv->values)
				sp->utils->prop_erase(sp->propctx, pv->name);
			wanted = 1;
		}
	}
	if (!wanted)
		return SASL_NOUSER; /* e.g. PLAIN's fallback asking for userPassword */

	char *name = malloc((size_t)ulen + 1);
	if (!name)
		return SASL_NOMEM;
	memcpy(name, user, ulen);
	name[ulen] = 0;
	struct kg_scram_cred fake;
	const struct kg_scram_cred *c = kg_users_scram(s->users, name, s->mech, &fake);
	free(name);
	if (!c)
		return SASL_FAIL;

	char salt[(KG_SCRAM_SALT_MAX + 2) / 3 * 4 + 1], sk[KG_SCRAM_KEY_MAX * 2], vk[KG_SCRAM_KEY_MAX * 2];
	char val[sizeof(salt) + sizeof(sk) + sizeof(vk) + 48];
	int rc = SASL_FAIL;
	if (kg_b64_encode(c->salt, c->saltlen, salt, sizeof(salt)) >= 0 &&
	    kg_b64_encode(c->stored_key, c->keylen, sk, sizeof(sk)) >= 0 &&
	    kg_b64_encode(c->server_key, c->keylen, vk, sizeof(vk)) >= 0) {
		int n = snprintf(val, sizeof(val), "%s$%u:%s$%s:%s", mech_names[s->mech],
				 (unsigned)c->iterations, salt, sk, vk);
		if (n > 0 && (size_t)n < sizeof(val) &&
		    sp->utils->prop_set(sp->propctx, "*authPassword", val, n) == SASL_OK) {
			s->served = 1;
			s->fake = c->fake;
			rc = SASL_OK;
		}
	}
	OPENSSL_cleanse(val, sizeof(val));
	OPENSSL_cleanse(sk, sizeof(sk));
	OPENSSL_cleanse(vk, sizeof(vk));
	OPENSSL_cleanse(&fake, sizeof(fake));
	return rc;
}

static sasl_auxprop_plug_t auxprop_plug = {
	.features = 0,
	.spare_int1 = 0,
	.glob_context = NULL,
	.auxprop_free = NULL,
	.auxprop_lookup = auxprop_lookup,
	.name = KG_PLUGIN_NAME,
	.auxprop_store = NULL,
};

static int auxprop_init(const sasl_utils_t *utils, int max_version, int *out_version,
			sasl_auxprop_plug_t **plug, const char *plugname)
{
	(void)utils;
	(void)plugname;
	if (max_version < SASL_AUXPROP_PLUG_VERSION)
		return SASL_BADVERS;
	*out_version = SASL_AUXPROP_PLUG_VERSION;
	*plug = &auxprop_plug;
	return SASL_OK;
}

/* User names as sent: Kafka applies no SASLprep, trimming or realm. */
static int canon_server(void *glob, sasl_server_params_t *sp, const char *user, unsigned len,
			unsigned flags, char *out, unsigned out_max, unsigned *out_len)
{
	(void)glob;
	(void)sp;
	(void)flags;
	if (!user)
		return SASL_BADPARAM;
	if (len == 0)
		len = (unsigned)strlen(user);
	if (len == 0)
		return SASL_BADPROT;
	if (len >= out_max)
		return SASL_BUFOVER;
	memmove(out, user, len); /* out may be user */
	out[len] = 0;
	*out_len = len;
	return SASL_OK;
}

static sasl_canonuser_plug_t canon_plug = {
	.features = 0,
	.spare_int1 = 0,
	.glob_context = NULL,
	.name = KG_PLUGIN_NAME,
	.canon_user_free = NULL,
	.canon_user_server = canon_server,
	.canon_user_client = NULL,
};

static int canon_init(const sasl_utils_t *utils, int max_version, int *out_version,
		      sasl_canonuser_plug_t **plug, const char *plugname)
{
	(void)utils;
	(void)plugname;
	if (max_version < SASL_CANONUSER_PLUG_VERSION)
		return SASL_BADVERS;
	*out_version = SASL_CANONUSER_PLUG_VERSION;
	*plug = &canon_plug;
	return SASL_OK;
}

/* PLAIN: the password against the user's salted verifier (or a fake one,
 * at the same PBKDF2 cost). */
static int cb_checkpass(sasl_conn_t *conn, void *ctx, const char *user, const char *pass,
			unsigned passlen, struct propctx *pctx)
{
	struct kg_sasl_sess *s = ctx;
	struct kg_scram_cred fake;
	(void)conn;
	(void)pctx;
	if (!s || !user || !pass)
		return SASL_BADAUTH;
	const struct kg_scram_cred *c = kg_users_plain(s->users, user, &fake);
	int ok = c && kg_scram_check_password(c, pass, passlen);
	s->served = 1;
	s->fake = c ? c->fake : 1;
	OPENSSL_cleanse(&fake, sizeof(fake));
	return ok ? SASL_OK : SASL_BADAUTH;
}

/* ---- init ---- */

static sasl_callback_t global_cb[5];
static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;
static int inited;

int kg_sasl_init(char *err, size_t errlen)
{
	int rc = -1;
	Dl_info di;

	pthread_mutex_lock(&init_lock);
	if (inited) {
		pthread_mutex_unlock(&init_lock);
		return 0;
	}
	if (!dladdr((void *)sasl_server_init, &di) || !di.dli_fname || !strchr(di.dli_fname, '/')) {
		snprintf(err, errlen, "SASL: cannot locate libsasl2 to find its plugin directory");
		goto out;
	}
	snprintf(plugin_dir, sizeof(plugin_dir), "%.*s/sasl2",
		 (int)(strrchr(di.dli_fname, '/') - di.dli_fname), di.dli_fname);

	sasl_set_mutex(mtx_alloc, mtx_lock, mtx_unlock, mtx_free);
	global_cb[0] = (sasl_callback_t){SASL_CB_GETOPT, KG_CB(cb_getopt), NULL};
	global_cb[1] = (sasl_callback_t){SASL_CB_GETPATH, KG_CB(cb_getpath), NULL};
	global_cb[2] = (sasl_callback_t){SASL_CB_VERIFYFILE, KG_CB(cb_verifyfile), NULL};
	global_cb[3] = (sasl_callback_t){SASL_CB_LOG, KG_CB(cb_log), NULL};
	global_cb[4] = (sasl_callback_t){SASL_CB_LIST_END, NULL, NULL};
	/* No application name: cyrus then reads no <app>.conf at all. */
	int r = sasl_server_init(global_cb, NULL);
	if (r != SASL_OK) {
		snprintf(err, errlen, "SASL: sasl_server_init: %s", sasl_errstring(r, NULL, NULL));
		goto out;
	}
	r = sasl_auxprop_add_plugin(KG_PLUGIN_NAME, auxprop_init);
	if (r == SASL_OK)
		r = sasl_canonuser_add_plugin(KG_PLUGIN_NAME, canon_init);
	if (r != SASL_OK) {
		snprintf(err, errlen, "SASL: registering the gateway's plugins: %s",
			 sasl_errstring(r, NULL, NULL));
		goto out;
	}
	const char **have = sasl_global_listmech();
	for (int m = 0; m < KG_SASL_NMECH; m++) {
		int found = 0;
		for (size_t i = 0; have && have[i]; i++)
			found |= strcmp(have[i], mech_names[m]) == 0;
		if (!found) {
			snprintf(err, errlen,
				 "SASL: cyrus-sasl offers no %s server mechanism (plugins looked "
				 "for in %s; install libsasl2-modules)",
				 mech_names[m], plugin_dir);
			goto out;
		}
	}
	inited = 1;
	rc = 0;
out:
	pthread_mutex_unlock(&init_lock);
	return rc;
}

/* ---- sessions ---- */

struct kg_sasl_sess *kg_sasl_new(const char *mech, unsigned allowed, char *err, size_t errlen)
{
	int m = kg_sasl_mech_parse(mech);
	if (m < 0) {
		snprintf(err, errlen, "unsupported SASL mechanism");
		return NULL;
	}
	if (!(allowed & KG_SASL_MECH_BIT(m))) {
		snprintf(err, errlen, "SASL mechanism %s is not enabled", mech_names[m]);
		return NULL;
	}
	if (!inited) {
		snprintf(err, errlen, "SASL is not initialised");
		return NULL;
	}
	struct kg_sasl_sess *s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->mech = (uint8_t)m;
	s->state = KG_SASL_ST_FIRST;
	s->users = kg_users_current();
	s->cb[0] = (sasl_callback_t){SASL_CB_GETOPT, KG_CB(cb_getopt), s};
	s->cb[1] = (sasl_callback_t){SASL_CB_SERVER_USERDB_CHECKPASS, KG_CB(cb_checkpass), s};
	s->cb[2] = (sasl_callback_t){SASL_CB_LIST_END, NULL, NULL};
	/* SASL_SUCCESS_DATA: Kafka sends SCRAM's server-final with the
	 * success, it is not an extra round trip. */
	int r = sasl_server_new(KG_SASL_SERVICE, KG_SASL_FQDN, NULL, NULL, NULL, s->cb,
				SASL_SUCCESS_DATA, &s->conn);
	if (r != SASL_OK) {
		snprintf(err, errlen, "sasl_server_new: %s", sasl_errstring(r, NULL, NULL));
		kg_sasl_free(s);
		return NULL;
	}
	return s;
}

void kg_sasl_free(struct kg_sasl_sess *s)
{
	if (!s)
		return;
	if (s->conn)
		sasl_dispose(&s->conn);
	kg_users_release(s->users);
	free(s->gs2);
	free(s->expect_user);
	free(s->first_bare);
	free(s->server_first);
	OPENSSL_cleanse(s, sizeof(*s));
	free(s);
}

const char *kg_sasl_user(const struct kg_sasl_sess *s)
{
	return s && s->state == KG_SASL_ST_DONE ? s->user : "";
}

const char *kg_sasl_claimed_user(const struct kg_sasl_sess *s)
{
	return s ? s->expect_user : NULL;
}

const char *kg_sasl_fail_reason(const struct kg_sasl_sess *s)
{
	return s && s->state == KG_SASL_ST_FAILED ? s->reason : "";
}

void kg_sasl_allow_nonce_suffix(struct kg_sasl_sess *s)
{
	if (s)
		s->nonce_suffix = true;
}

bool kg_sasl_nonce_suffix_used(const struct kg_sasl_sess *s)
{
	return s && s->nonce_suffix_used;
}

int kg_sasl_unknown_user(const struct kg_sasl_sess *s)
{
	return s && s->state == KG_SASL_ST_FAILED && s->served && s->fake;
}

static int fail(struct kg_sasl_sess *s, const char *why)
{
	s->state = KG_SASL_ST_FAILED;
	snprintf(s->reason, sizeof(s->reason), "%s", why);
	return KG_SASL_FAIL;
}

/* Fails with cyrus's description of its last error on the connection. */
static int fail_cyrus(struct kg_sasl_sess *s, const char *what)
{
	const char *d = s->conn ? sasl_errdetail(s->conn) : NULL;
	char clean[160];
	kg_log_clean(d ? d : "?", d ? strlen(d) : 1, clean, sizeof(clean));
	s->state = KG_SASL_ST_FAILED;
	snprintf(s->reason, sizeof(s->reason), "%s%s: %s", what,
		 s->served && s->fake ? " (unknown user)" : "", clean);
	return KG_SASL_FAIL;
}

/* ---- Kafka's SCRAM message rules ---- */

/* Length of a saslname at p (up to ',' or end): bytes 0x01..0xFF except
 * ',' with '=' only in =2C / =3D. Kafka's own grammar stops at 0x7F; we let
 * UTF-8 through, since such names can exist in the users file. 0 when
 * empty or malformed. */
static size_t saslname_len(const char *p, const char *end)
{
	const char *q = p;
	while (q < end && *q != ',') {
		if (*q == '=') {
			if (end - q < 3)
				return 0;
			if (!(q[1] == '2' && q[2] == 'C') && !(q[1] == '3' && q[2] == 'D'))
				return 0;
			q += 3;
		} else if (*q == 0) {
			return 0;
		} else {
			q++;
		}
	}
	return (size_t)(q - p);
}

/* Decodes =2C / =3D of a saslname already checked by saslname_len. */
static char *saslname_decode(const char *p, size_t n)
{
	char *o = malloc(n + 1), *w = o;
	if (!o)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '=') {
			*w++ = p[i + 1] == '2' ? ',' : '=';
			i += 2;
		} else {
			*w++ = p[i];
		}
	}
	*w = 0;
	return o;
}

/* Checks a client-first message and records its gs2 header and user.
 * NULL when fine, else the reason. */
static const char *scram_first_check(struct kg_sasl_sess *s, const char *in, size_t len)
{
	const char *p = in, *end = in + len, *authz = NULL;
	size_t authzlen = 0, n;

	if (len == 0)
		return "empty SCRAM client-first message";
	if (memchr(in, 0, len))
		return "NUL byte in SCRAM client-first message";
	if (len < 2 || p[0] != 'n' || p[1] != ',')
		return p[0] == 'y' || p[0] == 'p' ? "SCRAM channel binding requested (gs2 flag must be n)"
						  : "malformed SCRAM gs2 header";
	p += 2;
	if (end - p >= 2 && p[0] == 'a' && p[1] == '=') {
		authz = p + 2;
		authzlen = saslname_len(authz, end);
		if (!authzlen)
			return "malformed SCRAM authorization id";
		p = authz + authzlen;
	}
	if (p >= end || *p != ',')
		return "malformed SCRAM gs2 header";
	p++;
	s->gs2len = (size_t)(p - in);
	s->gs2 = malloc(s->gs2len + 1);
	if (!s->gs2)
		return "out of memory";
	memcpy(s->gs2, in, s->gs2len);
	s->gs2[s->gs2len] = 0;
	s->first_bare_len = (size_t)(end - p);
	s->first_bare = strndup(p, s->first_bare_len);
	if (!s->first_bare)
		return "out of memory";

	if (end - p >= 2 && p[0] == 'm' && p[1] == '=')
		return "SCRAM mandatory extension (m=) not supported";
	if (end - p < 2 || p[0] != 'n' || p[1] != '=')
		return "SCRAM client-first without n=";
	p += 2;
	n = saslname_len(p, end);
	if (!n)
		return "malformed SCRAM user name";
	s->expect_user = saslname_decode(p, n);
	if (!s->expect_user)
		return "out of memory";
	if (strlen(s->expect_user) > KG_USER_NAME_MAX)
		return "SCRAM user name too long";
	p += n;
	if (end - p < 3 || memcmp(p, ",r=", 3) != 0)
		return "SCRAM client-first without r=";
	p += 3;
	const char *nonce = p;
	while (p < end && *p != ',') {
		if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e)
			return "malformed SCRAM client nonce";
		p++;
	}
	if (p == nonce)
		return "empty SCRAM client nonce";
	/* Extensions: ("," ALPHA+ "=" value)*, value without ',' */
	while (p < end) {
		p++; /* the ',' */
		const char *k = p;
		while (p < end && ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
			p++;
		if (p == k || p >= end || *p != '=')
			return "malformed SCRAM extension";
		size_t kl = (size_t)(p - k);
		p++;
		const char *v = p;
		while (p < end && *p != ',')
			p++;
		if (p == v)
			return "malformed SCRAM extension";
		if (kl == 9 && memcmp(k, "tokenauth", 9) == 0)
			return "SCRAM tokenauth (delegation token) not supported";
	}
	if (authz) {
		char *a = saslname_decode(authz, authzlen);
		if (!a)
			return "out of memory";
		int same = strcmp(a, s->expect_user) == 0;
		free(a);
		if (!same)
			return "SCRAM authorization id differs from the user name";
	}
	return NULL;
}

/* client-final must start with c=base64(gs2 header) and have nothing else
 * cyrus would mis-take. */
static const char *scram_final_check(const struct kg_sasl_sess *s, const char *in, size_t len)
{
	char cb[(KG_USER_NAME_MAX * 3 + 16) / 3 * 4 + 8];
	if (memchr(in, 0, len))
		return "NUL byte in SCRAM client-final message";
	long n = kg_b64_encode((const uint8_t *)s->gs2, s->gs2len, cb, sizeof(cb));
	if (n < 0)
		return "SCRAM gs2 header too long";
	if (len < (size_t)n + 3 || memcmp(in, "c=", 2) != 0 || memcmp(in + 2, cb, (size_t)n) != 0 ||
	    in[2 + n] != ',')
		return "SCRAM channel binding (c=) does not match the gs2 header";
	return NULL;
}

/* PLAIN: "authzid NUL user NUL password". Records the user. */
static const char *plain_check(struct kg_sasl_sess *s, const char *in, size_t len)
{
	const char *z1 = memchr(in, 0, len);
	if (!z1)
		return "malformed PLAIN message";
	const char *user = z1 + 1, *end = in + len;
	const char *z2 = memchr(user, 0, (size_t)(end - user));
	if (!z2)
		return "malformed PLAIN message";
	const char *pass = z2 + 1;
	if (memchr(pass, 0, (size_t)(end - pass)))
		return "malformed PLAIN message";
	size_t al = (size_t)(z1 - in), ul = (size_t)(z2 - user), pl = (size_t)(end - pass);
	if (ul == 0)
		return "PLAIN user name empty";
	if (pl == 0)
		return "PLAIN password empty";
	if (ul > KG_USER_NAME_MAX)
		return "PLAIN user name too long";
	if (al && (al != ul || memcmp(in, user, ul) != 0))
		return "PLAIN authorization id differs from the user name";
	s->expect_user = strndup(user, ul);
	return s->expect_user ? NULL : "out of memory";
}

/* After cyrus said OK: our credential was used, it was real, and cyrus
 * authenticated the name the client sent. */
static int finish(struct kg_sasl_sess *s)
{
	const void *un = NULL;
	if (!s->served)
		return fail(s, "credential was not served by the gateway (cyrus configuration?)");
	if (s->fake)
		return fail(s, "cyrus accepted a made-up credential");
	if (sasl_getprop(s->conn, SASL_USERNAME, &un) != SASL_OK || !un ||
	    strcmp(un, s->expect_user) != 0 || strlen(un) > KG_USER_NAME_MAX)
		return fail(s, "authenticated user differs from the one sent");
	memcpy(s->user, un, strlen(un) + 1);
	s->state = KG_SASL_ST_DONE;
	return KG_SASL_DONE;
}

int kg_sasl_step(struct kg_sasl_sess *s, const uint8_t *in, size_t inlen, const uint8_t **out,
		 size_t *outlen)
{
	const char *so = NULL, *why;
	unsigned sol = 0;
	int r;

	*out = NULL;
	*outlen = 0;
	if (!s)
		return KG_SASL_FAIL;
	if (!in)
		inlen = 0;
	if (inlen > 65536)
		return fail(s, "SASL token too large");
	const char *ci = in ? (const char *)in : "";

	switch (s->state) {
	case KG_SASL_ST_FIRST:
		why = s->mech == KG_SASL_PLAIN ? plain_check(s, ci, inlen)
					       : scram_first_check(s, ci, inlen);
		if (why)
			return fail(s, why);
		r = sasl_server_start(s->conn, mech_names[s->mech], ci, (unsigned)inlen, &so, &sol);
		if (s->mech == KG_SASL_PLAIN) {
			if (r != SASL_OK)
				return fail_cyrus(s, "PLAIN");
			r = finish(s);
			return r;
		}
		if (r != SASL_CONTINUE)
			return fail_cyrus(s, "SCRAM client-first");
		if (!s->served)
			return fail(s, "credential was not served by the gateway (cyrus configuration?)");
		if (!(s->server_first = strndup(so, sol)))
			return fail(s, "out of memory");
		s->server_first_len = sol;
		s->state = KG_SASL_ST_SCRAM_FINAL;
		*out = (const uint8_t *)so;
		*outlen = sol;
		return KG_SASL_CONTINUE;
	case KG_SASL_ST_SCRAM_FINAL:
		why = scram_final_check(s, ci, inlen);
		if (why)
			return fail(s, why);
		if (s->nonce_suffix &&
		    (r = kg_sasl_final_by_suffix(s, ci, inlen, &why)) != KG_SASL_CONTINUE) {
			/* The nonce only ends with the server's: checked here, as
			 * cyrus (RFC 5802) would refuse it. */
			if (r == KG_SASL_FAIL)
				return fail(s, why);
			if (r == KG_SASL_DONE) {
				*out = (const uint8_t *)s->server_final;
				*outlen = strlen(s->server_final);
			}
			return r;
		}
		r = sasl_server_step(s->conn, ci, (unsigned)inlen, &so, &sol);
		if (r != SASL_OK)
			return fail_cyrus(s, "SCRAM client-final");
		r = finish(s);
		if (r == KG_SASL_DONE) {
			*out = (const uint8_t *)so;
			*outlen = sol;
		}
		return r;
	case KG_SASL_ST_DONE:
		return fail(s, "SASL token after authentication completed");
	default:
		return KG_SASL_FAIL;
	}
}
