/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * common/log.h: diagnostics to stderr, prefixed "anyload:". The level comes
 * from ANYLOAD_LOG (0 silent, 1 errors [default], 2 info, 3 debug), read
 * once. Used on slow paths only (allocation, attach, clean-up).
 */
#ifndef ANYLOAD_COMMON_LOG_H
#define ANYLOAD_COMMON_LOG_H

enum al_log_level { AL_LOG_ERR = 1, AL_LOG_INFO = 2, AL_LOG_DEBUG = 3 };

/* al_log: print one line at `level` if the configured level allows it. */
void al_log(int level, const char* fmt, ...)
  __attribute__((format(printf, 2, 3)));

#define al_err(...)   al_log(AL_LOG_ERR, __VA_ARGS__)
#define al_info(...)  al_log(AL_LOG_INFO, __VA_ARGS__)
#define al_debug(...) al_log(AL_LOG_DEBUG, __VA_ARGS__)

#endif /* ANYLOAD_COMMON_LOG_H */
