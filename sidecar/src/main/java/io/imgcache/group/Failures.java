package io.imgcache.group;

import java.util.concurrent.CompletionException;

/** Reading the failures that asynchronous loads complete with. */
public final class Failures {
  private Failures() {}

  /** The failure itself, not the {@link CompletionException} a dependent stage wrapped it in. */
  public static Throwable cause(Throwable failure) {
    return failure instanceof CompletionException && failure.getCause() != null ? failure.getCause() : failure;
  }

  /** {@code failure} as an unchecked exception to rethrow from a stage, unwrapped once. */
  static RuntimeException propagate(Throwable failure) {
    Throwable cause = cause(failure);
    return cause instanceof RuntimeException e ? e : new CompletionException(cause);
  }
}
