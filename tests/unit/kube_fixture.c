/* Fixture loading for the kube unit suites (recorded replies of a real kube-apiserver). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/kube_fixture.h"

char *kube_fixture_read(const char *rel, size_t *ret_len)
{
	const char *dir = getenv("SNUG_TESTDATA");
	char path[4096];
	FILE *f;
	char *buf;
	long n;

	snprintf(path, sizeof(path), "%s/kube/%s", dir ? dir : "tests/data", rel);
	f = fopen(path, "re");
	ck_assert_msg(f, "fixture %s missing", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = 0;
	fclose(f);
	if (ret_len)
		*ret_len = (size_t)n;
	return buf;
}

char *kube_fixture_reply(const char *rel, long *ret_code, size_t *ret_len)
{
	size_t n;
	char *buf = kube_fixture_read(rel, &n), *nl, *body;

	nl = strchr(buf, '\n');
	ck_assert_ptr_nonnull(nl);
	*nl = 0;
	*ret_code = strtol(buf, NULL, 10);
	body = strdup(nl + 1);
	ck_assert_ptr_nonnull(body);
	*ret_len = strlen(body);
	free(buf);
	return body;
}
