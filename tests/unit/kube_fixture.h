/* Loads the recorded API replies under tests/data/kube for the kube unit suites. */
#pragma once

#include <stddef.h>

/* Reads tests/data/kube/<rel> whole (NUL-terminated); aborts the test when missing. */
char *kube_fixture_read(const char *rel, size_t *ret_len);
/* A recorded `.reply`: first line the HTTP code, then the body. */
char *kube_fixture_reply(const char *rel, long *ret_code, size_t *ret_len);
