/* Test helpers for Prometheus text expositions: an independent parser and a `promtool check metrics` run. */
#include "tests/unit/prom_text.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static bool is_name_char(char c, bool first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
	       (!first && c >= '0' && c <= '9');
}

static char *parse_name(const char **p)
{
	const char *s = *p;

	if (!is_name_char(*s, true))
		return NULL;
	while (is_name_char(*s, false))
		s++;
	char *n = strndup(*p, (size_t)(s - *p));
	*p = s;
	return n;
}

/* A quoted label value with \\, \" and \n escapes; any other escape is an error. */
static char *parse_quoted(const char **p)
{
	const char *s = *p;
	char *out, *o;

	if (*s++ != '"')
		return NULL;
	out = o = malloc(strlen(s) + 1);
	for (; *s && *s != '"' && *s != '\n'; s++) {
		if (*s != '\\') {
			*o++ = *s;
			continue;
		}
		s++;
		if (*s == '\\' || *s == '"')
			*o++ = *s;
		else if (*s == 'n')
			*o++ = '\n';
		else {
			free(out);
			return NULL;
		}
	}
	if (*s != '"') {
		free(out);
		return NULL;
	}
	*o = '\0';
	*p = s + 1;
	return out;
}

static char *unescape_help(const char *s)
{
	char *out = malloc(strlen(s) + 1), *o = out;

	for (; *s; s++) {
		if (*s == '\\' && s[1] == '\\')
			*o++ = '\\', s++;
		else if (*s == '\\' && s[1] == 'n')
			*o++ = '\n', s++;
		else
			*o++ = *s;
	}
	*o = '\0';
	return out;
}

static int parse_value(const char *s, double *ret)
{
	char *end;

	if (strcmp(s, "+Inf") == 0 || strcmp(s, "Inf") == 0) {
		*ret = __builtin_inf();
		return 0;
	}
	if (strcmp(s, "-Inf") == 0) {
		*ret = -__builtin_inf();
		return 0;
	}
	if (strcmp(s, "NaN") == 0) {
		*ret = __builtin_nan("");
		return 0;
	}
	errno = 0;
	*ret = strtod(s, &end);
	if (end == s || *end != '\0' || errno != 0)
		return -EINVAL;
	/* strtod also takes "inf"/"nan"/hex; the format does not. */
	for (const char *c = s; *c; c++)
		if (!strchr("0123456789.eE+-", *c))
			return -EINVAL;
	return 0;
}

static int parse_sample(const char *line, struct prom_sample *ret)
{
	struct prom_sample smp = {};
	const char *p = line;

	smp.name = parse_name(&p);
	if (!smp.name)
		return -EINVAL;
	if (*p == '{') {
		p++;
		while (*p != '}') {
			struct prom_label *l;

			if (smp.n_labels == sizeof(smp.labels) / sizeof(smp.labels[0]))
				goto fail;
			l = &smp.labels[smp.n_labels];
			l->name = parse_name(&p);
			if (!l->name)
				goto fail;
			smp.n_labels++;
			if (*p++ != '=')
				goto fail;
			l->value = parse_quoted(&p);
			if (!l->value)
				goto fail;
			if (*p == ',')
				p++;
			else if (*p != '}')
				goto fail;
		}
		p++;
	}
	if (*p++ != ' ')
		goto fail;
	/* No timestamps from us: exactly one value to the end of the line. */
	if (strchr(p, ' ') || parse_value(p, &smp.value) < 0)
		goto fail;
	*ret = smp;
	return 0;
fail:
	free(smp.name);
	for (size_t i = 0; i < smp.n_labels; i++) {
		free(smp.labels[i].name);
		free(smp.labels[i].value);
	}
	return -EINVAL;
}

