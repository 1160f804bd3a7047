/* limiter.h - failed logins per client address: after max_failures within
 * the window, the address is refused for block_ms. Other addresses are
 * never slowed. Thread safe. */
#ifndef KG_LIMITER_H
#define KG_LIMITER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

void kg_limiter_configure(uint32_t max_failures, uint32_t window_ms, uint32_t block_ms);
/* True while the address is blocked. */
bool kg_limiter_blocked(const struct sockaddr *sa);
/* Counts one failed authentication; true when it just got blocked. */
bool kg_limiter_fail(const struct sockaddr *sa);

#endif
