/*
 * The C client against servers that misbehave: fake FrameRPC servers on loopback (a child
 * process each) send exactly the bytes a case needs, and the client must answer each with a clear
 * status, never a crash, a hang or a leak. Needs no commerce server.
 *
 *   build/hostile_test        (run by run-tests.sh under AddressSanitizer and Valgrind)
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "commerce_client.h"
#include "framerpc/v1/builtin.pb-c.h"
#include "framerpc/v1/envelope.pb-c.h"
#include "commerce_methods.h"

static int checks = 0, failures = 0;
#define CHECK(cond, ...)                                                    \
    do {                                                                    \
        checks++;                                                           \
        if (!(cond)) {                                                      \
            failures++;                                                     \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);            \
            fprintf(stderr, __VA_ARGS__);                                   \
            fprintf(stderr, "\n");                                          \
        }                                                                   \
    } while (0)

enum { REQUEST = 1, RESPONSE = 2, CANCEL = 3, PING = 4, PONG = 5, GOAWAY = 6, METADATA = 7 };

/* A frame: u32 length, u32 stream id, u8 type, u8 flags, payload. Returns its size. */
static size_t frame(uint8_t *out, uint32_t stream_id, uint8_t type, const uint8_t *payload, uint32_t length) {
    const uint32_t be_length = htonl(length), be_stream = htonl(stream_id);
    memcpy(out, &be_length, 4);
    memcpy(out + 4, &be_stream, 4);
    out[8] = type;
    out[9] = 0;
    if (length > 0) memcpy(out + 10, payload, length);
    return 10 + (size_t)length;
}

/* Reads until `length` bytes came or 5 s passed. */
static int read_exactly(int fd, uint8_t *buffer, size_t length) {
    struct timeval timeout = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    size_t got = 0;
    while (got < length) {
        ssize_t n = recv(fd, buffer + got, length - got, 0);
        if (n <= 0) return -1;
        got += (size_t)n;
    }
    return 0;
}

/* A listening socket on a free loopback port, for one fake server's connection. */
static int listen_on_loopback(int *port) {
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = 0, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(listener, (struct sockaddr *)&address, sizeof address);
    listen(listener, 1);
    socklen_t size = sizeof address;
    getsockname(listener, (struct sockaddr *)&address, &size);
    *port = ntohs(address.sin_port);
    return listener;
}

/*
 * A fake server on a free port. After its preface it reads the client's first REQUEST frame, sends
 * `script`; then, if `expect` is given, reads that many bytes and, only if they are exactly
 * `expect`, sends `after`. Then it closes. Returns the port.
 */
static int fake_server(const uint8_t *script, size_t length, const uint8_t *expect, size_t expect_length,
                       const uint8_t *after, size_t after_length, pid_t *child) {
    int port = 0, listener = listen_on_loopback(&port);
    *child = fork();
    if (*child == 0) {
        int fd = accept(listener, NULL, NULL);
        uint8_t preface[8], header[10];
        if (read_exactly(fd, preface, 8) == 0) {
            const uint8_t mine[8] = {'F', 'R', 'P', 'C', 0, 1, 0, 0};
            send(fd, mine, sizeof mine, 0);
            if (read_exactly(fd, header, 10) == 0) {
                uint32_t request_length;
                memcpy(&request_length, header, 4);
                uint8_t *request = malloc(ntohl(request_length) + 1);
                if (request != NULL && read_exactly(fd, request, ntohl(request_length)) == 0) {
                    send(fd, script, length, 0);
                    if (expect_length > 0) {
                        uint8_t *got = malloc(expect_length);
                        if (got != NULL && read_exactly(fd, got, expect_length) == 0 && memcmp(got, expect, expect_length) == 0) {
                            send(fd, after, after_length, 0);
                        }
                        free(got);
                    }
                }
                free(request);
            }
        }
        close(fd);
        _exit(0);
    }
    close(listener);
    return port;
}

