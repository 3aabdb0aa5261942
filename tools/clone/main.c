/* main.c --- rawkit-clone: not built yet (see the project's issues) */
#include "cli.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	cli_set_program("rawkit-clone");
	if (argc > 1 && strcmp(argv[1], "--help") == 0) {
		puts("Usage: rawkit-clone ...\nrawkit-clone is not implemented yet; it exits with status 2.");
		return EXIT_DONE;
	}
	cli_error(NULL, "not implemented yet");
	return EXIT_USAGE;
}
