/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CNI_PLUGIN_BANDWIDTH_H
#define CNI_PLUGIN_BANDWIDTH_H

#include <stdbool.h>
#include <stdint.h>

#include <cni/cni.h>

struct nl_sock;

/* The reference shapes with a token bucket of 25 ms latency. */
#define BW_LATENCY_MS 25

/* "bwp" + hash, cut to an interface name's 15 characters. */
#define BW_IFB_PREFIX  "bwp"
#define BW_IFB_NAMELEN 15

/* Our side index for GC: the ifb's alias is "cni-bandwidth <network> <containerID> <ifname>". */
#define BW_ALIAS_PREFIX "cni-bandwidth "

/* TCA_TBF_PARMS as the kernel reports them: the units CHECK compares. */
struct bw_tbf {
	uint64_t rate;	 /* bytes per second */
	uint32_t buffer; /* psched ticks */
	uint32_t limit;	 /* bytes */
};

/* tc.c: the reference's tbf arithmetic, on the values it would send. */
int bw_tbf_params(uint64_t rate_bits, uint64_t burst_bits, struct bw_tbf *out, cni_error **err);

/* tc.c: one request per kernel operation, in the namespace sk was opened in. */
int bw_sock_open(struct nl_sock **out, cni_error **err);
void bw_sock_close(struct nl_sock *sk);
int bw_ifb_add(struct nl_sock *sk, const char *name, unsigned int mtu, cni_error **err);
int bw_tbf_add(struct nl_sock *sk, int ifindex, const char *ifname, const struct bw_tbf *tbf,
	       cni_error **err);
int bw_ingress_qdisc_add(struct nl_sock *sk, int ifindex, const char *ifname, cni_error **err);
/* Delete the root tbf or (ingress) the ingress qdisc that the calls above add (a failed
 * ADD's); 0 or a negative errno. */
int bw_qdisc_del(struct nl_sock *sk, int ifindex, bool ingress);
int bw_redirect_filter_add(struct nl_sock *sk, int ifindex, const char *ifname, int ifb_index,
			   cni_error **err);
/* The root qdisc of ifindex when it is a tbf; *found false otherwise. */
int bw_root_tbf_get(struct nl_sock *sk, int ifindex, const char *ifname, bool *found,
		    struct bw_tbf *out, cni_error **err);

/* One ifb device as GC sees it. */
struct bw_ifb {
	int ifindex;
	char name[16];
	char *alias; /* "" when none */
};
/* Every link of kind ifb; *out new, free with bw_ifb_list_free(). */
int bw_ifb_list(struct nl_sock *sk, struct bw_ifb **out, size_t *count, cni_error **err);
void bw_ifb_list_free(struct bw_ifb *v, size_t count);

#endif
