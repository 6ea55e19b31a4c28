/* A handle on a cgroup v2 tree root: every access goes beneath its fd, and names are checked first. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct cg_tree;

/* Opens root (e.g. "/sys/fs/cgroup", or a temp dir in tests). The tree remembers whether openat2()
 * with RESOLVE_BENEATH works here and falls back to per-component openat(O_NOFOLLOW) otherwise. */
int cg_tree_open(const char *root, struct cg_tree **ret);
struct cg_tree *cg_tree_free(struct cg_tree *t);
static inline void cg_tree_freep(struct cg_tree **t)
{
	if (*t)
		cg_tree_free(*t);
}

/* The root directory fd (owned by the tree) and the path it was opened with. */
int cg_tree_fd(const struct cg_tree *t);
const char *cg_tree_path(const struct cg_tree *t);
/* True when openat2(RESOLVE_BENEATH) is in use, false on the openat(O_NOFOLLOW) fallback. */
bool cg_tree_has_openat2(const struct cg_tree *t);
/* Forces the openat(O_NOFOLLOW)-per-component walk even where openat2 works (tests exercise the
 * fallback with it). */
void cg_tree_disable_openat2(struct cg_tree *t);

/* Opens relpath (relative to dirfd, which must be the root fd or a dir fd obtained beneath it)
 * without ever leaving dirfd: no "..", no absolute paths, no symlinks. relpath "" or "." is dirfd
 * itself. O_CLOEXEC and O_NOFOLLOW are always added. Returns the fd or -errno (-EINVAL for a path
 * that fails cg_relpath_is_valid()). */
int cg_openat_beneath(const struct cg_tree *t, int dirfd, const char *relpath, int flags,
		      mode_t mode);
/* cg_openat_beneath(root fd, relpath, O_RDONLY|O_DIRECTORY). */
int cg_tree_open_dir(const struct cg_tree *t, const char *relpath);

/* A single path component: non-empty, at most NAME_MAX bytes, no '/', not "." or "..", no control
 * characters. */
bool cg_name_is_valid(const char *s);
/* A relative path made of valid components separated by single '/' ("" is the root itself). */
bool cg_relpath_is_valid(const char *s);
/* A pod UID as the kubelet puts it in cgroup names: a 36-char UUID (8-4-4-4-12 hex, either case),
 * or the 32 lowercase hex digits the kubelet gives static (mirror) pods. */
bool cg_pod_uid_is_valid(const char *s);
/* A container ID as containerd, CRI-O and docker name cgroups: exactly 64 hex digits. */
bool cg_container_id_is_valid(const char *s);
