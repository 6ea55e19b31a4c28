/* Pod annotations (snug.io/...) and the agent's defaults turned into a typed per-pod policy. */
#include "agent/policy.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/util/cleanup.h"
#include "agent/util/parse.h"
#include "agent/util/quantity.h"

/* Values echoed back into Events are cut here: an annotation value can be up to 256 KiB. */
#define ISSUE_VALUE_MAX 64
#define ISSUE_KEY_MAX 80
/* RFC 1123 label, what the API server accepts as a container name. */
#define DNS_LABEL_MAX 63

static const char *const mode_names[_POL_MODE_MAX] = {
	[POL_MODE_OFF] = "off",
	[POL_MODE_RECOMMEND] = "recommend",
	[POL_MODE_AUTO] = "auto",
	[POL_MODE_IN_PLACE] = "in-place",
};

const char *pol_mode_to_string(enum pol_mode m)
{
	if ((unsigned)m >= _POL_MODE_MAX)
		return "invalid";
	return mode_names[m];
}

int pol_mode_from_string(const char *s)
{
	if (!s)
		return -EINVAL;
	for (int i = 0; i < _POL_MODE_MAX; i++)
		if (strcmp(s, mode_names[i]) == 0)
			return i;
	return -EINVAL;
}

const char *pol_controlled_to_string(enum pol_controlled c)
{
	return c == POL_CONTROLLED_REQUESTS ? "requests" : "requests-and-limits";
}

/* A printable, bounded copy: bytes outside printable ASCII become \xNN so an Event stays readable
 * whatever a user (or a fuzzer) put in the annotation. */
static char *sanitize(const char *s, size_t max)
{
	size_t len = 0, cap = max * 4 + 4;
	char *out = malloc(cap + 1);

	if (!out)
		return NULL;
	for (size_t i = 0; s[i]; i++) {
		unsigned char c = (unsigned char)s[i];

		if (i >= max) {
			memcpy(out + len, "...", 3);
			len += 3;
			break;
		}
		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
			out[len++] = (char)c;
		else
			len += (size_t)snprintf(out + len, cap + 1 - len, "\\x%02x", c);
	}
	out[len] = '\0';
	return out;
}

static void issue_free(struct pol_issue *i)
{
	free(i->key);
	free(i->value);
	free(i->why);
	free(i->text);
}

static __attribute__((format(printf, 5, 6))) int add_issue(struct pol *p, enum pol_severity sev,
							   const char *key, const char *value,
							   const char *fmt, ...)
{
	struct pol_issue i = { .severity = sev };
	struct pol_issue *n;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&i.why, fmt, ap);
	va_end(ap);
	if (r < 0) {
		i.why = NULL;
		return -ENOMEM;
	}
	i.key = sanitize(key, ISSUE_KEY_MAX);
	i.value = sanitize(value, ISSUE_VALUE_MAX);
	if (!i.key || !i.value || asprintf(&i.text, "%s=\"%s\": %s", i.key, i.value, i.why) < 0) {
		i.text = NULL;
		issue_free(&i);
		return -ENOMEM;
	}
	n = reallocarray(p->issues, p->n_issues + 1, sizeof(*n));
	if (!n) {
		issue_free(&i);
		return -ENOMEM;
	}
	p->issues = n;
	p->issues[p->n_issues++] = i;
	if (sev == POL_ERROR)
		p->n_errors++;
	return 0;
}

/* Annotation values are exact strings, but " auto" or "cpu, memory" are what people type; the
 * surrounding blanks carry no meaning, so they are ignored rather than rejected. */
static char *strip(const char *s)
{
	size_t b = 0, e = strlen(s);

	while (s[b] == ' ' || s[b] == '\t')
		b++;
	while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\n'))
		e--;
	return strndup(s + b, e - b);
}

static bool is_dns_label(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > DNS_LABEL_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');

		if (!alnum && !(c == '-' && i > 0 && i < n - 1))
			return false;
	}
	return true;
}

static int parse_mode(struct pol *p, const char *key, const char *v)
{
	int m = pol_mode_from_string(v);

	if (m < 0)
		return add_issue(p, POL_ERROR, key, v,
				 "unknown mode (valid: off, recommend, auto, in-place)");
	p->requested_mode = p->mode = (enum pol_mode)m;
	return 0;
}

