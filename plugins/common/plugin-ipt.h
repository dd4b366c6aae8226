/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One table of iptables-save's output split into lines, for plugins that look up what is
 * there before writing an iptables-restore batch (internal, never installed).
 */
#ifndef CNI_PLUGIN_IPT_H
#define CNI_PLUGIN_IPT_H

#include <stdbool.h>
#include <stddef.h>

#include <cni/cni.h>

typedef struct ipt_saved {
	char *text;
	char **lines; /* borrowed into text */
	size_t n;
} ipt_saved;

/* iptables-save of table ("filter", "nat") for family into *s; free with ipt_saved_free.
 * On failure *s is empty (and safe to free). */
int ipt_save(int family, const char *table, ipt_saved *s, cni_error **err);
void ipt_saved_free(ipt_saved *s);
/* Does the dump declare chain (":<chain> ...")? */
bool ipt_has_chain(const ipt_saved *s, const char *chain);
/* Is line, exactly, one of its lines? */
bool ipt_has_line(const ipt_saved *s, const char *line);

#endif
