package io.imgcache.metrics;

import static com.google.common.base.Preconditions.checkArgument;

import java.time.Duration;
import java.util.Arrays;
import java.util.function.LongSupplier;

/**
 * How often something happened over the last {@code window}: events counted in {@code buckets}
 * equal slices of it, the oldest slice dropped as time moves on. Thread-safe; {@link #record} and
 * {@link #perSecond} take this object's monitor for a few arithmetic steps (no I/O, no callback),
 * which is nothing next to the origin request each recorded event stands for.
 */
final class RecentRate {
  private final LongSupplier nanoClock;
  private final long startNanos;
  private final long bucketNanos;
  private final long[] counts; // guarded by this: events in the bucket stamps[i] names
  private final long[] stamps; // guarded by this: bucket number (since start) each slot counts, -1 = none yet

  /** {@code nanoClock} is usually {@code System::nanoTime}; counting starts now. */
  RecentRate(Duration window, int buckets, LongSupplier nanoClock) {
    checkArgument(buckets > 0, "buckets must be positive, was %s", buckets);
    checkArgument(window.toNanos() >= buckets, "window must be at least %s ns, was %s", buckets, window);
    this.nanoClock = nanoClock;
    this.startNanos = nanoClock.getAsLong();
    this.bucketNanos = window.toNanos() / buckets;
    this.counts = new long[buckets];
    this.stamps = new long[buckets];
    Arrays.fill(stamps, -1);
  }

  /** Counts one event now. */
  synchronized void record() {
    long bucket = (nanoClock.getAsLong() - startNanos) / bucketNanos;
    int slot = (int) (bucket % counts.length);
    if (stamps[slot] != bucket) {
      stamps[slot] = bucket;
      counts[slot] = 0;
    }
    counts[slot]++;
  }

  /**
   * Events per second over the window up to now: the current, partly elapsed bucket and the ones
   * before it, divided by the time they cover (less than the window while it has not yet run as
   * long). 0 before any time has passed.
   */
  synchronized double perSecond() {
    long elapsed = nanoClock.getAsLong() - startNanos;
    long bucket = elapsed / bucketNanos;
    long oldest = Math.max(0, bucket - counts.length + 1);
    long events = 0;
    for (int i = 0; i < counts.length; i++) {
      if (stamps[i] >= oldest) {
        events += counts[i];
      }
    }
    long covered = elapsed - oldest * bucketNanos;
    return covered <= 0 ? 0 : events * 1e9 / covered;
  }
}
