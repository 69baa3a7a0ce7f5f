package io.imgcache.key;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class KeyPolicyTest {
  private static final KeyPolicy SORTED = new KeyPolicy(true, List.of(), 2048);
  private static final KeyPolicy UNSORTED = new KeyPolicy(false, List.of(), 2048);

  private static KeyPolicy policy(boolean sort, String ignored) {
    List<String> ignore = ignored == null ? List.of() : Arrays.asList(ignored.split(";"));
    return new KeyPolicy(sort, ignore, 2048);
  }

  /** sort | ignore-params (';'-separated) | path | query (NULL = none) | key. */
  @ParameterizedTest(name = "[{index}] sort={0} ignore={1} {2} ? {3} -> {4}")
  @CsvSource(delimiter = '|', nullValues = "NULL", emptyValue = "", textBlock = """
      true  | NULL         | /v2/image/png/003 | NULL                | /v2/image/png/003
      true  | NULL         | /v2/image/png/003 | ''                  | /v2/image/png/003
      false | NULL         | /a                | ''                  | /a
      true  | NULL         | /a                | w=850&h=200         | /a?h=200&w=850
      true  | NULL         | /a                | h=200&w=850         | /a?h=200&w=850
      false | NULL         | /a                | w=850&h=200         | /a?w=850&h=200
      false | NULL         | /a                | h=200&w=850         | /a?h=200&w=850
      true  | NULL         | /a                | a=2&b=1&a=1         | /a?a=2&a=1&b=1
      true  | NULL         | /a                | a=1&b=1&a=2         | /a?a=1&a=2&b=1
      false | NULL         | /a                | a=2&b=1&a=1         | /a?a=2&b=1&a=1
      true  | NULL         | /a                | a=1&&b=2            | /a?a=1&b=2
      true  | NULL         | /a                | &a=1&               | /a?a=1
      true  | NULL         | /a                | &&                  | /a
      false | NULL         | /a                | b=2&&a=1            | /a?b=2&a=1
      true  | NULL         | /a                | flag&w=1            | /a?flag&w=1
      true  | NULL         | /a                | w=1&flag            | /a?flag&w=1
      true  | NULL         | /a                | w=a%20b&h=%C3%A9    | /a?h=%C3%A9&w=a%20b
      true  | cb           | /a                | w=1&cb=123&h=2      | /a?h=2&w=1
      false | cb           | /a                | w=1&cb=123&h=2      | /a?w=1&h=2
      true  | cb           | /a                | cb=1                | /a
      true  | cb           | /a                | cb                  | /a
      true  | cb           | /a                | cb=1&cb=2&w=3       | /a?w=3
      true  | cb           | /a                | %63b=1&w=3          | /a?w=3
      true  | cb           | /a                | c%62=1&w=3          | /a?w=3
      true  | cb           | /a                | %63%62=1&w=3        | /a?w=3
      true  | cb           | /a                | cbx=1&xcb=2         | /a?cbx=1&xcb=2
      true  | cb           | /a                | CB=1                | /a?CB=1
      true  | cb           | /a                | w=cb                | /a?w=cb
      true  | cache buster | /a                | cache+buster=1&w=1  | /a?w=1
      true  | cache buster | /a                | cache%20buster=1    | /a
      true  | cb;_         | /a                | _=99&cb=1&w=1       | /a?w=1
      true  | NULL         | /a%2Fb/c          | NULL                | /a%2Fb/c
      true  | NULL         | /v2/image/png/003 | w=850&h=200&type=.png | /v2/image/png/003?h=200&type=.png&w=850
      """)
  void normalises(boolean sort, String ignored, String path, String query, String key) {
    assertEquals(key, policy(sort, ignored).keyFor(path, query));
  }

  @Test
  void orderOfParametersDoesNotMatterWhenSorting() {
    assertEquals(SORTED.keyFor("/img", "w=1&h=2"), SORTED.keyFor("/img", "h=2&w=1"));
  }

  @Test
  void sortIsStableSoSameNameParametersKeepTheirOrder() {
    // a=1&a=2 and a=2&a=1 are different resources (an origin may read the first, the last, or all).
    assertEquals("/img?a=2&a=1&b=1", SORTED.keyFor("/img", "b=1&a=2&a=1"));
    assertEquals("/img?a=1&a=2&b=1", SORTED.keyFor("/img", "a=1&b=1&a=2"));
  }

  @Test
  void orderOfParametersMattersWithoutSorting() {
    assertEquals("/img?w=1&h=2", UNSORTED.keyFor("/img", "w=1&h=2"));
    assertEquals("/img?h=2&w=1", UNSORTED.keyFor("/img", "h=2&w=1"));
  }

  static Stream<Arguments> badTargets() {
    return Stream.of(
        // Not origin-form: no open proxy.
        Arguments.of("http://other-host/a", null),
        Arguments.of("https://other-host/a", "x=1"),
        Arguments.of("a/b", null),
        Arguments.of("", null),
        Arguments.of("*", null),
        // Broken percent-encoding, in the path and in the query.
        Arguments.of("/a%zz", null),
        Arguments.of("/a%2", null),
        Arguments.of("/a%", null),
        Arguments.of("/a%2g/b", null),
        Arguments.of("/a", "w=%zz"),
        Arguments.of("/a", "w=%2"),
        Arguments.of("/a", "w=1%"),
        // Encoded control characters.
        Arguments.of("/a%00", null),
        Arguments.of("/a%1F", null),
        Arguments.of("/a%1f", null),
        Arguments.of("/a%0D%0AX-Injected:%201", null),
        Arguments.of("/a%7F", null),
        Arguments.of("/a", "w=%00"),
        Arguments.of("/a", "w=%0a"),
        // Raw control characters, space, DEL.
        Arguments.of("/a\u0000", null),
        Arguments.of("/a\u001f", null),
        Arguments.of("/a\tb", null),
        Arguments.of("/a\r\nX: y", null),
        Arguments.of("/a b", null),
        Arguments.of("/a\u007f", null),
        Arguments.of("/a", "w=1 2"),
        Arguments.of("/a", "w=\n"),
        // Non-ASCII.
        Arguments.of("/caf\u00e9", null),
        Arguments.of("/a", "w=\u00e9"),
        Arguments.of("/\u4e2d", null),
        Arguments.of("/a\ud83d\ude00", null),
        // Non-ASCII "hex digits": Character.digit accepts them, HTTP does not.
        Arguments.of("/a%\u0663\u0663", null),
        Arguments.of("/a%\uff21\uff21", null),
        Arguments.of("/a", "w=%\u0664\u0661"));
  }

  @ParameterizedTest
  @MethodSource("badTargets")
  void badTargetIs400(String path, String query) {
    InvalidKeyException e = assertThrows(InvalidKeyException.class, () -> SORTED.keyFor(path, query));
    assertEquals(400, e.status(), e.getMessage());
  }

  @ParameterizedTest
  @ValueSource(strings = {"/a%20b", "/a%7E", "/a%C3%A9", "/a%2F%2f", "/a%FF", "/~user/!$'()*+,;=:@"})
  void wellFormedEncodingIsAccepted(String path) {
    assertEquals(path, SORTED.keyFor(path, null));
  }

  @ParameterizedTest(name = "[{index}] max-length {0}")
  @ValueSource(ints = {64, 100, 2048})
  void keyOfExactlyMaxLengthPassesAndOneMoreIs414(int maxLength) {
    KeyPolicy policy = new KeyPolicy(true, List.of(), maxLength);

    String path = "/" + "p".repeat(maxLength - 1);
    assertEquals(path, policy.keyFor(path, null));
    InvalidKeyException e = assertThrows(InvalidKeyException.class, () -> policy.keyFor(path + "p", null));
    assertEquals(414, e.status());

    // The query counts too, with its '?'.
    String base = "/img";
    String query = "w=" + "1".repeat(maxLength - base.length() - 3);
    assertEquals(maxLength, policy.keyFor(base, query).length());
    e = assertThrows(InvalidKeyException.class, () -> policy.keyFor(base, query + "1"));
    assertEquals(414, e.status());
  }

  @Test
  void maxLengthMustBePositive() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> new KeyPolicy(true, List.of(), 0));
    assertEquals("maxLength must be positive, was 0", e.getMessage());
    assertEquals(2048, SORTED.maxLength());
  }

  /**
   * Random queries (empty, repeated and ignored parameters, names that share a start, encoded
   * names) give what the rule says, written out as plainly as possible: split on '&', drop empty
   * and ignored parameters, sort stably by name when sorting, join.
   */
  @Test
  void randomQueriesNormaliseAsTheRuleSays() {
    java.util.Random random = new java.util.Random(3);
    String[] names = {"w", "h", "type", "t", "w2", "a", "%61", "utm_source", "q", ""};
    List<String> ignore = List.of("utm_source", "a");
    for (boolean sort : new boolean[] {true, false}) {
      KeyPolicy policy = new KeyPolicy(sort, ignore, 2048);
      for (int round = 0; round < 3_000; round++) {
        StringBuilder query = new StringBuilder();
        int params = random.nextInt(round % 10 == 0 ? 40 : 6); // now and then many: the sort for those
        for (int p = 0; p < params; p++) {
          if (p > 0) {
            query.append('&');
          }
          query.append(names[random.nextInt(names.length)]);
          if (random.nextInt(4) > 0) {
            query.append('=').append(random.nextInt(3));
          }
        }
        List<String> kept = new java.util.ArrayList<>();
        for (String param : query.toString().split("&", -1)) {
          String name = param.contains("=") ? param.substring(0, param.indexOf('=')) : param;
          if (!param.isEmpty() && !ignore.contains(name.replace("%61", "a"))) {
            kept.add(param);
          }
        }
        if (sort) {
          kept.sort(java.util.Comparator.comparing(p -> p.contains("=") ? p.substring(0, p.indexOf('=')) : p));
        }
        String expected = kept.isEmpty() ? "/i" : "/i?" + String.join("&", kept);
        assertEquals(expected, policy.keyFor("/i", query.toString()), "query " + query);
      }
    }
  }
}
