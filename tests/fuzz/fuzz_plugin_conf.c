/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One plugin's config loader from arbitrary bytes (its stdin), in process: built once per
 * plugin with -DFUZZ_PLUGIN_<NAME>, including the plugin's source, whose loaders are
 * static, with its main renamed away. CNI_ARGS comes from the first line of the input
 * when it starts with "ARGS=" (bridge and host-local read it), so both are fuzzed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define main fuzz_plugin_main_unused
int fuzz_plugin_main_unused(void);

#if defined(FUZZ_PLUGIN_PTP)
#include "main/ptp/ptp.c"
#define CONF_T	      ptp_conf
#define LOAD(c, a, e) load_conf(a, c, e)
#define CLEAR(c, ok)  ((void)(ok), ptp_conf_done(c))
#elif defined(FUZZ_PLUGIN_BRIDGE)
#include "main/bridge/bridge.h"
#define CONF_T	      struct br_conf
#define LOAD(c, a, e) br_conf_load(c, (a)->stdin_data, (a)->stdin_len, (a)->args, e)
#define CLEAR(c, ok)  ((ok) ? br_conf_clear(c) : (void)0)
#elif defined(FUZZ_PLUGIN_HOST_LOCAL)
#include "ipam/host-local/host-local.h"
#define CONF_T	      hl_config *
#define LOAD(c, a, e) hl_config_parse((a)->stdin_data, (a)->stdin_len, (a)->args, c, e)
#define CLEAR(c, ok)  ((ok) ? hl_config_free(*(c)) : (void)0)
#elif defined(FUZZ_PLUGIN_STATIC)
#include "ipam/static/static.c"
#define CONF_T	      struct static_conf
#define LOAD(c, a, e) load_conf(c, a, e)
#define CLEAR(c, ok)  ((void)(ok), static_conf_free(c))
#elif defined(FUZZ_PLUGIN_DHCP)
#include "ipam/dhcp/dhcp.c"
#define CONF_T	      struct dhcp_conf
#define LOAD(c, a, e) load_conf(c, a, e)
#define CLEAR(c, ok)  ((void)(ok), conf_free(c))
#elif defined(FUZZ_PLUGIN_BANDWIDTH)
#include "meta/bandwidth/bandwidth.c"
#define CONF_T	      struct bw_conf
#define LOAD(c, a, e) bw_conf_load(a, c, e)
#define CLEAR(c, ok)  ((ok) ? bw_conf_clear(c) : (void)0)
#elif defined(FUZZ_PLUGIN_FIREWALL)
#include "meta/firewall/firewall.c"
#define CONF_T	      fw_conf
#define LOAD(c, a, e) parse_conf(a, c, e)
#define CLEAR(c, ok)  ((ok) ? fw_conf_clear(c) : (void)0)
#elif defined(FUZZ_PLUGIN_PORTMAP)
#include "meta/portmap/portmap.c"
#define CONF_T	      pm_conf
#define LOAD(c, a, e) parse_conf(a, c, e)
#define CLEAR(c, ok)  ((void)(ok), pm_conf_clear(c))
#elif defined(FUZZ_PLUGIN_SBR)
#include "meta/sbr/sbr.c"
#define CONF_T	      struct sbr_conf
#define LOAD(c, a, e) conf_load(c, a, e)
#define CLEAR(c, ok)  ((void)(ok), conf_free(c))
#elif defined(FUZZ_PLUGIN_TUNING)
#include "meta/tuning/tuning.c"
#define CONF_T	      struct tuning_conf
#define LOAD(c, a, e) conf_load(c, a, e)
#define CLEAR(c, ok)  ((void)(ok), conf_free(c))
#elif defined(FUZZ_PLUGIN_VRF)
#include "meta/vrf/vrf.c"
#define CONF_T	      struct vrf_conf
#define LOAD(c, a, e) conf_load(c, a, e)
#define CLEAR(c, ok)  ((void)(ok), conf_free(c))
#elif defined(FUZZ_PLUGIN_MULTUS)
#include "meta/multus/multus.c"
#define CONF_T	      struct mconf
#define LOAD(c, a, e) mconf_load((a)->stdin_data, (a)->stdin_len, (a)->ifname, c, e)
#define CLEAR(c, ok)  ((void)(ok), mconf_free(c))
#elif defined(FUZZ_PLUGIN_FLANNEL)
#include "meta/flannel/flannel.c"
/* the config, then the delegate config built from it over a fixed lease */
static int fuzz_flannel_load(struct fconf *c, const cni_cmd_args *a, cni_error **e)
{
	int r = fconf_load(a->stdin_data, a->stdin_len, c, e);
	if (r == 0) {
		struct lease l = {.network = "10.1.0.0/16",
				  .subnet = "10.1.2.0/24",
				  .network6 = "fd00::/48",
				  .subnet6 = "fd00:0:0:2::/64",
				  .mtu = 1450,
				  .has_mtu = true,
				  .has_ipmasq = true};
		json_decref(build_delegate(c, &l));
	}
	return r;
}
#define CONF_T	      struct fconf
#define LOAD(c, a, e) fuzz_flannel_load(c, a, e)
#define CLEAR(c, ok)  ((void)(ok), json_decref((c)->root))
#elif defined(FUZZ_PLUGIN_SUBLINK)
/* macvlan, ipvlan, vlan, dummy, tap and host-device share one loader: the first byte of
 * the input picks the kind (ps_main, also in plugins/common's objects, renamed away) */
