/* netcfg.h --- MAC address pinning in guest network configuration */
#ifndef RAWKIT_NETCFG_H
#define RAWKIT_NETCFG_H

#include "guest.h"

#include <stddef.h>

/* Remove MAC pinning: HWADDR=/MACADDR= in ifcfg files, netplan macaddress
 * (with a match: left empty and its set-name:), NetworkManager
 * mac-address=.  Changes are told under TAG. */
int netcfg_unpin_macs(struct guest *gu, int tag);

/* The editors themselves (fuzzed): new text or NULL for no change. */
char *netcfg_ifcfg_edit(const char *data, size_t len, size_t *outlen, const void *arg);
char *netcfg_nm_edit(const char *data, size_t len, size_t *outlen, const void *arg);
char *netcfg_netplan_edit(const char *data, size_t len, size_t *outlen, const void *arg);

#endif
