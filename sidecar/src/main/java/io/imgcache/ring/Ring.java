package io.imgcache.ring;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkNotNull;
import static com.google.common.base.Preconditions.checkState;
import static java.nio.charset.StandardCharsets.UTF_8;

import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableMap;
import com.google.common.collect.ImmutableSortedSet;
import com.google.common.hash.HashFunction;
import com.google.common.hash.Hashing;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.function.LongConsumer;

/**
 * An immutable consistent-hash ring over member URLs. A key is owned by the member of the first
 * point at or after the key's hash, wrapping around; lookups are a binary search over a sorted
 * {@code long[]} and take no lock.
 *
 * <p>Hash space: 64 bits. A key hashes to the first 64 bits of murmur3_128 of its UTF-8 bytes.
 * Member {@code m} with {@code vnodes} virtual nodes gets {@code vnodes × POINTS_PER_VNODE}
 * points: virtual node {@code i} hashes {@code m + "#" + i} with murmur3_128 under seeds 0..7, and
 * both 64-bit halves of each hash are points.
 *
 * <p>Why 16 points per virtual node: a member's share is the sum of its arcs, whose relative
 * spread is about 1/√points. Measured over 2000 random member-URL sets per cluster size
 * ({@code http://10.a.b.c:900d}), the busiest member exceeded 1.10 × the mean share in 18%, 38%
 * and 71% of sets of 3, 5 and 10 members with 160 plain murmur3 points per member
 * (groupcache-style vnodes); in 0.05% of sets of 10 with 1280 points; and in none of the sets of
 * 3, 5, 10 or 16 members with 2560 points (= 160 × 16; worst 1.09, typical 1.02-1.035). A ring of
 * 10 members then holds 25,600 points (~300 KB) and takes 5-20 ms to build; owner() is still one
 * hash and a ~15-step binary search.
 *
 * <p>Collisions: if two points share a hash, the one whose member sorts first (by {@link
 * String#compareTo}) keeps it. So the ring is a function of the member set alone, and removing a
 * member still moves only keys it owned.
 *
 * <p>Instances are immutable and thread-safe; membership changes build a new ring.
 */
public final class Ring {
  /** The default for config {@code ring.vnodes}. */
  public static final int DEFAULT_VNODES = 160;

  /** Ring points per virtual node; see the class comment for why it is not 1. */
  public static final int POINTS_PER_VNODE = 16;

  /** Upper bound for {@code vnodes}: keeps the point array of a large cluster within reason. */
  static final int MAX_VNODES = 10_000;

  /** Upper bound for members × vnodes × POINTS_PER_VNODE (~200 MB while building). */
  static final long MAX_POINTS = 1L << 24;

  private static final HashFunction KEY_HASH = Hashing.murmur3_128();
  private static final ImmutableList<HashFunction> POINT_HASHES = pointHashes();
  private static final double HASH_SPACE = 0x1p64;

  private final int vnodes;
  private final ImmutableSortedSet<String> members;
  private final long[] points; // sorted ascending as signed longs, distinct
  private final String[] owners; // owners[i] owns the arc (points[i - 1], points[i]], wrapping
  private final ImmutableMap<String, Double> shares;

  /** Where a member's points come from; replaceable in tests to force collisions. */
  @FunctionalInterface
  interface PointSource {
    /** Emits every point of {@code member}; duplicates are allowed. */
    void points(String member, int vnodes, LongConsumer out);
  }

  static final PointSource MURMUR3 = Ring::murmur3Points;

  private Ring(int vnodes, ImmutableSortedSet<String> members, PointSource source) {
    this.vnodes = vnodes;
    this.members = members;

    List<Point> all = new ArrayList<>(members.size() * vnodes * POINTS_PER_VNODE); // ≤ MAX_POINTS
    int memberIndex = 0;
    for (String member : members) {
      int m = memberIndex++;
      source.points(member, vnodes, hash -> all.add(new Point(hash, m)));
    }
    // Members are indexed in sorted order, so on equal hashes the smaller member string wins.
    all.sort(Comparator.comparingLong(Point::hash).thenComparingInt(Point::member));

    long[] p = new long[all.size()];
    int[] o = new int[all.size()];
    int n = 0;
    for (Point point : all) {
      if (n > 0 && p[n - 1] == point.hash()) {
        continue; // collision: the first (smallest member) keeps the point
      }
      p[n] = point.hash();
      o[n] = point.member();
      n++;
    }
    String[] byIndex = members.toArray(new String[0]);
    this.points = Arrays.copyOf(p, n);
    this.owners = new String[n];
    for (int i = 0; i < n; i++) {
      owners[i] = byIndex[o[i]];
    }
    this.shares = computeShares(byIndex, points, o);
  }

  /**
   * Builds the ring for {@code memberUrls}. Order and duplicates do not matter: equal sets give
   * rings with identical ownership.
   *
   * @param memberUrls advertised member URLs, e.g. {@code "http://10.0.0.1:9000"}; may be empty,
   *     must not contain null or empty strings
   * @param vnodes virtual nodes per member, in [1, 10000]; usually config {@code ring.vnodes}
   * @throws IllegalArgumentException if {@code vnodes} is out of range, a URL is null or empty, or
   *     members × vnodes would exceed 2^24 ring points
   */
  public static Ring of(Collection<String> memberUrls, int vnodes) {
    return of(memberUrls, vnodes, MURMUR3);
  }

