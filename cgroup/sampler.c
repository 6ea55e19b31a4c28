/* The cgroup sampler: fds kept per container, one io_uring batch (or preads) per tick (see sampler.h). */
#include "cgroup/sampler.h"

#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/resource.h>
#include <sys/vfs.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent/util/cleanup.h"
#include "agent/util/log.h"
#include "agent/util/time.h"

static const struct {
	const char *name;
	uint32_t size; /* read buffer: a read that fills it is treated as cut (-ENOBUFS) */
} file_info[_CG_FILE_MAX] = {
	[CG_FILE_CPU_STAT] = { "cpu.stat", 512 },
	[CG_FILE_MEMORY_CURRENT] = { "memory.current", 32 },
	[CG_FILE_MEMORY_PEAK] = { "memory.peak", 32 },
	[CG_FILE_MEMORY_STAT] = { "memory.stat", 4096 },
	[CG_FILE_MEMORY_EVENTS] = { "memory.events", 256 },
	[CG_FILE_CPU_PRESSURE] = { "cpu.pressure", 256 },
	[CG_FILE_MEMORY_PRESSURE] = { "memory.pressure", 256 },
	[CG_FILE_CPU_MAX] = { "cpu.max", 64 },
	[CG_FILE_CPU_WEIGHT] = { "cpu.weight", 32 },
	[CG_FILE_MEMORY_MAX] = { "memory.max", 32 },
	[CG_FILE_MEMORY_HIGH] = { "memory.high", 32 },
};

/* Past this many queued reads the ring is not grown further; a tick then submits in batches. */
#define RING_MAX_ENTRIES 4096u
#define RING_MIN_ENTRIES 64u

struct cg_sampler_entry {
	char *path;
	void *userdata;
	size_t index;
	unsigned files; /* which files this cgroup has (and we read) */
	int fds[_CG_FILE_MAX];
	char *bufs[_CG_FILE_MAX]; /* slices of one allocation */
	int res[_CG_FILE_MAX];	  /* bytes read or -errno, per tick */
	struct cg_sample sample;
};

struct cg_sampler {
	struct cg_tree *tree;
	enum cg_sampler_mode mode;
	unsigned files;
	struct cg_sampler_entry **entries;
	size_t n_entries, n_alloc;
	size_t n_reads; /* sum of popcount(files) over entries */
	struct io_uring ring;
	bool ring_ok;
	unsigned ring_entries;
};

const char *cg_file_name(enum cg_file f)
{
	return f < _CG_FILE_MAX ? file_info[f].name : NULL;
}

const char *cg_sampler_mode_to_string(enum cg_sampler_mode m)
{
	switch (m) {
	case CG_SAMPLER_AUTO:
		return "auto";
	case CG_SAMPLER_URING:
		return "uring";
	case CG_SAMPLER_PREAD:
		return "pread";
	case CG_SAMPLER_OPEN_READ_CLOSE:
		return "orc";
	}
	return "unknown";
}

int cg_sampler_mode_from_string(const char *s, enum cg_sampler_mode *ret)
{
	if (!s)
		return -EINVAL;
	if (strcmp(s, "auto") == 0)
		*ret = CG_SAMPLER_AUTO;
	else if (strcmp(s, "uring") == 0 || strcmp(s, "io_uring") == 0)
		*ret = CG_SAMPLER_URING;
	else if (strcmp(s, "pread") == 0)
		*ret = CG_SAMPLER_PREAD;
	else if (strcmp(s, "orc") == 0 || strcmp(s, "open-read-close") == 0)
		*ret = CG_SAMPLER_OPEN_READ_CLOSE;
	else
		return -EINVAL;
	return 0;
}

static unsigned round_pow2(size_t n)
{
	unsigned r = RING_MIN_ENTRIES;

	while (r < n && r < RING_MAX_ENTRIES)
		r <<= 1;
	return r;
}

/* Sets up (or re-sizes) the ring and checks it really completes a request: seccomp filters may let
 * io_uring_setup through and still block io_uring_enter. */
