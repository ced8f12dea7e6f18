/* One process of the scheduler experiment (README.md beside this file):
 * jobs arrive as a Poisson stream at RATE per second; each is EXP(MEAN_US)
 * of CPU spun on this thread; jobs run one at a time in arrival order, the
 * process sleeping (an absolute-time nanosleep, timer slack 1 ns) while it
 * has none. For DURATION_S seconds; then prints one line per job that
 * arrived after WARMUP_S: "arrival_ns response_ns work_ns".
 *
 *   burst RATE MEAN_US DURATION_S WARMUP_S SEED > jobs.txt
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <time.h>

static uint64_t now_ns(clockid_t c) {
  struct timespec t;
  clock_gettime(c, &t);
  return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static uint64_t state;
static double uniform(void) { /* xorshift64*, in (0, 1) */
  state ^= state >> 12;
  state ^= state << 25;
  state ^= state >> 27;
  return ((state * 2685821657736338717ull) >> 11) * (1.0 / 9007199254740992.0) + 1e-18;
}
static double expo(double mean) { return -mean * log(uniform()); }

int main(int argc, char **argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: burst RATE MEAN_US DURATION_S WARMUP_S SEED\n");
    return 2;
  }
  double rate = atof(argv[1]), mean_ns = atof(argv[2]) * 1e3;
  uint64_t duration = (uint64_t)(atof(argv[3]) * 1e9), warmup = (uint64_t)(atof(argv[4]) * 1e9);
  state = strtoull(argv[5], 0, 10) * 0x9E3779B97F4A7C15ull + 1;
  prctl(PR_SET_TIMERSLACK, 1UL);
  size_t cap = (size_t)(rate * atof(argv[3]) * 1.5) + 1000, n = 0;
  uint64_t *out = malloc(cap * 3 * sizeof(uint64_t));
  uint64_t start = now_ns(CLOCK_MONOTONIC);
  double next = expo(1e9 / rate);
  for (;;) {
    uint64_t arrival = start + (uint64_t)next;
    if (arrival - start >= duration) break;
    if (now_ns(CLOCK_MONOTONIC) < arrival) {
      struct timespec t = {(time_t)(arrival / 1000000000ull), (long)(arrival % 1000000000ull)};
      clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, 0);
    }
    uint64_t work = (uint64_t)expo(mean_ns);
    uint64_t cpu0 = now_ns(CLOCK_THREAD_CPUTIME_ID);
    while (now_ns(CLOCK_THREAD_CPUTIME_ID) - cpu0 < work) {
    }
    uint64_t done = now_ns(CLOCK_MONOTONIC);
    if (arrival - start >= warmup && n < cap) {
      out[3 * n] = arrival - start;
      out[3 * n + 1] = done - arrival;
      out[3 * n + 2] = work;
      n++;
    }
    next += expo(1e9 / rate);
  }
  for (size_t i = 0; i < n; i++)
    printf("%llu %llu %llu\n", (unsigned long long)out[3 * i], (unsigned long long)out[3 * i + 1],
           (unsigned long long)out[3 * i + 2]);
  return 0;
}
