/* Parsers, readers and writers for cgroup v2 files, and kubelet's CPU conversions (see files.h). */
#include "cgroup/files.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "agent/util/cleanup.h"
#include "agent/util/log.h"

/* Strict decimal over [p, e): digits only, no sign, -ERANGE on overflow. */
static int span_u64(const char *p, const char *e, uint64_t *ret)
{
	uint64_t v = 0;

	if (p >= e)
		return -EBADMSG;
	for (; p < e; p++) {
		unsigned d;

		if (*p < '0' || *p > '9')
			return -EBADMSG;
		d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	*ret = v;
	return 0;
}

/* "12.34" (the kernel's "%lu.%02lu") or "12" over [p, e). */
static int span_fixed(const char *p, const char *e, double *ret)
{
	const char *dot = memchr(p, '.', (size_t)(e - p));
	uint64_t ip, fp = 0;
	double scale = 1;
	int r;

	r = span_u64(p, dot ? dot : e, &ip);
	if (r < 0)
		return r;
	if (dot) {
		if (dot + 1 >= e || e - (dot + 1) > 9)
			return -EBADMSG;
		r = span_u64(dot + 1, e, &fp);
		if (r < 0)
			return r;
		for (const char *q = dot + 1; q < e; q++)
			scale *= 10;
	}
	*ret = (double)ip + (double)fp / scale;
	return 0;
}

/* A single-number file: the number, then at most one '\n'. */
int cg_parse_u64(const char *buf, size_t len, uint64_t *ret)
{
	const char *e = buf + len;

	if (!buf || len == 0)
		return -EBADMSG;
	if (e[-1] == '\n')
		e--;
	return span_u64(buf, e, ret);
}

int cg_parse_u64_or_max(const char *buf, size_t len, uint64_t *ret)
{
	const char *e = buf + len;

	if (!buf || len == 0)
		return -EBADMSG;
	if (e[-1] == '\n')
		e--;
	if (e - buf == 3 && memcmp(buf, "max", 3) == 0) {
		*ret = CG_UNLIMITED;
		return 0;
	}
	return span_u64(buf, e, ret);
}

int cg_parse_cpu_weight(const char *buf, size_t len, uint64_t *ret)
{
	uint64_t w;
	int r;

	r = cg_parse_u64(buf, len, &w);
	if (r < 0)
		return r;
	if (w < CG_MIN_WEIGHT || w > CG_MAX_WEIGHT)
		return -ERANGE;
	*ret = w;
	return 0;
}

int cg_parse_cpu_max(const char *buf, size_t len, struct cg_cpu_max *ret)
{
	const char *e = buf + len, *sp;
	struct cg_cpu_max m;
	int r;

	if (!buf || len == 0)
		return -EBADMSG;
	if (e[-1] == '\n')
		e--;
	sp = memchr(buf, ' ', (size_t)(e - buf));
	if (!sp)
		return -EBADMSG;
	if (sp - buf == 3 && memcmp(buf, "max", 3) == 0)
		m.quota_usec = CG_UNLIMITED;
	else {
		r = span_u64(buf, sp, &m.quota_usec);
		if (r < 0)
			return r;
	}
	r = span_u64(sp + 1, e, &m.period_usec);
	if (r < 0)
		return r;
	if (m.period_usec == 0)
		return -ERANGE;
	*ret = m;
	return 0;
}

/* A "key value\n" file (cpu.stat, memory.stat, memory.events). Every line must be complete; lines
 * whose key is not in the table are skipped unparsed, so new kernel keys never break us. */
struct kv_field {
	const char *key;
	size_t offset;
	bool required;
};

static int parse_kv(const char *buf, size_t len, const struct kv_field *fields, size_t n_fields,
		    void *out, uint64_t *ret_seen)
{
	const char *p = buf, *end = buf + len;
	uint64_t seen = 0;

	if (!buf || len == 0)
		return -EBADMSG;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *sp;
		size_t klen;

		if (!nl)
			return -EBADMSG; /* truncated: the kernel ends every line */
		sp = memchr(p, ' ', (size_t)(nl - p));
		if (!sp || sp == p)
			return -EBADMSG;
		klen = (size_t)(sp - p);
		for (size_t i = 0; i < n_fields; i++) {
			uint64_t v;
			int r;

			if (strlen(fields[i].key) != klen || memcmp(fields[i].key, p, klen) != 0)
				continue;
			r = span_u64(sp + 1, nl, &v);
			if (r < 0)
				return r;
			memcpy((char *)out + fields[i].offset, &v, sizeof(v));
			seen |= 1ULL << i;
			break;
		}
		p = nl + 1;
	}
	for (size_t i = 0; i < n_fields; i++)
		if (fields[i].required && !(seen & (1ULL << i)))
			return -ENOMSG;
	if (ret_seen)
		*ret_seen = seen;
	return 0;
}

