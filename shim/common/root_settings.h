/* The hand-over from root's own wrapper to the root processes it starts.
 *
 * A process running as root cannot tell its environment's SMTPSHIM_*
 * variables from a less privileged user's: a set-user-ID program that
 * became root fully runs its child with the caller's environment, and no
 * AT_SECURE marks it.  So root's wrapper writes the environment it means
 * (the SMTPSHIM_* variables, PATH, HOME and the XDG directories) as
 * "NAME=value" lines to a file in ROOT_SETTINGS_DIR, a directory only root
 * can enter, and passes its name alone in ROOT_SETTINGS_VAR.  A root
 * process reads nothing else of its environment, and that file only after
 * checking it and the whole path are root's (trusted_file.h): a user can
 * at most name settings root itself chose. */
#ifndef SMTPSHIM_ROOT_SETTINGS_H
#define SMTPSHIM_ROOT_SETTINGS_H

#ifndef ROOT_SETTINGS_DIR
#define ROOT_SETTINGS_DIR "/run/smtpshim"
#endif
#define ROOT_SETTINGS_VAR "SMTPSHIM_SETTINGS"
/* The file name: "env-" and 16 hex digits, nothing a path could hide in. */
#define ROOT_SETTINGS_NAME_MAX 32
#define ROOT_SETTINGS_MAX 16384

#endif
