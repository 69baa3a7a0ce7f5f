package io.imgcache.sample;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.imgcache.sample.SampleRequest.Blob;
import io.imgcache.sample.SampleRequest.Image;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class SampleRequestTest {
  /** What a plain JDK can write. */
  private static final Set<Format> JDK = EnumSet.of(Format.PNG, Format.JPEG, Format.GIF);

  static Stream<Arguments> accepted() {
    return Stream.of(
        Arguments.of(
            "GET",
            "/v2/image/png/003?w=850&h=200",
            new Image("003", 850, 200, Format.PNG)),
        Arguments.of("HEAD", "/v2/image/jpg/a?w=1&h=4000", new Image("a", 1, 4000, Format.JPEG)),
        Arguments.of("GET", "/v2/image/gif/a", new Image("a", 640, 480, Format.GIF)),
        Arguments.of("GET", "/v2/image/png/a?w=100", new Image("a", 100, 480, Format.PNG)),
        Arguments.of("GET", "/v2/image/png/a?h=100", new Image("a", 640, 100, Format.PNG)),
        Arguments.of("GET", "/v2/image/png/a?type=.jpg", new Image("a", 640, 480, Format.JPEG)),
        Arguments.of("GET", "/v2/image/png/a?type=.jpeg", new Image("a", 640, 480, Format.JPEG)),
        Arguments.of("GET", "/v2/image/jpg/a?type=.gif", new Image("a", 640, 480, Format.GIF)),
        Arguments.of("GET", "/v2/image/gif/a?type=.png", new Image("a", 640, 480, Format.PNG)),
        // No webp writer in the JDK: the path's format, honestly labelled.
        Arguments.of("GET", "/v2/image/jpg/a?type=.webp", new Image("a", 640, 480, Format.JPEG)),
        Arguments.of("GET", "/v2/image/png/a?fit=cover&w=5", new Image("a", 5, 480, Format.PNG)),
        Arguments.of(
            "GET",
            "/v2/image/png/a.b-c_d?w=007",
            new Image("a.b-c_d", 7, 480, Format.PNG)),
        Arguments.of("GET", "/v2/blob/x?size=0", new Blob("x", 0)),
        Arguments.of("HEAD", "/v2/blob/x?size=67108864", new Blob("x", 64 << 20)));
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("accepted")
  void accepted(String method, String target, SampleRequest expected) throws Exception {
    assertEquals(expected, parse(method, target, JDK));
  }

  @ParameterizedTest(name = "{0} {1} -> {2}")
  @MethodSource("rejected")
  void rejected(String method, String target, int status, String reason) {
    RejectedException e = assertThrows(RejectedException.class, () -> parse(method, target, JDK));
    assertEquals(status, e.status());
    assertEquals(reason, e.getMessage());
  }

  static Stream<Arguments> rejected() {
    return Stream.of(
        Arguments.of("GET", "/", 404, "not found: /"),
        Arguments.of("GET", "/v2/image/png/", 404, "not found: /v2/image/png/"),
        Arguments.of("GET", "/v2/image/png/a/b", 404, "not found: /v2/image/png/a/b"),
        Arguments.of("GET", "/v2/image/bmp/a", 404, "no such format: /v2/image/bmp/a"),
        Arguments.of("GET", "/v2/image/png", 404, "no such format: /v2/image/png"),
        Arguments.of("GET", "/v2/blob/", 404, "not found: /v2/blob/"),
        // Route before method: an unknown path is a 404 whatever the method.
        Arguments.of("POST", "/nope", 404, "not found: /nope"),
        // Method before parameters.
        Arguments.of("POST", "/v2/image/png/a?w=0", 405, "method must be GET or HEAD, was POST"),
        Arguments.of("DELETE", "/v2/blob/a", 405, "method must be GET or HEAD, was DELETE"),
        Arguments.of("GET", "/v2/image/png/a?w=0", 400, "w must be an integer in 1..4000, was 0"),
        Arguments.of(
            "GET",
            "/v2/image/png/a?h=4001",
            400,
            "h must be an integer in 1..4000, was 4001"),
        Arguments.of("GET", "/v2/image/png/a?w=-5", 400, "w must be an integer in 1..4000, was -5"),
        Arguments.of("GET", "/v2/image/png/a?w=+5", 400, "w must be an integer in 1..4000, was +5"),
        Arguments.of("GET", "/v2/image/png/a?w=", 400, "w must be an integer in 1..4000, was "),
        Arguments.of(
            "GET",
            "/v2/image/png/a?w=1e3",
            400,
            "w must be an integer in 1..4000, was 1e3"),
        Arguments.of(
            "GET",
            "/v2/image/png/a?w=99999999999",
            400,
            "w must be an integer in 1..4000, was 99999999999"),
        Arguments.of("GET", "/v2/image/png/a?w=1&w=2", 400, "w given 2 times"),
        Arguments.of(
            "GET",
            "/v2/image/png/a?type=.bmp",
            400,
            "type must be one of .png .jpg .jpeg .gif .webp, was .bmp"),
        Arguments.of(
            "GET",
            "/v2/image/png/a?type=png",
            400,
            "type must be one of .png .jpg .jpeg .gif .webp, was png"),
        Arguments.of(
            "GET",
            "/v2/image/png/" + "i".repeat(201),
            400,
            "id must be at most 200 characters, was 201"),
        Arguments.of("GET", "/v2/blob/a", 400, "size is required"),
        Arguments.of(
            "GET",
            "/v2/blob/a?size=67108865",
            400,
            "size must be an integer in 0..67108864, was 67108865"));
  }

  @ParameterizedTest(name = "{0} with {1}")
  @MethodSource("typeFallback")
  void typeIsHonouredOnlyWhenWritable(String target, Set<Format> writable, Format expected)
      throws Exception {
    assertEquals(expected, ((Image) parse("GET", target, writable)).format());
  }

  static Stream<Arguments> typeFallback() {
    return Stream.of(
        Arguments.of("/v2/image/png/a?type=.webp", EnumSet.allOf(Format.class), Format.WEBP),
        Arguments.of("/v2/image/png/a?type=.webp", JDK, Format.PNG),
        Arguments.of("/v2/image/gif/a?type=.jpg", EnumSet.of(Format.GIF), Format.GIF));
  }

  /** Splits a target the way Undertow does for these simple, unencoded cases. */
  private static SampleRequest parse(String method, String target, Set<Format> writable)
      throws RejectedException {
    int q = target.indexOf('?');
    String path = q < 0 ? target : target.substring(0, q);
    Map<String, Deque<String>> query = new LinkedHashMap<>();
    if (q >= 0) {
      for (String pair : List.of(target.substring(q + 1).split("&"))) {
        int eq = pair.indexOf('=');
        String name = eq < 0 ? pair : pair.substring(0, eq);
        String value = eq < 0 ? "" : pair.substring(eq + 1);
        query.computeIfAbsent(name, n -> new ArrayDeque<>()).add(value);
      }
    }
    return SampleRequest.parse(method, path, query, writable);
  }
}
