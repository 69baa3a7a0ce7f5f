package io.imgcache.ring;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.TreeSet;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Issue 16's incremental ring: a ring derived change by change ({@link Ring#withMembers}) owns
 * every key exactly as the ring built from scratch for the same members, and as the flat ring of
 * the versions before it; a change copies only the buckets its points fall in.
 */
class RingChangeTest {
  private static final String[] KEYS = keys(7, 20_000);

  private static String[] keys(long seed, int count) {
    Random random = new Random(seed);
    return IntStream.range(0, count)
        .mapToObj(i -> "/v2/image/png/" + random.nextInt(100_000) + "?w=" + (1 + random.nextInt(2000)))
        .toArray(String[]::new);
  }

  private static String member(int i) {
    return "http://10.0." + (i / 250) + "." + (i % 250 + 1) + ":9000";
  }

  private static void assertSameOwnership(Ring expected, Ring actual, String when) {
    assertEquals(expected.members(), actual.members(), when);
    assertEquals(expected.pointCount(), actual.pointCount(), when);
    for (String key : expected.isEmpty() ? new String[0] : KEYS) {
      assertEquals(expected.owner(key), actual.owner(key), () -> when + ": owner of " + key);
    }
    for (String m : expected.members()) {
      assertEquals(expected.share(m), actual.share(m), 1e-15, () -> when + ": share of " + m);
    }
  }

  /** Random joins and leaves, one or several at a time, against a pool of 60 member URLs. */
  @ParameterizedTest(name = "seed {0}")
  @ValueSource(longs = {1, 2, 3})
  void aRingChangedStepByStepOwnsEveryKeyAsTheRingBuiltFromScratch(long seed) {
    Random random = new Random(seed);
    TreeSet<String> members = new TreeSet<>();
    Ring ring = Ring.of(members, Ring.DEFAULT_VNODES);
    for (int step = 0; step < 25; step++) {
      int changes = random.nextInt(4) == 0 ? 1 + random.nextInt(8) : 1;
      for (int c = 0; c < changes; c++) {
        String m = member(random.nextInt(60));
        if (!members.remove(m)) {
          members.add(m);
        }
      }
      Ring before = ring;
      ring = ring.withMembers(members);
      assertSameOwnership(Ring.of(members, Ring.DEFAULT_VNODES), ring, "step " + step + ", " + members.size()
          + " members");
      assertTrue(before.members().size() != members.size() || before.members().equals(members)
          || !before.equals(ring), "a new ring for a new member set");
    }
  }

  @Test
  void theBucketedRingOwnsEveryKeyAsTheFlatRingOfEarlierVersions() {
    List<String> members = IntStream.range(0, 50).mapToObj(RingChangeTest::member).toList();
    FlatRing flat = new FlatRing(members, Ring.DEFAULT_VNODES, Ring.MURMUR3);
    Ring ring = Ring.of(members, Ring.DEFAULT_VNODES);
    for (String key : KEYS) {
      assertEquals(flat.owner(key), ring.owner(key), key);
    }
  }

  /** Many members claim the same points; whoever sorts first owns each, whatever the order of changes. */
  @Test
  void collidingPointsFollowTheSmallestMemberThroughJoinsAndLeaves() {
    Ring.PointSource crowded = (member, vnodes, out) -> {
      int n = member.charAt(member.length() - 1) - 'a';
      for (long p = 0; p < 40; p++) {
        out.accept((p * 0x0400_0000_0000_0000L) + (p % (n + 1))); // shared by members with small n
        out.accept(p * 977 + n);
      }
    };
    List<String> pool = List.of("http://a", "http://b", "http://c", "http://d", "http://e");
    Random random = new Random(11);
    TreeSet<String> members = new TreeSet<>();
    Ring ring = Ring.of(members, 1, crowded);
    for (int step = 0; step < 40; step++) {
      String m = pool.get(random.nextInt(pool.size()));
      if (!members.remove(m)) {
        members.add(m);
      }
      ring = ring.withMembers(members);
      Ring scratch = Ring.of(members, 1, crowded);
      assertSameOwnership(scratch, ring, "step " + step + " " + members);
      if (!members.isEmpty()) {
        FlatRing flat = new FlatRing(members, 1, crowded);
        for (String key : KEYS) {
          assertEquals(flat.owner(key), ring.owner(key), key);
        }
      }
    }
  }

