/* Unit tests for cgroup/layout: kubelet layout discovery on fake trees, rescans, inotify wakeups. */
#include "tests/unit/unit.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "agent/util/cleanup.h"
#include "cgroup/layout.h"
#include "tests/unit/cgroup_fake.h"

#define UID_G "11111111-2222-3333-4444-555555555555"
#define UID_B "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
#define UID_E "0f9e7c1a-3b2d-4c5e-8f90-123456789abc"
#define UID_STATIC "6f1f3b2c9a0d4e5f6a7b8c9d0e1f2a3b"
#define ID1 "1111111111111111111111111111111111111111111111111111111111111111"
#define ID2 "2222222222222222222222222222222222222222222222222222222222222222"
#define ID3 "3333333333333333333333333333333333333333333333333333333333333333"
#define ID4 "4444444444444444444444444444444444444444444444444444444444444444"
#define ID5 "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789"

static char *us(const char *uid)
{
	static char buf[4][64];
	static int k;
	char *b = buf[k++ % 4];

	strcpy(b, uid);
	for (char *p = b; *p; p++)
		if (*p == '-')
			*p = '_';
	return b;
}

/* Records callback events as text lines for easy assertions. */
struct events {
	char log[8192];
	int appeared, vanished;
	/* When set: a container announced as appeared must be found by its ID already (the agent
	 * joins it to its pod from the callback). */
	struct cg_layout *layout;
};

static void on_event(enum cg_layout_event ev, struct cg_pod *pod, struct cg_container *c,
		     void *userdata)
{
	struct events *e = userdata;
	static const char *names[] = { "pod+", "ctr+", "ctr-", "pod-" };
	size_t n = strlen(e->log);

	snprintf(e->log + n, sizeof(e->log) - n, "%s %s\n", names[ev], c ? c->id : pod->uid);
	if (ev == CG_LAYOUT_POD_APPEARED || ev == CG_LAYOUT_CONTAINER_APPEARED)
		e->appeared++;
	else
		e->vanished++;
	ck_assert(c == NULL || c->pod == pod);
	if (e->layout && ev == CG_LAYOUT_CONTAINER_APPEARED)
		ck_assert_ptr_eq(cg_layout_find_container(e->layout, c->id), c);
	if (e->layout && ev == CG_LAYOUT_POD_APPEARED)
		ck_assert_ptr_eq(cg_layout_find_pod(e->layout, pod->uid), pod);
}

