/* netrange.h - client addresses as 16-byte keys and CIDR ranges of them.
 * IPv4 is kept as IPv4-mapped IPv6 (::ffff:a.b.c.d), so a client seen on a
 * dual-stack socket and one seen on an IPv4 socket compare the same way.
 * Used by the ACL host rules, the login limiter and connection admission. */
#ifndef KG_IO_NETRANGE_H
#define KG_IO_NETRANGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct kg_net_range {
	uint8_t addr[16];              /* network address, host bits zero */
	uint8_t bits;                  /* prefix length, 0..128 (IPv4: 96+n) */
	uint8_t v4;                    /* 1: written as IPv4 (for rendering) */
};

/* The 16-byte key of an IP socket address; false for other families
 * (unix sockets). */
bool kg_net_addr_key(const struct sockaddr *sa, uint8_t out[16]);
/* "10.0.0.0/8", "192.168.1.7", "::1/128" -> r. -1 with a message in err
 * for anything else, including host bits set past the prefix (a typo in
 * the address or the length: guessing which would widen or narrow it). */
int kg_net_range_parse(const char *s, struct kg_net_range *r, char *err, size_t errlen);
/* Whether a 16-byte address key is inside r. */
bool kg_net_range_contains(const struct kg_net_range *r, const uint8_t addr[16]);
/* Writes "10.0.0.0/8" or "::1/128" into buf (at least 64 bytes). */
void kg_net_range_format(const struct kg_net_range *r, char *buf, size_t cap);

#endif
