package io.imgcache.ring;

import com.google.common.collect.ImmutableSortedSet;
import java.util.Arrays;

/**
 * Builds a {@link Ring} from the previous one (or from nothing): hashes the members that join or
 * leave, and rebuilds only the buckets their points fall in, sharing every other bucket. Stateless;
 * each call works on its own arrays.
 */
final class RingChange {
  static final int MIN_BUCKET_BITS = 1;
  static final int MAX_BUCKET_BITS = 20;
  /** Points per bucket a new ring aims at: 2-3 cache lines of points, ~6 search steps. */
  static final int TARGET_BUCKET_POINTS = 40;
  /**
   * A ring keeps its bucket count while the mean bucket holds this many points or more, and at most
   * {@link #MAX_MEAN_POINTS}: a factor 64 between the two, so a cluster that hovers around one size
   * never re-buckets back and forth.
   */
  static final int MIN_MEAN_POINTS = 4;
  static final int MAX_MEAN_POINTS = 256;

  private static final long[] NO_POINTS = {};
  private static final int[] NO_SLOTS = {};

  private RingChange() {}

  /** The ring over {@code members} from scratch. */
  static Ring build(ImmutableSortedSet<String> members, int vnodes, Ring.PointSource source) {
    int bits = bitsFor((long) members.size() * vnodes * Ring.POINTS_PER_VNODE);
    long[][] hashes = new long[1 << bits][];
    int[][] slots = new int[1 << bits][];
    Arrays.fill(hashes, NO_POINTS);
    Arrays.fill(slots, NO_SLOTS);
    int[] next = new int[1 << bits];
    Arrays.fill(next, -1);
    Ring empty = new Ring(vnodes, source, ImmutableSortedSet.of(), new String[0], bits, hashes, slots, next);
    return members.isEmpty() ? empty : apply(empty, members);
  }

  /** log2 of the bucket count for a ring of {@code points} points. */
  static int bitsFor(long points) {
    double buckets = Math.max(1.0, points / (double) TARGET_BUCKET_POINTS);
    int bits = (int) Math.round(Math.log(buckets) / Math.log(2));
    return Math.max(MIN_BUCKET_BITS, Math.min(MAX_BUCKET_BITS, bits));
  }

  /** The ring over {@code members}, derived from {@code old}. */
  static Ring apply(Ring old, ImmutableSortedSet<String> members) {
    long points = (long) members.size() * old.vnodes * Ring.POINTS_PER_VNODE;
    long mean = points >> old.bits;
    boolean fits = (mean >= MIN_MEAN_POINTS || old.bits == MIN_BUCKET_BITS)
        && (mean <= MAX_MEAN_POINTS || old.bits == MAX_BUCKET_BITS);
    if (!fits) {
      return build(members, old.vnodes, old.source); // rare: the cluster grew or shrank 8-fold
    }
    int bits = old.bits;
    int buckets = 1 << bits;
    boolean[] touched = new boolean[buckets];

    // Slots: members that leave free theirs; members that join take the lowest free ones.
    String[] slotMembers = Arrays.copyOf(old.slotMembers, Math.max(old.slotMembers.length, members.size()));
    boolean[] gone = new boolean[slotMembers.length]; // by slot: points of these leave the ring
    PointList scratch = new PointList();
    for (int s = 0; s < old.slotMembers.length; s++) {
      String member = old.slotMembers[s];
      if (member != null && !members.contains(member)) {
        gone[s] = true;
        slotMembers[s] = null;
        memberPoints(old, member, scratch);
        for (int i = 0; i < scratch.size; i++) {
          touched[Ring.bucket(scratch.hashes[i], bits)] = true;
        }
      }
    }
    PointList added = new PointList();
    int free = 0;
    for (String member : members) { // in member order: equal hashes then stay in member order below
      if (old.members.contains(member)) {
        continue;
      }
      while (slotMembers[free] != null) {
        free++;
      }
      slotMembers[free] = member;
      memberPoints(old, member, scratch);
      for (int i = 0; i < scratch.size; i++) {
        added.add(scratch.hashes[i], free);
        touched[Ring.bucket(scratch.hashes[i], bits)] = true;
      }
    }

    // The joining points, grouped by bucket (a stable counting sort), then sorted within each.
    int[] start = new int[buckets + 1];
    for (int i = 0; i < added.size; i++) {
      start[Ring.bucket(added.hashes[i], bits) + 1]++;
    }
    for (int b = 0; b < buckets; b++) {
      start[b + 1] += start[b];
    }
    long[] addHashes = new long[added.size];
    int[] addSlots = new int[added.size];
    int[] fill = Arrays.copyOf(start, buckets);
    for (int i = 0; i < added.size; i++) {
      int at = fill[Ring.bucket(added.hashes[i], bits)]++;
      addHashes[at] = added.hashes[i];
      addSlots[at] = added.slots[i];
    }

    long[][] hashes = old.hashes.clone();
    int[][] slots = old.slots.clone();
    for (int b = 0; b < buckets; b++) {
      if (touched[b]) {
        sortByHash(addHashes, addSlots, start[b], start[b + 1]);
        merge(b, old, gone, slotMembers, addHashes, addSlots, start[b], start[b + 1], hashes, slots);
      }
    }
    return new Ring(old.vnodes, old.source, members, slotMembers, bits, hashes, slots, successors(slots));
  }

