/* version.c --- the library's release version, from the VERSION file (see Makefile) */
#include "imgfmt.h"

#ifndef RAWKIT_VERSION
#error "RAWKIT_VERSION is defined by the Makefile from the VERSION file"
#endif

const char *imgfmt_version(void)
{
	return RAWKIT_VERSION;
}
