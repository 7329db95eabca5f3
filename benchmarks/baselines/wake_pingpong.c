/*
 * What one thread hand-off costs on this machine: two threads pass a byte back and forth through
 * pipes, each waiting in epoll_wait, like an event loop handing work to another thread and getting
 * the answer back. Prints the round trip (two wake-ups) in wall time and in CPU time of both threads.
 *
 *   cc -O2 -pthread -o wake_pingpong wake_pingpong.c && ./wake_pingpong && taskset -c 0 ./wake_pingpong
 *
 * On the 2-vCPU Firecracker machines these benchmarks run on (guest_halt_poll_ns = 0, so an idle
 * vCPU halts and is woken by an interrupt), a round trip across the two vCPUs measured 92–150 µs and
 * 64–108 µs of CPU; pinned to one vCPU, 10 µs. A hand-off between threads on different vCPUs is
 * the expensive part of a call here, more than any code the call runs.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

enum { ROUNDS = 20000 };
static int to_peer[2], to_main[2];

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static int watch(int fd) {
    int ep = epoll_create1(0);
    struct epoll_event event = {.events = EPOLLIN};
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &event);
    return ep;
}

static void *peer(void *unused) {
    (void)unused;
    char byte;
    int ep = watch(to_peer[0]);
    for (int i = 0; i < ROUNDS; i++) {
        struct epoll_event ready;
        epoll_wait(ep, &ready, 1, -1);
        if (read(to_peer[0], &byte, 1) != 1 || write(to_main[1], &byte, 1) != 1) return NULL;
    }
    return NULL;
}

int main(void) {
    if (pipe(to_peer) || pipe(to_main)) return 1;
    pthread_t thread;
    pthread_create(&thread, NULL, peer, NULL);
    int ep = watch(to_main[0]);
    char byte = 0;
    struct rusage before, after;
    getrusage(RUSAGE_SELF, &before);
    double start = now();
    for (int i = 0; i < ROUNDS; i++) {
        struct epoll_event ready;
        if (write(to_peer[1], &byte, 1) != 1) return 1;
        epoll_wait(ep, &ready, 1, -1);
        if (read(to_main[0], &byte, 1) != 1) return 1;
    }
    double wall = now() - start;
    getrusage(RUSAGE_SELF, &after);
    pthread_join(thread, NULL);
    double cpu = (after.ru_utime.tv_sec - before.ru_utime.tv_sec) + (after.ru_utime.tv_usec - before.ru_utime.tv_usec) / 1e6 +
                 (after.ru_stime.tv_sec - before.ru_stime.tv_sec) + (after.ru_stime.tv_usec - before.ru_stime.tv_usec) / 1e6;
    printf("round trip %.1f us wall, %.1f us CPU (both threads)\n", wall / ROUNDS * 1e6, cpu / ROUNDS * 1e6);
    return 0;
}
