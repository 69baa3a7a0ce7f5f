package io.imgcache.httpclient;

import static com.google.common.base.Preconditions.checkArgument;

import io.imgcache.httpclient.HttpClientException.Kind;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * A fixed number of permits (one per connection a client may hold busy) with a bounded FIFO queue
 * in front of them, like nginx's {@code max_conns} + {@code queue} or Varnish's backend wait queue.
 * Thread-safe and non-blocking: {@link #acquire} never waits on the calling thread, so it may be
 * called on an IO thread; a queued request is a future that a {@link Permit#release} completes (on
 * the releasing thread) or the timeout fails (on the scheduler's thread).
 *
 * <p>Only two things refuse, both as {@link Kind#POOL_EXHAUSTED} (callers answer 503 with the
 * message): a full queue, at once, and a wait longer than the queue timeout.
 */
public final class ConnectionBudget {
  /** What the budget tells its observer; called outside the lock, on any thread; must not block. */
  public interface Listener {
    /** A request found no free permit and was queued. */
    default void queued() {}

    /** A queued request got its permit after {@code nanos}. */
    default void waited(long nanos) {}

    /** A queued request gave up after the queue timeout. */
    default void timedOut() {}

    /** A request was refused because the queue was full. */
    default void rejected() {}
  }

  /** One held permit. {@link #release} is idempotent. */
  public interface Permit {
    void release();
  }

  private final String name;
  private final int permits;
  private final int maxQueued;
  private final Duration queueTimeout;
  private final ScheduledExecutorService timer;
  private final LongSupplier nanoTime;
  private final Listener listener;

  private int free; // guarded by this
  private final ArrayDeque<Waiter> queue = new ArrayDeque<>(); // guarded by this

  /**
   * @param name what is budgeted, for messages ("origin")
   * @param timer runs queue timeouts; owned by the caller
   */
  public ConnectionBudget(String name, int permits, int maxQueued, Duration queueTimeout,
      ScheduledExecutorService timer, LongSupplier nanoTime, Listener listener) {
    checkArgument(permits > 0, "permits must be positive, was %s", permits);
    checkArgument(maxQueued >= 0, "maxQueued must not be negative, was %s", maxQueued);
    checkArgument(!queueTimeout.isNegative() && !queueTimeout.isZero(), "queueTimeout must be positive, was %s",
        queueTimeout);
    this.name = name;
    this.permits = permits;
    this.maxQueued = maxQueued;
    this.queueTimeout = queueTimeout;
    this.timer = timer;
    this.nanoTime = nanoTime;
    this.listener = listener;
    this.free = permits;
  }

  private final class Waiter {
    final CompletableFuture<Permit> future = new CompletableFuture<>();
    final long since = nanoTime.getAsLong();
    ScheduledFuture<?> timeout; // set once, right after queueing; read by the completer
  }

  private final class Held implements Permit {
    private boolean released; // guarded by ConnectionBudget.this

    @Override
    public void release() {
      Waiter next;
      synchronized (ConnectionBudget.this) {
        if (released) {
          return;
        }
        released = true;
        next = queue.pollFirst();
        if (next == null) {
          free++;
          return;
        }
      }
      // The permit passes straight to the oldest waiter, outside the lock (its callbacks run here).
      handOver(next);
    }
  }

  /**
   * A permit now (an already completed future) or, when all are held, a place in the queue: the
   * future completes in arrival order as permits are released, or fails with an {@link
   * HttpClientException} of kind {@link Kind#POOL_EXHAUSTED}: at once when the queue is full, or
   * after the queue timeout.
   */
  public CompletableFuture<Permit> acquire() {
    Waiter waiter;
    int queuedNow;
    synchronized (this) {
      if (free > 0) {
        free--;
        return CompletableFuture.completedFuture(new Held());
      }
      queuedNow = queue.size();
      if (queuedNow >= maxQueued) {
        waiter = null;
      } else {
        waiter = new Waiter();
        queue.addLast(waiter);
      }
    }
    if (waiter == null) {
      listener.rejected();
      return CompletableFuture.failedFuture(new HttpClientException(Kind.POOL_EXHAUSTED, "queue full: all " + permits + " " + name
          + " connections busy and " + queuedNow + " requests already waiting", null));
    }
    listener.queued();
    ScheduledFuture<?> timeout = timer.schedule(() -> expire(waiter), queueTimeout.toNanos(), TimeUnit.NANOSECONDS);
    synchronized (this) {
      waiter.timeout = timeout;
    }
    return waiter.future;
  }

  private void expire(Waiter waiter) {
    synchronized (this) {
      // Already handed a permit (it left the queue under this lock): nothing to expire.
      if (!queue.remove(waiter)) {
        return;
      }
    }
    listener.timedOut();
    waiter.future.completeExceptionally(new HttpClientException(Kind.POOL_EXHAUSTED, "no " + name
        + " connection free within " + queueTimeout.toMillis() + "ms (all " + permits + " busy)", null));
  }

  private void handOver(Waiter waiter) {
    ScheduledFuture<?> timeout;
    synchronized (this) {
      timeout = waiter.timeout;
    }
    if (timeout != null) {
      timeout.cancel(false);
    }
    listener.waited(nanoTime.getAsLong() - waiter.since);
    Held permit = new Held();
    if (!waiter.future.complete(permit)) {
      // The caller cancelled its future meanwhile: the permit goes on to the next one.
      permit.release();
    }
  }

  /** Requests waiting now. */
  public synchronized int queued() {
    return queue.size();
  }

  /** Permits held now. */
  public synchronized int inUse() {
    return permits - free;
  }

  public int permits() {
    return permits;
  }
}
