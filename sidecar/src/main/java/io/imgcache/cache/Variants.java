package io.imgcache.cache;

import static com.google.common.base.Preconditions.checkArgument;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.RemovalCause;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/**
 * Selects stored responses by the request headers they vary on (RFC 9111 §4.1). A response with
 * {@code Vary} is stored under a <em>variant key</em>: the base key, a NUL, and the normalised
 * values of the named request headers. An index remembers, per base key, the names its latest
 * response varied on and every variant key stored under it, so that a request finds its variant
 * with one lookup and a purge removes all of them. Thread-safe and non-blocking.
 *
 * <p>Normalisation: values of one field are joined with commas, each element trimmed, so that
 * {@code "gzip, br"} and {@code "gzip,br"} select the same variant; an absent field differs from an
 * empty one. {@code Accept} is reduced to the configured image formats it names with a non-zero q
 * (in configuration order), so that arbitrary Accept values cannot fragment the cache: the origin
 * distinguishes nothing else.
 */
public final class Variants {
  /** The separator between a base key and its variant part: a key never holds a control character. */
  static final char SEPARATOR = '\0';
  private static final String ABSENT = "\u0001";

  /** A request's header values by lower-case name: the combined value, or null when absent. */
  @FunctionalInterface
  public interface Headers {
    String get(String lowerName);
  }

  private record Entry(String[] names, Set<String> keys) {}

  private final List<String> acceptFormats;
  private final Cache<String, Entry> index;

  /**
   * @param acceptFormats media types (lower case) Accept is reduced to; empty = Accept taken whole
   * @param maxBases base keys with variants remembered at most
   * @param orphaned told each variant key whose base key the index dropped (size bound): the
   *     caches must drop it too, or a later response could make the stale copy reachable again
   */
  public Variants(List<String> acceptFormats, long maxBases, Consumer<String> orphaned) {
    checkArgument(maxBases > 0, "maxBases must be positive, was %s", maxBases);
    this.acceptFormats = acceptFormats.stream().map(f -> f.trim().toLowerCase(Locale.ROOT)).toList();
    this.index = Caffeine.newBuilder()
        .maximumSize(maxBases)
        .executor(Runnable::run)
        .removalListener((String base, Entry entry, RemovalCause cause) -> {
          if (entry != null && cause.wasEvicted()) {
            entry.keys().forEach(orphaned);
          }
        })
        .build();
  }

  /** The base key of a (variant) key. */
  public static String base(String key) {
    int nul = key.indexOf(SEPARATOR);
    return nul < 0 ? key : key.substring(0, nul);
  }

  /**
   * The key a request for {@code base} finds its stored response under: the base key itself when
   * no response for it varied (or none is known).
   */
  public String keyFor(String base, Headers request) {
    if (index.estimatedSize() == 0) {
      return base; // no response varied yet (the common case for an image service): no lookup
    }
    Entry entry = index.getIfPresent(base);
    return entry == null ? base : variantKey(base, entry.names(), request);
  }

  /** The key {@code response} answers {@code request} under (its own Vary names). */
  public String keyFor(String base, CachedResponse response, Headers request) {
    return response.varies() ? variantKey(base, response.varyNames(), request) : base;
  }

  /**
   * Records that {@code response} is stored for {@code request} under base key {@code base}, and
   * returns the key to store it under. A response whose Vary names differ from the ones known
   * replaces them (RFC 9111 §4.1: the most recent response's Vary is the one that selects).
   */
  public String record(String base, CachedResponse response, Headers request) {
    if (!response.varies()) {
      return base; // earlier variants, if any, are the caller's to drop (forget)
    }
    String key = variantKey(base, response.varyNames(), request);
    index.asMap().compute(base, (b, entry) -> {
      Entry e = entry;
      if (entry == null || !java.util.Arrays.equals(entry.names(), response.varyNames())) {
        e = new Entry(response.varyNames(), ConcurrentHashMap.newKeySet());
        if (entry != null) {
          // Variants stored under the old names stay in the caches: keep them known, so that
          // forget (a purge) still finds them.
          e.keys().addAll(entry.keys());
        }
      }
      e.keys().add(key);
      return e;
    });
    return key;
  }

  /** Forgets {@code base}; returns the variant keys stored under it (the base key excluded). */
  public List<String> forget(String base) {
    Entry entry = index.asMap().remove(base);
    return entry == null ? List.of() : new ArrayList<>(entry.keys());
  }

  private String variantKey(String base, String[] names, Headers request) {
    StringBuilder key = new StringBuilder(base.length() + 32).append(base);
    for (String name : names) {
      key.append(SEPARATOR).append(name).append('=');
      String value = request.get(name);
      key.append(value == null ? ABSENT : normalise(name, value));
    }
    return key.toString();
  }

  private String normalise(String name, String value) {
    if (name.equals("accept") && !acceptFormats.isEmpty()) {
      return acceptedFormats(value);
    }
    StringBuilder out = new StringBuilder(value.length());
    for (String element : value.split(",")) {
      if (out.length() > 0) {
        out.append(',');
      }
      out.append(element.trim());
    }
    return out.toString();
  }

  /** The configured formats that {@code accept} names explicitly with q &gt; 0, comma-separated. */
  private String acceptedFormats(String accept) {
    StringBuilder out = new StringBuilder();
    for (String format : acceptFormats) {
      for (String range : accept.split(",")) {
        String[] parts = range.split(";");
        if (parts[0].trim().equalsIgnoreCase(format) && qualityAboveZero(parts)) {
          out.append(out.length() > 0 ? "," : "").append(format);
          break;
        }
      }
    }
    return out.toString();
  }

  private static boolean qualityAboveZero(String[] parts) {
    for (int i = 1; i < parts.length; i++) {
      String p = parts[i].trim().toLowerCase(Locale.ROOT);
      if (p.startsWith("q=")) {
        try {
          return Double.parseDouble(p.substring(2)) > 0;
        } catch (NumberFormatException e) {
          return false;
        }
      }
    }
    return true;
  }
}
