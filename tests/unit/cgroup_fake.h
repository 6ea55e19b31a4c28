/* Fake cgroup v2 trees on disk for the cgroup unit tests: directories and files with kernel text. */
#pragma once

#include <stdint.h>

/* Creates a fresh temp dir (under $TMPDIR or /tmp); returns a malloc'd path or aborts the test. */
char *fake_tree_new(void);
/* rm -rf root. */
void fake_tree_remove(const char *root);
/* mkdir -p root/rel. */
void fake_mkdir(const char *root, const char *rel);
/* Writes text to root/rel (creating or truncating). */
void fake_write(const char *root, const char *rel, const char *text);
/* Reads root/rel into a static buffer (for asserting what a writer wrote). */
const char *fake_read(const char *root, const char *rel);
/* A container/pod cgroup dir at root/rel with the files a 6.1 kernel shows, with these values. */
struct fake_values {
	uint64_t usage_usec, nr_periods, nr_throttled, throttled_usec;
	uint64_t memory_current, memory_peak, inactive_file, oom_kill;
	uint64_t cpu_psi_total, memory_psi_total;
	const char *cpu_max;	/* default "max 100000" */
	const char *memory_max; /* default "max" */
	uint64_t cpu_weight;	/* default 100 */
	int no_peak;		/* leave memory.peak out (kernels before 5.19) */
};
void fake_cgroup(const char *root, const char *rel, const struct fake_values *v);
