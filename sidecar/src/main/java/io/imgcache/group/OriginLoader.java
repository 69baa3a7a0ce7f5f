package io.imgcache.group;

import io.imgcache.cache.CachedResponse;
import java.util.concurrent.CompletableFuture;

/** Loads one request target from this node's origin. */
public interface OriginLoader {
  /**
   * Sends {@code GET target} to the origin and returns its whole response. Never blocks; the
   * future completes on some IO thread, exceptionally with an {@code OriginException} when the
   * origin failed (5xx, timeout, connection error) or an {@code ObjectTooLargeException} when the
   * body exceeds the size that may be cached.
   *
   * @param forwardedFor the address of the client that caused the load, for X-Forwarded-For;
   *     null when there is none (a peer's request)
   */
  CompletableFuture<CachedResponse> load(String target, String forwardedFor);
}
