/* Kubelet cgroup layout discovery for both cgroup drivers and the three runtimes (see layout.h). */
#include "cgroup/layout.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/util/cleanup.h"
#include "agent/util/log.h"

struct cg_layout {
	struct cg_tree *tree;
	struct cg_pod **pods; /* sorted by path */
	size_t n_pods;
	int inotify_fd;
};

const char *cg_driver_to_string(enum cg_driver d)
{
	return d == CG_DRIVER_SYSTEMD ? "systemd" : "cgroupfs";
}

const char *cg_runtime_to_string(enum cg_runtime r)
{
	switch (r) {
	case CG_RUNTIME_CONTAINERD:
		return "containerd";
	case CG_RUNTIME_CRIO:
		return "cri-o";
	case CG_RUNTIME_DOCKER:
		return "docker";
	}
	return "unknown";
}

int cg_layout_new(struct cg_tree *tree, struct cg_layout **ret)
{
	struct cg_layout *l;

	if (!tree || !ret)
		return -EINVAL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->tree = tree;
	l->inotify_fd = -1;
	*ret = l;
	return 0;
}

static void container_free(struct cg_container *c)
{
	if (!c)
		return;
	free(c->path);
	free(c);
}

static void pod_free(struct cg_pod *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_containers; i++)
		container_free(p->containers[i]);
	free(p->containers);
	free(p->path);
	free(p);
}

struct cg_layout *cg_layout_free(struct cg_layout *l)
{
	if (!l)
		return NULL;
	for (size_t i = 0; i < l->n_pods; i++)
		pod_free(l->pods[i]);
	free(l->pods);
	safe_close(l->inotify_fd);
	free(l);
	return NULL;
}

struct cg_pod *const *cg_layout_pods(const struct cg_layout *l, size_t *ret_n)
{
	*ret_n = l->n_pods;
	return l->pods;
}

size_t cg_layout_n_containers(const struct cg_layout *l)
{
	size_t n = 0;

	for (size_t i = 0; i < l->n_pods; i++)
		n += l->pods[i]->n_containers;
	return n;
}

struct cg_pod *cg_layout_find_pod(const struct cg_layout *l, const char *uid)
{
	for (size_t i = 0; i < l->n_pods; i++)
		if (strcmp(l->pods[i]->uid, uid) == 0)
			return l->pods[i];
	return NULL;
}

struct cg_container *cg_layout_find_container(const struct cg_layout *l, const char *id)
{
	for (size_t i = 0; i < l->n_pods; i++)
		for (size_t j = 0; j < l->pods[i]->n_containers; j++)
			if (strcmp(l->pods[i]->containers[j]->id, id) == 0)
				return l->pods[i]->containers[j];
	return NULL;
}

static bool has_prefix_suffix(const char *s, const char *prefix, const char *suffix, char *ret_mid,
			      size_t mid_size)
{
	size_t n = strlen(s), np = strlen(prefix), ns = strlen(suffix);

	if (n <= np + ns || strncmp(s, prefix, np) != 0 || strcmp(s + n - ns, suffix) != 0)
		return false;
	if (n - np - ns >= mid_size)
		return false;
	memcpy(ret_mid, s + np, n - np - ns);
	ret_mid[n - np - ns] = '\0';
	return true;
}

/* "pod<uid>" (cgroupfs) or "<prefix>pod<UID_>.slice" (systemd) → validated uid with dashes. */
static bool pod_uid_from_name(const char *name, enum cg_driver driver, const char *prefix,
			      char ret_uid[CG_POD_UID_MAX + 1])
{
	char mid[CG_POD_UID_MAX + 1];

	if (!has_prefix_suffix(name, prefix, driver == CG_DRIVER_SYSTEMD ? ".slice" : "", mid,
			       sizeof(mid)))
		return false;
	if (driver == CG_DRIVER_SYSTEMD) {
		/* systemd uses '-' for nesting, so the kubelet escapes the UID's dashes as '_'. */
		if (strchr(mid, '-'))
			return false;
		for (char *p = mid; *p; p++)
			if (*p == '_')
				*p = '-';
	}
	if (!cg_pod_uid_is_valid(mid))
		return false;
	strcpy(ret_uid, mid);
	return true;
}

/* A container cgroup name → id and runtime; false for anything else (conmon, sandbox helpers,
 * stray dirs). */
