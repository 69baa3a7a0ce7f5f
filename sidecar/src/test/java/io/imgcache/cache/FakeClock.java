package io.imgcache.cache;

import com.github.benmanes.caffeine.cache.Ticker;
import io.undertow.util.DateUtils;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * A wall clock (epoch milliseconds, for {@link CachePolicy}) and a Caffeine {@link Ticker} that
 * move together, by hand. Thread-safe. Starts on a whole second, so HTTP-dates (second
 * resolution) written from it are exact.
 */
public final class FakeClock implements LongSupplier, Ticker {
  /** 2025-07-01T00:00:00Z. */
  public static final long START = Instant.parse("2025-07-01T00:00:00Z").toEpochMilli();

  private final AtomicLong millis = new AtomicLong(START);

  @Override
  public long getAsLong() {
    return millis.get();
  }

  /** The wall clock now, epoch milliseconds. */
  public long now() {
    return millis.get();
  }

  @Override
  public long read() {
    return (millis.get() - START) * 1_000_000;
  }

  public void advance(Duration d) {
    millis.addAndGet(d.toMillis());
  }

  public void advanceSeconds(long seconds) {
    advance(Duration.ofSeconds(seconds));
  }

  /** {@code now + offsetSeconds} as an IMF-fixdate. */
  public String httpDate(long offsetSeconds) {
    return httpDateAt(now() + offsetSeconds * 1000);
  }

  public static String httpDateAt(long epochMillis) {
    return DateUtils.toDateString(new Date(epochMillis));
  }
}
