/* users_file.c - reading and writing the users file (users-t.h has its
 * format): every problem is named by its JSON Pointer, writes are atomic. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "auth/users.h"
#include "auth/users-int.h"

/* A users file bigger than this is not a users file (and would be slow to
 * parse on every reload). */
#define KG_USERS_FILE_MAX (64L * 1024 * 1024)

/* ---- error messages ---- */

/* A JSON Pointer being built for an error message; names are escaped per
 * RFC 6901 (~0 ~1) and anything unprintable as \xNN so a hostile key cannot
 * forge log lines. Truncation is harmless here. */
struct jptr {
	char s[300];
	size_t len;
};

static void jp_raw(struct jptr *p, const char *t)
{
	int n = snprintf(p->s + p->len, sizeof(p->s) - p->len, "%s", t);
	if (n > 0)
		p->len = p->len + (size_t)n < sizeof(p->s) ? p->len + (size_t)n : sizeof(p->s) - 1;
}

static void jp_push(struct jptr *p, const char *key)
{
	jp_raw(p, "/");
	for (const unsigned char *k = (const unsigned char *)key; *k && p->len < 200; k++) {
		char t[12];
		if (*k == '~')
			jp_raw(p, "~0");
		else if (*k == '/')
			jp_raw(p, "~1");
		else if (*k == 0xc2 && k[1] >= 0x80 && k[1] <= 0x9f) { /* C1 control */
			snprintf(t, sizeof(t), "\\xc2\\x%02x", k[1]);
			jp_raw(p, t);
			k++;
		} else if (*k < 0x20 || *k == 0x7f) {
			snprintf(t, sizeof(t), "\\x%02x", *k);
			jp_raw(p, t);
		} else {
			t[0] = (char)*k, t[1] = 0;
			jp_raw(p, t);
		}
	}
}

static void jp_pop(struct jptr *p, size_t len)
{
	p->len = len;
	p->s[len] = 0;
}

#define FAIL_AT(jp, ...)                                                    \
	do {                                                                \
		char m_[256];                                               \
		snprintf(m_, sizeof(m_), __VA_ARGS__);                      \
		snprintf(err, errlen, "users file %s: %s: %s", path,        \
			 (jp)->len ? (jp)->s : "top level", m_);            \
		goto fail;                                                  \
	} while (0)

/* ---- loading ---- */

/* Decodes the base64 string member key of obj into out. Returns the byte
 * count or -1 with err set. */
static long load_b64(json_t *obj, const char *key, uint8_t *out, size_t outmax, struct jptr *jp,
		     const char *path, char *err, size_t errlen)
{
	size_t mark = jp->len;
	json_t *v = json_object_get(obj, key);
	jp_push(jp, key);
	if (!v)
		FAIL_AT(jp, "missing");
	if (!json_is_string(v))
		FAIL_AT(jp, "must be a base64 string");
	/* Room for one byte too many so "too long" is told apart from "not
	 * base64" below. */
	uint8_t tmp[KG_SCRAM_SALT_MAX + 4];
	size_t sl = json_string_length(v);
	if (sl > (sizeof(tmp) + 2) / 3 * 4)
		FAIL_AT(jp, "too long (at most %zu bytes)", outmax);
	long n = kg_b64_decode(json_string_value(v), sl, tmp, sizeof(tmp));
	if (n < 0)
		FAIL_AT(jp, "not valid base64");
	if ((size_t)n > outmax)
		FAIL_AT(jp, "too long (at most %zu bytes)", outmax);
	memcpy(out, tmp, (size_t)n);
	OPENSSL_cleanse(tmp, sizeof(tmp));
	jp_pop(jp, mark);
	return n;
fail:
	return -1;
}

