/* SPDX-License-Identifier: Apache-2.0 */
/* etcd v3 JSON gateway client over libcurl. */

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "etcd.h"

/* rounds over the member list before giving up */
#define ETCD_ROUNDS 3

struct etcd {
	char **urls;
	size_t nurls, preferred;
	etcd_opts o;
	char *token; /* auth token when a user is set */
	char *strs[7]; /* owned copies of the option strings (o points at them) */
	CURL *curl;
	bool serializable; /* reads answered by the member itself (etcd_set_serializable) */
};

struct etcd_txn {
	json_t *compare, *success;
};

/* ---- base64 ------------------------------------------------------------------------ */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *b64_encode(const char *s, size_t n)
{
	char *out = malloc(4 * ((n + 2) / 3) + 1), *p = out;

	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)(unsigned char)s[i] << 16;

		if (i + 1 < n)
			v |= (uint32_t)(unsigned char)s[i + 1] << 8;
		if (i + 2 < n)
			v |= (unsigned char)s[i + 2];
		*p++ = b64[(v >> 18) & 63];
		*p++ = b64[(v >> 12) & 63];
		*p++ = i + 1 < n ? b64[(v >> 6) & 63] : '=';
		*p++ = i + 2 < n ? b64[v & 63] : '=';
	}
	*p = 0;
	return out;
}

static char *b64_decode(const char *s)
{
	size_t n = strlen(s);
	char *out = malloc(n / 4 * 3 + 1), *p = out;
	uint32_t v = 0;
	int bits = 0;

	if (!out)
		return NULL;
	for (size_t i = 0; i < n && s[i] != '='; i++) {
		const char *c = strchr(b64, s[i]);

		if (!c || !*c) {
			free(out);
			return NULL;
		}
		v = (v << 6) | (uint32_t)(c - b64);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			*p++ = (char)((v >> bits) & 0xff);
		}
	}
	*p = 0;
	return out;
}

static json_t *b64_json(const char *s)
{
	char *e = b64_encode(s, strlen(s));
	json_t *j = e ? json_string(e) : NULL;

	free(e);
	return j;
}

/* ---- transport --------------------------------------------------------------------- */

static size_t collect(char *data, size_t size, size_t n, void *ud)
{
	char **buf = ud;
	size_t old = *buf ? strlen(*buf) : 0, add = size * n;
	char *nb = realloc(*buf, old + add + 1);

	if (!nb)
		return 0;
	memcpy(nb + old, data, add);
	nb[old + add] = 0;
	*buf = nb;
	return add;
}

