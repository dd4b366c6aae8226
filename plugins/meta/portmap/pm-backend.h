/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CNI_PM_BACKEND_H
#define CNI_PM_BACKEND_H

/*
 * What portmap asks of a firewall backend (pm-iptables.c, pm-nftables.c). Each runs in the
 * calling thread's namespace and knows nothing of portmap.c.
 */

#include "pm-types.h"

typedef struct pm_backend_ops {
	const char *name;
	/* One family's rules for the attachment c. */
	int (*add)(const pm_conf *c, int family, cni_error **err);
	int (*check)(const pm_conf *c, int family, cni_error **err);
	/* Remove the attachment's rules in both families; absent rules are success. When the
	 * backend cannot be used here that is an error only if required (it was asked for):
	 * otherwise no rule of ours can be there. */
	int (*del)(const char *network, const char *container_id, bool required, cni_error **err);
	/* Remove the rules of attachments not in conf's valid attachments; NULL: nothing to
	 * collect. */
	int (*gc)(const char *network, const cni_conf *conf, cni_error **err);
} pm_backend_ops;

extern const pm_backend_ops pm_iptables_ops;
extern const pm_backend_ops pm_nftables_ops;


#endif
