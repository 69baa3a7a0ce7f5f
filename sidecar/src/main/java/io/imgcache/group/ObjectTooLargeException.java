package io.imgcache.group;

/**
 * A body larger than {@code cache.max-object-size}: stream it to the client, cache it nowhere.
 *
 * <p>It may carry the answer itself, still arriving from the server that sent it ({@link
 * #answer()}), so that one waiter streams that instead of asking again: the first request of a
 * too-large object costs the origin one request, not two. The group passes it on untouched; what it
 * is, and who may take it, is the transport's business.
 */
public final class ObjectTooLargeException extends RuntimeException {
  private final transient Object answer; // null: none

  public ObjectTooLargeException(String message) {
    this(message, null);
  }

  public ObjectTooLargeException(String message, Object answer) {
    super(message, null, false, false);
    this.answer = answer;
  }

  /** The open answer the transport attached (to be claimed by one taker only), or null. */
  public Object answer() {
    return answer;
  }
}
