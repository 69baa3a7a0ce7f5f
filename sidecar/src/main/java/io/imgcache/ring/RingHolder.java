package io.imgcache.ring;

import static com.google.common.base.Preconditions.checkNotNull;

import java.util.concurrent.atomic.AtomicReference;
import java.util.function.UnaryOperator;

/**
 * Publishes the current {@link Ring}. Readers call {@link #current()} once per request and use
 * that snapshot throughout, so a request never sees two rings. Thread-safe and lock-free; no method
 * blocks, and no method accepts or returns null.
 */
public final class RingHolder {
  private final AtomicReference<Ring> current; // the only mutable state; rings are immutable

  /** Starts with {@code initial}, e.g. {@code Ring.of(List.of(self), vnodes)}. */
  public RingHolder(Ring initial) {
    this.current = new AtomicReference<>(checkNotNull(initial, "initial"));
  }

  /** The ring in force now. */
  public Ring current() {
    return current.get();
  }

  /** Replaces the ring with {@code next}; returns the ring it replaced. */
  public Ring set(Ring next) {
    return current.getAndSet(checkNotNull(next, "next"));
  }

  /**
   * Atomically replaces the ring with {@code fn(current)} and returns the ring installed. Under
   * contention {@code fn} may run more than once, so it must be side-effect free; it must not
   * return null.
   */
  public Ring update(UnaryOperator<Ring> fn) {
    checkNotNull(fn, "fn");
    return current.updateAndGet(r -> checkNotNull(fn.apply(r), "update function returned null"));
  }

  @Override
  public String toString() {
    return "RingHolder{" + current.get() + "}";
  }
}