static int parse_resources(struct pol *p, const char *key, const char *v)
{
	_cleanup_free_ char *copy = strdup(v);
	unsigned res = 0;

	if (!copy)
		return -ENOMEM;
	/* strsep, not strtok: "cpu,,memory" has an empty item, which is a mistake worth reporting. */
	for (char *rest = copy, *item; (item = strsep(&rest, ","));) {
		_cleanup_free_ char *name = strip(item), *shown = NULL;

		if (!name)
			return -ENOMEM;
		if (strcmp(name, "cpu") == 0)
			res |= POL_RESOURCE_CPU;
		else if (strcmp(name, "memory") == 0)
			res |= POL_RESOURCE_MEMORY;
		else {
			shown = sanitize(name[0] ? name : "(empty)", ISSUE_VALUE_MAX);
			if (!shown)
				return -ENOMEM;
			return add_issue(p, POL_ERROR, key, v,
					 "unknown resource \"%s\" (valid: cpu, memory, cpu,memory)",
					 shown);
		}
	}
	p->resources = res;
	return 0;
}

const char *pol_updater_to_string(enum pol_updater u)
{
	return u == POL_UPDATER_VPA_LIKE ? "vpa-like" : "snug";
}

static int parse_updater(struct pol *p, const char *key, const char *v)
{
	if (strcmp(v, "snug") == 0)
		p->updater = POL_UPDATER_SNUG;
	else if (strcmp(v, "vpa-like") == 0)
		p->updater = POL_UPDATER_VPA_LIKE;
	else
		return add_issue(p, POL_ERROR, key, v, "unknown value (valid: snug, vpa-like)");
	return 0;
}

static int parse_controlled(struct pol *p, const char *key, const char *v)
{
	/* VPA's spellings are accepted too: users copy them from their VPA objects. */
	if (strcmp(v, "requests") == 0 || strcmp(v, "RequestsOnly") == 0)
		p->controlled = POL_CONTROLLED_REQUESTS;
	else if (strcmp(v, "requests-and-limits") == 0 || strcmp(v, "RequestsAndLimits") == 0)
		p->controlled = POL_CONTROLLED_REQUESTS_AND_LIMITS;
	else
		return add_issue(p, POL_ERROR, key, v,
				 "unknown value (valid: requests, requests-and-limits)");
	return 0;
}

static int parse_quantity(struct pol *p, const char *key, const char *v, bool cpu, bool is_max,
			  int64_t *ret)
{
	int64_t q;
	int r;

	r = cpu ? quantity_parse_cpu_millis(v, &q) : quantity_parse_bytes(v, &q);
	if (r == -ERANGE)
		return add_issue(p, POL_ERROR, key, v, "quantity out of range");
	if (r < 0)
		return add_issue(p, POL_ERROR, key, v, "not a Kubernetes %s quantity (e.g. %s)",
				 cpu ? "CPU" : "memory",
				 cpu ? "\"500m\" or \"2\"" : "\"512Mi\" or \"2Gi\"");
	if (q < 0)
		return add_issue(p, POL_ERROR, key, v, "must not be negative");
	if (is_max && q == 0)
		return add_issue(p, POL_ERROR, key, v, "must be greater than zero");
	*ret = q;
	return 0;
}

static int parse_min_cpu(struct pol *p, const char *key, const char *v)
{
	return parse_quantity(p, key, v, true, false, &p->min_cpu_millis);
}

static int parse_max_cpu(struct pol *p, const char *key, const char *v)
{
	return parse_quantity(p, key, v, true, true, &p->max_cpu_millis);
}

static int parse_min_memory(struct pol *p, const char *key, const char *v)
{
	return parse_quantity(p, key, v, false, false, &p->min_memory_bytes);
}