/* One POST to one URL; 0 and *out set on HTTP 200, <0 otherwise with *why filled. */
static int post_one(etcd *e, const char *url, const char *path, const char *body,
		    char **out, long *status, char *why, size_t whylen)
{
	char full[1024], auth[1200];
	struct curl_slist *h = NULL;
	char *buf = NULL;
	CURLcode c;

	snprintf(full, sizeof(full), "%s%s", url, path);
	curl_easy_reset(e->curl);
	curl_easy_setopt(e->curl, CURLOPT_URL, full);
	curl_easy_setopt(e->curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(e->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e->curl, CURLOPT_CONNECTTIMEOUT_MS, e->o.connect_timeout_ms);
	curl_easy_setopt(e->curl, CURLOPT_TIMEOUT_MS, e->o.timeout_ms);
	curl_easy_setopt(e->curl, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(e->curl, CURLOPT_WRITEDATA, &buf);
	curl_easy_setopt(e->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	h = curl_slist_append(h, "Content-Type: application/json");
	if (e->token) {
		snprintf(auth, sizeof(auth), "Authorization: %s", e->token);
		h = curl_slist_append(h, auth);
	}
	curl_easy_setopt(e->curl, CURLOPT_HTTPHEADER, h);
	if (e->o.ca_file && *e->o.ca_file)
		curl_easy_setopt(e->curl, CURLOPT_CAINFO, e->o.ca_file);
	if (e->o.cert_file && *e->o.cert_file)
		curl_easy_setopt(e->curl, CURLOPT_SSLCERT, e->o.cert_file);
	if (e->o.key_file && *e->o.key_file)
		curl_easy_setopt(e->curl, CURLOPT_SSLKEY, e->o.key_file);
	c = curl_easy_perform(e->curl);
	curl_slist_free_all(h);
	*status = 0;
	if (c != CURLE_OK) {
		snprintf(why, whylen, "%s: %s", url, curl_easy_strerror(c));
		free(buf);
		return -1;
	}
	curl_easy_getinfo(e->curl, CURLINFO_RESPONSE_CODE, status);
	if (*status != 200) {
		snprintf(why, whylen, "%s: HTTP %ld: %.200s", url, *status, buf ? buf : "");
		free(buf);
		return -1;
	}
	*out = buf ? buf : strdup("{}");
	return *out ? 0 : -1;
}

/* POST to the preferred member, then the others; a member that answered with an HTTP
 * error (not a transport failure) is final: the request reached the cluster. req is taken
 * (NULL: building it ran out of memory). */
static int authenticate(etcd *e, cni_error **err);

static int post(etcd *e, const char *path, json_t *req, json_t **resp, cni_error **err)
{
	char *body = req ? json_dumps(req, JSON_COMPACT) : NULL, why[512] = "", *out = NULL;
	json_error_t je;
	long status = 0;
	bool reauthed = false;

	json_decref(req);
	if (!body)
		return cni_error_oom(err);
	/* A few rounds over all members: a 5xx ("leader changed" while a new leader is
	 * elected) or a transport failure moves on, a 4xx is final. Repeating a txn is safe:
	 * its compares fail if the first attempt was applied. */
	for (int round = 0; round < ETCD_ROUNDS && !out; round++) {
		if (round)
			usleep(200000 * (useconds_t)round);
		for (size_t k = 0; k < e->nurls; k++) {
			size_t i = (e->preferred + k) % e->nurls;

			if (post_one(e, e->urls[i], path, body, &out, &status, why, sizeof(why)) ==
			    0) {
				e->preferred = i;
				break;
			}
			/* a token expired while a resident client idled (etcd drops simple
			 * tokens after minutes without use): authenticate again, once */
			if (status == 401 && e->token && strcmp(path, "/v3/auth/authenticate") &&
			    !reauthed) {
				reauthed = true;
				free(e->token);
				e->token = NULL;
				if (authenticate(e, err) == 0) {
					k--;
					continue;
				}
				free(body);
				return -1;
			}
			if (status >= 400 && status < 500) {
				round = ETCD_ROUNDS;
				break;
			}
		}
	}
	free(body);
	if (!out)
		return cni_error_set(err, CNI_ERR_TRY_AGAIN_LATER, NULL,
				     "etcd not reachable (endpoints %s): %s", e->o.endpoints, why);
	*resp = json_loads(out, 0, &je);
	free(out);
	if (!*resp)
		return cni_error_set(err, CNI_ERR_DECODING_FAILURE, NULL,
				     "etcd answered with bad JSON: %s", je.text);
	return 0;
}

static int authenticate(etcd *e, cni_error **err)
{
	json_t *req = json_pack("{s:s,s:s}", "name", e->o.username, "password",
				e->o.password ? e->o.password : "");
	json_t *resp = NULL;
	const char *tok;
	int r;

	r = post(e, "/v3/auth/authenticate", req, &resp, err);
	if (r < 0)
		return r;
	tok = json_string_value(json_object_get(resp, "token"));
	if (tok)
		e->token = strdup(tok);
	json_decref(resp);
	if (!e->token)
		return cni_error_set(err, CNI_ERR_IO_FAILURE, NULL,
				     "etcd authentication of user %s gave no token", e->o.username);
	return 0;
}

int etcd_open(etcd **out, const etcd_opts *o, cni_error **err)
{
	etcd *e = calloc(1, sizeof(*e));
	char *list, *save = NULL;

	if (!e)
		return cni_error_oom(err);
	e->o = *o;
	{
		const char **f[] = {&e->o.endpoints, &e->o.ca_file,  &e->o.cert_file,
				    &e->o.key_file,  &e->o.username, &e->o.password};

		for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
			e->strs[i] = *f[i] ? strdup(*f[i]) : NULL;
			if (*f[i] && !e->strs[i]) {
				etcd_close(e);
				return cni_error_oom(err);
			}
			*f[i] = e->strs[i];
		}
	}
	list = strdup(o->endpoints ? o->endpoints : "");
	e->urls = calloc(strlen(list ? list : "") / 2 + 2, sizeof(char *));
	if (!list || !e->urls) {
		free(list);
		etcd_close(e);
		return cni_error_oom(err);
	}
	for (char *t = strtok_r(list, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
		size_t l = strlen(t);

		while (l && t[l - 1] == '/')
			t[--l] = 0;
		if (strncmp(t, "http://", 7) && strncmp(t, "https://", 8)) {
			int r = cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
					      "etcd_endpoints: bad URL \"%s\"", t);

			free(list);
			etcd_close(e);
			return r;
		}
		e->urls[e->nurls++] = strdup(t);
	}
	free(list);
	if (e->nurls == 0) {
		etcd_close(e);
		return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				     "etcd_endpoints: no endpoint given");
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	e->curl = curl_easy_init();
	if (!e->curl) {
		etcd_close(e);
		return cni_error_set(err, CNI_ERR_NOMEM, NULL, "curl_easy_init failed");
	}
	if (o->username && *o->username && authenticate(e, err) < 0) {
		etcd_close(e);
		return -1;
	}
	*out = e;
	return 0;
}

void etcd_close(etcd *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->nurls; i++)
		free(e->urls[i]);
	free(e->urls);
	free(e->token);
	for (size_t i = 0; i < sizeof(e->strs) / sizeof(e->strs[0]); i++)
		free(e->strs[i]);
	if (e->curl)
		curl_easy_cleanup(e->curl);
	free(e);
}

void etcd_kvs_clear(etcd_kvs *k)
{
	for (size_t i = 0; i < k->n; i++) {
		free(k->kv[i].key);
		free(k->kv[i].value);
	}
	free(k->kv);
	memset(k, 0, sizeof(*k));
}

char *etcd_prefix_end(const char *prefix)
{
	char *s = strdup(prefix);
	size_t l = s ? strlen(s) : 0;

	if (l)
		s[l - 1]++;
	return s;
}

static int64_t rev_of(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? strtoll(s, NULL, 10) : 0;
}

int etcd_range(etcd *e, const char *key, const char *range_end, bool keys_only,
	       bool count_only, etcd_kvs *out, cni_error **err)
{
	json_t *req = json_object(), *resp = NULL, *kvs;
	size_t i;
	json_t *kv;
	int r;

	memset(out, 0, sizeof(*out));
	if (!req)
		return cni_error_oom(err);
	json_object_set_new(req, "key", b64_json(key));
	if (range_end)
		json_object_set_new(req, "range_end", b64_json(range_end));
	if (keys_only)
		json_object_set_new(req, "keys_only", json_true());
	if (count_only)
		json_object_set_new(req, "count_only", json_true());
	if (e->serializable)
		json_object_set_new(req, "serializable", json_true());
	r = post(e, "/v3/kv/range", req, &resp, err);
	if (r < 0)
		return r;
	out->count = rev_of(resp, "count");
	kvs = json_object_get(resp, "kvs");
	out->kv = calloc(json_array_size(kvs) + 1, sizeof(*out->kv));
	if (!out->kv) {
		json_decref(resp);
		return cni_error_oom(err);
	}
	json_array_foreach(kvs, i, kv) {
		const char *k = json_string_value(json_object_get(kv, "key"));
		const char *v = json_string_value(json_object_get(kv, "value"));
		etcd_kv *d = &out->kv[out->n++];

		d->key = b64_decode(k ? k : "");
		d->value = b64_decode(v ? v : "");
		d->mod_revision = rev_of(kv, "mod_revision");
		d->create_revision = rev_of(kv, "create_revision");
		if (!d->key || !d->value) {
			json_decref(resp);
			etcd_kvs_clear(out);
			return cni_error_set(err, CNI_ERR_DECODING_FAILURE, NULL,
					     "etcd answered with bad base64");
		}
	}
	json_decref(resp);
	return 0;
}

etcd_txn *etcd_txn_new(void)
{
	etcd_txn *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->compare = json_array();
	t->success = json_array();
	if (!t->compare || !t->success) {
		etcd_txn_free(t);
		return NULL;
	}
	return t;
}

void etcd_txn_free(etcd_txn *t)
{
	if (!t)
		return;
	json_decref(t->compare);
	json_decref(t->success);
	free(t);
}

int etcd_txn_compare(etcd_txn *t, const char *key, etcd_cmp_target target, int64_t rev,
		     const char *value)
{
	json_t *c = json_object();
	char buf[32];

	if (!c)
		return -1;
	json_object_set_new(c, "key", b64_json(key));
	json_object_set_new(c, "result", json_string("EQUAL"));
	snprintf(buf, sizeof(buf), "%lld", (long long)rev);
	switch (target) {
	case ETCD_CMP_CREATE_REV:
		json_object_set_new(c, "target", json_string("CREATE"));
		json_object_set_new(c, "create_revision", json_string(buf));
		break;
	case ETCD_CMP_MOD_REV:
		json_object_set_new(c, "target", json_string("MOD"));
		json_object_set_new(c, "mod_revision", json_string(buf));
		break;
	case ETCD_CMP_VALUE:
		json_object_set_new(c, "target", json_string("VALUE"));
		json_object_set_new(c, "value", b64_json(value));
		break;
	}
	return json_array_append_new(t->compare, c);
}

int etcd_txn_put(etcd_txn *t, const char *key, const char *value)
{
	json_t *op = json_pack("{s:{s:o,s:o}}", "request_put", "key", b64_json(key), "value",
			       b64_json(value));

	return op ? json_array_append_new(t->success, op) : -1;
}

int etcd_txn_delete(etcd_txn *t, const char *key)
{
	json_t *op = json_pack("{s:{s:o}}", "request_delete_range", "key", b64_json(key));

	return op ? json_array_append_new(t->success, op) : -1;
}

int etcd_txn_commit(etcd *e, etcd_txn *t, bool *ok, cni_error **err)
{
	json_t *req = json_pack("{s:O,s:O}", "compare", t->compare, "success", t->success);
	json_t *resp = NULL;
	int r;

	r = post(e, "/v3/kv/txn", req, &resp, err);
	if (r < 0)
		return r;
	*ok = json_is_true(json_object_get(resp, "succeeded"));
	json_decref(resp);
	return 0;
}

void etcd_set_serializable(etcd *e, bool on)
{
	e->serializable = on;
}
