package io.imgcache.ring;

import static com.google.common.base.Preconditions.checkState;

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
  /** Points per bucket a new ring aims at: the bucket's cells fill one or two cache lines. */
  static final int TARGET_BUCKET_POINTS = 8;
  /**
   * A ring keeps its bucket count while the mean bucket holds this many points or more, and at most
   * {@link #MAX_MEAN_POINTS}: a factor 64 between the two, so a cluster that hovers around one size
   * never re-buckets back and forth.
   */
  static final int MIN_MEAN_POINTS = 1;
  static final int MAX_MEAN_POINTS = 64;

  private static final long[] NO_CELLS = {};

  private RingChange() {}

  /** The ring over {@code members} from scratch. */
  static Ring build(ImmutableSortedSet<String> members, int vnodes, Ring.PointSource source) {
    int bits = bitsFor((long) members.size() * vnodes * Ring.POINTS_PER_VNODE, members.size());
    long[][] cells = new long[1 << bits][];
    Arrays.fill(cells, NO_CELLS);
    Ring empty = new Ring(vnodes, source, ImmutableSortedSet.of(), new String[0], bits, cells);
    return members.isEmpty() ? empty : apply(empty, members);
  }

  /**
   * log2 of the bucket count for a ring of {@code points} points and {@code slots} member slots:
   * ~{@link #TARGET_BUCKET_POINTS} points per bucket, and room for every slot in a cell.
   */
  static int bitsFor(long points, int slots) {
    double buckets = Math.max(1.0, points / (double) TARGET_BUCKET_POINTS);
    int bits = Math.max((int) Math.round(Math.log(buckets) / Math.log(2)), slotBits(slots));
    return Math.max(MIN_BUCKET_BITS, Math.min(MAX_BUCKET_BITS, bits));
  }

  /** The fewest bits that hold slots 0 .. {@code slots} - 1. */
  private static int slotBits(int slots) {
    return 32 - Integer.numberOfLeadingZeros(Math.max(slots - 1, 0));
  }

  /** The ring over {@code members}, derived from {@code old}. */
  static Ring apply(Ring old, ImmutableSortedSet<String> members) {
    long points = (long) members.size() * old.vnodes * Ring.POINTS_PER_VNODE;
    long mean = points >> old.bits;
    int slotCount = Math.max(old.slotMembers.length, members.size());
    boolean fits = (mean >= MIN_MEAN_POINTS || old.bits == MIN_BUCKET_BITS)
        && (mean <= MAX_MEAN_POINTS || old.bits == MAX_BUCKET_BITS)
        && slotBits(slotCount) <= old.bits;
    if (!fits) {
      return build(members, old.vnodes, old.source); // rare: the cluster grew or shrank 8-fold, or outgrew its slots
    }
    int bits = old.bits;
    int buckets = 1 << bits;
    boolean[] touched = new boolean[buckets];

    // Slots: members that leave free theirs; members that join take the lowest free ones, in
    // member order, so among joining points a lower slot is an earlier member.
    String[] slotMembers = Arrays.copyOf(old.slotMembers, slotCount);
    boolean[] gone = new boolean[slotMembers.length]; // by slot: points of these leave the ring
    Hashes scratch = new Hashes();
    for (int s = 0; s < old.slotMembers.length; s++) {
      String member = old.slotMembers[s];
      if (member != null && !members.contains(member)) {
        gone[s] = true;
        slotMembers[s] = null;
        memberPoints(old, member, scratch);
        for (int i = 0; i < scratch.size; i++) {
          touched[Ring.bucket(scratch.values[i], bits)] = true;
        }
      }
    }
    Joining added = new Joining();
    int free = 0;
    for (String member : members) {
      if (old.members.contains(member)) {
        continue;
      }
      while (slotMembers[free] != null) {
        free++;
      }
      slotMembers[free] = member;
      memberPoints(old, member, scratch);
      for (int i = 0; i < scratch.size; i++) {
        int b = Ring.bucket(scratch.values[i], bits);
        added.add(Ring.cell(scratch.values[i], free, bits), b);
        touched[b] = true;
      }
    }

    // The joining cells grouped by bucket (a counting sort), then sorted within each. end[b] holds
    // bucket b's count, then its start, and once the cells are placed its end: bucket b's cells
    // are addCells[end[b - 1] .. end[b]).
    int[] end = new int[buckets];
    for (int i = 0; i < added.size; i++) {
      end[added.buckets[i]]++;
    }
    for (int b = 0, start = 0; b < buckets; b++) {
      int count = end[b];
      end[b] = start;
      start += count;
    }
    long[] addCells = new long[added.size];
    for (int i = 0; i < added.size; i++) {
      addCells[end[added.buckets[i]]++] = added.cells[i];
    }

    long[][] cells = old.cells.clone();
    for (int b = 0; b < buckets; b++) {
      if (touched[b]) {
        int from = b == 0 ? 0 : end[b - 1];
        Arrays.sort(addCells, from, end[b]); // equal points then come in slot order: member order
        cells[b] = merge(old.cells[b], gone, slotMembers, addCells, from, end[b], bits);
      }
    }
    return new Ring(old.vnodes, old.source, members, slotMembers, bits, cells);
  }

  /** {@code member}'s points, sorted and each once, into {@code out}. */
  private static void memberPoints(Ring ring, String member, Hashes out) {
    out.size = 0;
    ring.source.points(member, ring.vnodes, out::add);
    checkState(out.size > 0, "member %s has no ring points", member); // else owner() could find none
    Arrays.sort(out.values, 0, out.size);
    int n = 0;
    for (int i = 0; i < out.size; i++) {
      if (n == 0 || out.values[n - 1] != out.values[i]) {
        out.values[n++] = out.values[i];
      }
    }
    out.size = n;
  }

  /** A bucket of the new ring: {@code oldCells} whose member stays, merged with the joining ones. */
  private static long[] merge(long[] oldCells, boolean[] gone, String[] slotMembers, long[] addCells, int from,
      int to, int bits) {
    int staying = 0;
    for (long c : oldCells) {
      staying += gone[Ring.slot(c, bits)] ? 0 : 1;
    }
    long[] merged = new long[staying + to - from];
    int n = 0;
    int i = 0;
    int j = from;
    while (true) {
      while (i < oldCells.length && gone[Ring.slot(oldCells[i], bits)]) {
        i++;
      }
      boolean takeOld;
      if (i < oldCells.length && j < to) {
        takeOld = Ring.samePoint(oldCells[i], addCells[j], bits)
            ? slotMembers[Ring.slot(oldCells[i], bits)].compareTo(slotMembers[Ring.slot(addCells[j], bits)]) < 0
            : oldCells[i] < addCells[j];
      } else if (i < oldCells.length) {
        takeOld = true;
      } else if (j < to) {
        takeOld = false;
      } else {
        break;
      }
      merged[n++] = takeOld ? oldCells[i++] : addCells[j++];
    }
    return n == 0 ? NO_CELLS : merged;
  }

  /** A growable list of point hashes. Not thread-safe. */
  private static final class Hashes {
    long[] values = new long[256];
    int size;

    void add(long value) {
      if (size == values.length) {
        values = Arrays.copyOf(values, size * 2);
      }
      values[size++] = value;
    }
  }

  /** A growable list of joining points: each one's cell and bucket. Not thread-safe. */
  private static final class Joining {
    long[] cells = new long[256];
    int[] buckets = new int[256];
    int size;

    void add(long cell, int bucket) {
      if (size == cells.length) {
        cells = Arrays.copyOf(cells, size * 2);
        buckets = Arrays.copyOf(buckets, size * 2);
      }
      cells[size] = cell;
      buckets[size++] = bucket;
    }
  }
}
