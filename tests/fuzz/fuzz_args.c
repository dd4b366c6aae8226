/* SPDX-License-Identifier: Apache-2.0 */
/* CNI_ARGS strings. */
#include <stdint.h>

#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const known[] = {"IP", "MAC", "K8S_POD_NAME", NULL};
	char *s = strndup((const char *)data, size);
	cni_args *a = NULL;
	cni_error *e = NULL;
	bool b;
	if (!s)
		return 0;
	if (cni_args_parse(&a, s, &e) == 0) {
		cni_args_check_known(a, known, NULL);
		cni_args_get_bool(a, "IgnoreUnknown", false, &b, NULL);
		for (size_t i = 0; i < cni_args_count(a); i++)
			if (!cni_args_key(a, i) || !cni_args_value(a, i))
				abort();
		cni_args_free(a);
	}
	cni_error_free(e);
	free(s);
	return 0;
}
