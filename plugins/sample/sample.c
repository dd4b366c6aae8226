/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sample: a chained plugin that passes the previous plugin's result on unchanged.
 *
 * It is the starting point for a new plugin (docs/sample-plugin.md walks through it):
 * copy this folder, rename the plugin, and put your work where the comments say. It uses
 * only the public libcni-c API (<cni/cni.h>), its own config keys included, so
 * `cc -o sample sample.c $(pkg-config --cflags --libs libcni-c)` builds it.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <cni/cni.h>

/* The config keys this plugin reads (besides the standard ones skel already checked). */
struct sample_conf {
	cni_conf *conf;			 /* the parsed config; the strings below live in it */
	const char *another_awesome_arg; /* required */
	bool my_awesome_flag;		 /* optional, false by default */
	cni_result *prev_result;	 /* NULL when the runtime sent none */
};

static void sample_conf_clear(struct sample_conf *conf)
{
	cni_conf_free(conf->conf);
	cni_result_free(conf->prev_result);
	memset(conf, 0, sizeof(*conf));
}

/* Parse stdin into conf. On failure conf holds nothing to free. */
static int parse_config(const cni_cmd_args *args, struct sample_conf *conf, cni_error **err)
{
	int r;

	memset(conf, 0, sizeof(*conf));
	r = cni_conf_from_bytes(&conf->conf, args->stdin_data, args->stdin_len, err);
	if (r < 0)
		return r;

	/* A value of the wrong type fails with code 7, naming the key. */
	r = cni_conf_get_bool(conf->conf, "myAwesomeFlag", false, &conf->my_awesome_flag, err);
	if (r < 0)
		goto fail;

	r = cni_conf_get_string(conf->conf, "anotherAwesomeArg", &conf->another_awesome_arg, err);
	if (r == 0 && (!conf->another_awesome_arg || !*conf->another_awesome_arg))
		r = cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				  "anotherAwesomeArg must be specified");
	if (r < 0)
		goto fail;

	/* The previous plugin's result, read in the config's own cniVersion. */
	r = cni_conf_prev_result(conf->conf, &conf->prev_result, err);
	if (r < 0) {
		cni_error_prefix(*err, "could not parse prevResult");
		goto fail;
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

/* userdata is cni_plugin_funcs.userdata; this plugin sets none (nor do most). */
static int cmd_add(const cni_cmd_args *args, cni_result **result, cni_error **err, void *userdata)
{
	struct sample_conf conf;
	(void)userdata;
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
	(void)userdata;
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
	(void)userdata;
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
	(void)args, (void)err, (void)userdata;
	/* Remove state of attachments not listed in "cni.dev/valid-attachments".
	 * This plugin keeps no state, so there is nothing to collect. */
	return 0;
}

static int cmd_status(const cni_cmd_args *args, cni_error **err, void *userdata)
{
	(void)args, (void)err, (void)userdata;
	/* Fail with CNI_ERR_PLUGIN_NOT_AVAILABLE when ADD could not succeed now. */
	return 0;
}

CNI_PLUGIN_MAIN("CNI sample plugin " LIBCNI_C_VERSION, .add = cmd_add, .check = cmd_check,
		.del = cmd_del, .gc = cmd_gc, .status = cmd_status)
