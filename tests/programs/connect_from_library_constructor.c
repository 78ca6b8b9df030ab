/* The main program for connect_in_constructor.c's library, which is either
 * linked in (DT_NEEDED) or preloaded next to the shim: by the time main()
 * runs, the library's constructor must have delivered.  main() finds the
 * library's result by name, so one binary serves both ways of loading it.
 *
 * usage: connect_from_library_constructor   (CTOR_* set in the environment) */
#include <dlfcn.h>

#include "smtp_client.h"

int main(void)
{
	int *result = dlsym(RTLD_DEFAULT, "ctor_result");
	if (!result)
		fail("the constructor library is not loaded");
	if (*result != 0)
		fail("the constructor did not deliver (ctor_result %d)", *result);
	ok("main runs after the constructor delivered");
	return 0;
}
