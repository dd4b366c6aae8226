/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The exec floor for tests/bench case 5: a static program that answers VERSION the way a
 * plugin does and does nothing else, so the table shows what fork + exec + wait cost on
 * this machine before any plugin code runs. Built by run.sh with gcc -static -O2.
 */
#include <string.h>
#include <unistd.h>

int main(void)
{
	static const char reply[] = "{\"cniVersion\":\"1.0.0\",\"supportedVersions\":"
				    "[\"0.3.0\",\"0.3.1\",\"0.4.0\",\"1.0.0\"]}\n";

	return write(1, reply, strlen(reply)) == (ssize_t)strlen(reply) ? 0 : 1;
}
