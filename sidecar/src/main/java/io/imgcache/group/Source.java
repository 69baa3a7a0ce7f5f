package io.imgcache.group;

/** Where an answer came from; the value of the {@code X-Cache} response header. */
public enum Source {
  /** This node's main cache. */
  HIT,
  /** This node's hot cache (a copy of a key another node owns). */
  HIT_HOT,
  /** This node's disk tier (the owner's copy, read back into memory). */
  HIT_DISK,
  /** A stale stored copy: within stale-while-revalidate (refreshed behind it) or stale-if-error. */
  STALE,
  /** A stored copy the origin confirmed with 304 Not Modified before it was answered. */
  REVALIDATED,
  /** Loaded from this node's origin as the key's owner. */
  MISS,
  /** Fetched from the key's owner. */
  PEER,
  /** The owner failed; loaded from this node's origin and not kept in the main cache. */
  FALLBACK,
  /** Not shared: passed through to the origin for this client only. */
  PASS;

  private final String header = name().replace('_', '-');

  /** The {@code X-Cache} header value, e.g. {@code HIT-HOT}. */
  public String header() {
    return header;
  }
}
