/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CNI_NETFILTER_H
#define CNI_NETFILTER_H

/**
 * @file cni/netfilter.h
 * @brief Firewall changes as single atomic batches, in the calling thread's network
 * namespace: iptables-restore/ip6tables-restore with --noflush (one exec per family,
 * whatever the number of rules), iptables-save to read state, and nftables transactions
 * run in-process through libnftables (no exec of nft).
 */

#include "error.h"

CNI_BEGIN_DECL

/** True when iptables (family AF_INET or AF_INET6) can be used here (binary present and
 * the filter table readable), as the reference's SupportsIPTables. */
CNI_EXPORT bool cni_iptables_usable(int family);
/** True when nftables can be used here (a list command succeeds), as SupportsNFTables. */
CNI_EXPORT bool cni_nftables_usable(void);

/**
 * Apply a restore batch (`*nat\n:CHAIN - [0:0]\n-A ...\nCOMMIT\n`) with
 * `iptables-restore --noflush --wait` (ip6tables-restore for AF_INET6). The whole batch
 * applies or none of it does. Errors quote the tool's stderr. A tool that exits 0 without
 * reading the whole batch (it took a failed read for the end of it) is a failure too.
 */
CNI_EXPORT int cni_iptables_restore(int family, const char *batch, cni_error **err);

/** `iptables-save -t table` (ip6tables-save for AF_INET6); *out new (cni_free()). */
CNI_EXPORT int cni_iptables_save(int family, const char *table, char **out, cni_error **err);

/**
 * An iptables-save dump of one table, split into lines, with its rules taken apart: what
 * a plugin reads before it writes an iptables-restore batch (which rules and chains are
 * there already). Opaque; strings it gives are valid until cni_ipt_dump_free().
 */
typedef struct cni_ipt_dump cni_ipt_dump;

/** Parse iptables-save output (text); with table non-NULL only that table's section
 * ("*nat" ... "COMMIT") is kept. */
CNI_EXPORT int cni_ipt_dump_parse(const char *text, const char *table, cni_ipt_dump **out,
				  cni_error **err);
/** cni_iptables_save() of table, parsed. */
CNI_EXPORT int cni_ipt_dump_read(int family, const char *table, cni_ipt_dump **out,
				 cni_error **err);
/** Accepts NULL. */
CNI_EXPORT void cni_ipt_dump_free(cni_ipt_dump *d);
/** The lines (no newline), as saved: "*nat", ":CHAIN - [0:0]", "-A CHAIN ...", "COMMIT". */
CNI_EXPORT size_t cni_ipt_dump_line_count(const cni_ipt_dump *d);
CNI_EXPORT const char *cni_ipt_dump_line(const cni_ipt_dump *d, size_t i);
/**
 * Whether line i is a rule ("-A <chain> ..."); if so its chain, its -j/-g target ("" when
 * it has none) and its --comment (NULL when it has none), unquoted as iptables-save
 * quotes them. Any of the out pointers may be NULL.
 */
CNI_EXPORT bool cni_ipt_dump_rule(const cni_ipt_dump *d, size_t i, const char **chain,
				  const char **target, const char **comment);
/** Whether the dump declares chain (":<chain> ..."). */
CNI_EXPORT bool cni_ipt_dump_has_chain(const cni_ipt_dump *d, const char *chain);
/** Whether line is, exactly, one of the dump's lines. */
CNI_EXPORT bool cni_ipt_dump_has_line(const cni_ipt_dump *d, const char *line);

/**
 * Run an nft script as one transaction: text as `nft -f` reads it, or with json true a
 * JSON command batch (`{"nftables":[...]}`), whose output is JSON too, with rule
 * handles. With out non-NULL, the command's output (e.g. of a list command) is returned
 * (new, cni_free()).
 */
CNI_EXPORT int cni_nft_run(const char *script, bool json, char **out, cni_error **err);

