/* chain.c - forming and reading the chain fields of audit record lines.
 *
 *   {"v":1,"seq":42,"time":"...","type":"...",...,"prev":"<64 hex>","hash":"<64 hex>"}
 *   \__________________ hashed text ______________________________/
 *
 * The hash covers the exact bytes written (no JSON canonicalisation to get
 * wrong): SHA-256 over the previous record's hash (32 raw bytes) followed
 * by the line up to ',"hash":'. The optional "hmac" is HMAC-SHA-256 of that
 * hash under a secret key, so a rewritten chain cannot be made to verify
 * without the key. The fixed-width tail lets the verifier read a record
 * without a JSON parser.
 */
#include "audit/chain.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEX_LEN (2 * KG_AUDIT_HASH_LEN)
#define PREV_KEY ",\"prev\":\""
#define HASH_KEY ",\"hash\":\""
#define HMAC_KEY ",\"hmac\":\""
#define KEY_LEN 9                      /* strlen of each of the above */
#define TAIL_LEN (KEY_LEN + HEX_LEN + 1) /* ,"xxxx":"<hex>" */

void kg_audit_hex(const uint8_t *b, size_t n, char *out)
{
	static const char d[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = d[b[i] >> 4];
		out[2 * i + 1] = d[b[i] & 15];
	}
	out[2 * n] = '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int kg_audit_unhex(const char *s, size_t n, uint8_t *out)
{
	for (size_t i = 0; i < n; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/* Per thread: digest contexts reused for every record (creating them, or
 * an implicit algorithm fetch, costs as much as hashing a short line), and
 * the HMAC key's inner and outer states (RFC 2104), computed once per key:
 * a one-shot HMAC() costs five times more. Freed when the thread ends. */
struct hctx {
	EVP_MD_CTX *h;                 /* record hashes */
	EVP_MD_CTX *in, *out, *tmp;    /* after (K ^ ipad), (K ^ opad); scratch */
	uint8_t key[1024];             /* key the states belong to */
	size_t keylen;                 /* its length, 0: none yet */
};

static EVP_MD *sha256;                 /* fetched once */
static pthread_key_t hkey;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void hctx_free(void *p)
{
	struct hctx *x = p;
	EVP_MD_CTX_free(x->h);
	EVP_MD_CTX_free(x->in);
	EVP_MD_CTX_free(x->out);
	EVP_MD_CTX_free(x->tmp);
	OPENSSL_cleanse(x->key, sizeof(x->key));
	free(x);
}

static void init_once(void)
{
	sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	pthread_key_create(&hkey, hctx_free);
}

static const EVP_MD *md(void)
{
	return sha256 ? sha256 : EVP_sha256();
}

static struct hctx *hctx(void)
{
	pthread_once(&once, init_once);
	struct hctx *x = pthread_getspecific(hkey);
	if (x)
		return x;
	x = calloc(1, sizeof(*x));
	if (!x)
		return NULL;
	x->h = EVP_MD_CTX_new();
	x->in = EVP_MD_CTX_new();
	x->out = EVP_MD_CTX_new();
	x->tmp = EVP_MD_CTX_new();
	if (!x->h || !x->in || !x->out || !x->tmp || pthread_setspecific(hkey, x) != 0) {
		hctx_free(x);
		return NULL;
	}
	return x;
}

void kg_audit_chain_hash(const uint8_t prev[KG_AUDIT_HASH_LEN], const char *text, size_t len,
			 uint8_t out[KG_AUDIT_HASH_LEN])
{
	struct hctx *x = hctx();
	unsigned int n = 0;
	if (!x || EVP_DigestInit_ex(x->h, md(), NULL) != 1 ||
	    EVP_DigestUpdate(x->h, prev, KG_AUDIT_HASH_LEN) != 1 ||
	    EVP_DigestUpdate(x->h, text, len) != 1 || EVP_DigestFinal_ex(x->h, out, &n) != 1)
		memset(out, 0, KG_AUDIT_HASH_LEN);  /* never verifies: visible */
}

static int hmac_prepare(struct hctx *x, const uint8_t *key, size_t keylen)
{
	if (x->keylen == keylen && memcmp(x->key, key, keylen) == 0)
		return 0;
	if (keylen > sizeof(x->key))
		return -1;
	uint8_t k0[64] = { 0 }, ipad[64], opad[64];
	unsigned int n = 0;
	if (keylen > sizeof(k0)) {
		if (EVP_Digest(key, keylen, k0, &n, md(), NULL) != 1)
			return -1;
	} else {
		memcpy(k0, key, keylen);
	}
	for (int i = 0; i < 64; i++) {
		ipad[i] = k0[i] ^ 0x36;
		opad[i] = k0[i] ^ 0x5c;
	}
	x->keylen = 0;
	if (EVP_DigestInit_ex(x->in, md(), NULL) != 1 || EVP_DigestUpdate(x->in, ipad, 64) != 1 ||
	    EVP_DigestInit_ex(x->out, md(), NULL) != 1 || EVP_DigestUpdate(x->out, opad, 64) != 1)
		return -1;
	OPENSSL_cleanse(k0, sizeof(k0));
	memcpy(x->key, key, keylen);
	x->keylen = keylen;
	return 0;
}

void kg_audit_chain_hmac(const uint8_t *key, size_t keylen, const uint8_t hash[KG_AUDIT_HASH_LEN],
			 uint8_t out[KG_AUDIT_HASH_LEN])
{
	struct hctx *x = hctx();
	uint8_t inner[KG_AUDIT_HASH_LEN];
	unsigned int n = 0;
	if (!x || keylen == 0 || hmac_prepare(x, key, keylen) < 0 ||
	    EVP_MD_CTX_copy_ex(x->tmp, x->in) != 1 ||
	    EVP_DigestUpdate(x->tmp, hash, KG_AUDIT_HASH_LEN) != 1 ||
	    EVP_DigestFinal_ex(x->tmp, inner, &n) != 1 || EVP_MD_CTX_copy_ex(x->tmp, x->out) != 1 ||
	    EVP_DigestUpdate(x->tmp, inner, sizeof(inner)) != 1 ||
	    EVP_DigestFinal_ex(x->tmp, out, &n) != 1)
		memset(out, 0, KG_AUDIT_HASH_LEN);
}

int kg_audit_buf_reserve(struct kg_audit_buf *b, size_t more)
{
	if (b->len + more <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 4096;
	while (cap < b->len + more)
		cap *= 2;
	char *p = realloc(b->p, cap);
	if (!p)
		return -1;
	b->p = p;
	b->cap = cap;
	return 0;
}

void kg_audit_buf_free(struct kg_audit_buf *b)
{
	free(b->p);
	*b = (struct kg_audit_buf){ 0 };
}

int kg_audit_chain_append(struct kg_audit_buf *b, uint64_t seq, const char *body, size_t blen,
			  uint8_t prev[KG_AUDIT_HASH_LEN], const uint8_t *key, size_t keylen)
{
	/* body is "{...}": its inside goes between our head and tail. */
	const char *in = blen >= 2 ? body + 1 : "";
	size_t inlen = blen >= 2 ? blen - 2 : 0;
	if (kg_audit_buf_reserve(b, inlen + 64 + 3 * TAIL_LEN + 4) < 0)
		return -1;
	char *start = b->p + b->len, *p = start;
	p += sprintf(p, "{\"v\":%d,\"seq\":%llu%s", KG_AUDIT_SCHEMA, (unsigned long long)seq,
		     inlen ? "," : "");
	memcpy(p, in, inlen);
	p += inlen;
	memcpy(p, PREV_KEY, KEY_LEN);
	p += KEY_LEN;
	kg_audit_hex(prev, KG_AUDIT_HASH_LEN, p);
	p += HEX_LEN;
	*p++ = '"';
	uint8_t h[KG_AUDIT_HASH_LEN];
	kg_audit_chain_hash(prev, start, (size_t)(p - start), h);
	memcpy(p, HASH_KEY, KEY_LEN);
	p += KEY_LEN;
	kg_audit_hex(h, KG_AUDIT_HASH_LEN, p);
	p += HEX_LEN;
	*p++ = '"';
	if (key) {
		uint8_t m[KG_AUDIT_HASH_LEN];
		kg_audit_chain_hmac(key, keylen, h, m);
		memcpy(p, HMAC_KEY, KEY_LEN);
		p += KEY_LEN;
		kg_audit_hex(m, KG_AUDIT_HASH_LEN, p);
		p += HEX_LEN;
		*p++ = '"';
	}
	*p++ = '}';
	*p++ = '\n';
	b->len += (size_t)(p - start);
	memcpy(prev, h, KG_AUDIT_HASH_LEN);
	return 0;
}

/* Reads ,"<key>":"<64 hex>" at s. */
static int tail_field(const char *s, const char *key, uint8_t out[KG_AUDIT_HASH_LEN])
{
	if (memcmp(s, key, KEY_LEN) != 0 || s[TAIL_LEN - 1] != '"')
		return -1;
	return kg_audit_unhex(s + KEY_LEN, KG_AUDIT_HASH_LEN, out);
}

int kg_audit_chain_parse(const char *line, size_t len, struct kg_audit_rec *r)
{
	static const char head[] = "{\"v\":";
	memset(r, 0, sizeof(*r));
	if (len < sizeof(head) + 2 * TAIL_LEN + 8 || line[len - 1] != '}' ||
	    memcmp(line, head, sizeof(head) - 1) != 0)
		return -1;
	size_t end = len - 1;                      /* the closing brace */
	if (end >= 3 * TAIL_LEN && tail_field(line + end - TAIL_LEN, HMAC_KEY, r->hmac) == 0) {
		r->has_hmac = true;
		end -= TAIL_LEN;
	}
	if (end < 2 * TAIL_LEN || tail_field(line + end - TAIL_LEN, HASH_KEY, r->hash) < 0)
		return -1;
	end -= TAIL_LEN;
	r->text_len = end;
	if (tail_field(line + end - TAIL_LEN, PREV_KEY, r->prev) < 0)
		return -1;
	/* "seq" right after the schema version. */
	const char *p = line + sizeof(head) - 1, *lim = line + end;
	while (p < lim && *p >= '0' && *p <= '9')
		p++;
	static const char seqkey[] = ",\"seq\":";
	if (p == line + sizeof(head) - 1 || lim - p < (long)sizeof(seqkey) ||
	    memcmp(p, seqkey, sizeof(seqkey) - 1) != 0)
		return -1;
	p += sizeof(seqkey) - 1;
	const char *digits = p;
	uint64_t seq = 0;
	while (p < lim && *p >= '0' && *p <= '9' && p - digits < 20)
		seq = seq * 10 + (uint64_t)(*p++ - '0');
	if (p == digits || *p != ',')
		return -1;
	r->seq = seq;
	/* "type": the writer puts "time" first and "type" second, and no
	 * string value can hold an unescaped quote, so the first match is it. */
	static const char typekey[] = "\"type\":\"";
	for (const char *q = p; q + sizeof(typekey) < lim; q++) {
		if (*q == '"' && memcmp(q, typekey, sizeof(typekey) - 1) == 0) {
			const char *v = q + sizeof(typekey) - 1;
			const char *e = memchr(v, '"', (size_t)(lim - v));
			if (!e)
				return -1;
			r->type = v;
			r->type_len = (size_t)(e - v);
			break;
		}
		if (q - p > 128)
			break;                     /* "type" is near the start */
	}
	return 0;
}
