package io.imgcache.origin;

/** The origin's body is larger than {@code cache.max-object-size}: stream it, do not cache it. */
public final class ObjectTooLargeException extends RuntimeException {
  public ObjectTooLargeException(String message) {
    super(message, null, false, false);
  }
}
