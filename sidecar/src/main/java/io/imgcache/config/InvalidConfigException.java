package io.imgcache.config;

/** A configuration value that cannot be used; the message starts with the full HOCON key. */
public final class InvalidConfigException extends RuntimeException {
  private final String key;

  InvalidConfigException(String key, String problem) {
    super(key + ": " + problem);
    this.key = key;
  }

  /** The full HOCON key, e.g. {@code imgcache.cache.max-bytes}. */
  public String key() {
    return key;
  }
}
