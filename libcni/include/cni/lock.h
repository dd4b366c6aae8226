/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CNI_LOCK_H
#define CNI_LOCK_H

/**
 * @file cni/lock.h
 * @brief Advisory file locks (flock) as plugins use them to serialise work on shared
 * state, compatible with the reference's (go-filemutex takes flock on the same file).
 */

#include "error.h"

CNI_BEGIN_DECL

typedef struct cni_filelock cni_filelock;

/** Open (creating it 0600 if needed) the lock file at path. */
CNI_EXPORT int cni_filelock_open(const char *path, cni_filelock **out, cni_error **err);
/** Take the lock, exclusive or shared, waiting as long as needed (EINTR retried). */
CNI_EXPORT int cni_filelock_lock(cni_filelock *l, bool exclusive, cni_error **err);
CNI_EXPORT int cni_filelock_unlock(cni_filelock *l, cni_error **err);
/** Close (and so release) the lock. Accepts NULL. */
CNI_EXPORT void cni_filelock_close(cni_filelock *l);

CNI_END_DECL

#endif
