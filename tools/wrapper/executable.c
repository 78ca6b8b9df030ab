#include "executable.h"

#include <elf.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int find_in_path(const char *command, char *out, size_t len)
{
	if (strchr(command, '/')) {
		snprintf(out, len, "%s", command);
		return access(out, X_OK);
	}
	const char *path = getenv("PATH");
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path) {
		size_t n = strcspn(path, ":");
		snprintf(out, len, "%.*s%s%s", (int)n, path, n ? "/" : "", command);
		if (access(out, X_OK) == 0)
			return 0;
		path += n + (path[n] == ':');
	}
	return -1;
}

static int read_at(int fd, void *buf, size_t len, off_t off)
{
	return pread(fd, buf, len, off) == (ssize_t)len ? 0 : -1;
}

/* The fields we need, from either ELF class. */
struct elf_view {
	int is64;
	unsigned long phoff, shoff;
	unsigned phnum, phentsize, shnum, shentsize, shstrndx;
	unsigned long file_size; /* no table is read from beyond it */
};

static int load_header(int fd, struct elf_view *v)
{
	unsigned char id[EI_NIDENT];
	if (read_at(fd, id, sizeof id, 0) < 0 || memcmp(id, ELFMAG, SELFMAG))
		return -1;
	v->is64 = id[EI_CLASS] == ELFCLASS64;
	if (v->is64) {
		Elf64_Ehdr h;
		if (read_at(fd, &h, sizeof h, 0) < 0)
			return -1;
		*v = (struct elf_view){1, h.e_phoff, h.e_shoff, h.e_phnum, h.e_phentsize,
				       h.e_shnum, h.e_shentsize, h.e_shstrndx, 0};
	} else {
		Elf32_Ehdr h;
		if (read_at(fd, &h, sizeof h, 0) < 0)
			return -1;
		*v = (struct elf_view){0, h.e_phoff, h.e_shoff, h.e_phnum, h.e_phentsize,
				       h.e_shnum, h.e_shentsize, h.e_shstrndx, 0};
	}
	return 0;
}

/* A whole table of the file in one read (the wrapper runs before every
 * command: one read each, not one per entry); NULL if it is not there,
 * in the file's bounds (a crafted header asks for no large allocation). */
static unsigned char *read_table(int fd, const struct elf_view *v, unsigned long off, size_t n)
{
	if (off > v->file_size || n > v->file_size - off)
		return NULL;
	unsigned char *t = n ? malloc(n) : NULL;
	if (t && read_at(fd, t, n, (off_t)off) < 0) {
		free(t);
		t = NULL;
	}
	return t;
}

/* 1 when the program names an interpreter (a dynamic loader), 0 if not. */
static int has_interp(int fd, const struct elf_view *v)
{
	size_t entry = v->is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);
	unsigned n = v->phnum < 256 ? v->phnum : 256;
	if (n && v->phentsize < entry)
		return -1;
	unsigned char *t = read_table(fd, v, v->phoff, (size_t)n * v->phentsize);
	if (!t)
		return n ? -1 : 0;
	int found = 0;
	for (unsigned i = 0; i < n && !found; i++) {
		uint32_t type; /* p_type leads both classes' entries */
		memcpy(&type, t + (size_t)i * v->phentsize, sizeof type);
		found = type == PT_INTERP;
	}
	free(t);
	return found;
}

static void section(const unsigned char *table, const struct elf_view *v, unsigned i,
		    unsigned long *name, unsigned long *off, unsigned long *size)
{
	const unsigned char *at = table + (size_t)i * v->shentsize;
	if (v->is64) {
		Elf64_Shdr s;
		memcpy(&s, at, sizeof s);
		*name = s.sh_name, *off = s.sh_offset, *size = s.sh_size;
	} else {
		Elf32_Shdr s;
		memcpy(&s, at, sizeof s);
		*name = s.sh_name, *off = s.sh_offset, *size = s.sh_size;
	}
}

/* The Go toolchain marks every binary with these sections. */
static int is_go(int fd, const struct elf_view *v)
{
	static const char *const marks[] = {".go.buildinfo", ".note.go.buildid", ".gopclntab"};
	size_t entry = v->is64 ? sizeof(Elf64_Shdr) : sizeof(Elf32_Shdr);
	unsigned long unused, stroff, strsize;
	unsigned n = v->shnum < 4096 ? v->shnum : 4096;
	if (!v->shoff || v->shstrndx >= n || v->shentsize < entry)
		return 0;
	unsigned char *table = read_table(fd, v, v->shoff, (size_t)n * v->shentsize);
	if (!table)
		return 0;
	section(table, v, v->shstrndx, &unused, &stroff, &strsize);
	/* Section names are short; a larger string table is not a Go one's. */
	char *names = strsize <= 65536 ? (char *)read_table(fd, v, stroff, strsize) : NULL;
	int go = 0;
	for (unsigned i = 0; names && i < n && !go; i++) {
		unsigned long name, off, size;
		section(table, v, i, &name, &off, &size);
		if (name >= strsize)
			continue;
		for (size_t k = 0; k < sizeof marks / sizeof marks[0]; k++)
			go |= strncmp(names + name, marks[k], strsize - name) == 0 &&
			      strlen(marks[k]) < strsize - name;
	}
	free(names);
	free(table);
	return go;
}

void executable_inspect(const char *command, struct exe_info *info)
{
	struct elf_view v;
	struct stat st;

	memset(info, 0, sizeof *info);
	if (find_in_path(command, info->path, sizeof info->path) < 0)
		return;
	int fd = open(info->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return;
	}
	info->setuid = (st.st_mode & (S_ISUID | S_ISGID)) != 0;
	if (load_header(fd, &v) == 0) {
		v.file_size = (unsigned long)st.st_size;
		int interp = has_interp(fd, &v);
		if (is_go(fd, &v))
			info->kind = EXE_GO;
		else if (interp == 0)
			info->kind = EXE_STATIC;
		else if (interp > 0)
			info->kind = EXE_DYNAMIC;
	}
	close(fd);
}
