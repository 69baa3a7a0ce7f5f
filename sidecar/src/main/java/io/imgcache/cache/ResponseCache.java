package io.imgcache.cache;

import java.util.function.Consumer;

/**
 * A byte-bounded map from cache key to {@link CachedResponse}. Thread-safe; no method blocks or
 * does I/O, so all of them may be called on an IO thread.
 */
public interface ResponseCache {
  /** The entry for {@code key}, or null; counts a hit or a miss. */
  CachedResponse get(String key);

  /** The entry for {@code key}, or null, without counting a hit or a miss. */
  CachedResponse peek(String key);

  /**
   * Stores {@code value} (its {@linkplain CachedResponse#offHeap() off-heap} form) under {@code key},
   * replacing any entry, and evicts until the weighed size is back under the bound before returning. A non-{@linkplain CachedResponse#storable()
   * storable} value is a caller error.
   */
  void put(String key, CachedResponse value);

  /** Calls {@code action} with each key present now (weakly consistent; entries may come and go). */
  void forEachKey(Consumer<String> action);

  /** Removes {@code key}; returns whether an entry was there. */
  boolean invalidate(String key);

  /** A consistent-enough snapshot of the counters, for metrics and stats. */
  Stats stats();

  /** Counters of one cache. */
  record Stats(long maxBytes, long bytes, long entries, long hits, long misses, long evictions) {}
}
