/* addr_util.h - socket addresses for unit tests (include after cmocka.h). */
#ifndef KG_TEST_ADDR_UTIL_H
#define KG_TEST_ADDR_UTIL_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

/* ip (IPv4 or IPv6 text) as a socket address; fails the test when bad. */
static inline struct sockaddr_storage test_addr(const char *ip)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	struct sockaddr_in *in = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, ip, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
	} else {
		assert_int_equal(inet_pton(AF_INET6, ip, &in6->sin6_addr), 1);
		in6->sin6_family = AF_INET6;
	}
	return ss;
}

/* The n-th address of 10.0.0.0/8, for floods of distinct clients. */
static inline struct sockaddr_storage test_addr_nth(uint32_t n)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	struct sockaddr_in *in = (struct sockaddr_in *)&ss;
	in->sin_family = AF_INET;
	in->sin_addr.s_addr = htonl(0x0a000000u + n);
	return ss;
}

#define SA(ss) ((const struct sockaddr *)&(ss))

#endif
