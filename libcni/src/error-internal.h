/* SPDX-License-Identifier: Apache-2.0 */
/* The library's side of cni_error (error.c). Never installed. */
#ifndef CNI_ERROR_INTERNAL_H
#define CNI_ERROR_INTERNAL_H

#include "internal.h"
#include "buf-internal.h"

/*
 * A versioned struct handed in to fn (a public function): 0 when 0 < version <= current,
 * else -CNI_ERR_INVALID_ARG naming fn, the type and the version. Every public function
 * taking an input struct checks it this way, as docs/api.md promises.
 */
int cni_struct_check(cni_error **err, const char *fn, const char *type, unsigned int version,
		     unsigned int current);
/*
 * Errors read from a plugin's error JSON carry the plugin's own code, which may be
 * anything from 100 up, the library's range included: such an error is "foreign", and
 * its code is printed as it is (cni_error_spec_code), never turned into 999.
 */
void cni_error_set_foreign(cni_error *e);
/* What a function failing with e returns: -code, except that a foreign code in the
 * library's range (it would read as, say, -CNI_ERR_NOT_FOUND) or 0 (the reference's
 * ErrUnknown) returns -CNI_ERR_EXEC, and a library error with code 0 -CNI_ERR_INTERNAL. */
int cni_error_return_code(const cni_error *e);

/*
 * Fail with the message built in b: code and b's text, or out of memory when building it
 * failed (r nonzero, b possibly cut short). Frees b either way.
 */
int cni_error_set_buf(cni_error **err, int code, int r, cni_buf *b);

DEFINE_TRIVIAL_CLEANUP_FUNC(cni_error *, cni_error_free)
#define _cleanup_error_ _cleanup_(cni_error_freep)

#endif
