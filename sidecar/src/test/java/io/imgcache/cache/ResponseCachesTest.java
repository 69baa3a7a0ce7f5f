package io.imgcache.cache;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The byte-bounded store. How long an entry stays is the response's {@link
 * CachedResponse#retainMillis} (its lifetime, stale windows and validator: {@link CachePolicy}),
 * no longer a ttl of the cache; the wall clock and Caffeine's ticker move together here.
 */
class ResponseCachesTest {
  private static final long MAX_BYTES = 1 << 20;

  private final FakeClock clock = new FakeClock();
  private final CachePolicy policy = CachePolicy.builder().clock(clock).negativeTtl(Duration.ofSeconds(5)).build();

  private ResponseCache cache() {
    return ResponseCaches.create(MAX_BYTES, clock, clock);
  }

  private CachedResponse ok(int bodyBytes, String... headers) {
    List<String> all = new ArrayList<>(List.of("Content-Type", "image/png"));
    all.addAll(List.of(headers));
    // Off-heap already, as a cache keeps it: put() then stores this very object.
    return policy.response(200, all, new byte[bodyBytes]).offHeap();
  }

  private CachedResponse status(int status, String... headers) {
    List<String> all = new ArrayList<>(List.of("Content-Type", "text/plain"));
    all.addAll(List.of(headers));
    return policy.response(status, all, new byte[10]).offHeap();
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
    ResponseCache cache = cache();
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
    ResponseCache cache = cache();
    cache.put("/small", ok(100));
    cache.put("/huge", ok((int) MAX_BYTES + 1));
    assertNull(cache.peek("/huge"));
    assertTrue(cache.stats().bytes() <= MAX_BYTES);
  }

  /**
   * The storability rules are the policy's now; a cache refuses what it marked non-storable. (The old
   * cache took a 301 and a no-cache 200 without validator for non-storable / storable: a 301 is
   * cacheable by default under RFC 9111 §3, and no-cache without a validator is not worth keeping.)
   */
  @Test
  void putOfNonStorableIsACallerError() {
    ResponseCache cache = cache();
    for (CachedResponse bad : List.of(
        status(302),
        status(500),
        status(503, "Cache-Control", "max-age=60"),
        status(404, "Cache-Control", "private"),
        ok(1, "Cache-Control", "no-store"),
        ok(1, "Set-Cookie", "a=b"),
        ok(1, "Vary", "*"),
        ok(1, "Cache-Control", "no-cache"))) {
      IllegalStateException e = assertThrows(IllegalStateException.class, () -> cache.put("/k", bad));
      assertTrue(e.getMessage().contains("not storable"), e.getMessage());
      assertNull(cache.peek("/k"));
    }
  }

  @Test
  void entryWithoutValidatorLeavesWhenItsLifetimeEnds() {
    ResponseCache cache = cache();
    CachedResponse value = ok(100, "Cache-Control", "max-age=10");
    cache.put("/k", value);
    clock.advance(Duration.ofMillis(9_999));
    assertSame(value, cache.get("/k"));
    clock.advance(Duration.ofMillis(2));
    assertNull(cache.get("/k"));
    assertNull(cache.peek("/k"));
  }

  @Test
  void retentionCountsTheAgeTheResponseArrivedWith() {
    ResponseCache cache = cache();
    cache.put("/k", ok(100, "Cache-Control", "max-age=10", "Age", "6"));
    clock.advance(Duration.ofMillis(3_999));
    assertNotNull(cache.get("/k"));
    clock.advance(Duration.ofMillis(2));
    assertNull(cache.get("/k"), "10 s of lifetime, 6 of them spent upstream");
  }

  @Test
  void entryIsKeptThroughItsStaleWindows() {
    ResponseCache cache = cache();
    cache.put("/k", ok(100, "Cache-Control", "max-age=10, stale-while-revalidate=20, stale-if-error=50"));
    clock.advanceSeconds(59);
    assertNotNull(cache.get("/k"), "may still be answered if the origin fails");
    clock.advanceSeconds(2);
    assertNull(cache.get("/k"));
  }

