package io.imgcache.key;

/** A request target that cannot be a cache key; carries the HTTP status to answer with. */
public final class InvalidKeyException extends RuntimeException {
  private final int status;

  InvalidKeyException(int status, String reason) {
    super(reason, null, false, false);
    this.status = status;
  }

  /** 400 or 414. */
  public int status() {
    return status;
  }
}
