// How the daemon starts processes (see daemon/process/direct-spawner.ts):
// posix_spawn, which glibc runs as a vfork-like clone, and a reaper.
//
// Node starts children with fork(): the child copies the parent's page
// tables, which takes longer the more memory the parent holds, and the
// parent pays copy-on-write faults after it. posix_spawn copies nothing: the
// child borrows the parent's memory until it execs. Measured here, fork+exec
// of `true` from a small Node process took ~1 ms until the exec, posix_spawn
// and the wait of the whole child ~0.5 ms.
//
// spawn(file, argv, environment, cwd, search, [stdin, stdout, stderr]) -> Promise<[pid, startTicks]>
//   `environment`: the child's "NAME=value" strings joined by NUL.
//   On a thread of libuv's pool, off the daemon's loop: finds `file` as
//   Node's spawn does (in `search`, the child's PATH, or /usr/bin:/bin when
//   it is not a string), spawns it (posix_spawn returns only once the child
//   has exec'd: ~1 ms here), runs an executable without a #! line under
//   /bin/sh as execvp does, and reads the child's start time from /proc (-1
//   when it could not). Each stdio entry is a blocking descriptor to dup2
//   there, or -1 for /dev/null; spawn takes them over and closes them.
//   The child gets its own session (setsid), default signal dispositions,
//   an empty signal mask, and no other descriptor of the daemon's.
//   A failure (the program not found, the cwd missing) rejects with an Error
//   whose `errno` is the error number.
// wait(pid) -> undefined while it runs, else [exitCode or -1, signal number or 0]
//   Reaps child `pid` if it has exited (waitpid(pid, WNOHANG)): only the
//   children spawn() started, never those Node started (Node reaps its own).
//   Throws as spawn does.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <stdio.h>

#include "errno-error.h"

