package io.imgcache.cache;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkState;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import com.github.benmanes.caffeine.cache.Policy;
import com.github.benmanes.caffeine.cache.Ticker;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.function.Consumer;

/** Creates {@link ResponseCache}s backed by Caffeine (W-TinyLFU admission and eviction). */
public final class ResponseCaches {
  private ResponseCaches() {}

  /**
   * A cache holding at most {@code maxBytes} weighed bytes. An entry lives as long as {@link
   * CachedResponse#retainMillis} says at the time it is stored (read from {@code wallClock}, epoch
   * milliseconds), measured with {@code ticker}; freshness itself is the caller's to check.
   */
  public static ResponseCache create(long maxBytes, Ticker ticker, LongSupplier wallClock) {
    checkArgument(maxBytes >= 0, "maxBytes must not be negative, was %s", maxBytes);
    return new CaffeineResponseCache(maxBytes, ticker, wallClock);
  }

  private static final class CaffeineResponseCache implements ResponseCache {
    private final long maxBytes;
    private final Cache<String, CachedResponse> cache;
    private final Policy.Eviction<String, CachedResponse> eviction;

    CaffeineResponseCache(long maxBytes, Ticker ticker, LongSupplier wallClock) {
      this.maxBytes = maxBytes;
      this.cache = Caffeine.newBuilder()
          .maximumWeight(maxBytes)
          .weigher((String key, CachedResponse value) -> value.weigh(key))
          .expireAfter(new Retention(wallClock))
          .ticker(ticker)
          // Maintenance (eviction) on the writing thread: the bound holds when put() returns,
          // and no work is handed to the common pool.
          .executor(Runnable::run)
          .recordStats()
          .build();
      this.eviction = cache.policy().eviction().orElseThrow();
    }

    @Override
    public CachedResponse get(String key) {
      return cache.getIfPresent(key);
    }

    @Override
    public CachedResponse peek(String key) {
      return cache.policy().getIfPresentQuietly(key);
    }

    @Override
    public void put(String key, CachedResponse value) {
      checkState(value.storable(), "not storable: %s", value);
      if (maxBytes == 0) {
        return; // a cache of no bytes (hot-fraction 0) keeps nothing, not even for a moment
      }
      cache.put(key, value.offHeap());
    }

    @Override
    public void forEachKey(Consumer<String> action) {
      cache.asMap().keySet().forEach(action);
    }

    @Override
    public boolean invalidate(String key) {
      return cache.asMap().remove(key) != null;
    }

    @Override
    public Stats stats() {
      var s = cache.stats();
      return new Stats(maxBytes, eviction.weightedSize().orElse(0), cache.estimatedSize(), s.hitCount(),
          s.missCount(), s.evictionCount());
    }
  }

  /** Keeps each entry for its {@link CachedResponse#retainMillis} from the moment it is stored. */
  private record Retention(LongSupplier wallClock) implements Expiry<String, CachedResponse> {
    @Override
    public long expireAfterCreate(String key, CachedResponse value, long currentTime) {
      long millis = value.retainMillis(wallClock.getAsLong());
      return millis >= Long.MAX_VALUE / 1_000_000 ? Long.MAX_VALUE : TimeUnit.MILLISECONDS.toNanos(millis);
    }

    @Override
    public long expireAfterUpdate(String key, CachedResponse value, long currentTime, long currentDuration) {
      return expireAfterCreate(key, value, currentTime);
    }

    @Override
    public long expireAfterRead(String key, CachedResponse value, long currentTime, long currentDuration) {
      return currentDuration;
    }
  }
}
