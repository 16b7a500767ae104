/* The device allow-list on cgroup v2, which has no devices.allow file: the
 * kernel asks a BPF_PROG_TYPE_CGROUP_DEVICE program attached to the group
 * on every mknod and open of a device node (1 = allow, 0 = EPERM).  The
 * program is compiled here from the same rules as the v1 list (cgroup.c):
 * a straight sequence of rule blocks, each ending in "allow" and skipped to
 * the next on the first field that does not match, then "deny".
 *
 * Tested on this hybrid host's cgroup2 hierarchy (the kernel runs a
 * group's device programs whether or not the v1 devices controller is
 * mounted), not on a pure v2 machine. */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/util.h"
#include "runtime/runtime.h"

/* the registers the prologue loads the request into */
enum { R_TYPE = 3, R_ACCESS = 2, R_MAJOR = 4, R_MINOR = 5 };

/* 4 tests + allow (2) per rule, 5 prologue, 2 deny */
#define MAX_INSNS (5 + 6 * 32 + 2)

static struct bpf_insn insn(__u8 code, __u8 dst, __u8 src, __s16 off, __s32 imm)
{
    return (struct bpf_insn){.code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm};
}

static size_t prologue(struct bpf_insn *p)
{
    size_t n = 0;
    /* ctx (r1): access_type = access << 16 | type, major, minor */
    p[n++] = insn(BPF_LDX | BPF_MEM | BPF_W, R_ACCESS, 1, offsetof(struct bpf_cgroup_dev_ctx, access_type), 0);
    p[n++] = insn(BPF_ALU64 | BPF_MOV | BPF_X, R_TYPE, R_ACCESS, 0, 0);
    p[n++] = insn(BPF_ALU64 | BPF_AND | BPF_K, R_TYPE, 0, 0, 0xffff);
    p[n++] = insn(BPF_ALU64 | BPF_RSH | BPF_K, R_ACCESS, 0, 0, 16);
    p[n++] = insn(BPF_LDX | BPF_MEM | BPF_W, R_MAJOR, 1, offsetof(struct bpf_cgroup_dev_ctx, major), 0);
    p[n++] = insn(BPF_LDX | BPF_MEM | BPF_W, R_MINOR, 1, offsetof(struct bpf_cgroup_dev_ctx, minor), 0);
    return n;
}

static int access_bits(const char *a)
{
    int bits = 0;
    for (; *a; a++)
        bits |= *a == 'r' ? BPF_DEVCG_ACC_READ : *a == 'w' ? BPF_DEVCG_ACC_WRITE : *a == 'm' ? BPF_DEVCG_ACC_MKNOD : 0;
    return bits;
}

/* One rule: each test jumps past the block's end when it fails. */
static size_t rule_block(const rt_dev_rule *r, struct bpf_insn *p)
{
    size_t n = 0;
    if (r->type != 'a')
        p[n++] = insn(BPF_JMP | BPF_JNE | BPF_K, R_TYPE, 0, 0,
                      r->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR);
    if (r->major >= 0)
        p[n++] = insn(BPF_JMP | BPF_JNE | BPF_K, R_MAJOR, 0, 0, r->major);
    if (r->minor >= 0)
        p[n++] = insn(BPF_JMP | BPF_JNE | BPF_K, R_MINOR, 0, 0, r->minor);
    int denied = ~access_bits(r->access) & (BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD);
    if (denied)
        p[n++] = insn(BPF_JMP | BPF_JSET | BPF_K, R_ACCESS, 0, 0, denied);
    size_t tests = n;
    p[n++] = insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 1);
    p[n++] = insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
    for (size_t i = 0; i < tests; i++)
        p[i].off = (__s16)(n - i - 1);
    return n;
}

static int bpf_call(int cmd, union bpf_attr *a)
{
    return (int)syscall(SYS_bpf, cmd, a, sizeof *a);
}

int rt_cgroup_bpf_devices(const char *dir, const rt_dev_rule *rules, size_t n_rules, nr_err *err)
{
    if (n_rules > 32)
        return nr_err_set(err, "device program: %zu rules, at most 32", n_rules);
    struct bpf_insn prog[MAX_INSNS];
    size_t n = prologue(prog);
    bool all = false;
    for (size_t i = 0; i < n_rules && !all; i++) {
        size_t k = rule_block(&rules[i], prog + n);
        n += k;
        all = k == 2; /* "a *:* rwm": what follows is unreachable, which the verifier refuses */
    }
    if (!all) {
        prog[n++] = insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0);
        prog[n++] = insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
    }

    union bpf_attr load;
    memset(&load, 0, sizeof load);
    load.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    load.insns = (__u64)(uintptr_t)prog;
    load.insn_cnt = (__u32)n;
    load.license = (__u64)(uintptr_t)"GPL";
    strcpy(load.prog_name, "nrun_devices");
    cleanup_close int prog_fd = bpf_call(BPF_PROG_LOAD, &load);
    if (prog_fd < 0)
        return nr_err_sys(err, errno, "load the device program for %s", dir);
    cleanup_close int cg_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (cg_fd < 0)
        return nr_err_sys(err, errno, "open %s", dir);
    /* ALLOW_MULTI: a program an ancestor holds (systemd's) still runs too,
     * and a device must pass all of them */
    union bpf_attr att;
    memset(&att, 0, sizeof att);
    att.target_fd = (__u32)cg_fd;
    att.attach_bpf_fd = (__u32)prog_fd;
    att.attach_type = BPF_CGROUP_DEVICE;
    att.attach_flags = BPF_F_ALLOW_MULTI;
    if (bpf_call(BPF_PROG_ATTACH, &att) < 0)
        return nr_err_sys(err, errno, "attach the device program to %s", dir);
    /* the group holds the program now; it goes when the group is removed */
    return 0;
}
