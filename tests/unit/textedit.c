/* textedit.c --- unit test: word and line edits of guest text, and the MAC unpinning editors */
#include "netcfg.h"
#include "textedit.h"
#include "tap.h"

#include <stdlib.h>

static char *last;

/* The result of an editor call, or "(unchanged)" for NULL; *OUTLEN is read
 * after the call (not as an argument evaluated beside it). */
static const char *shown(char *out, const size_t *outlen)
{
	free(last);
	last = out;
	if (out && strlen(out) != *outlen)
		return "(length differs from outlen)";
	return out ? out : "(unchanged)";
}

static bool comment(const char *line, size_t len)
{
	return starts_key(line, len, "#");
}

static void test_words_lines(void)
{
	static const char hosts[] = "127.0.1.1 web01.example web01\n10.0.0.1 myweb01 web01x web01-b\n";
	size_t n = 0;

	is_str(shown(replace_word(hosts, strlen(hosts), "web01", "db2", &n), &n),
	       "127.0.1.1 db2.example db2\n10.0.0.1 myweb01 web01x web01-b\n",
	       "replace_word: whole words only ('.' ends a word, '-' does not)");
	is_str(shown(replace_word(hosts, strlen(hosts), "db2", "x", &n), &n), "(unchanged)",
	       "replace_word: no match is no change");
	is_str(shown(replace_word(hosts, strlen(hosts), "", "x", &n), &n), "(unchanged)",
	       "replace_word: an empty word is no change");
	is_str(shown(drop_lines("a\n  # b\nc\n#d", 12, comment, &n), &n), "a\nc\n",
	       "drop_lines: indented and unterminated lines dropped");
	is_str(shown(drop_lines("a\nb\n", 4, comment, &n), &n), "(unchanged)", "drop_lines: nothing dropped");
	is_int(indent_of(" \t x", 4), 3, "indent_of: blanks and tabs");
	ok(starts_key("  HWADDR=aa", 11, "HWADDR="), "starts_key: after the indent");
	ok(!starts_key("  HW", 4, "HWADDR="), "starts_key: a line shorter than the key");
	ok(name_is_conf("x.conf") && !name_is_conf(".conf") && !name_is_conf("x.conf.bak"), "name_is_conf");
	ok(name_is_cfg("40.cfg") && !name_is_cfg("40.cfgx"), "name_is_cfg");

	struct text t = { 0 };
	text_add(&t, "ab", 2);
	text_add(&t, "cdef", 2);
	is_str(shown(text_result(&t, true, &n), &n), "abcd", "text_add/text_result: LEN bytes appended");
	struct text u = { 0 };
	text_add(&u, "ab", 2);
	is_str(shown(text_result(&u, false, &n), &n), "(unchanged)", "text_result: not changed is NULL");
}

static void test_netcfg(void)
{
	static const char ifcfg[] = "DEVICE=eth0\nHWADDR=52:54:00:12:34:56\n  MACADDR=x\nONBOOT=yes\n";
	static const char nm[] = "[ethernet]\nmac-address=52:54:00:12:34:56\n";
	static const char netplan[] = "network:\n"
				      "  ethernets:\n"
				      "    lan:\n"
				      "      match:\n"
				      "        macaddress: 52:54:00:12:34:56\n"
				      "      set-name: lan\n"
				      "      dhcp4: true\n"
				      "    wan:\n"
				      "      match:\n"
				      "        macaddress: 52:54:00:aa:bb:cc\n"
				      "        driver: e1000\n"
				      "      set-name: wan\n";
	size_t n = 0;

	is_str(shown(netcfg_ifcfg_edit(ifcfg, strlen(ifcfg), &n, NULL), &n), "DEVICE=eth0\nONBOOT=yes\n",
	       "ifcfg: HWADDR= and MACADDR= dropped");
	is_str(shown(netcfg_nm_edit(nm, strlen(nm), &n, NULL), &n), "[ethernet]\n", "NetworkManager: mac-address= dropped");
	is_str(shown(netcfg_netplan_edit(netplan, strlen(netplan), &n, NULL), &n),
	       "network:\n  ethernets:\n    lan:\n      dhcp4: true\n    wan:\n      match:\n        driver: e1000\n"
	       "      set-name: wan\n",
	       "netplan: an emptied match: goes with its set-name:, a match: still matching stays");
	is_str(shown(netcfg_netplan_edit("network: {}\n", 12, &n, NULL), &n), "(unchanged)", "netplan: no MAC, no change");
}

int main(void)
{
	test_words_lines();
	test_netcfg();
	free(last);
	return tap_done();
}
