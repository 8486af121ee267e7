// The daemon's native helpers for descriptors (see daemon/process/output-reader.ts).
//
// dup(fd) -> fd
//   A new descriptor for the same open socket, close-on-exec. Node can read
//   a socket into memory of the caller's choosing (net.Socket's onread), but
//   only on a socket it creates; an accepted socket is handed over by giving
//   a duplicate of its descriptor to a new net.Socket and closing the old
//   one. Throws an Error whose `errno` is the error number.
// socketpair() -> [fd, fd]
//   A connected pair of Unix stream sockets, both close-on-exec: a child
//   process's stdin (the kind Node's own spawn gives it as pipes), one end
//   for the child, one for the daemon. Throws as dup does.
// pipe() -> [read fd, write fd]
//   A pipe, both ends close-on-exec: a child process's stdout or stderr.
//   A pipe costs both sides less CPU per byte than a socket pair (no
//   buffer allocated and accounted per write). Throws as dup does.
// growPipe(fd, bytes) -> bytes
//   Asks for a pipe's capacity to be `bytes` (F_SETPIPE_SZ): a writer then
//   runs further ahead and a reader takes more per read. Returns the
//   capacity it has, or -1 when it could not be changed (above
//   /proc/sys/fs/pipe-max-size, or the user's pipe quota spent); never throws.
// growSendBuffer(fd, bytes) -> bytes
//   Asks for a socket's send buffer to hold `bytes` (SO_SNDBUF: the kernel
//   keeps twice what is asked, for its bookkeeping, up to twice
//   net.core.wmem_max): a writer then runs further ahead of its reader.
//   Returns the size it has (as SO_SNDBUF reads), or -1 when it could not
//   be read; never throws.
// closeOnExec(fd) -> bool
//   Marks a descriptor close-on-exec (FD_CLOEXEC): one a library opened
//   without it (node-pty's terminal master, from forkpty), which every
//   program started after would otherwise inherit. False when it could not
//   be set (not a descriptor); never throws.
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <node_api.h>
#include <sys/socket.h>
#include <unistd.h>

#include "errno-error.h"

// Reads the one fd argument of a call; false, with a TypeError saying `usage` thrown, when it is not one number.
static bool fd_argument(napi_env env, napi_callback_info info, const char* usage, int32_t* fd) {
  size_t argc = 1;
  napi_value arg;
  if (napi_get_cb_info(env, info, &argc, &arg, NULL, NULL) != napi_ok || argc != 1 || napi_get_value_int32(env, arg, fd) != napi_ok) {
    napi_throw_type_error(env, NULL, usage);
    return false;
  }
  return true;
}

static napi_value dup_descriptor(napi_env env, napi_callback_info info) {
  int32_t fd;
  if (!fd_argument(env, info, "dup(fd): fd must be a number", &fd)) return NULL;
  int copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) {
    throw_errno(env, errno);
    return NULL;
  }
  napi_value out;
  napi_create_int32(env, copy, &out);
  return out;
}

// [fds[0], fds[1]] as a JS array.
static napi_value pair_of(napi_env env, const int fds[2]) {
  napi_value out, value;
  napi_create_array_with_length(env, 2, &out);
  for (uint32_t i = 0; i < 2; i++) {
    napi_create_int32(env, fds[i], &value);
    napi_set_element(env, out, i, value);
  }
  return out;
}

static napi_value socket_pair(napi_env env, napi_callback_info info) {
  (void)info;
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    throw_errno(env, errno);
    return NULL;
  }
  return pair_of(env, fds);
}

static napi_value make_pipe(napi_env env, napi_callback_info info) {
  (void)info;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    throw_errno(env, errno);
    return NULL;
  }
  return pair_of(env, fds);
}

// Reads the (fd, bytes) arguments of a call; false, with a TypeError saying `usage` thrown, when they are not two numbers.
static bool fd_and_bytes(napi_env env, napi_callback_info info, const char* usage, int32_t* fd, int32_t* bytes) {
  size_t argc = 2;
  napi_value args[2];
  if (napi_get_cb_info(env, info, &argc, args, NULL, NULL) != napi_ok || argc != 2 || napi_get_value_int32(env, args[0], fd) != napi_ok ||
      napi_get_value_int32(env, args[1], bytes) != napi_ok) {
    napi_throw_type_error(env, NULL, usage);
    return false;
  }
  return true;
}

static napi_value grow_pipe(napi_env env, napi_callback_info info) {
  int32_t fd, bytes;
  if (!fd_and_bytes(env, info, "growPipe(fd, bytes): fd and bytes must be numbers", &fd, &bytes)) return NULL;
  napi_value out;
  napi_create_int32(env, fcntl(fd, F_SETPIPE_SZ, bytes), &out);
  return out;
}

static napi_value grow_send_buffer(napi_env env, napi_callback_info info) {
  int32_t fd, bytes;
  if (!fd_and_bytes(env, info, "growSendBuffer(fd, bytes): fd and bytes must be numbers", &fd, &bytes)) return NULL;
  int size = -1;
  socklen_t length = sizeof(size);
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof(bytes));
  if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, &length) != 0) size = -1;
  napi_value out;
  napi_create_int32(env, size, &out);
  return out;
}

static napi_value close_on_exec(napi_env env, napi_callback_info info) {
  int32_t fd;
  if (!fd_argument(env, info, "closeOnExec(fd): fd must be a number", &fd)) return NULL;
  int flags = fcntl(fd, F_GETFD);
  bool set = flags >= 0 && fcntl(fd, F_SETFD, flags | FD_CLOEXEC) == 0;
  napi_value out;
  napi_get_boolean(env, set, &out);
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor properties[] = {
      {"dup", NULL, dup_descriptor, NULL, NULL, NULL, napi_default, NULL},
      {"socketpair", NULL, socket_pair, NULL, NULL, NULL, napi_default, NULL},
      {"pipe", NULL, make_pipe, NULL, NULL, NULL, napi_default, NULL},
      {"growPipe", NULL, grow_pipe, NULL, NULL, NULL, napi_default, NULL},
      {"growSendBuffer", NULL, grow_send_buffer, NULL, NULL, NULL, napi_default, NULL},
      {"closeOnExec", NULL, close_on_exec, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof(properties) / sizeof(properties[0]), properties);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
