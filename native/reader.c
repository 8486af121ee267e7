// The daemon's reading threads: a terminal's master side, a streaming
// process's output socket (see daemon/process/thread-reader.ts).
//
// open(fd, notifyBytes, phase, onData) -> reader
//   Takes descriptor `fd` (it closes it when done) and reads it on a thread
//   of its own into regions of REGION_BYTES, one read after the last, so
//   consecutive bytes lie side by side. Regions start at a multiple of
//   ALIGN_BYTES in memory, and the first byte read lies `phase` bytes past
//   such a boundary; each region after the first starts where the last
//   left off within a block: so the n-th byte read lies (phase + n) %
//   ALIGN_BYTES past a boundary, as direct I/O wants bytes bound for the
//   same place in a file (daemon/journal/direct-blocks.ts). The thread reads on while there is
//   more and, when a read finds nothing more (with LINGER_BYTES or more
//   gathered: once nothing more came for LINGER_MS) or notifyBytes have
//   gathered, hands the daemon's thread what has gathered since it last took some,
//   one view per region: onData(arrayBuffer, offset, length) on the
//   daemon's thread, with the region's ArrayBuffer (the same object for
//   every view of one region).
//   At the end (end of file, or an error such as a terminal's EIO once its
//   program is gone) onData(null, 0, errno), errno 0 at end of file, once,
//   after every byte.
// reader.pause(), reader.resume()
//   Holds the reading (backpressure) and lets it go on.
// reader.stop()
//   Ends the reading: what was read and not yet taken is still handed on,
//   then onData(null, 0, 0).
// reader.finish()
//   Reads on, paused or not, to the descriptor's first empty read (EAGAIN)
//   after the call, then ends as stop() does. A terminal's read moves what
//   the kernel still holds for it into its buffer before it says there is
//   nothing (n_tty_read flushes the port's buffer work first): once the
//   program has exited, an empty read means every byte it wrote was read.
//   At most FINISH_MAX_BYTES more are read (a background process that
//   keeps writing).
//
// Memory: a region is handed to JavaScript as an external ArrayBuffer the
// first time a view of it is, and freed by V8 when nothing holds it any
// more. A full region waits in the reader until the daemon's thread has
// taken what it holds, the thread reading on into a new one meanwhile; with
// MAX_REGIONS waiting, the thread waits too, so a reader holds at most
// MAX_REGIONS regions besides what the daemon keeps.
//
// trimWhenQuiet() -> boolean
//   Gives the system back the daemon's freed native memory (malloc_trim,
//   on libuv's pool) when no region has been made since the last call, and
//   either regions were made the call before (output has just stopped) or
//   at least TRIM_MIN_BYTES of regions were freed since the last trim
//   (V8 frees a region only once it collects its ArrayBuffer, often later).
//   Whether it started one. A region is a 1 MiB malloc on its reading
//   thread, and glibc keeps freed ones in that thread's arena for reuse:
//   after a GiB of output ~30-60 MB stayed resident for good. Called now and
//   then: while output streams, regions are made between calls and nothing
//   is trimmed, so the reuse stays.
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <node_api.h>

#include "errno-error.h"

#define REGION_BYTES (1024 * 1024)
// A new region once less than this is left in the current one.
#define REGION_MIN_ROOM (64 * 1024)
// Regions the daemon's thread has not yet taken everything of, the thread's own included.
#define MAX_REGIONS 4
#define THREAD_STACK_BYTES (256 * 1024)
// Regions are aligned to this (the data files' block), and the bytes in them keep their phase within it.
#define ALIGN_BYTES 4096
// A read that finds nothing more with at least this much gathered is in a flood: the thread waits up to
// LINGER_MS for more before waking the daemon's thread (less gathered, an echo say, wakes it at once).
#define LINGER_BYTES (16 * 1024)
#define LINGER_MS 1
// What finish() reads at most before it ends anyway.
#define FINISH_MAX_BYTES (4 * 1024 * 1024)
// What trimWhenQuiet() waits to have been freed since the last trim.
#define TRIM_MIN_BYTES (4 * 1024 * 1024)

