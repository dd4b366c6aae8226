/* SPDX-License-Identifier: Apache-2.0 */
/* Paths as text: lexical cleaning, as Go's filepath.Clean, for names the reference builds. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

char *cni_path_clean(const char *path)
{
	if (!path)
		return NULL;
	bool rooted = path[0] == '/';
	/* never longer than path, but for the "." an empty one becomes */
	char *out = malloc(strlen(path) + 2);
	size_t w = 0, keep = 0; /* out[0, keep) is never taken back by a ".." */

	if (!out)
		return NULL;
	if (rooted)
		out[w++] = '/';
	keep = w;
	for (const char *s = path; *s;) {
		size_t n = strcspn(s, "/");
		if (n == 0 || (n == 1 && s[0] == '.')) {
			/* an empty element (repeated '/') or ".": nothing */
		} else if (n == 2 && s[0] == '.' && s[1] == '.') {
			if (w > keep) {
				/* drop the last element and the '/' before it */
				while (w > keep && out[w - 1] != '/')
					w--;
				if (w > keep)
					w--;
			} else if (!rooted) {
				/* a relative path keeps the ".." it cannot resolve; "/.." is "/" */
				if (w > 0)
					out[w++] = '/';
				out[w++] = '.';
				out[w++] = '.';
				keep = w;
			}
		} else {
			if (w > (rooted ? 1u : 0u))
				out[w++] = '/';
			memcpy(out + w, s, n);
			w += n;
		}
		s += n;
		if (*s)
			s++;
	}
	if (w == 0)
		out[w++] = '.';
	out[w] = '\0';
	return out;
}
