/* What the C client's source files share, and nothing a caller needs: see commerce_client.h. */
#ifndef CC_INTERNAL_H
#define CC_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "commerce_client.h"
#include "framerpc/v1/envelope.pb-c.h"

enum { FRAME_REQUEST = 1, FRAME_RESPONSE = 2, FRAME_CANCEL = 3, FRAME_PING = 4, FRAME_PONG = 5, FRAME_GOAWAY = 6, FRAME_METADATA = 7 };
enum { HEADER_SIZE = 10, PREFACE_SIZE = 8 };
extern const uint8_t CC_PREFACE[PREFACE_SIZE];

/* An answer that arrived while the caller waited for another stream. */
typedef struct parked {
    uint32_t stream_id;
    Framerpc__V1__Response *response; /* NULL: the answer was not a valid Response envelope */
    struct parked *next;
} parked;

struct cc_client {
    int fd;
    uint32_t next_stream_id;
    uint32_t max_frame;
    uint32_t goaway_last_stream; /* UINT32_MAX until a GOAWAY arrives */
    cc_status goaway;            /* why, once a GOAWAY arrived */
    int broken;                  /* the connection failed; no more calls */
    parked *parked;
    char *authorization;         /* "Bearer <token>", or NULL */
    int takes_metadata;          /* the server's preface has flag bit 0: METADATA frames */
    int token_declared;          /* authorization went in a METADATA frame: calls leave it out */
};

/* Status (cc_status.c). */
void cc__set_status(cc_status *status, uint32_t code, const char *reason, const char *format, ...);
void cc__copy_status(cc_status *status, const cc_status *from);

/* Time, socket I/O and frames (cc_wire.c). */
int64_t cc__now_ms(void);
uint32_t cc__get_u32(const uint8_t *p);
int cc__write_all(int fd, const uint8_t *data, size_t length);
int cc__read_all(int fd, uint8_t *data, size_t length, int64_t deadline);
int cc__write_frame(cc_client *client, uint32_t stream_id, uint8_t type, const uint8_t *payload, uint32_t length);

#endif /* CC_INTERNAL_H */
