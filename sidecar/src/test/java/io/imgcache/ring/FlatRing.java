package io.imgcache.ring;

import static java.nio.charset.StandardCharsets.UTF_8;

import com.google.common.collect.ImmutableSortedSet;
import com.google.common.hash.Hashing;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;

/**
 * The ring as it was built before issue 16 (main at ae7ac2a): every member's points boxed into one
 * list, sorted, then one flat {@code long[]} searched per lookup. Kept in the tests as the
 * reference the bucketed {@link Ring} must agree with key for key (nodes of both versions share a
 * cluster during an upgrade), and in {@link RingBench} as the "before" column.
 */
final class FlatRing {
  private final long[] points; // sorted ascending as signed longs, distinct
  private final String[] owners; // owners[i] owns the arc (points[i - 1], points[i]], wrapping

  FlatRing(Collection<String> memberUrls, int vnodes, Ring.PointSource source) {
    ImmutableSortedSet<String> members = ImmutableSortedSet.copyOf(memberUrls);
    List<Point> all = new ArrayList<>(members.size() * vnodes * Ring.POINTS_PER_VNODE);
    int memberIndex = 0;
    for (String member : members) {
      int m = memberIndex++;
      source.points(member, vnodes, hash -> all.add(new Point(hash, m)));
    }
    all.sort(Comparator.comparingLong(Point::hash).thenComparingInt(Point::member));
    long[] p = new long[all.size()];
    int[] o = new int[all.size()];
    int n = 0;
    for (Point point : all) {
      if (n > 0 && p[n - 1] == point.hash()) {
        continue;
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
  }

  String owner(String key) {
    int i = Arrays.binarySearch(points, Hashing.murmur3_128().hashBytes(key.getBytes(UTF_8)).asLong()); // as it was
    if (i < 0) {
      i = -i - 1;
    }
    return owners[i == points.length ? 0 : i];
  }

  private record Point(long hash, int member) {}
}
