/* FrameRPC client in C11. Calls: send, wait (answers for other streams parked), call, cancel. See commerce_client.h and docs/protocol.md. */
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

int cc_send(cc_client *client, const char *method, const ProtobufCMessage *request,
            const cc_metadata *metadata, size_t metadata_count, uint32_t timeout_ms,
            uint32_t *stream_id, cc_status *status) {
    if (client->broken) {
        cc__set_status(status, CC_UNAVAILABLE, "CONNECTION_CLOSED", "the connection is closed");
        return -1;
    }
    if (client->goaway.reason != NULL) {
        cc__copy_status(status, &client->goaway);
        return -1;
    }
    size_t message_size = protobuf_c_message_get_packed_size(request);
    uint8_t *message = malloc(message_size ? message_size : 1);
    if (message == NULL) {
        cc__set_status(status, CC_INTERNAL, "OUT_OF_MEMORY", "out of memory");
        return -1;
    }
    protobuf_c_message_pack(request, message);

    /* The client's token goes along unless the call brings its own authorization entry, or the
     * connection's METADATA frame already gave it to the server. */
    int add_token = client->authorization != NULL && !client->token_declared;
    for (size_t i = 0; i < metadata_count && add_token; i++) {
        if (strcmp(metadata[i].key, "authorization") == 0) add_token = 0;
    }
    size_t entry_count = metadata_count + (size_t)add_token;
    Framerpc__V1__KeyValue *entries = calloc(entry_count ? entry_count : 1, sizeof *entries);
    Framerpc__V1__KeyValue **pointers = calloc(entry_count ? entry_count : 1, sizeof *pointers);
    if (entries == NULL || pointers == NULL) {
        free(message); free(entries); free(pointers);
        cc__set_status(status, CC_INTERNAL, "OUT_OF_MEMORY", "out of memory");
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
        cc__set_status(status, CC_RESOURCE_EXHAUSTED, "FRAME_TOO_LARGE", "request of %zu bytes exceeds %u", size, client->max_frame);
    } else {
        uint8_t *payload = malloc(size ? size : 1);
        if (payload == NULL) {
            cc__set_status(status, CC_INTERNAL, "OUT_OF_MEMORY", "out of memory");
        } else {
            framerpc__v1__request__pack(&envelope, payload);
            uint32_t id = client->next_stream_id++;
            if (cc__write_frame(client, id, FRAME_REQUEST, payload, (uint32_t)size) == 0) {
                *stream_id = id;
                rc = 0;
            } else {
                client->broken = 1;
                cc__set_status(status, CC_UNAVAILABLE, "CONNECTION_CLOSED", "could not send: %s", strerror(errno));
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
    int rc = cc__read_all(client->fd, header, HEADER_SIZE, deadline);
    if (rc == -2) return -2;
    if (rc != 0) goto closed;
    uint32_t length = cc__get_u32(header), stream_id = cc__get_u32(header + 4);
    uint8_t type = header[8];
    if (length > client->max_frame) {
        client->broken = 1;
        cc__set_status(status, CC_RESOURCE_EXHAUSTED, "FRAME_TOO_LARGE", "server frame of %u bytes exceeds %u", length, client->max_frame);
        return -1;
    }
    uint8_t *payload = malloc(length ? length : 1);
    if (payload == NULL) {
        client->broken = 1;
        cc__set_status(status, CC_INTERNAL, "OUT_OF_MEMORY", "out of memory");
        return -1;
    }
    /* Once a frame has started, give it a moment to finish even past the caller's deadline. */
    int64_t frame_deadline = deadline > cc__now_ms() + 5000 ? deadline : cc__now_ms() + 5000;
    if (length > 0 && cc__read_all(client->fd, payload, length, frame_deadline) != 0) {
        free(payload);
        goto closed;
    }
    if (type == FRAME_RESPONSE) {
        /* An answer that is not an envelope still names its stream: that call fails MALFORMED_ENVELOPE. */
        park(client, stream_id, framerpc__v1__response__unpack(NULL, length, payload));
    } else if (type == FRAME_PING) {
        if (cc__write_frame(client, 0, FRAME_PONG, payload, length) != 0) client->broken = 1;
    } else if (type == FRAME_GOAWAY) {
        Framerpc__V1__GoAway *goaway = framerpc__v1__go_away__unpack(NULL, length, payload);
        if (goaway != NULL) {
            client->goaway_last_stream = goaway->last_stream_id;
            const Framerpc__V1__Status *s = goaway->status;
            cc__set_status(&client->goaway, s ? s->code : CC_UNAVAILABLE, s ? s->reason : "GOAWAY", "%s", s ? s->message : "server sent GOAWAY");
            framerpc__v1__go_away__free_unpacked(goaway, NULL);
        }
    }
    free(payload);
    return 0;
closed:
    client->broken = 1;
    if (client->goaway.reason != NULL) {
        cc__copy_status(status, &client->goaway);
    } else {
        cc__set_status(status, CC_UNAVAILABLE, "CONNECTION_CLOSED", "the connection closed before the answer");
    }
    return -1;
}

int cc_wait(cc_client *client, uint32_t stream_id, uint32_t timeout_ms,
            const ProtobufCMessageDescriptor *reply_type, ProtobufCMessage **reply, cc_status *status) {
    *reply = NULL;
    int64_t deadline = cc__now_ms() + (timeout_ms ? timeout_ms : 120000);
    Framerpc__V1__Response *response = NULL;
    while (!unpark(client, stream_id, &response)) {
        if (client->goaway.reason != NULL && stream_id > client->goaway_last_stream) {
            cc__copy_status(status, &client->goaway); /* not processed: safe to retry elsewhere */
            return -1;
        }
        if (client->broken) {
            cc__set_status(status, CC_UNAVAILABLE, "CONNECTION_CLOSED", "the connection is closed");
            return -1;
        }
        int rc = pump(client, deadline, status);
        if (rc == -1) return -1;
        if (rc == -2) {
            cc_cancel(client, stream_id);
            cc__set_status(status, CC_DEADLINE_EXCEEDED, "DEADLINE_EXCEEDED", "no answer within %u ms", timeout_ms);
            return -1;
        }
    }
    if (response == NULL) {
        cc__set_status(status, CC_INTERNAL, "MALFORMED_ENVELOPE", "the server's answer is not a valid Response envelope");
        return -1;
    }
    int rc = -1;
    const Framerpc__V1__Status *s = response->status;
    if (s != NULL && s->code != CC_OK) {
        cc__set_status(status, s->code, s->reason, "%s", s->message);
    } else {
        *reply = protobuf_c_message_unpack(reply_type, NULL, response->payload.len, response->payload.data);
        if (*reply == NULL) {
            cc__set_status(status, CC_INTERNAL, "MALFORMED_MESSAGE", "the reply is not a valid %s", reply_type->name);
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
    return cc__write_frame(client, stream_id, FRAME_CANCEL, NULL, 0);
}

int cc_send_raw_frame(cc_client *client, uint32_t stream_id, uint8_t type, const uint8_t *payload, uint32_t length) {
    return cc__write_frame(client, stream_id, type, payload, length);
}