#define ps_main fuzz_ps_main_unused
#include "common/plugin-sublink.c"
#undef ps_main
static int fuzz_sublink_load(ps_conf *c, const cni_cmd_args *a, cni_error **e)
{
	ps_kind kind = (ps_kind)(a->stdin_len ? (unsigned char)a->stdin_data[0] % 6 : 0);
	return load_conf(kind, a, true, c, e);
}
#define CONF_T	      ps_conf
#define LOAD(c, a, e) fuzz_sublink_load(c, a, e)
#define CLEAR(c, ok)  ((void)(ok), conf_done(c))
#elif defined(FUZZ_PLUGIN_USERSPACE)
#include "main/userspace/userspace.c"
#define CONF_T	      us_conf
#define LOAD(c, a, e) load_conf(a, c, e)
#define CLEAR(c, ok)  ((void)(ok), us_conf_done(c))
#elif defined(FUZZ_PLUGIN_ETCD_IPAM)
#include "ipam/etcd-ipam/ipam.c"
#define CONF_T	      cfg
#define LOAD(c, a, e) cfg_load(a, c, e)
#define CLEAR(c, ok)  ((void)(ok), cfg_clear(c))
#else
#error "FUZZ_PLUGIN_<NAME> not set"
#endif
#undef main

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	char *args = NULL;
	CONF_T c;
	cni_error *e = NULL;

	if (size >= 5 && memcmp(in, "ARGS=", 5) == 0) {
		const char *nl = memchr(in, '\n', size);
		size_t n = nl ? (size_t)(nl - in) - 5 : size - 5;
		if (!(args = strndup(in + 5, n)))
			return 0;
		size = nl ? size - (size_t)(nl + 1 - in) : 0;
		in = nl ? nl + 1 : in + size;
	}
	cni_cmd_args a = {
	    .version = CNI_CMD_ARGS_VERSION,
	    .command = "ADD",
	    .container_id = "fuzz",
	    .netns = "/nonexistent",
	    .ifname = "eth0",
	    .args = args ? args : "",
	    .path = "",
	    .stdin_data = in,
	    .stdin_len = size,
	};
	memset(&c, 0, sizeof(c));
	int r = LOAD(&c, &a, &e);
	CLEAR(&c, r == 0);
	cni_error_free(e);
	free(args);
	return 0;
}