  @Test
  void entryWithAValidatorOutlivesItsLifetimeToBeRevalidated() {
    ResponseCache cache = cache();
    CachedResponse value = ok(100, "Cache-Control", "max-age=10", "ETag", "\"v1\"");
    cache.put("/k", value);
    clock.advance(Duration.ofDays(30));
    assertSame(value, cache.get("/k"));
    assertFalse(value.fresh(clock.now()), "kept, but the caller sees it is stale");
  }

  @Test
  void readingDoesNotExtendRetention() {
    ResponseCache cache = cache();
    cache.put("/k", ok(100, "Cache-Control", "max-age=10"));
    for (int i = 0; i < 9; i++) {
      clock.advanceSeconds(1);
      assertNotNull(cache.get("/k"));
    }
    clock.advance(Duration.ofMillis(1_001));
    assertNull(cache.get("/k"));
  }

  @Test
  void replacingAnEntryRestartsItsRetention() {
    ResponseCache cache = cache();
    cache.put("/k", ok(100, "Cache-Control", "max-age=10"));
    clock.advanceSeconds(8);
    CachedResponse newer = ok(200, "Cache-Control", "max-age=10");
    cache.put("/k", newer);
    clock.advanceSeconds(8);
    assertSame(newer, cache.get("/k"));
  }

  @Test
  void defaultTtlZeroMeansUntilEvicted() {
    ResponseCache cache = cache();
    CachedResponse value = ok(100);
    cache.put("/k", value);
    clock.advance(Duration.ofDays(3650));
    assertSame(value, cache.get("/k"));
  }

  @ParameterizedTest
  @ValueSource(ints = {404, 410})
  void negativeResponseLivesForNegativeTtl(int status) {
    ResponseCache cache = cache();
    CachedResponse missing = status(status);
    cache.put("/missing", missing);
    clock.advance(Duration.ofMillis(4_999));
    assertSame(missing, cache.get("/missing"));
    clock.advance(Duration.ofMillis(2));
    assertNull(cache.get("/missing"));
  }

  @Test
  void aCacheOfZeroBytesKeepsNothing() {
    ResponseCache cache = ResponseCaches.create(0, clock, clock);
    cache.put("/k", ok(1));
    assertNull(cache.peek("/k"));
    assertEquals(0, cache.stats().entries());
  }

  @Test
  void peekDoesNotCountHitsOrMissesButGetDoes() {
    ResponseCache cache = cache();
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
    ResponseCache cache = cache();
    cache.put("/k", ok(100));
    assertTrue(cache.invalidate("/k"));
    assertNull(cache.peek("/k"));
    assertFalse(cache.invalidate("/k"));
    assertEquals(0, cache.stats().bytes());
  }

  @Test
  void forEachKeyVisitsThePresentKeys() {
    ResponseCache cache = cache();
    cache.put("/a", ok(1));
    cache.put("/b", ok(1));
    List<String> keys = new ArrayList<>();
    cache.forEachKey(keys::add);
    keys.sort(null);
    assertEquals(List.of("/a", "/b"), keys);
  }

  @Test
  void statsCountBytesAndEntries() {
    ResponseCache cache = cache();
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
        () -> ResponseCaches.create(-1, clock, clock));
    assertTrue(e.getMessage().contains("-1"), e.getMessage());
  }

  @Test
  void aCacheKeepsBodiesOffHeapAndCopiesEachOnlyOnce() {
    ResponseCache cache = cache();
    CachedResponse heap = policy.response(200, List.of("Content-Type", "image/png"), new byte[] {1, 2, 3});
    assertFalse(heap.body().isDirect(), "a response that merely passes through stays on the heap");
    cache.put("/k", heap);
    CachedResponse kept = cache.peek("/k");
    assertTrue(kept.body().isDirect(), "what a cache keeps is off-heap");
    assertArrayEquals(heap.bodyBytes(), kept.bodyBytes());
    assertSame(kept, kept.offHeap(), "no second copy");
  }
}
