/* The unit tier's one runner: every tests/unit/test_NAME.c contributes NAME_suite(), listed in suites.h. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SUITE(name) Suite *name##_suite(void);
#include "tests/suites.h"
#undef SUITE

int main(int argc, char **argv)
{
	/* Optional argument: run only the suite with this name (also CK_RUN_SUITE works). */
	const char *only = argc > 1 ? argv[1] : NULL;
	SRunner *sr = srunner_create(NULL);
	const char *results = getenv("SNUG_RESULTS");
	int failed, run;

#define SUITE(name)                                                                                \
	if (!only || strcmp(only, #name) == 0)                                                     \
		srunner_add_suite(sr, name##_suite());
#include "tests/suites.h"
#undef SUITE

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	run = srunner_ntests_run(sr);
	srunner_free(sr);
	if (results) {
		FILE *f = fopen(results, "we");
		if (f) {
			fprintf(f, "unit %d %d 0\n", run - failed, failed);
			fclose(f);
		}
	}
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
