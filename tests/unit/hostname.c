/* hostname.c --- unit test: --hostname patterns made into one host name per target */
#include "clone.h"
#include "tap.h"

static char name[300], err[300];

static int fmt(const char *pattern, size_t index, size_t ntargets)
{
	name[0] = err[0] = '\0';
	return hostname_format(pattern, index, ntargets, name, sizeof(name), err, sizeof(err));
}

int main(void)
{
	is_int(fmt("web%02d", 0, 3), 0, "web%%02d accepted");
	is_str(name, "web01", "first target numbered from 1, zero-padded");
	fmt("web%02d", 11, 12);
	is_str(name, "web12", "twelfth target");
	fmt("db%d.example.com", 4, 9);
	is_str(name, "db5.example.com", "%%d in the middle of a domain name");
	fmt("n%3d", 6, 9);
	is_str(name, "n007", "a space-padded width pads with zeros (no spaces in host names)");
	fmt("web%u", 99, 100);
	is_str(name, "web100", "%%u");
	is_int(fmt("golden", 0, 1), 0, "no number for a single target");
	is_str(name, "golden", "the name as given");

	is_int(fmt("web", 0, 2), -1, "no number for two targets refused");
	ok(strstr(err, "same name") != NULL, "... saying they would share a name (%s)", err);
	is_int(fmt("web%d-%d", 0, 2), -1, "two numbers refused");
	ok(strstr(err, "only one %d") != NULL, "... saying only one is allowed (%s)", err);
	is_int(fmt("web%s", 0, 2), -1, "%%s refused");
	is_int(fmt("web%25d", 0, 2), -1, "a width over 20 refused");
	is_int(fmt("web_%d", 0, 2), -1, "'_' is not valid in a host name");
	ok(strstr(err, "not a valid host name") != NULL, "... saying so (%s)", err);
	is_int(fmt("-web%d", 0, 2), -1, "a label starting with '-' refused");
	is_int(fmt("web%d-", 0, 2), -1, "a label ending with '-' refused");
	is_int(fmt("a..b%d", 0, 2), -1, "an empty label refused");
	is_int(fmt("x%d.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 0, 2), -1,
	       "a label of 64 bytes refused");
	is_int(fmt("x%d.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 0, 2), 0,
	       "a label of 63 bytes accepted");
	is_int(fmt("100%%-web%d", 0, 2), -1, "%%%% gives a literal '%%' (not valid in a name)");
	is_str(name, "100%-web1", "... after making the name");
	return tap_done();
}