  /** Growing 1 → 300 members and back re-buckets on the way (16 points per member); ownership never differs. */
  @Test
  void growingAndShrinkingPastTheBucketThresholdsKeepsOwnership() {
    TreeSet<String> members = new TreeSet<>();
    Ring ring = Ring.of(members, 1);
    List<Integer> bits = new ArrayList<>();
    for (int i = 0; i < 300; i++) {
      members.add(member(i));
      ring = ring.withMembers(members);
      if (bits.isEmpty() || bits.get(bits.size() - 1) != ring.bits) {
        bits.add(ring.bits);
      }
      if (i % 37 == 0) {
        assertSameOwnership(Ring.of(members, 1), ring, members.size() + " members");
      }
    }
    for (int i = 0; i < 299; i++) {
      members.remove(member(i));
      ring = ring.withMembers(members);
      if (i % 37 == 0) {
        assertSameOwnership(Ring.of(members, 1), ring, members.size() + " members");
      }
    }
    assertSameOwnership(Ring.of(members, 1), ring, "one member left");
    assertTrue(bits.size() >= 3, "re-bucketed on the way up: " + bits);
  }

  /**
   * A cell holds its member's slot below the bucket bits: with one point per member the slots, not
   * the points, set the bucket count, and a ring that outgrows them re-buckets.
   */
  @Test
  void slotsAlwaysFitBelowTheBucketBits() {
    Ring.PointSource single = (member, vnodes, out) -> out.accept(Ring.hash(member));
    TreeSet<String> members = new TreeSet<>();
    Ring ring = Ring.of(members, 1, single);
    for (int i = 0; i < 700; i++) {
      members.add(member(i));
      ring = ring.withMembers(members);
      assertTrue(ring.slotMembers.length <= 1 << ring.bits,
          ring.slotMembers.length + " slots in cells of " + ring.bits + " bits");
      if (i % 97 == 0 || i == 699) {
        FlatRing flat = new FlatRing(members, 1, single);
        for (String key : KEYS) {
          assertEquals(flat.owner(key), ring.owner(key), () -> members.size() + " members: owner of " + key);
        }
      }
    }
    assertEquals(10, ring.bits, "700 slots need 10 bits, 700 points alone 7");
  }

  /** A member without a single point (only a test's point source makes one) is refused, so owner() never spins. */
  @Test
  void aMemberWithoutPointsIsRefused() {
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> Ring.of(List.of("http://a", "http://b"), 1, (member, vnodes, out) -> { }));
    assertEquals("member http://a has no ring points", e.getMessage());
  }

  @Test
  void aChangeCopiesOnlyTheBucketsItsPointsFallIn() {
    List<String> members = IntStream.range(0, 200).mapToObj(RingChangeTest::member).toList();
    Ring before = Ring.of(members, Ring.DEFAULT_VNODES);
    Ring after = before.withMembers(members.subList(1, members.size()));
    assertEquals(before.bits, after.bits);
    int shared = 0;
    for (int b = 0; b < before.cells.length; b++) {
      if (before.cells[b] == after.cells[b]) {
        shared++;
      }
    }
    // 2,560 points of one member in 2^16 buckets touch at most 2,560 of them.
    int buckets = before.cells.length;
    assertTrue(shared >= buckets - Ring.DEFAULT_VNODES * Ring.POINTS_PER_VNODE,
        shared + " of " + buckets + " buckets shared");
    assertSame(before, before.withMembers(new ArrayList<>(members)), "same members: the same ring");
  }
}