static int load_cred(json_t *v, int mech, struct kg_scram_cred *c, struct jptr *jp,
		     const char *path, char *err, size_t errlen)
{
	const char *key;
	json_t *x;
	size_t kl = kg_scram_keylen(mech), mark = jp->len;
	long n;

	if (!json_is_object(v))
		FAIL_AT(jp, "must be an object");
	json_object_foreach(v, key, x) {
		if (strcmp(key, "salt") && strcmp(key, "stored_key") && strcmp(key, "server_key") &&
		    strcmp(key, "iterations")) {
			jp_push(jp, key);
			FAIL_AT(jp, "unknown key (expected salt, stored_key, server_key, iterations)");
		}
	}
	memset(c, 0, sizeof(*c));
	c->mech = (uint8_t)mech;
	c->keylen = (uint8_t)kl;
	n = load_b64(v, "salt", c->salt, sizeof(c->salt), jp, path, err, errlen);
	if (n < 0)
		return -1;
	if (n == 0) {
		jp_push(jp, "salt");
		FAIL_AT(jp, "empty");
	}
	c->saltlen = (uint32_t)n;
	n = load_b64(v, "stored_key", c->stored_key, sizeof(c->stored_key), jp, path, err, errlen);
	if (n < 0)
		return -1;
	if ((size_t)n != kl) {
		jp_push(jp, "stored_key");
		FAIL_AT(jp, "must be %zu bytes for %s, got %ld", kl, kg_scram_mech_name(mech), n);
	}
	n = load_b64(v, "server_key", c->server_key, sizeof(c->server_key), jp, path, err, errlen);
	if (n < 0)
		return -1;
	if ((size_t)n != kl) {
		jp_push(jp, "server_key");
		FAIL_AT(jp, "must be %zu bytes for %s, got %ld", kl, kg_scram_mech_name(mech), n);
	}
	x = json_object_get(v, "iterations");
	jp_push(jp, "iterations");
	if (!x)
		FAIL_AT(jp, "missing");
	if (!json_is_integer(x))
		FAIL_AT(jp, "must be an integer");
	json_int_t it = json_integer_value(x);
	if (it < KG_SCRAM_ITER_MIN || it > KG_SCRAM_ITER_MAX)
		FAIL_AT(jp, "%lld is outside %d..%d", (long long)it, KG_SCRAM_ITER_MIN,
			KG_SCRAM_ITER_MAX);
	c->iterations = (uint32_t)it;
	c->present = 1;
	jp_pop(jp, mark);
	return 0;
fail:
	OPENSSL_cleanse(c, sizeof(*c));
	return -1;
}

static const char *const name_problem[] = {
	"", "empty user name", "user name longer than 512 bytes", "user name is not valid UTF-8",
	"user name contains a control character",
};

