/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The interface plugins that make one link in the container and give it IPAM's addresses
 * (macvlan, ipvlan, vlan, dummy, tap; host-device moves one in): the config, ADD / DEL / CHECK / GC / STATUS, each
 * plugin naming only what differs (internal, never installed).
 */
#ifndef CNI_PLUGIN_SUBLINK_H
#define CNI_PLUGIN_SUBLINK_H

#include <cni/cni.h>

typedef enum ps_kind {
	PS_MACVLAN,
	PS_IPVLAN,
	PS_VLAN,
	PS_DUMMY,
	PS_TAP,
	PS_HOSTDEV,
} ps_kind;

/* Run the plugin of this kind (its main()). */
int ps_main(ps_kind kind);

#endif
