package io.imgcache.group;

import io.imgcache.cache.CachedResponse;

/** An answer to a get: the response and where it came from. */
public record Result(Source source, CachedResponse response) {}
