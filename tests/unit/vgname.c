/* vgname.c --- unit test: --vg-name patterns, and the rewriting of references
 * to a renamed volume group (vg_rewrite, refs_edit, grubenv_edit)
 */
#include "clone.h"
#include "tap.h"

#include <stdlib.h>

static char name[300], err[300];

static int fmt(const char *pattern, size_t index)
{
	name[0] = err[0] = '\0';
	return vg_name_format(pattern, index, name, 128, err, sizeof(err));
}

/* vg_rewrite of IN from OLD to NEW_NAME: the new text, or "(none)". */
static const char *rw(const char *old, const char *new_name, const char *in)
{
	static char out[4096];
	size_t len = 0;
	char *s = vg_rewrite(old, new_name, in, strlen(in), &len);

	snprintf(out, sizeof(out), "%s", s ? s : "(none)");
	if (s && strlen(s) != len)
		snprintf(out, sizeof(out), "(length %zu for %zu bytes)", len, strlen(s));
	free(s);
	return out;
}

static void names(void)
{
	is_int(fmt("web-vg", 0), 0, "web-vg accepted");
	is_str(name, "web-vg", "... as given");
	fmt("vg%02d", 79);
	is_str(name, "vg80", "vg%%02d for the 80th target");
	fmt("data_%d.x+y", 2);
	is_str(name, "data_3.x+y", "'_', '.', '+' are allowed");
	is_int(fmt("vg", 5), 0, "no number: every target gets the same name (allowed)");
	is_int(fmt("-vg", 0), -1, "a leading '-' refused");
	ok(strstr(err, "not a valid volume group name") != NULL, "... saying so (%s)", err);
	is_int(fmt(".", 0), -1, "\".\" refused");
	is_int(fmt("..", 0), -1, "\"..\" refused");
	is_int(fmt("", 0), -1, "an empty name refused");
	is_int(fmt("web vg", 0), -1, "a space refused");
	is_int(fmt("web/vg", 0), -1, "'/' refused");
	is_int(fmt("vg%d-%d", 0), -1, "two numbers refused");
	ok(strstr(err, "--vg-name") != NULL, "... naming the option (%s)", err);
	char longname[200];
	memset(longname, 'a', 127);
	longname[127] = '\0';
	is_int(fmt(longname, 0), 0, "127 bytes accepted");
	strcat(longname, "b");
	is_int(fmt(longname, 0), -1, "128 bytes refused");
	memset(longname, 'a', 125);
	strcpy(longname + 125, "%d");
	is_int(fmt(longname, 8), 0, "125 bytes and one digit: accepted");
	is_int(fmt(longname, 99), -1, "125 bytes and three digits: refused");
}

static void rewrites(void)
{
	is_str(rw("rhel", "web-vg", "/dev/mapper/rhel-root / xfs defaults 0 0\n"),
	       "/dev/mapper/web--vg-root / xfs defaults 0 0\n", "/dev/mapper: the new name's '-' doubled");
	is_str(rw("rhel", "web-vg", "/dev/rhel/home /home ext4 defaults 1 2\n"), "/dev/web-vg/home /home ext4 defaults 1 2\n",
	       "/dev/VG/LV");
	is_str(rw("rhel", "web-vg", "GRUB_CMDLINE_LINUX=\"rd.lvm.lv=rhel/root rd.lvm.lv=rhel/swap rd.lvm.vg=rhel\"\n"),
	       "GRUB_CMDLINE_LINUX=\"rd.lvm.lv=web-vg/root rd.lvm.lv=web-vg/swap rd.lvm.vg=web-vg\"\n",
	       "rd.lvm.lv and rd.lvm.vg");
	is_str(rw("rhel", "vg01", "kernelopts=root=/dev/mapper/rhel-root ro resume=/dev/mapper/rhel-swap rd.lvm.lv=rhel/root"),
	       "kernelopts=root=/dev/mapper/vg01-root ro resume=/dev/mapper/vg01-swap rd.lvm.lv=vg01/root",
	       "root= and resume=, at the end of the text too");
	is_str(rw("my-vg", "vg", "root=/dev/mapper/my--vg-lv--a x"), "root=/dev/mapper/vg-lv--a x",
	       "an old name with '-': found doubled, the LV's '-' kept");
	is_str(rw("rhel", "x", "set root='lvm/rhel-root'\n"), "set root='lvm/x-root'\n",
	       "GRUB's lvm/VG-LV");
	is_str(rw("rhel", "x", "rhel rhelx /dev/mapper/rhel--x-root /dev/mapper/rhelx-root /dev/rhelx/root rd.lvm.vg=rhelx "
			       "rd.lvm.vg=rhel-x rd.lvm.lv=rhel-x/root /x/dev/rhel/root xrd.lvm.vg=rhel /dev/mapper/rhel- "
			       "/dev/rhel/ /dev/mapper/rhel /dev/mapper/rhel---a lvmid/rhel-root"),
	       "(none)", "other groups, bare words, partial forms and longer paths are left alone");
	is_str(rw("a-", "b", "/dev/mapper/a---lv"), "/dev/mapper/b-lv", "an old name ending in '-'");
	is_str(rw("rhel", "rhel", "/dev/mapper/rhel-root"), "/dev/mapper/rhel-root", "the same name: the same text");
	is_str(rw("rhel", "-bad", "/dev/rhel/root"), "(none)", "an invalid new name: nothing");
	is_str(rw("rhel", "long-name", "\n/dev/rhel/a\n/dev/rhel/b"), "\n/dev/long-name/a\n/dev/long-name/b",
	       "every reference, the text grows");
}

