// What AddressSanitizer and ThreadSanitizer must be told about the simulator's fiber switches.
// Without a sanitizer every hook is empty and compiles away.
//
// AddressSanitizer tracks which stack is current; Debian's Boost.Context does not tell it, so
// each switch is announced with __sanitizer_start/finish_switch_fiber.
//
// ThreadSanitizer sees each fiber as a thread of its own. Switches between fibers carry no
// happens-before edge, so conflicting accesses of two CUDA threads of a block between two
// barriers are reported as races, exactly what a missing __syncthreads() is. The edges CUDA
// does guarantee are made explicit: every barrier and warp collective is a release by each
// arriving thread and an acquire by each leaving one; a fiber starts with what the scheduler
// knows, and the scheduler takes every fiber's work at the end of the block (the next block
// reuses the stacks and the __shared__ arrays). The simulator's own bookkeeping, correct by
// construction on one OS thread, runs with access checks off.
#pragma once

#include <cstddef>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#define LENET_SIM_ASAN 1
#endif

#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#define LENET_SIM_TSAN 1
// Exported by the ThreadSanitizer runtime but missing from its header.
extern "C" void __tsan_ignore_thread_begin();
extern "C" void __tsan_ignore_thread_end();
#endif

namespace lenet::sim::detail::sanitizers {

#if defined(LENET_SIM_ASAN) || defined(LENET_SIM_TSAN)
constexpr bool kEnabled = true;
#else
constexpr bool kEnabled = false;
#endif

// What the sanitizers need to know about one stack: the OS thread's own (the scheduler's side)
// or one CUDA thread's fiber. Both sides hold the same fields.
struct StackState {
#if defined(LENET_SIM_ASAN)
  void* fake_stack = nullptr;
  const void* stack_bottom = nullptr;
  std::size_t stack_size = 0;
#endif
#if defined(LENET_SIM_TSAN)
  void* fiber = nullptr;
#endif
};
using SchedulerState = StackState;
using FiberState = StackState;

// Turns off ThreadSanitizer's access checks for the current fiber while alive.
class IgnoreAccesses {
 public:
#if defined(LENET_SIM_TSAN)
  IgnoreAccesses() { __tsan_ignore_thread_begin(); }
  ~IgnoreAccesses() { __tsan_ignore_thread_end(); }
#else
  // User-provided, so that a guard nobody names draws no unused-variable warning.
  IgnoreAccesses() {}
  ~IgnoreAccesses() {}
#endif
  IgnoreAccesses(const IgnoreAccesses&) = delete;
  IgnoreAccesses& operator=(const IgnoreAccesses&) = delete;
};

inline void release([[maybe_unused]] const void* sync) {
#if defined(LENET_SIM_TSAN)
  __tsan_release(const_cast<void*>(sync));
#endif
}

inline void acquire([[maybe_unused]] const void* sync) {
#if defined(LENET_SIM_TSAN)
  __tsan_acquire(const_cast<void*>(sync));
#endif
}

inline void init_scheduler([[maybe_unused]] SchedulerState& s) {
#if defined(LENET_SIM_TSAN)
  s.fiber = __tsan_get_current_fiber();
#endif
}

// Scheduler, around the construction of f's fiber (Boost.Context runs a little of the new
// fiber's code then). ThreadSanitizer gets a new thread for every CUDA thread of every block,
// which inherits what the scheduler knows: the kernel's arguments, the previous blocks' work.
inline void before_create([[maybe_unused]] FiberState& f, [[maybe_unused]] const void* bottom,
                          [[maybe_unused]] std::size_t size) {
#if defined(LENET_SIM_ASAN)
  f.fake_stack = nullptr;
  f.stack_bottom = bottom;
  f.stack_size = size;
#endif
#if defined(LENET_SIM_TSAN)
  f.fiber = __tsan_create_fiber(0);
  __tsan_switch_to_fiber(f.fiber, 0);
  __tsan_ignore_thread_begin();
#endif
}

inline void after_create([[maybe_unused]] SchedulerState& s) {
#if defined(LENET_SIM_TSAN)
  void* const scheduler = s.fiber;  // read while the checks are still off
  __tsan_ignore_thread_end();
  __tsan_switch_to_fiber(scheduler, __tsan_switch_to_fiber_no_sync);
#endif
}

// Scheduler, right before it resumes f.
inline void before_resume([[maybe_unused]] SchedulerState& s, [[maybe_unused]] FiberState& f) {
#if defined(LENET_SIM_ASAN)
  __sanitizer_start_switch_fiber(&s.fake_stack, f.stack_bottom, f.stack_size);
#endif
#if defined(LENET_SIM_TSAN)
  __tsan_switch_to_fiber(f.fiber, __tsan_switch_to_fiber_no_sync);
#endif
}

// Scheduler, right after f switched back; finished: f returned and is gone. A finishing fiber
// leaves the switch back to ThreadSanitizer's scheduler thread to the scheduler, so that every
// instrumented frame entered in the fiber's name also leaves in it; Boost.Context's cleanup
// in between runs with access checks off (before_suspend).
inline void after_resume([[maybe_unused]] SchedulerState& s, [[maybe_unused]] FiberState& f,
                         [[maybe_unused]] bool finished) {
#if defined(LENET_SIM_ASAN)
  __sanitizer_finish_switch_fiber(s.fake_stack, nullptr, nullptr);
#endif
#if defined(LENET_SIM_TSAN)
  if (finished) {
    void* const scheduler = s.fiber;  // read while the checks are still off
    __tsan_ignore_thread_end();
    __tsan_switch_to_fiber(scheduler, __tsan_switch_to_fiber_no_sync);
    __tsan_destroy_fiber(f.fiber);
    f.fiber = nullptr;
  }
#endif
}

// Fiber, first thing when it starts.
inline void fiber_entered([[maybe_unused]] SchedulerState& s) {
#if defined(LENET_SIM_ASAN)
  __sanitizer_finish_switch_fiber(nullptr, &s.stack_bottom, &s.stack_size);
#endif
}

// Fiber, right before it switches back to the scheduler; exiting: it will never run again.
inline void before_suspend([[maybe_unused]] SchedulerState& s, [[maybe_unused]] FiberState& f,
                           [[maybe_unused]] bool exiting) {
#if defined(LENET_SIM_ASAN)
  __sanitizer_start_switch_fiber(exiting ? nullptr : &f.fake_stack, s.stack_bottom, s.stack_size);
#endif
#if defined(LENET_SIM_TSAN)
  if (exiting) {
    __tsan_ignore_thread_begin();  // ended by after_resume
  } else {
    __tsan_switch_to_fiber(s.fiber, __tsan_switch_to_fiber_no_sync);
  }
#endif
}

// Fiber, right after the scheduler resumed it again.
inline void after_suspend([[maybe_unused]] SchedulerState& s, [[maybe_unused]] FiberState& f) {
#if defined(LENET_SIM_ASAN)
  __sanitizer_finish_switch_fiber(f.fake_stack, &s.stack_bottom, &s.stack_size);
#endif
}

}  // namespace lenet::sim::detail::sanitizers
