/* The Prometheus registry behind /metrics: families, labelled series, and the text exposition format. */
#include "agent/metrics/metrics.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "agent/util/cleanup.h"

struct metrics_series {
	struct metrics_family *family;
	struct metrics_series *prev, *next; /* registration order, for output */
	struct metrics_series *hnext;	    /* hash chain */
	uint64_t hash;
	char **values;		  /* label values, raw, for lookup and matching */
	char *rendered;		  /* `a="x",b="y"`, escaped once here instead of at every scrape */
	double value;		  /* counter, gauge; histogram sum */
	uint64_t count;		  /* histogram observations */
	uint64_t bucket_counts[]; /* histogram: per bucket, not cumulative (cumulated on output) */
};

struct metrics_family {
	struct metrics_registry *registry;
	struct metrics_family *next;
	enum metrics_type type;
	char *name;
	char *help;
	size_t n_labels;
	char **label_names;
	size_t n_buckets;
	double *buckets;
	struct metrics_series *head, *tail;
	size_t n_series;
	/* Label-set index, so that resolving a series stays cheap at thousands of them. */
	struct metrics_series **index;
	size_t n_index; /* a power of two, or 0 before the first series */
};

struct metrics_registry {
	struct metrics_family *head, *tail;
	size_t last_size; /* of the last exposition, to size the next one's buffer */
};

static bool valid_name(const char *s, bool colon)
{
	if (!s || !*s)
		return false;
	for (size_t i = 0; s[i]; i++) {
		char c = s[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
			  (colon && c == ':') || (i > 0 && c >= '0' && c <= '9');
		if (!ok)
			return false;
	}
	return true;
}

static bool valid_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		unsigned n;
		uint32_t cp;

		if (*p < 0x80) {
			p++;
			continue;
		} else if ((*p & 0xe0) == 0xc0) {
			n = 1;
			cp = *p & 0x1f;
		} else if ((*p & 0xf0) == 0xe0) {
			n = 2;
			cp = *p & 0x0f;
		} else if ((*p & 0xf8) == 0xf0) {
			n = 3;
			cp = *p & 0x07;
		} else {
			return false;
		}
		for (unsigned i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (p[i] & 0x3f);
		}
		/* Overlong forms, surrogates and beyond U+10FFFF are not UTF-8. */
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return false;
		p += n + 1;
	}
	return true;
}

static size_t strv_length(const char *const *v)
{
	size_t n = 0;

	while (v && v[n])
		n++;
	return n;
}

static void strv_free(char **v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static char **strv_copy(const char *const *v, size_t n)
{
	char **c = calloc(n + 1, sizeof(char *));

	if (!c)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		c[i] = strdup(v[i]);
		if (!c[i]) {
			strv_free(c, i);
			return NULL;
		}
	}
	return c;
}

int metrics_registry_new(struct metrics_registry **ret)
{
	struct metrics_registry *reg = calloc(1, sizeof(*reg));

	if (!reg)
		return -ENOMEM;
	*ret = reg;
	return 0;
}

static void series_free(struct metrics_series *s)
{
	if (!s)
		return;
	strv_free(s->values, s->family->n_labels);
	free(s->rendered);
	free(s);
}

static void family_free(struct metrics_family *f)
{
	struct metrics_series *s, *next;

	for (s = f->head; s; s = next) {
		next = s->next;
		series_free(s);
	}
	strv_free(f->label_names, f->n_labels);
	free(f->index);
	free(f->buckets);
	free(f->name);
	free(f->help);
	free(f);
}

struct metrics_registry *metrics_registry_free(struct metrics_registry *reg)
{
	struct metrics_family *f, *next;

	if (!reg)
		return NULL;
	for (f = reg->head; f; f = next) {
		next = f->next;
		family_free(f);
	}
	free(reg);
	return NULL;
}

struct metrics_family *metrics_registry_find(struct metrics_registry *reg, const char *name)
{
	for (struct metrics_family *f = reg->head; f; f = f->next)
		if (strcmp(f->name, name) == 0)
			return f;
	return NULL;
}

