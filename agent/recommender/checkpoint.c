/* Checkpoint files: JSON (de)serialisation of an aggregate and the atomic store under --state-dir. */
#include "agent/recommender/checkpoint.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent/util/cleanup.h"
#include "agent/util/log.h"
#include "agent/util/json.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct rec_aggregate *, rec_aggregate_free)

#define TMP_PREFIX ".tmp-"
#define MAX_FILE_SIZE (4 * 1024 * 1024)
#define MAX_IDENTITY_PART 1024
/* Temp files younger than this may belong to a save in progress elsewhere; leave them be. */
#define TMP_GC_AGE_USEC (600LL * REC_USEC_PER_SEC)

struct rec_store {
	int dir_fd;
	/* Temp names are pid + counter: unique across processes sharing the directory. */
	pid_t pid;
	unsigned counter;
};

/* --- file names ----------------------------------------------------------------------------- */

static bool plain_char(char c, bool first)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-')
		return true;
	/* A leading dot would hide the file (and clash with temp files). */
	return c == '.' && !first;
}

static int escape_part(const char *s, char *buf, size_t size, size_t *pos, bool first)
{
	static const char hex[] = "0123456789ABCDEF";

	if (!s || !*s || strlen(s) > MAX_IDENTITY_PART)
		return -EINVAL;
	for (; *s; s++, first = false) {
		unsigned char c = (unsigned char)*s;

		if (plain_char((char)c, first)) {
			if (*pos + 1 >= size)
				return -ENOBUFS;
			buf[(*pos)++] = (char)c;
		} else {
			if (*pos + 3 >= size)
				return -ENOBUFS;
			buf[(*pos)++] = '%';
			buf[(*pos)++] = hex[c >> 4];
			buf[(*pos)++] = hex[c & 15];
		}
	}
	return 0;
}

static uint64_t fnv1a(uint64_t h, const char *s)
{
	/* The terminating NUL is hashed too, so part boundaries count. */
	do {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	} while (*s++);
	return h;
}

int rec_identity_file_name(const struct rec_identity *id, char *buf, size_t size)
{
	const char *parts[] = { id->namespace, id->owner_kind, id->owner_name, id->container };
	char name[4 * 3 * MAX_IDENTITY_PART + 8];
	size_t pos = 0;
	int r;

	for (size_t i = 0; i < 4; i++) {
		if (i > 0)
			name[pos++] = '_';
		r = escape_part(parts[i], name, sizeof(name), &pos, i == 0);
		if (r < 0)
			return r;
	}
	name[pos] = '\0';
	if (pos > 200) {
		uint64_t h = 0xcbf29ce484222325ULL;

		for (size_t i = 0; i < 4; i++)
			h = fnv1a(h, parts[i]);
		pos = 150;
		/* Do not cut an escape in half. */
		while (pos > 0 && (name[pos - 1] == '%' || (pos > 1 && name[pos - 2] == '%')))
			pos--;
		r = snprintf(buf, size, "%.*s~%016llx.json", (int)pos, name, (unsigned long long)h);
	} else
		r = snprintf(buf, size, "%s.json", name);
	if (r < 0 || (size_t)r >= size)
		return -ENOBUFS;
	return 0;
}

/* --- times ---------------------------------------------------------------------------------- */

/* RFC 3339 in UTC like metav1.Time (with microseconds when there are any); Go's zero time is null. */
static cJSON *time_to_json(int64_t usec)
{
	char buf[64];
	int64_t secs = usec / REC_USEC_PER_SEC, frac = usec % REC_USEC_PER_SEC;
	time_t tt;
	struct tm tm;
	size_t n;

	if (usec == REC_TIME_ZERO)
		return cJSON_CreateNull();
	if (frac < 0) {
		frac += REC_USEC_PER_SEC;
		secs--;
	}
	tt = (time_t)secs;
	if (!gmtime_r(&tt, &tm))
		return NULL;
	n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	if (n == 0)
		return NULL;
	if (frac)
		snprintf(buf + n, sizeof(buf) - n, ".%06lldZ", (long long)frac);
	else
		snprintf(buf + n, sizeof(buf) - n, "Z");
	return cJSON_CreateString(buf);
}