// Regions made (on the reading threads), and bytes freed since the last trim.
static atomic_size_t regions_made;
static atomic_size_t freed_since_trim;
// What trimWhenQuiet() saw last time (on the daemon's thread), and the trim under way.
static size_t made_at_last_look;
static bool busy_at_last_look;
static napi_async_work trimming;

typedef struct region {
  // REGION_BYTES from a multiple of ALIGN_BYTES, within `allocated` (what malloc gave, freed with it).
  char* bytes;
  void* allocated;
  // How much of it the thread has filled, and how much of that the daemon's thread has taken (under the reader's lock).
  size_t filled;
  size_t taken;
  // The ArrayBuffer over `bytes`, once handed to JavaScript (daemon's thread only).
  napi_ref buffer;
} region;

typedef struct reader {
  int fd;
  // The daemon's thread is called when a read finds nothing more (so an echo goes on at once), or once this much has gathered.
  size_t notify_bytes;
  // Wakes the thread out of poll() (stop).
  int wake;
  pthread_t thread;
  pthread_mutex_t lock;
  pthread_cond_t changed;
  napi_threadsafe_function deliver;
  // Owners: the JavaScript object and the thread (until its function is finalized).
  int owners;

  // Under `lock`:
  int paused;
  int stopping;
  // finish() was called: read to the first empty read, then end.
  int finishing;
  // Regions in the order they were filled, the last the thread's; the others are full and wait for the daemon's thread to take the rest of them.
  region* regions[MAX_REGIONS];
  int count;
  // A call of `deliver` is queued and has not run yet.
  int notified;
  // The thread has finished: end of file or error, with this errno.
  int ended;
  int end_errno;
  // onData(null, ...) was called.
  int end_delivered;
} reader;

// A region whose first byte goes `start` bytes in (less than ALIGN_BYTES).
static region* region_new(size_t start) {
  region* r = calloc(1, sizeof(region));
  if (r == NULL) return NULL;
  // malloc and a step to the next boundary, not aligned_alloc: glibc carves aligned blocks out of
  // its heap, and a terminal's flood of regions grew the daemon ~30 MB more than with plain malloc.
  r->allocated = malloc(REGION_BYTES + ALIGN_BYTES);
  if (r->allocated == NULL) {
    free(r);
    return NULL;
  }
  r->bytes = (char*)(((uintptr_t)r->allocated + ALIGN_BYTES - 1) & ~(uintptr_t)(ALIGN_BYTES - 1));
  r->filled = r->taken = start;
  atomic_fetch_add_explicit(&regions_made, 1, memory_order_relaxed);
  return r;
}

// `hint` is what malloc gave (the region's `allocated`).
static void free_bytes(napi_env env, void* data, void* hint) {
  (void)env;
  (void)data;
  free(hint);
  atomic_fetch_add_explicit(&freed_since_trim, REGION_BYTES + ALIGN_BYTES, memory_order_relaxed);
}

// Lets go of a region on the daemon's thread: V8 frees its bytes once its ArrayBuffer is collected.
static void region_release(napi_env env, region* r) {
  if (r == NULL) return;
  if (r->buffer != NULL) {
    napi_delete_reference(env, r->buffer);
  } else {
    free(r->allocated);
    atomic_fetch_add_explicit(&freed_since_trim, REGION_BYTES + ALIGN_BYTES, memory_order_relaxed);
  }
  free(r);
}

static void reader_unown(reader* rd) {
  if (--rd->owners > 0) return;
  close(rd->wake);
  pthread_mutex_destroy(&rd->lock);
  pthread_cond_destroy(&rd->changed);
  free(rd);
}

// Under `lock`: bytes read that the daemon's thread has not taken yet, in every region.
static size_t untaken(const reader* rd) {
  size_t bytes = 0;
  for (int i = 0; i < rd->count; i++) bytes += rd->regions[i]->filled - rd->regions[i]->taken;
  return bytes;
}

// Under `lock`: makes sure a delivery will run.
static void notify(reader* rd) {
  if (rd->notified) return;
  rd->notified = 1;
  napi_call_threadsafe_function(rd->deliver, NULL, napi_tsfn_nonblocking);
}

