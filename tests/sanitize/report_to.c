/* Linked only into the sanitizer build of the relay: the shim gives every
 * relay an empty environment (no ASAN_OPTIONS) and /dev/null for stderr,
 * so reports go to files that tests/run-sanitized inspects. */
const char *__asan_default_options(void);
const char *__ubsan_default_options(void);

const char *__asan_default_options(void)
{
	return "log_path=/tmp/smtpshim-sanitizers/asan:detect_leaks=1";
}

const char *__ubsan_default_options(void)
{
	return "log_path=/tmp/smtpshim-sanitizers/ubsan:print_stacktrace=1:halt_on_error=1";
}