static int parse_digits(const char **p, int n, int *ret)
{
	int v = 0;

	for (int i = 0; i < n; i++, (*p)++) {
		if (**p < '0' || **p > '9')
			return -EBADMSG;
		v = v * 10 + (**p - '0');
	}
	*ret = v;
	return 0;
}

static int parse_time(const char *s, int64_t *ret)
{
	struct tm tm = { 0 };
	int y, mo, d, h, mi, se, r;
	int64_t frac = 0, scale = 100000;
	const char *p = s;
	time_t t;

	if ((r = parse_digits(&p, 4, &y)) < 0 || *p++ != '-' ||
	    (r = parse_digits(&p, 2, &mo)) < 0 || *p++ != '-' ||
	    (r = parse_digits(&p, 2, &d)) < 0 || *p++ != 'T' || (r = parse_digits(&p, 2, &h)) < 0 ||
	    *p++ != ':' || (r = parse_digits(&p, 2, &mi)) < 0 || *p++ != ':' ||
	    (r = parse_digits(&p, 2, &se)) < 0)
		return -EBADMSG;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return -EBADMSG;
		for (; *p >= '0' && *p <= '9'; p++) {
			frac += (*p - '0') * scale;
			scale /= 10;
		}
	}
	if (strcmp(p, "Z") != 0)
		return -EBADMSG;
	if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
		return -EBADMSG;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	t = timegm(&tm);
	*ret = (int64_t)t * REC_USEC_PER_SEC + frac;
	return 0;
}

static int json_time(const cJSON *obj, const char *key, int64_t *ret)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (!v || cJSON_IsNull(v)) {
		*ret = REC_TIME_ZERO;
		return 0;
	}
	if (!cJSON_IsString(v))
		return -EBADMSG;
	return parse_time(v->valuestring, ret);
}

/* --- JSON ----------------------------------------------------------------------------------- */

static int json_int(const cJSON *obj, const char *key, int64_t min, int64_t max, int64_t *ret)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) ||
	    v->valuedouble < (double)min || v->valuedouble > (double)max)
		return -EBADMSG;
	*ret = (int64_t)v->valuedouble;
	return 0;
}

static cJSON *histogram_to_json(const struct rec_decaying_histogram *d)
{
	uint32_t stored[d->h.options->num_buckets];
	struct rec_histogram_checkpoint cp = { .bucket_weights = stored,
					       .num_buckets = d->h.options->num_buckets };
	_cleanup_(cJSON_Deletep) cJSON *o = cJSON_CreateObject();
	cJSON *w;
	char key[16];

	if (!o || rec_decaying_histogram_save(d, &cp) < 0)
		return NULL;
	if (!cJSON_AddItemToObject(o, "referenceTimestamp", time_to_json(cp.reference_usec)) ||
	    !cJSON_AddNumberToObject(o, "totalWeight", cp.total_weight) ||
	    !cJSON_AddNumberToObject(o, "numBuckets", cp.num_buckets))
		return NULL;
	w = cJSON_AddObjectToObject(o, "bucketWeights");
	if (!w)
		return NULL;
	for (int b = 0; b < cp.num_buckets; b++) {
		if (!stored[b])
			continue;
		snprintf(key, sizeof(key), "%d", b);
		if (!cJSON_AddNumberToObject(w, key, stored[b]))
			return NULL;
	}
	return TAKE_PTR(o);
}

