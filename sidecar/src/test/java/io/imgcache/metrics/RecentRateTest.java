package io.imgcache.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The origin loads per second {@code imgcache status} shows, on a clock moved by hand. */
class RecentRateTest {
  private final AtomicLong nanos = new AtomicLong(1_000_000_000_000L); // any origin: only differences count

  private RecentRate minute() {
    return new RecentRate(Duration.ofMinutes(1), 60, nanos::get);
  }

  private void advance(double seconds) {
    nanos.addAndGet((long) (seconds * TimeUnit.SECONDS.toNanos(1)));
  }

  /** events | at (seconds after start) | asked at | expected rate. */
  @ParameterizedTest(name = "[{index}] {0} events at {1}s, asked at {2}s: {3}/s")
  @CsvSource({
      "0,   0,    0,    0",      // nothing yet, no time passed
      "10,  0,    0,    0",      // no time covered yet: no rate to speak of
      "10,  0,    2,    5",      // the window has run 2 s: 10 over 2 s
      "60,  0,    59.5, 1.0084", // inside the first minute: over the 59.5 s it covers
      "60,  0,    60,   0",      // at 60 s their bucket has left the window
      "60,  10,   30,   2",      // counted over the 30 s since start, not the minute
      "60,  30,   80,   1.0169", // 60 over the 59 s that buckets 21..80 (the last one begun) cover
  })
  void ratesOverWhatTheWindowCovers(int events, double at, double asked, double expected) {
    RecentRate rate = minute();
    advance(at);
    for (int i = 0; i < events; i++) {
      rate.record();
    }
    advance(asked - at);
    assertEquals(expected, rate.perSecond(), 0.001);
  }

  @Test
  void slotsAreReusedAsTimeGoesOn() {
    RecentRate rate = minute();
    for (int second = 0; second < 300; second++) {
      rate.record(); // two a second for five minutes
      rate.record();
      advance(1);
    }
    assertEquals(2, rate.perSecond(), 0.001);
    advance(120); // two quiet minutes
    assertEquals(0, rate.perSecond(), 0.001);
  }

  @Test
  void badShapesFailWithTheValue() {
    assertEquals("buckets must be positive, was 0",
        assertThrows(IllegalArgumentException.class, () -> new RecentRate(Duration.ofSeconds(1), 0, nanos::get))
            .getMessage());
  }
}
