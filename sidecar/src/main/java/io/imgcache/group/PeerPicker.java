package io.imgcache.group;

import io.imgcache.cache.CachedResponse;
import java.util.concurrent.CompletableFuture;

/** Chooses the owner of a key among the cluster's members. Thread-safe and non-blocking. */
public interface PeerPicker {
  /** A picker for a node that owns every key (a single node). */
  PeerPicker SELF_ONLY = key -> null;

  /** The owner of {@code key} when it is another node; null when this node owns it. */
  Peer ownerOf(String key);

  /** Another node, reached through the peer protocol. */
  interface Peer {
    /** The peer's advertised URL, its identity. */
    String url();

    /**
     * Asks the peer for {@code key}. Completes with the peer's answer when it is authoritative
     * (the origin's response, 404 included), exceptionally with a {@code PeerException} when the
     * peer could not answer (unreachable, timed out, its origin failed, refused us).
     */
    CompletableFuture<CachedResponse> fetch(String key);
  }
}
