package io.imgcache.peer;

import io.imgcache.group.PeerPicker;
import io.imgcache.ring.Cluster;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * Picks a key's owner from the cluster's current ring. Thread-safe and lock-free: one volatile
 * read of the snapshot and a binary search per call.
 */
public final class RingPeers implements PeerPicker {
  private final Cluster cluster;
  private final Function<String, Peer> connect;
  private final ConcurrentHashMap<String, Peer> peers = new ConcurrentHashMap<>();

  /** {@code connect} makes the client for a peer URL; called once per URL. */
  public RingPeers(Cluster cluster, Function<String, Peer> connect) {
    this.cluster = cluster;
    this.connect = connect;
  }

  @Override
  public Peer ownerOf(String key) {
    String owner = cluster.snapshot().ring().owner(key);
    return owner.equals(cluster.self()) ? null : peer(owner);
  }

  /** The client for {@code url}, created on first use. */
  public Peer peer(String url) {
    return peers.computeIfAbsent(url, connect);
  }
}