static bool container_from_name(const char *name, enum cg_driver driver,
				char ret_id[CG_CONTAINER_ID_LEN + 1], enum cg_runtime *ret_rt)
{
	static const struct {
		const char *prefix, *suffix;
		enum cg_driver driver;
		enum cg_runtime rt;
	} forms[] = {
		{ "cri-containerd-", ".scope", CG_DRIVER_SYSTEMD, CG_RUNTIME_CONTAINERD },
		{ "crio-", ".scope", CG_DRIVER_SYSTEMD, CG_RUNTIME_CRIO },
		{ "docker-", ".scope", CG_DRIVER_SYSTEMD, CG_RUNTIME_DOCKER },
		{ "crio-", "", CG_DRIVER_CGROUPFS, CG_RUNTIME_CRIO },
		{ "", "", CG_DRIVER_CGROUPFS, CG_RUNTIME_CONTAINERD },
	};
	char mid[CG_CONTAINER_ID_LEN + 1];

	if (strncmp(name, "crio-conmon-", 12) == 0)
		return false;
	for (size_t i = 0; i < ELEMENTSOF(forms); i++) {
		if (forms[i].driver != driver)
			continue;
		if (!has_prefix_suffix(name, forms[i].prefix, forms[i].suffix, mid, sizeof(mid)))
			continue;
		if (!cg_container_id_is_valid(mid))
			continue;
		strcpy(ret_id, mid);
		*ret_rt = forms[i].rt;
		return true;
	}
	return false;
}

static int join_path(const char *a, const char *b, char **ret)
{
	if (asprintf(ret, "%s/%s", a, b) < 0)
		return -ENOMEM;
	return 0;
}

static void watch_dir(struct cg_layout *l, int dirfd)
{
	char proc[64];

	if (l->inotify_fd < 0)
		return;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", dirfd);
	if (inotify_add_watch(l->inotify_fd, proc, IN_CREATE | IN_DELETE | IN_MOVE | IN_ONLYDIR) <
	    0)
		log_debug_errno(negative_errno(), "inotify watch on fd %d: %m", dirfd);
}

/* Opens relpath as a directory for listing; NULL with -ENOENT/-ENOTDIR when it is not there. */
static int open_listing(struct cg_layout *l, const char *relpath, DIR **ret)
{
	int fd = cg_tree_open_dir(l->tree, relpath);
	DIR *d;

	if (fd < 0)
		return fd;
	watch_dir(l, fd);
	d = fdopendir(fd);
	if (!d) {
		int r = negative_errno();
		close(fd);
		return r;
	}
	*ret = d;
	return 0;
}

static bool entry_is_dir(DIR *d, struct dirent *de, uint64_t *ret_ino)
{
	struct stat st;

	if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
		return false;
	if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
		return false;
	*ret_ino = (uint64_t)st.st_ino;
	return true;
}

static int cmp_pod(const void *a, const void *b)
{
	return strcmp((*(struct cg_pod *const *)a)->path, (*(struct cg_pod *const *)b)->path);
}

static int cmp_container(const void *a, const void *b)
{
	return strcmp((*(struct cg_container *const *)a)->path,
		      (*(struct cg_container *const *)b)->path);
}

/* Lists the container cgroups of a freshly found pod. */
static int scan_pod(struct cg_layout *l, struct cg_pod *p)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int r;

	r = open_listing(l, p->path, &d);
	if (r == -ENOENT || r == -ENOTDIR)
		return 0; /* went away meanwhile: it will be reported as vanished next time */
	if (r < 0)
		return r;
	while ((errno = 0, de = readdir(d))) {
		char id[CG_CONTAINER_ID_LEN + 1];
		enum cg_runtime rt;
		struct cg_container *c, **a;
		uint64_t ino;

		if (de->d_name[0] == '.')
			continue;
		if (!entry_is_dir(d, de, &ino))
			continue;
		if (!container_from_name(de->d_name, p->driver, id, &rt)) {
			log_debug("cgroup: ignoring %s/%s: not a container cgroup name", p->path,
				  de->d_name);
			continue;
		}
		a = realloc(p->containers, (p->n_containers + 1) * sizeof(*a));
		if (!a)
			return -ENOMEM;
		p->containers = a;
		c = calloc(1, sizeof(*c));
		if (!c)
			return -ENOMEM;
		strcpy(c->id, id);
		c->runtime = rt;
		c->inode = ino;
		c->pod = p;
		r = join_path(p->path, de->d_name, &c->path);
		if (r < 0) {
			free(c);
			return r;
		}
		p->containers[p->n_containers++] = c;
	}
	if (errno != 0 && errno != ENOENT && errno != ENODEV)
		return negative_errno();
	if (p->n_containers > 0)
		qsort(p->containers, p->n_containers, sizeof(*p->containers), cmp_container);
	return 0;
}

struct found {
	struct cg_pod **pods;
	size_t n;
};

