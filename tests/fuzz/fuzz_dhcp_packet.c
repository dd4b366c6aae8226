/* SPDX-License-Identifier: Apache-2.0 */
/* DHCP messages as the dhcp daemon receives them from the network: decode, the route
 * options, and the CNI result a lease becomes. */
#include <stdint.h>
#include <stdlib.h>

#include "dhcp-daemon.h"
#include "dhcp-packet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dhcp_lease *l = malloc(sizeof(*l));
	struct dhcp_route r[16];
	const uint8_t *d;
	size_t len;

	if (!l)
		return 0;
	if (dhcp_decode(&l->ack, data, size) == 0) {
		d = dhcp_msg_opt(&l->ack, DHCP_OPT_CLASSLESS_ROUTES, &len);
		if (d)
			dhcp_parse_classless(d, len, r, 16);
		d = dhcp_msg_opt(&l->ack, DHCP_OPT_STATIC_ROUTES, &len);
		if (d)
			dhcp_parse_static(d, len, r, 16);
	}
	if (dhcp_lease_from_ack(l, data, size, 0) == 0) {
		if (l->t1 > l->t2 || l->t2 > l->lease_time)
			abort();
		free(dhcp_lease_result_json(l, 5));
	}
	free(l);
	return 0;
}