/* Reads one frame: its header into `header`, its payload (malloc'd, or NULL when empty) into `*payload`. */
static int read_frame(int fd, uint8_t header[10], uint8_t **payload, uint32_t *length) {
    if (read_exactly(fd, header, 10) != 0) return -1;
    *length = (uint32_t)header[0] << 24 | (uint32_t)header[1] << 16 | (uint32_t)header[2] << 8 | header[3];
    *payload = *length > 0 ? malloc(*length) : NULL;
    if (*length > 0 && (*payload == NULL || read_exactly(fd, *payload, *length) != 0)) return -1;
    return 0;
}

/*
 * A fake server whose preface says it takes METADATA frames. It exits 0 only if the client's first
 * frame is a METADATA frame on stream 0 holding exactly "authorization: Bearer tok", and its next a
 * REQUEST without any authorization entry, which it answers with `reply` (exit codes 1-4 otherwise).
 */
static int metadata_server(const uint8_t *reply, size_t reply_length, pid_t *child) {
    int port = 0, listener = listen_on_loopback(&port);
    *child = fork();
    if (*child == 0) {
        int fd = accept(listener, NULL, NULL), verdict = 1;
        uint8_t preface[8], header[10], *payload = NULL;
        uint32_t length = 0;
        const uint8_t mine[8] = {'F', 'R', 'P', 'C', 0, 1, 0, 1};
        if (read_exactly(fd, preface, 8) == 0 && send(fd, mine, sizeof mine, 0) == 8 && read_frame(fd, header, &payload, &length) == 0) {
            verdict = 2;
            Framerpc__V1__ConnectionMetadata *declared = NULL;
            if (header[8] == METADATA && memcmp(header + 4, "\0\0\0\0", 4) == 0 &&
                (declared = framerpc__v1__connection_metadata__unpack(NULL, length, payload)) != NULL && declared->n_metadata == 1 &&
                strcmp(declared->metadata[0]->key, "authorization") == 0 && strcmp(declared->metadata[0]->value, "Bearer tok") == 0) {
                verdict = 3;
                free(payload);
                payload = NULL;
                Framerpc__V1__Request *request = NULL;
                if (read_frame(fd, header, &payload, &length) == 0 && header[8] == REQUEST &&
                    (request = framerpc__v1__request__unpack(NULL, length, payload)) != NULL) {
                    verdict = 0;
                    for (size_t i = 0; i < request->n_metadata; i++) {
                        if (strcmp(request->metadata[i]->key, "authorization") == 0) verdict = 4;
                    }
                    send(fd, reply, reply_length, 0);
                    uint8_t rest[1];
                    (void)read_exactly(fd, rest, 1); /* until the client closes */
                }
                if (request != NULL) framerpc__v1__request__free_unpacked(request, NULL);
            }
            if (declared != NULL) framerpc__v1__connection_metadata__free_unpacked(declared, NULL);
        }
        free(payload);
        close(fd);
        _exit(verdict);
    }
    close(listener);
    return port;
}

/* Calls Health/Check on a fake server within `timeout_ms`; returns the call's result, the status in `status`. */
static int health_check(int port, uint32_t timeout_ms, cc_status *status, uint32_t *serving) {
    cc_client *client = NULL;
    if (cc_connect(&client, "127.0.0.1", port, status) != 0) return -2;
    Framerpc__V1__HealthCheckRequest request = FRAMERPC__V1__HEALTH_CHECK_REQUEST__INIT;
    ProtobufCMessage *reply = NULL;
    int rc = cc_call(client, FRAMERPC_V1_HEALTH_CHECK, &request.base, NULL, 0, timeout_ms, &framerpc__v1__health_check_response__descriptor,
                     &reply, status);
    if (rc == 0 && serving) *serving = ((Framerpc__V1__HealthCheckResponse *)reply)->status;
    if (reply) protobuf_c_message_free_unpacked(reply, NULL);
    cc_close(client);
    return rc;
}

/* `stall`: the fake server then waits (5 s) for a byte that never comes before it closes. */
static void expect_refusal(const char *name, const uint8_t *script, size_t length, int stall, uint32_t timeout_ms, uint32_t code,
                           const char *reason) {
    pid_t child;
    const uint8_t never[1] = {0xFF};
    int port = fake_server(script, length, never, stall ? 1 : 0, NULL, 0, &child);
    cc_status status = CC_STATUS_INIT;
    int rc = health_check(port, timeout_ms, &status, NULL);
    CHECK(rc == -1 && status.code == code && status.reason && strcmp(status.reason, reason) == 0, "%s: got rc %d, %s/%s", name, rc,
          cc_code_name(status.code), status.reason ? status.reason : "-");
    cc_status_clear(&status);
    waitpid(child, NULL, 0);
}