#define CHECK(call)                                 \
  do {                                              \
    if ((call) != napi_ok) {                        \
      napi_throw_error(env, NULL, #call " failed"); \
      return NULL;                                  \
    }                                               \
  } while (0)

// A JS string as a malloc'd C string (its length in bytes in *length when
// asked: it may hold NULs); NULL after throwing.
static char* string_arg_of_length(napi_env env, napi_value value, size_t* length) {
  size_t bytes;
  if (napi_get_value_string_utf8(env, value, NULL, 0, &bytes) != napi_ok) {
    napi_throw_type_error(env, NULL, "expected a string");
    return NULL;
  }
  char* out = malloc(bytes + 1);
  if (out != NULL) napi_get_value_string_utf8(env, value, out, bytes + 1, &bytes);
  if (length != NULL) *length = bytes;
  return out;
}

static char* string_arg(napi_env env, napi_value value) {
  return string_arg_of_length(env, value, NULL);
}

// A JS array of strings as a NULL-terminated malloc'd vector; NULL after throwing.
static char** strings_arg(napi_env env, napi_value array) {
  uint32_t count;
  if (napi_get_array_length(env, array, &count) != napi_ok) {
    napi_throw_type_error(env, NULL, "expected an array of strings");
    return NULL;
  }
  char** out = calloc(count + 1, sizeof(char*));
  for (uint32_t i = 0; out != NULL && i < count; i++) {
    napi_value item;
    napi_get_element(env, array, i, &item);
    out[i] = string_arg(env, item);
    if (out[i] == NULL) {
      for (uint32_t j = 0; j < i; j++) free(out[j]);
      free(out);
      return NULL;
    }
  }
  return out;
}

// A JS string of pieces joined by NUL as a NULL-terminated malloc'd vector (one
// string to convert, not one per piece: an environment has ~70); NULL after throwing.
static char** joined_strings_arg(napi_env env, napi_value value) {
  size_t length;
  char* joined = string_arg_of_length(env, value, &length);
  if (joined == NULL) return NULL;
  size_t count = length == 0 ? 0 : 1;
  for (size_t i = 0; i < length; i++) count += joined[i] == '\0';
  char** out = calloc(count + 1, sizeof(char*));
  char* piece = joined;
  for (size_t i = 0; out != NULL && i < count; i++) {
    out[i] = strdup(piece);
    piece += strlen(piece) + 1;
  }
  free(joined);
  return out;
}

static void free_strings(char** strings) {
  if (strings == NULL) return;
  for (char** s = strings; *s != NULL; s++) free(*s);
  free(strings);
}

// One spawn, from the call to its promise's settling.
typedef struct {
  char* file;
  char* search;  // PATH, or NULL
  char** argv;
  char** envp;
  char* cwd;
  int stdio[3];
  pid_t pid;
  int error;
  double start_ticks;  // -1 when /proc could not say
  napi_deferred deferred;
  napi_async_work work;
} spawn_job;

static void free_job(spawn_job* job) {
  free(job->file);
  free(job->search);
  free_strings(job->argv);
  free_strings(job->envp);
  free(job->cwd);
  free(job);
}

// Field 22 of /proc/PID/stat (the 20th after the command name's closing parenthesis).
static double start_ticks_of(pid_t pid) {
  char name[64], stat[1024];
  snprintf(name, sizeof name, "/proc/%d/stat", (int)pid);
  int fd = open(name, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, stat, sizeof stat - 1);
  close(fd);
  if (n <= 0) return -1;
  stat[n] = '\0';
  char* at = strrchr(stat, ')');
  for (int field = 0; at != NULL && field < 20; field++) at = strchr(at + 1, ' ');
  return at == NULL ? -1 : strtod(at + 1, NULL);
}

// The file `file` runs as, found as Node's spawn finds it: a name with a slash
// as it is (relative to cwd), else the first executable regular file of that
// name in `search` (a PATH; its relative directories relative to cwd).
// NULL with *error set when there is none.
static char* find_program(const char* file, const char* search, const char* cwd, int* error) {
  if (strchr(file, '/') != NULL) return strdup(file);
  const char* dir = search != NULL ? search : "/usr/bin:/bin";
  for (;;) {
    const char* end = strchrnul(dir, ':');
    int length = (int)(end - dir);
    char* candidate = NULL;
    if (length > 0 && dir[0] == '/') {
      if (asprintf(&candidate, "%.*s/%s", length, dir, file) < 0) candidate = NULL;
    } else if (asprintf(&candidate, "%s/%.*s%s%s", cwd, length, dir, length > 0 ? "/" : "", file) < 0) {
      candidate = NULL;
    }
    struct stat st;
    if (candidate != NULL && stat(candidate, &st) == 0 && S_ISREG(st.st_mode) && access(candidate, X_OK) == 0) return candidate;
    free(candidate);
    if (*end == '\0') break;
    dir = end + 1;
  }
  *error = ENOENT;
  return NULL;
}

// On a thread of libuv's pool: finds the program, spawns it (the call returns
// once the child has exec'd or failed to), reads its start time, and closes
// the stdio descriptors it was given.
static void run_spawn(napi_env env, void* data) {
  (void)env;
  spawn_job* job = data;
  // Waking this thread must not take the daemon's loop off its core (a normal thread just
  // woken would be run at once, in its place): as a batch thread it runs on an idle core,
  // or when the loop waits. The child is put back to the normal policy.
  struct sched_param no_priority = {0};
  sched_setscheduler(0, SCHED_BATCH, &no_priority);
  char* path = find_program(job->file, job->search, job->cwd, &job->error);
  if (path != NULL) {
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    sigset_t all, none;
    sigfillset(&all);
    sigemptyset(&none);
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSCHEDULER);
    posix_spawnattr_setschedpolicy(&attr, SCHED_OTHER);
    posix_spawnattr_setschedparam(&attr, &no_priority);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setsigmask(&attr, &none);
    for (int fd = 0; fd < 3; fd++) {
      if (job->stdio[fd] < 0) posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0);
      else posix_spawn_file_actions_adddup2(&actions, job->stdio[fd], fd);
    }
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    posix_spawn_file_actions_addchdir_np(&actions, job->cwd);
    job->error = posix_spawn(&job->pid, path, &actions, &attr, job->argv, job->envp);
    if (job->error == ENOEXEC) {
      // An executable without a #! line: run by /bin/sh, as execvp (and so Node's spawn) runs it.
      size_t count = 0;
      while (job->argv[count] != NULL) count++;
      char** shell = calloc(count + 2, sizeof(char*));
      if (shell != NULL) {
        shell[0] = "/bin/sh";
        shell[1] = path;
        for (size_t i = 1; i < count; i++) shell[i + 1] = job->argv[i];
        job->error = posix_spawn(&job->pid, "/bin/sh", &actions, &attr, shell, job->envp);
        free(shell);
      }
    }
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    free(path);
  }
  if (job->error == 0) job->start_ticks = start_ticks_of(job->pid);
  for (int fd = 0; fd < 3; fd++) {
    if (job->stdio[fd] >= 0) close(job->stdio[fd]);
  }
}

