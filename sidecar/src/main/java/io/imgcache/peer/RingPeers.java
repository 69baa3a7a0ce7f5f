package io.imgcache.peer;

import io.imgcache.group.PeerPicker;
import io.imgcache.ring.Cluster;
import io.imgcache.ring.Ring;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import java.util.function.LongSupplier;

/**
 * Picks a key's owner from the cluster's current ring. Thread-safe and lock-free: one volatile
 * read of the snapshot and a binary search per call.
 */
public final class RingPeers implements PeerPicker {
  private final Cluster cluster;
  private final Function<String, Peer> connect;
  private final ConcurrentHashMap<String, Peer> peers = new ConcurrentHashMap<>();

  private final long warmupNanos;
  private final LongSupplier nanoClock;
  // The ring over the current ring's members except self, built once per ring: see previousRing.
  private final AtomicReference<Others> others = new AtomicReference<>();

  private record Others(Ring of, Ring without) {}

  /**
   * @param connect makes the client for a peer URL; called once per URL
   * @param warmupWindow how long after a ring change previous owners are asked first
   */
  public RingPeers(Cluster cluster, Function<String, Peer> connect, Duration warmupWindow, LongSupplier nanoClock) {
    this.cluster = cluster;
    this.connect = connect;
    this.warmupNanos = warmupWindow.toNanos();
    this.nanoClock = nanoClock;
    // A peer that leaves the ring (held unhealthy, deregistered) will not answer what is waiting
    // on it in time: let those callers fall back now, not at peers.timeout.
    cluster.addListener(snapshot -> peers.forEach((url, peer) -> {
      if (!snapshot.ring().members().contains(url)) {
        peer.abandonInFlight();
      }
    }));
  }

  @Override
  public Peer ownerOf(String key) {
    String owner = cluster.snapshot().ring().owner(key);
    return owner.equals(cluster.self()) ? null : peer(owner);
  }

  @Override
  public boolean owns(String key) {
    return cluster.snapshot().ring().owner(key).equals(cluster.self());
  }

  @Override
  public Peer previousOwnerOf(String key) {
    Cluster.Snapshot snapshot = cluster.snapshot();
    if (snapshot.previous() == snapshot.ring() || nanoClock.getAsLong() - snapshot.changedAtNanos() > warmupNanos) {
      return null;
    }
    String previous = previousRing(snapshot).owner(key);
    // A previous owner that left the ring is down or leaving: asking it would only cost a timeout.
    boolean useful = !previous.equals(cluster.self()) && snapshot.ring().members().contains(previous)
        && !previous.equals(snapshot.ring().owner(key));
    return useful ? peer(previous) : null;
  }

  /**
   * The ring the key's previous owner is read from. A node whose previous ring was itself alone
   * has just started (a scale-out or a rolling restart) or is back from being cut off from every
   * peer: its own previous ring says it owned every key, which is no use. The previous owner of a
   * key it owns now is then the member that owns the key when this node is left out — the ring
   * the others used before it (re)joined. (On any other change a node only gains keys from
   * members that left the ring, which are not worth asking.)
   */
  private Ring previousRing(Cluster.Snapshot snapshot) {
    Ring previous = snapshot.previous();
    if (!previous.members().equals(Set.of(cluster.self()))) {
      return previous;
    }
    return withoutSelf(snapshot.ring());
  }

  /**
   * The member that owns {@code key} when this node is left out: its successor on the ring, whose
   * origin loads the key when this node's own origin fails.
   */
  @Override
  public Peer alternateFor(String key) {
    Ring ring = cluster.snapshot().ring();
    if (ring.size() < 2) {
      return null;
    }
    return peer(withoutSelf(ring).owner(key));
  }

  /** The ring over {@code ring}'s members except this node, built once per ring. */
  private Ring withoutSelf(Ring ring) {
    Others cached = others.get();
    if (cached == null || cached.of() != ring) {
      // Built once per ring change (incrementally: self's points only), by whichever caller comes first.
      cached = new Others(ring, ring.withMembers(
          ring.members().stream().filter(m -> !m.equals(cluster.self())).toList()));
      others.set(cached);
    }
    return cached.without();
  }

  /** The client for {@code url}, created on first use. */
  public Peer peer(String url) {
    return peers.computeIfAbsent(url, connect);
  }
}