static int parse_max_memory(struct pol *p, const char *key, const char *v)
{
	return parse_quantity(p, key, v, false, true, &p->max_memory_bytes);
}

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static int parse_containers(struct pol *p, const char *key, const char *v)
{
	_cleanup_free_ char *copy = strdup(v);
	char **names = NULL;
	size_t n = 0;

	if (!copy)
		return -ENOMEM;
	for (char *rest = copy, *item; (item = strsep(&rest, ","));) {
		char *name = strip(item), **grown;

		if (!name) {
			free_names(names, n);
			return -ENOMEM;
		}
		if (!is_dns_label(name)) {
			_cleanup_free_ char *shown =
				sanitize(name[0] ? name : "(empty)", ISSUE_VALUE_MAX);
			int r = shown ? add_issue(p, POL_ERROR, key, v,
						  "\"%s\" is not a valid container name (lowercase "
						  "letters, digits and '-', at most 63)",
						  shown)
				      : -ENOMEM;

			free(name);
			free_names(names, n);
			return r;
		}
		grown = reallocarray(names, n + 1, sizeof(*grown));
		if (!grown) {
			free(name);
			free_names(names, n);
			return -ENOMEM;
		}
		names = grown;
		names[n++] = name;
	}
	free_names(p->containers, p->n_containers);
	p->containers = names;
	p->n_containers = n;
	return 0;
}

static int parse_single_replica(struct pol *p, const char *key, const char *v)
{
	/* The spellings Go's strconv.ParseBool takes: what Kubernetes users expect for a flag. */
	static const char *const yes[] = { "true", "True", "TRUE", "t", "T", "1" };
	static const char *const no[] = { "false", "False", "FALSE", "f", "F", "0" };

	for (size_t i = 0; i < ELEMENTSOF(yes); i++)
		if (strcmp(v, yes[i]) == 0) {
			p->allow_single_replica_eviction = true;
			return 0;
		}
	for (size_t i = 0; i < ELEMENTSOF(no); i++)
		if (strcmp(v, no[i]) == 0) {
			p->allow_single_replica_eviction = false;
			return 0;
		}
	return add_issue(p, POL_ERROR, key, v, "not a boolean (valid: \"true\", \"false\")");
}

/* "2x", "1.5x": a factor of the CPU limit (above 1, at most 10); "+1", "+500m": CPU added. */
static int parse_boost(struct pol *p, const char *key, const char *v)
{
	size_t len = strlen(v);
	int64_t q;
	double f;

	if (len > 1 && (v[len - 1] == 'x' || v[len - 1] == 'X')) {
		_cleanup_free_ char *num = strndup(v, len - 1);

		if (!num)
			return -ENOMEM;
		if (safe_atod(num, &f) < 0 || !(f > 1 && f <= POL_BOOST_MAX_FACTOR))
			return add_issue(p, POL_ERROR, key, v,
					 "not a factor above 1 and at most 10 (e.g. \"2x\")");
		p->boost_factor = f;
		return 0;
	}
	if (v[0] == '+' && quantity_parse_cpu_millis(v + 1, &q) >= 0 && q > 0 &&
	    q <= POL_BOOST_MAX_ADD_MILLIS) {
		p->boost_add_millis = q;
		return 0;
	}
	return add_issue(p, POL_ERROR, key, v,
			 "not a factor (\"2x\") or an amount of CPU to add (\"+1\", \"+500m\", at "
			 "most 64 CPUs)");
}

/* "ready", a duration ("90s"), or both ("ready,2m"): the boost ends at the first. */
static int parse_boost_until(struct pol *p, const char *key, const char *v)
{
	_cleanup_free_ char *copy = strdup(v);
	bool ready = false;
	uint64_t usec = 0;
	char *save = NULL;

	if (!copy)
		return -ENOMEM;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		_cleanup_free_ char *tok = strip(t);
		uint64_t u;

		if (!tok)
			return -ENOMEM;
		if (strcmp(tok, "ready") == 0 && !ready)
			ready = true;
		else if (parse_duration(tok, &u) >= 0 && u > 0 && u <= POL_BOOST_MAX_USEC && !usec)
			usec = u;
		else
			return add_issue(
				p, POL_ERROR, key, v,
				"expected \"ready\", a duration up to 10m (\"90s\"), or both "
				"(\"ready,2m\")");
	}
	if (!ready && !usec)
		return add_issue(p, POL_ERROR, key, v, "empty");
	p->boost_until_ready = ready;
	p->boost_until_usec = usec;
	return 0;
}