enum metrics_type metrics_family_type(const struct metrics_family *f)
{
	return f->type;
}

size_t metrics_family_n_series(const struct metrics_family *f)
{
	return f->n_series;
}

static int family_new(struct metrics_registry *reg, enum metrics_type type, const char *name,
		      const char *help, const char *const *label_names, const double *buckets,
		      size_t n_buckets, struct metrics_family **ret)
{
	struct metrics_family *f;
	size_t n_labels = strv_length(label_names);
	size_t len;
	int r;

	if (!reg || !valid_name(name, true) || strncmp(name, "__", 2) == 0 || !help ||
	    !valid_utf8(help))
		return -EINVAL;
	len = strlen(name);
	if (type == METRICS_COUNTER && (len < 6 || strcmp(name + len - 6, "_total") != 0))
		return -EINVAL;
	for (size_t i = 0; i < n_labels; i++) {
		if (!valid_name(label_names[i], false) || strncmp(label_names[i], "__", 2) == 0)
			return -EINVAL;
		if (type == METRICS_HISTOGRAM && strcmp(label_names[i], "le") == 0)
			return -EINVAL;
		for (size_t j = 0; j < i; j++)
			if (strcmp(label_names[i], label_names[j]) == 0)
				return -EINVAL;
	}
	if (type == METRICS_HISTOGRAM) {
		if (!buckets || n_buckets == 0)
			return -EINVAL;
		for (size_t i = 0; i < n_buckets; i++)
			if (!isfinite(buckets[i]) || (i > 0 && buckets[i] <= buckets[i - 1]))
				return -EINVAL;
	}
	if (metrics_registry_find(reg, name))
		return -EEXIST;

	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->registry = reg;
	f->type = type;
	f->n_labels = n_labels;
	f->name = strdup(name);
	f->help = strdup(help);
	f->label_names = strv_copy(label_names, n_labels);
	if (type == METRICS_HISTOGRAM) {
		f->n_buckets = n_buckets;
		f->buckets = malloc(n_buckets * sizeof(double));
		if (f->buckets)
			memcpy(f->buckets, buckets, n_buckets * sizeof(double));
	}
	if (!f->name || !f->help || !f->label_names || (type == METRICS_HISTOGRAM && !f->buckets)) {
		family_free(f);
		return -ENOMEM;
	}
	if (n_labels == 0) {
		r = metrics_series_get(f, NULL, NULL);
		if (r < 0) {
			family_free(f);
			return r;
		}
	}
	if (reg->tail)
		reg->tail->next = f;
	else
		reg->head = f;
	reg->tail = f;
	if (ret)
		*ret = f;
	return 0;
}

int metrics_counter_new(struct metrics_registry *reg, const char *name, const char *help,
			const char *const *label_names, struct metrics_family **ret)
{
	return family_new(reg, METRICS_COUNTER, name, help, label_names, NULL, 0, ret);
}

int metrics_gauge_new(struct metrics_registry *reg, const char *name, const char *help,
		      const char *const *label_names, struct metrics_family **ret)
{
	return family_new(reg, METRICS_GAUGE, name, help, label_names, NULL, 0, ret);
}

int metrics_histogram_new(struct metrics_registry *reg, const char *name, const char *help,
			  const char *const *label_names, const double *buckets, size_t n_buckets,
			  struct metrics_family **ret)
{
	return family_new(reg, METRICS_HISTOGRAM, name, help, label_names, buckets, n_buckets, ret);
}

static uint64_t hash_values(const char *const *values, size_t n)
{
	uint64_t h = UINT64_C(1469598103934665603); /* FNV-1a */

	for (size_t i = 0; i < n; i++) {
		for (const unsigned char *p = (const unsigned char *)values[i]; *p; p++)
			h = (h ^ *p) * UINT64_C(1099511628211);
		h = (h ^ 0xff) * UINT64_C(1099511628211); /* separator: ("ab","") ≠ ("a","b") */
	}
	return h;
}

