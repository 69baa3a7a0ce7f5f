package io.imgcache.group;

/** A body larger than {@code cache.max-object-size}: stream it to the client, cache it nowhere. */
public final class ObjectTooLargeException extends RuntimeException {
  public ObjectTooLargeException(String message) {
    super(message, null, false, false);
  }
}