#define F(type, name, req)                                                                         \
	{                                                                                          \
#name, offsetof(type, name), req                                                   \
	}

int cg_parse_cpu_stat(const char *buf, size_t len, struct cg_cpu_stat *ret)
{
	static const struct kv_field fields[] = {
		F(struct cg_cpu_stat, usage_usec, true),
		F(struct cg_cpu_stat, user_usec, true),
		F(struct cg_cpu_stat, system_usec, true),
		F(struct cg_cpu_stat, nr_periods, false),
		F(struct cg_cpu_stat, nr_throttled, false),
		F(struct cg_cpu_stat, throttled_usec, false),
		F(struct cg_cpu_stat, nr_bursts, false),
		F(struct cg_cpu_stat, burst_usec, false),
	};
	struct cg_cpu_stat s = {};
	uint64_t seen;
	int r;

	r = parse_kv(buf, len, fields, ELEMENTSOF(fields), &s, &seen);
	if (r < 0)
		return r;
	s.has_throttling = seen & (1ULL << 3);
	*ret = s;
	return 0;
}

int cg_parse_memory_stat(const char *buf, size_t len, struct cg_memory_stat *ret)
{
	static const struct kv_field fields[] = {
		F(struct cg_memory_stat, anon, true),
		F(struct cg_memory_stat, file, true),
		F(struct cg_memory_stat, kernel_stack, false),
		F(struct cg_memory_stat, shmem, false),
		F(struct cg_memory_stat, file_mapped, false),
		F(struct cg_memory_stat, file_dirty, false),
		F(struct cg_memory_stat, file_writeback, false),
		F(struct cg_memory_stat, inactive_anon, false),
		F(struct cg_memory_stat, active_anon, false),
		F(struct cg_memory_stat, inactive_file, true),
		F(struct cg_memory_stat, active_file, true),
		F(struct cg_memory_stat, unevictable, false),
		F(struct cg_memory_stat, slab_reclaimable, false),
		F(struct cg_memory_stat, slab_unreclaimable, false),
		F(struct cg_memory_stat, pgfault, false),
		F(struct cg_memory_stat, pgmajfault, false),
	};
	struct cg_memory_stat s = {};
	int r;

	r = parse_kv(buf, len, fields, ELEMENTSOF(fields), &s, NULL);
	if (r < 0)
		return r;
	*ret = s;
	return 0;
}

int cg_parse_memory_events(const char *buf, size_t len, struct cg_memory_events *ret)
{
	static const struct kv_field fields[] = {
		F(struct cg_memory_events, low, true),
		F(struct cg_memory_events, high, true),
		F(struct cg_memory_events, max, true),
		F(struct cg_memory_events, oom, true),
		F(struct cg_memory_events, oom_kill, true),
		F(struct cg_memory_events, oom_group_kill, false),
	};
	struct cg_memory_events s = {};
	int r;

	r = parse_kv(buf, len, fields, ELEMENTSOF(fields), &s, NULL);
	if (r < 0)
		return r;
	*ret = s;
	return 0;
}

#undef F

/* "avg10=0.00 avg60=0.00 avg300=0.00 total=0" over [p, e); all four fields required. */
static int parse_psi_fields(const char *p, const char *e, struct cg_psi_line *ret)
{
	struct cg_psi_line l = {};
	unsigned seen = 0;

	while (p < e) {
		const char *sp = memchr(p, ' ', (size_t)(e - p)), *tok_end = sp ? sp : e;
		const char *eq = memchr(p, '=', (size_t)(tok_end - p));
		size_t klen;
		int r = 0;

		if (!eq)
			return -EBADMSG;
		klen = (size_t)(eq - p);
		if (klen == 5 && memcmp(p, "avg10", 5) == 0) {
			r = span_fixed(eq + 1, tok_end, &l.avg10);
			seen |= 1;
		} else if (klen == 5 && memcmp(p, "avg60", 5) == 0) {
			r = span_fixed(eq + 1, tok_end, &l.avg60);
			seen |= 2;
		} else if (klen == 6 && memcmp(p, "avg300", 6) == 0) {
			r = span_fixed(eq + 1, tok_end, &l.avg300);
			seen |= 4;
		} else if (klen == 5 && memcmp(p, "total", 5) == 0) {
			r = span_u64(eq + 1, tok_end, &l.total_usec);
			seen |= 8;
		}
		if (r < 0)
			return r;
		p = sp ? sp + 1 : e;
	}
	if (seen != 15)
		return -ENOMSG;
	*ret = l;
	return 0;
}

