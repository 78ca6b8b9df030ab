/* Socket address helpers shared by the shim (deciding, recording) and the
 * relay (checking who connected, where to go). */
#ifndef SMTPSHIM_ADDR_H
#define SMTPSHIM_ADDR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define ADDR_TEXT_MAX 64 /* "[ffff:...:ffff]:65535" and then some */

/* Port of an AF_INET/AF_INET6 address, 0 for anything else. */
uint16_t addr_port(const struct sockaddr *sa, socklen_t len);

/* A destination on this host: 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104,
 * and the unspecified addresses (0.0.0.0, ::, ::ffff:0.0.0.0), which a
 * connect() on Linux takes to mean this host. */
int addr_is_loopback(const struct sockaddr *sa);

/* 0.0.0.0, :: or ::ffff:0.0.0.0: "this host" to connect(), "every
 * interface" to bind(). */
int addr_is_unspecified(const struct sockaddr *sa);

/* The IP alone, v4-mapped IPv6 shown as IPv4 ("192.0.2.1", "2001:db8::1"). */
int addr_ip_text(const struct sockaddr *sa, char *buf, size_t len);

/* "192.0.2.1:25" or "[2001:db8::1]:25". */
int addr_text(const struct sockaddr *sa, char *buf, size_t len);

/* Parses what addr_text writes. */
int addr_parse(const char *text, struct sockaddr_storage *out, socklen_t *outlen);

/* The 16-byte form of an AF_INET (stored v4-mapped) or AF_INET6 address,
 * so that one comparison serves both; -1 for another family. */
int addr_ip16(int family, const void *ip, unsigned char out[16]);

/* The same for a socket address (NULL or another family: -1). */
int addr_sockaddr_ip16(const struct sockaddr *sa, unsigned char out[16]);

/* True when text is an IPv4 or IPv6 address literal. */
int addr_is_ip_text(const char *text);

/* Same family, address and port (a v4-mapped address equals its IPv4). */
int addr_equal(const struct sockaddr *a, const struct sockaddr *b);

#endif
