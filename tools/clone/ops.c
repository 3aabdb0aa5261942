/* ops.c --- the personalization operations: names, meanings, --operations */
#include "clone.h"

#include <stdio.h>
#include <string.h>

static const struct {
	const char *name;
	const char *meaning;
} table[OP_COUNT] = {
	[OP_HOSTNAME] = { "hostname", "set the host name (--hostname): /etc/hostname, /etc/hosts, /etc/HOSTNAME, "
				      "/etc/sysconfig/network, /etc/mailname; Windows: the computer name in the SYSTEM "
				      "hive" },
	[OP_MACHINE_ID] = { "machine-id", "empty /etc/machine-id (systemd makes a new one at first boot), remove "
					  "/var/lib/dbus/machine-id" },
	[OP_SSH_HOSTKEYS] = { "ssh-hostkeys", "new SSH host keys of the types the guest has, made on this host with "
					      "ssh-keygen" },
	[OP_NET_HWADDR] = { "net-hwaddr", "remove MAC pinning: HWADDR=/MACADDR= in ifcfg files, netplan macaddress, "
					  "NetworkManager mac-address" },
	[OP_UDEV_NET] = { "udev-persistent-net", "remove /etc/udev/rules.d/70-persistent-net.rules" },
	[OP_FS_UUIDS] = { "fs-uuids", "new ext2/3/4 and XFS UUIDs, NTFS serials and swap UUIDs, and every reference to "
				      "them in fstab, crypttab, GRUB, BLS entries and resume settings" },
	[OP_DISK_IDS] = { "disk-ids", "new GPT disk and partition GUIDs or MBR disk signature, and PARTUUID= "
				      "references; new LVM2 VG and PV UUIDs (the VG name stays), and LVM's devices file "
				      "(/etc/lvm/devices/system.devices) removed" },
	[OP_LOGFILES] = { "logfiles", "remove the files under /var/log (directories stay)" },
	[OP_BASH_HISTORY] = { "bash-history", "remove /root/.bash_history and /home/*/.bash_history" },
	[OP_TMP_FILES] = { "tmp-files", "empty /tmp and /var/tmp" },
	[OP_DHCP_STATE] = { "dhcp-client-state", "remove DHCP leases (/var/lib/dhcp, /var/lib/dhclient, "
						  "NetworkManager)" },
	[OP_RANDOM_SEED] = { "random-seed", "remove saved random seeds, so clones do not share them" },
	[OP_UTMP] = { "utmp", "remove /var/run/utmp and /run/utmp left on the disk" },
	[OP_SSH_KEY] = { "ssh-authorized-key", "add the --ssh-key FILE to /root/.ssh/authorized_keys" },
};

const char *op_name(enum clone_op op)
{
	return table[op].name;
}

const char *op_meaning(enum clone_op op)
{
	return table[op].meaning;
}

void ops_defaults(bool enabled[OP_COUNT])
{
	for (int i = 0; i < OP_COUNT; i++)
		enabled[i] = true;
}

static int op_lookup(const char *name, size_t len)
{
	for (int i = 0; i < OP_COUNT; i++)
		if (strlen(table[i].name) == len && !strncmp(table[i].name, name, len))
			return i;
	return -1;
}

/* "defaults", "all", "none", NAME and -NAME, comma separated, applied in
 * order; a list that starts with -NAME starts from the defaults. */
int ops_parse(const char *list, bool enabled[OP_COUNT], char *err, size_t errlen)
{
	const char *p = list;

	for (int i = 0; i < OP_COUNT; i++)
		enabled[i] = false;
	if (*p == '-')
		ops_defaults(enabled);
	while (*p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		bool off = len && *p == '-';
		const char *name = off ? p + 1 : p;
		size_t nlen = off ? len - 1 : len;
		int op;

		if (nlen == 0) {
			snprintf(err, errlen, "--operations: empty name in \"%s\"", list);
			return -1;
		}
		if (!off && ((nlen == 8 && !strncmp(name, "defaults", 8)) || (nlen == 3 && !strncmp(name, "all", 3)))) {
			ops_defaults(enabled);
		} else if (!off && nlen == 4 && !strncmp(name, "none", 4)) {
			for (int i = 0; i < OP_COUNT; i++)
				enabled[i] = false;
		} else if ((op = op_lookup(name, nlen)) >= 0) {
			enabled[op] = !off;
		} else {
			snprintf(err, errlen, "--operations: unknown operation \"%.*s\" (see --list-operations)", (int)nlen,
				 name);
			return -1;
		}
		p += len;
		if (*p == ',')
			p++;
	}
	return 0;
}