static int add_found_pod(struct cg_layout *l, struct found *f, const char *parent, const char *name,
			 const char *uid, enum qos_class qos, enum cg_driver driver, uint64_t ino)
{
	struct cg_pod *p, **a;
	int r;

	a = realloc(f->pods, (f->n + 1) * sizeof(*a));
	if (!a)
		return -ENOMEM;
	f->pods = a;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	f->pods[f->n++] = p;
	strcpy(p->uid, uid);
	p->qos = qos;
	p->driver = driver;
	p->inode = ino;
	r = join_path(parent, name, &p->path);
	if (r < 0)
		return r;
	return scan_pod(l, p);
}

/* Lists one QoS-level directory (kubepods root for Guaranteed pods, or a burstable/besteffort dir),
 * descending into the QoS dirs when sub_qos is set. */
static int scan_level(struct cg_layout *l, struct found *f, const char *relpath,
		      enum cg_driver driver, enum qos_class qos, bool top)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	const char *pod_prefix;
	int r;

	r = open_listing(l, relpath, &d);
	if (r == -ENOENT || r == -ENOTDIR)
		return 0;
	if (r < 0)
		return r;
	if (driver == CG_DRIVER_SYSTEMD)
		pod_prefix = qos == QOS_BURSTABLE     ? "kubepods-burstable-pod"
			     : qos == QOS_BEST_EFFORT ? "kubepods-besteffort-pod"
						      : "kubepods-pod";
	else
		pod_prefix = "pod";

	while ((errno = 0, de = readdir(d))) {
		char uid[CG_POD_UID_MAX + 1];
		uint64_t ino;

		if (de->d_name[0] == '.')
			continue;
		if (!entry_is_dir(d, de, &ino))
			continue;
		if (top) {
			static const struct {
				const char *name;
				enum cg_driver driver;
				enum qos_class qos;
			} qdirs[] = {
				{ "kubepods-burstable.slice", CG_DRIVER_SYSTEMD, QOS_BURSTABLE },
				{ "kubepods-besteffort.slice", CG_DRIVER_SYSTEMD, QOS_BEST_EFFORT },
				{ "burstable", CG_DRIVER_CGROUPFS, QOS_BURSTABLE },
				{ "besteffort", CG_DRIVER_CGROUPFS, QOS_BEST_EFFORT },
			};
			bool handled = false;

			for (size_t i = 0; i < ELEMENTSOF(qdirs); i++) {
				_cleanup_free_ char *sub = NULL;

				if (qdirs[i].driver != driver || strcmp(de->d_name, qdirs[i].name))
					continue;
				r = join_path(relpath, de->d_name, &sub);
				if (r < 0)
					return r;
				r = scan_level(l, f, sub, driver, qdirs[i].qos, false);
				if (r < 0)
					return r;
				handled = true;
			}
			if (handled)
				continue;
		}
		if (!pod_uid_from_name(de->d_name, driver, pod_prefix, uid)) {
			log_debug("cgroup: ignoring %s/%s: not a pod cgroup name", relpath,
				  de->d_name);
			continue;
		}
		r = add_found_pod(l, f, relpath, de->d_name, uid, qos, driver, ino);
		if (r < 0)
			return r;
	}
	if (errno != 0 && errno != ENOENT && errno != ENODEV)
		return negative_errno();
	return 0;
}

static void emit(cg_layout_cb cb, enum cg_layout_event ev, struct cg_pod *p, struct cg_container *c,
		 void *userdata)
{
	if (cb)
		cb(ev, p, c, userdata);
}

/* Moves fresh containers into the kept pod `old`, reporting the differences. */
/* What a scan found new, announced once the layout lists it (a callback that looks a new container
 * up with cg_layout_find_container() must find it), in path order. */
struct appeared {
	struct cg_pod *pod;
	struct cg_container *container; /* NULL: the pod itself */
};

static void merge_containers(struct cg_pod *old, struct cg_pod *fresh, cg_layout_cb cb,
			     void *userdata, struct appeared *appeared, size_t *n_appeared)
{
	struct cg_container **merged;
	size_t i = 0, j = 0, n = 0;

	merged = calloc(old->n_containers + fresh->n_containers + 1, sizeof(*merged));
	if (!merged) {
		/* Keep the old view rather than lose track: the next scan retries. */
		return;
	}
	while (i < old->n_containers || j < fresh->n_containers) {
		struct cg_container *a = i < old->n_containers ? old->containers[i] : NULL;
		struct cg_container *b = j < fresh->n_containers ? fresh->containers[j] : NULL;
		int c = !a ? 1 : !b ? -1 : strcmp(a->path, b->path);

		if (c == 0 && a->inode == b->inode) {
			merged[n++] = a;
			container_free(b);
			fresh->containers[j] = NULL;
			i++, j++;
			continue;
		}
		if (c <= 0) {
			emit(cb, CG_LAYOUT_CONTAINER_VANISHED, old, a, userdata);
			container_free(a);
			i++;
		}
		if (c >= 0) {
			b->pod = old;
			merged[n++] = b;
			fresh->containers[j] = NULL;
			appeared[(*n_appeared)++] = (struct appeared){ old, b };
			j++;
		}
	}
	free(old->containers);
	old->containers = merged;
	old->n_containers = n;
	fresh->n_containers = 0;
}