static int histogram_from_json(const cJSON *o, struct rec_decaying_histogram *d)
{
	int n = d->h.options->num_buckets;
	uint32_t stored[n];
	struct rec_histogram_checkpoint cp = { .bucket_weights = stored, .num_buckets = n };
	const cJSON *total, *weights, *item;
	int64_t nb;
	int r;

	if (!cJSON_IsObject(o))
		return -EBADMSG;
	r = json_time(o, "referenceTimestamp", &cp.reference_usec);
	if (r < 0)
		return r;
	total = cJSON_GetObjectItemCaseSensitive(o, "totalWeight");
	if (!cJSON_IsNumber(total) || !isfinite(total->valuedouble) || total->valuedouble < 0)
		return -EBADMSG;
	cp.total_weight = total->valuedouble;
	/* Buckets of another layout would land in the wrong places: refuse them. */
	if (json_int(o, "numBuckets", 1, 1000000, &nb) < 0)
		return -EBADMSG;
	if (nb != n)
		return -EINVAL;
	weights = cJSON_GetObjectItemCaseSensitive(o, "bucketWeights");
	if (!cJSON_IsObject(weights))
		return -EBADMSG;
	memset(stored, 0, sizeof(stored));
	cJSON_ArrayForEach (item, weights) {
		char *end;
		long b;

		errno = 0;
		b = strtol(item->string, &end, 10);
		if (errno || end == item->string || *end || item->string[0] == '-' ||
		    item->string[0] == '+' || item->string[0] == ' ')
			return -EBADMSG;
		if (b >= n)
			return -EINVAL;
		if (!cJSON_IsNumber(item) || item->valuedouble != floor(item->valuedouble) ||
		    item->valuedouble < 0 || item->valuedouble > UINT32_MAX)
			return -EBADMSG;
		stored[b] = (uint32_t)item->valuedouble;
	}
	return rec_decaying_histogram_load(d, &cp);
}

cJSON *rec_aggregate_to_json(const struct rec_aggregate *a)
{
	_cleanup_(cJSON_Deletep) cJSON *o = cJSON_CreateObject();
	cJSON *h, *oom;

	if (!o ||
	    !cJSON_AddItemToObject(o, "firstSampleStart", time_to_json(a->first_sample_usec)) ||
	    !cJSON_AddItemToObject(o, "lastSampleStart", time_to_json(a->last_sample_usec)) ||
	    !cJSON_AddNumberToObject(o, "totalSamplesCount", (double)a->total_samples))
		return NULL;
	h = histogram_to_json(&a->cpu);
	if (!h || !cJSON_AddItemToObject(o, "cpuHistogram", h)) {
		cJSON_Delete(h);
		return NULL;
	}
	h = histogram_to_json(&a->memory);
	if (!h || !cJSON_AddItemToObject(o, "memoryHistogram", h)) {
		cJSON_Delete(h);
		return NULL;
	}
	if (a->last_oom_usec != REC_TIME_ZERO) {
		oom = cJSON_AddObjectToObject(o, "lastOOM");
		if (!oom || !cJSON_AddItemToObject(oom, "time", time_to_json(a->last_oom_usec)) ||
		    !cJSON_AddNumberToObject(oom, "memoryBytes", (double)a->last_oom_memory_bytes))
			return NULL;
	}
	return TAKE_PTR(o);
}

int rec_checkpoint_format(const struct rec_identity *id, const struct rec_aggregate *a,
			  int64_t now_usec, char **ret)
{
	_cleanup_(cJSON_Deletep) cJSON *o = cJSON_CreateObject();
	cJSON *ident, *hist, *item;
	char *text;

	if (!o)
		return -ENOMEM;
	if (!cJSON_AddStringToObject(o, "version", REC_CHECKPOINT_VERSION))
		return -ENOMEM;
	ident = cJSON_AddObjectToObject(o, "identity");
	if (!ident || !cJSON_AddStringToObject(ident, "namespace", id->namespace) ||
	    !cJSON_AddStringToObject(ident, "ownerKind", id->owner_kind) ||
	    !cJSON_AddStringToObject(ident, "ownerName", id->owner_name) ||
	    !cJSON_AddStringToObject(ident, "container", id->container))
		return -ENOMEM;
	if (!cJSON_AddItemToObject(o, "lastUpdateTime", time_to_json(now_usec)))
		return -ENOMEM;
	hist = rec_aggregate_to_json(a);
	if (!hist)
		return -ENOMEM;
	/* The file keeps its flat v3 shape: the history's fields follow the identity. */
	while ((item = hist->child)) {
		cJSON_DetachItemViaPointer(hist, item);
		cJSON_AddItemToObject(o, item->string, item);
	}
	cJSON_Delete(hist);
	text = cJSON_PrintUnformatted(o);
	if (!text)
		return -ENOMEM;
	*ret = text;
	return 0;
}

