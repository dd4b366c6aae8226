/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The token bucket the reference's bandwidth plugin computes for a rate and a burst, in
 * the kernel's units, with the reference's rounding (CHECK compares against qdiscs the
 * reference made). The qdiscs themselves are the library's (cni_qdisc_tbf_add()).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "bandwidth.h"

/* ---- the reference's tbf arithmetic ------------------------------------------------ */

#define TIME_UNITS_PER_SEC 1000000.0

/*
 * Go's float64 -> uint32 conversion as compiled for amd64 (through int64, then the low
 * 32 bits; out-of-range and NaN give 0x8000000000000000, whose low half is 0). Large
 * bursts over small rates overflow in the reference; matching it keeps CHECK compatible
 * with qdiscs the reference made.
 */
static uint32_t go_f64_to_u32(double f)
{
	if (isnan(f) || f >= 9223372036854775808.0 || f < -9223372036854775808.0)
		return 0;
	return (uint32_t)(uint64_t)(int64_t)f;
}

/*
 * Microseconds per psched tick from /proc/net/psched, read as the reference's netlink
 * library reads it (so 15.625 on today's kernels). 0 when the file is unusable, which
 * the reference also falls back to.
 */
static double tick_in_usec(void)
{
	char buf[128];
	unsigned long v[4];
	FILE *f = fopen("/proc/net/psched", "re");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *p = buf;
	for (int i = 0; i < 4; i++) {
		char *end;
		while (*p == ' ' || *p == '\n')
			p++;
		errno = 0;
		v[i] = strtoul(p, &end, 16);
		if (errno || end == p || v[i] > UINT32_MAX || (*end != ' ' && *end != '\n' && *end))
			return 0;
		p = end;
	}
	if (v[2] == 1000000000)
		v[0] = v[1];
	if (v[1] == 0)
		return 0;
	double clock_factor = (double)v[2] / TIME_UNITS_PER_SEC;
	return (double)v[0] / (double)v[1] * clock_factor;
}

int bw_tbf_params(uint64_t rate_bits, uint64_t burst_bits, cni_tbf *out, cni_error **err)
{
	if (rate_bits == 0)
		return cni_error_set(err, CNI_ERR_INTERNAL, NULL, "invalid rate: %llu",
				     (unsigned long long)rate_bits);
	if (burst_bits == 0)
		return cni_error_set(err, CNI_ERR_INTERNAL, NULL, "invalid burst: %llu",
				     (unsigned long long)burst_bits);
	uint64_t rate = rate_bits / 8;
	uint32_t burst = (uint32_t)(burst_bits / 8);
	double tick = tick_in_usec();
	double latency = TIME_UNITS_PER_SEC * (BW_LATENCY_MS / 1000.0);
	/* buffer: time to send the burst at rate, in ticks; limit: rate * latency + burst */
	uint32_t usec = go_f64_to_u32((double)burst * TIME_UNITS_PER_SEC / (double)rate);
	out->rate = rate;
	out->buffer = go_f64_to_u32((double)usec * tick);
	out->limit = go_f64_to_u32((double)rate * latency / TIME_UNITS_PER_SEC) + burst;
	return 0;
}