int cg_parse_pressure(const char *buf, size_t len, struct cg_pressure *ret)
{
	const char *p = buf, *end = buf + len;
	struct cg_pressure ps = {};
	bool has_some = false;

	if (!buf || len == 0)
		return -EBADMSG;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *sp;
		struct cg_psi_line *dst = NULL;
		int r;

		if (!nl)
			return -EBADMSG;
		sp = memchr(p, ' ', (size_t)(nl - p));
		if (!sp)
			return -EBADMSG;
		if (sp - p == 4 && memcmp(p, "some", 4) == 0) {
			dst = &ps.some;
			has_some = true;
		} else if (sp - p == 4 && memcmp(p, "full", 4) == 0) {
			dst = &ps.full;
			ps.has_full = true;
		}
		if (dst) {
			r = parse_psi_fields(sp + 1, nl, dst);
			if (r < 0)
				return r;
		}
		p = nl + 1;
	}
	if (!has_some)
		return -ENOMSG;
	*ret = ps;
	return 0;
}

/* Whether the cgroup directory behind dirfd was removed. Only asked on an error path: a plain
 * directory has no links left once removed; a kernfs cgroup keeps its link count but every lookup
 * in it fails, including cgroup.procs, which every live cgroup v2 directory has. */
static bool dir_vanished(int dirfd)
{
	struct statfs sfs;
	struct stat st;

	if (fstat(dirfd, &st) < 0)
		return true;
	if (st.st_nlink == 0)
		return true;
	if (fstatfs(dirfd, &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC &&
	    faccessat(dirfd, "cgroup.procs", F_OK, 0) < 0 && errno == ENOENT)
		return true;
	return false;
}

int cg_read_errno(int e)
{
	return e == ENODEV || e == ENOENT || e == ESTALE ? -ENODEV : -e;
}

int cg_read_file_at(int dirfd, const char *name, char *buf, size_t size)
{
	_cleanup_close_ int fd = -1;
	size_t n = 0;

	if (!buf || size < 2)
		return -EINVAL;
	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd < 0) {
		int e = errno;

		if (e == ENOENT)
			return dir_vanished(dirfd) ? -ENODEV : -ENOENT;
		return e == ENODEV ? -ENODEV : -e;
	}
	for (;;) {
		ssize_t k = read(fd, buf + n, size - 1 - n);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return cg_read_errno(errno);
		}
		if (k == 0)
			break;
		n += (size_t)k;
		if (n == size - 1) {
			char extra;

			k = read(fd, &extra, 1);
			if (k > 0)
				return -ENOBUFS;
			if (k < 0)
				return cg_read_errno(errno);
			break;
		}
	}
	buf[n] = '\0';
	return (int)n;
}

#define READ_AND_PARSE(name, size, parse, ...)                                                     \
	({                                                                                         \
		char _buf[size];                                                                   \
		int _r = cg_read_file_at(dirfd, name, _buf, sizeof(_buf));                         \
		_r < 0 ? _r : parse(_buf, (size_t)_r, __VA_ARGS__);                                \
	})

int cg_read_cpu_stat_at(int dirfd, struct cg_cpu_stat *ret)
{
	return READ_AND_PARSE("cpu.stat", 1024, cg_parse_cpu_stat, ret);
}

int cg_read_cpu_max_at(int dirfd, struct cg_cpu_max *ret)
{
	return READ_AND_PARSE("cpu.max", 128, cg_parse_cpu_max, ret);
}

int cg_read_cpu_weight_at(int dirfd, uint64_t *ret)
{
	return READ_AND_PARSE("cpu.weight", 64, cg_parse_cpu_weight, ret);
}

