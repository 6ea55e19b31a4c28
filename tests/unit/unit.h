/* Included by every unit test file: Check, and the prototypes of all suites (generated suites.h). */
#pragma once

#include <check.h>

#define SUITE(name) Suite *name##_suite(void);
#include "tests/suites.h"
#undef SUITE
