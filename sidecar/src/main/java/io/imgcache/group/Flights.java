package io.imgcache.group;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * Coalesces concurrent loads of one key into one (groupcache's singleflight, asynchronous).
 * Thread-safe and non-blocking.
 *
 * <p>The shared future is never handed to callers to cancel: each caller gets a {@linkplain
 * CompletableFuture#copy() copy}, so a caller that gives up (its client went away, its own
 * deadline passed) does not cancel the load for the others. A load that fails completes every
 * waiter with the failure and clears the flight, so the next call starts a new load.
 */
final class Flights<V> {
  private final ConcurrentHashMap<String, CompletableFuture<V>> inflight = new ConcurrentHashMap<>();

  /** What {@link #join} did: started the load, or joined one already in flight. */
  record Joined<V>(CompletableFuture<V> result, boolean coalesced) {}

  /**
   * Returns the result of the load of {@code key} in flight, or starts {@code load} and returns
   * its result. {@code load} runs on the calling thread and must not block; if it throws, the
   * failure is the flight's result.
   */
  Joined<V> join(String key, Supplier<CompletableFuture<V>> load) {
    CompletableFuture<V> mine = new CompletableFuture<>();
    CompletableFuture<V> theirs = inflight.putIfAbsent(key, mine);
    if (theirs != null) {
      return new Joined<>(theirs.copy(), true);
    }
    CompletableFuture<V> started;
    try {
      started = load.get();
    } catch (RuntimeException | Error e) {
      // Whatever the loader throws must complete the flight, or the key would stay stuck.
      started = CompletableFuture.failedFuture(e);
    }
    started.whenComplete((value, failure) -> {
      // Removed before completing: a waiter that reacts to the result by asking again must start
      // a new flight, not find this finished one.
      inflight.remove(key, mine);
      if (failure != null) {
        mine.completeExceptionally(failure);
      } else {
        mine.complete(value);
      }
    });
    return new Joined<>(mine.copy(), false);
  }

  /** Loads in flight right now. */
  int size() {
    return inflight.size();
  }
}
