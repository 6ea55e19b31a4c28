/* Tests the one listen-address syntax: what each form parses to and which addresses it answers on once bound. */
#include "tests/unit/unit.h"
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/http/listen.h"
#include "agent/util/cleanup.h"

struct parsed {
	const char *text;
	int family;
	const char *host; /* inet_ntop form */
	uint16_t port;
	bool ipv4_fallback;
};

static const struct parsed good[] = {
	{ ":9746", AF_INET6, "::", 9746, true },
	{ ":0", AF_INET6, "::", 0, true },
	{ "[::]:9746", AF_INET6, "::", 9746, false },
	{ "[::]:65535", AF_INET6, "::", 65535, false },
	{ "0.0.0.0:9746", AF_INET, "0.0.0.0", 9746, false },
	{ "0.0.0.0:0", AF_INET, "0.0.0.0", 0, false },
	{ "127.0.0.1:9746", AF_INET, "127.0.0.1", 9746, false },
	{ "[::1]:9746", AF_INET6, "::1", 9746, false },
	{ "[fd00::2]:8443", AF_INET6, "fd00::2", 8443, false },
	{ "[::ffff:127.0.0.1]:80", AF_INET6, "::ffff:127.0.0.1", 80, false },
};

/* Each was accepted by one of the two parsers snug had before, or by neither. */
static const char *const bad[] = {
	"",
	"9746",
	":",
	":65536",
	":-1",
	":+1",
	": 80",
	":80x",
	":0x10",
	"localhost:9746",
	"127.1:9746",
	"127.0.0.1",
	"::1:9746", /* bare IPv6: the old webhook parser took it as [::1]:9746 */
	"::9746",
	"[::1]",
	"[::1]9746",
	"[::1:9746",
	"[]:80",
	"[127.0.0.1]:80", /* the old webhook parser took it as 127.0.0.1:80 */
	"256.0.0.1:80",
	"[fe80::1%eth0]:80",
	"[::1]:80:80",
};

START_TEST(test_parse)
{
	struct http_listen_address a;
	char host[INET6_ADDRSTRLEN];

	for (size_t i = 0; i < ELEMENTSOF(good); i++) {
		const struct parsed *p = &good[i];
		const void *raw;

		ck_assert_msg(http_listen_parse(p->text, &a) == 0, "\"%s\" refused", p->text);
		ck_assert_int_eq(a.addr.ss_family, p->family);
		ck_assert_int_eq(a.len, p->family == AF_INET6 ? sizeof(struct sockaddr_in6)
							      : sizeof(struct sockaddr_in));
		raw = p->family == AF_INET6
			      ? (const void *)&((struct sockaddr_in6 *)&a.addr)->sin6_addr
			      : (const void *)&((struct sockaddr_in *)&a.addr)->sin_addr;
		ck_assert_ptr_nonnull(inet_ntop(p->family, raw, host, sizeof(host)));
		ck_assert_str_eq(host, p->host);
		ck_assert_uint_eq(http_sockaddr_port(&a.addr), p->port);
		ck_assert_msg(a.ipv4_fallback == p->ipv4_fallback, "%s", p->text);
	}
	for (size_t i = 0; i < ELEMENTSOF(bad); i++)
		ck_assert_msg(http_listen_parse(bad[i], &a) == -EINVAL, "\"%s\" accepted", bad[i]);
	ck_assert_int_eq(http_listen_parse(NULL, &a), -EINVAL);
}
END_TEST

static bool have_ipv6_loopback(void)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	_cleanup_close_ int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);

	return fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
}

/* A TCP connect to the loopback address of one family; the kernel completes it without accept(). */
static bool answers(int family, uint16_t port)
{
	struct sockaddr_in a4 = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6,
				   .sin6_port = htons(port),
				   .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	_cleanup_close_ int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	a4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (family == AF_INET)
		return connect(fd, (struct sockaddr *)&a4, sizeof(a4)) == 0;
	return connect(fd, (struct sockaddr *)&a6, sizeof(a6)) == 0;
}

/* What an operator sees: which of 127.0.0.1 and ::1 reach the server for each form. */
START_TEST(test_families_answered)
{
	static const struct {
		const char *listen;
		bool v4, v6;
	} cases[] = {
		{ ":0", true, true },	      { "[::]:0", true, true },
		{ "0.0.0.0:0", true, false }, { "127.0.0.1:0", true, false },
		{ "[::1]:0", false, true },
	};

	if (!have_ipv6_loopback()) {
		fprintf(stderr,
			"*** SKIPPED: no IPv6 loopback here; the listen forms' IPv6 answers "
			"are NOT checked ***\n");
		return;
	}
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		struct http_listen_address a;
		_cleanup_close_ int fd = -1;
		uint16_t port = 0;

		ck_assert_int_eq(http_listen_parse(cases[i].listen, &a), 0);
		fd = http_listen_open(&a, 16, &port);
		ck_assert_msg(fd >= 0, "%s: %s", cases[i].listen, strerror(-fd));
		ck_assert_uint_ne(port, 0);
		ck_assert_msg(answers(AF_INET, port) == cases[i].v4, "%s over IPv4",
			      cases[i].listen);
		ck_assert_msg(answers(AF_INET6, port) == cases[i].v6, "%s over IPv6",
			      cases[i].listen);
	}
}
END_TEST

Suite *http_listen_suite(void)
{
	Suite *s = suite_create("http_listen");
	TCase *tc = tcase_create("listen");

	tcase_add_test(tc, test_parse);
	tcase_add_test(tc, test_families_answered);
	suite_add_tcase(s, tc);
	return s;
}
