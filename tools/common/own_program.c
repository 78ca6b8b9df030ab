/* The mark of smtpshim's own programs (the wrapper and the relay, which
 * is also the probe and check): the shim looks this symbol up once when it
 * loads (shim/settings.c) and stays inert where it finds it, whatever
 * preloaded it -- /etc/ld.so.preload reaches these programs too, and a
 * relay that intercepted its own upstream connection would start another
 * relay, and that one another.  Exported from the executable by the
 * linker (-Wl,--export-dynamic-symbol, see the Makefile). */
__attribute__((visibility("default"), used))
const char smtpshim_own_program[] = "smtpshim";
