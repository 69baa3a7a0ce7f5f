package io.imgcache.membership;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkState;

import io.etcd.jetcd.Client;
import io.etcd.jetcd.common.exception.ErrorCode;
import io.etcd.jetcd.common.exception.EtcdException;
import java.time.Duration;
import java.util.concurrent.TimeoutException;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * The etcd membership's current jetcd client, swapped for a freshly built one when a call failed for
 * want of a connection and the current client is at least {@code minAge} old (the membership asks
 * {@link #dueForReplacement}, then {@link #replace}s).
 *
 * <p>Why: the gRPC channel inside a jetcd client reconnects on its own timer, waiting 1.6 times
 * longer after each failed attempt (up to two minutes), and jetcd offers no way to cap that or to
 * reach the channel (jetcd#1616; its {@code retry*} settings only retry calls on the same channel).
 * After a 20 s outage the next attempt came 4 to 7 s after etcd answered again. A fresh client's
 * channel connects at its first call and retries after about 1 s and 2.6 s, so one replaced every
 * {@code minAge} or so while etcd is away tries again at least every ~1.6 s, whatever the outage
 * length. A client that cannot connect is cheap to drop: its channel holds no connection and jetcd
 * creates its Vert.x instance only once a keep-alive runs.
 *
 * <p>Not thread-safe: confined to the membership's thread, except that {@link #close} may also run
 * from the closing thread once that thread has stopped (hence the volatile field).
 */
final class ReconnectingClient implements AutoCloseable {
  private final Supplier<Client> factory;
  private final long minAgeNanos;
  private final LongSupplier nanoClock;
  // Written on the membership's thread only; volatile because close() may run on the closing thread.
  private volatile Client current;
  private long builtAtNanos; // nanoClock reading when current was built; confined like current
  private int replacements;
  private volatile boolean closed;

  /**
   * @param factory builds a client; every client built is owned here and closed when replaced
   * @param minAge the youngest client that is replaced (its channel's own first retries come sooner)
   * @param nanoClock usually {@code System::nanoTime}
   */
  ReconnectingClient(Supplier<Client> factory, Duration minAge, LongSupplier nanoClock) {
    checkArgument(!minAge.isNegative(), "minAge must not be negative, was %s", minAge);
    this.factory = factory;
    this.minAgeNanos = minAge.toNanos();
    this.nanoClock = nanoClock;
  }

  /** The current client, built on first use. Never null. */
  Client get() {
    checkState(!closed, "etcd client closed");
    if (current == null) {
      current = factory.get();
      builtAtNanos = nanoClock.getAsLong();
    }
    return current;
  }

  /**
   * Whether the current client should give way to a fresh one after a call that failed for want of
   * a connection ({@link #isConnectivityFailure}): it is at least {@code minAge} old (a younger one's
   * channel retries soon enough by itself), or none was built yet.
   */
  boolean dueForReplacement() {
    return current == null || nanoClock.getAsLong() - builtAtNanos >= minAgeNanos;
  }

  /**
   * Closes the current client and builds a fresh one. Every watch and keep-alive of the old client
   * ends (jetcd tells their observers); the caller starts them anew on {@link #get}.
   */
  void replace() {
    checkState(!closed, "etcd client closed");
    Client old = current;
    current = null;
    if (old != null) {
      old.close();
    }
    replacements++;
    get();
  }

  /** How many times the client was replaced since the last {@link #resetReplacements}. */
  int replacements() {
    return replacements;
  }

  void resetReplacements() {
    replacements = 0;
  }

  /**
   * Whether {@code failure} (from a call, unwrapped) says etcd could not be reached: gRPC's
   * UNAVAILABLE or DEADLINE_EXCEEDED, or our own wait for the answer running out. Refusals (auth,
   * permissions, a bad request) are not: a fresh client would be refused as well.
   */
  static boolean isConnectivityFailure(Throwable failure) {
    if (failure instanceof TimeoutException) {
      return true;
    }
    return failure instanceof EtcdException e
        && (e.getErrorCode() == ErrorCode.UNAVAILABLE || e.getErrorCode() == ErrorCode.DEADLINE_EXCEEDED);
  }

  /** Closes the current client, if any. Idempotent. */
  @Override
  public void close() {
    closed = true;
    Client c = current;
    current = null;
    if (c != null) {
      c.close();
    }
  }
}
