package io.imgcache.group;

import io.imgcache.cache.CachedResponse;

/**
 * An answer to a get: the response, where it came from and, for a stored response, the variant key
 * it is stored under (null when there is none or it does not matter).
 */
public record Result(Source source, CachedResponse response, String variantKey) {
  public Result(Source source, CachedResponse response) {
    this(source, response, null);
  }
}
