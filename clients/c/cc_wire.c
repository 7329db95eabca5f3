/* FrameRPC client in C11. Time, socket I/O and frames. See commerce_client.h and docs/protocol.md. */
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

const uint8_t CC_PREFACE[PREFACE_SIZE] = {'F', 'R', 'P', 'C', 0, 1, 0, 0};

int64_t cc__now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void put_u32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

uint32_t cc__get_u32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

int cc__write_all(int fd, const uint8_t *data, size_t length) {
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
int cc__read_all(int fd, uint8_t *data, size_t length, int64_t deadline) {
    while (length > 0) {
        int64_t left = deadline - cc__now_ms();
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

int cc__write_frame(cc_client *client, uint32_t stream_id, uint8_t type, const uint8_t *payload, uint32_t length) {
    uint8_t header[HEADER_SIZE];
    put_u32(header, length);
    put_u32(header + 4, stream_id);
    header[8] = type;
    header[9] = 0;
    if (cc__write_all(client->fd, header, HEADER_SIZE) != 0) return -1;
    if (length > 0 && cc__write_all(client->fd, payload, length) != 0) return -1;
    return 0;
}