START_TEST(test_systemd_layout)
{
	_cleanup_free_ char *root = fake_tree_new();
	_cleanup_(cg_tree_freep) struct cg_tree *t = NULL;
	_cleanup_(cg_layout_freep) struct cg_layout *l = NULL;
	char p[1024];
	struct cg_pod *pod;
	struct cg_container *c;
	struct events ev = {};
	struct stat st;
	size_t n;

	/* Guaranteed pod with containerd (app + pause), directly under kubepods.slice. */
	snprintf(p, sizeof(p), "kubepods.slice/kubepods-pod%s.slice/cri-containerd-%s.scope",
		 us(UID_G), ID1);
	fake_cgroup(root, p, NULL);
	snprintf(p, sizeof(p), "kubepods.slice/kubepods-pod%s.slice/cri-containerd-%s.scope",
		 us(UID_G), ID2);
	fake_cgroup(root, p, NULL);
	/* Burstable pod on CRI-O: its conmon scope must not count as a container. */
	snprintf(p, sizeof(p),
		 "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod%s.slice/"
		 "crio-%s.scope",
		 us(UID_B), ID3);
	fake_cgroup(root, p, NULL);
	snprintf(p, sizeof(p),
		 "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod%s.slice/"
		 "crio-conmon-%s.scope",
		 us(UID_B), ID3);
	fake_mkdir(root, p);
	/* BestEffort static pod on docker. */
	snprintf(p, sizeof(p),
		 "kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod%s.slice/"
		 "docker-%s.scope",
		 UID_STATIC, ID4);
	fake_cgroup(root, p, NULL);
	/* Noise that must be ignored: bad UIDs, wrong prefixes, short ids, files, traversal-ish names. */
	fake_mkdir(root, "kubepods.slice/kubepods-podnot_a_uid.slice");
	fake_mkdir(root,
		   "kubepods.slice/kubepods-burstable.slice/kubepods-besteffort-pod" UID_STATIC
		   ".slice");
	snprintf(p, sizeof(p), "kubepods.slice/kubepods-pod%s.slice/cri-containerd-1234.scope",
		 us(UID_G));
	fake_mkdir(root, p);
	snprintf(p, sizeof(p), "kubepods.slice/kubepods-pod%s.slice/cri-containerd-%s.scope.bak",
		 us(UID_G), ID5);
	fake_mkdir(root, p);
	snprintf(p, sizeof(p), "kubepods.slice/kubepods-pod%s.slice/cpu.max", us(UID_G));
	fake_write(root, p, "max 100000\n");
	fake_mkdir(root, "kubepods.slice/kubepods-pod" UID_G ".slice"); /* dashes: not systemd */
	fake_mkdir(root, "system.slice/containerd.service");

	ck_assert_int_eq(cg_tree_open(root, &t), 0);
	ck_assert_int_eq(cg_layout_new(t, &l), 0);
	ck_assert_int_eq(cg_layout_scan(l, on_event, &ev), 0);
	cg_layout_pods(l, &n);
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(cg_layout_n_containers(l), 4);
	ck_assert_int_eq(ev.appeared, 7);
	ck_assert_int_eq(ev.vanished, 0);

	pod = cg_layout_find_pod(l, UID_G);
	ck_assert_ptr_nonnull(pod);
	ck_assert_int_eq(pod->qos, QOS_GUARANTEED);
	ck_assert_int_eq(pod->driver, CG_DRIVER_SYSTEMD);
	ck_assert_uint_eq(pod->n_containers, 2);
	snprintf(p, sizeof(p), "kubepods.slice/kubepods-pod%s.slice", us(UID_G));
	ck_assert_str_eq(pod->path, p);
	snprintf(p, sizeof(p), "%s/%s", root, pod->path);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_uint_eq(pod->inode, st.st_ino);

	c = cg_layout_find_container(l, ID1);
	ck_assert_ptr_nonnull(c);
	ck_assert_ptr_eq(c->pod, pod);
	ck_assert_int_eq(c->runtime, CG_RUNTIME_CONTAINERD);
	snprintf(p, sizeof(p), "%s/%s", root, c->path);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_uint_eq(c->inode, st.st_ino);

	pod = cg_layout_find_pod(l, UID_B);
	ck_assert_ptr_nonnull(pod);
	ck_assert_int_eq(pod->qos, QOS_BURSTABLE);
	ck_assert_uint_eq(pod->n_containers, 1);
	ck_assert_int_eq(pod->containers[0]->runtime, CG_RUNTIME_CRIO);
	ck_assert_str_eq(pod->containers[0]->id, ID3);

	pod = cg_layout_find_pod(l, UID_STATIC);
	ck_assert_ptr_nonnull(pod);
	ck_assert_int_eq(pod->qos, QOS_BEST_EFFORT);
	ck_assert_int_eq(pod->containers[0]->runtime, CG_RUNTIME_DOCKER);
	ck_assert_str_eq(cg_runtime_to_string(CG_RUNTIME_DOCKER), "docker");
	ck_assert_str_eq(qos_class_to_string(QOS_BEST_EFFORT), "BestEffort");

	/* A second scan with nothing changed reports nothing and keeps the same objects. */
	c = cg_layout_find_container(l, ID1);
	memset(&ev, 0, sizeof(ev));
	ck_assert_int_eq(cg_layout_scan(l, on_event, &ev), 0);
	ck_assert_int_eq(ev.appeared + ev.vanished, 0);
	ck_assert_ptr_eq(cg_layout_find_container(l, ID1), c);
	fake_tree_remove(root);
}
END_TEST