/* Label value escaping of the text format: backslash, double quote and line feed. */
static int fputs_escaped(const char *s, bool quote, FILE *f)
{
	for (; *s; s++) {
		const char *esc = NULL;

		if (*s == '\\')
			esc = "\\\\";
		else if (*s == '\n')
			esc = "\\n";
		else if (quote && *s == '"')
			esc = "\\\"";
		if (esc ? fputs(esc, f) < 0 : fputc(*s, f) == EOF)
			return -EIO;
	}
	return 0;
}

static char *render_labels(const struct metrics_family *fam, const char *const *values)
{
	_cleanup_free_ char *buf = NULL;
	size_t size = 0;
	FILE *f;
	int r = 0;

	f = open_memstream(&buf, &size);
	if (!f)
		return NULL;
	for (size_t i = 0; i < fam->n_labels && r >= 0; i++) {
		if (fprintf(f, "%s%s=\"", i > 0 ? "," : "", fam->label_names[i]) < 0)
			r = -EIO;
		if (r >= 0)
			r = fputs_escaped(values[i], true, f);
		if (r >= 0 && fputc('"', f) == EOF)
			r = -EIO;
	}
	if (fclose(f) != 0 || r < 0)
		return NULL;
	return TAKE_PTR(buf);
}

static bool series_matches(const struct metrics_series *s, uint64_t hash, const char *const *values)
{
	if (s->hash != hash)
		return false;
	for (size_t i = 0; i < s->family->n_labels; i++)
		if (strcmp(s->values[i], values[i]) != 0)
			return false;
	return true;
}

/* Keeps chains short (≤ 1 series per slot on average) before one more series is linked in. */
static int index_grow(struct metrics_family *f)
{
	struct metrics_series **index;
	size_t n;

	if (f->n_series + 1 <= f->n_index)
		return 0;
	n = f->n_index ? f->n_index * 2 : 16;
	index = calloc(n, sizeof(*index));
	if (!index)
		return -ENOMEM;
	for (struct metrics_series *s = f->head; s; s = s->next) {
		struct metrics_series **slot = &index[s->hash & (n - 1)];

		s->hnext = *slot;
		*slot = s;
	}
	free(f->index);
	f->index = index;
	f->n_index = n;
	return 0;
}

int metrics_series_get(struct metrics_family *f, const char *const *label_values,
		       struct metrics_series **ret)
{
	struct metrics_series *s, **slot;
	uint64_t hash;
	size_t extra;
	int r;

	if (!f || strv_length(label_values) != f->n_labels)
		return -EINVAL;
	hash = hash_values(label_values, f->n_labels);
	for (s = f->n_index ? f->index[hash & (f->n_index - 1)] : NULL; s; s = s->hnext)
		if (series_matches(s, hash, label_values)) {
			if (ret)
				*ret = s;
			return 0;
		}
	r = index_grow(f);
	if (r < 0)
		return r;
	for (size_t i = 0; i < f->n_labels; i++)
		if (!valid_utf8(label_values[i]))
			return -EINVAL;

	extra = f->type == METRICS_HISTOGRAM ? f->n_buckets * sizeof(uint64_t) : 0;
	s = calloc(1, sizeof(*s) + extra);
	if (!s)
		return -ENOMEM;
	s->family = f;
	s->hash = hash;
	s->values = strv_copy(label_values, f->n_labels);
	s->rendered = s->values ? render_labels(f, label_values) : NULL;
	if (!s->values || !s->rendered) {
		series_free(s);
		return -ENOMEM;
	}
	slot = &f->index[hash & (f->n_index - 1)];
	s->hnext = *slot;
	*slot = s;
	s->prev = f->tail;
	if (f->tail)
		f->tail->next = s;
	else
		f->head = s;
	f->tail = s;
	f->n_series++;
	if (ret)
		*ret = s;
	return 0;
}

