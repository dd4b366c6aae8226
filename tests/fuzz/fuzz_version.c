/* SPDX-License-Identifier: Apache-2.0 */
/* VERSION replies and version strings. */
#include <stdint.h>

#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cni_plugin_info *info = NULL;
	char *s = strndup((const char *)data, size);
	int a, b, c;
	if (!s)
		return 0;
	cni_version_parse(s, &a, &b, &c, NULL);
	if (cni_plugin_info_decode(&info, (const char *)data, size, NULL) == 0) {
		char *out = NULL;
		cni_version_check(s, info, NULL);
		if (cni_plugin_info_encode(info, NULL, &out, NULL) == 0)
			free(out);
		cni_plugin_info_free(info);
	}
	free(s);
	return 0;
}
