/* libFuzzer target: quantity parsing never crashes, and what it prints parses back to the same number. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/util/quantity.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	char buf[32];
	int64_t v, back;

	memcpy(s, data, size);
	s[size] = '\0';
	if (quantity_parse_bytes(s, &v) == 0) {
		if (v < 0 || quantity_format_bytes(v, buf, sizeof(buf)) != 0 ||
		    quantity_parse_bytes(buf, &back) != 0 || back != v)
			abort();
	}
	if (quantity_parse_cpu_millis(s, &v) == 0) {
		if (v < 0 || quantity_format_cpu(v, buf, sizeof(buf)) != 0 ||
		    quantity_parse_cpu_millis(buf, &back) != 0 || back != v)
			abort();
	}
	free(s);
	return 0;
}