static const struct {
	const char *name;
	int (*parse)(struct pol *p, const char *key, const char *value);
} handlers[] = {
	{ "mode", parse_mode },
	{ "resources", parse_resources },
	{ "controlled-values", parse_controlled },
	{ "min-cpu", parse_min_cpu },
	{ "max-cpu", parse_max_cpu },
	{ "min-memory", parse_min_memory },
	{ "max-memory", parse_max_memory },
	{ "containers", parse_containers },
	{ "allow-single-replica-eviction", parse_single_replica },
	{ "updater", parse_updater },
	{ "startup-cpu-boost", parse_boost },
	{ "startup-cpu-boost-until", parse_boost_until },
};

/* Keys snug itself writes on pods: seeing them is normal. */
static const char *const written_by_snug[] = { "last-resize" };

static int parse_one(struct pol *p, const char *key, const char *raw)
{
	const char *name = key + strlen(POL_ANNOTATION_PREFIX);
	_cleanup_free_ char *v = NULL;

	for (size_t i = 0; i < ELEMENTSOF(written_by_snug); i++)
		if (strcmp(name, written_by_snug[i]) == 0)
			return 0;
	v = strip(raw);
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < ELEMENTSOF(handlers); i++)
		if (strcmp(name, handlers[i].name) == 0)
			return handlers[i].parse(p, key, v);
	return add_issue(p, POL_WARNING, key, raw,
			 "unknown snug annotation, ignored (known: mode, resources, "
			 "controlled-values, min-cpu, max-cpu, min-memory, max-memory, containers, "
			 "allow-single-replica-eviction, updater, startup-cpu-boost, "
			 "startup-cpu-boost-until)");
}

static int check_bounds(struct pol *p, const char *what, int64_t min, int64_t max, bool cpu)
{
	char a[32], b[32];
	_cleanup_free_ char *key = NULL, *value = NULL;

	if (min < 0 || max < 0 || min <= max)
		return 0;
	if (cpu) {
		(void)quantity_format_cpu(min, a, sizeof(a));
		(void)quantity_format_cpu(max, b, sizeof(b));
	} else {
		(void)quantity_format_bytes(min, a, sizeof(a));
		(void)quantity_format_bytes(max, b, sizeof(b));
	}
	if (asprintf(&key, POL_ANNOTATION_PREFIX "min-%s", what) < 0) {
		key = NULL;
		return -ENOMEM;
	}
	if (asprintf(&value, "%s", a) < 0) {
		value = NULL;
		return -ENOMEM;
	}
	return add_issue(p, POL_ERROR, key, value, "above " POL_ANNOTATION_PREFIX "max-%s=%s", what,
			 b);
}

static int check_cap(struct pol *p, const char *what, int64_t min, int64_t cap, bool cpu)
{
	char a[32], b[32];
	_cleanup_free_ char *key = NULL;

	if (min < 0 || cap < 0 || min <= cap)
		return 0;
	if (cpu) {
		(void)quantity_format_cpu(min, a, sizeof(a));
		(void)quantity_format_cpu(cap, b, sizeof(b));
	} else {
		(void)quantity_format_bytes(min, a, sizeof(a));
		(void)quantity_format_bytes(cap, b, sizeof(b));
	}
	if (asprintf(&key, POL_ANNOTATION_PREFIX "min-%s", what) < 0) {
		key = NULL;
		return -ENOMEM;
	}
	/* Not an error: the user cannot know the cluster's caps, and the cap is a safe answer. */
	return add_issue(p, POL_WARNING, key, a,
			 "above the cluster cap --max-%s=%s; the cap applies", what, b);
}

void pol_done(struct pol *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_issues; i++)
		issue_free(&p->issues[i]);
	free(p->issues);
	free_names(p->containers, p->n_containers);
	*p = (struct pol){ 0 };
}