static int identity_from_json(const cJSON *o, struct rec_identity **ret)
{
	static const char *const keys[] = { "namespace", "ownerKind", "ownerName", "container" };
	const char *v[4];
	size_t len = 0;
	struct rec_identity *id;
	char *p;

	if (!cJSON_IsObject(o))
		return -EBADMSG;
	for (size_t i = 0; i < 4; i++) {
		const cJSON *s = cJSON_GetObjectItemCaseSensitive(o, keys[i]);

		if (!cJSON_IsString(s) || !s->valuestring[0] ||
		    strlen(s->valuestring) > MAX_IDENTITY_PART)
			return -EBADMSG;
		v[i] = s->valuestring;
		len += strlen(v[i]) + 1;
	}
	id = malloc(sizeof(*id) + len);
	if (!id)
		return -ENOMEM;
	p = (char *)(id + 1);
	for (size_t i = 0; i < 4; i++) {
		const char **field = i == 0   ? &id->namespace
				     : i == 1 ? &id->owner_kind
				     : i == 2 ? &id->owner_name
					      : &id->container;
		*field = p;
		p = stpcpy(p, v[i]) + 1;
	}
	*ret = id;
	return 0;
}

int rec_aggregate_from_json(const cJSON *o, const struct rec_tunables *t, int64_t now_usec,
			    struct rec_aggregate **ret)
{
	_cleanup_(rec_aggregate_freep) struct rec_aggregate *a = NULL;
	const cJSON *oom;
	int r;

	if (!cJSON_IsObject(o))
		return -EBADMSG;
	r = rec_aggregate_new(t, now_usec, &a);
	if (r < 0)
		return r;
	if (json_time(o, "firstSampleStart", &a->first_sample_usec) < 0 ||
	    json_time(o, "lastSampleStart", &a->last_sample_usec) < 0 ||
	    json_int(o, "totalSamplesCount", 0, (int64_t)1 << 53, &a->total_samples) < 0)
		return -EBADMSG;
	r = histogram_from_json(cJSON_GetObjectItemCaseSensitive(o, "memoryHistogram"), &a->memory);
	if (r < 0)
		return r;
	r = histogram_from_json(cJSON_GetObjectItemCaseSensitive(o, "cpuHistogram"), &a->cpu);
	if (r < 0)
		return r;
	oom = cJSON_GetObjectItemCaseSensitive(o, "lastOOM");
	if (oom) {
		if (!cJSON_IsObject(oom) || json_time(oom, "time", &a->last_oom_usec) < 0 ||
		    json_int(oom, "memoryBytes", 0, REC_MAX_RESOURCE_AMOUNT * 2,
			     &a->last_oom_memory_bytes) < 0)
			return -EBADMSG;
	}
	*ret = TAKE_PTR(a);
	return 0;
}

int rec_checkpoint_parse(const char *text, const struct rec_tunables *t, int64_t now_usec,
			 struct rec_identity **ret_identity, struct rec_aggregate **ret_aggregate)
{
	_cleanup_(cJSON_Deletep) cJSON *o = cJSON_Parse(text);
	_cleanup_(rec_aggregate_freep) struct rec_aggregate *a = NULL;
	_cleanup_free_ struct rec_identity *id = NULL;
	const cJSON *version;
	int r;

