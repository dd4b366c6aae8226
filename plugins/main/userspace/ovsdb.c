/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OVSDB over its unix socket: one JSON-RPC request at a time. The server sends bare JSON
 * values with no framing, so the input is parsed as it arrives, one value at a time; an
 * "echo" from the server is answered, replies to other ids are dropped.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ovsdb.h"

struct ovsdb {
	int fd;
	char *path;
	long long deadline_ms;
	unsigned int next_id;
	char *buf;
	size_t len, cap;
};

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int ovsdb_open(ovsdb **out, const char *path, int timeout_ms, cni_error **err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path))
		return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				     "ovsdbSocket %s: path too long", path);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	ovsdb *db = calloc(1, sizeof(*db));
	if (!db || !(db->path = strdup(path))) {
		free(db);
		return cni_error_oom(err);
	}
	db->deadline_ms = now_ms() + timeout_ms;
	db->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (db->fd < 0 || connect(db->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		ovsdb_close(db);
		return cni_error_set(err, CNI_ERR_TRY_AGAIN_LATER, NULL,
				     "cannot connect to OVSDB at %s (is Open vSwitch running? "
				     "set ovsdbSocket): %s",
				     path, strerror(e));
	}
	*out = db;
	return 0;
}

void ovsdb_renew(ovsdb *db, int timeout_ms)
{
	db->deadline_ms = now_ms() + timeout_ms;
}

void ovsdb_close(ovsdb *db)
{
	if (!db)
		return;
	if (db->fd >= 0)
		close(db->fd);
	free(db->path);
	free(db->buf);
	free(db);
}

static int timed_out(ovsdb *db, cni_error **err)
{
	return cni_error_set(err, CNI_ERR_TRY_AGAIN_LATER, NULL,
			     "OVSDB at %s did not answer in time", db->path);
}