int pol_parse(const struct pol_annotation *annotations, size_t n,
	      const struct pol_defaults *defaults, struct pol *ret)
{
	struct pol p;
	int r;

	if ((!annotations && n > 0) || !defaults || !ret ||
	    (unsigned)defaults->mode >= _POL_MODE_MAX)
		return -EINVAL;
	p = (struct pol){
		.mode = defaults->mode,
		.requested_mode = defaults->mode,
		.resources = POL_RESOURCE_ALL,
		.controlled = POL_CONTROLLED_REQUESTS_AND_LIMITS,
		.min_cpu_millis = -1,
		.max_cpu_millis = -1,
		.min_memory_bytes = -1,
		.max_memory_bytes = -1,
		.cap_cpu_millis = defaults->max_cpu_millis >= 0 ? defaults->max_cpu_millis : -1,
		.cap_memory_bytes =
			defaults->max_memory_bytes >= 0 ? defaults->max_memory_bytes : -1,
		.boost_until_ready = true,
	};

	for (size_t i = 0; i < n; i++) {
		const char *key = annotations[i].key, *value = annotations[i].value;

		if (!key || strncmp(key, POL_ANNOTATION_PREFIX, strlen(POL_ANNOTATION_PREFIX)) != 0)
			continue;
		r = parse_one(&p, key, value ? value : "");
		if (r < 0)
			goto fail;
	}

	r = check_bounds(&p, "cpu", p.min_cpu_millis, p.max_cpu_millis, true);
	if (r < 0)
		goto fail;
	r = check_bounds(&p, "memory", p.min_memory_bytes, p.max_memory_bytes, false);
	if (r < 0)
		goto fail;
	r = check_cap(&p, "cpu", p.min_cpu_millis, p.cap_cpu_millis, true);
	if (r < 0)
		goto fail;
	r = check_cap(&p, "memory", p.min_memory_bytes, p.cap_memory_bytes, false);
	if (r < 0)
		goto fail;

	if (p.n_errors > 0)
		p.mode = POL_MODE_OFF;
	*ret = p;
	return 0;
fail:
	pol_done(&p);
	return r;
}

bool pol_selects_container(const struct pol *p, const char *name)
{
	if (!p || !name)
		return false;
	if (p->n_containers == 0)
		return true;
	for (size_t i = 0; i < p->n_containers; i++)
		if (strcmp(p->containers[i], name) == 0)
			return true;
	return false;
}

static void merge_max(int64_t user, int64_t cap, int64_t *ret_max, bool *ret_is_cap)
{
	*ret_max = user;
	*ret_is_cap = false;
	if (cap >= 0 && (user < 0 || cap < user)) {
		*ret_max = cap;
		*ret_is_cap = true;
	}
}

void pol_container(const struct pol *p, const char *name, struct pol_container *ret)
{
	struct pol_container c = { .mode = POL_MODE_OFF };

	if (p) {
		c.mode = pol_selects_container(p, name) ? p->mode : POL_MODE_OFF;
		c.resources = p->resources;
		c.controlled = p->controlled;
		c.updater = p->updater;
		merge_max(p->max_cpu_millis, p->cap_cpu_millis, &c.max_cpu_millis,
			  &c.max_cpu_is_cap);
		merge_max(p->max_memory_bytes, p->cap_memory_bytes, &c.max_memory_bytes,
			  &c.max_memory_is_cap);
		c.min_cpu_millis = p->min_cpu_millis;
		c.min_memory_bytes = p->min_memory_bytes;
		/* The cap always wins over a minimum above it (reported as a warning at parse). */
		if (c.max_cpu_millis >= 0 && c.min_cpu_millis > c.max_cpu_millis)
			c.min_cpu_millis = c.max_cpu_millis;
		if (c.max_memory_bytes >= 0 && c.min_memory_bytes > c.max_memory_bytes)
			c.min_memory_bytes = c.max_memory_bytes;
	} else {
		c.min_cpu_millis = c.max_cpu_millis = c.min_memory_bytes = c.max_memory_bytes = -1;
	}
	*ret = c;
}

size_t pol_issues_format(const struct pol *p, bool errors_only, char *buf, size_t size)
{
	size_t len, count = 0;
	int n;

	if (!buf || size == 0)
		return 0;
	n = snprintf(buf, size, "%s",
		     errors_only ? "invalid snug annotations, pod not managed: "
				 : "snug annotation problems: ");
	len = n < 0 ? 0 : ((size_t)n < size ? (size_t)n : size - 1);
	for (size_t i = 0; p && i < p->n_issues; i++) {
		const struct pol_issue *is = &p->issues[i];

		if (errors_only && is->severity != POL_ERROR)
			continue;
		n = snprintf(buf + len, size - len, "%s%s", count ? "; " : "", is->text);
		if (n < 0 || (size_t)n >= size - len) {
			/* Cut mid-issue: mark it so a reader knows there is more in the logs. */
			if (size > 4)
				memcpy(buf + size - 4, "...", 4);
			return count + 1;
		}
		len += (size_t)n;
		count++;
	}
	return count;
}
