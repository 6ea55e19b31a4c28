/* The WorkloadHistory entries (snug.io/v1alpha1) a node shares: their names and labels, the object
 * it writes, and the other nodes' containers read back into one remote aggregate per container.
 * Pure: no I/O, no clock (docs/shared-history.md has the shape and its cost). */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/recommender/recommender.h"

/* A label value: 16 hex digits. */
#define SHARED_KEY_SIZE 17
/* A label value (<= 63) and an object name (a DNS subdomain, <= 253). */
#define SHARED_LABEL_SIZE 64
#define SHARED_NAME_SIZE 254

/* The workload's key (label snug.io/workload): FNV-1a 64 of "kind/name", in hex. The namespace is
 * the object's own; the reader checks spec.workload, so a collision costs a skipped entry. */
void shared_workload_key(const char *kind, const char *name, char ret[SHARED_KEY_SIZE]);
/* The node's label (snug.io/node): its name when it is a label value (true); false for a name of
 * more than 63 characters, which gets no label (the admission policy wants the label, when set, to
 * be the node's name; readers select by snug.io/workload). */
bool shared_node_label(const char *node, char ret[SHARED_LABEL_SIZE]);
/* The entry's name: "<workload key>.<node>" ("<workload key>.h-<hash>" for a node name too long
 * to follow). Node names are DNS subdomains, so the result is one. */
void shared_entry_name(const char *workload_key, const char *node, char ret[SHARED_NAME_SIZE]);

struct shared_container {
	const char *name;
	const struct rec_aggregate *aggregate; /* the node's own history, never a merge */
};

struct shared_entry {
	const char *namespace, *node_name;
	const char *node_uid; /* NULL: no ownerReferences yet (the Node was not read) */
	const char *workload_api_version, *workload_kind, *workload_name;
	const struct shared_container *containers;
	size_t n_containers;
	int64_t now_usec;
};

/* The whole object as JSON text (caller frees): the body of a create and of a merge patch. */
int shared_entry_format(const struct shared_entry *e, char **ret);

/* Adds one entry's container (an item of spec.containers) into *remote, allocated at now_usec
 * when NULL. Returns 0, -EBADMSG/-EINVAL for a malformed or foreign-layout histogram (*remote is
 * then unchanged), -ENOMEM. */
int shared_remote_add(struct rec_aggregate **remote, const cJSON *container,
		      const struct rec_tunables *t, int64_t now_usec);
