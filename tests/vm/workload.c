/* A tiny workload for the VM tier and the demo: burns CPU, grows memory steadily, reads a file over and over, or idles until killed. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static void usage(FILE *f)
{
	fputs("usage: workload burn\n"
	      "       workload grow [--rate-mib N] [--max-mib N] [--start-mib N] [--populate]\n"
	      "       workload read FILE\n"
	      "       workload idle\n"
	      "burn spins on one CPU; grow allocates and touches N MiB per second (default 8) up "
	      "to\n"
	      "--max-mib (default: until killed), then sleeps holding it; --populate faults each\n"
	      "step in with one mmap(MAP_POPULATE), faster than a tracker can sample; --start-mib\n"
	      "takes N MiB at once before the steady growth; read reads FILE from start to end\n"
	      "over and over (its page cache is the working set: a file larger than the memory\n"
	      "limit thrashes); idle sleeps until killed.\n",
	      f);
}

static int burn(void)
{
	volatile uint64_t x = 0;

	for (;;)
		x++;
	return 0;
}

static int read_loop(const char *path)
{
	static char buf[1 << 20];
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		fprintf(stderr, "workload: %s: %s\n", path, strerror(errno));
		return 1;
	}
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno != EINTR) {
			fprintf(stderr, "workload: read %s: %s\n", path, strerror(errno));
			return 1;
		}
		if (n == 0 && lseek(fd, 0, SEEK_SET) < 0) {
			fprintf(stderr, "workload: lseek %s: %s\n", path, strerror(errno));
			return 1;
		}
	}
	return 0;
}

static int idle(void)
{
	for (;;)
		pause();
	return 0;
}

/* Touches every page so the memory is charged to the cgroup, not just reserved. */
static int grow(uint64_t rate_mib, uint64_t max_mib, uint64_t start_mib, int populate)
{
	const size_t chunk = 1024 * 1024;
	long page = sysconf(_SC_PAGESIZE);
	uint64_t done = 0;
	/* Ten steps a second keeps the growth smooth enough to watch. */
	uint64_t per_step = rate_mib * chunk / 10;

	if (page <= 0)
		page = 4096;
	if (per_step < (uint64_t)page)
		per_step = page;
	if (start_mib > 0) {
		/* Close to a limit at once, then slowly over it: a test gets seconds to react. */
		char *p = mmap(NULL, start_mib * chunk, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

		if (p == MAP_FAILED) {
			fprintf(stderr, "workload: mmap: %s\n", strerror(errno));
			return 1;
		}
		done = start_mib * chunk;
	}
	for (;;) {
		struct timespec ts = { .tv_sec = 0, .tv_nsec = 100 * 1000 * 1000 };

		if (max_mib == 0 || done < max_mib * chunk) {
			char *p = mmap(NULL, per_step, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS | (populate ? MAP_POPULATE : 0),
				       -1, 0);

			if (p == MAP_FAILED) {
				fprintf(stderr, "workload: mmap: %s\n", strerror(errno));
				return 1;
			}
			for (uint64_t off = 0; !populate && off < per_step; off += page)
				p[off] = 1;
			done += per_step;
		}
		nanosleep(&ts, NULL);
	}
	return 0;
}

static int parse_u64(const char *s, uint64_t *ret)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-')
		return -EINVAL;
	*ret = v;
	return 0;
}

int main(int argc, char **argv)
{
	uint64_t rate = 8, max = 0, start = 0;
	int populate = 0;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "burn") == 0)
		return burn();
	if (strcmp(argv[1], "idle") == 0)
		return idle();
	if (strcmp(argv[1], "read") == 0 && argc == 3)
		return read_loop(argv[2]);
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "grow") != 0) {
		usage(stderr);
		return 2;
	}
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--rate-mib") == 0 && i + 1 < argc) {
			if (parse_u64(argv[++i], &rate) < 0 || rate == 0) {
				fprintf(stderr, "workload: bad --rate-mib %s\n", argv[i]);
				return 2;
			}
		} else if (strcmp(argv[i], "--max-mib") == 0 && i + 1 < argc) {
			if (parse_u64(argv[++i], &max) < 0) {
				fprintf(stderr, "workload: bad --max-mib %s\n", argv[i]);
				return 2;
			}
		} else if (strcmp(argv[i], "--start-mib") == 0 && i + 1 < argc) {
			if (parse_u64(argv[++i], &start) < 0 || start > 1024 * 1024) {
				fprintf(stderr, "workload: bad --start-mib %s\n", argv[i]);
				return 2;
			}
		} else if (strcmp(argv[i], "--populate") == 0) {
			populate = 1;
		} else {
			usage(stderr);
			return 2;
		}
	}
	return grow(rate, max, start, populate);
}
