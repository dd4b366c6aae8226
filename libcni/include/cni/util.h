/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CNI_UTIL_H
#define CNI_UTIL_H

/**
 * @file cni/util.h
 * @brief Small helpers plugins share with the reference: SHA-512, and the names and
 * comments the reference gives its firewall chains, so rules made by either are found
 * by both.
 */

#include "error.h"

CNI_BEGIN_DECL

#define CNI_SHA512_HEX_LEN 128

/** Lower-case hex SHA-512 of data into out (CNI_SHA512_HEX_LEN + 1 bytes). */
CNI_EXPORT void cni_sha512_hex(const void *data, size_t len, char *out);

/**
 * "<prefix>" + hex(sha512(to_hash)) cut to length characters (MustFormatHashWithPrefix).
 * Fails with -CNI_ERR_INVALID_ARG when prefix is not shorter than length or buf is
 * smaller than length + 1.
 */
CNI_EXPORT int cni_format_hash(const char *prefix, const char *to_hash, size_t length, char *buf,
			       size_t buflen);

/** "CNI-" + prefix + hash(name + id), 28 characters (MustFormatChainNameWithPrefix). */
CNI_EXPORT int cni_format_chain_name(const char *name, const char *id, const char *prefix,
				     char *buf, size_t buflen);

/** `name: "<name>" id: "<id>"` with Go's %q quoting (FormatComment); new (cni_free()). */
CNI_EXPORT char *cni_format_comment(const char *name, const char *id);

CNI_END_DECL

#endif
