/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CNI_CONF_INTERNAL_H
#define CNI_CONF_INTERNAL_H

/*
 * Private access to parsed configs for the runtime (api.c) and plugins. Never installed.
 *
 * Parsed objects hold every JSON number as a real (json_real), as Go decodes numbers into
 * float64 when it reads a config into a map; cni_json_marshal_go() prints them back the
 * way Go does, so re-encoded configs match the reference byte for byte.
 */

#include "internal.h"
#include "json-internal.h"

/* Borrowed parsed object of the config's bytes. Do not modify it: json_deep_copy() first. */
json_t *cni_conf_json(const cni_conf *c);
/* Borrowed parsed object of the list's bytes (same rules). */
json_t *cni_conflist_json(const cni_conflist *l);

/*
 * New config from an object (borrowed): the object is encoded as Go's json.Marshal encodes
 * a map (cni_json_marshal_go()) and those bytes are parsed as cni_conf_from_bytes() does.
 * This is how InjectConf builds each plugin's stdin.
 */
int cni_conf_from_json_t(cni_conf **out, json_t *obj, cni_error **err);

#endif
