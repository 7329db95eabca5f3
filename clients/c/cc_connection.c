/* FrameRPC client in C11. Connecting (the preface exchange), closing, the bearer token. See commerce_client.h and docs/protocol.md. */
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

int cc_connect(cc_client **out, const char *host, int port, cc_status *status) {
    *out = NULL;
    char service[16];
    snprintf(service, sizeof service, "%d", port);
    struct addrinfo hints = {0}, *addresses = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo(host, service, &hints, &addresses);
    if (rc != 0) {
        cc__set_status(status, CC_UNAVAILABLE, "CONNECT_FAILED", "cannot resolve %s: %s", host, gai_strerror(rc));
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
        cc__set_status(status, CC_UNAVAILABLE, "CONNECT_FAILED", "cannot connect to %s:%d: %s", host, port, strerror(errno));
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

    uint8_t preface[PREFACE_SIZE];
    if (cc__write_all(fd, CC_PREFACE, PREFACE_SIZE) != 0 || cc__read_all(fd, preface, PREFACE_SIZE, cc__now_ms() + 5000) != 0) {
        cc__set_status(status, CC_UNAVAILABLE, "CONNECT_FAILED", "no FrameRPC preface from %s:%d", host, port);
        close(fd);
        return -1;
    }
    if (memcmp(preface, CC_PREFACE, 4) != 0) {
        cc__set_status(status, CC_UNAVAILABLE, "BAD_PREFACE", "%s:%d is not a FrameRPC server", host, port);
        close(fd);
        return -1;
    }
    if (preface[4] != 0 || preface[5] != 1) {
        cc__set_status(status, CC_UNIMPLEMENTED, "UNSUPPORTED_VERSION", "server speaks version %u", preface[4] << 8 | preface[5]);
        close(fd);
        return -1;
    }
    cc_client *client = calloc(1, sizeof *client);
    if (client == NULL) {
        close(fd);
        cc__set_status(status, CC_INTERNAL, "OUT_OF_MEMORY", "out of memory");
        return -1;
    }
    client->fd = fd;
    client->next_stream_id = 1;
    client->max_frame = CC_DEFAULT_MAX_FRAME;
    client->goaway_last_stream = UINT32_MAX;
    client->takes_metadata = (preface[7] & 0x01) != 0;
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

/* Tells a server that takes METADATA frames the connection's credential (or that it has none
 * any more: an empty frame), so calls need not carry it. */
static int declare_token(cc_client *client) {
    Framerpc__V1__KeyValue entry = FRAMERPC__V1__KEY_VALUE__INIT;
    Framerpc__V1__KeyValue *entries[1] = {&entry};
    Framerpc__V1__ConnectionMetadata message = FRAMERPC__V1__CONNECTION_METADATA__INIT;
    if (client->authorization != NULL) {
        entry.key = "authorization";
        entry.value = client->authorization;
        message.n_metadata = 1;
        message.metadata = entries;
    }
    size_t size = framerpc__v1__connection_metadata__get_packed_size(&message);
    uint8_t *payload = size > 0 ? malloc(size) : NULL;
    if (size > 0 && payload == NULL) return -1;
    if (size > 0) framerpc__v1__connection_metadata__pack(&message, payload);
    int rc = cc__write_frame(client, 0, FRAME_METADATA, payload, (uint32_t)size);
    free(payload);
    if (rc != 0) {
        client->broken = 1;
        return -1;
    }
    client->token_declared = client->authorization != NULL;
    return 0;
}

int cc_set_token(cc_client *client, const char *token) {
    free(client->authorization);
    client->authorization = NULL;
    if (token != NULL && token[0] != '\0') {
        size_t length = strlen("Bearer ") + strlen(token) + 1;
        client->authorization = malloc(length);
        if (client->authorization == NULL) return -1;
        snprintf(client->authorization, length, "Bearer %s", token);
    }
    if (client->takes_metadata && (client->authorization != NULL || client->token_declared)) return declare_token(client);
    return 0;
}