START_TEST(test_cgroupfs_layout)
{
	_cleanup_free_ char *root = fake_tree_new();
	_cleanup_(cg_tree_freep) struct cg_tree *t = NULL;
	_cleanup_(cg_layout_freep) struct cg_layout *l = NULL;
	struct cg_pod *pod;
	size_t n;

	fake_cgroup(root, "kubepods/pod" UID_G "/" ID1, NULL);
	fake_cgroup(root, "kubepods/burstable/pod" UID_B "/crio-" ID2, NULL);
	fake_mkdir(root, "kubepods/burstable/pod" UID_B "/crio-conmon-" ID2);
	fake_cgroup(root, "kubepods/besteffort/pod" UID_E "/" ID3, NULL);
	fake_mkdir(root, "kubepods/besteffort/pod" UID_E "/...");
	fake_mkdir(root, "kubepods/besteffort/podnope");
	fake_mkdir(root, "kubepods/burstable/pod" UID_B "/" ID4 "x");

	ck_assert_int_eq(cg_tree_open(root, &t), 0);
	ck_assert_int_eq(cg_layout_new(t, &l), 0);
	ck_assert_int_eq(cg_layout_scan(l, NULL, NULL), 0);
	cg_layout_pods(l, &n);
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(cg_layout_n_containers(l), 3);

	pod = cg_layout_find_pod(l, UID_G);
	ck_assert_ptr_nonnull(pod);
	ck_assert_int_eq(pod->qos, QOS_GUARANTEED);
	ck_assert_int_eq(pod->driver, CG_DRIVER_CGROUPFS);
	ck_assert_str_eq(pod->path, "kubepods/pod" UID_G);
	ck_assert_str_eq(pod->containers[0]->path, "kubepods/pod" UID_G "/" ID1);
	ck_assert_int_eq(pod->containers[0]->runtime, CG_RUNTIME_CONTAINERD);

	pod = cg_layout_find_pod(l, UID_B);
	ck_assert_int_eq(pod->qos, QOS_BURSTABLE);
	ck_assert_uint_eq(pod->n_containers, 1);
	ck_assert_int_eq(pod->containers[0]->runtime, CG_RUNTIME_CRIO);
	ck_assert_str_eq(pod->containers[0]->id, ID2);

	pod = cg_layout_find_pod(l, UID_E);
	ck_assert_int_eq(pod->qos, QOS_BEST_EFFORT);
	ck_assert_str_eq(cg_driver_to_string(pod->driver), "cgroupfs");
	fake_tree_remove(root);
}
END_TEST

START_TEST(test_empty_tree)
{
	_cleanup_free_ char *root = fake_tree_new();
	_cleanup_(cg_tree_freep) struct cg_tree *t = NULL;
	_cleanup_(cg_layout_freep) struct cg_layout *l = NULL;
	size_t n = 9;

	/* No kubelet yet: no kubepods dir at all is an empty node, not an error. */
	ck_assert_int_eq(cg_tree_open(root, &t), 0);
	ck_assert_int_eq(cg_layout_new(t, &l), 0);
	ck_assert_int_eq(cg_layout_scan(l, NULL, NULL), 0);
	cg_layout_pods(l, &n);
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_null(cg_layout_find_pod(l, UID_G));
	fake_tree_remove(root);
}
END_TEST

