// Throws an Error whose message is strerror(error) and whose `errno` is the number.
#ifndef TETHER_ERRNO_ERROR_H
#define TETHER_ERRNO_ERROR_H
#include <node_api.h>
#include <string.h>

static inline void throw_errno(napi_env env, int error) {
  napi_value message, errno_value, thrown;
  napi_create_string_utf8(env, strerror(error), NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, NULL, message, &thrown);
  napi_create_int32(env, error, &errno_value);
  napi_set_named_property(env, thrown, "errno", errno_value);
  napi_throw(env, thrown);
}

#endif