static void pod_vanish(struct cg_pod *p, cg_layout_cb cb, void *userdata)
{
	for (size_t k = 0; k < p->n_containers; k++)
		emit(cb, CG_LAYOUT_CONTAINER_VANISHED, p, p->containers[k], userdata);
	emit(cb, CG_LAYOUT_POD_VANISHED, p, NULL, userdata);
	pod_free(p);
}

static void pod_appear(struct cg_pod *p, struct appeared *appeared, size_t *n_appeared)
{
	appeared[(*n_appeared)++] = (struct appeared){ p, NULL };
	for (size_t k = 0; k < p->n_containers; k++)
		appeared[(*n_appeared)++] = (struct appeared){ p, p->containers[k] };
}

static size_t count_containers(struct cg_pod *const *pods, size_t n)
{
	size_t total = 0;

	for (size_t k = 0; k < n; k++)
		total += pods[k]->n_containers;
	return total;
}

int cg_layout_scan(struct cg_layout *l, cg_layout_cb cb, void *userdata)
{
	struct found f = {};
	struct cg_pod **merged = NULL;
	struct appeared *appeared = NULL;
	size_t i = 0, j = 0, n = 0, n_appeared = 0;
	int r;

	if (l->inotify_fd >= 0)
		watch_dir(l, cg_tree_fd(l->tree));
	r = scan_level(l, &f, "kubepods.slice", CG_DRIVER_SYSTEMD, QOS_GUARANTEED, true);
	if (r >= 0)
		r = scan_level(l, &f, "kubepods", CG_DRIVER_CGROUPFS, QOS_GUARANTEED, true);
	if (r >= 0) {
		merged = calloc(l->n_pods + f.n + 1, sizeof(*merged));
		/* At most every pod and container found is new. */
		appeared = calloc(f.n + count_containers(f.pods, f.n) + 1, sizeof(*appeared));
		if (!merged || !appeared)
			r = -ENOMEM;
	}
	if (r < 0) {
		free(merged);
		free(appeared);
		for (size_t k = 0; k < f.n; k++)
			pod_free(f.pods[k]);
		free(f.pods);
		return r;
	}
	if (f.n > 0)
		qsort(f.pods, f.n, sizeof(*f.pods), cmp_pod);

	while (i < l->n_pods || j < f.n) {
		struct cg_pod *a = i < l->n_pods ? l->pods[i] : NULL;
		struct cg_pod *b = j < f.n ? f.pods[j] : NULL;
		int c = !a ? 1 : !b ? -1 : strcmp(a->path, b->path);

		if (c == 0 && a->inode == b->inode) {
			merge_containers(a, b, cb, userdata, appeared, &n_appeared);
			pod_free(b);
			merged[n++] = a;
			i++, j++;
			continue;
		}
		if (c <= 0) {
			pod_vanish(a, cb, userdata);
			i++;
		}
		if (c >= 0) {
			merged[n++] = b;
			pod_appear(b, appeared, &n_appeared);
			j++;
		}
	}
	free(f.pods);
	free(l->pods);
	l->pods = merged;
	l->n_pods = n;
	for (size_t k = 0; k < n_appeared; k++)
		emit(cb,
		     appeared[k].container ? CG_LAYOUT_CONTAINER_APPEARED : CG_LAYOUT_POD_APPEARED,
		     appeared[k].pod, appeared[k].container, userdata);
	free(appeared);
	return 0;
}

int cg_layout_watch_fd(struct cg_layout *l)
{
	if (l->inotify_fd >= 0)
		return l->inotify_fd;
	l->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (l->inotify_fd < 0)
		return negative_errno();
	/* The watches are (re)added by each scan; one now so kubepods appearing wakes the caller. */
	watch_dir(l, cg_tree_fd(l->tree));
	return l->inotify_fd;
}

int cg_layout_watch_drain(struct cg_layout *l)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	int any = 0;

	if (l->inotify_fd < 0)
		return -EBADF;
	for (;;) {
		ssize_t k = read(l->inotify_fd, buf, sizeof(buf));

		if (k < 0) {
			if (errno == EAGAIN)
				return any;
			if (errno == EINTR)
				continue;
			return negative_errno();
		}
		if (k == 0)
			return any;
		any = 1;
	}
}
