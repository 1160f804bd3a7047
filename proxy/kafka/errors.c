/* errors.c - names of Kafka's error codes (errors.h), so that an audit
 * record or a log line says TOPIC_ALREADY_EXISTS rather than 36. */
#include "kafka/errors.h"

#include <stddef.h>

struct error_name {
	int code;                      /* Kafka error code */
	const char *name;              /* its constant's name */
};

static const struct error_name names[] = {
#define KERR_NAME(code, name) { code, #name },
	KAFKA_ERRORS(KERR_NAME)
#undef KERR_NAME
};

const char *kafka_error_name(int code)
{
	/* The list is dense from -1: index code + 1. */
	size_t i = (size_t)(code + 1);
	if (code >= -1 && i < sizeof(names) / sizeof(names[0]) && names[i].code == code)
		return names[i].name;
	return "UNKNOWN";
}
