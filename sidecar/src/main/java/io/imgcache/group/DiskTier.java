package io.imgcache.group;

import io.imgcache.cache.CachedResponse;
import java.util.concurrent.CompletableFuture;

/**
 * A slower, larger store under the memory caches (DESIGN §5): the owner reads it on a memory miss
 * before loading, and writes what it stores in its main cache behind the answer. Keys are variant
 * keys. Thread-safe; no method blocks the caller but {@link #ban}.
 */
public interface DiskTier {
  /** No disk tier: nothing is stored, every read finds nothing at once. */
  DiskTier NONE = new DiskTier() {
    @Override
    public boolean enabled() {
      return false;
    }

    @Override
    public CompletableFuture<CachedResponse> read(String key) {
      return CompletableFuture.completedFuture(null);
    }

    @Override
    public void write(String key, CachedResponse response) {}

    @Override
    public void invalidate(String key) {}

    @Override
    public int ban(String prefix) {
      return 0;
    }
  };

  boolean enabled();

  /**
   * The response stored under {@code key}, or null (none, damaged, foreign); never exceptionally.
   * May complete on the caller's thread (nothing stored, once indexed; a small checked file used
   * lately: normally a copy out of the page cache), else off it: callers must handle both.
   *
   * <p>The body may be {@linkplain CachedResponse#lent() lent} (a view of a mapped file): such a response
   * answers the one request and is released by whoever writes it, never stored; to keep it, take
   * {@link CachedResponse#owned()}. An owned body says the tier found the key worth keeping in
   * memory (read often, or just checked).
   */
  CompletableFuture<CachedResponse> read(String key);

  /** Stores {@code response} under {@code key} behind the caller's back; may drop it when busy or full. */
  void write(String key, CachedResponse response);

  /** Removes {@code key} and every variant key of it ({@code key + '\0' + ...}). */
  void invalidate(String key);

  /** Removes every key starting with {@code prefix}; walks the store (blocks): off the IO threads. */
  int ban(String prefix);
}
