/* net.h - socket helpers: resolve, listen, non-blocking connect. */
#ifndef KG_NET_H
#define KG_NET_H

#include <stdint.h>
#include <sys/socket.h>

/* A resolved socket address. */
struct kg_addr {
	struct sockaddr_storage ss;    /* the address */
	socklen_t len;                 /* its length */
};

/* Resolves host:port (blocking getaddrinfo; numeric hosts never block).
 * Returns 0 or -1 with a message in err. */
int kg_net_resolve(const char *host, uint16_t port, struct kg_addr *out,
		   char *err, size_t errlen);
/* Non-blocking listening socket with SO_REUSEADDR and SO_REUSEPORT, so each
 * worker thread can bind its own socket to the same port. -1 on error. */
int kg_net_listen(const char *host, uint16_t port, char *err, size_t errlen);
/* Starts a non-blocking connect; returns the fd (connect may be pending). */
int kg_net_connect(const struct kg_addr *a);
/* TCP_NODELAY and close-on-exec/non-blocking on an accepted socket. */
void kg_net_tune(int fd);
/* "1.2.3.4:5" or "[::1]:5" into buf. */
const char *kg_net_addr_str(const struct sockaddr *sa, char *buf, size_t len);
/* The address alone: "192.0.2.1", "2001:db8::1" (no port). */
const char *kg_net_host_str(const struct sockaddr *sa, char *buf, size_t len);

#endif
