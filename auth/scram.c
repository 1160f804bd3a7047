/* scram.c - SCRAM mechanisms, key derivation (RFC 5802 / 7677) and the
 * base64 of the users file (see scram.h). */
#define _POSIX_C_SOURCE 200809L
#include <limits.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "auth/scram.h"

/* ---- mechanisms ---- */

const char *kg_scram_mech_name(int mech)
{
	switch (mech) {
	case KG_SCRAM_SHA_256: return "SCRAM-SHA-256";
	case KG_SCRAM_SHA_512: return "SCRAM-SHA-512";
	default: return NULL;
	}
}

int kg_scram_mech_parse(const char *name)
{
	if (!name)
		return -1;
	if (strcmp(name, "SCRAM-SHA-256") == 0)
		return KG_SCRAM_SHA_256;
	if (strcmp(name, "SCRAM-SHA-512") == 0)
		return KG_SCRAM_SHA_512;
	return -1;
}

size_t kg_scram_keylen(int mech)
{
	switch (mech) {
	case KG_SCRAM_SHA_256: return 32;
	case KG_SCRAM_SHA_512: return 64;
	default: return 0;
	}
}

static const EVP_MD *mech_md(int mech)
{
	return mech == KG_SCRAM_SHA_512 ? EVP_sha512() : EVP_sha256();
}

/* ---- key derivation ---- */

int kg_scram_derive(int mech, const char *password, size_t pwlen, const uint8_t *salt,
		    size_t saltlen, uint32_t iterations, struct kg_scram_cred *out)
{
	size_t kl = kg_scram_keylen(mech);
	uint8_t sp[KG_SCRAM_KEY_MAX], ck[KG_SCRAM_KEY_MAX];
	unsigned int hl = 0;
	int rc = -1;

	if (!kl || !out || (!password && pwlen) || pwlen > INT_MAX || !salt || saltlen == 0 ||
	    saltlen > KG_SCRAM_SALT_MAX || iterations < KG_SCRAM_ITER_MIN ||
	    iterations > KG_SCRAM_ITER_MAX)
		return -1;
	const EVP_MD *md = mech_md(mech);
	memset(out, 0, sizeof(*out));
	if (!PKCS5_PBKDF2_HMAC(pwlen ? password : "", (int)pwlen, salt, (int)saltlen,
			       (int)iterations, md, (int)kl, sp))
		goto done;
	if (!HMAC(md, sp, (int)kl, (const uint8_t *)"Client Key", 10, ck, &hl) || hl != kl)
		goto done;
	if (!EVP_Digest(ck, kl, out->stored_key, &hl, md, NULL) || hl != kl)
		goto done;
	if (!HMAC(md, sp, (int)kl, (const uint8_t *)"Server Key", 10, out->server_key, &hl) ||
	    hl != kl)
		goto done;
	out->present = 1;
	out->mech = (uint8_t)mech;
	out->keylen = (uint8_t)kl;
	out->iterations = iterations;
	out->saltlen = (uint32_t)saltlen;
	memcpy(out->salt, salt, saltlen);
	rc = 0;
done:
	OPENSSL_cleanse(sp, sizeof(sp));
	OPENSSL_cleanse(ck, sizeof(ck));
	if (rc < 0)
		OPENSSL_cleanse(out, sizeof(*out));
	return rc;
}

int kg_scram_check_password(const struct kg_scram_cred *c, const char *password, size_t pwlen)
{
	struct kg_scram_cred t;
	if (!c || !c->present)
		return 0;
	if (kg_scram_derive(c->mech, password, pwlen, c->salt, c->saltlen, c->iterations, &t) < 0)
		return 0;
	int same = CRYPTO_memcmp(t.stored_key, c->stored_key, c->keylen) == 0;
	OPENSSL_cleanse(&t, sizeof(t));
	/* A fake's keys are unrelated to any password, but say no explicitly
	 * rather than rely on that. */
	return same && !c->fake;
}

int kg_scram_verify_proof(const struct kg_scram_cred *c, const char *auth_msg, size_t len,
			  const uint8_t *proof, size_t prooflen, uint8_t *server_sig)
{
	const EVP_MD *md = c && c->present ? mech_md(c->mech) : NULL;
	if (!md || prooflen != c->keylen || len > INT_MAX)
		return 0;
	uint8_t sig[KG_SCRAM_KEY_MAX], ck[KG_SCRAM_KEY_MAX], sk[KG_SCRAM_KEY_MAX];
	unsigned hl = 0, sl = 0, kl = c->keylen;
	int ok = 0;
	/* ClientKey = proof XOR HMAC(StoredKey, AuthMessage); H(ClientKey)
	 * must be StoredKey (RFC 5802 section 3). */
	if (!HMAC(md, c->stored_key, (int)kl, (const uint8_t *)auth_msg, len, sig, &hl) || hl != kl)
		goto done;
	for (unsigned i = 0; i < kl; i++)
		ck[i] = proof[i] ^ sig[i];
	if (!EVP_Digest(ck, kl, sk, &sl, md, NULL) || sl != kl)
		goto done;
	ok = CRYPTO_memcmp(sk, c->stored_key, kl) == 0 && !c->fake;
	if (ok && !HMAC(md, c->server_key, (int)kl, (const uint8_t *)auth_msg, len, server_sig,
			&hl))
		ok = 0;
done:
	OPENSSL_cleanse(sig, sizeof(sig));
	OPENSSL_cleanse(ck, sizeof(ck));
	OPENSSL_cleanse(sk, sizeof(sk));
	return ok;
}

int kg_scram_random_salt(uint8_t *buf, size_t n)
{
	return n <= INT_MAX && RAND_bytes(buf, (int)n) == 1 ? 0 : -1;
}

/* ---- base64 ---- */

long kg_b64_encode(const uint8_t *in, size_t inlen, char *out, size_t outlen)
{
	size_t need = (inlen + 2) / 3 * 4;
	if (inlen > INT_MAX / 2 || outlen < need + 1)
		return -1;
	return EVP_EncodeBlock((unsigned char *)out, in, (int)inlen);
}

static int b64_val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Strict, unlike EVP_DecodeBlock (which skips whitespace and counts padding
 * as data): a verifier must round-trip exactly. */
long kg_b64_decode(const char *in, size_t inlen, uint8_t *out, size_t outlen)
{
	size_t o = 0;
	if (inlen % 4)
		return -1;
	for (size_t i = 0; i < inlen; i += 4) {
		int v[4], pad = 0;
		for (int k = 0; k < 4; k++) {
			unsigned char c = (unsigned char)in[i + k];
			if (c == '=' && i + 4 == inlen && k >= 2) {
				v[k] = 0;
				pad++;
				continue;
			}
			if (pad)
				return -1; /* data after '=' */
			v[k] = b64_val(c);
			if (v[k] < 0)
				return -1;
		}
		uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 |
			     (uint32_t)v[3];
		/* Canonical: bits beyond the data must be zero. */
		if ((pad == 1 && (w & 0xff)) || (pad == 2 && (w & 0xffff)))
			return -1;
		size_t n = 3 - (size_t)pad;
		if (o + n > outlen)
			return -1;
		out[o++] = (uint8_t)(w >> 16);
		if (n > 1)
			out[o++] = (uint8_t)(w >> 8);
		if (n > 2)
			out[o++] = (uint8_t)w;
	}
	return (long)o;
}
