/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CNI_PLUGIN_BRIDGE_H
#define CNI_PLUGIN_BRIDGE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>

#include <cni/cni.h>

#include "plugin-cleanup.h"

#define BR_DEFAULT_NAME "cni0"
#define BR_VLAN_MAX	4094

/* The bridge plugin's configuration, every key of the newest reference. */
struct br_conf {
	json_t *root; /* owns the borrowed strings below */
	const char *name;
	const char *cni_version;
	const char *br_name;
	const char *ipam_type; /* NULL: layer 2 only */
	bool is_gw;
	bool is_default_gw;
	bool force_address;
	bool ip_masq;
	cni_ipmasq_backend masq_backend;
	int mtu;
	bool hairpin;
	bool promisc;
	int vlan;
	int *trunk; /* sorted, unique VLAN ids of vlanTrunk */
	size_t n_trunk;
	bool preserve_default_vlan;
	bool macspoofchk;
	bool enable_dad;
	bool disable_container_iface;
	bool port_isolation;
	/* container MAC after CNI_ARGS < args.cni.mac < runtimeConfig.mac */
	char *mac;
	/* "dns" from the config when any of its fields is set */
	bool dns_set;
	cni_dns dns;
	const char **dns_arrays[3]; /* owned arrays behind dns.nameservers/search/options */
};

/* conf.c */
int br_conf_load(struct br_conf *c, const char *data, size_t len, const char *env_args,
		 cni_error **err);
void br_conf_clear(struct br_conf *c);
int br_parse_mac(const char *s, unsigned char out[6]);

/* spoofcheck.c: the reference's macspoofchk nftables rules, in-process */
int br_spoofcheck_setup(const char *host_iface, const char *mac, const char *ref_id,
			cni_error **err);
/* Removes an attachment's rules and chains; nothing there is success. */
int br_spoofcheck_teardown(const char *ref_id, cni_error **err);
/*
 * Removes the chains of attachments not in valid whose host veth is gone or is a port of
 * bridge_ifindex (so other networks' chains survive).
 */
int br_spoofcheck_gc(const cni_gc_attachment *valid, size_t n_valid, cni_nl *host,
		     int bridge_ifindex, cni_error **err);

#endif