int cg_read_u64_at(int dirfd, const char *name, uint64_t *ret)
{
	return READ_AND_PARSE(name, 64, cg_parse_u64, ret);
}

int cg_read_u64_or_max_at(int dirfd, const char *name, uint64_t *ret)
{
	return READ_AND_PARSE(name, 64, cg_parse_u64_or_max, ret);
}

int cg_read_memory_stat_at(int dirfd, struct cg_memory_stat *ret)
{
	return READ_AND_PARSE("memory.stat", 8192, cg_parse_memory_stat, ret);
}

int cg_read_memory_events_at(int dirfd, struct cg_memory_events *ret)
{
	return READ_AND_PARSE("memory.events", 512, cg_parse_memory_events, ret);
}

int cg_read_pressure_at(int dirfd, const char *name, struct cg_pressure *ret)
{
	return READ_AND_PARSE(name, 512, cg_parse_pressure, ret);
}

static int write_text_at(int dirfd, const char *name, const char *text)
{
	_cleanup_close_ int fd = -1;
	size_t len = strlen(text);
	ssize_t k;

	/* O_TRUNC matters only for the plain files of test trees; kernfs ignores it. */
	fd = openat(dirfd, name, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd < 0) {
		int e = errno;

		if (e == ENOENT && dir_vanished(dirfd))
			return -ENODEV;
		return -e;
	}
	k = write(fd, text, len);
	if (k < 0)
		return negative_errno();
	if ((size_t)k != len)
		return -EIO;
	return 0;
}

static void format_u64_or_max(char *buf, size_t size, uint64_t v)
{
	if (v == CG_UNLIMITED)
		snprintf(buf, size, "max\n");
	else
		snprintf(buf, size, "%llu\n", (unsigned long long)v);
}

int cg_write_cpu_max(int dirfd, uint64_t quota_usec, uint64_t period_usec)
{
	char buf[64];

	/* The kernel's bounds: period 1 ms..1 s, quota ≥ 1 ms. */
	if (period_usec < 1000 || period_usec > 1000000)
		return -ERANGE;
	if (quota_usec != CG_UNLIMITED && quota_usec < 1000)
		return -ERANGE;
	if (quota_usec == CG_UNLIMITED)
		snprintf(buf, sizeof(buf), "max %llu\n", (unsigned long long)period_usec);
	else
		snprintf(buf, sizeof(buf), "%llu %llu\n", (unsigned long long)quota_usec,
			 (unsigned long long)period_usec);
	return write_text_at(dirfd, "cpu.max", buf);
}

int cg_write_cpu_weight(int dirfd, uint64_t weight)
{
	char buf[32];

	if (weight < CG_MIN_WEIGHT || weight > CG_MAX_WEIGHT)
		return -ERANGE;
	snprintf(buf, sizeof(buf), "%llu\n", (unsigned long long)weight);
	return write_text_at(dirfd, "cpu.weight", buf);
}

int cg_write_memory_max(int dirfd, uint64_t bytes)
{
	char buf[32];

	format_u64_or_max(buf, sizeof(buf), bytes);
	return write_text_at(dirfd, "memory.max", buf);
}

int cg_write_memory_high(int dirfd, uint64_t bytes)
{
	char buf[32];

	format_u64_or_max(buf, sizeof(buf), bytes);
	return write_text_at(dirfd, "memory.high", buf);
}

uint64_t cg_millicores_to_shares(uint64_t millicores)
{
	uint64_t s;

	if (millicores == 0)
		return CG_MIN_SHARES;
	if (millicores > UINT64_MAX / CG_SHARES_PER_CPU)
		return CG_MAX_SHARES;
	s = millicores * CG_SHARES_PER_CPU / 1000;
	if (s < CG_MIN_SHARES)
		return CG_MIN_SHARES;
	if (s > CG_MAX_SHARES)
		return CG_MAX_SHARES;
	return s;
}

uint64_t cg_shares_to_millicores(uint64_t shares)
{
	if (shares > CG_MAX_SHARES)
		shares = CG_MAX_SHARES;
	return (shares * 1000 + CG_SHARES_PER_CPU / 2) / CG_SHARES_PER_CPU;
}

