/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CNI_RESULT_INTERNAL_H
#define CNI_RESULT_INTERNAL_H

/*
 * Results as jansson values, for the modules that embed a result in other JSON
 * (prevResult in a plugin config, the result cache) or read one out of it.
 */

#include <jansson.h>

#include "cni/result.h"
#include "internal.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(cni_result *, cni_result_free)
#define _cleanup_result_ _cleanup_(cni_result_freep)

/*
 * Build a result from a parsed JSON object, with the rules of cni_result_from_json():
 * version NULL takes "cniVersion" from j ("" or missing = 0.1.0); otherwise the JSON is
 * decoded with that version's shape and its "cniVersion" must belong to the same family
 * (0.1.0/0.2.0, 0.3.0/0.3.1/0.4.0, 1.0.0/1.1.0). j is borrowed.
 */
int cni_result_from_json_t(cni_result **out, const char *version, const json_t *j, cni_error **err);

/*
 * New JSON object of the result in its own version's shape, keys in the reference's
 * struct order, the same members the printed form has (for 1.1.0 an empty "dns" is left
 * out as the newest reference does). NULL on allocation failure. Release with
 * json_decref().
 */
json_t *cni_result_to_json_t(const cni_result *r);

#endif
