/* A tiny workload for the VM and node tiers, the demo and the value benchmark: burns CPU, grows memory steadily (or leaks and exits), follows a CPU wave, runs bursty batches, saws a heap, reads a file over and over, starts slowly, or idles until killed. */
#include <errno.h>
#include <math.h>
#include <fcntl.h>
#include <inttypes.h>
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
	      "       workload grow [--rate-mib N] [--max-mib N] [--start-mib N] [--exit-mib N] "
	      "[--populate]\n"
	      "       workload read FILE\n"
	      "       workload start --burn-ms N --ready-port PORT\n"
	      "       workload idle\n"
	      "       workload wave --min-m N --max-m N --period-s N [--mib N] [--seed N]\n"
	      "       workload batch --burst-ms N --period-s N --mib N [--seed N]\n"
	      "       workload sawtooth --base-mib N --peak-mib N --rate-mib N\n"
	      "burn spins on one CPU; grow allocates and touches N MiB per second (default 8) up "
	      "to\n"
	      "--max-mib (default: until killed), then sleeps holding it; --populate faults each\n"
	      "step in with one mmap(MAP_POPULATE), faster than a tracker can sample; --start-mib\n"
	      "takes N MiB at once before the steady growth; read reads FILE from start to end\n"
	      "over and over (its page cache is the working set: a file larger than the memory\n"
	      "limit thrashes); start burns N ms of CPU time (a slow start), then listens on TCP\n"
	      "PORT (for a readiness probe) and idles; idle sleeps until killed.\n"
	      "grow --exit-mib N exits (status 0) once it holds N MiB: a leak the kubelet "
	      "restarts.\n"
	      "wave holds --mib N and uses between --min-m and --max-m millicores of CPU, a "
	      "cosine\n"
	      "over --period-s (a service's daily wave, compressed); batch sleeps --period-s, "
	      "then\n"
	      "takes --mib N and burns --burst-ms of CPU, and frees it; sawtooth grows a heap "
	      "from\n"
	      "--base-mib to --peak-mib at --rate-mib per second, then frees it back to the base\n"
	      "(a JVM-like GC). --seed makes the jitter (±20%% of each period) reproducible.\n",
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
static int grow(uint64_t rate_mib, uint64_t max_mib, uint64_t start_mib, int populate,
		uint64_t exit_mib)
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

		if (exit_mib > 0 && done >= exit_mib * chunk)
			return 0;
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

/* xorshift64: deterministic jitter from --seed, no libc state. */
static uint64_t next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* A factor in [0.8, 1.2). */
static double jitter(uint64_t *s)
{
	return 0.8 + 0.4 * (double)(next_rand(s) % 1000) / 1000.0;
}