static int ring_setup(struct cg_sampler *s, unsigned entries)
{
	struct io_uring ring;
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	int r;

	r = io_uring_queue_init(entries, &ring, 0);
	if (r < 0)
		return r;
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_nop(sqe);
	r = io_uring_submit_and_wait(&ring, 1);
	if (r >= 0)
		r = io_uring_peek_cqe(&ring, &cqe);
	if (r >= 0) {
		r = cqe->res;
		io_uring_cqe_seen(&ring, cqe);
	}
	if (r < 0) {
		io_uring_queue_exit(&ring);
		return r;
	}
	if (s->ring_ok)
		io_uring_queue_exit(&s->ring);
	s->ring = ring;
	s->ring_ok = true;
	s->ring_entries = entries;
	return 0;
}

static bool root_is_kernfs(struct cg_tree *tree)
{
	struct statfs sfs;

	return fstatfs(cg_tree_fd(tree), &sfs) == 0 &&
	       (sfs.f_type == CGROUP2_SUPER_MAGIC || sfs.f_type == SYSFS_MAGIC);
}

int cg_sampler_new(struct cg_tree *tree, enum cg_sampler_mode mode, unsigned files,
		   struct cg_sampler **ret)
{
	struct cg_sampler *s;
	int r;

	if (!tree || !ret || (files & ~CG_FILES_ALL))
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->tree = tree;
	/* cpu.stat is how the sampler tells a cgroup is there at all. */
	s->files = files | CG_FILE_BIT(CG_FILE_CPU_STAT);
	s->mode = mode;
	if (mode == CG_SAMPLER_AUTO && root_is_kernfs(tree)) {
		/* Measured (bench-sampler in the VM, Debian 6.1, 1000 containers): on cgroup2 files
		 * pread on kept fds costs half of the io_uring batch, because kernfs reads cannot
		 * complete inline (no FMODE_NOWAIT) and each is handed to an io-wq worker thread. */
		log_debug("cgroup2 tree: sampling with pread (cheaper than io_uring on kernfs)");
		s->mode = CG_SAMPLER_PREAD;
	} else if (mode == CG_SAMPLER_AUTO || mode == CG_SAMPLER_URING) {
		r = ring_setup(s, RING_MIN_ENTRIES);
		if (r < 0) {
			if (mode == CG_SAMPLER_URING) {
				free(s);
				return log_debug_errno(r, "io_uring unavailable: %m");
			}
			log_debug_errno(r, "io_uring unavailable (%m), sampling with pread");
			s->mode = CG_SAMPLER_PREAD;
		} else
			s->mode = CG_SAMPLER_URING;
	}
	*ret = s;
	return 0;
}

static void entry_free(struct cg_sampler_entry *e)
{
	if (!e)
		return;
	for (int f = 0; f < _CG_FILE_MAX; f++)
		safe_close(e->fds[f]);
	free(e->bufs[0]);
	free(e->path);
	free(e);
}

struct cg_sampler *cg_sampler_free(struct cg_sampler *s)
{
	if (!s)
		return NULL;
	for (size_t i = 0; i < s->n_entries; i++)
		entry_free(s->entries[i]);
	free(s->entries);
	if (s->ring_ok)
		io_uring_queue_exit(&s->ring);
	free(s);
	return NULL;
}

enum cg_sampler_mode cg_sampler_mode(const struct cg_sampler *s)
{
	return s->mode;
}

int cg_sampler_add(struct cg_sampler *s, const char *relpath, void *userdata,
		   struct cg_sampler_entry **ret)
{
	struct cg_sampler_entry *e;
	_cleanup_close_ int dirfd = -1;
	size_t total = 0;
	unsigned n_files = 0;
	char *p;
	int r;

