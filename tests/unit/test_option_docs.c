/* Every row of the option table is documented, and every documented option
 * is a row: an entry in smtpshim.conf(5)'s SETTINGS, and for the options
 * the command line takes (OPT_CLI) an entry in smtpshim(1)'s OPTIONS and a
 * line in README.md's usage block.  A new option without docs, or docs of
 * a removed one, fails here.  Run from the source tree (make unit). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shim/common/config.h"
#include "check.h"

#define MAX_ENTRIES 64

struct entries {
	char name[MAX_ENTRIES][64];
	size_t n;
};

static char *read_doc(const char *path)
{
	static char text[4][65536];
	static int next;
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "%s: cannot read it (run from the source tree)\n", path);
		return NULL;
	}
	char *buf = text[next++ % 4];
	size_t n = fread(buf, 1, sizeof text[0] - 1, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

/* The text from the line that starts with `from` to the next line that
 * starts with `to` (or the end), cut in place. */
static char *between(char *text, const char *from, const char *to)
{
	char *start = text ? strstr(text, from) : NULL;
	if (!start)
		return NULL;
	char *end = strstr(start + strlen(from), to);
	if (end)
		*end = '\0';
	return start;
}

/* Adds the option name that starts at p: roff's "\-" is a dash; the name
 * ends at anything that is not a letter, a digit or a dash. */
static void add_name(struct entries *e, const char *p)
{
	char *out = e->name[e->n];
	size_t len = 0;
	while (len < sizeof e->name[0] - 1) {
		if (p[0] == '\\' && p[1] == '-')
			p++;
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
			break;
		out[len++] = *p++;
	}
	out[len] = '\0';
	if (len && e->n < MAX_ENTRIES - 1)
		e->n++;
}

/* The names a man page section's .TP entries give: the first word of the
 * tag line (conf.5: "relay\-idle"), or the word after "\-\-" (smtpshim.1:
 * "\-v", "\-\-verbose"). */
static void man_entries(char *section, const char *marker, struct entries *e)
{
	e->n = 0;
	for (char *p = section; p && (p = strstr(p, "\n.TP\n")); p++) {
		char *tag = p + 5, *eol = strchr(tag, '\n');
		if (eol)
			*eol = '\0';
		char *at = !marker ? strchr(tag, ' ') : strstr(tag, marker);
		if (at)
			add_name(e, at + (marker ? strlen(marker) : 1));
		if (eol)
			*eol = '\n';
	}
}

/* The "  --name ..." lines of README's usage block. */
static void readme_entries(char *block, struct entries *e)
{
	e->n = 0;
	for (char *p = block; p && (p = strstr(p, "--")); p += 2)
		if (p[-1] == ' ' && p[2] >= 'a' && p[2] <= 'z')
			add_name(e, p + 2);
}

static int has(const struct entries *e, const char *name)
{
	for (size_t i = 0; i < e->n; i++)
		if (!strcmp(e->name[i], name))
			return 1;
	return 0;
}

/* Each row the filter selects is an entry, and each entry is such a row. */
static void check_both_ways(const char *doc, const struct entries *e, unsigned need)
{
	CHECK(e->n > 0);
	for (size_t i = 0; i < config_n_options; i++) {
		const struct option_desc *o = &config_options[i];
		if ((o->flags & need) != need)
			continue;
		if (!has(e, o->name))
			fprintf(stderr, "%s does not document the option '%s'\n", doc, o->name);
		CHECK(has(e, o->name));
	}
	for (size_t i = 0; i < e->n; i++) {
		const struct option_desc *o = config_find_option(e->name[i]);
		int ok = o && (o->flags & need) == need;
		if (!ok)
			fprintf(stderr, "%s documents '%s', which is no such option\n", doc, e->name[i]);
		CHECK(ok);
	}
}

static void test_config_file_page_has_an_entry_for_every_row(void)
{
	struct entries e;
	char *settings = between(read_doc("docs/smtpshim.conf.5"), "\n.SH SETTINGS", "\n.SH ");
	CHECK(settings != NULL);
	man_entries(settings, NULL, &e);
	check_both_ways("docs/smtpshim.conf.5 (SETTINGS)", &e, 0);
}

static void test_command_page_has_an_entry_for_every_command_line_row(void)
{
	struct entries e;
	char *options = between(read_doc("docs/smtpshim.1"), "\n.SH OPTIONS", "\n.SH ");
	CHECK(options != NULL);
	man_entries(options, "\\-\\-", &e);
	check_both_ways("docs/smtpshim.1 (OPTIONS)", &e, OPT_CLI);
}

static void test_readme_usage_lists_every_command_line_row(void)
{
	struct entries e;
	char *usage = between(read_doc("README.md"), "\n## Usage", "\n```\n\n");
	CHECK(usage != NULL);
	readme_entries(usage, &e);
	check_both_ways("README.md (Usage)", &e, OPT_CLI);
}

int main(void)
{
	test_config_file_page_has_an_entry_for_every_row();
	test_command_page_has_an_entry_for_every_command_line_row();
	test_readme_usage_lists_every_command_line_row();
	return check_done("test_option_docs");
}
