// SPDX-License-Identifier: Apache-2.0
/* Baseline for the benchmark in sensor/src/capture/xdp: the cheapest XDP
 * program there is, measured with BPF_PROG_TEST_RUN like sensor_xdp. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Apache-2.0";
