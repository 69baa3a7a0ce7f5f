package io.imgcache.peer;

/** A peer gave no authoritative answer: the caller falls back to its own origin. */
public final class PeerException extends RuntimeException {
  public PeerException(String message, Throwable cause) {
    super(message, cause);
  }
}
