/* A spare of the relay server: a child forked ahead of the connection,
 * which waits for one shim on the server's socket, tells the server so
 * (which forks the next spare), and serves that one session. */
#ifndef SMTPSHIM_SPARE_H
#define SMTPSHIM_SPARE_H

/* What a spare tells the server over `report` (one datagram each):
 * 'T' as soon as it took a connection; 'C' and a CA file name when that
 * session's trust store was not built ahead, so the server builds it for
 * the spares to come; 'E' when the session is over. */
#define SPARE_TOOK 'T'
#define SPARE_NEW_CA 'C'
#define SPARE_OVER 'E'
/* Where a session keeps `report`. */
#define SPARE_REPORT_FD 5

/* Runs in the forked child; never returns.  listener: the server's
 * socket; alive: readable (end of file) once the server has gone, when a
 * spare that took nothing exits. */
_Noreturn void spare_run(int listener, int alive, int report);

#endif
