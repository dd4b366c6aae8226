/* SPDX-License-Identifier: Apache-2.0 */
/* Config lists and plugin configs from arbitrary bytes, and what is read from them. */
#include <stdint.h>
#include <string.h>

#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cni_conflist *l = NULL;
	cni_conf *c = NULL;
	cni_error *e = NULL;

	if (cni_conflist_from_bytes(&l, (const char *)data, size, &e) == 0) {
		for (size_t i = 0; i < cni_conflist_plugin_count(l); i++) {
			const cni_conf *p = cni_conflist_plugin(l, i);
			cni_result *prev = NULL;
			char **caps = NULL;
			if (cni_conf_prev_result(p, &prev, NULL) == 0)
				cni_result_free(prev);
			if (cni_conf_capabilities(p, &caps, NULL) == 0)
				cni_strv_free(caps);
		}
		cni_conflist_free(cni_conflist_dup(l));
		cni_conflist_free(l);
	}
	cni_error_free(e);
	e = NULL;
	if (cni_conf_from_bytes(&c, (const char *)data, size, &e) == 0) {
		cni_conf *n = NULL;
		size_t count = 0;
		bool present;
		char *json = NULL;
		if (cni_conf_inject(&n, c, "runtimeConfig", "{\"a\":[1,2]}", NULL) == 0)
			cni_conf_free(n);
		if (cni_conf_valid_attachments(c, &count, &present, NULL) == 0)
			for (size_t i = 0; i < count; i++)
				(void)strlen(strempty(cni_conf_valid_attachment_ifname(c, i)));
		if (cni_conf_get_json(c, "ipam", &json, NULL) == 0)
			free(json);
		cni_conf_free(c);
	}
	cni_error_free(e);
	return 0;
}
