/* SPDX-License-Identifier: Apache-2.0 */
/* tap: one tap link in the container (docs/plugins/tap.md); the work is shared with the
 * other single-link plugins in plugins/common/plugin-sublink.c. */
#include "plugin-sublink.h"

int main(void)
{
	return ps_main(PS_TAP);
}
