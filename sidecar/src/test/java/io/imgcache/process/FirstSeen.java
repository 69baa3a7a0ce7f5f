package io.imgcache.process;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/**
 * When a polled condition first held, in milliseconds from the start of a measurement (a signal,
 * a node's readiness): after {@code afterMs}, when the last poll that saw it not hold was sent (0
 * if the first poll saw it hold), and by {@code byMs}, when the first poll that saw it hold was
 * answered (-1 if none did). The gap between the two is the measuring error.
 */
record FirstSeen(long afterMs, long byMs) {
  private static final long POLL_MILLIS = 10;

  /** Whether it held, and was seen to, within {@code boundMs}. */
  boolean within(long boundMs) {
    return byMs >= 0 && byMs <= boundMs;
  }

  @Override
  public String toString() {
    return byMs < 0 ? "never" : byMs + " ms" + (afterMs > 0 ? " (after " + afterMs + ")" : "");
  }

  /**
   * Polls every check every 10 ms, each on its own thread from {@code threads}, until it holds or
   * {@code timeout} passes, and says when each first held, measured from {@code fromNanos} ({@link
   * System#nanoTime}). A check that throws does not hold. Blocks until every check is decided.
   */
  static Map<String, FirstSeen> poll(Map<String, Callable<Boolean>> checks, long fromNanos, Duration timeout,
      Executor threads) {
    long deadline = System.nanoTime() + timeout.toNanos();
    Map<String, CompletableFuture<FirstSeen>> polls = new LinkedHashMap<>();
    checks.forEach((name, check) -> polls.put(name, CompletableFuture.supplyAsync(() -> {
      long after = 0;
      while (System.nanoTime() - deadline < 0) {
        long sent = System.nanoTime();
        boolean holds;
        try {
          holds = check.call();
        } catch (Exception e) {
          holds = false;
        }
        if (holds) {
          return new FirstSeen(after, millisSince(fromNanos));
        }
        after = Math.max(0, (sent - fromNanos) / 1_000_000);
        try {
          Thread.sleep(POLL_MILLIS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          break;
        }
      }
      return new FirstSeen(after, -1);
    }, threads)));
    Map<String, FirstSeen> out = new LinkedHashMap<>();
    polls.forEach((name, poll) -> out.put(name, poll.join()));
    return out;
  }

  private static long millisSince(long fromNanos) {
    return Math.max(0, (System.nanoTime() - fromNanos) / 1_000_000);
  }
}
