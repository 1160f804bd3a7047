/* limiter.h - failed logins, counted per (client address, user name) pair:
 * after max_failures within the window that pair is refused for block_ms
 * (its logins fail, with the broker's error after the failure delay), while
 * other users from the same address - a NAT, a pod network - go on. A
 * coarse cap per address, counting only the failures of pairs that are not
 * refused yet, stops one address trying many names; only then is the
 * address refused at accept. Thread safe; fixed memory. */
#ifndef KG_AUTH_LIMITER_H
#define KG_AUTH_LIMITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* max_failures 0: no limits at all. max_address_failures 0: no address cap.
 * False when no random key could be made for the user-name hash. */
bool kg_limiter_configure(uint32_t max_failures, uint32_t window_ms, uint32_t block_ms,
			  uint32_t max_address_failures);
/* True while the address as a whole is refused (the coarse cap). */
bool kg_limiter_address_blocked(const struct sockaddr *sa);
/* True while this user's logins from this address are refused. */
bool kg_limiter_user_blocked(const struct sockaddr *sa, const char *user, size_t len);

enum kg_limit {
	KG_LIMIT_NONE,                 /* counted, nothing refused yet */
	KG_LIMIT_USER,                 /* the pair is refused from now on */
	KG_LIMIT_ADDRESS               /* the whole address is, from now on */
};
/* Counts one failed login of user (may be empty: none was named). */
enum kg_limit kg_limiter_fail(const struct sockaddr *sa, const char *user, size_t len);

#endif