static void* read_loop(void* arg) {
  reader* rd = arg;
  int readable = 0;
  // The next poll waits at most LINGER_MS, and hands on what has gathered if nothing more comes.
  int lingering = 0;
  // Bytes read since finish() was seen.
  size_t finished_bytes = 0;
  pthread_mutex_lock(&rd->lock);
  for (;;) {
    region* current = rd->regions[rd->count - 1];
    if (rd->paused && !rd->stopping && !rd->finishing) {
      // What was read before the pause goes on to the daemon's thread meanwhile.
      if (untaken(rd) > 0) notify(rd);
      pthread_cond_wait(&rd->changed, &rd->lock);
      continue;
    }
    if (rd->stopping) break;
    if (REGION_BYTES - current->filled < REGION_MIN_ROOM) {
      // A new region, unless MAX_REGIONS already wait for the daemon's thread.
      if (rd->count == MAX_REGIONS) {
        notify(rd);
        pthread_cond_wait(&rd->changed, &rd->lock);
        continue;
      }
      region* next = region_new(current->filled % ALIGN_BYTES);
      if (next == NULL) {
        rd->end_errno = ENOMEM;
        break;
      }
      rd->regions[rd->count++] = next;
      continue;
    }
    if (rd->finishing && finished_bytes >= FINISH_MAX_BYTES) break;
    // Finishing reads without waiting: it ends at the first read that finds nothing.
    if (!readable && !rd->finishing) {
      pthread_mutex_unlock(&rd->lock);
      struct pollfd fds[2] = {{.fd = rd->fd, .events = POLLIN}, {.fd = rd->wake, .events = POLLIN}};
      int n = poll(fds, 2, lingering ? LINGER_MS : -1);
      if (n > 0 && (fds[1].revents & POLLIN)) {
        uint64_t count;
        ssize_t ignored = read(rd->wake, &count, sizeof(count));
        (void)ignored;
      }
      readable = n > 0 && fds[0].revents != 0;
      pthread_mutex_lock(&rd->lock);
      if (lingering && !readable && untaken(rd) > 0) notify(rd);
      lingering = 0;
      continue;
    }
    char* into = current->bytes + current->filled;
    size_t room = REGION_BYTES - current->filled;
    // Only a read begun after finish() may end it.
    int finishing = rd->finishing;
    pthread_mutex_unlock(&rd->lock);
    ssize_t n = read(rd->fd, into, room);
    int error = errno;
    pthread_mutex_lock(&rd->lock);
    if (n > 0) {
      if (finishing) finished_bytes += (size_t)n;
      current->filled += (size_t)n;
      if (untaken(rd) >= rd->notify_bytes) notify(rd);
    } else if (n < 0 && (error == EAGAIN || error == EWOULDBLOCK)) {
      if (finishing) break;
      readable = 0;
      size_t gathered = untaken(rd);
      if (gathered >= LINGER_BYTES && !rd->notified) lingering = 1;
      else if (gathered > 0) notify(rd);
    } else if (n < 0 && error == EINTR) {
      continue;
    } else {
      rd->end_errno = n == 0 ? 0 : error;
      break;
    }
  }
  rd->ended = 1;
  notify(rd);
  pthread_mutex_unlock(&rd->lock);
  close(rd->fd);
  napi_release_threadsafe_function(rd->deliver, napi_tsfn_release);
  return NULL;
}

static void call_on_data(napi_env env, napi_value on_data, napi_value buffer, size_t offset, size_t length, int error) {
  napi_value args[3], global;
  args[0] = buffer;
  napi_create_double(env, (double)offset, &args[1]);
  if (buffer == NULL) {
    napi_get_null(env, &args[0]);
    napi_create_int32(env, error, &args[2]);
  } else {
    napi_create_double(env, (double)length, &args[2]);
  }
  napi_get_global(env, &global);
  napi_call_function(env, global, on_data, 3, args, NULL);
}

// A view of one region to hand on, and whether the region is full and done with.
typedef struct view {
  region* region;
  size_t offset;
  size_t length;
  int full;
} view;

