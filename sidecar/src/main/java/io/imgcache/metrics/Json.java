package io.imgcache.metrics;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigParseOptions;
import com.typesafe.config.ConfigSyntax;

/**
 * Just enough JSON writing for the node's endpoints, and reading back ({@link #read}) through
 * typesafe-config's strict JSON parser. A writer is not thread-safe.
 */
public final class Json {
  private static final ConfigParseOptions JSON = ConfigParseOptions.defaults().setSyntax(ConfigSyntax.JSON);

  private final StringBuilder out = new StringBuilder(1024);
  private boolean needComma;

  public Json beginObject() {
    separate();
    out.append('{');
    needComma = false;
    return this;
  }

  public Json endObject() {
    out.append('}');
    needComma = true;
    return this;
  }

  public Json beginArray() {
    separate();
    out.append('[');
    needComma = false;
    return this;
  }

  public Json endArray() {
    out.append(']');
    needComma = true;
    return this;
  }

  /** Writes a member name; the next call writes its value. */
  public Json name(String name) {
    separate();
    string(name);
    out.append(':');
    needComma = false;
    return this;
  }

  public Json value(String value) {
    separate();
    if (value == null) {
      out.append("null");
    } else {
      string(value);
    }
    needComma = true;
    return this;
  }

  public Json value(boolean value) {
    separate();
    out.append(value);
    needComma = true;
    return this;
  }

  public Json value(double value) {
    separate();
    if (Double.isNaN(value) || Double.isInfinite(value)) {
      out.append("null");
    } else if (value == Math.rint(value) && Math.abs(value) < 1e15) {
      out.append((long) value);
    } else {
      out.append(value);
    }
    needComma = true;
    return this;
  }

  private void separate() {
    if (needComma) {
      out.append(',');
    }
  }

  private void string(String s) {
    out.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> out.append("\\\"");
        case '\\' -> out.append("\\\\");
        case '\n' -> out.append("\\n");
        case '\r' -> out.append("\\r");
        case '\t' -> out.append("\\t");
        default -> {
          if (c < 0x20) {
            out.append(String.format("\\u%04x", (int) c));
          } else {
            out.append(c);
          }
        }
      }
    }
    out.append('"');
  }

  /**
   * Parses a JSON object; members are read as config paths ({@code a.b} is member {@code b} of
   * member {@code a}), and a member that is {@code null} reads as absent ({@code hasPath} false).
   *
   * @throws IllegalArgumentException if {@code text} is not a JSON object
   */
  public static Config read(String text) {
    try {
      return ConfigFactory.parseString(text, JSON);
    } catch (ConfigException e) {
      throw new IllegalArgumentException("not a JSON object: " + e.getMessage(), e);
    }
  }

  @Override
  public String toString() {
    return out.toString();
  }
}
