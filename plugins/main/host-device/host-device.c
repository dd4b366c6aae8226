/* SPDX-License-Identifier: Apache-2.0 */
/* host-device: a host link moved into the container and back (docs/plugins/host-device.md);
 * the work is shared with the single-link plugins in plugins/common/plugin-sublink.c. */
#include "plugin-sublink.h"

int main(void)
{
	return ps_main(PS_HOSTDEV);
}
