/* Parses snug's listen addresses and binds them, the same way for the agent's endpoints and the webhook. */
#include "agent/http/listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "agent/util/cleanup.h"
#include "agent/util/parse.h"

int http_listen_parse(const char *s, struct http_listen_address *ret)
{
	struct http_listen_address a = {};
	char host[INET6_ADDRSTRLEN + 1];
	const char *port_s;
	uint64_t port;
	bool bracketed;

	if (!s || !ret)
		return -EINVAL;
	bracketed = s[0] == '[';
	if (bracketed) {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':' || (size_t)(close - s - 1) >= sizeof(host))
			return -EINVAL;
		memcpy(host, s + 1, (size_t)(close - s - 1));
		host[close - s - 1] = '\0';
		port_s = close + 2;
	} else {
		const char *colon = strrchr(s, ':');

		/* A second colon means a bare IPv6 address, which needs brackets. */
		if (!colon || (size_t)(colon - s) >= sizeof(host) ||
		    memchr(s, ':', (size_t)(colon - s)))
			return -EINVAL;
		memcpy(host, s, (size_t)(colon - s));
		host[colon - s] = '\0';
		port_s = colon + 1;
	}
	if (safe_atou64(port_s, &port) < 0 || port > 65535)
		return -EINVAL;

	if (bracketed || host[0] == '\0') {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&a.addr;

		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		if (!bracketed) {
			a6->sin6_addr = in6addr_any;
			a.ipv4_fallback = true;
		} else if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1)
			return -EINVAL; /* also "[1.2.3.4]" and "[]" */
		a.len = sizeof(*a6);
	} else {
		struct sockaddr_in *a4 = (struct sockaddr_in *)&a.addr;

		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		/* inet_pton, unlike inet_aton, refuses "127.1" and octal: what is written is what binds. */
		if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
			return -EINVAL;
		a.len = sizeof(*a4);
	}
	*ret = a;
	return 0;
}

uint16_t http_sockaddr_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	return ntohs(((const struct sockaddr_in *)ss)->sin_port);
}

static int open_one(const struct sockaddr_storage *addr, socklen_t len, int backlog,
		    uint16_t *ret_port)
{
	_cleanup_close_ int fd = -1;
	struct sockaddr_storage bound;
	socklen_t bound_len = sizeof(bound);
	int one = 1, zero = 0;

	fd = socket(addr->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return negative_errno();
	/* A restarted server must not wait out TIME_WAIT of its predecessor's clients. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		return negative_errno();
	if (addr->ss_family == AF_INET6 &&
	    IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)addr)->sin6_addr) &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)) < 0)
		return negative_errno();
	if (bind(fd, (const struct sockaddr *)addr, len) < 0)
		return negative_errno();
	if (listen(fd, backlog) < 0)
		return negative_errno();
	if (getsockname(fd, (struct sockaddr *)&bound, &bound_len) < 0)
		return negative_errno();
	*ret_port = http_sockaddr_port(&bound);
	return TAKE_FD(fd);
}

int http_listen_open(const struct http_listen_address *a, int backlog, uint16_t *ret_port)
{
	struct sockaddr_storage any4 = {};
	struct sockaddr_in *a4 = (struct sockaddr_in *)&any4;
	int fd;

	fd = open_one(&a->addr, a->len, backlog, ret_port);
	if (fd != -EAFNOSUPPORT || !a->ipv4_fallback)
		return fd;
	/* A kernel without IPv6: ":PORT" still means every (IPv4) address. */
	a4->sin_family = AF_INET;
	a4->sin_port = ((const struct sockaddr_in6 *)&a->addr)->sin6_port;
	a4->sin_addr.s_addr = htonl(INADDR_ANY);
	return open_one(&any4, sizeof(*a4), backlog, ret_port);
}