/* Wait for events on the socket until the deadline; 0 when ready. */
static int wait_fd(ovsdb *db, short events, cni_error **err)
{
	for (;;) {
		long long left = db->deadline_ms - now_ms();
		if (left <= 0)
			return timed_out(db, err);
		struct pollfd p = {.fd = db->fd, .events = events};
		int n = poll(&p, 1, (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return cni_error_set(err, CNI_ERR_IO_FAILURE, NULL, "OVSDB at %s: poll: %s",
					     db->path, strerror(errno));
	}
}

static int send_json(ovsdb *db, json_t *msg, cni_error **err)
{
	char *s = json_dumps(msg, JSON_COMPACT);
	if (!s)
		return cni_error_oom(err);
	size_t len = strlen(s), off = 0;
	int r = 0;
	while (off < len) {
		ssize_t n = send(db->fd, s + off, len - off, MSG_NOSIGNAL);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			if ((r = wait_fd(db, POLLOUT, err)) < 0)
				break;
			continue;
		}
		r = cni_error_set(err, CNI_ERR_IO_FAILURE, NULL, "OVSDB at %s: send: %s", db->path,
				  strerror(errno));
		break;
	}
	free(s);
	return r;
}

/* The next complete JSON value from the server (new reference). */
static int recv_json(ovsdb *db, json_t **out, cni_error **err)
{
	for (;;) {
		/* skip the white space between values */
		size_t skip = 0;
		while (skip < db->len && strchr(" \t\r\n", db->buf[skip]))
			skip++;
		memmove(db->buf, db->buf + skip, db->len - skip);
		db->len -= skip;
		if (db->len) {
			json_error_t je;
			json_t *v = json_loadb(db->buf, db->len, JSON_DISABLE_EOF_CHECK, &je);
			if (v) {
				size_t used = (size_t)je.position;
				memmove(db->buf, db->buf + used, db->len - used);
				db->len -= used;
				*out = v;
				return 0;
			}
			/* an error before the end of the data is a real one */
			if (je.position < (int)db->len && strstr(je.text, "premature") == NULL &&
			    strstr(je.text, "end of file") == NULL)
				return cni_error_set(err, CNI_ERR_DECODING_FAILURE, NULL,
						     "OVSDB at %s sent bad JSON: %s", db->path,
						     je.text);
		}
		if (db->cap - db->len < 4096) {
			size_t cap = db->cap ? db->cap * 2 : 8192;
			if (cap > (64u << 20))
				return cni_error_set(err, CNI_ERR_DECODING_FAILURE, NULL,
						     "OVSDB at %s: reply too large", db->path);
			char *b = realloc(db->buf, cap);
			if (!b)
				return cni_error_oom(err);
			db->buf = b;
			db->cap = cap;
		}
		ssize_t n = recv(db->fd, db->buf + db->len, db->cap - db->len, 0);
		if (n > 0) {
			db->len += (size_t)n;
			continue;
		}
		if (n == 0)
			return cni_error_set(err, CNI_ERR_IO_FAILURE, NULL,
					     "OVSDB at %s closed the connection", db->path);
		if (errno != EAGAIN && errno != EINTR)
			return cni_error_set(err, CNI_ERR_IO_FAILURE, NULL, "OVSDB at %s: recv: %s",
					     db->path, strerror(errno));
		int r = wait_fd(db, POLLIN, err);
		if (r < 0)
			return r;
	}
}

/* Send a request and wait for its reply's "result" (new reference). */
static int call(ovsdb *db, const char *method, json_t *params, json_t **result, cni_error **err)
{
	unsigned int id = ++db->next_id;
	json_t *req = json_pack("{s:s, s:o, s:I}", "method", method, "params", params, "id",
				(json_int_t)id);
	if (!req)
		return cni_error_oom(err);
	int r = send_json(db, req, err);
	json_decref(req);
	while (r == 0) {
		json_t *msg = NULL;
		if ((r = recv_json(db, &msg, err)) < 0)
			break;
		json_t *m = json_object_get(msg, "method");
		if (json_is_string(m) && strcmp(json_string_value(m), "echo") == 0) {
			json_t *rep = json_pack("{s:O, s:n, s:O}", "result",
						json_object_get(msg, "params"), "error", "id",
						json_object_get(msg, "id"));
			r = rep ? send_json(db, rep, err)
				: cni_error_oom(err);
			json_decref(rep);
			json_decref(msg);
			continue;
		}
		json_t *mid = json_object_get(msg, "id");
		if (!json_is_integer(mid) || json_integer_value(mid) != (json_int_t)id) {
			json_decref(msg);
			continue;
		}
		json_t *e = json_object_get(msg, "error");
		if (e && !json_is_null(e)) {
			char *s = json_dumps(e, JSON_COMPACT | JSON_ENCODE_ANY);
			r = cni_error_set(err, CNI_ERR_INTERNAL, NULL, "OVSDB %s failed: %s", method,
					  s ? s : "?");
			free(s);
		} else {
			*result = json_incref(json_object_get(msg, "result"));
		}
		json_decref(msg);
		break;
	}
	return r;
}

int ovsdb_transact(ovsdb *db, json_t *ops, json_t **result, cni_error **err)
{
	json_t *params = json_pack("[s]", "Open_vSwitch");
	if (!params || json_array_extend(params, ops) < 0) {
		json_decref(params);
		json_decref(ops);
		return cni_error_oom(err);
	}
	json_decref(ops);
	json_t *res = NULL;
	int r = call(db, "transact", params, &res, err);
	if (r < 0)
		return r;
	size_t i;
	json_t *it;
	if (!json_is_array(res)) {
		json_decref(res);
		return cni_error_set(err, CNI_ERR_DECODING_FAILURE, NULL,
				     "OVSDB transact: the reply is not an array");
	}
	json_array_foreach(res, i, it)
	{
		json_t *e = json_object_get(it, "error");
		if (json_is_string(e)) {
			json_t *d = json_object_get(it, "details");
			r = cni_error_set(err, CNI_ERR_INTERNAL, NULL, "OVSDB transact: %s%s%s",
					  json_string_value(e), json_is_string(d) ? ": " : "",
					  json_is_string(d) ? json_string_value(d) : "");
			json_decref(res);
			return r;
		}
	}
	*result = res;
	return 0;
}

int ovsdb_select(ovsdb *db, const char *table, const char *column, const char *value,
		 const char *const *columns, json_t **rows, cni_error **err)
{
	json_t *cols = json_array();
	for (size_t i = 0; cols && columns[i]; i++)
		json_array_append_new(cols, json_string(columns[i]));
	json_t *ops = json_pack("[{s:s, s:s, s:[[s, s, s]], s:o}]", "op", "select", "table", table,
				"where", column, "==", value, "columns", cols);
	if (!ops)
		return cni_error_oom(err);
	json_t *res = NULL;
	int r = ovsdb_transact(db, ops, &res, err);
	if (r < 0)
		return r;
	json_t *rs = json_object_get(json_array_get(res, 0), "rows");
	if (!json_is_array(rs)) {
		json_decref(res);
		return cni_error_set(err, CNI_ERR_DECODING_FAILURE, NULL,
				     "OVSDB select on %s: no rows in the reply", table);
	}
	*rows = json_incref(rs);
	json_decref(res);
	return 0;
}
