/* SPDX-License-Identifier: Apache-2.0 */
#include "plugin-ipam.h"

int pc_ipam_check_families(const char *cni_version, size_t n4, size_t n6, cni_error **err)
{
	if ((n4 > 1 || n6 > 1) && !cni_version_ge(cni_version, "0.3.0"))
		return cni_error_set(
		    err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
		    "CNI version %s does not support more than 1 address per family", cni_version);
	return 0;
}
