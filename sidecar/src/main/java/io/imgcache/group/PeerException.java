package io.imgcache.group;

/**
 * A peer gave no authoritative answer; the caller falls back to its own origin. {@link
 * #peerAtFault()} says whether the health monitor should hear of it: a peer that is unreachable,
 * timed out or failed is; a request that found no free pooled connection in time (our own
 * back-pressure, the peer being merely busy) is not.
 */
public final class PeerException extends RuntimeException {
  private final boolean peerAtFault;

  public PeerException(String message, Throwable cause, boolean peerAtFault) {
    super(message, cause);
    this.peerAtFault = peerAtFault;
  }

  public boolean peerAtFault() {
    return peerAtFault;
  }
}
