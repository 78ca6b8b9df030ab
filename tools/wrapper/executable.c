#include "executable.h"

#include <elf.h>
#include <fcntl.h>
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
				       h.e_shnum, h.e_shentsize, h.e_shstrndx};
	} else {
		Elf32_Ehdr h;
		if (read_at(fd, &h, sizeof h, 0) < 0)
			return -1;
		*v = (struct elf_view){0, h.e_phoff, h.e_shoff, h.e_phnum, h.e_phentsize,
				       h.e_shnum, h.e_shentsize, h.e_shstrndx};
	}
	return 0;
}

/* 1 when the program names an interpreter (a dynamic loader), 0 if not. */
static int has_interp(int fd, const struct elf_view *v)
{
	for (unsigned i = 0; i < v->phnum && i < 256; i++) {
		off_t at = (off_t)(v->phoff + (unsigned long)i * v->phentsize);
		unsigned long type;
		if (v->is64) {
			Elf64_Phdr p;
			if (read_at(fd, &p, sizeof p, at) < 0)
				return -1;
			type = p.p_type;
		} else {
			Elf32_Phdr p;
			if (read_at(fd, &p, sizeof p, at) < 0)
				return -1;
			type = p.p_type;
		}
		if (type == PT_INTERP)
			return 1;
	}
	return 0;
}

static void section(int fd, const struct elf_view *v, unsigned i, unsigned long *name,
		    unsigned long *off, unsigned long *size)
{
	off_t at = (off_t)(v->shoff + (unsigned long)i * v->shentsize);
	*name = *off = *size = 0;
	if (v->is64) {
		Elf64_Shdr s;
		if (read_at(fd, &s, sizeof s, at) == 0)
			*name = s.sh_name, *off = s.sh_offset, *size = s.sh_size;
	} else {
		Elf32_Shdr s;
		if (read_at(fd, &s, sizeof s, at) == 0)
			*name = s.sh_name, *off = s.sh_offset, *size = s.sh_size;
	}
}

/* The Go toolchain marks every binary with these sections. */
static int is_go(int fd, const struct elf_view *v)
{
	unsigned long unused, stroff, strsize;
	if (!v->shoff || v->shstrndx >= v->shnum)
		return 0;
	section(fd, v, v->shstrndx, &unused, &stroff, &strsize);
	for (unsigned i = 0; i < v->shnum && i < 4096; i++) {
		unsigned long name, off, size;
		char buf[32] = "";
		section(fd, v, i, &name, &off, &size);
		if (name >= strsize || pread(fd, buf, sizeof buf - 1, (off_t)(stroff + name)) <= 0)
			continue;
		if (!strcmp(buf, ".go.buildinfo") || !strcmp(buf, ".note.go.buildid") ||
		    !strcmp(buf, ".gopclntab"))
			return 1;
	}
	return 0;
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
	if (fstat(fd, &st) == 0)
		info->setuid = (st.st_mode & (S_ISUID | S_ISGID)) != 0;
	if (load_header(fd, &v) == 0) {
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
