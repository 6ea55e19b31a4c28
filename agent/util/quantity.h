/* Kubernetes resource quantities ("250m", "1.5", "128Mi", "1G", "1e3") to integers and back. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* CPU quantity → millicores, rounded up as the API server does ("0.1" → 100, "1m" → 1). -EINVAL on
 * malformed text, -ERANGE beyond int64. */
int quantity_parse_cpu_millis(const char *s, int64_t *ret_millicores);
/* Memory quantity → bytes, rounded up ("1Ki" → 1024, "1k" → 1000, "0.5Gi" → 536870912). */
int quantity_parse_bytes(const char *s, int64_t *ret_bytes);
/* Canonical text: millicores as "250m" or "2" when whole cores; bytes as "128Mi" when an exact
 * binary multiple, else plain digits. Returns -ENOBUFS when buf is too small. */
int quantity_format_cpu(int64_t millicores, char *buf, size_t size);
int quantity_format_bytes(int64_t bytes, char *buf, size_t size);
