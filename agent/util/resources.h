/* A container's (or a pod's) CPU and memory requests and limits: one struct and one naming for the
 * API's pod model, decide, the webhook and the eviction fallback. */
#pragma once

#include <stdint.h>

#define RESOURCE_UNSET (-1) /* a request or limit that is not set */

/* Millicores and bytes; RESOURCE_UNSET when absent. */
struct resources {
	int64_t cpu_request, cpu_limit;
	int64_t memory_request, memory_limit;
};
