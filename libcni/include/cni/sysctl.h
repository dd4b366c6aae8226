/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CNI_SYSCTL_H
#define CNI_SYSCTL_H

/**
 * @file cni/sysctl.h
 * @brief sysctl read and write under /proc/sys, in the calling thread's namespace (use
 * cni_netns_run() for another namespace).
 *
 * Names use '.' or '/' as separator. As in the reference, when the first separator is a
 * '.', dots and slashes swap, so "net.ipv4.conf.eth0/1.forwarding" names the interface
 * "eth0.1". Names that would leave /proc/sys ("..") are rejected.
 */

#include "error.h"

CNI_BEGIN_DECL

/** *out: new string without the trailing newline (cni_free()). */
CNI_EXPORT int cni_sysctl_get(const char *name, char **out, cni_error **err);
/** Write value; errors name the sysctl and the kernel's reason. */
CNI_EXPORT int cni_sysctl_set(const char *name, const char *value, cni_error **err);

CNI_END_DECL

#endif
