/* The one listen-address syntax of snug's HTTP servers (the agent's endpoints and the webhook), and the socket it binds. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

/*
 * The forms, numeric hosts only (no name lookup in a node agent's start-up path), port 0..65535
 * (0 picks a free one):
 *   ":PORT"             every address, IPv6 and IPv4 (IPv4 alone on a kernel without IPv6)
 *   "[::]:PORT"         every address, IPv6 and IPv4 (fails on a kernel without IPv6)
 *   "0.0.0.0:PORT"      every IPv4 address
 *   "127.0.0.1:PORT"    one IPv4 address (dotted quad only: "127.1" and octal are refused)
 *   "[::1]:PORT"        one IPv6 address, always in brackets (a bare "::1:80" is ambiguous)
 * An IPv6 wildcard takes IPv4 too whatever net.ipv6.bindv6only says: IPV6_V6ONLY is set to 0.
 */
struct http_listen_address {
	struct sockaddr_storage addr;
	socklen_t len;
	/* ":PORT": where the kernel has no IPv6, bind every IPv4 address instead. */
	bool ipv4_fallback;
};

/* -EINVAL for anything else (including NULL, hostnames, scoped "fe80::1%eth0", "[1.2.3.4]:80"). */
int http_listen_parse(const char *s, struct http_listen_address *ret);

/* The port in a socket address (IPv4 or IPv6). */
uint16_t http_sockaddr_port(const struct sockaddr_storage *ss);

/* A non-blocking, close-on-exec socket bound to a and listening; returns the fd and the bound port
 * (the chosen one for port 0), or -errno from socket()/bind()/listen() (-EADDRINUSE, -EACCES, ...). */
int http_listen_open(const struct http_listen_address *a, int backlog, uint16_t *ret_port);
