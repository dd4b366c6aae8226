/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CNI_CNI_H
#define CNI_CNI_H

/**
 * @file cni/cni.h
 * @brief libcni-c umbrella header: include this one.
 */

#include "common.h"
#include "error.h"
#include "version.h"
#include "args.h"
#include "result.h"
#include "conf.h"
#include "invoke.h"
#include "skel.h"
#include "api.h"
#include "ip.h"
#include "netns.h"
#include "netlink.h"
#include "sysctl.h"
#include "lock.h"
#include "file.h"
#include "ipam.h"
#include "util.h"
#include "ipmasq.h"
#include "netfilter.h"

#endif
