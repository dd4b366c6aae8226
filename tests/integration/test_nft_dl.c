/* SPDX-License-Identifier: Apache-2.0 */
/*
 * nft-dl.c: nftables reached through libnftables loaded on first use, and (registered a
 * second time with LIBCNI_C_NFT_EXEC=1) through nft(8); in a namespace of our own.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include <cni/cni.h>

#include "internal.h"
#include "nft-dl.h"
#include "nstest.h"

struct nft_case {
	const char *(*body)(struct nft_ctx *ctx); /* NULL when all went as expected */
	const char *failure;
};

/* Add a table, list it, with and without JSON and handles; a dry run adds nothing. */
static const char *tables(struct nft_ctx *ctx)
{
	if (cni_dl_nft_ctx_buffer_output(ctx) != 0 || cni_dl_nft_ctx_buffer_error(ctx) != 0)
		return "cannot buffer";
	if (cni_dl_nft_run_cmd_from_buffer(ctx, "add table inet cni_nftdl\n"
						"add chain inet cni_nftdl c\n") != 0)
		return "add failed";
	if (cni_dl_nft_run_cmd_from_buffer(ctx, "list table inet cni_nftdl") != 0)
		return "list failed";
	const char *out = cni_dl_nft_ctx_get_output_buffer(ctx);
	if (!strstr(out, "table inet cni_nftdl {") || !strstr(out, "chain c {"))
		return "list output lacks the table";
	if (strstr(out, "# handle"))
		return "handles without asking";

	cni_dl_nft_ctx_output_set_flags(ctx, NFT_CTX_OUTPUT_JSON | NFT_CTX_OUTPUT_HANDLE);
	if (cni_dl_nft_ctx_output_get_flags(ctx) != (NFT_CTX_OUTPUT_JSON | NFT_CTX_OUTPUT_HANDLE))
		return "flags not kept";
	if (cni_dl_nft_run_cmd_from_buffer(ctx, "list table inet cni_nftdl") != 0)
		return "JSON list failed";
	out = cni_dl_nft_ctx_get_output_buffer(ctx);
	if (!strstr(out, "{\"nftables\": [") || !strstr(out, "\"name\": \"cni_nftdl\"") ||
	    !strstr(out, "\"handle\":"))
		return "JSON output lacks the table or its handle";
	/* JSON in: the context reads it as such */
	if (cni_dl_nft_run_cmd_from_buffer(ctx, "{\"nftables\": [{\"add\": {\"chain\": "
						"{\"family\": \"inet\", \"table\": \"cni_nftdl\", "
						"\"name\": \"j\"}}}]}") != 0)
		return "JSON command failed";
	cni_dl_nft_ctx_output_set_flags(ctx, 0);

	cni_dl_nft_ctx_set_dry_run(ctx, true);
	if (cni_dl_nft_run_cmd_from_buffer(ctx, "add table inet cni_nftdl_dry") != 0)
		return "dry run failed";
	cni_dl_nft_ctx_set_dry_run(ctx, false);
	if (cni_dl_nft_run_cmd_from_buffer(ctx, "list tables") != 0)
		return "list tables failed";
	out = cni_dl_nft_ctx_get_output_buffer(ctx);
	if (!strstr(out, "table inet cni_nftdl\n"))
		return "table gone";
	if (strstr(out, "cni_nftdl_dry"))
		return "the dry run added its table";
	if (!strstr(out, "cni_nftdl") || strstr(out, "chain j"))
		return "unexpected listing";
	if (cni_dl_nft_run_cmd_from_buffer(ctx, "list chain inet cni_nftdl j") != 0)
		return "chain from JSON missing";
	return NULL;
}

/* A command nft rejects: -1, and the reason in the error buffer. */
static const char *errors(struct nft_ctx *ctx)
{
	if (cni_dl_nft_ctx_buffer_output(ctx) != 0 || cni_dl_nft_ctx_buffer_error(ctx) != 0)
		return "cannot buffer";
	if (cni_dl_nft_run_cmd_from_buffer(ctx, "add tabel inet x") != -1)
		return "a syntax error succeeded";
	if (!strstr(cni_dl_nft_ctx_get_error_buffer(ctx), "syntax error"))
		return "no syntax error reported";
	if (cni_dl_nft_run_cmd_from_buffer(ctx, "list table inet cni_no_such_table") != -1)
		return "listing a missing table succeeded";
	if (!strstr(cni_dl_nft_ctx_get_error_buffer(ctx), "No such file or directory"))
		return "no reason for the missing table";
	return NULL;
}

static int in_ns(void *userdata, cni_error **err)
{
	struct nft_case *c = userdata;
	(void)err;
	struct nft_ctx *ctx = cni_dl_nft_ctx_new(NFT_CTX_DEFAULT);
	if (!ctx) {
		c->failure = cni_dl_nft_error();
		return 0;
	}
	c->failure = c->body(ctx);
	cni_dl_nft_ctx_free(ctx);
	return 0;
}

static void run_case(const char *(*body)(struct nft_ctx *))
{
	NSTEST_NEED_NFT();
	const char *p = nstest_create();
	cni_netns *ns = NULL;
	struct nft_case c = {body, "not run"};
	assert_int_equal(cni_netns_open(p, &ns, NULL), 0);
	assert_int_equal(cni_netns_run(ns, in_ns, &c, NULL), 0);
	cni_netns_close(ns);
	if (c.failure)
		fail_msg("%s", c.failure);
	/* the host's ruleset was never touched: the table lives in the namespace only */
	assert_int_equal(system("nft list table inet cni_nftdl >/dev/null 2>&1"), 256);
}

static void test_tables(void **state)
{
	run_case(tables);
}

static void test_errors(void **state)
{
	run_case(errors);
}

static void test_loaded(void **state)
{
	assert_string_equal(cni_dl_nft_error(), "");
	cni_dl_nft_ctx_free(NULL);
}

/* No nft in $PATH: in exec mode the context cannot be made, and the reason says why. */
static void test_exec_without_nft(void **state)
{
	const char *force = getenv("LIBCNI_C_NFT_EXEC");
	if (!force || strcmp(force, "1") != 0)
		skip();
	char *old = strdup(getenv("PATH") ? getenv("PATH") : "");
	assert_int_equal(setenv("PATH", "/nonexistent", 1), 0);
	assert_null(cni_dl_nft_ctx_new(NFT_CTX_DEFAULT));
	assert_non_null(strstr(cni_dl_nft_error(), "nft not found in $PATH"));
	assert_int_equal(setenv("PATH", old, 1), 0);
	free(old);
	assert_string_equal(cni_dl_nft_error(), "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loaded),
		cmocka_unit_test(test_tables),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_exec_without_nft),
	};
	nstest_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
