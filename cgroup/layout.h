/* Kubelet cgroup layout discovery: which pods and containers live under a cgroup tree, and what changed. */
#pragma once
#include "agent/util/qos.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cgroup/tree.h"

enum cg_driver {
	CG_DRIVER_SYSTEMD, /* kubepods.slice/kubepods-<qos>.slice/kubepods-<qos>-pod<UID_>.slice/ */
	CG_DRIVER_CGROUPFS, /* kubepods/<qos>/pod<UID>/ */
};

/* On the cgroupfs driver a bare "<id>" cgroup is reported as containerd; docker (cri-dockerd)
 * names its cgroups the same way there, so the two cannot be told apart from the tree. */
enum cg_runtime {
	CG_RUNTIME_CONTAINERD, /* cri-containerd-<id>.scope | <id> */
	CG_RUNTIME_CRIO,       /* crio-<id>.scope | crio-<id> (crio-conmon-<id>* is skipped) */
	CG_RUNTIME_DOCKER,     /* docker-<id>.scope */
};

const char *cg_driver_to_string(enum cg_driver d);   /* "systemd", "cgroupfs" */
const char *cg_runtime_to_string(enum cg_runtime r); /* "containerd", "cri-o", "docker" */

#define CG_POD_UID_MAX 36
#define CG_CONTAINER_ID_LEN 64

struct cg_pod;

/* Every container cgroup under a pod, the sandbox (pause) one included: the tree cannot tell them
 * apart; match ids against the pod status. Pointers stay valid until the VANISHED callback. */
struct cg_container {
	char id[CG_CONTAINER_ID_LEN + 1]; /* lowercase as found */
	enum cg_runtime runtime;
	char *path;	/* relative to the tree root */
	uint64_t inode; /* st_ino of the directory = the kernel's cgroup id (BPF's kn->id) */
	struct cg_pod *pod;
	void *userdata; /* the caller's, untouched by the layout */
};

struct cg_pod {
	char uid[CG_POD_UID_MAX + 1]; /* with '-' (systemd's '_' converted back) */
	enum qos_class qos;
	enum cg_driver driver;
	char *path;
	uint64_t inode;
	struct cg_container **containers; /* sorted by path */
	size_t n_containers;
	void *userdata;
};

struct cg_layout;

/* The layout borrows tree, which must outlive it. Nothing is scanned until cg_layout_scan(). */
int cg_layout_new(struct cg_tree *tree, struct cg_layout **ret);
struct cg_layout *cg_layout_free(struct cg_layout *l);
static inline void cg_layout_freep(struct cg_layout **l)
{
	if (*l)
		cg_layout_free(*l);
}

enum cg_layout_event {
	CG_LAYOUT_POD_APPEARED,
	CG_LAYOUT_CONTAINER_APPEARED, /* after its pod's APPEARED */
	CG_LAYOUT_CONTAINER_VANISHED, /* before its pod's VANISHED; the object is freed right after */
	CG_LAYOUT_POD_VANISHED,
};
/* container is NULL for pod events. */
typedef void (*cg_layout_cb)(enum cg_layout_event ev, struct cg_pod *pod,
			     struct cg_container *container, void *userdata);

/* Walks both drivers' kubepods dirs and reports what appeared or vanished since the last scan
 * (everything APPEARED on the first). A pod or container whose directory was replaced (same path,
 * new inode) is reported VANISHED then APPEARED. Names that are not kubelet/runtime cgroups, or
 * whose UID/ID does not validate, are ignored with a debug log. cb may be NULL. Returns 0 or
 * -errno (a vanishing directory during the walk is not an error). */
int cg_layout_scan(struct cg_layout *l, cg_layout_cb cb, void *userdata);

/* The pods found by the last scan, sorted by path. */
struct cg_pod *const *cg_layout_pods(const struct cg_layout *l, size_t *ret_n);
size_t cg_layout_n_containers(const struct cg_layout *l);
struct cg_pod *cg_layout_find_pod(const struct cg_layout *l, const char *uid);
struct cg_container *cg_layout_find_container(const struct cg_layout *l, const char *id);

/* Optional wakeup: an inotify fd (owned by the layout, non-blocking) that becomes readable when a
 * directory is created or removed in the tree root, a kubepods dir, a QoS dir or a pod dir (the
 * watches follow each scan). Poll it, call cg_layout_watch_drain(), then cg_layout_scan(). */
int cg_layout_watch_fd(struct cg_layout *l);
/* Reads all pending events; returns 1 when there were some, 0 when none, or -errno. */
int cg_layout_watch_drain(struct cg_layout *l);
