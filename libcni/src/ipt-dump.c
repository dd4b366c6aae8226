/* SPDX-License-Identifier: Apache-2.0 */
/*
 * iptables-save dumps, read once for everyone: ipmasq, portmap and firewall look up the
 * chains and rules already there before they write a restore batch.
 */
#include "internal.h"
#include "buf-internal.h"
#include "error-internal.h"

typedef struct ipt_line {
	const char *text;		     /* into the dump's copy */
	char *chain, *target, *comment; /* rules only ("-A ..."), else NULL */
} ipt_line;

struct cni_ipt_dump {
	char *text;
	ipt_line *lines;
	size_t n;
};

/*
 * The words of a rule line, with iptables-save's quoting ("..." with \" and \\ escapes)
 * undone. *out new (cni_strv_free()).
 */
static int tokenize(const char *line, char ***out)
{
	char **v = NULL;
	cni_buf tok = CNI_BUF_INIT;
	const char *p = line;

	while (*p) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		bool quoted = false;
		tok.len = 0;
		for (; *p && (quoted || (*p != ' ' && *p != '\t')); p++) {
			if (*p == '"') {
				quoted = !quoted;
				continue;
			}
			if (quoted && *p == '\\' && p[1])
				p++;
			if (cni_buf_append(&tok, p, 1) < 0)
				goto fail;
		}
		if (cni_buf_append(&tok, "", 0) < 0 || cni_strv_push(&v, tok.data ? tok.data : "") < 0)
			goto fail;
	}
	cni_buf_free(&tok);
	if (!v && !(v = calloc(1, sizeof(*v))))
		return -CNI_ERR_NOMEM;
	*out = v;
	return 0;
fail:
	cni_buf_free(&tok);
	cni_strv_free(v);
	return -CNI_ERR_NOMEM;
}

/* Chain, target and comment of a "-A <chain> ..." line. */
static int parse_rule(ipt_line *l)
{
	_cleanup_strv_ char **t = NULL;
	const char *target = "", *comment = NULL;
	if (tokenize(l->text, &t) < 0)
		return -CNI_ERR_NOMEM;
	size_t n = cni_strv_length(t);
	if (n < 2)
		return 0; /* "-A" alone: not a rule we can read */
	for (size_t i = 2; i + 1 < n; i++) {
		if (streq(t[i], "-j") || streq(t[i], "-g"))
			target = t[i + 1];
		else if (streq(t[i], "--comment"))
			comment = t[i + 1];
	}
	l->chain = strdup(t[1]);
	l->target = strdup(target);
	l->comment = comment ? strdup(comment) : NULL;
	if (!l->chain || !l->target || (comment && !l->comment))
		return -CNI_ERR_NOMEM;
	return 0;
}

void cni_ipt_dump_free(cni_ipt_dump *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++) {
		free(d->lines[i].chain);
		free(d->lines[i].target);
		free(d->lines[i].comment);
	}
	free(d->lines);
	free(d->text);
	free(d);
}

int cni_ipt_dump_parse(const char *text, const char *table, cni_ipt_dump **out,
		       cni_error **err)
{
	if (!text || !out)
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL,
				     "cni_ipt_dump_parse: no text or no out");
	cni_ipt_dump *d = calloc(1, sizeof(*d));
	size_t cap = 1;
	for (const char *p = text; *p; p++)
		cap += *p == '\n';
	if (!d || !(d->text = strdup(text)) || !(d->lines = calloc(cap, sizeof(*d->lines)))) {
		cni_ipt_dump_free(d);
		return cni_error_oom(err);
	}
	bool in_table = !table;
	char *save = NULL;
	for (char *l = strtok_r(d->text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (table && l[0] == '*')
			in_table = streq(l + 1, table);
		if (!in_table)
			continue;
		ipt_line *il = &d->lines[d->n++];
		il->text = l;
		if (strncmp(l, "-A ", 3) == 0 && parse_rule(il) < 0) {
			cni_ipt_dump_free(d);
			return cni_error_oom(err);
		}
	}
	*out = d;
	return 0;
}

int cni_ipt_dump_read(int family, const char *table, cni_ipt_dump **out, cni_error **err)
{
	_cleanup_free_ char *text = NULL;
	int r = cni_iptables_save(family, table, &text, err);
	return r < 0 ? r : cni_ipt_dump_parse(text, table, out, err);
}

size_t cni_ipt_dump_line_count(const cni_ipt_dump *d)
{
	return d ? d->n : 0;
}

const char *cni_ipt_dump_line(const cni_ipt_dump *d, size_t i)
{
	return d && i < d->n ? d->lines[i].text : NULL;
}

bool cni_ipt_dump_rule(const cni_ipt_dump *d, size_t i, const char **chain, const char **target,
		       const char **comment)
{
	if (!d || i >= d->n || !d->lines[i].chain)
		return false;
	if (chain)
		*chain = d->lines[i].chain;
	if (target)
		*target = d->lines[i].target;
	if (comment)
		*comment = d->lines[i].comment;
	return true;
}

bool cni_ipt_dump_has_chain(const cni_ipt_dump *d, const char *chain)
{
	size_t cl = chain ? strlen(chain) : 0;
	for (size_t i = 0; cl && i < cni_ipt_dump_line_count(d); i++) {
		const char *l = d->lines[i].text;
		if (l[0] == ':' && strncmp(l + 1, chain, cl) == 0 && l[1 + cl] == ' ')
			return true;
	}
	return false;
}

bool cni_ipt_dump_has_line(const cni_ipt_dump *d, const char *line)
{
	for (size_t i = 0; line && i < cni_ipt_dump_line_count(d); i++)
		if (streq(d->lines[i].text, line))
			return true;
	return false;
}