int main(void) {
    uint8_t script[256], expect[64], after[256];

    /* GOAWAY with last stream 0 (the call was not processed), then close: the GOAWAY's status. */
    Framerpc__V1__Status draining = FRAMERPC__V1__STATUS__INIT;
    draining.code = CC_UNAVAILABLE;
    draining.reason = "SERVER_DRAINING";
    draining.message = "shutting down";
    Framerpc__V1__GoAway goaway = FRAMERPC__V1__GO_AWAY__INIT;
    goaway.last_stream_id = 0;
    goaway.status = &draining;
    uint8_t packed[128];
    size_t packed_length = framerpc__v1__go_away__pack(&goaway, packed);
    expect_refusal("GOAWAY", script, frame(script, 0, GOAWAY, packed, (uint32_t)packed_length), 0, 10000, CC_UNAVAILABLE, "SERVER_DRAINING");

    /* A RESPONSE header promising 256 MiB: refused by its header, nothing allocated for it. */
    const uint8_t huge[10] = {0x10, 0, 0, 0, 0, 0, 0, 1, RESPONSE, 0};
    expect_refusal("a reply over the frame limit", huge, sizeof huge, 0, 10000, CC_RESOURCE_EXHAUSTED, "FRAME_TOO_LARGE");

    /* A RESPONSE whose payload is not a Response envelope: that call fails, clearly. */
    const uint8_t garbage[3] = {0x0A, 0x09, 0x41};
    expect_refusal("a malformed reply", script, frame(script, 1, RESPONSE, garbage, sizeof garbage), 0, 10000, CC_INTERNAL,
                   "MALFORMED_ENVELOPE");

    /* The connection closes before any answer; or in the middle of one (a header promising 100
     * bytes, 3 sent), at once or after a stall past the caller's deadline: a frame once started
     * gets a grace period, then the connection is known to be broken. */
    expect_refusal("a close with no answer", script, 0, 0, 10000, CC_UNAVAILABLE, "CONNECTION_CLOSED");
    const uint8_t half[] = {0, 0, 0, 100, 0, 0, 0, 1, RESPONSE, 0, 1, 2, 3};
    expect_refusal("a close mid-frame", half, sizeof half, 0, 10000, CC_UNAVAILABLE, "CONNECTION_CLOSED");
    expect_refusal("a stall mid-frame", half, sizeof half, 1, 500, CC_UNAVAILABLE, "CONNECTION_CLOSED");

    /* Nothing at all after the preface: the client's own deadline fires. */
    expect_refusal("a silent server", script, 0, 1, 300, CC_DEADLINE_EXCEEDED, "DEADLINE_EXCEEDED");

    /* A PING before the answer: the client sends the PONG with the same payload, and the server
     * answers only once it has it. */
    const uint8_t token[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    size_t ping_length = frame(script, 0, PING, token, sizeof token);
    size_t pong_length = frame(expect, 0, PONG, token, sizeof token);
    Framerpc__V1__HealthCheckResponse serving = FRAMERPC__V1__HEALTH_CHECK_RESPONSE__INIT;
    serving.status = FRAMERPC__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING_STATUS_SERVING;
    uint8_t serving_packed[16];
    Framerpc__V1__Status ok = FRAMERPC__V1__STATUS__INIT;
    Framerpc__V1__Response response = FRAMERPC__V1__RESPONSE__INIT;
    response.status = &ok;
    response.payload.data = serving_packed;
    response.payload.len = framerpc__v1__health_check_response__pack(&serving, serving_packed);
    size_t response_length = framerpc__v1__response__pack(&response, packed);
    size_t after_length = frame(after, 1, RESPONSE, packed, (uint32_t)response_length);
    pid_t child;
    int port = fake_server(script, ping_length, expect, pong_length, after, after_length, &child);
    cc_status status = CC_STATUS_INIT;
    uint32_t state = 0;
    int rc = health_check(port, 10000, &status, &state);
    CHECK(rc == 0 && state == FRAMERPC__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING_STATUS_SERVING, "PING answered with PONG, then the reply: rc %d %s/%s",
          rc, cc_code_name(status.code), status.reason ? status.reason : "-");
    cc_status_clear(&status);
    waitpid(child, NULL, 0);

    /* To a server that takes METADATA frames, cc_set_token sends the token once, at once, and
     * calls leave it out: the server sees exactly that (its exit code). */
    port = metadata_server(after, after_length, &child);
    cc_client *declaring = NULL;
    CHECK(cc_connect(&declaring, "127.0.0.1", port, &status) == 0, "connect to the METADATA server");
    if (declaring) {
        CHECK(cc_set_token(declaring, "tok") == 0, "cc_set_token");
        Framerpc__V1__HealthCheckRequest request = FRAMERPC__V1__HEALTH_CHECK_REQUEST__INIT;
        ProtobufCMessage *reply = NULL;
        rc = cc_call(declaring, FRAMERPC_V1_HEALTH_CHECK, &request.base, NULL, 0, 10000, &framerpc__v1__health_check_response__descriptor,
                     &reply, &status);
        CHECK(rc == 0, "a call after METADATA: rc %d %s/%s", rc, cc_code_name(status.code), status.reason ? status.reason : "-");
        if (reply) protobuf_c_message_free_unpacked(reply, NULL);
        cc_close(declaring);
    }
    cc_status_clear(&status);
    int verdict = -1;
    CHECK(waitpid(child, &verdict, 0) == child && WIFEXITED(verdict) && WEXITSTATUS(verdict) == 0,
          "the server saw one METADATA frame with the token, then a REQUEST without it (exit %d)", WEXITSTATUS(verdict));

    /* cc_cancel sends a CANCEL frame for the stream: the server sees exactly that frame. */
    port = fake_server(NULL, 0, expect, frame(expect, 1, CANCEL, NULL, 0), NULL, 0, &child);
    cc_client *client = NULL;
    CHECK(cc_connect(&client, "127.0.0.1", port, &status) == 0, "connect for cancel");
    if (client) {
        Framerpc__V1__HealthCheckRequest request = FRAMERPC__V1__HEALTH_CHECK_REQUEST__INIT;
        uint32_t stream_id = 0;
        CHECK(cc_send(client, FRAMERPC_V1_HEALTH_CHECK, &request.base, NULL, 0, 10000, &stream_id, &status) == 0 && stream_id == 1,
              "send: stream %u", stream_id);
        CHECK(cc_cancel(client, stream_id) == 0, "cancel");
        ProtobufCMessage *reply = NULL;
        /* The fake server closes after reading the CANCEL: the cancelled call gets no answer. */
        rc = cc_wait(client, stream_id, 10000, &framerpc__v1__health_check_response__descriptor, &reply, &status);
        CHECK(rc == -1 && reply == NULL && status.code == CC_UNAVAILABLE, "a cancelled call is not answered: %s", cc_code_name(status.code));
        cc_close(client);
    }
    cc_status_clear(&status);
    int exited = 0;
    CHECK(waitpid(child, &exited, 0) == child, "fake server exited");

    /* Nobody listens on the port: CONNECT_FAILED, at once. */
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = 0, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(listener, (struct sockaddr *)&address, sizeof address);
    socklen_t size = sizeof address;
    getsockname(listener, (struct sockaddr *)&address, &size);
    close(listener); /* bound, never listened: connections are refused */
    client = NULL;
    rc = cc_connect(&client, "127.0.0.1", ntohs(address.sin_port), &status);
    CHECK(rc != 0 && client == NULL && status.code == CC_UNAVAILABLE && status.reason && strcmp(status.reason, "CONNECT_FAILED") == 0,
          "connection refused: %s/%s", cc_code_name(status.code), status.reason ? status.reason : "-");
    cc_status_clear(&status);

    printf("%d checks, %d failures\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
