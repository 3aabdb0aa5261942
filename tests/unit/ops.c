/* ops.c --- unit test: --operations lists parsed into the set of operations */
#include "clone.h"
#include "tap.h"

static bool on[OP_COUNT];
static char err[300];

static int enabled_count(void)
{
	int n = 0;

	for (int i = 0; i < OP_COUNT; i++)
		n += on[i];
	return n;
}

int main(void)
{
	is_str(op_name(OP_HOSTNAME), "hostname", "op_name");
	is_str(op_name(OP_SSH_KEY), "ssh-authorized-key", "op_name of the last operation");
	ok(op_meaning(OP_TMP_FILES) && strstr(op_meaning(OP_TMP_FILES), "/var/tmp"), "op_meaning");

	is_int(ops_parse("hostname,machine-id", on, err, sizeof(err)), 0, "a list of names");
	ok(on[OP_HOSTNAME] && on[OP_MACHINE_ID] && enabled_count() == 2, "only those two are on");
	is_int(ops_parse("-logfiles,-tmp-files", on, err, sizeof(err)), 0, "a list starting with -NAME");
	ok(!on[OP_LOGFILES] && !on[OP_TMP_FILES] && enabled_count() == OP_COUNT - 2, "starts from the defaults");
	is_int(ops_parse("all,-hostname", on, err, sizeof(err)), 0, "all then -NAME");
	ok(!on[OP_HOSTNAME] && enabled_count() == OP_COUNT - 1, "every operation but hostname");
	ops_parse("defaults,none,utmp", on, err, sizeof(err));
	ok(on[OP_UTMP] && enabled_count() == 1, "applied in order: none clears, then utmp");
	ops_parse("none", on, err, sizeof(err));
	is_int(enabled_count(), 0, "none");

	is_int(ops_parse("hostname,,utmp", on, err, sizeof(err)), -1, "an empty name refused");
	ok(strstr(err, "empty name") != NULL, "... saying so (%s)", err);
	is_int(ops_parse("hostnames", on, err, sizeof(err)), -1, "an unknown name refused");
	ok(strstr(err, "\"hostnames\"") != NULL, "... naming it (%s)", err);
	is_int(ops_parse("host", on, err, sizeof(err)), -1, "a prefix of a name is not the name");
	is_int(ops_parse("-none", on, err, sizeof(err)), -1, "-none is not an operation");
	return tap_done();
}
