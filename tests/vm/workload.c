/* A tiny workload for the VM and node tiers and the demo: burns CPU, grows memory steadily, reads a file over and over, starts slowly, or idles until killed. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void usage(FILE *f)
{
	fputs("usage: workload burn\n"
	      "       workload grow [--rate-mib N] [--max-mib N] [--start-mib N] [--populate]\n"
	      "       workload read FILE\n"
	      "       workload start --burn-ms N --ready-port PORT\n"
	      "       workload idle\n"
	      "burn spins on one CPU; grow allocates and touches N MiB per second (default 8) up "
	      "to\n"
	      "--max-mib (default: until killed), then sleeps holding it; --populate faults each\n"
	      "step in with one mmap(MAP_POPULATE), faster than a tracker can sample; --start-mib\n"
	      "takes N MiB at once before the steady growth; read reads FILE from start to end\n"
	      "over and over (its page cache is the working set: a file larger than the memory\n"
	      "limit thrashes); start burns N ms of CPU time (a slow start), then listens on TCP\n"
	      "PORT (for a readiness probe) and idles; idle sleeps until killed.\n",
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

/* A slow start: N ms of CPU time (whatever the CPU limit makes of it in wall time), then ready:
 * listening on TCP port `port` of every address (a tcpSocket readiness probe). */
static int slow_start(uint64_t burn_ms, uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	volatile uint64_t x = 0;
	struct timespec ts;
	int fd, one = 1;

	do {
		for (int i = 0; i < 100000; i++)
			x++;
		if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) < 0) {
			fprintf(stderr, "workload: clock_gettime: %s\n", strerror(errno));
			return 1;
		}
	} while ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000 < burn_ms);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0) {
		fprintf(stderr, "workload: listen on port %u: %s\n", port, strerror(errno));
		return 1;
	}
	for (;;)
		pause();
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
	if (strcmp(argv[1], "start") == 0 && argc == 6 && strcmp(argv[2], "--burn-ms") == 0 &&
	    strcmp(argv[4], "--ready-port") == 0) {
		uint64_t ms, port;

		if (parse_u64(argv[3], &ms) < 0 || parse_u64(argv[5], &port) < 0 || port == 0 ||
		    port > 65535) {
			fprintf(stderr, "workload: bad --burn-ms %s or --ready-port %s\n", argv[3],
				argv[5]);
			return 2;
		}
		return slow_start(ms, (uint16_t)port);
	}
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
