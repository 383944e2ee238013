/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tcx_list: the tcx ingress programs attached to an interface, for the
 * AF_PACKET integration tests (bpftool and iproute2 of this machine do not
 * show tcx yet). Not a test by itself.
 *
 *   tcx_list IFNAME
 * prints one line "PROG id=ID name=NAME" per program, then "COUNT n=N
 * anyload=M" (M: programs named anyload_tc). Exit status 0, 1 on error,
 * 77 if the kernel has no tcx.
 */
#include <errno.h>
#include <linux/bpf.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define TCX_INGRESS 46   /* enum bpf_attach_type, kernels >= 6.6 */

static long sys_bpf(int cmd, union bpf_attr *attr)
{
	return syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

int main(int argc, char **argv)
{
	union {
		union bpf_attr a;
		uint8_t raw[512];
	} u;
	uint32_t ids[64], i, n, ours = 0;
	unsigned ifindex;

	if (argc != 2) {
		fprintf(stderr, "usage: tcx_list IFNAME\n");
		return 1;
	}
	ifindex = if_nametoindex(argv[1]);
	if (!ifindex) {
		fprintf(stderr, "tcx_list: no interface %s\n", argv[1]);
		return 1;
	}
	memset(&u, 0, sizeof(u));
	u.a.query.target_fd = ifindex;
	u.a.query.attach_type = TCX_INGRESS;
	u.a.query.prog_ids = (uint64_t)(uintptr_t)ids;
	u.a.query.prog_cnt = 64;
	if (sys_bpf(BPF_PROG_QUERY, &u.a) < 0) {
		if (errno == EINVAL) {
			printf("kernel without tcx\n");
			return 77;
		}
		perror("tcx_list: BPF_PROG_QUERY");
		return 1;
	}
	n = u.a.query.prog_cnt < 64 ? u.a.query.prog_cnt : 64;
	for (i = 0; i < n; i++) {
		struct bpf_prog_info info;
		union bpf_attr b;
		int fd;

		memset(&b, 0, sizeof(b));
		b.prog_id = ids[i];
		fd = (int)sys_bpf(BPF_PROG_GET_FD_BY_ID, &b);
		memset(&info, 0, sizeof(info));
		if (fd >= 0) {
			memset(&b, 0, sizeof(b));
			b.info.bpf_fd = (uint32_t)fd;
			b.info.info_len = sizeof(info);
			b.info.info = (uint64_t)(uintptr_t)&info;
			sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &b);
			close(fd);
		}
		printf("PROG id=%u name=%s\n", ids[i], info.name);
		if (!strcmp(info.name, "anyload_tc"))
			ours++;
	}
	printf("COUNT n=%u anyload=%u\n", n, ours);
	return 0;
}
