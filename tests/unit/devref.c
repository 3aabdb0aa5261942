/* devref.c --- unit test: which device names are this disk's, and their rewriting as UUID= */
#include "devref.h"
#include "tap.h"

#include <stdint.h>
#include <stdlib.h>

#define ROOT_UUID "a98db674-41ca-49d5-8889-8c4cbe91170e"
#define SWAP_UUID "6f50651f-f153-42c9-b729-ad1f457f14c6"

static const struct imgfmt_volume vols[] = {
	{ .name = "p1", .partno = 1, .fstype = "ext4", .fs_uuid = ROOT_UUID },
	{ .name = "p2", .partno = 2, .fstype = "swap", .fs_uuid = SWAP_UUID },
};

/* EDIT applied to TEXT: the new text, or "(unchanged)". */
static const char *edited(char *(*edit)(const char *, size_t, size_t *, const void *), const char *text,
			  const struct devmap *m)
{
	static char *last;
	size_t outlen = 0;

	free(last);
	last = edit(text, strlen(text), &outlen, m);
	if (last && strlen(last) != outlen)
		return "(length differs from outlen)";
	return last ? last : "(unchanged)";
}

static void test_learn(void)
{
	static const char fstab[] = "# /dev/hda1 in a comment\n"
				    "/dev/sda1 / ext4 defaults 0 1\n"
				    "/dev/sda2 none swap sw 0 0\n"
				    "/dev/sdb1 /data ext4 defaults 0 2\n";
	struct devmap m = { .nvol = 2, .vols = vols };
	struct report_list checks = { 0 };

	devref_learn(&m, fstab, strlen(fstab), 0, &checks);
	ok(m.found, "learn: a base found");
	is_str(m.base, "sda", "learn: the base whose / is the root and whose types match");
	is_int(checks.n, 1, "learn: one other base reported");
	is_str(checks.n ? checks.v[0].text : NULL,
	       "/etc/fstab names /dev/sdb* devices that are not this disk's partitions: left as they are",
	       "learn: ... sdb, left alone");
	is_int(devref_volume(&m, "/dev/sda2"), 1, "volume: /dev/sda2 is p2");
	is_int(devref_volume(&m, "/dev/sdb1"), SIZE_MAX, "volume: another disk's device is none");
	is_int(devref_volume(&m, "/dev/sda9"), SIZE_MAX, "volume: a partition the disk lacks is none");
	report_list_free(&checks);

	static const char nvme[] = "/dev/nvme0n1p1 / ext4 defaults 0 1\n/dev/nvme0n1p2 none swap sw 0 0\n";
	struct devmap n = { .nvol = 2, .vols = vols };
	devref_learn(&n, nvme, strlen(nvme), 0, &checks);
	is_str(n.base, "nvme0n1", "learn: NVMe names split at p<digits>");
	is_int(checks.n, 0, "learn: nothing to report");

	static const char wrong[] = "/dev/sda1 / xfs defaults 0 1\n";
	struct devmap w = { .nvol = 2, .vols = vols };
	devref_learn(&w, wrong, strlen(wrong), 0, &checks);
	ok(!w.found, "learn: a / of another filesystem type is not this disk");
	report_list_free(&checks);
}

static void test_edit(void)
{
	const struct devmap m = { .base = "sda", .found = true, .nvol = 2, .vols = vols };

	is_str(edited(devref_fstab_edit, "/dev/sda1 / ext4 defaults 0 1\n/dev/sdb1 /data ext4 defaults 0 2\n", &m),
	       "UUID=" ROOT_UUID " / ext4 defaults 0 1\n/dev/sdb1 /data ext4 defaults 0 2\n",
	       "fstab: this disk's device becomes UUID=, another disk's stays");
	is_str(edited(devref_fstab_edit, "  /dev/sda2\tnone swap sw 0 0", &m), "  UUID=" SWAP_UUID "\tnone swap sw 0 0",
	       "fstab: blanks kept, last line without newline");
	is_str(edited(devref_fstab_edit, "#/dev/sda1 / ext4 defaults 0 1\nUUID=x / ext4 defaults 0 1\n", &m),
	       "(unchanged)", "fstab: comments and UUID= lines unchanged");
	is_str(edited(devref_cmdline_edit, "linux /vmlinuz root=/dev/sda1 ro resume=/dev/sda2 quiet\n", &m),
	       "linux /vmlinuz root=UUID=" ROOT_UUID " ro resume=UUID=" SWAP_UUID " quiet\n",
	       "cmdline: root= and resume=");
	is_str(edited(devref_cmdline_edit, "GRUB_CMDLINE_LINUX=\"root=/dev/sda1\"\nRESUME=/dev/sda2\n", &m),
	       "GRUB_CMDLINE_LINUX=\"root=UUID=" ROOT_UUID "\"\nRESUME=UUID=" SWAP_UUID "\n",
	       "cmdline: inside quotes, and RESUME=");
	is_str(edited(devref_cmdline_edit, "kernelopts=root=/dev/sda1 ro\n", &m),
	       "kernelopts=root=UUID=" ROOT_UUID " ro\n", "cmdline: grubenv's kernelopts=root=");
	is_str(edited(devref_cmdline_edit, "noroot=/dev/sda1 root=/dev/sdb1 root=/dev/sda12x\n", &m), "(unchanged)",
	       "cmdline: not a word start, another disk, not a partition name: unchanged");
	const struct devmap none = { .nvol = 2, .vols = vols };
	is_str(edited(devref_fstab_edit, "/dev/sda1 / ext4 defaults 0 1\n", &none), "(unchanged)",
	       "fstab: nothing rewritten when the disk's names were not learnt");
}

int main(void)
{
	test_learn();
	test_edit();
	return tap_done();
}
