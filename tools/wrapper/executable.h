/* What kind of program the wrapper is about to run, so that it can pick
 * the shim build that will load into it, or say plainly that none will. */
#ifndef SMTPSHIM_EXECUTABLE_H
#define SMTPSHIM_EXECUTABLE_H

#include <stddef.h>

enum exe_kind {
	EXE_UNKNOWN,  /* not found, not readable, or not ELF (a script): just run it */
	EXE_DYNAMIC,  /* dynamically linked (glibc or musl): the shim can load */
	EXE_STATIC,   /* no program interpreter: LD_PRELOAD cannot reach it */
	EXE_GO,       /* Go: makes its own system calls, whatever its linking */
};

struct exe_info {
	enum exe_kind kind;
	char path[4096];   /* where PATH search found it */
	int setuid;        /* set-user/group-ID bit: glibc restricts LD_PRELOAD */
};

/* Looks the command up as execvp() would and reads its ELF headers. */
void executable_inspect(const char *command, struct exe_info *info);

#endif
