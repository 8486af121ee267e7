// An Error whose message is strerror(error) and whose `errno` is the number: thrown, or a promise's rejection.
#ifndef TETHER_ERRNO_ERROR_H
#define TETHER_ERRNO_ERROR_H
#include <node_api.h>
#include <string.h>

static inline napi_value errno_error(napi_env env, int error) {
  napi_value message, errno_value, made;
  napi_create_string_utf8(env, strerror(error), NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, NULL, message, &made);
  napi_create_int32(env, error, &errno_value);
  napi_set_named_property(env, made, "errno", errno_value);
  return made;
}

static inline void throw_errno(napi_env env, int error) {
  napi_throw(env, errno_error(env, error));
}

#endif
