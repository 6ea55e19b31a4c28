/* The cgroup tree handle: opening files strictly beneath a root fd and validating names. */
#include "cgroup/tree.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "agent/util/cleanup.h"
#include "agent/util/log.h"

struct cg_tree {
	int fd;
	char *path;
	bool openat2_ok;
};

static int sys_openat2(int dirfd, const char *path, struct open_how *how)
{
#ifdef SYS_openat2
	return (int)syscall(SYS_openat2, dirfd, path, how, sizeof(*how));
#else
	errno = ENOSYS;
	return -1;
#endif
}

int cg_tree_open(const char *root, struct cg_tree **ret)
{
	_cleanup_close_ int fd = -1, probe = -1;
	struct cg_tree *t;
	struct open_how how = {
		.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	bool ok;

	if (!root || !*root || !ret)
		return -EINVAL;
	fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return log_debug_errno(negative_errno(), "cgroup root %s: %m", root);
	/* Seccomp profiles may answer EPERM instead of ENOSYS for unknown syscalls: any failure on
	 * "." (which must work) means openat2 is unusable here. */
	probe = sys_openat2(fd, ".", &how);
	ok = probe >= 0;
	if (!ok)
		log_debug_errno(negative_errno(),
				"openat2 unavailable (%m), using openat per component");

	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->path = strdup(root);
	if (!t->path) {
		free(t);
		return -ENOMEM;
	}
	t->fd = TAKE_FD(fd);
	t->openat2_ok = ok;
	*ret = t;
	return 0;
}

struct cg_tree *cg_tree_free(struct cg_tree *t)
{
	if (!t)
		return NULL;
	safe_close(t->fd);
	free(t->path);
	free(t);
	return NULL;
}

int cg_tree_fd(const struct cg_tree *t)
{
	return t->fd;
}

const char *cg_tree_path(const struct cg_tree *t)
{
	return t->path;
}

bool cg_tree_has_openat2(const struct cg_tree *t)
{
	return t->openat2_ok;
}

void cg_tree_disable_openat2(struct cg_tree *t)
{
	t->openat2_ok = false;
}

bool cg_name_is_valid(const char *s)
{
	size_t n;

	if (!s)
		return false;
	n = strlen(s);
	if (n == 0 || n > NAME_MAX)
		return false;
	if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	for (const char *p = s; *p; p++)
		if (*p == '/' || (unsigned char)*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

bool cg_relpath_is_valid(const char *s)
{
	char buf[NAME_MAX + 1];
	const char *p;

	if (!s)
		return false;
	if (*s == '\0')
		return true;
	if (strlen(s) >= PATH_MAX)
		return false;
	for (p = s;;) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);

		if (n == 0 || n > NAME_MAX)
			return false;
		memcpy(buf, p, n);
		buf[n] = '\0';
		if (!cg_name_is_valid(buf))
			return false;
		if (!slash)
			return true;
		p = slash + 1;
	}
}

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool cg_pod_uid_is_valid(const char *s)
{
	size_t n;

	if (!s)
		return false;
	n = strlen(s);
	if (n == 32) {
		for (size_t i = 0; i < n; i++)
			if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
				return false;
		return true;
	}
	if (n != 36)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!is_hex(s[i]))
			return false;
	}
	return true;
}

bool cg_container_id_is_valid(const char *s)
{
	size_t i;

	if (!s)
		return false;
	for (i = 0; s[i]; i++)
		if (i >= 64 || !is_hex(s[i]))
			return false;
	return i == 64;
}

/* The fallback walk: each component opened with O_NOFOLLOW, intermediate ones as O_PATH dirs, so a
 * symlink anywhere fails with ELOOP/ENOTDIR instead of being followed. */
static int openat_components(int dirfd, const char *relpath, int flags, mode_t mode)
{
	_cleanup_close_ int cur = -1;
	char buf[NAME_MAX + 1];
	const char *p = relpath;
	int at = dirfd;

	for (;;) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		int fd;

		memcpy(buf, p, n);
		buf[n] = '\0';
		if (!slash) {
			fd = openat(at, buf, flags, mode);
			return fd < 0 ? negative_errno() : fd;
		}
		fd = openat(at, buf, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return negative_errno();
		safe_close(cur);
		cur = fd;
		at = cur;
		p = slash + 1;
	}
}

int cg_openat_beneath(const struct cg_tree *t, int dirfd, const char *relpath, int flags,
		      mode_t mode)
{
	int fd;

	if (!relpath || !cg_relpath_is_valid(strcmp(relpath, ".") == 0 ? "" : relpath))
		return -EINVAL;
	flags |= O_CLOEXEC | O_NOFOLLOW;
	if (*relpath == '\0' || strcmp(relpath, ".") == 0) {
		fd = openat(dirfd, ".", flags & ~O_NOFOLLOW, mode);
		return fd < 0 ? negative_errno() : fd;
	}
	if (t->openat2_ok) {
		struct open_how how = {
			.flags = (uint64_t)flags,
			.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
			.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
		};

		fd = sys_openat2(dirfd, relpath, &how);
		return fd < 0 ? negative_errno() : fd;
	}
	return openat_components(dirfd, relpath, flags, mode);
}

int cg_tree_open_dir(const struct cg_tree *t, const char *relpath)
{
	return cg_openat_beneath(t, t->fd, relpath, O_RDONLY | O_DIRECTORY, 0);
}