static void editors(void)
{
	struct id_change c = { .kind = "fs", .old_ref = "a98db674-41ca-49d5-8889-8c4cbe91170e",
			       .new_ref = "ef462edb-3263-47d8-a746-da375c462264" };
	struct id_plan p = { &c, 1, "rhel", "web-vg" };
	const char *fstab = "UUID=a98db674-41ca-49d5-8889-8c4cbe91170e /boot xfs 0 0\n/dev/mapper/rhel-root / xfs 0 0\n";
	size_t len = 0;
	char *out = refs_edit(fstab, strlen(fstab), &len, &p);

	is_str(out, "UUID=ef462edb-3263-47d8-a746-da375c462264 /boot xfs 0 0\n/dev/mapper/web--vg-root / xfs 0 0\n",
	       "refs_edit: the UUID and the VG both");
	is_int(len, out ? strlen(out) : 0, "... its length");
	free(out);

	char env[1025];
	bool unfit = false;
	struct grubenv_refs g = { &p, &unfit };
	snprintf(env, sizeof(env), "# GRUB Environment Block\nsaved_entry=x\nkernelopts=root=/dev/mapper/rhel-root "
		 "rd.lvm.lv=rhel/root\n");
	size_t body = strlen(env);
	memset(env + body, '#', 1024 - body);
	env[1024] = '\0';
	out = grubenv_edit(env, 1024, &len, &g);
	is_int(len, 1024, "grubenv: still 1024 bytes");
	const char *want = "# GRUB Environment Block\nsaved_entry=x\nkernelopts=root=/dev/mapper/web--vg-root "
			   "rd.lvm.lv=web-vg/root\n";
	ok(out && !strncmp(out, want, strlen(want)), "grubenv: kernelopts renamed");
	ok(out && strspn(out + strlen(want), "#") == 1024 - strlen(want), "grubenv: '#' from there to the end");
	ok(!unfit, "grubenv: it fits");
	free(out);

	/* a block with room for 3 bytes of padding: growing by 4 does not fit */
	memset(env, '#', 1024);
	memcpy(env, "# GRUB Environment Block\nk=/dev/rhel/a ", 39);
	memset(env + 39, 'z', 1024 - 39 - 4);
	env[1024 - 4] = '\n';
	env[1024] = '\0';
	struct id_plan longer = { NULL, 0, "rhel", "rhel-longer" };
	struct grubenv_refs gl = { &longer, &unfit };
	out = grubenv_edit(env, 1024, &len, &g);
	ok(out != NULL && len == 1024 && !unfit, "grubenv: 2 bytes more fit in its 3 bytes of padding");
	free(out);
	out = grubenv_edit(env, 1024, &len, &gl);
	ok(out == NULL && unfit, "grubenv: a rename that does not fit changes nothing and says so");
	free(out);

	unfit = false;
	out = grubenv_edit("k=/dev/rhel/a\n", 14, &len, &g);
	is_str(out, "k=/dev/web-vg/a\n", "a grubenv that is no block: rewritten as any text");
	free(out);
}

int main(void)
{
	names();
	rewrites();
	editors();
	return tap_done();
}
