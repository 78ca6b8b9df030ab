#include "shell_env.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

/* 'value' with every ' written as '\'' : nothing in it is expanded. */
static void print_quoted(const char *v)
{
	putchar('\'');
	for (; *v; v++)
		if (*v == '\'')
			fputs("'\\''", stdout);
		else
			putchar(*v);
	putchar('\'');
}

static void print_export(const char *name, size_t len, const char *value)
{
	printf("export %.*s=", (int)len, name);
	print_quoted(value);
	putchar('\n');
}

static int is_shim_entry(const char *entry, size_t len)
{
	static const char base[] = "libsmtpshim.so";
	size_t n = sizeof base - 1;
	return len >= n && !strncmp(entry + len - n, base, n) &&
	       (len == n || entry[len - n - 1] == '/');
}

/* LD_PRELOAD's entries (':' or ' ' separated) but the shim's, joined. */
static void preload_without_shim(const char *old, char *out, size_t outlen)
{
	size_t n = 0;
	out[0] = '\0';
	while (old && *old) {
		size_t len = strcspn(old, ": ");
		if (len && !is_shim_entry(old, len) && n + len + 2 < outlen) {
			if (n)
				out[n++] = ':';
			memcpy(out + n, old, len);
			out[n += len] = '\0';
		}
		old += len + (old[len] != '\0');
	}
}

void shell_env_on(const char *lib)
{
	static char rest[8192], value[8192 + 4096];
	preload_without_shim(getenv("LD_PRELOAD"), rest, sizeof rest);
	snprintf(value, sizeof value, "%s%s%s", lib, rest[0] ? ":" : "", rest);
	print_export("LD_PRELOAD", strlen("LD_PRELOAD"), value);
	for (char **e = environ; *e; e++)
		if (!strncmp(*e, "SMTPSHIM_", 9) && strchr(*e, '='))
			print_export(*e, (size_t)(strchr(*e, '=') - *e), strchr(*e, '=') + 1);
}

void shell_env_off(void)
{
	static char rest[8192];
	for (char **e = environ; *e; e++)
		if (!strncmp(*e, "SMTPSHIM_", 9) && strchr(*e, '='))
			printf("unset %.*s\n", (int)(strchr(*e, '=') - *e), *e);
	preload_without_shim(getenv("LD_PRELOAD"), rest, sizeof rest);
	if (rest[0])
		print_export("LD_PRELOAD", strlen("LD_PRELOAD"), rest);
	else
		puts("unset LD_PRELOAD");
}
