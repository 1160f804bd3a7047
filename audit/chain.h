/* chain.h - the hash chain of audit records: how a line is formed and
 * checked. Shared by the writer and `audit verify` (see audit-t.h). */
#ifndef KG_AUDIT_CHAIN_H
#define KG_AUDIT_CHAIN_H

#include <stddef.h>
#include <stdint.h>

#include "audit/audit-t.h"

/* Lowercase hex of n bytes into out (2n + 1 bytes with the NUL). */
void kg_audit_hex(const uint8_t *b, size_t n, char *out);
/* 2n hex digits into n bytes. 0, or -1 on a bad digit. */
int kg_audit_unhex(const char *s, size_t n, uint8_t *out);

/* hash = SHA-256(prev || text[0..len)). */
void kg_audit_chain_hash(const uint8_t prev[KG_AUDIT_HASH_LEN], const char *text, size_t len,
			 uint8_t out[KG_AUDIT_HASH_LEN]);
/* hmac = HMAC-SHA-256(key, hash). */
void kg_audit_chain_hmac(const uint8_t *key, size_t keylen, const uint8_t hash[KG_AUDIT_HASH_LEN],
			 uint8_t out[KG_AUDIT_HASH_LEN]);

/* Appends the record line (with "\n") for an event body ("{...}", the
 * compact JSON of the event without chain fields) to b, as record `seq`
 * following prev; prev becomes this record's hash. key may be NULL (no
 * HMAC). Returns 0, or -1 when out of memory (b and prev unchanged). */
int kg_audit_chain_append(struct kg_audit_buf *b, uint64_t seq, const char *body, size_t blen,
			  uint8_t prev[KG_AUDIT_HASH_LEN], const uint8_t *key, size_t keylen);

/* Reads the chain fields of one line (without its "\n"). 0, or -1 when
 * the line is not shaped like a record. Hashes are not checked here. */
int kg_audit_chain_parse(const char *line, size_t len, struct kg_audit_rec *r);

/* Buffer helpers. */
int kg_audit_buf_reserve(struct kg_audit_buf *b, size_t more);
void kg_audit_buf_free(struct kg_audit_buf *b);

#endif
