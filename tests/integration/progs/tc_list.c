/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tc_list: the BPF programs that the AF_PACKET backend may put on an
 * interface's ingress, for its integration tests (bpftool and iproute2 of
 * this machine do not show tcx yet). Not a test by itself.
 *
 *   tc_list IFNAME
 * prints one line "PROG id=ID name=NAME" per tcx ingress program, then
 * "COUNT n=N anyload=M" (M: programs named anyload_tc), then "CLSACT
 * name=NAME" for the clsact ingress filter at anyload's handle 0xa10d,
 * priority 1 (NAME "none" if there is none), then "CLAIMS n=C": M plus 1
 * if that filter is anyload_tcs, and "TCX available=1" (0 on a kernel
 * without tcx, where N and M are 0). Exit status 0, or 1 on error.
 */
#include <bpf/libbpf.h>
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

static void prog_name(uint32_t id, char name[BPF_OBJ_NAME_LEN])
{
	struct bpf_prog_info info;
	union bpf_attr b;
	int fd;

	memset(&b, 0, sizeof(b));
	b.prog_id = id;
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
	memcpy(name, info.name, BPF_OBJ_NAME_LEN);
	name[BPF_OBJ_NAME_LEN - 1] = '\0';
}

int main(int argc, char **argv)
{
	union {
		union bpf_attr a;
		uint8_t raw[512];
	} u;
	uint32_t ids[64], i, n = 0, ours = 0, tcx = 1;
	unsigned ifindex;
	char clsact[BPF_OBJ_NAME_LEN] = "none";

	if (argc != 2) {
		fprintf(stderr, "usage: tc_list IFNAME\n");
		return 1;
	}
	ifindex = if_nametoindex(argv[1]);
	if (!ifindex) {
		fprintf(stderr, "tc_list: no interface %s\n", argv[1]);
		return 1;
	}
	memset(&u, 0, sizeof(u));
	u.a.query.target_fd = ifindex;
	u.a.query.attach_type = TCX_INGRESS;
	u.a.query.prog_ids = (uint64_t)(uintptr_t)ids;
	u.a.query.prog_cnt = 64;
	if (sys_bpf(BPF_PROG_QUERY, &u.a) == 0) {
		n = u.a.query.prog_cnt < 64 ? u.a.query.prog_cnt : 64;
	} else if (errno == EINVAL) {	/* a kernel without tcx */
		tcx = 0;
	} else {
		perror("tc_list: BPF_PROG_QUERY");
		return 1;
	}
	for (i = 0; i < n; i++) {
		char name[BPF_OBJ_NAME_LEN];

		prog_name(ids[i], name);
		printf("PROG id=%u name=%s\n", ids[i], name);
		if (!strcmp(name, "anyload_tc"))
			ours++;
	}
	printf("COUNT n=%u anyload=%u\n", n, ours);
	{
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)ifindex,
			    .attach_point = BPF_TC_INGRESS);
		LIBBPF_OPTS(bpf_tc_opts, opts, .handle = 0xa10d,
			    .priority = 1);

		libbpf_set_print(NULL);
		if (bpf_tc_query(&hook, &opts) == 0)
			prog_name(opts.prog_id, clsact);
	}
	printf("CLSACT name=%s\n", clsact);
	printf("CLAIMS n=%u\n", ours + !strcmp(clsact, "anyload_tcs"));
	printf("TCX available=%u\n", tcx);
	return 0;
}