	if (!relpath || !cg_relpath_is_valid(relpath))
		return -EINVAL;
	dirfd = cg_tree_open_dir(s->tree, relpath);
	if (dirfd < 0)
		return dirfd;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	for (int f = 0; f < _CG_FILE_MAX; f++)
		e->fds[f] = -1;
	e->userdata = userdata;
	e->path = strdup(relpath);
	if (!e->path) {
		r = -ENOMEM;
		goto fail;
	}
	for (int f = 0; f < _CG_FILE_MAX; f++) {
		int fd;

		if (!(s->files & CG_FILE_BIT(f)))
			continue;
		fd = openat(dirfd, file_info[f].name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
		if (fd < 0) {
			r = negative_errno();
			if (r == -ENOENT && f != CG_FILE_CPU_STAT)
				continue; /* this kernel or cgroup has no such file */
			goto fail;
		}
		if (s->mode == CG_SAMPLER_OPEN_READ_CLOSE)
			safe_close(fd); /* only learning which files exist */
		else
			e->fds[f] = fd;
		e->files |= CG_FILE_BIT(f);
		total += file_info[f].size;
		n_files++;
	}
	e->bufs[0] = malloc(total);
	if (!e->bufs[0]) {
		r = -ENOMEM;
		goto fail;
	}
	p = e->bufs[0];
	for (int f = 0; f < _CG_FILE_MAX; f++) {
		if (!(e->files & CG_FILE_BIT(f)))
			continue;
		e->bufs[f] = p;
		p += file_info[f].size;
	}
	if (s->n_entries == s->n_alloc) {
		size_t n = s->n_alloc ? s->n_alloc * 2 : 16;
		struct cg_sampler_entry **a = realloc(s->entries, n * sizeof(*a));

		if (!a) {
			r = -ENOMEM;
			goto fail;
		}
		s->entries = a;
		s->n_alloc = n;
	}
	if (s->mode == CG_SAMPLER_URING && s->ring_entries < RING_MAX_ENTRIES &&
	    s->n_reads + n_files > s->ring_entries)
		/* A bigger ring keeps a tick at one submission; on failure we keep batching. */
		(void)ring_setup(s, round_pow2(s->n_reads + n_files));
	e->sample.error = -EAGAIN; /* not sampled yet */
	e->index = s->n_entries;
	s->entries[s->n_entries++] = e;
	s->n_reads += n_files;
	if (ret)
		*ret = e;
	return 0;
fail:
	entry_free(e);
	return r;
}

void cg_sampler_remove(struct cg_sampler *s, struct cg_sampler_entry *e)
{
	size_t i;

	if (!e)
		return;
	i = e->index;
	if (i >= s->n_entries || s->entries[i] != e)
		return;
	s->n_reads -= (size_t)__builtin_popcount(e->files);
	s->entries[i] = s->entries[--s->n_entries];
	s->entries[i]->index = i;
	entry_free(e);
}

size_t cg_sampler_n_entries(const struct cg_sampler *s)
{
	return s->n_entries;
}

struct cg_sampler_entry *cg_sampler_entry_at(const struct cg_sampler *s, size_t i)
{
	return i < s->n_entries ? s->entries[i] : NULL;
}

const struct cg_sample *cg_sampler_entry_sample(const struct cg_sampler_entry *e)
{
	return &e->sample;
}

const char *cg_sampler_entry_path(const struct cg_sampler_entry *e)
{
	return e->path;
}

void *cg_sampler_entry_userdata(const struct cg_sampler_entry *e)
{
	return e->userdata;
}

unsigned cg_sampler_entry_files(const struct cg_sampler_entry *e)
{
	return e->files;
}

static void read_pread(struct cg_sampler_entry *e)
{
	for (int f = 0; f < _CG_FILE_MAX; f++) {
		ssize_t k;

		if (!(e->files & CG_FILE_BIT(f)))
			continue;
		do
			k = pread(e->fds[f], e->bufs[f], file_info[f].size, 0);
		while (k < 0 && errno == EINTR);
		e->res[f] = k < 0 ? -errno : (int)k;
	}
}

static void read_orc(struct cg_sampler *s, struct cg_sampler_entry *e)
{
	int root = cg_tree_fd(s->tree);

	for (int f = 0; f < _CG_FILE_MAX; f++) {
		char path[PATH_MAX];
		ssize_t k;
		int fd;

		if (!(e->files & CG_FILE_BIT(f)))
			continue;
		/* The full path from the root each time, as an agent opening /sys/fs/cgroup/... does. */
		snprintf(path, sizeof(path), "%s/%s", e->path, file_info[f].name);
		fd = openat(root, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
		if (fd < 0) {
			e->res[f] = -errno;
			continue;
		}
		do
			k = read(fd, e->bufs[f], file_info[f].size);
		while (k < 0 && errno == EINTR);
		e->res[f] = k < 0 ? -errno : (int)k;
		close(fd);
	}
}

static void reap(struct cg_sampler *s, unsigned *inflight)
{
	struct io_uring_cqe *cqe;
	unsigned head, n = 0;

	io_uring_for_each_cqe(&s->ring, head, cqe)
	{
		uint64_t ud = io_uring_cqe_get_data64(cqe);
		struct cg_sampler_entry *e = s->entries[ud >> 4];

		e->res[ud & 15] = cqe->res;
		n++;
	}
	io_uring_cq_advance(&s->ring, n);
	*inflight -= n;
}

static int read_uring(struct cg_sampler *s)
{
	unsigned inflight = 0;
	int r;

	for (size_t i = 0; i < s->n_entries; i++) {
		struct cg_sampler_entry *e = s->entries[i];

		for (int f = 0; f < _CG_FILE_MAX; f++) {
			struct io_uring_sqe *sqe;

			if (!(e->files & CG_FILE_BIT(f)))
				continue;
			sqe = io_uring_get_sqe(&s->ring);
			while (!sqe) {
				/* Ring full: push this batch and collect all of it, so the
				 * completion queue can never overflow. */
				r = io_uring_submit_and_wait(&s->ring, inflight);
				if (r < 0 && r != -EINTR)
					return r;
				reap(s, &inflight);
				sqe = io_uring_get_sqe(&s->ring);
			}
			io_uring_prep_read(sqe, e->fds[f], e->bufs[f], file_info[f].size, 0);
			io_uring_sqe_set_data64(sqe, ((uint64_t)i << 4) | (uint64_t)f);
			e->res[f] = -EINPROGRESS;
			inflight++;
		}
	}
	while (inflight > 0) {
		r = io_uring_submit_and_wait(&s->ring, inflight);
		if (r < 0 && r != -EINTR)
			return r;
		reap(s, &inflight);
	}
	return 0;
}

/* Turns one file's read result into sample fields; returns -ENODEV when the cgroup is gone, another
 * read error, 0 on success, or >0 (the file was left out: parse error recorded). */
static int absorb(struct cg_sampler_entry *e, int f, struct cg_sample *smp)
{
	const char *b = e->bufs[f];
	int res = e->res[f], r;
	size_t n;

	if (res < 0)
		return cg_read_errno(-res);
	if ((uint32_t)res >= file_info[f].size) {
		smp->parse_error = -ENOBUFS;
		return 1;
	}
	if (res == 0) {
		struct stat st;

		/* The kernel never shows these files empty. An empty read of a plain file that was
		 * unlinked (test trees) means the same as kernfs' ENODEV. */
		if (e->fds[f] >= 0 && fstat(e->fds[f], &st) == 0 && st.st_nlink == 0)
			return -ENODEV;
		smp->parse_error = -EBADMSG;
		return 1;
	}
	n = (size_t)res;
	switch (f) {
	case CG_FILE_CPU_STAT:
		r = cg_parse_cpu_stat(b, n, &smp->cpu);
		break;
	case CG_FILE_MEMORY_CURRENT:
		r = cg_parse_u64(b, n, &smp->memory_current);
		break;
	case CG_FILE_MEMORY_PEAK:
		r = cg_parse_u64(b, n, &smp->memory_peak);
		break;
	case CG_FILE_MEMORY_STAT:
		r = cg_parse_memory_stat(b, n, &smp->memory_stat);
		break;
	case CG_FILE_MEMORY_EVENTS:
		r = cg_parse_memory_events(b, n, &smp->memory_events);
		break;
	case CG_FILE_CPU_PRESSURE:
		r = cg_parse_pressure(b, n, &smp->cpu_pressure);
		break;
	case CG_FILE_MEMORY_PRESSURE:
		r = cg_parse_pressure(b, n, &smp->memory_pressure);
		break;
	case CG_FILE_CPU_MAX:
		r = cg_parse_cpu_max(b, n, &smp->cpu_max);
		break;
	case CG_FILE_CPU_WEIGHT:
		r = cg_parse_cpu_weight(b, n, &smp->cpu_weight);
		break;
	case CG_FILE_MEMORY_MAX:
		r = cg_parse_u64_or_max(b, n, &smp->memory_max);
		break;
	case CG_FILE_MEMORY_HIGH:
		r = cg_parse_u64_or_max(b, n, &smp->memory_high);
		break;
	default:
		r = -EINVAL;
	}
	if (r < 0) {
		smp->parse_error = r;
		return 1;
	}
	smp->present |= CG_FILE_BIT(f);
	return 0;
}

static bool finish_entry(struct cg_sampler_entry *e, uint64_t now)
{
	struct cg_sample *smp = &e->sample;
	int err = 0;

	smp->present = 0;
	smp->parse_error = 0;
	for (int f = 0; f < _CG_FILE_MAX; f++) {
		int r;

		if (!(e->files & CG_FILE_BIT(f)))
			continue;
		r = absorb(e, f, smp);
		/* Vanished wins over any other error: it tells the caller what to do. */
		if (r < 0 && (err == 0 || r == -ENODEV))
			err = r;
	}
	if (err == 0 && !(smp->present & CG_FILE_BIT(CG_FILE_CPU_STAT)))
		err = smp->parse_error ? smp->parse_error : -EBADMSG;
	if ((smp->present & CG_FILE_BIT(CG_FILE_MEMORY_CURRENT)) &&
	    (smp->present & CG_FILE_BIT(CG_FILE_MEMORY_STAT)))
		smp->memory_working_set =
			cg_working_set(smp->memory_current, smp->memory_stat.inactive_file);
	else
		smp->memory_working_set = 0;
	smp->error = err;
	smp->timestamp_usec = now;
	return err == 0;
}

int cg_sampler_tick(struct cg_sampler *s)
{
	uint64_t now;
	int ok = 0, r;

	switch (s->mode) {
	case CG_SAMPLER_URING:
		r = read_uring(s);
		if (r < 0)
			return log_debug_errno(r, "io_uring tick failed: %m");
		break;
	case CG_SAMPLER_PREAD:
		for (size_t i = 0; i < s->n_entries; i++)
			read_pread(s->entries[i]);
		break;
	case CG_SAMPLER_OPEN_READ_CLOSE:
		for (size_t i = 0; i < s->n_entries; i++)
			read_orc(s, s->entries[i]);
		break;
	default:
		return -EINVAL;
	}
	now = now_usec(CLOCK_MONOTONIC);
	for (size_t i = 0; i < s->n_entries; i++)
		ok += finish_entry(s->entries[i], now);
	return ok;
}

uint64_t cg_sampler_fds_needed(unsigned files, size_t n_containers)
{
	return (uint64_t)__builtin_popcount(files | CG_FILE_BIT(CG_FILE_CPU_STAT)) * n_containers +
	       256;
}

int cg_raise_nofile(uint64_t want, uint64_t *ret_old, uint64_t *ret_new)
{
	struct rlimit rl;
	rlim_t old;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return negative_errno();
	old = rl.rlim_cur;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want) {
		struct rlimit big = rl;
		uint64_t nr_open = 0;
		char buf[32] = {};
		int fd = open("/proc/sys/fs/nr_open", O_RDONLY | O_CLOEXEC);

		if (fd >= 0) {
			ssize_t k = read(fd, buf, sizeof(buf) - 1);

			close(fd);
			if (k > 0)
				(void)cg_parse_u64(buf, (size_t)k, &nr_open);
		}
		big.rlim_max = nr_open > 0 && nr_open < want ? nr_open : want;
		big.rlim_cur = big.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &big) == 0)
			rl = big;
	}
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			return negative_errno();
	}
	*ret_old = old;
	*ret_new = rl.rlim_cur;
	return 0;
}
