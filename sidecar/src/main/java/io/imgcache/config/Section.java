package io.imgcache.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.List;
import java.util.Locale;

/**
 * Reads typed values below one HOCON path and turns every problem into an {@link
 * InvalidConfigException} naming the full key. Not thread-safe; used once, at start.
 */
final class Section {
  private final Config config;
  private final String path;

  Section(Config config, String path) {
    this.config = config;
    this.path = path;
  }

  Section child(String name) {
    return new Section(config, path + "." + name);
  }

  String key(String name) {
    return path + "." + name;
  }

  InvalidConfigException invalid(String name, String problem) {
    return new InvalidConfigException(key(name), problem);
  }

  String string(String name) {
    return read(name, () -> config.getString(key(name)));
  }

  /** A string that may be {@code null} in the config; returns {@code null} then. */
  String nullableString(String name) {
    return config.getIsNull(key(name)) ? null : string(name);
  }

  boolean bool(String name) {
    return read(name, () -> config.getBoolean(key(name)));
  }

  List<String> strings(String name) {
    return read(name, () -> List.copyOf(config.getStringList(key(name))));
  }

  int intIn(String name, int min, int max) {
    int value = read(name, () -> config.getInt(key(name)));
    if (value < min || value > max) {
      throw invalid(name, "must be between " + min + " and " + max + ", was " + value);
    }
    return value;
  }

  double doubleIn(String name, double min, double max) {
    double value = read(name, () -> config.getDouble(key(name)));
    if (!(value >= min && value <= max)) {
      throw invalid(name, "must be between " + min + " and " + max + ", was " + value);
    }
    return value;
  }

  long bytesIn(String name, long min, long max) {
    long value = read(name, () -> config.getBytes(key(name)));
    if (value < min || value > max) {
      throw invalid(name, "must be between " + min + " and " + max + " bytes, was " + value);
    }
    return value;
  }

  Duration positiveDuration(String name) {
    Duration value = duration(name);
    if (value.isZero()) {
      throw invalid(name, "must be positive, was " + value.toMillis() + "ms");
    }
    return value;
  }

  /** A duration that may be zero (meaning "off"); negative values are rejected. */
  Duration duration(String name) {
    Duration value = read(name, () -> config.getDuration(key(name)));
    if (value.isNegative()) {
      throw invalid(name, "must not be negative, was " + value.toMillis() + "ms");
    }
    return value;
  }

  /** An {@code http://host:port} URL with no path, query or user info. */
  URI httpUrl(String name) {
    return httpUrl(name, string(name));
  }

  URI httpUrl(String name, String text) {
    URI uri;
    try {
      uri = new URI(text);
    } catch (URISyntaxException e) {
      throw invalid(name, "not a URL: \"" + text + "\"");
    }
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
    if (!scheme.equals("http") || uri.getHost() == null) {
      throw invalid(name, "must be an http://host:port URL, was \"" + text + "\"");
    }
    boolean bare = (uri.getRawPath() == null || uri.getRawPath().isEmpty() || uri.getRawPath().equals("/"))
        && uri.getRawQuery() == null && uri.getRawFragment() == null && uri.getRawUserInfo() == null;
    if (!bare) {
      throw invalid(name, "must have no path, query or user info, was \"" + text + "\"");
    }
    int port = uri.getPort() == -1 ? 80 : uri.getPort();
    return URI.create("http://" + uri.getHost() + ":" + port);
  }

  private <T> T read(String name, java.util.function.Supplier<T> getter) {
    try {
      return getter.get();
    } catch (ConfigException.Missing e) {
      throw invalid(name, "missing");
    } catch (ConfigException.WrongType | ConfigException.BadValue e) {
      throw invalid(name, "bad value: " + stripOrigin(e.getMessage()));
    }
  }

  /** typesafe-config prefixes messages with "file: line: "; the key already says where. */
  private static String stripOrigin(String message) {
    int at = message.lastIndexOf(": ");
    return at >= 0 ? message.substring(at + 2) : message;
  }
}