/* Fills u from the parsed document. */
static int load_doc(struct kg_users *u, json_t *root, const char *path, char *err, size_t errlen)
{
	struct jptr jp = {.len = 0};
	const char *key;
	json_t *v;

	jp.s[0] = 0;
	if (!json_is_object(root))
		FAIL_AT(&jp, "must be an object");
	json_object_foreach(root, key, v) {
		if (strcmp(key, "version") && strcmp(key, "users") && strcmp(key, "decoy_key")) {
			jp_push(&jp, key);
			FAIL_AT(&jp, "unknown key (expected version, users, decoy_key)");
		}
	}
	if (json_object_get(root, "decoy_key")) {
		long kl = load_b64(root, "decoy_key", u->decoy_key, sizeof(u->decoy_key), &jp, path,
				   err, errlen);
		if (kl < 0)
			return -1;
		jp_push(&jp, "decoy_key");
		if (kl != (long)sizeof(u->decoy_key))
			FAIL_AT(&jp, "must be %zu bytes", sizeof(u->decoy_key));
		jp_pop(&jp, 0);
		u->has_decoy_key = 1;
	}
	v = json_object_get(root, "version");
	jp_push(&jp, "version");
	if (!v)
		FAIL_AT(&jp, "missing");
	if (!json_is_integer(v) || json_integer_value(v) != 1)
		FAIL_AT(&jp, "must be 1");
	jp_pop(&jp, 0);
	json_t *users = json_object_get(root, "users");
	jp_push(&jp, "users");
	if (!users)
		FAIL_AT(&jp, "missing");
	if (!json_is_object(users))
		FAIL_AT(&jp, "must be an object");
	size_t n = json_object_size(users);
	u->user = calloc(n ? n : 1, sizeof(*u->user));
	if (!u->user)
		FAIL_AT(&jp, "out of memory");
	u->cap = n ? n : 1;
	const char *name;
	json_t *uv;
	json_object_foreach(users, name, uv) {
		size_t m1 = jp.len;
		/* jansson keys are NUL-terminated: a key with an embedded NUL is
		 * refused by the parser, so strlen is the real length. */
		int bad = kg_users_name_check(name, strlen(name));
		jp_push(&jp, name);
		if (bad)
			FAIL_AT(&jp, "%s", name_problem[bad]);
		if (!json_is_object(uv))
			FAIL_AT(&jp, "must be an object");
		struct kg_user *e = &u->user[u->n];
		e->name = strdup(name);
		if (!e->name)
			FAIL_AT(&jp, "out of memory");
		u->n++;
		const char *mk;
		json_t *mv;
		json_object_foreach(uv, mk, mv) {
			size_t m2 = jp.len;
			int mech = kg_scram_mech_parse(mk);
			jp_push(&jp, mk);
			if (mech < 0)
				FAIL_AT(&jp, "unknown mechanism (expected SCRAM-SHA-256 or SCRAM-SHA-512)");
			if (load_cred(mv, mech, &e->cred[mech], &jp, path, err, errlen) < 0)
				return -1;
			jp_pop(&jp, m2);
		}
		if (!e->cred[0].present && !e->cred[1].present)
			FAIL_AT(&jp, "no credentials (expected SCRAM-SHA-256 and/or SCRAM-SHA-512)");
		jp_pop(&jp, m1);
	}
	/* Keys are unique (JSON_REJECT_DUPLICATES) so sorting gives a strict
	 * order for the binary search. */
	qsort(u->user, u->n, sizeof(*u->user), kg_users_cmp);
	if (kg_users_stats(u) < 0) {
		snprintf(err, errlen, "users file %s: out of memory", path);
		return -1;
	}
	return 0;
fail:
	return -1;
}