void metrics_series_remove(struct metrics_series *s)
{
	struct metrics_family *f;

	if (!s)
		return;
	f = s->family;
	for (struct metrics_series **p = &f->index[s->hash & (f->n_index - 1)]; *p;
	     p = &(*p)->hnext)
		if (*p == s) {
			*p = s->hnext;
			break;
		}
	if (s->prev)
		s->prev->next = s->next;
	else
		f->head = s->next;
	if (s->next)
		s->next->prev = s->prev;
	else
		f->tail = s->prev;
	f->n_series--;
	series_free(s);
}

size_t metrics_registry_remove_matching(struct metrics_registry *reg,
					const char *const *label_names,
					const char *const *label_values)
{
	size_t n = strv_length(label_names), removed = 0;

	if (!reg || n == 0 || strv_length(label_values) != n)
		return 0;
	for (struct metrics_family *f = reg->head; f; f = f->next) {
		ssize_t idx[n];
		bool applies = true;

		/* A family lacking one of the labels cannot hold a matching series. */
		for (size_t i = 0; i < n && applies; i++) {
			idx[i] = -1;
			for (size_t j = 0; j < f->n_labels; j++)
				if (strcmp(f->label_names[j], label_names[i]) == 0)
					idx[i] = (ssize_t)j;
			applies = idx[i] >= 0;
		}
		if (!applies)
			continue;
		for (struct metrics_series *s = f->head, *next; s; s = next) {
			bool match = true;

			next = s->next;
			for (size_t i = 0; i < n && match; i++)
				match = strcmp(s->values[idx[i]], label_values[i]) == 0;
			if (match) {
				metrics_series_remove(s);
				removed++;
			}
		}
	}
	return removed;
}

void metrics_counter_inc(struct metrics_series *s)
{
	s->value += 1;
}

void metrics_counter_add(struct metrics_series *s, double v)
{
	if (v > 0)
		s->value += v;
}

void metrics_gauge_set(struct metrics_series *s, double v)
{
	s->value = v;
}

void metrics_gauge_add(struct metrics_series *s, double v)
{
	s->value += v;
}

void metrics_histogram_observe(struct metrics_series *s, double v)
{
	const struct metrics_family *f = s->family;
	size_t lo = 0, hi = f->n_buckets;

	/* The first bucket whose upper bound is ≥ v; none (v above all, or NaN) means only +Inf. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (f->buckets[mid] >= v)
			hi = mid;
		else
			lo = mid + 1;
	}
	if (lo < f->n_buckets && !isnan(v))
		s->bucket_counts[lo]++;
	s->count++;
	s->value += v;
}

double metrics_series_value(const struct metrics_series *s)
{
	return s->value;
}

uint64_t metrics_histogram_count(const struct metrics_series *s)
{
	return s->count;
}

void metrics_format_double(double v, char buf[static 32])
{
	if (isnan(v)) {
		strcpy(buf, "NaN");
		return;
	}
	if (isinf(v)) {
		strcpy(buf, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	/* %.15g is exact for everything a person reads (counts, bytes below 2^49, decimal fractions);
	 * fall back to 17 digits only when 15 would not read back as the same double. */
	snprintf(buf, 32, "%.15g", v);
	if (strtod(buf, NULL) != v)
		snprintf(buf, 32, "%.17g", v);
}

static const char *type_name(enum metrics_type t)
{
	switch (t) {
	case METRICS_COUNTER:
		return "counter";
	case METRICS_GAUGE:
		return "gauge";
	case METRICS_HISTOGRAM:
		return "histogram";
	}
	return "untyped";
}

static int write_sample(FILE *f, const char *name, const char *suffix, const char *labels,
			const char *le, double v)
{
	char num[32];
	bool braces = *labels || le;

	metrics_format_double(v, num);
	if (fprintf(f, "%s%s%s%s%s%s%s%s %s\n", name, suffix, braces ? "{" : "", labels,
		    le && *labels ? "," : "", le ? "le=\"" : "", le ? le : "",
		    le ? "\"}" : (braces ? "}" : ""), num) < 0)
		return -EIO;
	return 0;
}