  static Ring of(Collection<String> memberUrls, int vnodes, PointSource source) {
    checkNotNull(memberUrls, "memberUrls");
    checkArgument(
        vnodes >= 1 && vnodes <= MAX_VNODES,
        "vnodes must be between 1 and %s but was %s",
        MAX_VNODES,
        vnodes);
    for (String url : memberUrls) {
      checkArgument(url != null && !url.isEmpty(), "member URL must be non-empty but was %s",
          url == null ? "null" : "\"\"");
    }
    ImmutableSortedSet<String> members = ImmutableSortedSet.copyOf(memberUrls);
    long points = (long) members.size() * vnodes * POINTS_PER_VNODE;
    checkArgument(
        points <= MAX_POINTS,
        "%s members x %s vnodes make %s ring points, more than %s; lower ring.vnodes",
        members.size(),
        vnodes,
        points,
        MAX_POINTS);
    return new Ring(vnodes, members, source);
  }

  /**
   * Returns the member that owns {@code key}: murmur3 of the key, then a binary search. Never
   * null; takes no lock and does not block.
   *
   * @throws IllegalStateException if the ring has no members
   */
  public String owner(String key) {
    checkNotNull(key, "key");
    checkState(points.length > 0, "ring is empty: no member can own key %s", key);
    int i = Arrays.binarySearch(points, hash(key));
    if (i < 0) {
      i = -i - 1; // insertion point: the first point above the hash
    }
    return owners[i == points.length ? 0 : i];
  }

  /** The members, in {@link String#compareTo} order; immutable. */
  public Set<String> members() {
    return members;
  }

  /**
   * The fraction of the 64-bit hash space that {@code member} owns: the sum of its arcs, in [0, 1].
   * 0.0 for a non-member. Shares of all members sum to 1.0 (within rounding).
   */
  public double share(String member) {
    return shares.getOrDefault(checkNotNull(member, "member"), 0.0);
  }

  /** The number of members. */
  public int size() {
    return members.size();
  }

  /** True if the ring has no members; {@link #owner} then throws. */
  public boolean isEmpty() {
    return members.isEmpty();
  }

  /** Virtual nodes per member this ring was built with. */
  public int vnodes() {
    return vnodes;
  }

  /** Number of distinct points on the ring (for tests and diagnostics). */
  int pointCount() {
    return points.length;
  }

  /** The 64-bit ring position of {@code key}. */
  static long hash(String key) {
    return KEY_HASH.hashBytes(key.getBytes(UTF_8)).asLong();
  }

  /** Rings are equal when built from equal member sets with equal {@code vnodes}. */
  @Override
  public boolean equals(Object o) {
    return o instanceof Ring other && vnodes == other.vnodes && members.equals(other.members);
  }

  @Override
  public int hashCode() {
    return 31 * vnodes + members.hashCode();
  }

  @Override
  public String toString() {
    return "Ring{vnodes=" + vnodes + ", members=" + members + "}";
  }

  private static void murmur3Points(String member, int vnodes, LongConsumer out) {
    for (int i = 0; i < vnodes; i++) {
      byte[] vnode = (member + "#" + i).getBytes(UTF_8);
      for (HashFunction f : POINT_HASHES) {
        ByteBuffer h = ByteBuffer.wrap(f.hashBytes(vnode).asBytes()).order(ByteOrder.LITTLE_ENDIAN);
        out.accept(h.getLong(0));
        out.accept(h.getLong(8));
      }
    }
  }

  private static ImmutableList<HashFunction> pointHashes() {
    ImmutableList.Builder<HashFunction> b = ImmutableList.builder();
    for (int seed = 0; seed < POINTS_PER_VNODE / 2; seed++) {
      b.add(Hashing.murmur3_128(seed));
    }
    return b.build();
  }

  private static ImmutableMap<String, Double> computeShares(
      String[] members, long[] points, int[] owners) {
    // Arc lengths are summed exactly as unsigned 64-bit values. A member's sum reaches 2^64 (and
    // wraps to 0) only when it owns every point, which includes a ring of one distinct point.
    long[] arcs = new long[members.length];
    int[] owned = new int[members.length];
    for (int i = 0; i < points.length; i++) {
      arcs[owners[i]] += points[i] - points[i == 0 ? points.length - 1 : i - 1];
      owned[owners[i]]++;
    }
    ImmutableMap.Builder<String, Double> b = ImmutableMap.builderWithExpectedSize(members.length);
    for (int m = 0; m < members.length; m++) {
      boolean all = points.length > 0 && owned[m] == points.length;
      b.put(members[m], all ? 1.0 : unsigned(arcs[m]) / HASH_SPACE);
    }
    return b.buildOrThrow();
  }

  /** {@code x} read as an unsigned 64-bit value. */
  private static double unsigned(long x) {
    return (double) (x >>> 1) * 2.0 + (x & 1);
  }

  private record Point(long hash, int member) {}
}
