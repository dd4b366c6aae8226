/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CNI_RESULT_H
#define CNI_RESULT_H

/**
 * @file cni/result.h
 * @brief Results of every spec version (0.1.0 .. 1.1.0): parse, build, read, convert, print.
 *
 * A cni_result carries its version label. Conversion follows the reference's rules: 0.1.0
 * and 0.2.0 (ip4/ip6 with per-IP routes) become the 0.3.x shape (ips + top-level routes,
 * no interfaces) and back (first IPv4/IPv6 only; routes attached by destination family;
 * failing with "cannot convert: no valid IP addresses" when there is no IP). 1.x fields
 * (interface mtu/socketPath/pciID, route mtu/advmss/priority/table/scope) survive a round
 * trip through 1.0.0 and 1.1.0.
 *
 * The element structs below are transparent and versioned: initialise them with their
 * _INIT macro. Getters fill them with pointers borrowed from the result.
 */

#include "error.h"

CNI_BEGIN_DECL

typedef struct cni_result cni_result;

#define CNI_INTERFACE_VERSION 1
typedef struct cni_interface {
	unsigned int version;
	const char *name;        /**< required */
	const char *mac;         /**< NULL or "" for none */
	const char *sandbox;     /**< NULL or "" for a host-side interface */
	int mtu;                 /**< 1.1.0; 0 = unset */
	const char *socket_path; /**< 1.1.0; NULL = unset */
	const char *pci_id;      /**< 1.1.0; NULL = unset */
} cni_interface;
#define CNI_INTERFACE_INIT {CNI_INTERFACE_VERSION, NULL, NULL, NULL, 0, NULL, NULL}

#define CNI_IP_VERSION 1
typedef struct cni_ip {
	unsigned int version;
	const char *address; /**< CIDR with host bits, e.g. "10.1.0.5/24"; required */
	const char *gateway; /**< NULL = none */
	int interface;       /**< index into the interfaces, -1 = none */
} cni_ip;
#define CNI_IP_INIT {CNI_IP_VERSION, NULL, NULL, -1}

#define CNI_ROUTE_VERSION 1
typedef struct cni_route {
	unsigned int version;
	const char *dst; /**< CIDR, required */
	const char *gw;  /**< NULL = none */
	int mtu;         /**< 1.1.0; 0 = unset */
	int advmss;      /**< 1.1.0; 0 = unset */
	int priority;    /**< 1.1.0; 0 = unset */
	bool has_table;  /**< 1.1.0 */
	int table;
	bool has_scope; /**< 1.1.0 */
	int scope;
} cni_route;
#define CNI_ROUTE_INIT {CNI_ROUTE_VERSION, NULL, NULL, 0, 0, 0, false, 0, false, 0}

#define CNI_DNS_VERSION 1
typedef struct cni_dns {
	unsigned int version;
	const char *const *nameservers; /**< NULL-terminated or NULL */
	const char *domain;             /**< NULL = unset */
	const char *const *search;      /**< NULL-terminated or NULL */
	const char *const *options;     /**< NULL-terminated or NULL */
} cni_dns;
#define CNI_DNS_INIT {CNI_DNS_VERSION, NULL, NULL, NULL, NULL}

/** New empty result of the given version (must be a known version). */
CNI_EXPORT int cni_result_new(cni_result **out, const char *version, cni_error **err);

/**
 * Parse a result. version NULL: take "cniVersion" from the JSON ("" or missing means
 * 0.1.0). Otherwise decode with that version's shape, as the reference's
 * create.Create(version, bytes) does: the result keeps the JSON's own "cniVersion", which
 * must be in the same family (0.1.0/0.2.0 where "" or missing means 0.1.0;
 * 0.3.0/0.3.1/0.4.0; 1.0.0/1.1.0), else -CNI_ERR_INCOMPATIBLE_CNI_VERSION
 * `result type supports [0.3.0 0.3.1 0.4.0] but unmarshalled CNIVersion is "1.0.0"`.
 * Unknown version: -CNI_ERR_INCOMPATIBLE_CNI_VERSION `unsupported CNI result version "x"`.
 * Decoding is Go's encoding/json: member names match case-insensitively, unknown members
 * are ignored, null leaves a field unset. Malformed JSON, a wrong type, a bad CIDR or IP,
 * a missing address/dst: -CNI_ERR_DECODING_FAILURE naming the field and value
 * (`ips[0].address: invalid CIDR address: 10.0.0.1/33`). *out is new (cni_result_free()).
 */
CNI_EXPORT int cni_result_from_json(cni_result **out, const char *version, const char *json,
				    size_t len, cni_error **err);

