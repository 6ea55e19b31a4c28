/* cJSON with scope-bound cleanup (one definition for every module). */
#pragma once

#include <cjson/cJSON.h>

#include "agent/util/cleanup.h"

#ifndef SNUG_CJSON_CLEANUP_DEFINED
#define SNUG_CJSON_CLEANUP_DEFINED
DEFINE_TRIVIAL_CLEANUP_FUNC(cJSON *, cJSON_Delete);
#endif
