package io.imgcache.group;

import io.imgcache.cache.CachedResponse;
import java.util.concurrent.CompletableFuture;

/** Chooses the owner of a key among the cluster's members. Thread-safe and non-blocking. */
public interface PeerPicker {
  /** A picker for a node that owns every key (a single node). */
  PeerPicker SELF_ONLY = key -> null;

  /** The owner of {@code key} when it is another node; null when this node owns it. */
  Peer ownerOf(String key);

  /** Whether this node's ring makes it the owner of {@code key}. */
  default boolean owns(String key) {
    return ownerOf(key) == null;
  }

  /**
   * Within the warm-up window after a ring change: the key's owner on the previous ring, when that
   * is another node still in the ring; otherwise null.
   */
  default Peer previousOwnerOf(String key) {
    return null;
  }

  /**
   * Another member whose origin can load {@code key} for this node when this node's own origin
   * gave no usable answer (every imgfit computes every image); null when there is none.
   */
  default Peer alternateFor(String key) {
    return null;
  }

  /** Another node, reached through the peer protocol. */
  interface Peer {
    /** The peer's advertised URL, its identity. */
    String url();

    /**
     * Asks the peer, as the key's owner, for {@code request} (its headers travel with it). Completes
     * with the peer's answer when it is authoritative — the origin's response of any status, with
     * the owner's freshness — exceptionally with a {@code PeerException} when the peer could not
     * answer (unreachable, timed out, its origin unreachable, refused us) or an {@code
     * ObjectTooLargeException}.
     */
    CompletableFuture<CachedResponse> fetch(Request request);

    /**
     * Asks the peer for {@code request} only if it holds it in memory (it never loads it for us):
     * completes exceptionally when it does not, or cannot answer quickly. For warm-up.
     */
    CompletableFuture<CachedResponse> fetchCached(Request request);

    /**
     * Asks the peer to load {@code request} from its own origin for this node, whose origin failed
     * (DESIGN §7, {@code X-Groupcache-Load-For}): the peer stores nothing and never asks further.
     * Completes like {@link #fetch}.
     */
    CompletableFuture<CachedResponse> loadFor(Request request);

    /**
     * Fails every request to this peer still in flight with a {@code PeerException}, so that
     * their callers fall back now rather than at the peer timeout: called when the peer leaves
     * the ring (the health monitor found it unresponsive, or it deregistered). Non-blocking.
     */
    default void abandonInFlight() {}
  }
}
