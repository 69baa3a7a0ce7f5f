package io.imgcache.auth;

import io.undertow.server.HttpServerExchange;
import io.undertow.util.Headers;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

/** A configured shared secret, compared in constant time. Immutable and thread-safe. */
public final class BearerToken {
  private static final String SCHEME = "Bearer ";

  private final byte[] secret;

  /** {@code secret} may be empty, meaning "no token configured". */
  public BearerToken(String secret) {
    this.secret = secret.getBytes(StandardCharsets.UTF_8);
  }

  public boolean isSet() {
    return secret.length > 0;
  }

  /** Whether the request carries {@code Authorization: Bearer <secret>}; false when none is set. */
  public boolean matches(HttpServerExchange exchange) {
    String header = exchange.getRequestHeaders().getFirst(Headers.AUTHORIZATION);
    if (!isSet() || header == null || !header.regionMatches(true, 0, SCHEME, 0, SCHEME.length())) {
      return false;
    }
    byte[] given = header.substring(SCHEME.length()).trim().getBytes(StandardCharsets.UTF_8);
    return MessageDigest.isEqual(given, secret);
  }

  @Override
  public String toString() {
    return isSet() ? "BearerToken{set}" : "BearerToken{none}"; // never the secret
  }
}
