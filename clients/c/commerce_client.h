/*
 * commerce_client: a small FrameRPC client in C11 (POSIX sockets + protobuf-c).
 *
 * One connection, several calls in flight: cc_send() starts a call and returns its stream id,
 * cc_wait() waits for that call's answer while keeping answers to other calls for later.
 * cc_call() does both. See docs/protocol.md for the protocol itself.
 *
 *   cc_client *client;
 *   cc_status status = CC_STATUS_INIT;
 *   if (cc_connect(&client, "127.0.0.1", 7070, &status) != 0) { ... status.reason ... }
 *   Commerce__V1__GetBalanceRequest req = COMMERCE__V1__GET_BALANCE_REQUEST__INIT;
 *   req.user_id = 1;
 *   Commerce__V1__GetBalanceResponse *reply = NULL;
 *   if (cc_call(client, "/commerce.v1.BalanceService/GetBalance", &req.base, NULL, 0, 5000,
 *               &commerce__v1__get_balance_response__descriptor, (ProtobufCMessage **)&reply, &status) == 0) {
 *       printf("%lld\n", (long long)reply->balance);
 *       protobuf_c_message_free_unpacked(&reply->base, NULL);
 *   }
 *   cc_status_clear(&status);
 *   cc_close(client);
 */
#ifndef COMMERCE_CLIENT_H
#define COMMERCE_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <protobuf-c/protobuf-c.h>

#ifdef __cplusplus
extern "C" {
#endif

/* gRPC status code numbers (the subset a client usually checks). */
enum {
    CC_OK = 0,
    CC_CANCELLED = 1,
    CC_INVALID_ARGUMENT = 3,
    CC_DEADLINE_EXCEEDED = 4,
    CC_NOT_FOUND = 5,
    CC_ALREADY_EXISTS = 6,
    CC_PERMISSION_DENIED = 7,
    CC_RESOURCE_EXHAUSTED = 8,
    CC_FAILED_PRECONDITION = 9,
    CC_UNIMPLEMENTED = 12,
    CC_INTERNAL = 13,
    CC_UNAVAILABLE = 14,
    CC_UNAUTHENTICATED = 16
};

/* The outcome of a call. reason and message are heap strings owned by the status (or NULL):
 * release them with cc_status_clear(). */
typedef struct {
    uint32_t code;
    char *reason;
    char *message;
} cc_status;

#define CC_STATUS_INIT {0, NULL, NULL}

void cc_status_clear(cc_status *status);
const char *cc_code_name(uint32_t code);

/* One metadata entry, e.g. {"authorization", "Bearer secret"}. */
typedef struct {
    const char *key;
    const char *value;
} cc_metadata;

typedef struct cc_client cc_client;

/* Largest frame this client accepts or sends, unless changed with cc_set_max_frame_size(). */
#define CC_DEFAULT_MAX_FRAME (4u * 1024u * 1024u)

/* Connects, sends the preface and checks the server's. 0 on success; -1 with *status set. */
int cc_connect(cc_client **out, const char *host, int port, cc_status *status);
void cc_set_max_frame_size(cc_client *client, uint32_t bytes);
/* The bearer token, "authorization: Bearer <token>", of every call whose metadata has no
 * authorization entry of its own (NULL or "" none). To a server that takes METADATA frames it is
 * sent once, now, for the whole connection (and NULL clears it there); to any other, with every
 * call. The token is copied. 0, or -1 if out of memory or the frame could not be written.
 * Browsing (products, best sellers) needs no token; see docs/security.md. */
int cc_set_token(cc_client *client, const char *token);
/* Closes the socket and frees the client and any answers nobody collected. */
void cc_close(cc_client *client);

/* Starts a call; *stream_id identifies it for cc_wait()/cc_cancel(). timeout_ms is sent to the
 * server as the call's deadline (0 = the server's maximum). 0 on success; -1 with *status set. */
int cc_send(cc_client *client, const char *method, const ProtobufCMessage *request,
            const cc_metadata *metadata, size_t metadata_count, uint32_t timeout_ms,
            uint32_t *stream_id, cc_status *status);

/* Waits up to timeout_ms for the answer of stream_id. On OK, *reply is the decoded message (free it
 * with protobuf_c_message_free_unpacked) and 0 is returned. Otherwise -1, *reply is NULL and
 * *status says why: the server's status, or DEADLINE_EXCEEDED (after sending CANCEL), or
 * UNAVAILABLE if the connection broke. */
int cc_wait(cc_client *client, uint32_t stream_id, uint32_t timeout_ms,
            const ProtobufCMessageDescriptor *reply_type, ProtobufCMessage **reply, cc_status *status);

/* cc_send + cc_wait. */
int cc_call(cc_client *client, const char *method, const ProtobufCMessage *request,
            const cc_metadata *metadata, size_t metadata_count, uint32_t timeout_ms,
            const ProtobufCMessageDescriptor *reply_type, ProtobufCMessage **reply, cc_status *status);

/* Tells the server nobody waits for stream_id any more. */
int cc_cancel(cc_client *client, uint32_t stream_id);

/* Sends a raw frame (for tests of the server's error handling). */
int cc_send_raw_frame(cc_client *client, uint32_t stream_id, uint8_t type, const uint8_t *payload, uint32_t length);

#ifdef __cplusplus
}
#endif
#endif