struct kg_users *kg_users_load(const char *path, char *err, size_t errlen)
{
	struct kg_users *u = NULL;
	char *buf = NULL;
	size_t len = 0;
	json_t *root = NULL;
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "users file %s: %s", path, strerror(e));
		errno = e;
		return NULL;
	}
	/* Checked on the open descriptor: what we read is what we checked. */
	if (fstat(fd, &st) < 0) {
		snprintf(err, errlen, "users file %s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "users file %s: not a regular file", path);
		goto out;
	}
	if (st.st_mode & 077) {
		snprintf(err, errlen,
			 "users file %s: mode %04o gives group/other access; it holds password "
			 "verifiers: chmod 600 %s",
			 path, (unsigned)(st.st_mode & 07777), path);
		goto out;
	}
	if (st.st_size > KG_USERS_FILE_MAX) {
		snprintf(err, errlen, "users file %s: larger than %ld bytes", path,
			 KG_USERS_FILE_MAX);
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		snprintf(err, errlen, "users file %s: out of memory", path);
		goto out;
	}
	while (len < (size_t)st.st_size + 1) { /* +1 notices a file that grew */
		ssize_t r = read(fd, buf + len, (size_t)st.st_size + 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, errlen, "users file %s: %s", path, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	if (len > (size_t)st.st_size) {
		snprintf(err, errlen, "users file %s: changed while being read", path);
		goto out;
	}
	json_error_t je;
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		snprintf(err, errlen, "users file %s: line %d column %d: %s", path, je.line,
			 je.column, je.text);
		goto out;
	}
	u = kg_users_new();
	if (!u) {
		snprintf(err, errlen, "users file %s: out of memory", path);
		goto out;
	}
	if (load_doc(u, root, path, err, errlen) < 0) {
		kg_users_release(u);   /* the only reference: frees and wipes */
		u = NULL;
	}
out:
	if (buf) {
		OPENSSL_cleanse(buf, len);
		free(buf);
	}
	json_decref(root);
	close(fd);
	if (!u)
		errno = EINVAL;
	return u;
}

/* ---- saving ---- */

static json_t *b64_json(const uint8_t *p, size_t n)
{
	char s[(KG_SCRAM_SALT_MAX + 2) / 3 * 4 + 1];
	if (kg_b64_encode(p, n, s, sizeof(s)) < 0)
		return NULL;
	return json_string(s);
}

static json_t *users_json(const struct kg_users *u)
{
	json_t *root = json_object(), *users = json_object();
	if (!root || !users || json_object_set_new(root, "version", json_integer(1)) < 0 ||
	    json_object_set(root, "users", users) < 0)
		goto fail;
	if (u->has_decoy_key &&
	    json_object_set_new(root, "decoy_key", b64_json(u->decoy_key, sizeof(u->decoy_key))) < 0)
		goto fail;
	for (size_t i = 0; i < u->n; i++) {
		json_t *uo = json_object();
		if (!uo || json_object_set_new(users, u->user[i].name, uo) < 0)
			goto fail;
		for (int m = 0; m < KG_SCRAM_NMECH; m++) {
			const struct kg_scram_cred *c = &u->user[i].cred[m];
			if (!c->present)
				continue;
			json_t *co = json_object();
			if (!co || json_object_set_new(uo, kg_scram_mech_name(m), co) < 0 ||
			    json_object_set_new(co, "salt", b64_json(c->salt, c->saltlen)) < 0 ||
			    json_object_set_new(co, "stored_key", b64_json(c->stored_key, c->keylen)) < 0 ||
			    json_object_set_new(co, "server_key", b64_json(c->server_key, c->keylen)) < 0 ||
			    json_object_set_new(co, "iterations", json_integer(c->iterations)) < 0)
				goto fail;
		}
	}
	json_decref(users);
	return root;
fail:
	json_decref(users);
	json_decref(root);
	return NULL;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int kg_users_save(const struct kg_users *u, const char *path, char *err, size_t errlen)
{
	json_t *root = users_json(u);
	char *text = NULL, *tmp = NULL, *dir = NULL;
	int fd = -1, rc = -1;

	if (!root || !(text = json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS))) {
		snprintf(err, errlen, "users file %s: out of memory", path);
		goto out;
	}
	size_t plen = strlen(path);
	tmp = malloc(plen + 16);
	dir = strdup(path);
	if (!tmp || !dir) {
		snprintf(err, errlen, "users file %s: out of memory", path);
		goto out;
	}
	/* Same directory, so rename() is atomic and never crosses devices. */
	snprintf(tmp, plen + 16, "%s.tmp.XXXXXX", path);
	fd = mkstemp(tmp); /* mode 0600 */
	if (fd < 0) {
		snprintf(err, errlen, "users file %s: cannot create a temporary file: %s", path,
			 strerror(errno));
		goto out;
	}
	if (fchmod(fd, 0600) < 0 || write_all(fd, text, strlen(text)) < 0 ||
	    write_all(fd, "\n", 1) < 0 || fsync(fd) < 0) {
		snprintf(err, errlen, "users file %s: writing %s: %s", path, tmp, strerror(errno));
		goto out;
	}
	if (close(fd) < 0) {
		fd = -1;
		snprintf(err, errlen, "users file %s: writing %s: %s", path, tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		snprintf(err, errlen, "users file %s: rename: %s", path, strerror(errno));
		goto out;
	}
	free(tmp);
	tmp = NULL;
	/* Make the rename itself durable. */
	char *slash = strrchr(dir, '/');
	const char *d = ".";
	if (slash == dir)
		d = "/";
	else if (slash) {
		*slash = 0;
		d = dir;
	}
	int dfd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (tmp) {
		unlink(tmp);
		free(tmp);
	}
	if (text) {
		OPENSSL_cleanse(text, strlen(text));
		free(text);
	}
	free(dir);
	json_decref(root);
	return rc;
}
