package io.imgcache.ring;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.IntFunction;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class RingTest {
  private static final IntFunction<String> PRIVATE_IPS = i -> "http://10.0.0." + i + ":9000";
  private static final IntFunction<String> LOOPBACK_PORTS = i -> "http://127.0.0.1:" + (9000 + i);
  /** Shared by all cases: generating the keys costs more than looking them up. */
  private static final String[] MILLION_KEYS = randomKeys(42, 1_000_000);
  private static final String[] KEYS = Arrays.copyOf(MILLION_KEYS, 200_000);

  /** Members 1..n of a realistic cluster. */
  private static List<String> cluster(IntFunction<String> url, int n) {
    return IntStream.rangeClosed(1, n).mapToObj(url).toList();
  }

  /** A random but realistic cache key (normalised request target). */
  private static String randomKey(Random random) {
    return "/v2/image/png/" + random.nextInt(100_000)
        + "?w=" + (1 + random.nextInt(2000)) + "&h=" + (1 + random.nextInt(2000));
  }

  private static String[] randomKeys(long seed, int count) {
    Random random = new Random(seed);
    String[] keys = new String[count];
    for (int i = 0; i < count; i++) {
      keys[i] = randomKey(random);
    }
    return keys;
  }

  private static Map<String, Integer> countOwners(String[] owners) {
    Map<String, int[]> counts = new HashMap<>();
    for (String owner : owners) {
      counts.computeIfAbsent(owner, o -> new int[1])[0]++;
    }
    Map<String, Integer> result = new HashMap<>();
    counts.forEach((owner, count) -> result.put(owner, count[0]));
    return result;
  }

  static Stream<Arguments> clusters() {
    return Stream.of(3, 5, 10)
        .flatMap(n -> Stream.of(
            Arguments.of("http://10.0.0.N:9000", cluster(PRIVATE_IPS, n)),
            Arguments.of("http://127.0.0.1:900N", cluster(LOOPBACK_PORTS, n))));
  }

  @ParameterizedTest(name = "{1}")
  @MethodSource("clusters")
  void busiestMemberOwnsAtMost110PercentOfMeanKeys(String pattern, List<String> urls) {
    Ring ring = Ring.of(urls, Ring.DEFAULT_VNODES);
    String[] keys = MILLION_KEYS;
    String[] owners = new String[keys.length];

    long start = System.nanoTime();
    for (int i = 0; i < keys.length; i++) {
      owners[i] = ring.owner(keys[i]);
    }
    long nanosPerOwner = (System.nanoTime() - start) / keys.length; // includes JIT warm-up

    Map<String, Integer> counts = countOwners(owners);
    double mean = keys.length / (double) urls.size();
    double ratio = Collections.max(counts.values()) / mean;
    double shareRatio = urls.stream().mapToDouble(ring::share).max().orElseThrow() * urls.size();
    System.out.printf(
        "ring balance %2d x %-22s max/mean keys %.4f, max/mean share %.4f, ~%d ns per owner()%n",
        urls.size(), pattern, ratio, shareRatio, nanosPerOwner);
    assertEquals(urls.size(), counts.size(), "every member owns keys");
    assertTrue(ratio <= 1.10, "busiest member owns " + ratio + " x the mean; counts " + counts);
  }

  @Test
  void twoMembersAreNotSplit37To63LikeGroupcacheIssue29() {
    Ring ring = Ring.of(cluster(LOOPBACK_PORTS, 2), Ring.DEFAULT_VNODES);
    for (String member : ring.members()) {
      assertEquals(0.5, ring.share(member), 0.05, member);
    }
  }

  @ParameterizedTest(name = "{1}")
  @MethodSource("clusters")
  void sharesSumToOneAndMatchTheKeysOwned(String pattern, List<String> urls) {
    Ring ring = Ring.of(urls, Ring.DEFAULT_VNODES);
    String[] keys = KEYS;
    Map<String, Integer> counts =
        countOwners(Stream.of(keys).map(ring::owner).toArray(String[]::new));

    assertEquals(1.0, urls.stream().mapToDouble(ring::share).sum(), 1e-9);
    for (String member : urls) {
      // 200k keys: the sampling error of a fraction near 0.1..0.33 is about 0.001.
      assertEquals(ring.share(member), counts.get(member) / (double) keys.length, 0.005, member);
    }
  }

  @ParameterizedTest(name = "{0} members, remove #{1}")
  @CsvSource({"3, 1", "5, 3", "10, 10", "10, 1"})
  void removingAMemberMovesOnlyItsKeys(int n, int removedIndex) {
    List<String> urls = cluster(PRIVATE_IPS, n);
    String removed = PRIVATE_IPS.apply(removedIndex);
    Ring before = Ring.of(urls, Ring.DEFAULT_VNODES);
    Ring after =
        Ring.of(urls.stream().filter(u -> !u.equals(removed)).toList(), Ring.DEFAULT_VNODES);

    String[] keys = KEYS;
    int moved = 0;
    for (String key : keys) {
      String was = before.owner(key);
      String now = after.owner(key);
      if (was.equals(removed)) {
        moved++;
      } else {
        assertEquals(was, now, () -> "key " + key + " moved although its owner stayed");
      }
    }
    assertEquals(before.share(removed), moved / (double) keys.length, 0.005);
  }

  @ParameterizedTest(name = "{0} -> {0}+1 members")
  @ValueSource(ints = {3, 5, 9})
  void addingAMemberMovesAboutOneInNPlusOneKeysAllOntoIt(int n) {
    List<String> urls = cluster(LOOPBACK_PORTS, n);
    String added = LOOPBACK_PORTS.apply(n + 1);
    Ring before = Ring.of(urls, Ring.DEFAULT_VNODES);
    Ring after = Ring.of(cluster(LOOPBACK_PORTS, n + 1), Ring.DEFAULT_VNODES);

    String[] keys = KEYS;
    int moved = 0;
    for (String key : keys) {
      String was = before.owner(key);
      String now = after.owner(key);
      if (!was.equals(now)) {
        assertEquals(added, now, () -> "key " + key + " moved to an old member");
        moved++;
      }
    }
    double fraction = moved / (double) keys.length;
    double expected = 1.0 / (n + 1);
    // Balance within 10% bounds the new member's share; allow 15% around 1/(N+1).
    assertEquals(expected, fraction, 0.15 * expected, "fraction of keys moved");
    assertEquals(after.share(added), fraction, 0.005, "moved keys vs the new member's share");
  }

  @Test
  void ownershipDoesNotDependOnMemberOrderOrDuplicates() {
    List<String> urls = cluster(PRIVATE_IPS, 10);
    Ring sorted = Ring.of(urls, Ring.DEFAULT_VNODES);
    for (long seed = 0; seed < 3; seed++) {
      List<String> shuffled = new ArrayList<>(urls);
      shuffled.addAll(urls.subList(0, 4)); // duplicates are ignored
      Collections.shuffle(shuffled, new Random(seed));
      Ring other = Ring.of(shuffled, Ring.DEFAULT_VNODES);

      assertEquals(sorted, other);
      assertEquals(List.copyOf(sorted.members()), List.copyOf(other.members()));
      for (String key : randomKeys(seed, 20_000)) {
        assertEquals(sorted.owner(key), other.owner(key), key);
      }
      for (String member : urls) {
        assertEquals(sorted.share(member), other.share(member), member);
      }
    }
  }

  @Test
  void membersAreSortedAndImmutable() {
    Ring ring = Ring.of(List.of("http://b:1", "http://a:1", "http://c:1", "http://a:1"), 4);
    assertEquals(List.of("http://a:1", "http://b:1", "http://c:1"), List.copyOf(ring.members()));
    assertEquals(3, ring.size());
    assertThrows(UnsupportedOperationException.class, () -> ring.members().add("http://d:1"));
  }

  @Test
  void emptyRingOwnsNothingAndSaysSo() {
    Ring ring = Ring.of(List.of(), Ring.DEFAULT_VNODES);
    assertTrue(ring.isEmpty());
    assertEquals(0, ring.size());
    assertTrue(ring.members().isEmpty());
    assertEquals(0.0, ring.share("http://10.0.0.1:9000"));
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> ring.owner("/a"));
    assertEquals("ring is empty: no member can own key /a", e.getMessage());
  }

  @Test
  void singleMemberOwnsEverything() {
    String only = "http://10.0.0.1:9000";
    Ring ring = Ring.of(List.of(only), Ring.DEFAULT_VNODES);
    assertFalse(ring.isEmpty());
    assertEquals(1, ring.size());
    assertEquals(1.0, ring.share(only));
    assertEquals(0.0, ring.share("http://10.0.0.2:9000"));
    for (String key : randomKeys(3, 10_000)) {
      assertEquals(only, ring.owner(key));
    }
  }

  @ParameterizedTest
  @ValueSource(ints = {0, -1, Integer.MIN_VALUE, Ring.MAX_VNODES + 1})
  void rejectsVnodesOutOfRangeNamingTheValue(int vnodes) {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Ring.of(List.of("http://a:1"), vnodes));
    assertEquals("vnodes must be between 1 and 10000 but was " + vnodes, e.getMessage());
  }

  @Test
  void oneVnodeIsAllowed() {
    Ring ring = Ring.of(cluster(PRIVATE_IPS, 3), 1);
    assertEquals(3 * Ring.POINTS_PER_VNODE, ring.pointCount());
    assertTrue(ring.members().contains(ring.owner("/k")));
  }

  @Test
  void rejectsMoreRingPointsThanTheCap() {
    List<String> urls = IntStream.range(0, 1000).mapToObj(i -> "http://h" + i + ":9000").toList();
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Ring.of(urls, Ring.MAX_VNODES));
    assertEquals(
        "1000 members x 10000 vnodes make 160000000 ring points, more than 16777216;"
            + " lower ring.vnodes",
        e.getMessage());
  }

  @Test
  void rejectsEmptyMemberUrls() {
    IllegalArgumentException e = assertThrows(
        IllegalArgumentException.class, () -> Ring.of(List.of("http://a:1", ""), 160));
    assertEquals("member URL must be non-empty but was \"\"", e.getMessage());
  }

  @Test
  void collidingPointsGoToTheSmallerMemberWhateverTheOrder() {
    // a and b both claim 100 and 200; c alone claims 150.
    Ring.PointSource source = (member, vnodes, out) -> {
      if (member.equals("http://c")) {
        out.accept(150);
      } else {
        out.accept(100);
        out.accept(200);
        out.accept(200); // a member's own duplicate is dropped too
      }
    };
    for (List<String> order : List.of(
        List.of("http://a", "http://b", "http://c"), List.of("http://c", "http://b", "http://a"))) {
      Ring ring = Ring.of(order, 1, source);
      assertEquals(3, ring.pointCount());
      assertEquals(0.0, ring.share("http://b"));
      assertEquals(50 / 0x1p64, ring.share("http://c"));
      assertEquals(1.0, ring.share("http://a") + ring.share("http://c"), 1e-12);
    }
    // Without a, b inherits exactly a's points: only a's keys move.
    Ring withoutA = Ring.of(List.of("http://b", "http://c"), 1, source);
    assertEquals(50 / 0x1p64, withoutA.share("http://c"));
    assertEquals(1.0, withoutA.share("http://b") + withoutA.share("http://c"), 1e-12);
  }

  @Test
  void ringWithOneDistinctPointGivesItsOwnerTheWholeSpace() {
    Ring ring = Ring.of(List.of("http://a", "http://b"), 1, (member, vnodes, out) -> out.accept(7));
    assertEquals(1.0, ring.share("http://a"));
    assertEquals(0.0, ring.share("http://b"));
    assertEquals("http://a", ring.owner("/anything"));
  }
}
