/* Shared fixture of the oomwatch unit suites: a temp dir of fake cgroups, an sd-event loop, collected records. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-event.h>

#include "bpf/oomwatch_api.h"

#define OW_MAX_RECS 256

struct ow_fixture {
	sd_event *event;
	struct oomwatch *ow;
	char dir[256];
	struct oomwatch_record recs[OW_MAX_RECS];
	size_t n;
};

/* Creates the temp dir and loop; no_bpf selects the memory.events path alone. */
void ow_fixture_setup(struct ow_fixture *f, bool no_bpf);
void ow_fixture_setup_handler(struct ow_fixture *f, bool no_bpf, oomwatch_handler_t handler);
void ow_fixture_teardown(struct ow_fixture *f);
/* The default handler: appends the record to f->recs. */
void ow_collect(const struct oomwatch_record *rec, void *userdata);
/* Runs the loop until `want` records arrived or timeout_ms passed (a bound, not an assertion);
 * returns the number of records collected. */
size_t ow_run_until(struct ow_fixture *f, size_t want, unsigned timeout_ms);
/* Writes content in place (O_TRUNC, one write), as the kernel updates a file: the inode stays. */
void ow_write_file(const char *path, const char *content);
void ow_rm_rf(const char *path);
