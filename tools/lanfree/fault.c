/* fault.c --- a test hook: RAWKIT_FAULT=POINT kills the process at POINT,
 * as a crash or power loss would (tests/71-lanfree-safety.t,
 * tests/99-lanfree-rados.t) */
#include "lanfree.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

void fault_point(const char *point)
{
	const char *want = getenv("RAWKIT_FAULT");

	if (want && !strcmp(want, point))
		raise(SIGKILL);
}
