/* netcfg.c --- network configuration pinned to MAC addresses, unpinned
 *
 * A guest that moves to new hardware (a clone, a P2V or V2P move) gets new
 * MAC addresses: ifcfg HWADDR=/MACADDR=, netplan match: macaddress: and
 * NetworkManager mac-address= would leave its interfaces unconfigured.
 */
#include "netcfg.h"
#include "textedit.h"

#include <stdlib.h>
#include <string.h>

static bool ifcfg_name(const char *name)
{
	return !strncmp(name, "ifcfg-", 6) && strcmp(name, "ifcfg-lo") != 0;
}

static bool yaml_name(const char *name)
{
	size_t l = strlen(name);

	return (l > 5 && !strcmp(name + l - 5, ".yaml")) || (l > 4 && !strcmp(name + l - 4, ".yml"));
}

static bool any_name(const char *name)
{
	return name[0] != '.';
}

static bool ifcfg_mac_line(const char *line, size_t len)
{
	return starts_key(line, len, "HWADDR=") || starts_key(line, len, "MACADDR=");
}

static bool nm_mac_line(const char *line, size_t len)
{
	return starts_key(line, len, "mac-address=");
}

char *netcfg_ifcfg_edit(const char *data, size_t len, size_t *outlen, const void *arg)
{
	(void)arg;
	return drop_lines(data, len, ifcfg_mac_line, outlen);
}

char *netcfg_nm_edit(const char *data, size_t len, size_t *outlen, const void *arg)
{
	(void)arg;
	return drop_lines(data, len, nm_mac_line, outlen);
}

/* netplan: drop "macaddress:" lines; a "match:" left empty goes too, with
 * the "set-name:" beside it (it would rename every interface). */
struct yline {
	const char *s;
	size_t len, indent;
	bool blank, drop;
};

char *netcfg_netplan_edit(const char *data, size_t len, size_t *outlen, const void *arg)
{
	struct yline *v = NULL;
	size_t n = 0, dropped = 0;
	struct text t = { 0 };
	(void)arg;

	for (size_t i = 0; i < len;) {
		const char *nl = memchr(data + i, '\n', len - i);
		size_t l = nl ? (size_t)(nl - (data + i)) + 1 : len - i, ind = indent_of(data + i, l);
		struct yline *grown = realloc(v, (n + 1) * sizeof(*v));
		if (!grown) {
			free(v);
			return NULL;
		}
		v = grown;
		v[n] = (struct yline){ data + i, l, ind, ind == l || data[i + ind] == '\n' || data[i + ind] == '#', false };
		if (starts_key(data + i, l, "macaddress:"))
			v[n].drop = true, dropped++;
		n++;
		i += l;
	}
	for (size_t i = 0; i < n && dropped; i++) {
		size_t j;
		if (v[i].drop || !starts_key(v[i].s, v[i].len, "match:"))
			continue;
		for (j = i + 1; j < n && (v[j].blank || v[j].drop); j++)
			;
		if (j < n && v[j].indent > v[i].indent)
			continue; /* something else still matches */
		v[i].drop = true;
		for (size_t k = 0; k < n; k++) /* set-name: in the same block */
			if (k != i && v[k].indent == v[i].indent && starts_key(v[k].s, v[k].len, "set-name:")) {
				size_t a = k < i ? k : i, b = k < i ? i : k;
				bool same = true;
				for (size_t m = a + 1; m < b; m++)
					if (!v[m].blank && v[m].indent < v[i].indent)
						same = false;
				if (same)
					v[k].drop = true;
			}
	}
	for (size_t i = 0; i < n; i++)
		if (!v[i].drop)
			text_add(&t, v[i].s, v[i].len);
	free(v);
	return text_result(&t, dropped > 0, outlen);
}

int netcfg_unpin_macs(struct guest *gu, int tag)
{
	int rc = guest_edit_dir(gu, tag, "/etc/sysconfig/network-scripts", ifcfg_name, netcfg_ifcfg_edit, NULL);

	if (rc == 0)
		rc = guest_edit_dir(gu, tag, "/etc/netplan", yaml_name, netcfg_netplan_edit, NULL);
	if (rc == 0)
		rc = guest_edit_dir(gu, tag, "/etc/NetworkManager/system-connections", any_name, netcfg_nm_edit, NULL);
	return rc;
}