static int write_family(const struct metrics_family *fam, FILE *f)
{
	int r;

	if (fprintf(f, "# HELP %s ", fam->name) < 0)
		return -EIO;
	r = fputs_escaped(fam->help, false, f);
	if (r < 0)
		return r;
	if (fprintf(f, "\n# TYPE %s %s\n", fam->name, type_name(fam->type)) < 0)
		return -EIO;

	for (const struct metrics_series *s = fam->head; s; s = s->next) {
		if (fam->type != METRICS_HISTOGRAM) {
			r = write_sample(f, fam->name, "", s->rendered, NULL, s->value);
			if (r < 0)
				return r;
			continue;
		}
		uint64_t cumulative = 0;
		char le[32];

		for (size_t i = 0; i < fam->n_buckets; i++) {
			cumulative += s->bucket_counts[i];
			metrics_format_double(fam->buckets[i], le);
			r = write_sample(f, fam->name, "_bucket", s->rendered, le,
					 (double)cumulative);
			if (r < 0)
				return r;
		}
		r = write_sample(f, fam->name, "_bucket", s->rendered, "+Inf", (double)s->count);
		if (r >= 0)
			r = write_sample(f, fam->name, "_sum", s->rendered, NULL, s->value);
		if (r >= 0)
			r = write_sample(f, fam->name, "_count", s->rendered, NULL,
					 (double)s->count);
		if (r < 0)
			return r;
	}
	return 0;
}

int metrics_registry_write(struct metrics_registry *reg, FILE *f)
{
	for (const struct metrics_family *fam = reg->head; fam; fam = fam->next) {
		int r;

		/* Like the Go client: a labelled family with no series yet says nothing. */
		if (fam->n_series == 0)
			continue;
		r = write_family(fam, f);
		if (r < 0)
			return r;
	}
	return 0;
}

/* A growable buffer behind a FILE: glibc's open_memstream grows in small steps and made a 300 kB
 * scrape cost 25 ms here, against 1 ms of actual formatting. */
struct grow_buf {
	char *data;
	size_t size, capacity;
};

static ssize_t grow_buf_write(void *cookie, const char *data, size_t n)
{
	struct grow_buf *b = cookie;

	if (b->size + n + 1 > b->capacity) {
		size_t cap = b->capacity ? b->capacity : 4096;
		char *p;

		while (b->size + n + 1 > cap)
			cap *= 2;
		p = realloc(b->data, cap);
		if (!p)
			return -1;
		b->data = p;
		b->capacity = cap;
	}
	memcpy(b->data + b->size, data, n);
	b->size += n;
	b->data[b->size] = '\0';
	return (ssize_t)n;
}

int metrics_registry_format(struct metrics_registry *reg, char **ret_text, size_t *ret_size)
{
	/* Start at the last scrape's size, so a steady registry renders with one allocation. */
	struct grow_buf b = { .capacity = reg->last_size + reg->last_size / 8 + 4096 };
	FILE *f;
	int r;

	b.data = malloc(b.capacity);
	if (!b.data)
		return -ENOMEM;
	b.data[0] = '\0';
	f = fopencookie(&b, "w", (cookie_io_functions_t){ .write = grow_buf_write });
	if (!f) {
		free(b.data);
		return -ENOMEM;
	}
	/* Hand the cookie large chunks rather than glibc's default few kB. */
	(void)setvbuf(f, NULL, _IOFBF, 65536);
	r = metrics_registry_write(reg, f);
	if (fclose(f) != 0 && r >= 0)
		r = -ENOMEM;
	if (r < 0) {
		free(b.data);
		return r;
	}
	reg->last_size = b.size;
	*ret_text = b.data;
	if (ret_size)
		*ret_size = b.size;
	return 0;
}
