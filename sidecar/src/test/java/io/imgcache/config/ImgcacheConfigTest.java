package io.imgcache.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.net.InetAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class ImgcacheConfigTest {
  private static final long MIB = 1024 * 1024;

  @TempDir
  Path dir;

  /** {@code hocon} over reference.conf, as {@link ImgcacheConfig#from} sees it. */
  private static Config config(String hocon) {
    return ConfigFactory.parseString(hocon).withFallback(ConfigFactory.defaultReference()).resolve();
  }

  private static ImgcacheConfig parse(String hocon) {
    return ImgcacheConfig.from(config(hocon));
  }

  private Path file(String hocon) throws Exception {
    Path file = Files.createTempFile(dir, "imgcache", ".conf");
    Files.writeString(file, hocon, StandardCharsets.UTF_8);
    return file;
  }

  /** Runs {@code action} with system property {@code name} = {@code value}, seen by typesafe-config. */
  private static <T> T withSystemProperty(String name, String value, Supplier<T> action) {
    String before = System.getProperty(name);
    System.setProperty(name, value);
    ConfigFactory.invalidateCaches();
    try {
      return action.get();
    } finally {
      if (before == null) {
        System.clearProperty(name);
      } else {
        System.setProperty(name, before);
      }
      ConfigFactory.invalidateCaches();
    }
  }

  @Test
  void defaultsAreTheDesignValues() {
    ImgcacheConfig c = ImgcacheConfig.from(ConfigFactory.defaultReference());

    assertEquals(new ImgcacheConfig.Listen("0.0.0.0", 9000, 8192, 0), c.listen());
    assertEquals(Runtime.getRuntime().availableProcessors(), c.listen().ioThreadCount(), "0: one per core");
    assertEquals(3, parse("imgcache.listen.io-threads = 3").listen().ioThreadCount());
    assertEquals("imgcache2", c.group());
    assertEquals(new ImgcacheConfig.Origin(URI.create("http://127.0.0.1:8000"), Duration.ofSeconds(1),
        Duration.ofSeconds(10), 64, 1024, Duration.ofSeconds(10)), c.origin());
    assertEquals(Duration.ofSeconds(22), c.peers().timeout(), "covers an owner's queue + connect + response");

    ImgcacheConfig.Cache cache = c.cache();
    assertEquals(64 * MIB, cache.maxBytes());
    assertEquals(0.125, cache.hotFraction());
    assertEquals(8 * MIB, cache.maxObjectSize());
    assertEquals(Duration.ZERO, cache.defaultTtl());
    assertEquals(true, cache.implicitFreshness());
    assertEquals(List.of("image/avif", "image/webp"), cache.varyAcceptFormats());
    assertEquals(false, cache.passRequestCookies());
    assertEquals(Duration.ZERO, cache.negativeTtl());
    assertEquals(Duration.ofHours(1), cache.banLifetime());
    assertEquals(new ImgcacheConfig.Key(true, List.of(), 2048), cache.key());
    assertEquals(8 * MIB, cache.hotBytes());
    assertEquals(56 * MIB, cache.mainBytes());

    assertEquals(new ImgcacheConfig.RingSettings(160, Duration.ofSeconds(30)), c.ring());
    assertEquals(ImgcacheConfig.Membership.STATIC, c.membership());
    assertEquals(new ImgcacheConfig.Peers(List.of(), "", Duration.ofSeconds(2), Duration.ofSeconds(22),
        new ImgcacheConfig.Pool(32, 32, Duration.ofMillis(200), Duration.ofSeconds(60))), c.peers());
    assertEquals(new ImgcacheConfig.Etcd(List.of(URI.create("http://127.0.0.1:2379")), "/imgcache2/nodes/",
        "/imgcache2/bans/", Duration.ofSeconds(10), "", "", "", "", ""), c.etcd());
    assertEquals(new ImgcacheConfig.Health(Duration.ofSeconds(1), Duration.ofMillis(500), 3, 2, 32), c.health());
    assertEquals(new ImgcacheConfig.Shutdown(Duration.ofSeconds(2), Duration.ofSeconds(10)), c.shutdown());
    assertEquals("", c.adminToken());
  }

  @Test
  void selfUrlDefaultsToHostnameAndListenPort() throws Exception {
    ImgcacheConfig c = parse("imgcache.listen.port = 9555");
    assertEquals(URI.create("http://" + InetAddress.getLocalHost().getHostName() + ":9555"), c.selfUrl());
  }

  @Test
  void explicitSelfUrlIsNormalisedToSchemeHostPort() {
    assertEquals(URI.create("http://10.0.0.7:9000"), parse("imgcache.self-url = \"http://10.0.0.7:9000/\"").selfUrl());
    assertEquals(URI.create("http://node-a:80"), parse("imgcache.self-url = \"http://node-a\"").selfUrl());
  }

  @Test
  void peersStaticAreParsedAndDeduplicated() {
    ImgcacheConfig c = parse("imgcache.peers.static = [\"http://a:9000\", \"http://b:9000/\", \"http://a:9000\"]");
    assertEquals(List.of(URI.create("http://a:9000"), URI.create("http://b:9000")), c.peers().staticMembers());
  }

  /** key | HOCON that makes that key invalid (the rest is reference.conf). */
  @ParameterizedTest(name = "[{index}] {1}")
  @CsvSource(delimiter = '|', textBlock = """
      imgcache.listen.port                    | imgcache.listen.port = -1
      imgcache.listen.port                    | imgcache.listen.port = 65536
      imgcache.listen.port                    | imgcache.listen.port = abc
      imgcache.origin.url                     | imgcache.origin.url = "https://127.0.0.1:8000"
      imgcache.origin.url                     | imgcache.origin.url = "ftp://127.0.0.1:8000"
      imgcache.origin.url                     | imgcache.origin.url = "127.0.0.1:8000"
      imgcache.origin.url                     | imgcache.origin.url = "http://127.0.0.1:8000/imgfit"
      imgcache.origin.url                     | imgcache.origin.url = "http://127.0.0.1:8000?x=1"
      imgcache.origin.url                     | imgcache.origin.url = "http://user@127.0.0.1:8000"
      imgcache.origin.url                     | imgcache.origin.url = "http://bad host:8000"
      imgcache.origin.url                     | imgcache.origin.url = "http://"
      imgcache.origin.connect-timeout         | imgcache.origin.connect-timeout = 0s
      imgcache.origin.connect-timeout         | imgcache.origin.connect-timeout = -1s
      imgcache.origin.timeout                 | imgcache.origin.timeout = 0
      imgcache.origin.timeout                 | imgcache.origin.timeout = soon
      imgcache.origin.max-connections         | imgcache.origin.max-connections = 0
      imgcache.origin.max-connections         | imgcache.origin.max-connections = 10001
      imgcache.origin.max-queued              | imgcache.origin.max-queued = -1
      imgcache.origin.queue-timeout           | imgcache.origin.queue-timeout = 0s
      imgcache.peers.timeout                  | imgcache.origin.queue-timeout = 12s
      imgcache.peers.timeout                  | imgcache.peers.timeout = 20s
      imgcache.peers.timeout                  | imgcache.origin.timeout = 30s
      imgcache.listen.max-header-line         | imgcache.listen.max-header-line = 100
      imgcache.listen.max-header-line         | imgcache.listen.max-header-line = 64KiB
      imgcache.listen.io-threads              | imgcache.listen.io-threads = -1
      imgcache.listen.io-threads              | imgcache.listen.io-threads = 257
      imgcache.cache.max-bytes                | imgcache.cache.max-bytes = 0
      imgcache.cache.max-bytes                | imgcache.cache.max-bytes = -1
      imgcache.cache.max-bytes                | imgcache.cache.max-bytes = 1000
      imgcache.cache.max-bytes                | imgcache.cache.max-bytes = lots
      imgcache.cache.hot-fraction             | imgcache.cache.hot-fraction = 0.51
      imgcache.cache.hot-fraction             | imgcache.cache.hot-fraction = -0.1
      imgcache.cache.hot-fraction             | imgcache.cache.hot-fraction = half
      imgcache.cache.max-object-size          | imgcache.cache.max-object-size = 0
      imgcache.cache.ban-lifetime             | imgcache.cache.ban-lifetime = 0s
      imgcache.cache.max-object-size          | imgcache.cache { max-bytes = 2MiB, max-object-size = 1048577 }
      imgcache.cache.max-object-size          | imgcache.cache.max-object-size = 33MiB
      imgcache.cache.ttl                      | imgcache.cache.ttl = -1s
      imgcache.cache.negative-ttl             | imgcache.cache.negative-ttl = -5s
      imgcache.cache.key.sort-query           | imgcache.cache.key.sort-query = maybe
      imgcache.cache.key.max-length           | imgcache.cache.key.max-length = 63
      imgcache.cache.key.max-length           | imgcache.cache.key.max-length = 65537
      imgcache.ring.vnodes                    | imgcache.ring.vnodes = 0
      imgcache.ring.warmup-window             | imgcache.ring.warmup-window = -1s
      imgcache.membership                     | imgcache.membership = zookeeper
      imgcache.self-url                       | imgcache.self-url = "node-a:9000"
      imgcache.self-url                       | imgcache.self-url = "http://node-a:9000/x"
      imgcache.self-url                       | imgcache.self-url = "https://node-a:9000"
      imgcache.peers.static                   | imgcache.peers.static = ["http://a:9000", "b:9000"]
      imgcache.peers.static                   | imgcache.peers.static = ["https://a:9000"]
      imgcache.peers.static                   | imgcache.peers.static = ["http://a:9000/_groupcache"]
      imgcache.peers.connect-timeout          | imgcache.peers.connect-timeout = 0ms
      imgcache.peers.timeout                  | imgcache.peers.timeout = -2s
      imgcache.peers.pool.max-per-peer        | imgcache.peers.pool.max-per-peer = 0
      imgcache.peers.pool.max-idle-per-peer   | imgcache.peers.pool.max-idle-per-peer = 33
      imgcache.peers.pool.max-idle-per-peer   | imgcache.peers.pool.max-idle-per-peer = -1
      imgcache.peers.pool.borrow-timeout      | imgcache.peers.pool.borrow-timeout = 0ms
      imgcache.peers.pool.idle-timeout        | imgcache.peers.pool.idle-timeout = 0s
      imgcache.etcd.endpoints                 | imgcache.etcd.endpoints = ["127.0.0.1:2379"]
      imgcache.etcd.endpoints                 | imgcache.etcd.endpoints = ["unix:///run/etcd.sock"]
      imgcache.etcd.endpoints                 | imgcache.etcd { endpoints = [] }, imgcache.membership = etcd
      imgcache.etcd.prefix                    | imgcache.etcd.prefix = "nodes/"
      imgcache.etcd.prefix                    | imgcache.etcd.prefix = "/nodes"
      imgcache.etcd.bans-prefix               | imgcache.etcd.bans-prefix = "/imgcache2/nodes/bans/"
      imgcache.etcd.bans-prefix               | imgcache.etcd.bans-prefix = "bans"
      imgcache.etcd.lease-ttl                 | imgcache.etcd.lease-ttl = 0s
      imgcache.health.interval                | imgcache.health.interval = 0s
      imgcache.health.timeout                 | imgcache.health.timeout = 0s
      imgcache.health.unhealthy-threshold     | imgcache.health.unhealthy-threshold = 0
      imgcache.health.healthy-threshold       | imgcache.health.healthy-threshold = 101
      imgcache.health.interval                | imgcache { membership = etcd, etcd.lease-ttl = 3s }
      imgcache.health.interval                | imgcache { membership = etcd, etcd.lease-ttl = 3500ms }
      imgcache.health.interval                | imgcache { membership = etcd, health { interval = 3s, unhealthy-threshold = 4 } }
      imgcache.group                          | imgcache.group = "a/b"
      imgcache.group                          | imgcache.group = ""
      imgcache.group                          | imgcache.group = "_imgcache"
      imgcache.group                          | imgcache.group = "with space"
      imgcache.group                          | imgcache.group = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
      imgcache.shutdown.deregister-wait       | imgcache.shutdown.deregister-wait = -1s
      imgcache.shutdown.drain-timeout         | imgcache.shutdown.drain-timeout = -10s
      imgcache.admin.token                    | imgcache.admin.token = [a, b]
      """)
  void badValueIsRejectedNamingItsKey(String key, String hocon) {
    InvalidConfigException e = assertThrows(InvalidConfigException.class, () -> parse(hocon));
    assertEquals(key, e.key(), e.getMessage());
    assertTrue(e.getMessage().startsWith(key + ": "), e.getMessage());
  }

  /**
   * Endpoints that are not usable URLs must be an {@link InvalidConfigException} naming the key,
   * like every other bad value — not an {@code IllegalArgumentException} from {@code URI.create}
   * (which {@code check-config} would report as a usage error) and not accepted with no host.
   */
  @ParameterizedTest
  @ValueSource(strings = {"http://bad host:2379", "http://", "http://:2379", "https://etcd-1:port"})
  void badEtcdEndpointIsRejectedNamingItsKey(String endpoint) {
    InvalidConfigException e = assertThrows(InvalidConfigException.class,
        () -> parse("imgcache.etcd.endpoints = [\"" + endpoint + "\"]"));
    assertEquals("imgcache.etcd.endpoints", e.key());
    assertTrue(e.getMessage().startsWith("imgcache.etcd.endpoints: "), e.getMessage());
  }

  /** Values at the edge of what is allowed. */
  @ParameterizedTest
  @ValueSource(strings = {
      "imgcache.cache.hot-fraction = 0.5",
      "imgcache.cache.hot-fraction = 0",
      "imgcache.cache { max-bytes = 2MiB, max-object-size = 1MiB }",
      "imgcache.cache { max-bytes = 1MiB, max-object-size = 512KiB }",
      "imgcache.listen.port = 65535",
      "imgcache.cache.key.max-length = 64",
      "imgcache.peers.pool.max-idle-per-peer = 32",
      "imgcache.membership = etcd",
      // interval × unhealthy-threshold + timeout = 3.5s, just under the lease.
      "imgcache { membership = etcd, etcd.lease-ttl = 3501ms }",
      // The bound only matters when etcd leases exist.
      "imgcache { membership = static, etcd.lease-ttl = 1s }",
      "imgcache.etcd.endpoints = [\"https://etcd-1:2379\", \"http://10.0.0.1:2379\"]",
      "imgcache.group = \"img.cache-2_b\"",
  })
  void edgeValueIsAccepted(String hocon) {
    parse(hocon);
  }

  @Test
  void edgeValuesTakeEffect() {
    ImgcacheConfig c = parse("imgcache.cache { max-bytes = 2MiB, max-object-size = 1MiB, hot-fraction = 0.5 }");
    assertEquals(MIB, c.cache().maxObjectSize());
    assertEquals(MIB, c.cache().hotBytes());
    assertEquals(MIB, c.cache().mainBytes());
  }

  @ParameterizedTest
  @ValueSource(strings = {"imgcache.cache.max-byte", "imgcache.foo", "imgcache.listen.prot", "imgcache.etcd.tls.ca"})
  void unknownKeyIsAnErrorNamingIt(String key) {
    InvalidConfigException e = assertThrows(InvalidConfigException.class, () -> parse(key + " = 1"));
    assertEquals(key, e.key());
    assertTrue(e.getMessage().startsWith(key + ": "), e.getMessage());
  }

  @Test
  void unknownKeyInANewSectionIsAnErrorNamingIt() {
    InvalidConfigException e = assertThrows(InvalidConfigException.class, () -> parse("imgcache.foo { bar = 1 }"));
    assertTrue(e.key().startsWith("imgcache.foo"), e.key());
    assertTrue(e.getMessage().startsWith(e.key() + ": "), e.getMessage());
  }

  /** A typo set to null (e.g. {@code self-ur = null}) is still a typo: entrySet() skips nulls. */
  @Test
  void unknownKeySetToNullIsAnErrorNamingIt() {
    InvalidConfigException e = assertThrows(InvalidConfigException.class, () -> parse("imgcache.self-ur = null"));
    assertEquals("imgcache.self-ur", e.key());
  }

  @Test
  void keysOutsideImgcacheAreIgnored() {
    assertEquals(9000, parse("akka.foo = 1\nother { x = y }").listen().port());
  }

  @Test
  void fileOverridesReference() throws Exception {
    Path file = file("""
        imgcache {
          listen.port = 9001
          cache.max-bytes = 128MiB
          peers.static = ["http://10.0.0.1:9000", "http://10.0.0.2:9000"]
        }
        """);
    ImgcacheConfig c = ImgcacheConfig.load(file);
    assertEquals(9001, c.listen().port());
    assertEquals(128 * MIB, c.cache().maxBytes());
    assertEquals(List.of(URI.create("http://10.0.0.1:9000"), URI.create("http://10.0.0.2:9000")),
        c.peers().staticMembers());
    // Everything the file does not mention keeps its default.
    assertEquals("0.0.0.0", c.listen().host());
    assertEquals(8 * MIB, c.cache().maxObjectSize());
    assertEquals(9001, ImgcacheConfig.effective(file).getInt("imgcache.listen.port"));
  }

  @Test
  void loadWithoutFileIsTheDefaults() {
    assertEquals(ImgcacheConfig.from(ConfigFactory.defaultReference()).cache(), ImgcacheConfig.load(null).cache());
  }

  @Test
  void badValueInFileNamesTheKey() throws Exception {
    Path file = file("imgcache.cache.hot-fraction = 0.9\n");
    InvalidConfigException e = assertThrows(InvalidConfigException.class, () -> ImgcacheConfig.load(file));
    assertEquals("imgcache.cache.hot-fraction", e.key());
  }

  @Test
  void unknownKeyInFileIsAnError() throws Exception {
    Path file = file("imgcache.cache.max-byte = 1MiB\n");
    InvalidConfigException e = assertThrows(InvalidConfigException.class, () -> ImgcacheConfig.load(file));
    assertEquals("imgcache.cache.max-byte", e.key());
  }

  @Test
  void missingFileIsAnError() {
    Path missing = dir.resolve("no-such.conf");
    InvalidConfigException e = assertThrows(InvalidConfigException.class, () -> ImgcacheConfig.load(missing));
    assertTrue(e.getMessage().contains(missing.toString()), e.getMessage());
    assertThrows(InvalidConfigException.class, () -> ImgcacheConfig.effective(missing));
  }

  @Test
  void unreadableFileIsAnError() {
    // A directory: readable to Files.isReadable even as root, but not a config file.
    InvalidConfigException e = assertThrows(InvalidConfigException.class, () -> ImgcacheConfig.load(dir));
    assertTrue(e.getMessage().startsWith("imgcache: "), e.getMessage());
  }

  @Test
  void syntaxErrorInFileIsAnError() throws Exception {
    Path file = file("imgcache { listen { port = 9001 }\n");
    InvalidConfigException e = assertThrows(InvalidConfigException.class, () -> ImgcacheConfig.load(file));
    assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
  }

  @Test
  void systemPropertyOverridesFile() throws Exception {
    Path file = file("imgcache.listen.port = 9001\n");
    ImgcacheConfig c = withSystemProperty("imgcache.listen.port", "9123", () -> ImgcacheConfig.load(file));
    assertEquals(9123, c.listen().port());
    // And once it is gone, the file wins again.
    assertEquals(9001, ImgcacheConfig.load(file).listen().port());
  }

  @Test
  void badSystemPropertyNamesTheKey() {
    InvalidConfigException e = assertThrows(InvalidConfigException.class,
        () -> withSystemProperty("imgcache.cache.hot-fraction", "0.75", () -> ImgcacheConfig.load(null)));
    assertEquals("imgcache.cache.hot-fraction", e.key());
  }

  /**
   * {@code ConfigFactory.defaultReference()} includes system properties, so checking unknown keys
   * against it lets a mistyped {@code -Dimgcache...} through silently.
   */
  @Test
  void mistypedSystemPropertyIsAnUnknownKey() {
    InvalidConfigException e = assertThrows(InvalidConfigException.class,
        () -> withSystemProperty("imgcache.listen.prot", "9123", () -> ImgcacheConfig.load(null)));
    assertEquals("imgcache.listen.prot", e.key());
  }

  @Test
  void messageStartsWithTheKey() {
    InvalidConfigException e = new InvalidConfigException("imgcache.cache.max-bytes", "too big");
    assertEquals("imgcache.cache.max-bytes: too big", e.getMessage());
    assertFalse(e.getMessage().contains("\n"));
  }
}
