package io.imgcache.group;

import com.github.benmanes.caffeine.cache.Ticker;
import io.imgcache.cache.CachePolicy;
import io.imgcache.cache.CachedResponse;
import io.imgcache.cache.ResponseCache;
import io.imgcache.cache.ResponseCaches;
import io.imgcache.cache.Variants;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Issue 14: does a ban on a node holding a million entries stall serving? Fills a group's main
 * cache with N keys, measures hit lookups on one thread for a while, then again while another
 * thread runs a ban (the walk a worker thread runs in the node), and prints both side by side with
 * the walk's duration. Run by {@code bench/ban-walk}; not a unit test.
 */
public final class BanWalkBench {
  private BanWalkBench() {}

  public static void main(String[] args) throws Exception {
    int n = args.length > 0 ? Integer.parseInt(args[0]) : 1_000_000;
    CachePolicy policy = CachePolicy.builder().build();
    ResponseCache main = ResponseCaches.create(4L << 30, Ticker.systemTicker(), System::currentTimeMillis);
    ResponseCache hot = ResponseCaches.create(64L << 20, Ticker.systemTicker(), System::currentTimeMillis);
    Variants variants = new Variants(List.of(), 10_000, key -> main.invalidate(key));
    OriginLoader never = new OriginLoader() {
      @Override
      public CompletableFuture<CachedResponse> load(Request request) {
        throw new AssertionError("the bench only hits");
      }

      @Override
      public CompletableFuture<Revalidation> revalidate(Request request, CachedResponse stored) {
        throw new AssertionError("the bench only hits");
      }
    };
    Group group = new Group("bench", main, hot, variants, PeerPicker.SELF_ONLY, never, policy, Duration.ofSeconds(30),
        new Group.Events() {});
    CachedResponse response = policy.response(200, List.of("Content-Type", "image/png"),
        "x".repeat(100).getBytes(StandardCharsets.US_ASCII)).offHeap();
    String[] keys = new String[n];
    for (int i = 0; i < n; i++) {
      keys[i] = "/v2/image/png/" + (i / 10) + "?w=" + (100 + i % 10); // ten sizes of each image
      main.put(keys[i], response);
    }
    System.gc();
    System.out.printf("entries: %,d (ten sizes of %,d images)%n", n, n / 10);
    Phase before = lookups(group, keys, 3_000, null);
    AtomicBoolean walking = new AtomicBoolean(true);
    long[] walk = new long[2];
    Thread banner = new Thread(() -> {
      long start = System.nanoTime();
      walk[1] = group.ban("bench", "/v2/image/png/" + (n / 20) + "?"); // one image, all its sizes
      walk[0] = System.nanoTime() - start;
      walking.set(false);
    }, "ban-walk");
    Phase[] during = new Phase[1];
    Thread reader = new Thread(() -> during[0] = lookups(group, keys, 60_000, walking), "lookups");
    reader.start();
    Thread.sleep(50);
    banner.start();
    banner.join();
    reader.join();
    System.out.printf("ban walk: %.0f ms over %,d entries, %d copies removed (one image, ten sizes)%n",
        walk[0] / 1e6, n, walk[1]);
    System.out.println("| phase | lookups/s | p50 µs | p99 µs | p99.9 µs | max µs |");
    System.out.println("|---|---|---|---|---|---|");
    System.out.println(before.row("hits, no ban"));
    System.out.println(during[0].row("hits during the ban walk"));
  }

  /** One thread's lookups for {@code millis} (or while {@code until} holds), each timed. */
  private static Phase lookups(Group group, String[] keys, long millis, AtomicBoolean until) {
    long[] samples = new long[5_000_000];
    int count = 0;
    long end = System.nanoTime() + millis * 1_000_000;
    long started = System.nanoTime();
    ThreadLocalRandom random = ThreadLocalRandom.current();
    while (count < samples.length && System.nanoTime() < end && (until == null || until.get())) {
      String key = keys[random.nextInt(keys.length)];
      long t0 = System.nanoTime();
      group.lookup(key, name -> null, io.imgcache.cache.CacheControl.NONE, false);
      samples[count++] = System.nanoTime() - t0;
    }
    long elapsed = System.nanoTime() - started;
    long[] sorted = Arrays.copyOf(samples, count);
    Arrays.sort(sorted);
    return new Phase(count, elapsed, sorted);
  }

  private record Phase(int count, long elapsedNanos, long[] sorted) {
    String row(String name) {
      return String.format("| %s | %,.0f | %.2f | %.2f | %.2f | %.0f |", name, count / (elapsedNanos / 1e9),
          at(0.50), at(0.99), at(0.999), sorted[sorted.length - 1] / 1e3);
    }

    double at(double q) {
      return sorted[Math.min(sorted.length - 1, (int) (q * sorted.length))] / 1e3;
    }
  }
}
