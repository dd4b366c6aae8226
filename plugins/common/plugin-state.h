/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Small JSON state files for delegating plugins (internal, never installed): what ADD did,
 * kept so DEL can undo it after the network config changed or vanished.
 */
#ifndef CNI_PLUGIN_STATE_H
#define CNI_PLUGIN_STATE_H
#include <jansson.h>
#include <cni/cni.h>

/* Write v to path (directories made 0700, file 0600) with cni_file_write_atomic(), so a
 * reader never sees half of it and ps_remove() takes what a killed write left. */
int ps_save(const char *path, const json_t *v, cni_error **err);
/* Read path into *out (new reference). A missing file gives 0 and *out NULL. */
int ps_load(const char *path, json_t **out, cni_error **err);
/* Remove path (and its temporary file); a missing file is fine. */
int ps_remove(const char *path, cni_error **err);
#endif
