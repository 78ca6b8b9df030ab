/* A set-user-ID-root program of the kind su-like and sudo-like tools and
 * appliance wrappers are: it becomes root fully (real, effective and
 * saved uid 0), then runs its arguments with its caller's environment.
 * The child starts without AT_SECURE, so nothing but the shim's own
 * caution keeps the caller's SMTPSHIM_* variables from deciding what runs
 * as root (test_privileged_settings.py). */
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: become_root_and_run COMMAND [ARGS...]\n");
		return 2;
	}
	if (setgid(0) < 0 || setuid(0) < 0) {
		perror("FAIL: become root");
		return 1;
	}
	execvp(argv[1], argv + 1);
	perror("FAIL: exec");
	return 127;
}
