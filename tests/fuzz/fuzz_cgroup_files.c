/* libFuzzer harness for the cgroup file parsers: every input goes through every parser, unterminated,
 * so a read past the buffer or an arithmetic slip shows up under ASan/UBSan. */
#include <stddef.h>
#include <stdint.h>

#include "cgroup/files.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *b = (const char *)data;
	struct cg_cpu_stat cs;
	struct cg_cpu_max cm;
	struct cg_memory_stat ms;
	struct cg_memory_events me;
	struct cg_pressure p;
	uint64_t v;

	(void)cg_parse_cpu_stat(b, size, &cs);
	(void)cg_parse_cpu_max(b, size, &cm);
	(void)cg_parse_cpu_weight(b, size, &v);
	(void)cg_parse_u64(b, size, &v);
	(void)cg_parse_u64_or_max(b, size, &v);
	(void)cg_parse_memory_stat(b, size, &ms);
	(void)cg_parse_memory_events(b, size, &me);
	if (cg_parse_pressure(b, size, &p) == 0 && (p.some.avg10 < 0 || p.full.avg10 < 0))
		__builtin_trap(); /* the parser never yields negative averages */
	return 0;
}
