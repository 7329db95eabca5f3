/* FrameRPC client in C11. See commerce_client.h and docs/protocol.md. */
#define _POSIX_C_SOURCE 200809L
#include "commerce_client.h"

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

#include "framerpc/v1/envelope.pb-c.h"

enum { FRAME_REQUEST = 1, FRAME_RESPONSE = 2, FRAME_CANCEL = 3, FRAME_PING = 4, FRAME_PONG = 5, FRAME_GOAWAY = 6 };
enum { HEADER_SIZE = 10, PREFACE_SIZE = 8 };
static const uint8_t PREFACE[PREFACE_SIZE] = {'F', 'R', 'P', 'C', 0, 1, 0, 0};

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
    char *authorization;         /* "Bearer <token>" sent on every call, or NULL */
};

/* ---- status helpers ---- */

static char *dup_string(const char *text) {
    if (text == NULL) return NULL;
    size_t length = strlen(text);
    char *copy = malloc(length + 1);
    if (copy != NULL) memcpy(copy, text, length + 1);
    return copy;
}

static void set_status(cc_status *status, uint32_t code, const char *reason, const char *format, ...) {
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

static void copy_status(cc_status *status, const cc_status *from) {
    set_status(status, from->code, from->reason, "%s", from->message ? from->message : "");
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

/* ---- time and socket I/O ---- */

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void put_u32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

static uint32_t get_u32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static int write_all(int fd, const uint8_t *data, size_t length) {
    while (length > 0) {
        ssize_t n = send(fd, data, length, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        data += n;
        length -= (size_t)n;
    }
    return 0;
}

/* Reads exactly length bytes before deadline (ms, monotonic). 0 ok, -1 closed/error, -2 timeout. */
static int read_all(int fd, uint8_t *data, size_t length, int64_t deadline) {
    while (length > 0) {
        int64_t left = deadline - now_ms();
        if (left <= 0) return -2;
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int ready = poll(&pfd, 1, left > 1000000 ? 1000000 : (int)left);
        if (ready < 0 && errno == EINTR) continue;
        if (ready < 0) return -1;
        if (ready == 0) return -2;
        ssize_t n = recv(fd, data, length, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        data += n;
        length -= (size_t)n;
    }
    return 0;
}

static int write_frame(cc_client *client, uint32_t stream_id, uint8_t type, const uint8_t *payload, uint32_t length) {
    uint8_t header[HEADER_SIZE];
    put_u32(header, length);
    put_u32(header + 4, stream_id);
    header[8] = type;
    header[9] = 0;
    if (write_all(client->fd, header, HEADER_SIZE) != 0) return -1;
    if (length > 0 && write_all(client->fd, payload, length) != 0) return -1;
    return 0;
}

/* ---- connection ---- */

int cc_connect(cc_client **out, const char *host, int port, cc_status *status) {
    *out = NULL;
    char service[16];
    snprintf(service, sizeof service, "%d", port);
    struct addrinfo hints = {0}, *addresses = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo(host, service, &hints, &addresses);
    if (rc != 0) {
        set_status(status, CC_UNAVAILABLE, "CONNECT_FAILED", "cannot resolve %s: %s", host, gai_strerror(rc));
        return -1;
    }
    int fd = -1;
    for (struct addrinfo *a = addresses; a != NULL; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
        if (fd < 0) continue;
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) break;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(addresses);
    if (fd < 0) {
        set_status(status, CC_UNAVAILABLE, "CONNECT_FAILED", "cannot connect to %s:%d: %s", host, port, strerror(errno));
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

    uint8_t preface[PREFACE_SIZE];
    if (write_all(fd, PREFACE, PREFACE_SIZE) != 0 || read_all(fd, preface, PREFACE_SIZE, now_ms() + 5000) != 0) {
        set_status(status, CC_UNAVAILABLE, "CONNECT_FAILED", "no FrameRPC preface from %s:%d", host, port);
        close(fd);
        return -1;
    }
    if (memcmp(preface, PREFACE, 4) != 0) {
        set_status(status, CC_UNAVAILABLE, "BAD_PREFACE", "%s:%d is not a FrameRPC server", host, port);
        close(fd);
        return -1;
    }
    if (preface[4] != 0 || preface[5] != 1) {
        set_status(status, CC_UNIMPLEMENTED, "UNSUPPORTED_VERSION", "server speaks version %u", preface[4] << 8 | preface[5]);
        close(fd);
        return -1;
    }
    cc_client *client = calloc(1, sizeof *client);
    if (client == NULL) {
        close(fd);
        set_status(status, CC_INTERNAL, "OUT_OF_MEMORY", "out of memory");
        return -1;
    }
    client->fd = fd;
    client->next_stream_id = 1;
    client->max_frame = CC_DEFAULT_MAX_FRAME;
    client->goaway_last_stream = UINT32_MAX;
    *out = client;
    return 0;
}

void cc_set_max_frame_size(cc_client *client, uint32_t bytes) { client->max_frame = bytes; }

void cc_close(cc_client *client) {
    if (client == NULL) return;
    close(client->fd);
    while (client->parked != NULL) {
        parked *next = client->parked->next;
        if (client->parked->response != NULL) framerpc__v1__response__free_unpacked(client->parked->response, NULL);
        free(client->parked);
        client->parked = next;
    }
    cc_status_clear(&client->goaway);
    free(client->authorization);
    free(client);
}

int cc_set_token(cc_client *client, const char *token) {
    free(client->authorization);
    client->authorization = NULL;
    if (token == NULL || token[0] == '\0') return 0;
    size_t length = strlen("Bearer ") + strlen(token) + 1;
    client->authorization = malloc(length);
    if (client->authorization == NULL) return -1;
    snprintf(client->authorization, length, "Bearer %s", token);
    return 0;
}

/* ---- calls ---- */

int cc_send(cc_client *client, const char *method, const ProtobufCMessage *request,
            const cc_metadata *metadata, size_t metadata_count, uint32_t timeout_ms,
            uint32_t *stream_id, cc_status *status) {
    if (client->broken) {
        set_status(status, CC_UNAVAILABLE, "CONNECTION_CLOSED", "the connection is closed");
        return -1;
    }
    if (client->goaway.reason != NULL) {
        copy_status(status, &client->goaway);
        return -1;
    }
    size_t message_size = protobuf_c_message_get_packed_size(request);
    uint8_t *message = malloc(message_size ? message_size : 1);
    if (message == NULL) {
        set_status(status, CC_INTERNAL, "OUT_OF_MEMORY", "out of memory");
        return -1;
    }
    protobuf_c_message_pack(request, message);

    /* The client's token goes along unless the call brings its own authorization entry. */
    int add_token = client->authorization != NULL;
    for (size_t i = 0; i < metadata_count && add_token; i++) {
        if (strcmp(metadata[i].key, "authorization") == 0) add_token = 0;
    }
    size_t entry_count = metadata_count + (size_t)add_token;
    Framerpc__V1__KeyValue *entries = calloc(entry_count ? entry_count : 1, sizeof *entries);
    Framerpc__V1__KeyValue **pointers = calloc(entry_count ? entry_count : 1, sizeof *pointers);
    if (entries == NULL || pointers == NULL) {
        free(message); free(entries); free(pointers);
        set_status(status, CC_INTERNAL, "OUT_OF_MEMORY", "out of memory");
        return -1;
    }
    for (size_t i = 0; i < metadata_count; i++) {
        framerpc__v1__key_value__init(&entries[i]);
        entries[i].key = (char *)metadata[i].key;
        entries[i].value = (char *)metadata[i].value;
        pointers[i] = &entries[i];
    }
    if (add_token) {
        framerpc__v1__key_value__init(&entries[metadata_count]);
        entries[metadata_count].key = "authorization";
        entries[metadata_count].value = client->authorization;
        pointers[metadata_count] = &entries[metadata_count];
    }
    Framerpc__V1__Request envelope = FRAMERPC__V1__REQUEST__INIT;
    envelope.method = (char *)method;
    envelope.payload.data = message;
    envelope.payload.len = message_size;
    envelope.timeout_micros = (uint64_t)timeout_ms * 1000;
    envelope.n_metadata = entry_count;
    envelope.metadata = pointers;

    size_t size = framerpc__v1__request__get_packed_size(&envelope);
    int rc = -1;
    if (size > client->max_frame) {
        set_status(status, CC_RESOURCE_EXHAUSTED, "FRAME_TOO_LARGE", "request of %zu bytes exceeds %u", size, client->max_frame);
    } else {
        uint8_t *payload = malloc(size ? size : 1);
        if (payload == NULL) {
            set_status(status, CC_INTERNAL, "OUT_OF_MEMORY", "out of memory");
        } else {
            framerpc__v1__request__pack(&envelope, payload);
            uint32_t id = client->next_stream_id++;
            if (write_frame(client, id, FRAME_REQUEST, payload, (uint32_t)size) == 0) {
                *stream_id = id;
                rc = 0;
            } else {
                client->broken = 1;
                set_status(status, CC_UNAVAILABLE, "CONNECTION_CLOSED", "could not send: %s", strerror(errno));
            }
            free(payload);
        }
    }
    free(message);
    free(entries);
    free(pointers);
    return rc;
}

static void park(cc_client *client, uint32_t stream_id, Framerpc__V1__Response *response) {
    parked *entry = malloc(sizeof *entry);
    if (entry == NULL) {
        if (response != NULL) framerpc__v1__response__free_unpacked(response, NULL);
        return;
    }
    entry->stream_id = stream_id;
    entry->response = response;
    entry->next = client->parked;
    client->parked = entry;
}

/* Takes the answer parked for `stream_id`: 1 and *response set (NULL for a malformed envelope), or 0. */
static int unpark(cc_client *client, uint32_t stream_id, Framerpc__V1__Response **response) {
    for (parked **link = &client->parked; *link != NULL; link = &(*link)->next) {
        if ((*link)->stream_id == stream_id) {
            parked *entry = *link;
            *response = entry->response;
            *link = entry->next;
            free(entry);
            return 1;
        }
    }
    return 0;
}

/* Reads one frame and handles it. Returns 0 when a frame was handled, -1 on a broken connection
 * (status set), -2 on timeout. */
static int pump(cc_client *client, int64_t deadline, cc_status *status) {
    uint8_t header[HEADER_SIZE];
    int rc = read_all(client->fd, header, HEADER_SIZE, deadline);
    if (rc == -2) return -2;
    if (rc != 0) goto closed;
    uint32_t length = get_u32(header), stream_id = get_u32(header + 4);
    uint8_t type = header[8];
    if (length > client->max_frame) {
        client->broken = 1;
        set_status(status, CC_RESOURCE_EXHAUSTED, "FRAME_TOO_LARGE", "server frame of %u bytes exceeds %u", length, client->max_frame);
        return -1;
    }
    uint8_t *payload = malloc(length ? length : 1);
    if (payload == NULL) {
        client->broken = 1;
        set_status(status, CC_INTERNAL, "OUT_OF_MEMORY", "out of memory");
        return -1;
    }
    /* Once a frame has started, give it a moment to finish even past the caller's deadline. */
    int64_t frame_deadline = deadline > now_ms() + 5000 ? deadline : now_ms() + 5000;
    if (length > 0 && read_all(client->fd, payload, length, frame_deadline) != 0) {
        free(payload);
        goto closed;
    }
    if (type == FRAME_RESPONSE) {
        /* An answer that is not an envelope still names its stream: that call fails MALFORMED_ENVELOPE. */
        park(client, stream_id, framerpc__v1__response__unpack(NULL, length, payload));
    } else if (type == FRAME_PING) {
        if (write_frame(client, 0, FRAME_PONG, payload, length) != 0) client->broken = 1;
    } else if (type == FRAME_GOAWAY) {
        Framerpc__V1__GoAway *goaway = framerpc__v1__go_away__unpack(NULL, length, payload);
        if (goaway != NULL) {
            client->goaway_last_stream = goaway->last_stream_id;
            const Framerpc__V1__Status *s = goaway->status;
            set_status(&client->goaway, s ? s->code : CC_UNAVAILABLE, s ? s->reason : "GOAWAY", "%s", s ? s->message : "server sent GOAWAY");
            framerpc__v1__go_away__free_unpacked(goaway, NULL);
        }
    }
    free(payload);
    return 0;
closed:
    client->broken = 1;
    if (client->goaway.reason != NULL) {
        copy_status(status, &client->goaway);
    } else {
        set_status(status, CC_UNAVAILABLE, "CONNECTION_CLOSED", "the connection closed before the answer");
    }
    return -1;
}

int cc_wait(cc_client *client, uint32_t stream_id, uint32_t timeout_ms,
            const ProtobufCMessageDescriptor *reply_type, ProtobufCMessage **reply, cc_status *status) {
    *reply = NULL;
    int64_t deadline = now_ms() + (timeout_ms ? timeout_ms : 120000);
    Framerpc__V1__Response *response = NULL;
    while (!unpark(client, stream_id, &response)) {
        if (client->goaway.reason != NULL && stream_id > client->goaway_last_stream) {
            copy_status(status, &client->goaway); /* not processed: safe to retry elsewhere */
            return -1;
        }
        if (client->broken) {
            set_status(status, CC_UNAVAILABLE, "CONNECTION_CLOSED", "the connection is closed");
            return -1;
        }
        int rc = pump(client, deadline, status);
        if (rc == -1) return -1;
        if (rc == -2) {
            cc_cancel(client, stream_id);
            set_status(status, CC_DEADLINE_EXCEEDED, "DEADLINE_EXCEEDED", "no answer within %u ms", timeout_ms);
            return -1;
        }
    }
    if (response == NULL) {
        set_status(status, CC_INTERNAL, "MALFORMED_ENVELOPE", "the server's answer is not a valid Response envelope");
        return -1;
    }
    int rc = -1;
    const Framerpc__V1__Status *s = response->status;
    if (s != NULL && s->code != CC_OK) {
        set_status(status, s->code, s->reason, "%s", s->message);
    } else {
        *reply = protobuf_c_message_unpack(reply_type, NULL, response->payload.len, response->payload.data);
        if (*reply == NULL) {
            set_status(status, CC_INTERNAL, "MALFORMED_MESSAGE", "the reply is not a valid %s", reply_type->name);
        } else {
            cc_status_clear(status);
            rc = 0;
        }
    }
    framerpc__v1__response__free_unpacked(response, NULL);
    return rc;
}

int cc_call(cc_client *client, const char *method, const ProtobufCMessage *request,
            const cc_metadata *metadata, size_t metadata_count, uint32_t timeout_ms,
            const ProtobufCMessageDescriptor *reply_type, ProtobufCMessage **reply, cc_status *status) {
    uint32_t stream_id;
    *reply = NULL;
    if (cc_send(client, method, request, metadata, metadata_count, timeout_ms, &stream_id, status) != 0) return -1;
    return cc_wait(client, stream_id, timeout_ms, reply_type, reply, status);
}

int cc_cancel(cc_client *client, uint32_t stream_id) {
    Framerpc__V1__Response *late = NULL;
    if (unpark(client, stream_id, &late) && late != NULL) framerpc__v1__response__free_unpacked(late, NULL);
    return write_frame(client, stream_id, FRAME_CANCEL, NULL, 0);
}

int cc_send_raw_frame(cc_client *client, uint32_t stream_id, uint8_t type, const uint8_t *payload, uint32_t length) {
    return write_frame(client, stream_id, type, payload, length);
}
