/* Kernel side of oomwatch: one ring-buffer record per OOM kill, from the oom/mark_victim tracepoint. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "oomwatch.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Kills are rare; 256 KiB holds thousands of records, so a burst across many cgroups is never lost. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

/* Recent SIGKILL targets by pid (an OOM kill sends it just before mark_victim fires). LRU: other
 * SIGKILLs age out by themselves. */
struct kill_target {
	__u32 tgid;
	__u64 cgroup_id;
	__u64 parent_cgroup_id;
	char comm[OOMWATCH_COMM_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct kill_target);
} kill_targets SEC(".maps");

/* Records that found the ring buffer full; user space reads it so a loss is never silent. */
__u64 dropped = 0;

/* 6.2+ keeps mm counters in percpu_counters; 6.1 in an atomic array. Both flavors for CO-RE. */
struct mm_struct___pcpu {
	struct percpu_counter rss_stat[4];
} __attribute__((preserve_access_index));

struct mm_struct___atomic {
	struct mm_rss_stat rss_stat;
} __attribute__((preserve_access_index));

/* The tracepoint reports pages as kB (PAGE_TO_KB); do the same so both programs agree. */
static __always_inline __u64 pages_to_kb(long pages)
{
	return pages > 0 ? (__u64)pages << (12 - 10) : 0;
}

static __always_inline long mm_counter(struct mm_struct *mm, int member)
{
	if (bpf_core_type_exists(struct mm_rss_stat)) {
		struct mm_struct___atomic *m = (void *)mm;

		return BPF_CORE_READ(m, rss_stat.count[member].counter);
	} else {
		struct mm_struct___pcpu *m = (void *)mm;

		return BPF_CORE_READ(m, rss_stat[member].count);
	}
}

static __always_inline void task_cgroup(struct task_struct *task, __u64 *id, __u64 *parent_id)
{
	struct cgroup *cgrp = BPF_CORE_READ(task, cgroups, dfl_cgrp);
	/* `self` is the first member of struct cgroup, so a parent css is its parent cgroup. */
	struct cgroup *parent = (struct cgroup *)BPF_CORE_READ(cgrp, self.parent);

	*id = BPF_CORE_READ(cgrp, kn, id);
	*parent_id = parent ? BPF_CORE_READ(parent, kn, id) : 0;
}

static __always_inline void fill_cgroup(struct oomwatch_bpf_event *e, struct task_struct *task)
{
	task_cgroup(task, &e->cgroup_id, &e->parent_cgroup_id);
}

static __always_inline struct oomwatch_bpf_event *reserve(void)
{
	struct oomwatch_bpf_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		__sync_fetch_and_add(&dropped, 1);
		return NULL;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->ts_ns = bpf_ktime_get_ns();
	return e;
}

/* tp_btf: the tracepoint passes the victim task (upstream 6.8+, backported to Debian's 6.1), so the
 * cgroup is the victim's own whoever triggered the OOM. The loader picks this one when the
 * kernel's btf_trace_mark_victim takes a task_struct. */
SEC("tp_btf/mark_victim")
int BPF_PROG(mark_victim_btf, struct task_struct *task, uid_t uid)
{
	struct oomwatch_bpf_event *e = reserve();
	struct mm_struct *mm;

	if (!e)
		return 0;
	e->via = OOMWATCH_VIA_TASK;
	e->pid = BPF_CORE_READ(task, pid);
	e->tgid = BPF_CORE_READ(task, tgid);
	e->uid = uid;
	e->oom_score_adj = BPF_CORE_READ(task, signal, oom_score_adj);
	BPF_CORE_READ_STR_INTO(&e->comm, task, comm);
	fill_cgroup(e, task);
	mm = BPF_CORE_READ(task, mm);
	if (mm) {
		e->total_vm = pages_to_kb(BPF_CORE_READ(mm, total_vm));
		e->anon_rss = pages_to_kb(mm_counter(mm, MM_ANONPAGES));
		e->file_rss = pages_to_kb(mm_counter(mm, MM_FILEPAGES));
		e->shmem_rss = pages_to_kb(mm_counter(mm, MM_SHMEMPAGES));
	}
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/* Companion of the classic program: remembers who each SIGKILL targets, so mark_victim can name
 * the victim's cgroup when the victim is not the current task (no /proc race). */
SEC("tp_btf/signal_generate")
int BPF_PROG(signal_generate, int sig, struct kernel_siginfo *info, struct task_struct *task,
	     int group, int result)
{
	struct kill_target t = {};
	__u32 pid;

	if (sig != 9 /* SIGKILL */)
		return 0;
	pid = BPF_CORE_READ(task, pid);
	t.tgid = BPF_CORE_READ(task, tgid);
	task_cgroup(task, &t.cgroup_id, &t.parent_cgroup_id);
	BPF_CORE_READ_STR_INTO(&t.comm, task, comm);
	bpf_map_update_elem(&kill_targets, &pid, &t, BPF_ANY);
	return 0;
}

/* Classic tracepoint: only the victim's pid (plus Debian's extended fields). In a memcg OOM the
 * allocating (current) task is usually the victim: then its cgroup is the victim's. Otherwise the
 * SIGKILL just sent to the victim names it (signal_generate, when loaded); failing that the record
 * goes out with cgroup_id 0 and user space resolves the pid through /proc at once. */
SEC("tp/oom/mark_victim")
int mark_victim_tp(struct trace_event_raw_mark_victim *ctx)
{
	struct oomwatch_bpf_event *e = reserve();
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 cur_pid = (__u32)pid_tgid, cur_tgid = pid_tgid >> 32;

	if (!e)
		return 0;
	e->pid = ctx->pid;
	if (e->pid == cur_pid || e->pid == cur_tgid) {
		struct task_struct *task = (struct task_struct *)bpf_get_current_task();

		e->via = OOMWATCH_VIA_CURRENT;
		e->tgid = cur_tgid;
		fill_cgroup(e, task);
		bpf_get_current_comm(&e->comm, sizeof(e->comm));
	} else {
		__u32 pid = e->pid;
		struct kill_target *t = bpf_map_lookup_elem(&kill_targets, &pid);

		if (t && t->cgroup_id) {
			e->via = OOMWATCH_VIA_SIGNAL;
			e->tgid = t->tgid;
			e->cgroup_id = t->cgroup_id;
			e->parent_cgroup_id = t->parent_cgroup_id;
			__builtin_memcpy(e->comm, t->comm, sizeof(e->comm));
			bpf_map_delete_elem(&kill_targets, &pid);
		} else {
			e->via = OOMWATCH_VIA_PROC;
		}
	}
	if (bpf_core_field_exists(ctx->anon_rss)) {
		e->total_vm = BPF_CORE_READ(ctx, total_vm);
		e->anon_rss = BPF_CORE_READ(ctx, anon_rss);
		e->file_rss = BPF_CORE_READ(ctx, file_rss);
		e->shmem_rss = BPF_CORE_READ(ctx, shmem_rss);
		e->uid = BPF_CORE_READ(ctx, uid);
		e->oom_score_adj = BPF_CORE_READ(ctx, oom_score_adj);
	}
	if (bpf_core_field_exists(ctx->__data_loc_comm) && e->via != OOMWATCH_VIA_CURRENT) {
		__u32 loc = BPF_CORE_READ(ctx, __data_loc_comm);

		bpf_probe_read_kernel_str(e->comm, sizeof(e->comm), (void *)ctx + (loc & 0xffff));
	}
	bpf_ringbuf_submit(e, 0);
	return 0;
}
