package io.imgcache.sample;

import java.util.Deque;
import java.util.Map;
import java.util.Set;

/**
 * What a request to the sample origin asks for, parsed and validated. Both kinds are values: two
 * requests that must get the same bytes parse to equal objects, so they are also the memo key.
 */
sealed interface SampleRequest {
  int DEFAULT_WIDTH = 640;
  int DEFAULT_HEIGHT = 480;
  int MAX_SIDE = 4000;
  int MAX_BLOB_SIZE = 64 << 20;
  int MAX_ID_LENGTH = 200;

  String IMAGE_PREFIX = "/v2/image/";
  String BLOB_PREFIX = "/v2/blob/";

  /** An image of {@code width} × {@code height} pixels, encoded as {@code format}. */
  record Image(String id, int width, int height, Format format) implements SampleRequest {}

  /** Exactly {@code size} pseudo-random bytes. */
  record Blob(String id, int size) implements SampleRequest {}

  /**
   * Parses a request. Checks the route first (404), then the method (405), then the parameters
   * (400), so a POST to an unknown path is a 404 and a GET with a bad {@code w} is a 400.
   *
   * @param path the decoded request path, without the query
   * @param query the decoded query parameters; names not listed in the class javadoc of {@link
   *     SampleOrigin} are ignored, as imgfit would ignore options it does not know
   * @param writable the formats this JVM can encode; a {@code type} outside it falls back to the
   *     path's format
   * @throws RejectedException with the status and a short reason
   */
  static SampleRequest parse(
      String method, String path, Map<String, Deque<String>> query, Set<Format> writable)
      throws RejectedException {
    if (path.startsWith(IMAGE_PREFIX)) {
      String rest = path.substring(IMAGE_PREFIX.length());
      int slash = rest.indexOf('/');
      Format pathFormat = slash < 0 ? null : Format.ofPathSegment(rest.substring(0, slash));
      if (pathFormat == null) {
        throw new RejectedException(404, "no such format: " + path);
      }
      String id = id(path, rest.substring(slash + 1));
      checkMethod(method);
      int width = side(query, "w", DEFAULT_WIDTH);
      int height = side(query, "h", DEFAULT_HEIGHT);
      String type = single(query, "type");
      Format format = pathFormat;
      if (type != null) {
        Format asked = Format.ofType(type);
        if (asked == null) {
          throw new RejectedException(
              400, "type must be one of .png .jpg .jpeg .gif .webp, was " + type);
        }
        // Honest fallback: never label bytes with a format we did not write.
        format = writable.contains(asked) ? asked : pathFormat;
      }
      return new Image(id, width, height, format);
    }
    if (path.startsWith(BLOB_PREFIX)) {
      String id = id(path, path.substring(BLOB_PREFIX.length()));
      checkMethod(method);
      String size = single(query, "size");
      if (size == null) {
        throw new RejectedException(400, "size is required");
      }
      return new Blob(id, bounded("size", size, 0, MAX_BLOB_SIZE));
    }
    throw new RejectedException(404, "not found: " + path);
  }

  private static String id(String path, String id) throws RejectedException {
    if (id.isEmpty() || id.indexOf('/') >= 0) {
      throw new RejectedException(404, "not found: " + path);
    }
    if (id.length() > MAX_ID_LENGTH) {
      throw new RejectedException(
          400, "id must be at most " + MAX_ID_LENGTH + " characters, was " + id.length());
    }
    return id;
  }

  private static void checkMethod(String method) throws RejectedException {
    if (!method.equals("GET") && !method.equals("HEAD")) {
      throw new RejectedException(405, "method must be GET or HEAD, was " + method);
    }
  }

  private static int side(Map<String, Deque<String>> query, String name, int absent)
      throws RejectedException {
    String value = single(query, name);
    return value == null ? absent : bounded(name, value, 1, MAX_SIDE);
  }

  /** The parameter's only value, null if absent; given twice is a 400 rather than a guess. */
  private static String single(Map<String, Deque<String>> query, String name)
      throws RejectedException {
    Deque<String> values = query.get(name);
    if (values == null || values.isEmpty()) {
      return null;
    }
    if (values.size() > 1) {
      throw new RejectedException(400, name + " given " + values.size() + " times");
    }
    return values.getFirst();
  }

  /** Plain decimal digits only: no sign, blanks or exponent; nine digits cannot overflow. */
  private static int bounded(String name, String value, int min, int max)
      throws RejectedException {
    boolean digits =
        !value.isEmpty()
            && value.length() <= 9
            && value.chars().allMatch(c -> c >= '0' && c <= '9');
    int parsed = digits ? Integer.parseInt(value) : -1;
    if (parsed < min || parsed > max) {
      throw new RejectedException(
          400, name + " must be an integer in " + min + ".." + max + ", was " + value);
    }
    return parsed;
  }
}
