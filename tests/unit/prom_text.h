/* Test helpers for Prometheus text expositions: an independent parser and a `promtool check metrics` run. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct prom_label {
	char *name;
	char *value; /* unescaped */
};

struct prom_sample {
	char *name;
	struct prom_label labels[8];
	size_t n_labels;
	double value;
};

struct prom_family {
	char *name;
	char *type;
	char *help; /* unescaped */
};

struct prom_text {
	struct prom_sample *samples;
	size_t n_samples;
	struct prom_family *families;
	size_t n_families;
};

/* Parses the text format 0.0.4 strictly; on failure returns -EINVAL and points *ret_error_line at the
 * offending line (1-based). */
int prom_text_parse(const char *text, struct prom_text *ret, size_t *ret_error_line);
void prom_text_free(struct prom_text *t);
/* The sample with this name whose labels include all NULL-terminated name, value pairs; NULL if none. */
const struct prom_sample *prom_text_find(const struct prom_text *t, const char *name, ...)
	__attribute__((sentinel));
const struct prom_family *prom_text_family(const struct prom_text *t, const char *name);

/* Runs `promtool check metrics` on text. 0 when it passes, 1 when it complains (its output is copied to
 * ret_output, malloc()ed), -ENOENT when promtool is not installed (the caller skips loudly). */
int prom_text_promtool_check(const char *text, char **ret_output);
