package io.imgcache.group;

import io.imgcache.cache.CachedResponse;
import java.util.concurrent.CompletableFuture;

/** Loads request targets from this node's origin. */
public interface OriginLoader {
  /**
   * Sends {@code GET request.target()} with the request's headers to the origin and completes with
   * its whole response, whatever the status (a 500 is an answer, passed on as sent). Never blocks;
   * the future completes on some IO thread, exceptionally only when there was no answer: an {@code
   * OriginException} (refused, reset, timed out, no connection free) or an {@code
   * ObjectTooLargeException} when the body exceeds the size that may be cached.
   */
  CompletableFuture<CachedResponse> load(Request request);

  /**
   * Revalidates {@code stored} (which has a validator): a conditional GET with If-None-Match /
   * If-Modified-Since from it. A 304 completes with {@code stored} refreshed by the 304's headers
   * ({@link Revalidation#notModified()} true); any other answer completes with that response.
   * Fails like {@link #load}.
   */
  CompletableFuture<Revalidation> revalidate(Request request, CachedResponse stored);

  /** The outcome of {@link #revalidate}. */
  record Revalidation(CachedResponse response, boolean notModified) {}
}