	if (!cJSON_IsObject(o))
		return -EBADMSG;
	version = cJSON_GetObjectItemCaseSensitive(o, "version");
	if (!cJSON_IsString(version))
		return -EBADMSG;
	if (strcmp(version->valuestring, REC_CHECKPOINT_VERSION) != 0)
		return -EPROTONOSUPPORT;
	r = identity_from_json(cJSON_GetObjectItemCaseSensitive(o, "identity"), &id);
	if (r < 0)
		return r;
	r = rec_aggregate_from_json(o, t, now_usec, &a);
	if (r < 0)
		return r;
	*ret_identity = TAKE_PTR(id);
	*ret_aggregate = TAKE_PTR(a);
	return 0;
}

/* --- the store ------------------------------------------------------------------------------ */

static int mkdir_parents(const char *path)
{
	_cleanup_free_ char *p = strdup(path);

	if (!p)
		return -ENOMEM;
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0700) < 0 && errno != EEXIST)
			return negative_errno();
		*s = '/';
	}
	if (mkdir(p, 0700) < 0 && errno != EEXIST)
		return negative_errno();
	return 0;
}

int rec_store_open(const char *dir, struct rec_store **ret)
{
	struct rec_store *s;
	int fd, r;

	if (!dir || !*dir)
		return -EINVAL;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		r = mkdir_parents(dir);
		if (r < 0)
			return log_debug_errno(r, "Cannot create state directory %s: %m", dir);
		fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (fd < 0)
		return log_debug_errno(errno, "Cannot open state directory %s: %m", dir);
	s = calloc(1, sizeof(*s));
	if (!s) {
		safe_close(fd);
		return -ENOMEM;
	}
	s->dir_fd = fd;
	s->pid = getpid();
	*ret = s;
	return 0;
}

