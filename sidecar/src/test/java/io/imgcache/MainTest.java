package io.imgcache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

/** The command line, minus the commands that run until stopped (run, demo, sample-origin's server). */
class MainTest {
  @TempDir
  Path dir;

  /** The exit status and what was printed, of one {@link Main#run}. */
  private record Outcome(int status, String out, String err) {
    long errLines() {
      return err.lines().count();
    }
  }

  private static Outcome run(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int status;
    try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
        PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
      status = Main.run(args, o, e);
    }
    return new Outcome(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  private Path file(String hocon) throws Exception {
    Path file = Files.createTempFile(dir, "imgcache", ".conf");
    Files.writeString(file, hocon, StandardCharsets.UTF_8);
    return file;
  }

  static Stream<Arguments> badArguments() {
    return Stream.of(
        Arguments.of((Object) new String[] {}),
        Arguments.of((Object) new String[] {"frobnicate"}),
        Arguments.of((Object) new String[] {"--config", "x.conf"}),
        Arguments.of((Object) new String[] {"version", "--verbose", "yes"}),
        Arguments.of((Object) new String[] {"version", "extra"}),
        Arguments.of((Object) new String[] {"check-config", "--conf", "x.conf"}),
        Arguments.of((Object) new String[] {"check-config", "--config"}),
        Arguments.of((Object) new String[] {"run", "--port", "9000"}),
        Arguments.of((Object) new String[] {"demo", "--config", "x.conf"}),
        Arguments.of((Object) new String[] {"sample-origin", "--port", "abc"}),
        Arguments.of((Object) new String[] {"sample-origin", "--port", "70000"}),
        Arguments.of((Object) new String[] {"sample-origin", "--port=-1"}),
        Arguments.of((Object) new String[] {"sample-origin", "--delay", "xyz"}),
        Arguments.of((Object) new String[] {"sample-origin", "--port", "0", "--delay", "soon"}),
        Arguments.of((Object) new String[] {"sample-origin", "--config", "x.conf"}),
        Arguments.of((Object) new String[] {"status"}),
        Arguments.of((Object) new String[] {"status", "--json"}),
        Arguments.of((Object) new String[] {"status", "--url", "127.0.0.1:9000"}),
        Arguments.of((Object) new String[] {"status", "--url", "ftp://127.0.0.1:9000"}),
        Arguments.of((Object) new String[] {"status", "--url", "http://127.0.0.1:9000/_imgcache/cluster"}),
        Arguments.of((Object) new String[] {"status", "--url", "http://127.0.0.1:9000", "--json=yes"}),
        Arguments.of((Object) new String[] {"status", "--url", "http://127.0.0.1:9000", "--config", "x.conf"}),
        Arguments.of((Object) new String[] {"status", "--url", "http://127.0.0.1:9000", "--token"}));
  }

  @ParameterizedTest
  @MethodSource("badArguments")
  void badArgumentsPrintUsageAndExit2(String[] args) {
    Outcome o = run(args);
    assertEquals(2, o.status(), o.err());
    assertTrue(o.err().contains(Main.USAGE), o.err());
    assertTrue(o.err().startsWith("imgcache: "), o.err());
    assertEquals("", o.out());
  }

  @Test
  void unknownCommandIsNamed() {
    assertTrue(run("frobnicate").err().contains("frobnicate"));
    assertTrue(run("version", "--verbose", "yes").err().contains("--verbose"));
    assertTrue(run("sample-origin", "--port", "abc").err().contains("abc"));
    assertTrue(run("sample-origin", "--delay", "xyz").err().contains("xyz"));
  }

  @Test
  void versionPrintsTheNameAndExits0() {
    Outcome o = run("version");
    assertEquals(0, o.status(), o.err());
    assertTrue(o.out().startsWith("imgcache "), o.out());
    assertEquals("", o.err());
  }

  @Test
  void statusOfANodeThatDoesNotAnswerIsOneLineAndExit1() throws Exception {
    int port;
    try (java.net.ServerSocket socket = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      port = socket.getLocalPort(); // closed again: nothing listens there now
    }
    String url = "http://127.0.0.1:" + port;
    for (String[] args : List.of(new String[] {"status", "--url", url}, new String[] {"status", "--json", "--url", url + "/"})) {
      Outcome o = run(args);
      assertEquals(1, o.status(), o.err());
      assertEquals("", o.out());
      assertEquals(1, o.errLines(), o.err());
      assertTrue(o.err().startsWith("imgcache: " + url + " does not answer: "), o.err());
    }
  }

  @Test
  void usageNamesStatus() {
    assertTrue(Main.USAGE.contains("imgcache status --url URL [--token T] [--json]"), Main.USAGE);
  }

  /** key | HOCON with a bad value for it. */
  @ParameterizedTest(name = "[{index}] {1}")
  @CsvSource(delimiter = '|', textBlock = """
      imgcache.cache.max-bytes   | imgcache.cache.max-bytes = -1
      imgcache.cache.max-byte    | imgcache.cache.max-byte = 64MiB
      imgcache.membership        | imgcache.membership = zookeeper
      imgcache.origin.url        | imgcache.origin.url = "http://127.0.0.1:8000/path"
      imgcache.health.interval   | imgcache { membership = etcd, etcd.lease-ttl = 2s }
      imgcache.etcd.endpoints    | imgcache.etcd.endpoints = ["http://bad host:2379"]
      """)
  void checkConfigWithABadValueIsOneLineNamingTheKey(String key, String hocon) throws Exception {
    Path file = file(hocon + "\n");
    Outcome o = run("check-config", "--config", file.toString());
    assertEquals(2, o.status(), o.err());
    assertEquals(1, o.errLines(), o.err());
    assertTrue(o.err().contains(key + ":"), o.err());
    assertFalse(o.err().contains("usage:"), "a bad config is not a usage error: " + o.err());
    assertFalse(o.out().contains("config OK"), o.out());
  }

  @Test
  void checkConfigWithAMissingFileIsOneLine() {
    Path missing = dir.resolve("missing.conf");
    Outcome o = run("check-config", "--config", missing.toString());
    assertEquals(2, o.status());
    assertEquals(1, o.errLines(), o.err());
    assertTrue(o.err().contains(missing.toString()), o.err());
  }

  @Test
  void checkConfigWithAGoodFilePrintsItAndMasksSecrets() throws Exception {
    String peerToken = "peer-s3cret-7f2a";
    String adminToken = "admin-s3cret-91bc";
    String etcdPassword = "etcd-s3cret-55de";
    Path file = file("""
        imgcache {
          listen.port = 9123
          peers { token = "%s", static = ["http://10.0.0.1:9000"] }
          admin.token = "%s"
          etcd.password = "%s"
        }
        """.formatted(peerToken, adminToken, etcdPassword));

    Outcome o = run("check-config", "--config", file.toString());
    assertEquals(0, o.status(), o.err());
    assertTrue(o.out().contains("config OK"), o.out());
    assertTrue(o.out().contains("9123"), o.out());
    assertTrue(o.out().contains("http://10.0.0.1:9000"), o.out());
    assertFalse(o.out().contains(peerToken), o.out());
    assertFalse(o.out().contains(adminToken), o.out());
    assertFalse(o.out().contains(etcdPassword), o.out());
    assertTrue(o.out().contains("********"), o.out());
    assertEquals("", o.err());
  }

  @Test
  void checkConfigAcceptsTheEqualsForm() throws Exception {
    Path file = file("imgcache.listen.port = 9124\n");
    Outcome o = run("check-config", "--config=" + file);
    assertEquals(0, o.status(), o.err());
    assertTrue(o.out().contains("9124"), o.out());
  }

  @Test
  void checkConfigLeavesEmptySecretsVisibleAsEmpty() throws Exception {
    Path file = file("imgcache.listen.port = 9125\n");
    Outcome o = run("check-config", "--config", file.toString());
    assertEquals(0, o.status(), o.err());
    assertFalse(o.out().contains("********"), "nothing to mask: " + o.out());
  }
}
