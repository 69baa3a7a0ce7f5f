package io.imgcache.group;

/**
 * The origin failed to give a usable answer. {@link #status()} is what the client gets: 502 (the
 * origin answered 5xx, refused or broke the connection) or 504 (it did not answer in time); the
 * message is a short plain-text reason for that client.
 */
public final class OriginException extends RuntimeException {
  private final int status;

  public OriginException(int status, String reason, Throwable cause) {
    super(reason, cause);
    this.status = status;
  }

  public int status() {
    return status;
  }
}
