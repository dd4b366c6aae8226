/* SPDX-License-Identifier: Apache-2.0 */
/* Results of any version from arbitrary bytes, converted to every version and printed. */
#include <stdint.h>

#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cni_result *r = NULL;
	cni_error *e = NULL;

	if (cni_result_from_json(&r, NULL, (const char *)data, size, &e) == 0) {
		for (const char *const *v = cni_version_all(); *v; v++) {
			cni_result *c = NULL;
			char *s = NULL;
			if (cni_result_convert(&c, r, *v, NULL) == 0) {
				if (cni_result_to_json(c, &s, NULL) == 0) {
					/* what we print we must read back */
					cni_result *back = NULL;
					if (cni_result_from_json(&back, NULL, s, strlen(s), NULL) < 0)
						abort();
					cni_result_free(back);
					free(s);
				}
				cni_result_free(c);
			}
		}
		cni_result_free(r);
	}
	cni_error_free(e);
	return 0;
}
