/* fuzz_clone_text.c --- rawkit-clone's editors of guest text files
 *
 * Guest files are untrusted input: /etc/hosts, netplan YAML, ifcfg and
 * NetworkManager files, and everything that may hold an identity are
 * rewritten by rawkit-clone.  The first byte picks the editor; the rest is
 * the file: also the device-name rewriting of the P2V/V2P conversion, and
 * the references to a volume group renamed by --vg-name (the text grows or
 * shrinks; a GRUB environment block stays 1024 bytes).
 */
#include "../../tools/clone/clone.h"
#include "devref.h"
#include "netcfg.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct hostnames h = { "golden", "web01" };
	static struct id_change changes[] = {
		{ .vol = 0, .kind = "fs", .old_ref = "a98db674-41ca-49d5-8889-8c4cbe91170e",
		  .new_ref = "ef462edb-3263-47d8-a746-da375c462264" },
		{ .vol = 1, .kind = "fs", .old_ref = "06527B9C208924DA", .new_ref = "C18C1BD25A5198B7" },
		{ .vol = 2, .kind = "part", .old_ref = "1234abcd-01", .new_ref = "deadbeef-01" },
	};
	const struct id_plan plan = { changes, sizeof(changes) / sizeof(changes[0]) };
	const struct id_plan grow = { changes, 1, "rhel", "web-vg--x" }, shrink = { NULL, 0, "my-vg", "v" };
	bool unfit = false;
	const struct grubenv_refs env = { &grow, &unfit };
	static const struct imgfmt_volume vols[] = {
		{ .name = "p1", .partno = 1, .fstype = "ext4", .fs_uuid = "a98db674-41ca-49d5-8889-8c4cbe91170e" },
		{ .name = "p2", .partno = 2, .fstype = "swap", .fs_uuid = "6f50651f-f153-42c9-b729-ad1f457f14c6" },
	};
	const struct devmap map = { .base = "sda", .found = true, .nvol = 2, .vols = vols };
	char *text, *out = NULL;
	size_t outlen = 0;

	if (size < 1)
		return 0;
	text = malloc(size);
	if (!text)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	switch (data[0] % 11) {
	case 0: out = hosts_edit(text, size - 1, &outlen, &h); break;
	case 1: out = netcfg_netplan_edit(text, size - 1, &outlen, NULL); break;
	case 2: out = netcfg_ifcfg_edit(text, size - 1, &outlen, NULL); break;
	case 3: out = netcfg_nm_edit(text, size - 1, &outlen, NULL); break;
	case 4: out = sysconfig_network_edit(text, size - 1, &outlen, &h); break;
	case 5: out = refs_edit(text, size - 1, &outlen, &plan); break;
	case 6: out = devref_fstab_edit(text, size - 1, &outlen, &map); break;
	case 7: out = devref_cmdline_edit(text, size - 1, &outlen, &map); break;
	case 8: out = refs_edit(text, size - 1, &outlen, &grow); break;
	case 9: out = refs_edit(text, size - 1, &outlen, &shrink); break;
	default: out = grubenv_edit(text, size - 1, &outlen, &env); break;
	}
	/* Every editor returns NUL-terminated text of OUTLEN bytes; identities
	 * are replaced by ids of the same length; a 1024-byte environment block
	 * stays one. */
	if (out && (out[outlen] != '\0' || (data[0] % 11 == 5 && outlen != size - 1) ||
		    (data[0] % 11 == 10 && size - 1 == 1024 && !strncmp(text, "# GRUB Environment Block\n", 25) &&
		     outlen != 1024)))
		abort();
	free(out);
	free(text);
	return 0;
}
