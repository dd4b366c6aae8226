/* SPDX-License-Identifier: Apache-2.0 */
/* macvlan: one macvlan link in the container (docs/plugins/macvlan.md); the work is shared with the
 * other single-link plugins in plugins/common/plugin-sublink.c. */
#include "plugin-sublink.h"

int main(void)
{
	return ps_main(PS_MACVLAN);
}