// Back on the daemon's thread: the promise settles.
static void settle_spawn(napi_env env, napi_status status, void* data) {
  spawn_job* job = data;
  if (status != napi_ok || job->error != 0) {
    napi_reject_deferred(env, job->deferred, errno_error(env, status != napi_ok ? ECANCELED : job->error));
  } else {
    napi_value result, value;
    napi_create_array_with_length(env, 2, &result);
    napi_create_int32(env, job->pid, &value);
    napi_set_element(env, result, 0, value);
    napi_create_double(env, job->start_ticks, &value);
    napi_set_element(env, result, 1, value);
    napi_resolve_deferred(env, job->deferred, result);
  }
  napi_delete_async_work(env, job->work);
  free_job(job);
}

static napi_value spawn_process(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value args[6];
  CHECK(napi_get_cb_info(env, info, &argc, args, NULL, NULL));
  if (argc != 6) {
    napi_throw_type_error(env, NULL, "spawn(file, argv, envp, cwd, search, stdio)");
    return NULL;
  }
  spawn_job* job = calloc(1, sizeof(spawn_job));
  if (job == NULL) {
    throw_errno(env, ENOMEM);
    return NULL;
  }
  for (uint32_t i = 0; i < 3; i++) {
    napi_value item;
    if (napi_get_element(env, args[5], i, &item) != napi_ok || napi_get_value_int32(env, item, &job->stdio[i]) != napi_ok) {
      free_job(job);
      napi_throw_type_error(env, NULL, "stdio must be three descriptors (-1 for /dev/null)");
      return NULL;
    }
  }
  napi_valuetype search_type;
  napi_typeof(env, args[4], &search_type);
  job->file = string_arg(env, args[0]);
  job->argv = job->file == NULL ? NULL : strings_arg(env, args[1]);
  job->envp = job->argv == NULL ? NULL : joined_strings_arg(env, args[2]);
  job->cwd = job->envp == NULL ? NULL : string_arg(env, args[3]);
  job->search = job->cwd == NULL || search_type != napi_string ? NULL : string_arg(env, args[4]);
  if (job->cwd == NULL || (search_type == napi_string && job->search == NULL)) {
    for (int fd = 0; fd < 3; fd++) {
      if (job->stdio[fd] >= 0) close(job->stdio[fd]);
    }
    free_job(job);
    return NULL;
  }
  napi_value promise, name;
  napi_create_string_utf8(env, "tether:spawn", NAPI_AUTO_LENGTH, &name);
  if (napi_create_promise(env, &job->deferred, &promise) != napi_ok ||
      napi_create_async_work(env, NULL, name, run_spawn, settle_spawn, job, &job->work) != napi_ok ||
      napi_queue_async_work(env, job->work) != napi_ok) {
    for (int fd = 0; fd < 3; fd++) {
      if (job->stdio[fd] >= 0) close(job->stdio[fd]);
    }
    free_job(job);
    napi_throw_error(env, NULL, "cannot queue the spawn");
    return NULL;
  }
  return promise;
}

// A reaped child's status as [exit code or -1, signal number or 0].
static napi_value exit_status(napi_env env, int status) {
  napi_value entry, value;
  napi_create_array_with_length(env, 2, &entry);
  napi_create_int32(env, WIFEXITED(status) ? WEXITSTATUS(status) : -1, &value);
  napi_set_element(env, entry, 0, value);
  napi_create_int32(env, WIFSIGNALED(status) ? WTERMSIG(status) : 0, &value);
  napi_set_element(env, entry, 1, value);
  return entry;
}

static napi_value wait_child(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value arg;
  int32_t pid;
  if (napi_get_cb_info(env, info, &argc, &arg, NULL, NULL) != napi_ok || argc != 1 || napi_get_value_int32(env, arg, &pid) != napi_ok || pid <= 0) {
    napi_throw_type_error(env, NULL, "wait(pid): pid must be a positive number");
    return NULL;
  }
  int status;
  pid_t done = waitpid(pid, &status, WNOHANG);
  if (done < 0) {
    throw_errno(env, errno);
    return NULL;
  }
  if (done == 0) return NULL;
  return exit_status(env, status);
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  CHECK(napi_create_function(env, "spawn", NAPI_AUTO_LENGTH, spawn_process, NULL, &fn));
  CHECK(napi_set_named_property(env, exports, "spawn", fn));
  CHECK(napi_create_function(env, "wait", NAPI_AUTO_LENGTH, wait_child, NULL, &fn));
  CHECK(napi_set_named_property(env, exports, "wait", fn));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
