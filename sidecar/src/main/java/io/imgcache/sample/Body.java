package io.imgcache.sample;

import static java.util.Objects.requireNonNull;

import com.google.common.hash.Hashing;

/**
 * A rendered response body with the headers derived from it. Immutable: {@code bytes} is never
 * written after construction and never handed out except wrapped read-only.
 */
record Body(byte[] bytes, String contentType, String etag) {
  Body {
    requireNonNull(bytes, "bytes");
    requireNonNull(contentType, "contentType");
    requireNonNull(etag, "etag");
  }

  /** A body whose strong ETag is the quoted 128-bit Murmur3 hash of {@code bytes}. */
  static Body of(byte[] bytes, String contentType) {
    String hash = Hashing.murmur3_128().hashBytes(bytes).toString();
    return new Body(bytes, contentType, '"' + hash + '"');
  }
}
