/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sample: a chained plugin that passes the previous plugin's result on unchanged.
 *
 * It is the starting point for a new plugin (docs/sample-plugin.md walks through it):
 * copy this folder, rename the plugin, and put your work where the comments say. It uses
 * only the public libcni-c API (<cni/cni.h>) and jansson for its own config keys.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <cni/cni.h>

/* The config keys this plugin reads (besides the standard ones skel already checked). */
struct sample_conf {
	json_t *root;			 /* the parsed config; the strings below live in it */
	const char *cni_version;	 /* "" means 0.1.0 */
	const char *another_awesome_arg; /* required */
	bool my_awesome_flag;		 /* optional, false by default */
	cni_result *prev_result;	 /* NULL when the runtime sent none */
};

static void sample_conf_clear(struct sample_conf *conf)
{
	json_decref(conf->root);
	cni_result_free(conf->prev_result);
	memset(conf, 0, sizeof(*conf));
}

/* Parse stdin into conf. On failure conf holds nothing to free. */
static int parse_config(const cni_cmd_args *args, struct sample_conf *conf, cni_error **err)
{
	json_error_t jerr;
	json_t *v;
	int r;

	memset(conf, 0, sizeof(*conf));
	/* skel has checked the JSON as the Go reference does; jansson is stricter (invalid
	 * UTF-8, \u0000, out-of-range numbers), so this can still fail. */
	conf->root = json_loadb(args->stdin_data, args->stdin_len, 0, &jerr);
	if (!json_is_object(conf->root)) {
		json_decref(conf->root);
		conf->root = NULL;
		return cni_error_set(err, CNI_ERR_DECODING_FAILURE, NULL,
				     "failed to parse network configuration: %s", jerr.text);
	}

	v = json_object_get(conf->root, "cniVersion");
	conf->cni_version = json_is_string(v) ? json_string_value(v) : "";

	v = json_object_get(conf->root, "myAwesomeFlag");
	if (v && !json_is_boolean(v)) {
		r = cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				  "myAwesomeFlag must be a boolean");
		goto fail;
	}
	conf->my_awesome_flag = json_is_true(v);

	v = json_object_get(conf->root, "anotherAwesomeArg");
	if (!json_is_string(v) || json_string_length(v) == 0) {
		r = cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				  "anotherAwesomeArg must be specified");
		goto fail;
	}
	conf->another_awesome_arg = json_string_value(v);

	/* The previous plugin's result is in the config's own version. */
	v = json_object_get(conf->root, "prevResult");
	if (v && !json_is_null(v)) {
		char *text = json_dumps(v, JSON_COMPACT);
		if (!text) {
			r = cni_error_set(err, CNI_ERR_NOMEM, NULL, "out of memory");
			goto fail;
		}
		const char *version = conf->cni_version[0] ? conf->cni_version : "0.1.0";
		r = cni_result_from_json(&conf->prev_result, version, text, strlen(text), err);
		free(text);
		if (r < 0) {
			if (err)
				cni_error_prefix(*err, "could not parse prevResult");
			goto fail;
		}
	}
	return 0;
fail:
	sample_conf_clear(conf);
	return r;
}

/*
 * CNI_ARGS: the runtime's "K=V;K=V" extras. Declare the keys you understand; others fail
 * unless the runtime also passed IgnoreUnknown=1 (Kubernetes always does).
 */
static int parse_cni_args(const cni_cmd_args *args, bool *debug, cni_error **err)
{
	static const char *const known[] = {"K8S_POD_NAMESPACE", "K8S_POD_NAME", "SAMPLE_DEBUG",
					    NULL};
	cni_args *a = NULL;
	int r = cni_args_parse(&a, args->args, err);
	if (r == 0)
		r = cni_args_check_known(a, known, err);
	if (r == 0)
		r = cni_args_get_bool(a, "SAMPLE_DEBUG", false, debug, err);
	/* Plugins may log to stderr; stdout is for the result only. */
	const char *pod = cni_args_get(a, "K8S_POD_NAME");
	const char *ns = cni_args_get(a, "K8S_POD_NAMESPACE");
	if (r == 0 && *debug && pod)
		fprintf(stderr, "sample: pod %s/%s\n", ns ? ns : "", pod);
	cni_args_free(a);
	return r;
}

/* Config and CNI_ARGS, as every verb that gets an attachment needs them. */
static int load(const cni_cmd_args *args, struct sample_conf *conf, cni_error **err)
{
	bool debug = false;
	int r = parse_config(args, conf, err);
	if (r < 0)
		return r;
	r = parse_cni_args(args, &debug, err);
	if (r < 0) {
		sample_conf_clear(conf);
		return r;
	}
	if (debug)
		fprintf(stderr, "sample: %s on %s, anotherAwesomeArg=%s, myAwesomeFlag=%s\n",
			args->command, args->ifname, conf->another_awesome_arg,
			conf->my_awesome_flag ? "true" : "false");
	return 0;
}

/* A chained plugin needs the previous result, with at least one IP to work on. */
static int require_prev_result(const struct sample_conf *conf, cni_error **err)
{
	if (!conf->prev_result)
		return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				     "must be called as chained plugin");
	if (cni_result_ip_count(conf->prev_result) == 0)
		return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				     "got no container IPs");
	return 0;
}

static int cmd_add(const cni_cmd_args *args, cni_result **result, cni_error **err, void *userdata)
{
	struct sample_conf conf;
	int r = load(args, &conf, err);
	if (r < 0)
		return r;
	r = require_prev_result(&conf, err);
	/* Work on the newest result version; skel prints it in the config's version. */
	if (r == 0)
		r = cni_result_convert(result, conf.prev_result, cni_version_current(), err);

	/* Implement your plugin here: change the sandbox, then amend *result. */

	sample_conf_clear(&conf);
	return r;
}

static int cmd_check(const cni_cmd_args *args, cni_error **err, void *userdata)
{
	struct sample_conf conf;
	int r = load(args, &conf, err);
	if (r < 0)
		return r;
	r = require_prev_result(&conf, err);

	/* Check here that what ADD set up is still in place; fail if it is not. */

	sample_conf_clear(&conf);
	return r;
}

static int cmd_del(const cni_cmd_args *args, cni_error **err, void *userdata)
{
	struct sample_conf conf;
	int r = load(args, &conf, err);
	if (r < 0)
		return r;

	/* Undo ADD here. DEL must succeed when there is nothing left to undo, and
	 * prevResult may be missing. */

	sample_conf_clear(&conf);
	return 0;
}

static int cmd_gc(const cni_cmd_args *args, cni_error **err, void *userdata)
{
	/* Remove state of attachments not listed in "cni.dev/valid-attachments".
	 * This plugin keeps no state, so there is nothing to collect. */
	return 0;
}

static int cmd_status(const cni_cmd_args *args, cni_error **err, void *userdata)
{
	/* Fail with CNI_ERR_PLUGIN_NOT_AVAILABLE when ADD could not succeed now. */
	return 0;
}

int main(void)
{
	cni_plugin_funcs funcs = CNI_PLUGIN_FUNCS_INIT;
	funcs.add = cmd_add;
	funcs.check = cmd_check;
	funcs.del = cmd_del;
	funcs.gc = cmd_gc;
	funcs.status = cmd_status;
	return cni_plugin_main(&funcs, NULL, "CNI sample plugin " LIBCNI_C_VERSION);
}
