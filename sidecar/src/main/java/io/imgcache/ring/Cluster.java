package io.imgcache.ring;

import static com.google.common.base.Preconditions.checkArgument;

import com.google.common.collect.ImmutableSortedSet;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import java.util.function.UnaryOperator;

/**
 * This node's view of the cluster: the members (from membership), the ones the health monitor
 * holds unhealthy, and the ring over the rest, published together as one immutable {@link
 * Snapshot} through one atomic reference. Reads take no lock; updates rebuild the ring only when
 * the set of live members changes. Self is always a live member of its own ring.
 */
public final class Cluster {
  /**
   * One consistent view.
   *
   * @param members every known member, self included, sorted
   * @param unhealthy members currently held unhealthy (never self)
   * @param ring the ring over {@code members − unhealthy}
   * @param previous the ring before the last change of live members (the same ring if none)
   * @param changedAtNanos when the live members last changed, on this cluster's clock
   */
  public record Snapshot(String self, Set<String> members, Set<String> unhealthy, Ring ring, Ring previous,
      long changedAtNanos) {
    public boolean healthy(String member) {
      return !unhealthy.contains(member);
    }
  }

  private final String self;
  private final int vnodes;
  private final LongSupplier nanoClock;
  private final AtomicReference<Snapshot> current;
  private final List<Consumer<Snapshot>> listeners = new CopyOnWriteArrayList<>();

  /** A cluster of self alone; {@code nanoClock} is usually {@code System::nanoTime}. */
  public Cluster(String self, int vnodes, LongSupplier nanoClock) {
    checkArgument(!self.isEmpty(), "self must not be empty");
    this.self = self;
    this.vnodes = vnodes;
    this.nanoClock = nanoClock;
    Ring ring = Ring.of(Set.of(self), vnodes);
    this.current = new AtomicReference<>(
        new Snapshot(self, ImmutableSortedSet.of(self), ImmutableSortedSet.of(), ring, ring, nanoClock.getAsLong()));
  }

  public String self() {
    return self;
  }

  public Snapshot snapshot() {
    return current.get();
  }

  /** Replaces the member list (self is added); unhealthy marks of members that left are dropped. */
  public Snapshot setMembers(Collection<String> members) {
    ImmutableSortedSet<String> all = ImmutableSortedSet.<String>naturalOrder().addAll(members).add(self).build();
    return update(s -> rebuild(s, all, ImmutableSortedSet.copyOf(
        s.unhealthy().stream().filter(all::contains).iterator())));
  }

  /** Takes {@code member} out of the ring (a no-op for self or a non-member). */
  public Snapshot markUnhealthy(String member) {
    return update(s -> member.equals(self) || !s.members().contains(member) || s.unhealthy().contains(member)
        ? s
        : rebuild(s, s.members(), ImmutableSortedSet.<String>naturalOrder().addAll(s.unhealthy()).add(member).build()));
  }

  /** Puts {@code member} back into the ring if it is still a member. */
  public Snapshot markHealthy(String member) {
    return update(s -> !s.unhealthy().contains(member)
        ? s
        : rebuild(s, s.members(), ImmutableSortedSet.copyOf(
            s.unhealthy().stream().filter(m -> !m.equals(member)).iterator())));
  }

  /**
   * Calls {@code listener} with the new snapshot after every change of the ring, on the thread
   * that made the change (membership's or the health monitor's): it must be quick.
   */
  public void addListener(Consumer<Snapshot> listener) {
    listeners.add(listener);
  }

  private Snapshot update(UnaryOperator<Snapshot> change) {
    Snapshot[] before = new Snapshot[1];
    // The function may run more than once under contention; it has no side effects, and the
    // last run saw the snapshot that was actually replaced.
    Snapshot after = current.updateAndGet(s -> {
      before[0] = s;
      return change.apply(s);
    });
    if (after.ring() != before[0].ring()) {
      listeners.forEach(l -> l.accept(after));
    }
    return after;
  }

  private Snapshot rebuild(Snapshot old, Set<String> members, Set<String> unhealthy) {
    ImmutableSortedSet<String> live = ImmutableSortedSet.copyOf(
        members.stream().filter(m -> !unhealthy.contains(m)).iterator());
    if (live.equals(old.ring().members())) {
      return new Snapshot(self, members, unhealthy, old.ring(), old.previous(), old.changedAtNanos());
    }
    return new Snapshot(self, members, unhealthy, old.ring().withMembers(live), old.ring(), nanoClock.getAsLong());
  }
}
