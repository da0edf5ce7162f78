#include "core/clock.h"

#include <cstdio>
#include <ctime>

namespace rover::core {

uint64_t monotonicNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

std::string_view httpDate() {
  thread_local time_t cached_sec = 0;
  thread_local char buf[40];
  thread_local size_t len = 0;
  timespec ts;
  clock_gettime(CLOCK_REALTIME_COARSE, &ts);
  if (ts.tv_sec != cached_sec || len == 0) {
    cached_sec = ts.tv_sec;
    tm t;
    gmtime_r(&cached_sec, &t);
    len = strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &t);
  }
  return {buf, len};
}

size_t formatIsoTime(char* out) {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  tm t;
  gmtime_r(&ts.tv_sec, &t);
  int n = std::snprintf(out, 25, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", t.tm_year + 1900,
                        t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec,
                        static_cast<int>(ts.tv_nsec / 1'000'000));
  return n > 0 ? static_cast<size_t>(n) : 0;
}

}  // namespace rover::core