void cg_cpu_limit_to_max(uint64_t millicores, struct cg_cpu_max *ret)
{
	ret->period_usec = CG_QUOTA_PERIOD_USEC;
	if (millicores == 0) {
		ret->quota_usec = CG_UNLIMITED;
		return;
	}
	if (millicores > UINT64_MAX / CG_QUOTA_PERIOD_USEC) {
		ret->quota_usec = CG_UNLIMITED;
		return;
	}
	ret->quota_usec = millicores * CG_QUOTA_PERIOD_USEC / 1000;
	if (ret->quota_usec < CG_MIN_QUOTA_USEC)
		ret->quota_usec = CG_MIN_QUOTA_USEC;
}

uint64_t cg_cpu_max_to_millicores(const struct cg_cpu_max *m)
{
	if (m->quota_usec == CG_UNLIMITED || m->period_usec == 0)
		return CG_UNLIMITED;
	if (m->quota_usec > UINT64_MAX / 1000)
		return CG_UNLIMITED;
	return (m->quota_usec * 1000 + m->period_usec - 1) / m->period_usec;
}

const char *cg_weight_formula_to_string(enum cg_weight_formula f)
{
	return f == CG_WEIGHT_LOG ? "log" : "kubelet";
}

uint64_t cg_shares_to_weight_kubelet(uint64_t shares)
{
	if (shares < CG_MIN_SHARES)
		shares = CG_MIN_SHARES;
	if (shares > CG_MAX_SHARES)
		shares = CG_MAX_SHARES;
	return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t cg_shares_to_weight_log(uint64_t shares)
{
	double l, exponent;

	if (shares <= CG_MIN_SHARES)
		return CG_MIN_WEIGHT;
	if (shares >= CG_MAX_SHARES)
		return CG_MAX_WEIGHT;
	/* Same operations in the same order as runc's ConvertCPUSharesToCgroupV2Value, so the
	 * doubles round the same way. */
	l = log2((double)shares);
	exponent = (l * l + 125 * l) / 612.0 - 7.0 / 34.0;
	return (uint64_t)ceil(pow(10, exponent));
}

uint64_t cg_shares_to_weight(enum cg_weight_formula f, uint64_t shares)
{
	return f == CG_WEIGHT_LOG ? cg_shares_to_weight_log(shares)
				  : cg_shares_to_weight_kubelet(shares);
}

uint64_t cg_weight_to_shares_kubelet(uint64_t weight)
{
	if (weight < CG_MIN_WEIGHT)
		weight = CG_MIN_WEIGHT;
	if (weight > CG_MAX_WEIGHT)
		weight = CG_MAX_WEIGHT;
	return ((weight - 1) * 262142) / 9999 + 2;
}

/* The smallest shares value whose log-formula weight is at least weight (binary search: the
 * formula is monotonic). */
static uint64_t log_weight_lower_bound(uint64_t weight)
{
	uint64_t lo = CG_MIN_SHARES, hi = CG_MAX_SHARES;

	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;

		if (cg_shares_to_weight_log(mid) >= weight)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

uint64_t cg_weight_to_shares_log(uint64_t weight)
{
	uint64_t lo, hi;

	if (weight <= CG_MIN_WEIGHT)
		return CG_MIN_SHARES;
	if (weight >= CG_MAX_WEIGHT)
		return CG_MAX_SHARES;
	lo = log_weight_lower_bound(weight);
	if (cg_shares_to_weight_log(lo) != weight)
		return lo; /* a weight the formula skips: the nearest shares above */
	hi = log_weight_lower_bound(weight + 1);
	/* The middle of the range mapping to weight: the least-biased guess of the request. */
	return lo + (hi - 1 - lo) / 2;
}

uint64_t cg_weight_to_shares(enum cg_weight_formula f, uint64_t weight)
{
	return f == CG_WEIGHT_LOG ? cg_weight_to_shares_log(weight)
				  : cg_weight_to_shares_kubelet(weight);
}

int cg_weight_formula_detect(uint64_t weight, uint64_t request_millicores,
			     enum cg_weight_formula *ret)
{
	uint64_t s = cg_millicores_to_shares(request_millicores);
	uint64_t k = cg_shares_to_weight_kubelet(s), g = cg_shares_to_weight_log(s);

	if (k == g)
		return weight == k ? -EAGAIN : -EINVAL;
	if (weight == k) {
		*ret = CG_WEIGHT_KUBELET;
		return 0;
	}
	if (weight == g) {
		*ret = CG_WEIGHT_LOG;
		return 0;
	}
	return -EINVAL;
}
