/* The OOM-kill record the BPF program puts in its ring buffer, shared by oomwatch.bpf.c and the loader. */
#pragma once

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define OOMWATCH_COMM_LEN 16

/* How the kernel side found the victim's cgroup; user space reports it with every record. */
enum oomwatch_victim_via {
	/* tp_btf: the tracepoint hands over the victim's task_struct (6.8+, and Debian's 6.1). */
	OOMWATCH_VIA_TASK = 1,
	/* classic tp: the victim is the current task (memcg OOM in its own allocation). */
	OOMWATCH_VIA_CURRENT = 2,
	/* classic tp, victim is another task: cgroup_id is 0, user space reads /proc/<pid>/cgroup. */
	OOMWATCH_VIA_PROC = 3,
	/* classic tp, victim is another task whose SIGKILL the kernel just sent (signal_generate
	 * fires right before mark_victim, on the same CPU, with the task): its cgroup from there. */
	OOMWATCH_VIA_SIGNAL = 4,
};

struct oomwatch_bpf_event {
	__u64 ts_ns;	 /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	__u64 cgroup_id; /* victim's cgroup v2 leaf: its kernfs id = directory inode; 0 = unknown */
	__u64 parent_cgroup_id; /* the leaf's parent (runtimes that nest a `container/` child) */
	__u64 total_vm;		/* kB, as the tracepoint reports them (0 when not available) */
	__u64 anon_rss;
	__u64 file_rss;
	__u64 shmem_rss;
	__u32 pid;  /* victim thread id as the tracepoint names it */
	__u32 tgid; /* victim process id (0 when unknown) */
	__u32 uid;
	__s16 oom_score_adj;
	__u8 via; /* enum oomwatch_victim_via */
	__u8 pad;
	char comm[OOMWATCH_COMM_LEN];
};