START_TEST(test_rescan_appear_vanish)
{
	_cleanup_free_ char *root = fake_tree_new();
	_cleanup_(cg_tree_freep) struct cg_tree *t = NULL;
	_cleanup_(cg_layout_freep) struct cg_layout *l = NULL;
	struct events ev = {};
	struct cg_pod *pod;
	struct cg_container *c1;
	char path[4096];
	int wfd;
	struct pollfd pfd;

	fake_cgroup(root, "kubepods/burstable/pod" UID_B "/" ID1, NULL);
	ck_assert_int_eq(cg_tree_open(root, &t), 0);
	ck_assert_int_eq(cg_layout_new(t, &l), 0);
	wfd = cg_layout_watch_fd(l);
	ck_assert_int_ge(wfd, 0);
	ck_assert_int_eq(cg_layout_scan(l, on_event, &ev), 0);
	ck_assert_str_eq(ev.log, "pod+ " UID_B "\nctr+ " ID1 "\n");
	pod = cg_layout_find_pod(l, UID_B);
	c1 = cg_layout_find_container(l, ID1);
	pod->userdata = (void *)0x1;
	c1->userdata = (void *)0x2;
	ck_assert_int_eq(cg_layout_watch_drain(l), 0);

	/* A second container and a new pod appear: inotify wakes us, the rescan reports just those. */
	fake_cgroup(root, "kubepods/burstable/pod" UID_B "/" ID2, NULL);
	pfd = (struct pollfd){ .fd = wfd, .events = POLLIN };
	ck_assert_int_eq(poll(&pfd, 1, 5000), 1);
	ck_assert_int_eq(cg_layout_watch_drain(l), 1);
	fake_cgroup(root, "kubepods/besteffort/pod" UID_E "/" ID3, NULL);
	memset(&ev, 0, sizeof(ev));
	ev.layout = l;
	ck_assert_int_eq(cg_layout_scan(l, on_event, &ev), 0);
	/* Reported in path order: besteffort/ sorts before burstable/. */
	ck_assert_str_eq(ev.log, "pod+ " UID_E "\nctr+ " ID3 "\nctr+ " ID2 "\n");
	/* The survivors are the same objects with the caller's state intact. */
	ck_assert_ptr_eq(cg_layout_find_pod(l, UID_B), pod);
	ck_assert_ptr_eq(cg_layout_find_container(l, ID1), c1);
	ck_assert_ptr_eq(pod->userdata, (void *)0x1);
	ck_assert_ptr_eq(c1->userdata, (void *)0x2);
	ck_assert_uint_eq(pod->n_containers, 2);
	(void)cg_layout_watch_drain(l);

	/* The first container exits: its directory goes, inotify on the pod dir fires. */
	snprintf(path, sizeof(path), "%s/kubepods/burstable/pod%s/%s", root, UID_B, ID1);
	fake_tree_remove(path);
	ck_assert_int_eq(poll(&pfd, 1, 5000), 1);
	ck_assert_int_eq(cg_layout_watch_drain(l), 1);
	memset(&ev, 0, sizeof(ev));
	ck_assert_int_eq(cg_layout_scan(l, on_event, &ev), 0);
	ck_assert_str_eq(ev.log, "ctr- " ID1 "\n");
	ck_assert_uint_eq(pod->n_containers, 1);
	ck_assert_ptr_null(cg_layout_find_container(l, ID1));

	/* A directory replaced under the same name (new inode) is a new object. */
	snprintf(path, sizeof(path), "%s/kubepods/burstable/pod%s/%s", root, UID_B, ID2);
	fake_tree_remove(path);
	fake_cgroup(root, "kubepods/burstable/pod" UID_B "/" ID2, NULL);
	memset(&ev, 0, sizeof(ev));
	ck_assert_int_eq(cg_layout_scan(l, on_event, &ev), 0);
	/* Same inode number can be reused by the filesystem: then nothing changed is correct too. */
	ck_assert(strcmp(ev.log, "ctr- " ID2 "\nctr+ " ID2 "\n") == 0 || ev.log[0] == '\0');

	/* The whole pod goes: containers vanish before their pod. */
	snprintf(path, sizeof(path), "%s/kubepods/burstable/pod%s", root, UID_B);
	fake_tree_remove(path);
	memset(&ev, 0, sizeof(ev));
	ck_assert_int_eq(cg_layout_scan(l, on_event, &ev), 0);
	ck_assert_str_eq(ev.log, "ctr- " ID2 "\npod- " UID_B "\n");
	ck_assert_ptr_null(cg_layout_find_pod(l, UID_B));
	ck_assert_ptr_nonnull(cg_layout_find_pod(l, UID_E));
	fake_tree_remove(root);
}
END_TEST

Suite *cgroup_layout_suite(void)
{
	Suite *s = suite_create("cgroup_layout");
	TCase *tc = tcase_create("discover");

	tcase_add_test(tc, test_systemd_layout);
	tcase_add_test(tc, test_cgroupfs_layout);
	tcase_add_test(tc, test_empty_tree);
	tcase_add_test(tc, test_rescan_appear_vanish);
	suite_add_tcase(s, tc);
	return s;
}
