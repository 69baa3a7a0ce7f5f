package io.imgcache.peer;

import io.imgcache.group.PeerPicker;
import io.imgcache.ring.Cluster;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
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

  /**
   * @param connect makes the client for a peer URL; called once per URL
   * @param warmupWindow how long after a ring change previous owners are asked first
   */
  public RingPeers(Cluster cluster, Function<String, Peer> connect, Duration warmupWindow, LongSupplier nanoClock) {
    this.cluster = cluster;
    this.connect = connect;
    this.warmupNanos = warmupWindow.toNanos();
    this.nanoClock = nanoClock;
  }

  @Override
  public Peer ownerOf(String key) {
    String owner = cluster.snapshot().ring().owner(key);
    return owner.equals(cluster.self()) ? null : peer(owner);
  }

  @Override
  public Peer previousOwnerOf(String key) {
    Cluster.Snapshot snapshot = cluster.snapshot();
    if (snapshot.previous() == snapshot.ring() || nanoClock.getAsLong() - snapshot.changedAtNanos() > warmupNanos) {
      return null;
    }
    String previous = snapshot.previous().owner(key);
    // A previous owner that left the ring is down or leaving: asking it would only cost a timeout.
    boolean useful = !previous.equals(cluster.self()) && snapshot.ring().members().contains(previous)
        && !previous.equals(snapshot.ring().owner(key));
    return useful ? peer(previous) : null;
  }

  /** The client for {@code url}, created on first use. */
  public Peer peer(String url) {
    return peers.computeIfAbsent(url, connect);
  }
}
