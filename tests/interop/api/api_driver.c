/* SPDX-License-Identifier: Apache-2.0 */
/*
 * api-driver: our runtime API from the command line, mirroring go_driver.go (the same
 * verbs and flags on the reference libcni), so api_interop.sh can run both on one cache.
 *
 *   api-driver VERB LIST [-p dirs] [-c cachedir] [-i id] [-f ifname] [-n netns]
 *              [-a K=V]... [-C capsjson] [-v id/ifname]... [-t timeout_ms]
 *   VERB: add check del cached-result cached-config gc status validate
 *
 * Results print as JSON on stdout ("null" when nothing is cached); errors print the
 * spec's error JSON on stdout and exit 1; usage errors exit 2.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cni/cni.h"

#define MAX_ITEMS 32

static int fail(cni_error *e)
{
	char *j = NULL;
	if (e && cni_error_to_json(e, NULL, &j) == 0)
		printf("%s\n", j);
	else
		printf("{\"code\":999,\"msg\":\"unknown error\"}\n");
	cni_free(j);
	cni_error_free(e);
	return 1;
}

static int print_result(cni_result *r)
{
	char *j = NULL;
	if (!r) {
		printf("null\n");
		return 0;
	}
	if (cni_result_to_json(r, &j, NULL) < 0)
		return 1;
	printf("%s\n", j);
	cni_free(j);
	return 0;
}

static int print_attachment(cni_attachment *a)
{
	json_t *o, *args;
	size_t len = 0;
	const char *cfg, *caps;
	char *text;

	if (!a) {
		printf("null\n");
		return 0;
	}
	cfg = cni_attachment_config(a, &len);
	caps = cni_attachment_capability_args(a);
	args = json_array();
	for (size_t i = 0; i < cni_attachment_arg_count(a); i++)
		json_array_append_new(args, json_pack("[ss]", cni_attachment_arg_key(a, i),
						      cni_attachment_arg_value(a, i)));
	o = json_pack("{s:s%,s:o,s:o,s:s}", "config", cfg ? cfg : "", cfg ? len : 0, "cniArgs",
		      json_array_size(args) ? args : (json_decref(args), json_null()),
		      "capabilityArgs", caps ? json_loads(caps, 0, NULL) : json_null(), "netns",
		      cni_attachment_netns(a));
	text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	printf("%s\n", text);
	free(text);
	json_decref(o);
	return 0;
}

int main(int argc, char **argv)
{
	const char *dirs = "/usr/lib/cni", *cache = NULL, *caps = NULL;
	const char *args_flat[MAX_ITEMS][2];
	cni_gc_attachment valid[MAX_ITEMS];
	char *args_copy[MAX_ITEMS], *valid_copy[MAX_ITEMS];
	size_t n_args = 0, n_valid = 0;
	bool have_valid = false;
	unsigned long timeout = 0;
	cni_runtime_conf rt = CNI_RUNTIME_CONF_INIT;
	cni_config_options o = CNI_CONFIG_OPTIONS_INIT;
	cni_config *cfg = NULL;
	cni_conflist *list = NULL;
	cni_error *e = NULL;
	char **path = NULL, *dcopy;
	int c, rc = 0;

	rt.container_id = "";
	rt.ifname = "";
	while ((c = getopt(argc, argv, "p:c:i:f:n:a:C:v:t:")) != -1) {
		switch (c) {
		case 'p':
			dirs = optarg;
			break;
		case 'c':
			cache = optarg;
			break;
		case 'i':
			rt.container_id = optarg;
			break;
		case 'f':
			rt.ifname = optarg;
			break;
		case 'n':
			rt.netns = optarg;
			break;
		case 'C':
			caps = optarg;
			break;
		case 't':
			timeout = strtoul(optarg, NULL, 10);
			break;
		case 'a': {
			char *eq;
			if (n_args == MAX_ITEMS || !(eq = strchr(optarg, '=')))
				return 2;
			args_copy[n_args] = strdup(optarg);
			eq = args_copy[n_args] + (eq - optarg);
			*eq = '\0';
			args_flat[n_args][0] = args_copy[n_args];
			args_flat[n_args][1] = eq + 1;
			n_args++;
			break;
		}
		case 'v': {
			char *sl;
			have_valid = true;
			if (n_valid == MAX_ITEMS || !(sl = strchr(optarg, '/')))
				return 2;
			valid_copy[n_valid] = strdup(optarg);
			sl = valid_copy[n_valid] + (sl - optarg);
			*sl = '\0';
			valid[n_valid].container_id = valid_copy[n_valid];
			valid[n_valid].ifname = sl + 1;
			n_valid++;
			break;
		}
		default:
			return 2;
		}
	}
	if (argc - optind != 2) {
		fprintf(stderr, "usage: %s VERB LIST [options]\n", argv[0]);
		return 2;
	}
	const char *verb = argv[optind], *file = argv[optind + 1];
	rt.args = args_flat;
	rt.n_args = n_args;
	rt.capability_args = caps;

	/* -p takes a CNI_PATH-style list. */
	dcopy = strdup(dirs);
	for (char *tok = strtok(dcopy, ":"); tok; tok = strtok(NULL, ":")) {
		size_t n = 0;
		while (path && path[n])
			n++;
		path = realloc(path, (n + 2) * sizeof(char *));
		path[n] = strdup(tok);
		path[n + 1] = NULL;
	}
	o.path = (const char *const *)path;
	o.cache_dir = cache;
	o.timeout_ms = (unsigned int)timeout;
	if (cni_config_new(&cfg, &o, &e) < 0 || cni_conflist_from_file(&list, file, &e) < 0) {
		rc = fail(e);
		goto out;
	}

	if (!strcmp(verb, "add")) {
		cni_result *r = NULL;
		rc = cni_add_network_list(cfg, list, &rt, &r, &e) < 0 ? fail(e) : print_result(r);
		cni_result_free(r);
	} else if (!strcmp(verb, "check")) {
		rc = cni_check_network_list(cfg, list, &rt, &e) < 0 ? fail(e) : 0;
	} else if (!strcmp(verb, "del")) {
		rc = cni_del_network_list(cfg, list, &rt, &e) < 0 ? fail(e) : 0;
	} else if (!strcmp(verb, "cached-result")) {
		cni_result *r = NULL;
		rc = cni_get_network_list_cached_result(cfg, list, &rt, &r, &e) < 0
			 ? fail(e)
			 : print_result(r);
		cni_result_free(r);
	} else if (!strcmp(verb, "cached-config")) {
		cni_attachment *a = NULL;
		rc = cni_get_network_list_cached_config(cfg, list, &rt, &a, &e) < 0
			 ? fail(e)
			 : print_attachment(a);
		cni_attachment_free(a);
	} else if (!strcmp(verb, "gc")) {
		rc = cni_gc_network_list(cfg, list, have_valid ? valid : NULL, n_valid, &e) < 0
			 ? fail(e)
			 : 0;
	} else if (!strcmp(verb, "status")) {
		rc = cni_get_status_network_list(cfg, list, &e) < 0 ? fail(e) : 0;
	} else if (!strcmp(verb, "validate")) {
		char **caps_out = NULL;
		rc = cni_validate_network_list(cfg, list, &caps_out, &e) < 0 ? fail(e) : 0;
		for (char **p = caps_out; p && *p; p++)
			printf("%s\n", *p);
		cni_strv_free(caps_out);
	} else {
		fprintf(stderr, "unknown verb %s\n", verb);
		rc = 2;
	}
out:
	cni_conflist_free(list);
	cni_config_free(cfg);
	for (size_t i = 0; path && path[i]; i++)
		free(path[i]);
	free(path);
	free(dcopy);
	for (size_t i = 0; i < n_args; i++)
		free(args_copy[i]);
	for (size_t i = 0; i < n_valid; i++)
		free(valid_copy[i]);
	return rc;
}
