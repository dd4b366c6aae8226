/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Standalone driver: feeds every regular file under the given paths (recursively) to
 * LLVMFuzzerTestOneInput, so corpora are replayed as ordinary tests without libFuzzer.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t ran;

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rbe");
	if (!f) {
		perror(path);
		return -1;
	}
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0;
	for (;;) {
		if (len == cap) {
			cap = cap ? cap * 2 : 4096;
			uint8_t *nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				fclose(f);
				return -1;
			}
			buf = nb;
		}
		size_t n = fread(buf + len, 1, cap - len, f);
		if (n == 0)
			break;
		len += n;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, len);
	/* every prefix too: truncated inputs are the commonest malformed ones */
	for (size_t cut = 0; cut < len; cut += len / 8 + 1)
		LLVMFuzzerTestOneInput(buf, cut);
	free(buf);
	ran++;
	return 0;
}

static int walk(const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		perror(path);
		return -1;
	}
	if (S_ISREG(st.st_mode))
		return run_file(path);
	if (!S_ISDIR(st.st_mode))
		return 0;
	struct dirent **names = NULL;
	int n = scandir(path, &names, NULL, alphasort);
	if (n < 0) {
		perror(path);
		return -1;
	}
	int r = 0;
	for (int i = 0; i < n; i++) {
		if (names[i]->d_name[0] != '.') {
			char sub[4096];
			snprintf(sub, sizeof(sub), "%s/%s", path, names[i]->d_name);
			if (walk(sub) < 0)
				r = -1;
		}
		free(names[i]);
	}
	free(names);
	return r;
}

int main(int argc, char **argv)
{
	int r = 0;
	for (int i = 1; i < argc; i++)
		if (walk(argv[i]) < 0)
			r = 1;
	printf("%zu inputs replayed\n", ran);
	if (ran == 0) {
		fprintf(stderr, "no inputs found\n");
		return 1;
	}
	return r;
}
