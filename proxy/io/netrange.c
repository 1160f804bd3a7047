/* netrange.c - address keys and CIDR ranges (see netrange.h). */
#define _GNU_SOURCE
#include "io/netrange.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

bool kg_net_addr_key(const struct sockaddr *sa, uint8_t out[16])
{
	if (sa && sa->sa_family == AF_INET) {
		memset(out, 0, 10);
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return true;
	}
	if (sa && sa->sa_family == AF_INET6) {
		memcpy(out, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
		return true;
	}
	return false;
}

int kg_net_range_parse(const char *s, struct kg_net_range *r, char *err, size_t errlen)
{
	char a[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	memset(r, 0, sizeof(*r));
	if (alen == 0 || alen >= sizeof(a))
		goto bad;
	memcpy(a, s, alen);
	a[alen] = '\0';
	unsigned max;
	if (inet_pton(AF_INET, a, r->addr + 12) == 1) {
		r->addr[10] = r->addr[11] = 0xff;
		r->v4 = 1;
		max = 32;
	} else if (inet_pton(AF_INET6, a, r->addr) == 1) {
		max = 128;
	} else {
		goto bad;
	}
	unsigned bits = max;
	if (slash) {
		const char *d = slash + 1;
		if (*d == '\0' || strlen(d) > 3)
			goto bad;
		bits = 0;
		for (; *d; d++) {
			if (*d < '0' || *d > '9')
				goto bad;
			bits = bits * 10 + (unsigned)(*d - '0');
		}
		if (bits > max)
			goto bad;
	}
	r->bits = (uint8_t)(bits + (r->v4 ? 96 : 0));
	for (unsigned b = r->bits; b < 128; b++) {
		if (r->addr[b / 8] & (0x80 >> (b % 8))) {
			char net[64];
			struct kg_net_range z = *r;
			for (unsigned k = r->bits; k < 128; k++)
				z.addr[k / 8] &= (uint8_t)~(0x80 >> (k % 8));
			kg_net_range_format(&z, net, sizeof(net));
			snprintf(err, errlen, "'%s' has bits set past its prefix length (the "
				 "network is %s)", s, net);
			return -1;
		}
	}
	return 0;
bad:
	snprintf(err, errlen, "'%s' is not an IPv4/IPv6 address or CIDR range", s);
	return -1;
}

bool kg_net_range_contains(const struct kg_net_range *r, const uint8_t addr[16])
{
	unsigned full = r->bits / 8, rest = r->bits % 8;
	if (memcmp(r->addr, addr, full) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t m = (uint8_t)(0xff00u >> rest);
	return (addr[full] & m) == r->addr[full];
}

void kg_net_range_format(const struct kg_net_range *r, char *buf, size_t cap)
{
	char a[INET6_ADDRSTRLEN];
	if (r->v4) {
		inet_ntop(AF_INET, r->addr + 12, a, sizeof(a));
		snprintf(buf, cap, "%s/%u", a, r->bits - 96u);
	} else {
		inet_ntop(AF_INET6, r->addr, a, sizeof(a));
		snprintf(buf, cap, "%s/%u", a, (unsigned)r->bits);
	}
}