/**
 * Whether nftables table `table` of family `family` ("ip", "ip6", "inet", "arp", "bridge",
 * "netdev") may exist in the calling thread's network namespace, asked of the kernel with
 * one netlink query (libnftables is not loaded). False only when the kernel says there is
 * no such table; true when there is, and when it could not be asked (an unknown family,
 * no nf_tables): then look the usual way. For teardowns that have nothing to do when
 * their table is absent.
 */
CNI_EXPORT bool cni_nft_table_may_exist(const char *family, const char *table);

/**
 * Remove chains (a NULL-terminated list, at most 7) from iptables table `table` of family
 * AF_INET or AF_INET6 in the calling thread's namespace, with every rule of the table
 * that jumps to them from another chain: the work of `iptables-save` + `iptables-restore
 * -D/-F/-X`, done as one nf_tables transaction over netlink, with no exec, where iptables
 * is iptables-nft (the table lives in nf_tables and legacy iptables has no such table
 * here). True when that was done, or none of the chains exists there; false when it
 * could not be done that way (legacy iptables, a kernel that does not answer, a change
 * that raced with it): nothing was changed, and the caller goes through the iptables
 * tools. The transaction applies whole or not at all.
 */
CNI_EXPORT bool cni_iptables_nft_remove_chains(int family, const char *table,
					       const char *const *chains);

/**
 * Whether iptables-nft's chain `chain` of `table` (family AF_INET or AF_INET6) exists in
 * the calling thread's namespace, asked of nf_tables with one netlink query: 1 yes, 0 no
 * (no such chain or table there; legacy iptables' chains are not seen), or a negative
 * errno when it could not be asked. A teardown uses it to tell "iptables-save shows
 * nothing of ours" from "iptables-save failed to show it" (it can exit 0 with a dump cut
 * short).
 */
CNI_EXPORT int cni_iptables_nft_chain_exists(int family, const char *table, const char *chain);

/**
 * A teardown's check after iptables-save showed none of `chains` (NULL-terminated) in
 * `table`, or could not read it (why: the reason, else NULL): 0 when nf_tables has none
 * of them either (or cannot be asked) and, where the legacy x_tables hold that table in
 * this namespace, `iptables -S <chain>` (the iptables found, as for
 * cni_iptables_restore()) says there is no such chain (or cannot tell); else
 * -CNI_ERR_SYSTEM, "<iptables-save> did not show chain <c>, which nf_tables has: not
 * removed" ("which iptables lists" for legacy; with ": <why>"), so that the DEL fails
 * instead of leaving the chain.
 */
CNI_EXPORT int cni_iptables_nft_confirm_gone(int family, const char *table,
					     const char *const *chains, const char *why,
					     cni_error **err);

/**
 * Delete the conntrack entries of `family` (AF_INET or AF_INET6) whose original direction
 * goes to destination `port` over `protocol` (IPPROTO_UDP, IPPROTO_TCP, ...), in the
 * calling thread's network namespace: a flow tracked before a DNAT rule for that port
 * existed keeps its old translation until then. One ctnetlink dump, then one delete per
 * entry (by its original tuple and zone); an entry that expires meanwhile is no error.
 * `deleted` (optional) gets how many were deleted. 0, -CNI_ERR_INVALID_ARG, or
 * -CNI_ERR_SYSTEM naming the port and the kernel's reason (no conntrack, no permission).
 */
CNI_EXPORT int cni_conntrack_delete_dport(int family, int protocol, unsigned int port,
					  size_t *deleted, cni_error **err);

/**
 * How many rules iptables-nft's chain `chain` of `table` (family AF_INET or AF_INET6) has
 * in the calling thread's namespace, asked of nf_tables with one netlink dump: the count,
 * -ENOENT when there is no such chain (legacy iptables' chains are not seen), or another
 * negative errno when it could not be asked. A teardown that did not find its rules in
 * an iptables-save dump compares this with the dump's count of the chain's rules: fewer
 * in the dump means it was cut short.
 */
CNI_EXPORT int cni_iptables_nft_rule_count(int family, const char *table, const char *chain);

CNI_END_DECL

#endif
