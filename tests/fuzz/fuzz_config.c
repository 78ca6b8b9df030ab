/* libFuzzer target: config text (a config file's lines, or the session
 * text a relay reads). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shim/common/config.h"

static struct config c;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), err[CONFIG_ERROR_MAX], out[16384];
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	config_defaults(&c);
	if (config_parse_text(&c, text, err, sizeof err) == 0) {
		/* what parses must write back and parse the same */
		struct config again;
		config_defaults(&again);
		if (config_write(&c, out, sizeof out) > 0 &&
		    config_parse_text(&again, out, err, sizeof err) != 0)
			__builtin_trap();
	}
	free(text);
	return 0;
}
