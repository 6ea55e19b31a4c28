/* Tests the one listen-address syntax: what each form parses to, which addresses it answers on once bound, and that the agent and the webhook take the same forms. */
#include "tests/unit/unit.h"
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#include "agent/http/listen.h"
#include "agent/metrics/http.h"
#include "agent/metrics/snug_metrics.h"
#include "agent/util/cleanup.h"
#include "agent/webhook_server.h"

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

/* `snug-agent run --listen` and `snug-agent webhook --listen` give the same answer for every form:
 * refused as -EINVAL, or bound (the webhook then stops at its missing certificate). */
START_TEST(test_agent_and_webhook_agree)
{
	static const char *const bindable[] = { ":0", "[::]:0", "0.0.0.0:0", "127.0.0.1:0",
						"[::1]:0" };
	sd_event *e = NULL;
	struct metrics_registry *reg = NULL;
	struct metrics_snug m;
	bool v6 = have_ipv6_loopback();

	ck_assert_int_eq(sd_event_new(&e), 0);
	ck_assert_int_eq(metrics_registry_new(&reg), 0);
	ck_assert_int_eq(metrics_snug_register(reg, "test", &m), 0);
	const struct metrics_http_handlers h = { .registry = reg };
	const struct webhook_server_config wcfg_template = {
		.cert_file = "/nonexistent/snug-test/tls.crt",
		.key_file = "/nonexistent/snug-test/tls.key",
	};

	for (size_t i = 0; i < ELEMENTSOF(bad) + ELEMENTSOF(bindable); i++) {
		bool is_bad = i < ELEMENTSOF(bad);
		const char *listen = is_bad ? bad[i] : bindable[i - ELEMENTSOF(bad)];
		struct webhook_server_config wcfg = wcfg_template;
		struct metrics_http *agent = NULL;
		struct webhook_server *webhook = NULL;
		int ra, rw;

		if (!v6 && strchr(listen, '[') && !is_bad)
			continue;
		wcfg.listen = listen;
		ra = metrics_http_new(e, listen, &h, &agent);
		agent = metrics_http_free(agent);
		rw = webhook_server_new(e, NULL, &wcfg, &webhook);
		webhook = webhook_server_free(webhook);
		if (is_bad) {
			ck_assert_msg(ra == -EINVAL, "agent took \"%s\": %d", listen, ra);
			ck_assert_msg(rw == -EINVAL, "webhook took \"%s\": %d", listen, rw);
		} else {
			ck_assert_msg(ra == 0, "agent refused \"%s\": %d", listen, ra);
			/* Past the address and the bind: only the certificate is missing. */
			ck_assert_msg(rw == -ENOENT, "webhook on \"%s\": %d", listen, rw);
		}
	}
	metrics_registry_free(reg);
	sd_event_unref(e);
}
END_TEST

Suite *http_listen_suite(void)
{
	Suite *s = suite_create("http_listen");
	TCase *tc = tcase_create("listen");

	tcase_add_test(tc, test_parse);
	tcase_add_test(tc, test_families_answered);
	tcase_add_test(tc, test_agent_and_webhook_agree);
	suite_add_tcase(s, tc);
	return s;
}
