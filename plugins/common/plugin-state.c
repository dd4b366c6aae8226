/* SPDX-License-Identifier: Apache-2.0 */
#include "plugin-state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int ps_save(const char *path, const json_t *v, cni_error **err)
{
	const char *slash = strrchr(path, '/');
	if (slash && slash != path) {
		char *dir = strndup(path, (size_t)(slash - path));
		int r = dir ? cni_mkdir_p(dir, 0700, err)
			    : cni_error_oom(err);
		free(dir);
		if (r < 0)
			return r;
	}
	char *text = json_dumps(v, JSON_COMPACT);
	if (!text)
		return cni_error_oom(err);
	int r = cni_file_write_atomic(path, text, strlen(text), 0600, CNI_FILE_DURABLE, err);
	free(text);
	return r;
}

int ps_load(const char *path, json_t **out, cni_error **err)
{
	*out = NULL;
	FILE *f = fopen(path, "re");
	if (!f) {
		if (errno == ENOENT)
			return 0;
		return cni_error_set(err, CNI_ERR_IO_FAILURE, NULL, "failed to read %s: %s", path,
				     strerror(errno));
	}
	json_error_t je;
	json_t *v = json_loadf(f, 0, &je);
	fclose(f);
	if (!v)
		return cni_error_set(err, CNI_ERR_DECODING_FAILURE, NULL, "failed to parse %s: %s",
				     path, je.text);
	*out = v;
	return 0;
}

int ps_remove(const char *path, cni_error **err)
{
	return cni_file_remove(path, err);
}