static uint64_t now_usec(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void sleep_usec(uint64_t us)
{
	struct timespec ts = { .tv_sec = (time_t)(us / 1000000),
			       .tv_nsec = (long)(us % 1000000) * 1000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Burns `us` of this process's CPU time (whatever the CPU limit makes of it in wall time). */
static void burn_cpu_usec(uint64_t us)
{
	volatile uint64_t x = 0;
	uint64_t end = now_usec(CLOCK_PROCESS_CPUTIME_ID) + us;

	while (now_usec(CLOCK_PROCESS_CPUTIME_ID) < end)
		for (int i = 0; i < 20000; i++)
			x++;
}

/* N MiB faulted in at once; NULL (and a message) when the mapping fails. */
static char *take_mib(uint64_t mib)
{
	char *p;

	if (mib == 0)
		return NULL;
	p = mmap(NULL, mib << 20, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (p == MAP_FAILED) {
		fprintf(stderr, "workload: mmap %" PRIu64 " MiB: %s\n", mib, strerror(errno));
		return NULL;
	}
	return p;
}

/* A service: memory held, CPU in 100 ms slices whose busy share follows a cosine wave. */
static int wave(uint64_t min_m, uint64_t max_m, uint64_t period_s, uint64_t mib, uint64_t seed)
{
	uint64_t t0 = now_usec(CLOCK_MONOTONIC), s = seed | 1;

	if (mib > 0 && !take_mib(mib))
		return 1;
	for (;;) {
		double t = (double)(now_usec(CLOCK_MONOTONIC) - t0) / 1e6;
		double m = (double)min_m +
			   (double)(max_m - min_m) * (1 - cos(2 * M_PI * t / (double)period_s)) / 2;
		uint64_t busy = (uint64_t)(m * 100 * jitter(&s));

		if (busy > 100000)
			busy = 100000;
		burn_cpu_usec(busy);
		sleep_usec(100000 - busy);
	}
	return 0;
}

static int batch(uint64_t burst_ms, uint64_t period_s, uint64_t mib, uint64_t seed)
{
	uint64_t s = seed | 1;

	for (;;) {
		char *p;

		sleep_usec((uint64_t)((double)period_s * 1e6 * jitter(&s)));
		p = take_mib(mib);
		if (mib > 0 && !p)
			return 1;
		burn_cpu_usec((uint64_t)((double)burst_ms * 1000 * jitter(&s)));
		if (p)
			munmap(p, mib << 20);
	}
	return 0;
}

/* A JVM-like heap: allocation up to the peak in ten steps a second, then a "GC" back to the base. */
static int sawtooth(uint64_t base_mib, uint64_t peak_mib, uint64_t rate_mib)
{
	if (base_mib > 0 && !take_mib(base_mib))
		return 1;
	for (;;) {
		uint64_t held = base_mib, step = rate_mib << 20;
		char *chunks[4096];
		size_t n = 0;

		while (held < peak_mib && n < sizeof(chunks) / sizeof(chunks[0])) {
			char *p = mmap(NULL, step / 10, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

			if (p == MAP_FAILED) {
				fprintf(stderr, "workload: mmap: %s\n", strerror(errno));
				return 1;
			}
			chunks[n++] = p;
			held = base_mib + ((uint64_t)n * (step / 10) >> 20);
			sleep_usec(100000);
		}
		/* The collection: a burst of CPU, the young heap given back. */
		burn_cpu_usec(50000);
		while (n > 0)
			munmap(chunks[--n], step / 10);
		sleep_usec(1000000);
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

/* wave, batch and sawtooth: "--name N" options, all numbers; those a mode needs must be given. */
static int named_mode(int argc, char **argv)
{
	static const char *const names[] = { "min-m",	 "max-m",    "period-s", "mib",	    "seed",
					     "burst-ms", "base-mib", "peak-mib", "rate-mib" };
	enum { MIN_M, MAX_M, PERIOD_S, MIB, SEED, BURST_MS, BASE_MIB, PEAK_MIB, RATE_MIB, N };
	uint64_t v[N] = { [SEED] = 1 };
	int set[N] = { [MIB] = 1, [SEED] = 1 };

	for (int i = 2; i < argc; i++) {
		size_t k;

		for (k = 0; k < N; k++)
			if (strncmp(argv[i], "--", 2) == 0 && strcmp(argv[i] + 2, names[k]) == 0)
				break;
		if (k == N || i + 1 >= argc || parse_u64(argv[i + 1], &v[k]) < 0) {
			fprintf(stderr, "workload: %s: bad option %s\n", argv[1], argv[i]);
			return 2;
		}
		set[k] = 1;
		i++;
	}
	if (strcmp(argv[1], "wave") == 0) {
		if (!set[MIN_M] || !set[MAX_M] || !set[PERIOD_S] || v[PERIOD_S] == 0 ||
		    v[MIN_M] > v[MAX_M] || v[MAX_M] > 1000) {
			fprintf(stderr, "workload: wave needs --min-m <= --max-m <= 1000, "
					"--period-s > 0\n");
			return 2;
		}
		return wave(v[MIN_M], v[MAX_M], v[PERIOD_S], v[MIB], v[SEED]);
	}
	if (strcmp(argv[1], "batch") == 0) {
		if (!set[BURST_MS] || !set[PERIOD_S] || v[MIB] > 1024 * 1024) {
			fprintf(stderr, "workload: batch needs --burst-ms, --period-s\n");
			return 2;
		}
		return batch(v[BURST_MS], v[PERIOD_S], v[MIB], v[SEED]);
	}
	if (!set[BASE_MIB] || !set[PEAK_MIB] || !set[RATE_MIB] || v[RATE_MIB] == 0 ||
	    v[BASE_MIB] >= v[PEAK_MIB] || v[PEAK_MIB] > 64 * 1024) {
		fprintf(stderr,
			"workload: sawtooth needs --base-mib < --peak-mib, --rate-mib > 0\n");
		return 2;
	}
	return sawtooth(v[BASE_MIB], v[PEAK_MIB], v[RATE_MIB]);
}

int main(int argc, char **argv)
{
	uint64_t rate = 8, max = 0, start = 0, exit_mib = 0;
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
	if (strcmp(argv[1], "wave") == 0 || strcmp(argv[1], "batch") == 0 ||
	    strcmp(argv[1], "sawtooth") == 0)
		return named_mode(argc, argv);
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
		} else if (strcmp(argv[i], "--exit-mib") == 0 && i + 1 < argc) {
			if (parse_u64(argv[++i], &exit_mib) < 0 || exit_mib > 1024 * 1024) {
				fprintf(stderr, "workload: bad --exit-mib %s\n", argv[i]);
				return 2;
			}
		} else if (strcmp(argv[i], "--populate") == 0) {
			populate = 1;
		} else {
			usage(stderr);
			return 2;
		}
	}
	return grow(rate, max, start, populate, exit_mib);
}
