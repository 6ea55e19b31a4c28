/* The oomwatch unit suites' fixture: temp dir, sd-event loop, record collector (see oomwatch_helpers.h). */
#include "tests/unit/oomwatch_helpers.h"

#include <check.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/util/time.h"

void ow_collect(const struct oomwatch_record *rec, void *userdata)
{
	struct ow_fixture *f = userdata;

	ck_assert_uint_lt(f->n, OW_MAX_RECS);
	f->recs[f->n++] = *rec;
}

void ow_fixture_setup_handler(struct ow_fixture *f, bool no_bpf, oomwatch_handler_t handler)
{
	struct oomwatch_config cfg = { .no_bpf = no_bpf };

	memset(f, 0, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "%s/snug-oomwatch-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(f->dir));
	ck_assert_int_eq(sd_event_new(&f->event), 0);
	cfg.cgroup_root = f->dir;
	ck_assert_int_eq(oomwatch_new(f->event, &cfg, handler, f, &f->ow), 0);
}

void ow_fixture_setup(struct ow_fixture *f, bool no_bpf)
{
	ow_fixture_setup_handler(f, no_bpf, ow_collect);
}

void ow_fixture_teardown(struct ow_fixture *f)
{
	f->ow = oomwatch_free(f->ow);
	f->event = sd_event_unref(f->event);
	ow_rm_rf(f->dir);
}

size_t ow_run_until(struct ow_fixture *f, size_t want, unsigned timeout_ms)
{
	uint64_t end = now_usec(CLOCK_MONOTONIC) + timeout_ms * 1000ULL;

	for (;;) {
		uint64_t now = now_usec(CLOCK_MONOTONIC);

		if (f->n >= want || now >= end)
			break;
		ck_assert_int_ge(sd_event_run(f->event, end - now), 0);
	}
	return f->n;
}

void ow_write_file(const char *path, const char *content)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	size_t len = strlen(content);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, content, len), (ssize_t)len);
	close(fd);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

void ow_rm_rf(const char *path)
{
	(void)nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}
