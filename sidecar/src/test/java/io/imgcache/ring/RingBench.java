package io.imgcache.ring;

import static io.imgcache.BenchFigures.allocated;
import static io.imgcache.BenchFigures.mb;
import static io.imgcache.BenchFigures.millis;
import static io.imgcache.BenchFigures.usedAfterGc;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.stream.IntStream;

/**
 * Issue 16's table, before and after in one JVM: for each cluster size, the flat ring of earlier
 * versions ({@link FlatRing}: every change rebuilds it) against the bucketed {@link Ring}
 * (a change is {@link Ring#withMembers}): time and garbage of one change, heap retained by one ring
 * and by the pair a node keeps for warm-up (current and previous), and owner() per call. Run by
 * {@code bench/ring-scale}; not a unit test. Figures are medians of a few runs, on a shared machine.
 */
public final class RingBench {
  private static final int VNODES = Ring.DEFAULT_VNODES;

  private RingBench() {}

  public static void main(String[] args) {
    int[] sizes = args.length > 0
        ? Arrays.stream(args).mapToInt(Integer::parseInt).toArray()
        : new int[] {100, 500, 1000, 2000};
    String[] keys = keys(1_000_000);
    System.out.println("| members | change: before | change: after | garbage per change: before → after"
        + " | retained ring (+ previous): before | after | owner(): before | after |");
    System.out.println("|---|---|---|---|---|---|---|---|");
    long largest = 0;
    for (int n : sizes) {
      List<String> members = IntStream.range(0, n).mapToObj(RingBench::member).toList();
      List<String> fewer = members.subList(1, n);

      long[] flatTime = new long[3];
      long[] flatGarbage = new long[3];
      for (int i = 0; i < flatTime.length; i++) {
        long a = allocated();
        long t = System.nanoTime();
        new FlatRing(i % 2 == 0 ? fewer : members, VNODES, Ring.MURMUR3);
        flatTime[i] = System.nanoTime() - t;
        flatGarbage[i] = allocated() - a;
      }
      long flatRetained = retained(() -> new FlatRing(members, VNODES, Ring.MURMUR3));
      FlatRing flat = new FlatRing(members, VNODES, Ring.MURMUR3);
      double flatOwner = nanosPerOwner(keys, k -> flat.owner(k));

      Ring ring = Ring.of(members, VNODES);
      ring.withMembers(fewer).withMembers(members); // warm up the change path
      int changes = 20;
      long[] time = new long[changes];
      long[] garbage = new long[changes];
      Random random = new Random(n);
      for (int i = 0; i < changes; i++) {
        // a member leaves, then comes back: the two halves of a restart
        List<String> next = new ArrayList<>(members);
        if (i % 2 == 0) {
          next.remove(random.nextInt(n));
        }
        long a = allocated();
        long t = System.nanoTime();
        ring = ring.withMembers(next);
        time[i] = System.nanoTime() - t;
        garbage[i] = allocated() - a;
      }
      Ring full = ring.withMembers(members);
      long newRetained = retained(() -> Ring.of(members, VNODES));
      // full is reachable throughout: this is what the next ring adds while full is kept as previous
      long pairExtra = retained(() -> full.withMembers(fewer));
      double newOwner = nanosPerOwner(keys, full::owner);

      System.out.printf("| %,d | %s | %s | %s → %s | %s (+ %s) | %s (+ %s) | %.0f ns | %.0f ns |%n", n,
          millis(median(flatTime)), millis(median(time)), mb(median(flatGarbage)), mb(median(garbage)),
          mb(flatRetained), mb(flatRetained), mb(newRetained), mb(pairExtra), flatOwner, newOwner);
      largest = Math.max(largest, newRetained);
    }
    // What owner() cannot go below here: the key's hash, and at least one read from memory the
    // size of the ring that the previous one did not bring into cache.
    System.out.printf("%nFloor on this machine: key hash %.0f ns; one dependent random read in %s %.0f ns%n",
        nanosPerOwner(keys, k -> KeyHash.of(k) == 42 ? "!" : ""), mb(largest), nanosPerDependentRead(largest));
  }

  /** Nanoseconds per load in a chain of dependent loads at random places in {@code bytes} of heap. */
  private static double nanosPerDependentRead(long bytes) {
    int n = (int) (bytes / Long.BYTES);
    int[] order = IntStream.range(0, n).toArray();
    Random random = new Random(1);
    for (int i = n - 1; i > 0; i--) {
      int j = random.nextInt(i + 1);
      int t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
    long[] next = new long[n];
    for (int i = 0; i < n; i++) {
      next[order[i]] = order[(i + 1) % n]; // one cycle through every element
    }
    int steps = 2_000_000;
    int at = 0;
    long best = Long.MAX_VALUE;
    for (int round = 0; round < 5; round++) {
      long t = System.nanoTime();
      for (int s = 0; s < steps; s++) {
        at = (int) next[at];
      }
      best = Math.min(best, System.nanoTime() - t);
    }
    return at == -1 ? 0 : best / (double) steps;
  }

  private static String member(int i) {
    return "http://10." + (i / 62500) + "." + (i / 250 % 250) + "." + (i % 250 + 1) + ":9000";
  }

  private static String[] keys(int count) {
    Random random = new Random(42);
    String[] keys = new String[count];
    for (int i = 0; i < count; i++) {
      keys[i] = "/v2/image/png/" + random.nextInt(100_000) + "?w=" + (1 + random.nextInt(2000))
          + "&h=" + (1 + random.nextInt(2000));
    }
    return keys;
  }

  private static double nanosPerOwner(String[] keys, Function<String, String> owner) {
    int sink = 0;
    long best = Long.MAX_VALUE;
    for (int round = 0; round < 5; round++) { // the best of 5: the first warms up, others may be preempted
      long t = System.nanoTime();
      for (String k : keys) {
        sink += owner.apply(k).length();
      }
      best = Math.min(best, System.nanoTime() - t);
    }
    if (sink == 42) {
      System.out.print(""); // keeps the loop's result alive
    }
    return best / (double) keys.length;
  }

  /** Heap still in use after a GC while {@code make}'s result is reachable, minus before. */
  private static long retained(Supplier<Object> make) {
    long before = usedAfterGc();
    Object kept = make.get();
    long after = usedAfterGc();
    if (kept.hashCode() == 42) {
      System.out.print("");
    }
    return after - before;
  }

  private static long median(long[] values) {
    long[] sorted = values.clone();
    Arrays.sort(sorted);
    return sorted[sorted.length / 2];
  }

}