// On the daemon's thread: hands on what the thread has read since the last time, in order, then the end.
static void deliver(napi_env env, napi_value on_data, void* context, void* data) {
  (void)data;
  reader* rd = context;
  if (env == NULL) return;
  view views[MAX_REGIONS];
  pthread_mutex_lock(&rd->lock);
  rd->notified = 0;
  int count = rd->count;
  for (int i = 0; i < count; i++) {
    region* r = rd->regions[i];
    views[i] = (view){r, r->taken, r->filled - r->taken, i < count - 1};
    r->taken = r->filled;
  }
  // The full regions leave the reader: the thread moved on from them.
  rd->regions[0] = rd->regions[count - 1];
  rd->count = 1;
  int ended = rd->ended && !rd->end_delivered;
  if (ended) rd->end_delivered = 1;
  int error = rd->end_errno;
  pthread_cond_signal(&rd->changed);
  pthread_mutex_unlock(&rd->lock);

  for (int i = 0; i < count; i++) {
    region* r = views[i].region;
    if (views[i].length > 0) {
      napi_value buffer;
      if (r->buffer == NULL) {
        napi_create_external_arraybuffer(env, r->bytes, REGION_BYTES, free_bytes, r->allocated, &buffer);
        napi_create_reference(env, buffer, 1, &r->buffer);
      } else {
        napi_get_reference_value(env, r->buffer, &buffer);
      }
      call_on_data(env, on_data, buffer, views[i].offset, views[i].length, 0);
    }
    if (views[i].full) region_release(env, r);
  }
  if (ended) call_on_data(env, on_data, NULL, 0, 0, error);
}

// On the daemon's thread, once the thread has finished and every delivery ran.
static void finalize_deliver(napi_env env, void* data, void* hint) {
  (void)data;
  reader* rd = hint;
  for (int i = 0; i < rd->count; i++) region_release(env, rd->regions[i]);
  rd->count = 0;
  reader_unown(rd);
}

static void finalize_object(napi_env env, void* data, void* hint) {
  (void)env;
  (void)hint;
  reader_unown(data);
}

static reader* this_reader(napi_env env, napi_callback_info info) {
  napi_value self;
  void* rd = NULL;
  if (napi_get_cb_info(env, info, NULL, NULL, &self, NULL) != napi_ok || napi_unwrap(env, self, &rd) != napi_ok) {
    napi_throw_type_error(env, NULL, "not a reader");
    return NULL;
  }
  return rd;
}

static void set_and_wake(reader* rd, int* field, int value) {
  pthread_mutex_lock(&rd->lock);
  *field = value;
  pthread_cond_signal(&rd->changed);
  pthread_mutex_unlock(&rd->lock);
}

static napi_value pause_reader(napi_env env, napi_callback_info info) {
  reader* rd = this_reader(env, info);
  if (rd != NULL) set_and_wake(rd, &rd->paused, 1);
  return NULL;
}

static napi_value resume_reader(napi_env env, napi_callback_info info) {
  reader* rd = this_reader(env, info);
  if (rd != NULL) set_and_wake(rd, &rd->paused, 0);
  return NULL;
}

// Sets `field` and wakes the thread wherever it waits: for the lock's condition, or in poll().
static void set_and_interrupt(reader* rd, int* field) {
  set_and_wake(rd, field, 1);
  uint64_t one = 1;
  ssize_t ignored = write(rd->wake, &one, sizeof(one));
  (void)ignored;
}

static napi_value stop_reader(napi_env env, napi_callback_info info) {
  reader* rd = this_reader(env, info);
  if (rd != NULL) set_and_interrupt(rd, &rd->stopping);
  return NULL;
}

static napi_value finish_reader(napi_env env, napi_callback_info info) {
  reader* rd = this_reader(env, info);
  if (rd != NULL) set_and_interrupt(rd, &rd->finishing);
  return NULL;
}

