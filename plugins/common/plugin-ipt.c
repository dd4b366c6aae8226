/* SPDX-License-Identifier: Apache-2.0 */
#include <stdlib.h>
#include <string.h>

#include "plugin-ipt.h"

void ipt_saved_free(ipt_saved *s)
{
	free(s->lines);
	cni_free(s->text);
	memset(s, 0, sizeof(*s));
}

int ipt_save(int family, const char *table, ipt_saved *s, cni_error **err)
{
	memset(s, 0, sizeof(*s));
	int r = cni_iptables_save(family, table, &s->text, err);
	if (r < 0)
		return r;
	size_t cap = 1;
	for (char *p = s->text; *p; p++)
		cap += *p == '\n';
	if (!(s->lines = calloc(cap, sizeof(char *)))) {
		ipt_saved_free(s);
		return cni_error_oom(err);
	}
	char *sp = NULL;
	for (char *l = strtok_r(s->text, "\n", &sp); l; l = strtok_r(NULL, "\n", &sp))
		s->lines[s->n++] = l;
	return 0;
}

bool ipt_has_chain(const ipt_saved *s, const char *chain)
{
	size_t cl = strlen(chain);
	for (size_t i = 0; i < s->n; i++)
		if (s->lines[i][0] == ':' && !strncmp(s->lines[i] + 1, chain, cl) &&
		    s->lines[i][1 + cl] == ' ')
			return true;
	return false;
}

bool ipt_has_line(const ipt_saved *s, const char *line)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->lines[i], line))
			return true;
	return false;
}
