# Build rules for bpf/: the CO-RE object, and its skeleton (a generated header bpf/oomwatch.c includes).
BPF_OUT := $(OUT)/bpf
BPFTOOL ?= bpftool
LLVM_STRIP ?= llvm-strip
BPF_ARCH := x86
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(BPF_ARCH) -Wall -Werror -Ibpf

$(BPF_OUT)/oomwatch.bpf.o: bpf/oomwatch.bpf.c bpf/oomwatch.h bpf/vmlinux.h
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@.tmp
	$(Q)$(LLVM_STRIP) -g $@.tmp -o $@ && rm -f $@.tmp

$(BPF_OUT)/oomwatch.skel.h: $(BPF_OUT)/oomwatch.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name oomwatch_bpf > $@.tmp && mv $@.tmp $@

GENERATED_HEADERS += $(BPF_OUT)/oomwatch.skel.h

