/* Fixed-size byte queues between the two sockets: their size bounds the
 * relay's memory whatever the peers send. */
#ifndef SMTPSHIM_BUF_H
#define SMTPSHIM_BUF_H

#include <stddef.h>
#include <string.h>

#define BUF_CAP (64 * 1024)

struct buf {
	size_t start, len;
	char d[BUF_CAP];
};

static inline size_t buf_room(const struct buf *b)
{
	return BUF_CAP - b->len;
}

static inline char *buf_data(struct buf *b)
{
	return b->d + b->start;
}

/* Whether the queued bytes go back to the front to make room at the tail:
 * only once the tail is full and a few are left (a line's end, a record's
 * rest).  Moving them whenever the tail was full copied a large message
 * three times over: each 16 KiB TLS record sent from a full queue moved
 * the 48 KiB behind it.  Bytes queued are always on their way out (the
 * filter takes them while its outputs have room, the pump sends what it
 * passed), and an emptied queue starts over at its front (buf_consume). */
static inline int buf_worth_moving(const struct buf *b)
{
	return b->start && b->start + b->len == BUF_CAP && b->len <= BUF_CAP / 16;
}

/* How much a read could add at the tail now (see buf_tail). */
static inline size_t buf_tail_room(const struct buf *b)
{
	return buf_worth_moving(b) ? BUF_CAP - b->len : BUF_CAP - b->start - b->len;
}

static inline void buf_to_front(struct buf *b)
{
	memmove(b->d, b->d + b->start, b->len);
	b->start = 0;
}

/* Room for a read() straight into the buffer: its free tail. */
static inline char *buf_tail(struct buf *b, size_t *room)
{
	if (buf_worth_moving(b))
		buf_to_front(b);
	*room = BUF_CAP - b->start - b->len;
	return b->d + b->start + b->len;
}

static inline void buf_added(struct buf *b, size_t n)
{
	b->len += n;
}

/* The caller checks buf_room() first. */
static inline void buf_append(struct buf *b, const void *p, size_t n)
{
	if (BUF_CAP - b->start - b->len < n)
		buf_to_front(b);
	memcpy(b->d + b->start + b->len, p, n);
	b->len += n;
}

static inline void buf_consume(struct buf *b, size_t n)
{
	b->start += n;
	b->len -= n;
	if (!b->len)
		b->start = 0;
}

#endif
