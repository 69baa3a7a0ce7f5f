package io.imgcache.cache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import com.github.benmanes.caffeine.cache.Ticker;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ResponseCachesTest {
  private static final long MAX_BYTES = 1 << 20;

  private final FakeTicker ticker = new FakeTicker();

  private ResponseCache cache(Duration ttl, Duration negativeTtl) {
    return ResponseCaches.create(MAX_BYTES, ttl, negativeTtl, ticker);
  }

  private static CachedResponse ok(int bodyBytes) {
    // Off-heap already, as a cache keeps it: put() then stores this very object.
    return CachedResponse.of(200, List.of("Content-Type", "image/png"), new byte[bodyBytes]).offHeap();
  }

  private static CachedResponse status(int status) {
    return CachedResponse.of(status, List.of("Content-Type", "text/plain"), new byte[10]).offHeap();
  }

  private static long presentWeight(ResponseCache cache, List<String> keys) {
    long sum = 0;
    for (String key : keys) {
      CachedResponse r = cache.peek(key);
      if (r != null) {
        sum += r.weigh(key);
      }
    }
    return sum;
  }

  @ParameterizedTest(name = "[{index}] seed {0}")
  @ValueSource(longs = {1, 2, 3})
  void staysWithinMaxBytesWhileFilledThreeTimesOver(long seed) {
    ResponseCache cache = cache(Duration.ZERO, Duration.ZERO);
    Random random = new Random(seed);
    List<String> keys = new ArrayList<>();
    long written = 0;
    // A small key read between writes: frequently used, it must survive the churn.
    String hotKey = "/hot";
    CachedResponse hotValue = ok(2_000);
    cache.put(hotKey, hotValue);
    for (int i = 0; written < 3 * MAX_BYTES; i++) {
      String key = "/v2/image/png/" + i + "?w=" + random.nextInt(2000);
      // Mostly thumbnails, some large images.
      int size = random.nextInt(10) == 0 ? 50_000 + random.nextInt(150_000) : 500 + random.nextInt(20_000);
      CachedResponse value = ok(size);
      cache.put(key, value);
      keys.add(key);
      written += value.weigh(key);

      ResponseCache.Stats stats = cache.stats();
      assertTrue(stats.bytes() <= MAX_BYTES, "after put " + i + ": " + stats);
      assertTrue(presentWeight(cache, keys) <= MAX_BYTES, "after put " + i);
      assertSame(hotValue, cache.get(hotKey), "after put " + i);
    }
    ResponseCache.Stats stats = cache.stats();
    assertEquals(MAX_BYTES, stats.maxBytes());
    assertTrue(stats.evictions() > 0, stats.toString());
    assertTrue(stats.entries() < keys.size(), stats.toString());
    assertTrue(stats.entries() > 0, stats.toString());
    // The cache is used, not emptied: most of the bound is still filled.
    assertTrue(stats.bytes() > MAX_BYTES / 2, stats.toString());
  }

  @Test
  void entryLargerThanTheCacheIsNotKept() {
    ResponseCache cache = cache(Duration.ZERO, Duration.ZERO);
    cache.put("/small", ok(100));
    cache.put("/huge", ok((int) MAX_BYTES + 1));
    assertNull(cache.peek("/huge"));
    assertTrue(cache.stats().bytes() <= MAX_BYTES);
  }

  @Test
  void putOfNonStorableIsACallerError() {
    ResponseCache cache = cache(Duration.ZERO, Duration.ofSeconds(5));
    for (CachedResponse bad : List.of(
        status(301),
        status(500),
        CachedResponse.of(200, List.of("Cache-Control", "no-store"), new byte[1]),
        CachedResponse.of(404, List.of("Cache-Control", "private"), new byte[1]))) {
      IllegalStateException e = assertThrows(IllegalStateException.class, () -> cache.put("/k", bad));
      assertTrue(e.getMessage().contains("not storable"), e.getMessage());
      assertNull(cache.peek("/k"));
    }
  }

  @Test
  void entryExpiresAfterTtl() {
    ResponseCache cache = cache(Duration.ofSeconds(10), Duration.ZERO);
    CachedResponse value = ok(100);
    cache.put("/k", value);
    ticker.advance(Duration.ofMillis(9_999));
    assertSame(value, cache.get("/k"));
    ticker.advance(Duration.ofMillis(2));
    assertNull(cache.get("/k"));
    assertNull(cache.peek("/k"));
  }

  @Test
  void readingDoesNotExtendTtl() {
    ResponseCache cache = cache(Duration.ofSeconds(10), Duration.ZERO);
    cache.put("/k", ok(100));
    for (int i = 0; i < 9; i++) {
      ticker.advance(Duration.ofSeconds(1));
      assertNotNull(cache.get("/k"));
    }
    ticker.advance(Duration.ofMillis(1_001));
    assertNull(cache.get("/k"));
  }

  @Test
  void replacingAnEntryRestartsItsTtl() {
    ResponseCache cache = cache(Duration.ofSeconds(10), Duration.ZERO);
    cache.put("/k", ok(100));
    ticker.advance(Duration.ofSeconds(8));
    CachedResponse newer = ok(200);
    cache.put("/k", newer);
    ticker.advance(Duration.ofSeconds(8));
    assertSame(newer, cache.get("/k"));
  }

  @Test
  void zeroTtlMeansUntilEvicted() {
    ResponseCache cache = cache(Duration.ZERO, Duration.ZERO);
    CachedResponse value = ok(100);
    cache.put("/k", value);
    ticker.advance(Duration.ofDays(3650));
    assertSame(value, cache.get("/k"));
  }

  @ParameterizedTest
  @ValueSource(ints = {404, 410})
  void negativeResponseIsNotStoredWhenNegativeTtlIsZero(int status) {
    ResponseCache cache = cache(Duration.ofSeconds(60), Duration.ZERO);
    cache.put("/missing", status(status));
    assertNull(cache.peek("/missing"));
    assertEquals(0, cache.stats().entries());
    assertEquals(0, cache.stats().bytes());
  }

  @ParameterizedTest
  @ValueSource(ints = {404, 410})
  void negativeResponseLivesForNegativeTtl(int status) {
    // negative-ttl is its own clock: longer than ttl here, and it must still apply.
    ResponseCache cache = cache(Duration.ofSeconds(1), Duration.ofSeconds(5));
    CachedResponse missing = status(status);
    cache.put("/missing", missing);
    ticker.advance(Duration.ofMillis(4_999));
    assertSame(missing, cache.get("/missing"));
    ticker.advance(Duration.ofMillis(2));
    assertNull(cache.get("/missing"));
  }

  @Test
  void negativeTtlDoesNotShortenPositiveEntries() {
    ResponseCache cache = cache(Duration.ZERO, Duration.ofSeconds(5));
    CachedResponse value = ok(100);
    cache.put("/k", value);
    ticker.advance(Duration.ofHours(1));
    assertSame(value, cache.get("/k"));
  }

  @Test
  void peekDoesNotCountHitsOrMissesButGetDoes() {
    ResponseCache cache = cache(Duration.ZERO, Duration.ZERO);
    CachedResponse value = ok(100);
    cache.put("/k", value);

    assertSame(value, cache.peek("/k"));
    assertNull(cache.peek("/absent"));
    assertEquals(0, cache.stats().hits());
    assertEquals(0, cache.stats().misses());

    assertSame(value, cache.get("/k"));
    assertSame(value, cache.get("/k"));
    assertNull(cache.get("/absent"));
    assertEquals(2, cache.stats().hits());
    assertEquals(1, cache.stats().misses());
  }

  @Test
  void invalidateRemovesAndSaysWhetherThereWasAnEntry() {
    ResponseCache cache = cache(Duration.ZERO, Duration.ZERO);
    cache.put("/k", ok(100));
    assertTrue(cache.invalidate("/k"));
    assertNull(cache.peek("/k"));
    assertFalse(cache.invalidate("/k"));
    assertEquals(0, cache.stats().bytes());
  }

  @Test
  void statsCountBytesAndEntries() {
    ResponseCache cache = cache(Duration.ZERO, Duration.ZERO);
    CachedResponse a = ok(1_000);
    CachedResponse b = ok(3_000);
    cache.put("/a", a);
    cache.put("/b", b);
    ResponseCache.Stats stats = cache.stats();
    assertEquals(2, stats.entries());
    assertEquals(a.weigh("/a") + b.weigh("/b"), stats.bytes());
    assertEquals(0, stats.evictions());

    CachedResponse smaller = ok(10);
    cache.put("/b", smaller);
    assertEquals(a.weigh("/a") + smaller.weigh("/b"), cache.stats().bytes());
  }

  @Test
  void rejectsNegativeMaxBytes() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> ResponseCaches.create(-1, Duration.ZERO, Duration.ZERO, ticker));
    assertTrue(e.getMessage().contains("-1"), e.getMessage());
  }

  @Test
  void aCacheKeepsBodiesOffHeapAndCopiesEachOnlyOnce() {
    ResponseCache cache = ResponseCaches.create(1 << 20, Duration.ZERO, Duration.ZERO, Ticker.systemTicker());
    CachedResponse heap = CachedResponse.of(200, List.of("Content-Type", "image/png"), new byte[] {1, 2, 3});
    assertFalse(heap.body().isDirect(), "a response that merely passes through stays on the heap");
    cache.put("/k", heap);
    CachedResponse kept = cache.peek("/k");
    assertTrue(kept.body().isDirect(), "what a cache keeps is off-heap");
    assertArrayEquals(heap.bodyBytes(), kept.bodyBytes());
    assertSame(kept, kept.offHeap(), "no second copy");
  }
}
