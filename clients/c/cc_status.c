/* FrameRPC client in C11. Status values: cc_status, code names. See commerce_client.h and docs/protocol.md. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cc_internal.h"

static char *dup_string(const char *text) {
    if (text == NULL) return NULL;
    size_t length = strlen(text);
    char *copy = malloc(length + 1);
    if (copy != NULL) memcpy(copy, text, length + 1);
    return copy;
}

void cc__set_status(cc_status *status, uint32_t code, const char *reason, const char *format, ...) {
    if (status == NULL) return;
    cc_status_clear(status);
    status->code = code;
    status->reason = dup_string(reason);
    char buffer[256];
    va_list args;
    va_start(args, format);
    vsnprintf(buffer, sizeof buffer, format, args);
    va_end(args);
    status->message = dup_string(buffer);
}

void cc__copy_status(cc_status *status, const cc_status *from) {
    cc__set_status(status, from->code, from->reason, "%s", from->message ? from->message : "");
}

void cc_status_clear(cc_status *status) {
    if (status == NULL) return;
    free(status->reason);
    free(status->message);
    status->code = CC_OK;
    status->reason = NULL;
    status->message = NULL;
}

const char *cc_code_name(uint32_t code) {
    static const char *names[] = {"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
                                  "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
                                  "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
                                  "UNAUTHENTICATED"};
    return code < sizeof names / sizeof names[0] ? names[code] : "UNKNOWN_CODE";
}