  /** {@code member}'s points, sorted and each once, into {@code out}. */
  private static void memberPoints(Ring ring, String member, PointList out) {
    out.size = 0;
    ring.source.points(member, ring.vnodes, h -> out.add(h, 0));
    Arrays.sort(out.hashes, 0, out.size);
    int n = 0;
    for (int i = 0; i < out.size; i++) {
      if (n == 0 || out.hashes[n - 1] != out.hashes[i]) {
        out.hashes[n++] = out.hashes[i];
      }
    }
    out.size = n;
  }

  /**
   * Stable insertion sort of {@code [from, to)} by hash: a bucket's share of the joining points is
   * a few dozen, and on equal hashes the member order they were added in is kept.
   */
  private static void sortByHash(long[] hashes, int[] slots, int from, int to) {
    for (int i = from + 1; i < to; i++) {
      long h = hashes[i];
      int s = slots[i];
      int j = i - 1;
      while (j >= from && hashes[j] > h) {
        hashes[j + 1] = hashes[j];
        slots[j + 1] = slots[j];
        j--;
      }
      hashes[j + 1] = h;
      slots[j + 1] = s;
    }
  }

  /** Bucket {@code b} of the new ring: {@code old}'s points that stay, merged with the joining ones. */
  private static void merge(int b, Ring old, boolean[] gone, String[] slotMembers, long[] addHashes, int[] addSlots,
      int from, int to, long[][] hashes, int[][] slots) {
    long[] oldHashes = old.hashes[b];
    int[] oldSlots = old.slots[b];
    int staying = 0;
    for (int slot : oldSlots) {
      staying += gone[slot] ? 0 : 1;
    }
    long[] h = new long[staying + to - from];
    int[] s = new int[h.length];
    int n = 0;
    int i = 0;
    int j = from;
    while (true) {
      while (i < oldHashes.length && gone[oldSlots[i]]) {
        i++;
      }
      boolean takeOld;
      if (i < oldHashes.length && j < to) {
        takeOld = oldHashes[i] < addHashes[j] || oldHashes[i] == addHashes[j]
            && slotMembers[oldSlots[i]].compareTo(slotMembers[addSlots[j]]) < 0;
      } else if (i < oldHashes.length) {
        takeOld = true;
      } else if (j < to) {
        takeOld = false;
      } else {
        break;
      }
      if (takeOld) {
        h[n] = oldHashes[i];
        s[n++] = oldSlots[i++];
      } else {
        h[n] = addHashes[j];
        s[n++] = addSlots[j++];
      }
    }
    hashes[b] = n == 0 ? NO_POINTS : h;
    slots[b] = n == 0 ? NO_SLOTS : s;
  }

  /** For each bucket, the slot of the first point after it, wrapping; all -1 for an empty ring. */
  private static int[] successors(int[][] slots) {
    int[] next = new int[slots.length];
    int following = -1;
    for (int b = 0; b < slots.length && following < 0; b++) {
      following = slots[b].length > 0 ? slots[b][0] : -1; // the ring's first point
    }
    for (int b = slots.length - 1; b >= 0; b--) {
      next[b] = following;
      if (slots[b].length > 0) {
        following = slots[b][0];
      }
    }
    return next;
  }

  /** A growable list of (hash, slot) pairs. Not thread-safe. */
  private static final class PointList {
    long[] hashes = new long[256];
    int[] slots = new int[256];
    int size;

    void add(long hash, int slot) {
      if (size == hashes.length) {
        hashes = Arrays.copyOf(hashes, size * 2);
        slots = Arrays.copyOf(slots, size * 2);
      }
      hashes[size] = hash;
      slots[size++] = slot;
    }
  }
}