static napi_value open_reader(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value args[4];
  int32_t fd;
  uint32_t notify_bytes, phase;
  napi_valuetype type;
  if (napi_get_cb_info(env, info, &argc, args, NULL, NULL) != napi_ok || argc != 4 || napi_get_value_int32(env, args[0], &fd) != napi_ok ||
      napi_get_value_uint32(env, args[1], &notify_bytes) != napi_ok || napi_get_value_uint32(env, args[2], &phase) != napi_ok ||
      napi_typeof(env, args[3], &type) != napi_ok || type != napi_function) {
    napi_throw_type_error(env, NULL, "open(fd, notifyBytes, phase, onData): fd, notifyBytes and phase must be numbers and onData a function");
    return NULL;
  }
  reader* rd = calloc(1, sizeof(reader));
  region* first = region_new(phase % ALIGN_BYTES);
  int wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (rd == NULL || first == NULL || wake < 0) {
    int error = wake < 0 ? errno : ENOMEM;
    if (wake >= 0) close(wake);
    if (first != NULL) region_release(env, first);
    free(rd);
    throw_errno(env, error);
    return NULL;
  }
  // The thread polls: a read must not block it (a terminal's master is already non-blocking, shared with node-pty's socket).
  int flags = fcntl(fd, F_GETFL);
  if (flags >= 0) fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  rd->fd = fd;
  rd->notify_bytes = notify_bytes > 0 ? notify_bytes : 1;
  rd->wake = wake;
  rd->regions[0] = first;
  rd->count = 1;
  rd->owners = 2;
  pthread_mutex_init(&rd->lock, NULL);
  pthread_cond_init(&rd->changed, NULL);

  napi_value self, name;
  napi_property_descriptor methods[] = {
      {"pause", NULL, pause_reader, NULL, NULL, NULL, napi_default, NULL},
      {"resume", NULL, resume_reader, NULL, NULL, NULL, napi_default, NULL},
      {"stop", NULL, stop_reader, NULL, NULL, NULL, napi_default, NULL},
      {"finish", NULL, finish_reader, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_create_object(env, &self);
  napi_define_properties(env, self, sizeof(methods) / sizeof(methods[0]), methods);
  napi_create_string_utf8(env, "tether terminal reader", NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(env, args[3], NULL, name, 0, 1, NULL, finalize_deliver, rd, deliver, &rd->deliver) != napi_ok) {
    region_release(env, first);
    close(wake);
    free(rd);
    napi_throw_error(env, NULL, "could not create the reader's delivery");
    return NULL;
  }
  napi_wrap(env, self, rd, finalize_object, NULL, NULL);

  pthread_attr_t attributes;
  pthread_attr_init(&attributes);
  pthread_attr_setstacksize(&attributes, THREAD_STACK_BYTES);
  int error = pthread_create(&rd->thread, &attributes, read_loop, rd);
  pthread_attr_destroy(&attributes);
  if (error != 0) {
    // No thread: the delivery's finalizer and the object's drop the two owners.
    napi_release_threadsafe_function(rd->deliver, napi_tsfn_release);
    throw_errno(env, error);
    return NULL;
  }
  pthread_detach(rd->thread);
  return self;
}

// Runs on libuv's pool, not the daemon's thread: giving back tens of MB can take milliseconds.
static void trim_execute(napi_env env, void* data) {
  (void)env;
  (void)data;
#ifdef __GLIBC__
  malloc_trim(0);
#endif
}

static void trim_complete(napi_env env, napi_status status, void* data) {
  (void)status;
  (void)data;
  napi_delete_async_work(env, trimming);
  trimming = NULL;
}

static napi_value trim_when_quiet(napi_env env, napi_callback_info info) {
  (void)info;
  size_t made = atomic_load_explicit(&regions_made, memory_order_relaxed);
  bool quiet = made == made_at_last_look;
  bool settling = quiet && busy_at_last_look;
  busy_at_last_look = !quiet;
  made_at_last_look = made;
  bool trim = quiet && trimming == NULL && (settling || atomic_load_explicit(&freed_since_trim, memory_order_relaxed) >= TRIM_MIN_BYTES);
  if (trim) {
    napi_value name;
    napi_create_string_utf8(env, "tether reader trim", NAPI_AUTO_LENGTH, &name);
    if (napi_create_async_work(env, NULL, name, trim_execute, trim_complete, NULL, &trimming) != napi_ok) {
      trimming = NULL;
      trim = false;
    } else if (napi_queue_async_work(env, trimming) != napi_ok) {
      napi_delete_async_work(env, trimming);
      trimming = NULL;
      trim = false;
    } else {
      atomic_store_explicit(&freed_since_trim, 0, memory_order_relaxed);
    }
  }
  napi_value result;
  napi_get_boolean(env, trim, &result);
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor properties[] = {
      {"open", NULL, open_reader, NULL, NULL, NULL, napi_default, NULL},
      {"trimWhenQuiet", NULL, trim_when_quiet, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof(properties) / sizeof(properties[0]), properties);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