int prom_text_parse(const char *text, struct prom_text *ret, size_t *ret_error_line)
{
	struct prom_text t = {};
	char *copy = strdup(text), *save = NULL, *line;
	size_t lineno = 0;
	int r = 0;

	if (text[0] && text[strlen(text) - 1] != '\n')
		r = -EINVAL; /* the last line must end in a line feed */
	for (line = copy; r >= 0 && line && *line; line = save) {
		char *nl = strchr(line, '\n');

		save = nl ? nl + 1 : NULL;
		if (nl)
			*nl = '\0';
		lineno++;
		if (strncmp(line, "# HELP ", 7) == 0 || strncmp(line, "# TYPE ", 7) == 0) {
			const char *p = line + 7;
			char *name = parse_name(&p);
			struct prom_family *f = NULL;

			if (!name || *p != ' ') {
				free(name);
				r = -EINVAL;
				break;
			}
			for (size_t i = 0; i < t.n_families; i++)
				if (strcmp(t.families[i].name, name) == 0)
					f = &t.families[i];
			if (!f) {
				t.families = realloc(t.families, (t.n_families + 1) * sizeof(*f));
				f = &t.families[t.n_families++];
				*f = (struct prom_family){ .name = name };
			} else {
				free(name);
			}
			if (line[2] == 'H')
				f->help = unescape_help(p + 1);
			else
				f->type = strdup(p + 1);
			continue;
		}
		if (line[0] == '#')
			continue;
		t.samples = realloc(t.samples, (t.n_samples + 1) * sizeof(struct prom_sample));
		r = parse_sample(line, &t.samples[t.n_samples]);
		if (r >= 0)
			t.n_samples++;
	}
	free(copy);
	if (r < 0) {
		prom_text_free(&t);
		if (ret_error_line)
			*ret_error_line = lineno;
		return r;
	}
	*ret = t;
	return 0;
}

void prom_text_free(struct prom_text *t)
{
	for (size_t i = 0; i < t->n_samples; i++) {
		free(t->samples[i].name);
		for (size_t j = 0; j < t->samples[i].n_labels; j++) {
			free(t->samples[i].labels[j].name);
			free(t->samples[i].labels[j].value);
		}
	}
	for (size_t i = 0; i < t->n_families; i++) {
		free(t->families[i].name);
		free(t->families[i].type);
		free(t->families[i].help);
	}
	free(t->samples);
	free(t->families);
	*t = (struct prom_text){};
}

const struct prom_sample *prom_text_find(const struct prom_text *t, const char *name, ...)
{
	for (size_t i = 0; i < t->n_samples; i++) {
		const struct prom_sample *s = &t->samples[i];
		bool match = strcmp(s->name, name) == 0;
		va_list ap;

		va_start(ap, name);
		for (const char *ln; match && (ln = va_arg(ap, const char *));) {
			const char *lv = va_arg(ap, const char *);
			bool found = false;

			for (size_t j = 0; j < s->n_labels; j++)
				if (strcmp(s->labels[j].name, ln) == 0 &&
				    strcmp(s->labels[j].value, lv) == 0)
					found = true;
			match = found;
		}
		va_end(ap);
		if (match)
			return s;
	}
	return NULL;
}

const struct prom_family *prom_text_family(const struct prom_text *t, const char *name)
{
	for (size_t i = 0; i < t->n_families; i++)
		if (strcmp(t->families[i].name, name) == 0)
			return &t->families[i];
	return NULL;
}

static bool find_in_path(const char *prog)
{
	const char *path = getenv("PATH");
	char *copy, *save = NULL;
	bool found = false;

	copy = strdup(path ? path : "/usr/bin:/bin");
	for (char *dir = strtok_r(copy, ":", &save); dir && !found;
	     dir = strtok_r(NULL, ":", &save)) {
		char full[4096];

		snprintf(full, sizeof(full), "%s/%s", dir, prog);
		found = access(full, X_OK) == 0;
	}
	free(copy);
	return found;
}

int prom_text_promtool_check(const char *text, char **ret_output)
{
	char path[] = "/tmp/snug-promtool-XXXXXX";
	char cmd[256], buf[4096];
	size_t n, total = 0;
	char *out = NULL;
	FILE *p;
	int fd, status;

	if (!find_in_path("promtool"))
		return -ENOENT;
	fd = mkstemp(path);
	if (fd < 0)
		return -errno;
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
		close(fd);
		unlink(path);
		return -EIO;
	}
	close(fd);
	snprintf(cmd, sizeof(cmd), "promtool check metrics < %s 2>&1", path);
	p = popen(cmd, "r");
	if (!p) {
		unlink(path);
		return -errno;
	}
	while ((n = fread(buf, 1, sizeof(buf), p)) > 0) {
		out = realloc(out, total + n + 1);
		memcpy(out + total, buf, n);
		total += n;
		out[total] = '\0';
	}
	status = pclose(p);
	unlink(path);
	if (ret_output)
		*ret_output = out ? out : strdup("");
	else
		free(out);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
