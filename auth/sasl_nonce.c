/* sasl_nonce.c - the SCRAM nonce compatibility of listen.auth.scram_nonce
 * "suffix" (see sasl-int.h).
 *
 * RFC 5802 wants client-final's r= to be exactly the nonce the server sent
 * (the client's nonce followed by the server's part); Kafka 4.x checks that.
 * librdkafka before 2.6.1 sends the client's nonce twice: r=<cnonce><cnonce>
 * <snonce>. Kafka before 3.7.2 / 3.8.1 did not look at r= at all
 * (CVE-2024-56128); 3.8.1-3.9 accepted any r= that ends with the server's
 * nonce. This file does what 3.8.1-3.9 did, and no more: the whole nonce the
 * server sent must end r=, and the proof covers r= as the client sent it,
 * so a proof can never be replayed into another exchange. cyrus (RFC 5802)
 * refuses such a message, so the proof is checked here.
 */
#define _POSIX_C_SOURCE 200809L
#include "auth/sasl-int.h"
#include "auth/sasl.h"
#include "auth/scram.h"
#include "auth/users.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

/* The value of attribute k ("r", "p") in a SCRAM message: its bytes up to
 * the next ',' (or the end); NULL when absent. Attributes are at the start
 * or after a ','. */
static const char *attr(const char *msg, size_t len, char k, size_t *vlen)
{
	for (size_t i = 0; i + 1 < len; i++) {
		if ((i == 0 || msg[i - 1] == ',') && msg[i] == k && msg[i + 1] == '=') {
			const char *v = msg + i + 2, *end = msg + len;
			const char *c = memchr(v, ',', (size_t)(end - v));
			*vlen = (size_t)((c ? c : end) - v);
			return v;
		}
	}
	return NULL;
}

int kg_sasl_final_by_suffix(struct kg_sasl_sess *s, const char *in, size_t len,
			    const char **why)
{
	size_t cn, sn, pn;
	const char *cr = attr(in, len, 'r', &cn);
	const char *sr = s->server_first ? attr(s->server_first, s->server_first_len, 'r', &sn)
					 : NULL;
	/* client-final-without-proof ends where ",p=" starts, and p= is last. */
	const char *p = NULL;
	for (size_t i = len; i >= 3 && !p; i--)
		if (memcmp(in + i - 3, ",p=", 3) == 0)
			p = in + i;
	if (!cr || !sr || !p)
		return KG_SASL_CONTINUE;
	pn = (size_t)(in + len - p);
	if (cn == sn || cn < sn || memcmp(cr + cn - sn, sr, sn) != 0 || cr > p)
		return KG_SASL_CONTINUE;   /* exact, or not ours to accept */
	uint8_t proof[KG_SCRAM_KEY_MAX + 4];
	long plen = kg_b64_decode(p, pn, proof, sizeof(proof));
	size_t without = (size_t)(p - 3 - in);
	size_t mlen = s->first_bare_len + 1 + s->server_first_len + 1 + without;
	char *msg = malloc(mlen);
	if (!msg)
		return (*why = "out of memory", KG_SASL_FAIL);
	memcpy(msg, s->first_bare, s->first_bare_len);
	msg[s->first_bare_len] = ',';
	memcpy(msg + s->first_bare_len + 1, s->server_first, s->server_first_len);
	msg[s->first_bare_len + 1 + s->server_first_len] = ',';
	memcpy(msg + s->first_bare_len + 2 + s->server_first_len, in, without);
	/* The same credential the exchange was started with (the set held
	 * by the session; a made-up one for an unknown user never verifies). */
	struct kg_scram_cred fake;
	const struct kg_scram_cred *c = kg_users_scram(s->users, s->expect_user, s->mech, &fake);
	uint8_t sig[KG_SCRAM_KEY_MAX];
	int ok = plen > 0 && c && kg_scram_verify_proof(c, msg, mlen, proof, (size_t)plen, sig);
	OPENSSL_cleanse(msg, mlen);
	free(msg);
	OPENSSL_cleanse(proof, sizeof(proof));
	OPENSSL_cleanse(&fake, sizeof(fake));
	if (!ok)
		return (*why = "SCRAM proof does not verify (nonce by suffix)", KG_SASL_FAIL);
	memcpy(s->server_final, "v=", 2);
	long n = kg_b64_encode(sig, c->keylen, s->server_final + 2, sizeof(s->server_final) - 2);
	OPENSSL_cleanse(sig, sizeof(sig));
	if (n < 0 || strlen(s->expect_user) > KG_USER_NAME_MAX)
		return (*why = "SCRAM server-final does not fit", KG_SASL_FAIL);
	memcpy(s->user, s->expect_user, strlen(s->expect_user) + 1);
	s->nonce_suffix_used = true;
	s->state = KG_SASL_ST_DONE;
	return KG_SASL_DONE;
}
