/* Crash-safe checkpoints of recommender history: one versioned JSON file per container identity. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "agent/recommender/recommender.h"

/* VPA's SupportedCheckpointVersion; the file carries the same information as VPA's checkpoint
 * status, plus the identity and snug's last OOM. Any other version is refused. */
#define REC_CHECKPOINT_VERSION "v3"

/* Whose history a checkpoint is: a recreated pod of the same workload inherits it. */
struct rec_identity {
	const char *namespace;
	const char *owner_kind;
	const char *owner_name;
	const char *container;
};

/* A safe file name for the identity: each part percent-escaped to [A-Za-z0-9.-], joined by '_',
 * ".json" appended; names too long for a directory entry keep a prefix plus a 64-bit hash of the
 * identity (the identity inside the file settles collisions). -EINVAL for empty parts,
 * -ENOBUFS when size is too small (256 always suffices). */
int rec_identity_file_name(const struct rec_identity *id, char *buf, size_t size);

/* One aggregate's history as JSON (sample times and count, both histograms in the checkpoint form:
 * reference time, total weight, non-empty buckets only, lastOOM when there was one): the body of a
 * checkpoint file and of a container in a WorkloadHistory entry. NULL on allocation failure. */
cJSON *rec_aggregate_to_json(const struct rec_aggregate *a);
/* The reverse, into a new aggregate created at now_usec: -EBADMSG for malformed fields, -EINVAL
 * for histograms of another layout. */
int rec_aggregate_from_json(const cJSON *o, const struct rec_tunables *t, int64_t now_usec,
			    struct rec_aggregate **ret);

/* The JSON text of a checkpoint (caller frees). */
int rec_checkpoint_format(const struct rec_identity *id, const struct rec_aggregate *a,
			  int64_t now_usec, char **ret);
/* Parses a checkpoint into a new aggregate (created at now_usec, as VPA does when it loads one).
 * *ret_identity is one allocation (struct and strings): free() it. -EBADMSG for malformed JSON or
 * fields, -EPROTONOSUPPORT for another version, -EINVAL for histograms of another layout. */
int rec_checkpoint_parse(const char *text, const struct rec_tunables *t, int64_t now_usec,
			 struct rec_identity **ret_identity, struct rec_aggregate **ret_aggregate);

/* The state directory (--state-dir), kept open. */
struct rec_store;

/* Opens dir, creating it (mode 0700, parents included) when missing. */
int rec_store_open(const char *dir, struct rec_store **ret);
void rec_store_free(struct rec_store *s);

/* Writes the checkpoint atomically: temp file in the same directory, fsync, rename over the old
 * file, fsync the directory. A crash at any point leaves the old or the new file, never a torn one. */
int rec_checkpoint_save(struct rec_store *s, const struct rec_identity *id,
			const struct rec_aggregate *a, int64_t now_usec);
/* Saving many checkpoints at once (the save timer, shutdown): every file is written to a temp file
 * first, then one filesystem sync makes them all durable, then each is renamed into place and the
 * directory synced once. Same crash safety as rec_checkpoint_save(), a fraction of the syncs. */
struct rec_checkpoint_batch;

int rec_checkpoint_batch_new(struct rec_store *s, struct rec_checkpoint_batch **ret);
/* Writes the temp file now (so `a` may change right after). */
int rec_checkpoint_batch_add(struct rec_checkpoint_batch *b, const struct rec_identity *id,
			     const struct rec_aggregate *a, int64_t now_usec);
/* Makes every added checkpoint durable and visible; returns how many, or -errno (files already
 * renamed stay; the others keep their previous version). */
int rec_checkpoint_batch_commit(struct rec_checkpoint_batch *b);
/* Frees the batch, removing temp files that were not committed. */
void rec_checkpoint_batch_free(struct rec_checkpoint_batch *b);

/* Loads one identity's checkpoint; -ENOENT when there is none (or the file holds another identity). */
int rec_checkpoint_load(struct rec_store *s, const struct rec_identity *id,
			const struct rec_tunables *t, int64_t now_usec, struct rec_aggregate **ret);
int rec_checkpoint_remove(struct rec_store *s, const struct rec_identity *id);

/* Called for each loaded checkpoint; takes ownership of `a`. `id` is valid during the call only.
 * A negative return stops the walk and is returned by rec_checkpoint_load_all(). */
typedef int (*rec_checkpoint_loaded_fn)(const struct rec_identity *id, struct rec_aggregate *a,
					void *userdata);
/* Called for each file that could not be loaded (corrupt, other version, unreadable); the walk
 * goes on. */
typedef void (*rec_checkpoint_error_fn)(const char *file_name, int error, void *userdata);

/* Loads every checkpoint in the store; temp files of interrupted saves are ignored. Returns the
 * number loaded, or -errno when the directory itself cannot be read. */
int rec_checkpoint_load_all(struct rec_store *s, const struct rec_tunables *t, int64_t now_usec,
			    rec_checkpoint_loaded_fn loaded, rec_checkpoint_error_fn failed,
			    void *userdata);

/* Removes checkpoints not written for max_age_usec (the history window) and temp files left by
 * interrupted saves. Returns the number of files removed. */
int rec_checkpoint_gc(struct rec_store *s, int64_t now_usec, int64_t max_age_usec);