/**
 * Convert to another version (new object; the same version gives a copy; "" means 0.1.0).
 * Fails with -CNI_ERR_INCOMPATIBLE_CNI_VERSION: `cannot convert: no valid IP addresses`
 * (to 0.1.0/0.2.0 without an IP), `no converter for CNI result version a to b` (unknown
 * target).
 */
CNI_EXPORT int cni_result_convert(cni_result **out, const cni_result *r, const char *version,
				  cni_error **err);

/**
 * Print as the reference does (types.PrintResult: json.MarshalIndent with 4 spaces, Go's
 * string escaping including \u003c \u003e \u0026), no trailing newline. Versions up to
 * 1.0.0 print as Debian's libcni 1.1.x does: keys in struct order, "dns": {} always.
 * 1.1.0 prints as the newest reference (cni >= 1.2) does: keys sorted at every level (it
 * marshals through a Go map) and an empty "dns" left out. *out is new (cni_free()).
 */
CNI_EXPORT int cni_result_to_json(const cni_result *r, char **out, cni_error **err);

/** Convert to version then print (types.PrintResult). */
CNI_EXPORT int cni_result_to_json_as(const cni_result *r, const char *version, char **out,
				     cni_error **err);

/** Borrowed version label. */
CNI_EXPORT const char *cni_result_version(const cni_result *r);
/**
 * Change the version label without converting, within one family only (0.1.0/0.2.0,
 * 0.3.x/0.4.0, 1.0.0/1.1.0): across families the shapes differ, use cni_result_convert()
 * (-CNI_ERR_INVALID_ARG).
 */
CNI_EXPORT int cni_result_set_version(cni_result *r, const char *version, cni_error **err);

CNI_EXPORT cni_result *cni_result_dup(const cni_result *r);
CNI_EXPORT void cni_result_free(cni_result *r);

/*
 * Reading. Indices run from 0 to count-1; out-of-range returns -CNI_ERR_INVALID_ARG.
 * For 0.1.0/0.2.0 results, ips are ip4 then ip6 and routes are the per-IP routes in order
 * (ip4's first).
 */
CNI_EXPORT size_t cni_result_interface_count(const cni_result *r);
CNI_EXPORT int cni_result_get_interface(const cni_result *r, size_t i, cni_interface *out);
CNI_EXPORT size_t cni_result_ip_count(const cni_result *r);
CNI_EXPORT int cni_result_get_ip(const cni_result *r, size_t i, cni_ip *out);
CNI_EXPORT size_t cni_result_route_count(const cni_result *r);
CNI_EXPORT int cni_result_get_route(const cni_result *r, size_t i, cni_route *out);
/** Borrowed DNS; arrays are NULL when absent. Always succeeds for a valid r. */
CNI_EXPORT int cni_result_get_dns(const cni_result *r, cni_dns *out);

/*
 * Building. Values are copied. Addresses and routes are validated (CIDR / IP syntax, as
 * Go's net package parses them, stored in Go's canonical text) and errors name the field
 * and value (-CNI_ERR_INVALID_ARG). ip->interface must be -1 or an existing index. For
 * 0.1.0/0.2.0 results add_ip sets ip4 or ip6 by family (a second IP of one family fails)
 * and add_route attaches to the IP of the route's family (none: fails); add_interface
 * fails there. 0.3.x/0.4.0 results compute ips[].version from the family and refuse the
 * interface 1.1 fields (-CNI_ERR_UNSUPPORTED). Negative mtu/advmss/priority/table/scope
 * are refused.
 */
CNI_EXPORT int cni_result_add_interface(cni_result *r, const cni_interface *iface, size_t *idx,
					cni_error **err);
CNI_EXPORT int cni_result_add_ip(cni_result *r, const cni_ip *ip, cni_error **err);
CNI_EXPORT int cni_result_add_route(cni_result *r, const cni_route *route, cni_error **err);
CNI_EXPORT int cni_result_set_dns(cni_result *r, const cni_dns *dns, cni_error **err);
/** Change the mac of interface i (tuning-style plugins). */
CNI_EXPORT int cni_result_set_interface_mac(cni_result *r, size_t i, const char *mac,
					    cni_error **err);
/**
 * Replace every field of interface i with iface's (since 0.2), checked as
 * cni_result_add_interface() checks them: the way to set an interface's mtu, socketPath
 * or pciID (1.1.0 results) or its sandbox. To change one field, read the interface with
 * cni_result_get_interface(), change the field, and pass it back (the borrowed strings
 * may be passed: they are copied before the old ones are freed). No interface i:
 * -CNI_ERR_INVALID_ARG.
 */
CNI_EXPORT int cni_result_set_interface(cni_result *r, size_t i, const cni_interface *iface,
					cni_error **err);

CNI_END_DECL

#endif
