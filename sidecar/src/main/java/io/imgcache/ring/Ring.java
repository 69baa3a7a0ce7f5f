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
import java.util.Collection;
import java.util.Set;
import java.util.function.LongConsumer;

/**
 * An immutable consistent-hash ring over member URLs. A key is owned by the member of the first
 * point at or after the key's hash, wrapping around; lookups take no lock.
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
 * 3, 5, 10 or 16 members with 2560 points (= 160 × 16; worst 1.09, typical 1.02-1.035).
 *
 * <p>Collisions: if two points share a hash, the one whose member sorts first (by {@link
 * String#compareTo}) keeps it. So the ring is a function of the member set alone, and removing a
 * member still moves only keys it owned.
 *
 * <p>Layout (issue 16): the hash space is cut into 2^bits equal buckets, ~8 points each. A bucket
 * is one sorted {@code long[]} of cells: a cell packs a point's hash below the bucket's bits with
 * its member's slot, {@code ((hash << bits) | slot) ^ Long.MIN_VALUE}, so the search and its
 * answer share the same one or two cache lines (slots are kept below 2^bits). A lookup is the
 * bucket's reference, a count of its few cells below the key, and the member of the slot found. A
 * membership change ({@link #withMembers}) hashes only the members that come or go and copies only
 * the buckets their points fall in; every other bucket is shared with the previous ring. At 1,000
 * members × 160 vnodes (2.56 M points, 2^18 buckets) one change copies ~1% of the points. Points of
 * equal hash from different members are all kept, ordered by member: the first is the one that
 * counts, and the next takes over when its member leaves.
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

  /** Buckets up to this many cells are counted through; larger ones (a ring about to re-bucket) searched. */
  private static final int LINEAR_SEARCH_CELLS = 32;

  private static final ImmutableList<HashFunction> POINT_HASHES = pointHashes();
  private static final double HASH_SPACE = 0x1p64;

  final int vnodes;
  final PointSource source;
  final ImmutableSortedSet<String> members;
  final String[] slotMembers; // the member in each slot, null for a free slot; points name members by slot
  final int bits; // log2 of the number of buckets, in [MIN_BUCKET_BITS, MAX_BUCKET_BITS]; slots < 2^bits
  final long[][] cells; // per bucket: its points' cells ascending; equal hashes ordered by member
  private volatile ImmutableMap<String, Double> shares; // computed on first use; a race computes it twice

  /** Where a member's points come from; replaceable in tests to force collisions. */
  @FunctionalInterface
  interface PointSource {
    /** Emits every point of {@code member}, the same on every call; duplicates are allowed. */
    void points(String member, int vnodes, LongConsumer out);
  }

  static final PointSource MURMUR3 = Ring::murmur3Points;

  Ring(int vnodes, PointSource source, ImmutableSortedSet<String> members, String[] slotMembers, int bits,
      long[][] cells) {
    this.vnodes = vnodes;
    this.source = source;
    this.members = members;
    this.slotMembers = slotMembers;
    this.bits = bits;
    this.cells = cells;
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
    checkArgument(
        vnodes >= 1 && vnodes <= MAX_VNODES,
        "vnodes must be between 1 and %s but was %s",
        MAX_VNODES,
        vnodes);
    ImmutableSortedSet<String> members = validMembers(memberUrls, vnodes);
    return RingChange.build(members, vnodes, source);
  }

  /**
   * The ring over {@code memberUrls} with this ring's vnodes, built from this one: only members
   * that join or leave are hashed, and only the buckets their points fall in are copied. Owns
   * every key exactly as {@code Ring.of(memberUrls, vnodes())} does. This ring is not changed.
   *
   * @throws IllegalArgumentException as {@link #of} does
   */
  public Ring withMembers(Collection<String> memberUrls) {
    ImmutableSortedSet<String> next = validMembers(memberUrls, vnodes);
    return next.equals(members) ? this : RingChange.apply(this, next);
  }

  private static ImmutableSortedSet<String> validMembers(Collection<String> memberUrls, int vnodes) {
    checkNotNull(memberUrls, "memberUrls");
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
    return members;
  }

  /**
   * Returns the member that owns {@code key}: murmur3 of the key, then its place among its
   * bucket's cells. Never null; takes no lock and does not block.
   *
   * @throws IllegalStateException if the ring has no members
   */
  public String owner(String key) {
    checkNotNull(key, "key");
    checkState(!members.isEmpty(), "ring is empty: no member can own key %s", key);
    long h = hash(key);
    int b = bucket(h, bits);
    long probe = cell(h, 0, bits); // below every cell of a point at h, above every cell before it
    long[] bucket = cells[b];
    int lo = 0; // the first point >= h: with equal points, the first is the one that counts
    if (bucket.length <= LINEAR_SEARCH_CELLS) {
      // Count the cells below the probe: no load waits on a comparison, so the bucket's two or
      // three cache lines are fetched at once rather than one after another.
      for (long c : bucket) {
        lo += c < probe ? 1 : 0;
      }
    } else {
      int hi = bucket.length;
      while (lo < hi) {
        int mid = (lo + hi) >>> 1;
        if (bucket[mid] < probe) {
          lo = mid + 1;
        } else {
          hi = mid;
        }
      }
    }
    if (lo == bucket.length) { // past the bucket's last point: the next bucket's first, wrapping
      do { // every member has a point (RingChange), so a non-empty bucket is found
        b = (b + 1) & (cells.length - 1);
        bucket = cells[b];
      } while (bucket.length == 0);
      lo = 0;
    }
    return slotMembers[slot(bucket[lo], bits)];
  }

  /** The bucket of point or key hash {@code h}: its top {@code bits} bits, in signed order. */
  static int bucket(long h, int bits) {
    return (int) ((h ^ Long.MIN_VALUE) >>> (64 - bits));
  }

  /**
   * The cell of point {@code h} of the member in {@code slot}: the bits of {@code h} below its
   * bucket, then the slot. Within a bucket, cells in signed order are the points in hash order.
   */
  static long cell(long h, int slot, int bits) {
    return ((h << bits) | slot) ^ Long.MIN_VALUE;
  }

  /** The member slot of {@code cell}. */
  static int slot(long cell, int bits) {
    return (int) cell & ((1 << bits) - 1);
  }

  /** The point hash of {@code cell} in bucket {@code b}. */
  static long point(long cell, int b, int bits) {
    return (((long) b << (64 - bits)) ^ Long.MIN_VALUE) | ((cell ^ Long.MIN_VALUE) >>> bits);
  }

  /** True if {@code a} and {@code b}, cells of one bucket, are of the same point. */
  static boolean samePoint(long a, long b, int bits) {
    return (a >> bits) == (b >> bits);
  }

  /** The members, in {@link String#compareTo} order; immutable. */
  public Set<String> members() {
    return members;
  }

  /**
   * The fraction of the 64-bit hash space that {@code member} owns: the sum of its arcs, in [0, 1].
   * 0.0 for a non-member. Shares of all members sum to 1.0 (within rounding). The first call on a
   * ring walks every point (milliseconds at 1,000 members).
   */
  public double share(String member) {
    checkNotNull(member, "member");
    ImmutableMap<String, Double> s = shares;
    if (s == null) {
      s = computeShares();
      shares = s;
    }
    return s.getOrDefault(member, 0.0);
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
    int n = 0;
    for (long[] bucket : cells) {
      for (int i = 0; i < bucket.length; i++) {
        n += i == 0 || !samePoint(bucket[i - 1], bucket[i], bits) ? 1 : 0;
      }
    }
    return n;
  }

  /** The 64-bit ring position of {@code key}. */
  static long hash(String key) {
    return KeyHash.of(key);
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

  private ImmutableMap<String, Double> computeShares() {
    // Arc lengths are summed exactly as unsigned 64-bit values. A member's sum reaches 2^64 (and
    // wraps to 0) only when it owns every point, which includes a ring of one distinct point.
    long[] arcs = new long[slotMembers.length];
    int[] owned = new int[slotMembers.length];
    long previous = lastPoint();
    int distinct = 0;
    for (int b = 0; b < cells.length; b++) {
      long[] bucket = cells[b];
      for (int i = 0; i < bucket.length; i++) {
        if (i > 0 && samePoint(bucket[i - 1], bucket[i], bits)) {
          continue; // a colliding point of a later member: it owns nothing
        }
        long point = point(bucket[i], b, bits);
        int slot = slot(bucket[i], bits);
        arcs[slot] += point - previous;
        owned[slot]++;
        previous = point;
        distinct++;
      }
    }
    ImmutableMap.Builder<String, Double> b = ImmutableMap.builderWithExpectedSize(members.size());
    for (int s = 0; s < slotMembers.length; s++) {
      if (slotMembers[s] != null) {
        boolean all = distinct > 0 && owned[s] == distinct;
        b.put(slotMembers[s], all ? 1.0 : unsigned(arcs[s]) / HASH_SPACE);
      }
    }
    return b.buildOrThrow();
  }

  /** The highest point on the ring (0 if it has none). */
  private long lastPoint() {
    for (int b = cells.length - 1; b >= 0; b--) {
      if (cells[b].length > 0) {
        return point(cells[b][cells[b].length - 1], b, bits);
      }
    }
    return 0;
  }

  /** {@code x} read as an unsigned 64-bit value. */
  private static double unsigned(long x) {
    return (double) (x >>> 1) * 2.0 + (x & 1);
  }
}
