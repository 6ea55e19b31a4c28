/* Fake cgroup v2 trees on disk for the cgroup unit tests (see cgroup_fake.h). */
#include "tests/unit/cgroup_fake.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *fake_tree_new(void)
{
	const char *tmp = getenv("TMPDIR");
	char *path;

	ck_assert_int_ge(asprintf(&path, "%s/snug-cgtest-XXXXXX", tmp && *tmp ? tmp : "/tmp"), 0);
	ck_assert_ptr_nonnull(mkdtemp(path));
	return path;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

void fake_tree_remove(const char *root)
{
	if (root)
		nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

void fake_mkdir(const char *root, const char *rel)
{
	char path[4096];
	size_t n;

	n = (size_t)snprintf(path, sizeof(path), "%s/%s", root, rel);
	ck_assert_uint_lt(n, sizeof(path));
	for (char *p = path + strlen(root) + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		ck_assert_msg(mkdir(path, 0755) == 0 || errno == EEXIST, "mkdir %s: %m", path);
		*p = '/';
	}
	ck_assert_msg(mkdir(path, 0755) == 0 || errno == EEXIST, "mkdir %s: %m", path);
}

void fake_write(const char *root, const char *rel, const char *text)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	f = fopen(path, "we");
	ck_assert_msg(f != NULL, "open %s: %m", path);
	ck_assert_int_eq(fputs(text, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
}

const char *fake_read(const char *root, const char *rel)
{
	static char buf[8192];
	char path[4096];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	ck_assert_msg(fd >= 0, "open %s: %m", path);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	ck_assert_int_ge(n, 0);
	buf[n] = '\0';
	return buf;
}

void fake_cgroup(const char *root, const char *rel, const struct fake_values *v)
{
	char file[4096], text[4096];
	static const struct fake_values zero = {};

	if (!v)
		v = &zero;
	fake_mkdir(root, rel);
#define PUT(name, ...)                                                                             \
	do {                                                                                       \
		snprintf(file, sizeof(file), "%s/%s", rel, name);                                  \
		snprintf(text, sizeof(text), __VA_ARGS__);                                         \
		fake_write(root, file, text);                                                      \
	} while (0)
	PUT("cgroup.procs", "%s", "");
	PUT("cpu.stat",
	    "usage_usec %llu\nuser_usec %llu\nsystem_usec %llu\nnr_periods %llu\n"
	    "nr_throttled %llu\nthrottled_usec %llu\nnr_bursts 0\nburst_usec 0\n",
	    (unsigned long long)v->usage_usec, (unsigned long long)(v->usage_usec * 3 / 4),
	    (unsigned long long)(v->usage_usec - v->usage_usec * 3 / 4),
	    (unsigned long long)v->nr_periods, (unsigned long long)v->nr_throttled,
	    (unsigned long long)v->throttled_usec);
	PUT("cpu.max", "%s\n", v->cpu_max ? v->cpu_max : "max 100000");
	PUT("cpu.weight", "%llu\n", (unsigned long long)(v->cpu_weight ? v->cpu_weight : 100));
	PUT("memory.current", "%llu\n", (unsigned long long)v->memory_current);
	if (!v->no_peak)
		PUT("memory.peak", "%llu\n", (unsigned long long)v->memory_peak);
	PUT("memory.max", "%s\n", v->memory_max ? v->memory_max : "max");
	PUT("memory.high", "max\n");
	PUT("memory.stat",
	    "anon %llu\nfile %llu\nkernel 1191936\nkernel_stack 81920\npagetables 217088\n"
	    "percpu 1440\nsock 0\nvmalloc 8192\nshmem 0\nfile_mapped 0\nfile_dirty 0\n"
	    "file_writeback 0\nswapcached 0\nanon_thp 0\nfile_thp 0\nshmem_thp 0\n"
	    "inactive_anon 0\nactive_anon 0\ninactive_file %llu\nactive_file 0\n"
	    "unevictable 0\nslab_reclaimable 0\nslab_unreclaimable 0\nslab 0\npgfault 0\n"
	    "pgmajfault 0\n",
	    (unsigned long long)(v->memory_current > v->inactive_file
					 ? v->memory_current - v->inactive_file
					 : 0),
	    (unsigned long long)v->inactive_file, (unsigned long long)v->inactive_file);
	PUT("memory.events", "low 0\nhigh 0\nmax %llu\noom %llu\noom_kill %llu\noom_group_kill 0\n",
	    (unsigned long long)v->oom_kill, (unsigned long long)v->oom_kill,
	    (unsigned long long)v->oom_kill);
	PUT("cpu.pressure",
	    "some avg10=0.50 avg60=0.25 avg300=0.05 total=%llu\n"
	    "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
	    (unsigned long long)v->cpu_psi_total);
	PUT("memory.pressure",
	    "some avg10=2.00 avg60=1.00 avg300=0.50 total=%llu\n"
	    "full avg10=1.00 avg60=0.50 avg300=0.25 total=%llu\n",
	    (unsigned long long)v->memory_psi_total, (unsigned long long)(v->memory_psi_total / 2));
#undef PUT
}
