/* fault.c --- test hooks: RAWKIT_FAULT=POINT kills the process at POINT,
 * as a crash or power loss would (tests/71-lanfree-safety.t,
 * tests/99-lanfree-rados.t); RAWKIT_STOP=POINT stops it there (SIGSTOP),
 * as a paused VM or a machine swapping for minutes would, until SIGCONT */
#include "lanfree.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

void fault_point(const char *point)
{
	const char *want = getenv("RAWKIT_FAULT");

	if (want && !strcmp(want, point))
		raise(SIGKILL);
	want = getenv("RAWKIT_STOP");
	if (want && !strcmp(want, point))
		raise(SIGSTOP);
}