void rec_store_free(struct rec_store *s)
{
	if (!s)
		return;
	safe_close(s->dir_fd);
	free(s);
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return negative_errno();
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Writes text to a new temp file in the store; with do_fsync the content is durable on return. */
static int write_temp(struct rec_store *s, const char *text, bool do_fsync, char *tmp, size_t size)
{
	_cleanup_close_ int fd = -1;
	int r;

	for (int attempt = 0; fd < 0; attempt++) {
		snprintf(tmp, size, TMP_PREFIX "%d-%u", (int)s->pid, s->counter++);
		fd = openat(s->dir_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0 && (errno != EEXIST || attempt > 16))
			return log_debug_errno(errno, "Cannot create %s: %m", tmp);
	}
	r = write_all(fd, text, strlen(text));
	if (r >= 0 && do_fsync && fsync(fd) < 0)
		r = negative_errno();
	if (r >= 0 && close(TAKE_FD(fd)) < 0)
		r = negative_errno();
	if (r < 0) {
		(void)unlinkat(s->dir_fd, tmp, 0);
		return log_debug_errno(r, "Cannot write %s: %m", tmp);
	}
	return 0;
}

int rec_checkpoint_save(struct rec_store *s, const struct rec_identity *id,
			const struct rec_aggregate *a, int64_t now_usec)
{
	_cleanup_free_ char *text = NULL;
	char name[256], tmp[64];
	int r;

	r = rec_identity_file_name(id, name, sizeof(name));
	if (r < 0)
		return r;
	r = rec_checkpoint_format(id, a, now_usec, &text);
	if (r < 0)
		return r;
	r = write_temp(s, text, true, tmp, sizeof(tmp));
	if (r < 0)
		return r;
	/* Only a complete, durable file may take the checkpoint's name. */
	if (renameat(s->dir_fd, tmp, s->dir_fd, name) < 0) {
		r = negative_errno();
		(void)unlinkat(s->dir_fd, tmp, 0);
		return log_debug_errno(r, "Cannot rename %s to %s: %m", tmp, name);
	}
	/* The rename itself is durable only once the directory is. */
	if (fsync(s->dir_fd) < 0)
		return log_debug_errno(errno, "Cannot sync state directory: %m");
	return 0;
}

struct batch_entry {
	char tmp[32];
	char name[256];
};

struct rec_checkpoint_batch {
	struct rec_store *store;
	struct batch_entry *entries;
	size_t n, cap;
	size_t committed;
};

int rec_checkpoint_batch_new(struct rec_store *s, struct rec_checkpoint_batch **ret)
{
	struct rec_checkpoint_batch *b = calloc(1, sizeof(*b));

	if (!b)
		return -ENOMEM;
	b->store = s;
	*ret = b;
	return 0;
}

int rec_checkpoint_batch_add(struct rec_checkpoint_batch *b, const struct rec_identity *id,
			     const struct rec_aggregate *a, int64_t now_usec)
{
	_cleanup_free_ char *text = NULL;
	struct batch_entry *e;
	int r;

	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 64;
		struct batch_entry *n = realloc(b->entries, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		b->entries = n;
		b->cap = cap;
	}
	e = &b->entries[b->n];
	r = rec_identity_file_name(id, e->name, sizeof(e->name));
	if (r < 0)
		return r;
	r = rec_checkpoint_format(id, a, now_usec, &text);
	if (r < 0)
		return r;
	r = write_temp(b->store, text, false, e->tmp, sizeof(e->tmp));
	if (r < 0)
		return r;
	b->n++;
	return 0;
}

int rec_checkpoint_batch_commit(struct rec_checkpoint_batch *b)
{
	int dir_fd = b->store->dir_fd;

	if (b->committed == b->n)
		return 0;
	/* One sync for all temp files; where syncfs fails, each file is synced on its own. */
	if (syncfs(dir_fd) < 0) {
		for (size_t i = b->committed; i < b->n; i++) {
			_cleanup_close_ int fd =
				openat(dir_fd, b->entries[i].tmp, O_RDONLY | O_CLOEXEC);

			if (fd < 0 || fsync(fd) < 0)
				return log_debug_errno(errno, "Cannot sync %s: %m",
						       b->entries[i].tmp);
		}
	}
	for (; b->committed < b->n; b->committed++) {
		struct batch_entry *e = &b->entries[b->committed];

		if (renameat(dir_fd, e->tmp, dir_fd, e->name) < 0)
			return log_debug_errno(errno, "Cannot rename %s to %s: %m", e->tmp,
					       e->name);
	}
	if (fsync(dir_fd) < 0)
		return log_debug_errno(errno, "Cannot sync state directory: %m");
	return (int)b->n;
}

void rec_checkpoint_batch_free(struct rec_checkpoint_batch *b)
{
	if (!b)
		return;
	for (size_t i = b->committed; i < b->n; i++)
		(void)unlinkat(b->store->dir_fd, b->entries[i].tmp, 0);
	free(b->entries);
	free(b);
}

static int read_file_at(int dir_fd, const char *name, char **ret)
{
	_cleanup_close_ int fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	_cleanup_free_ char *buf = NULL;
	struct stat st;
	size_t len = 0;

	if (fd < 0)
		return negative_errno();
	if (fstat(fd, &st) < 0)
		return negative_errno();
	if (!S_ISREG(st.st_mode))
		return -EBADMSG;
	if (st.st_size > MAX_FILE_SIZE)
		return -EFBIG;
	buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		return -ENOMEM;
	while (len < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + len, (size_t)st.st_size - len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return negative_errno();
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	*ret = TAKE_PTR(buf);
	return 0;
}

static bool identity_equal(const struct rec_identity *a, const struct rec_identity *b)
{
	return strcmp(a->namespace, b->namespace) == 0 &&
	       strcmp(a->owner_kind, b->owner_kind) == 0 &&
	       strcmp(a->owner_name, b->owner_name) == 0 && strcmp(a->container, b->container) == 0;
}

int rec_checkpoint_load(struct rec_store *s, const struct rec_identity *id,
			const struct rec_tunables *t, int64_t now_usec, struct rec_aggregate **ret)
{
	_cleanup_free_ char *text = NULL;
	_cleanup_free_ struct rec_identity *found = NULL;
	_cleanup_(rec_aggregate_freep) struct rec_aggregate *a = NULL;
	char name[256];
	int r;

	r = rec_identity_file_name(id, name, sizeof(name));
	if (r < 0)
		return r;
	r = read_file_at(s->dir_fd, name, &text);
	if (r < 0)
		return r;
	r = rec_checkpoint_parse(text, t, now_usec, &found, &a);
	if (r < 0)
		return log_debug_errno(r, "Ignoring checkpoint %s: %m", name);
	if (!identity_equal(id, found))
		return -ENOENT;
	*ret = TAKE_PTR(a);
	return 0;
}

int rec_checkpoint_remove(struct rec_store *s, const struct rec_identity *id)
{
	char name[256];
	int r;

	r = rec_identity_file_name(id, name, sizeof(name));
	if (r < 0)
		return r;
	if (unlinkat(s->dir_fd, name, 0) < 0)
		return negative_errno();
	return 0;
}

static bool is_checkpoint_name(const char *name)
{
	size_t n = strlen(name);

	return name[0] != '.' && n > 5 && strcmp(name + n - 5, ".json") == 0;
}

static DIR *open_dir(struct rec_store *s)
{
	int fd = openat(s->dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d;

	if (fd < 0)
		return NULL;
	d = fdopendir(fd);
	if (!d)
		safe_close(fd);
	return d;
}

int rec_checkpoint_load_all(struct rec_store *s, const struct rec_tunables *t, int64_t now_usec,
			    rec_checkpoint_loaded_fn loaded, rec_checkpoint_error_fn failed,
			    void *userdata)
{
	_cleanup_closedir_ DIR *d = open_dir(s);
	struct dirent *de;
	int count = 0;

	if (!d)
		return log_debug_errno(errno, "Cannot read state directory: %m");
	while ((errno = 0, de = readdir(d))) {
		_cleanup_free_ char *text = NULL;
		_cleanup_free_ struct rec_identity *id = NULL;
		struct rec_aggregate *a = NULL;
		int r;

		if (!is_checkpoint_name(de->d_name))
			continue;
		r = read_file_at(s->dir_fd, de->d_name, &text);
		if (r >= 0)
			r = rec_checkpoint_parse(text, t, now_usec, &id, &a);
		if (r < 0) {
			log_debug_errno(r, "Ignoring checkpoint %s: %m", de->d_name);
			if (failed)
				failed(de->d_name, r, userdata);
			continue;
		}
		r = loaded(id, a, userdata);
		if (r < 0)
			return r;
		count++;
	}
	if (errno)
		return log_debug_errno(errno, "Cannot read state directory: %m");
	return count;
}

int rec_checkpoint_gc(struct rec_store *s, int64_t now_usec, int64_t max_age_usec)
{
	_cleanup_closedir_ DIR *d = open_dir(s);
	struct dirent *de;
	int removed = 0;

	if (!d)
		return log_debug_errno(errno, "Cannot read state directory: %m");
	while ((errno = 0, de = readdir(d))) {
		bool tmp = strncmp(de->d_name, TMP_PREFIX, strlen(TMP_PREFIX)) == 0;
		struct stat st;
		int64_t mtime;

		if (!tmp && !is_checkpoint_name(de->d_name))
			continue;
		if (fstatat(s->dir_fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		mtime = (int64_t)st.st_mtim.tv_sec * REC_USEC_PER_SEC + st.st_mtim.tv_nsec / 1000;
		if (now_usec - mtime < (tmp ? TMP_GC_AGE_USEC : max_age_usec))
			continue;
		if (unlinkat(s->dir_fd, de->d_name, 0) < 0) {
			log_debug_errno(errno, "Cannot remove %s: %m", de->d_name);
			continue;
		}
		log_debug("Removed stale checkpoint %s", de->d_name);
		removed++;
	}
	return removed;
}
