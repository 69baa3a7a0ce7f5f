package io.imgcache.metrics;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.any;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathEqualTo;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathMatching;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.wireMockConfig;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.github.tomakehurst.wiremock.WireMockServer;
import com.typesafe.config.ConfigFactory;
import io.imgcache.Node;
import io.imgcache.config.ImgcacheConfig;
import io.imgcache.membership.EtcdExtension;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every metric the shipped Prometheus rules and Grafana dashboard name exists in what a node
 * exports: two etcd-membership nodes and a registered member that never answers, driven until the
 * labelled families (peer fetches, health transitions, origin errors, refusals) have series. Only
 * when they all do, writes that scrape to {@code target/monitoring/metrics.txt}, where
 * packaging/check-monitoring runs {@code promtool check metrics} on it (and takes the file for this
 * test's success).
 */
class MonitoringNamesTest {
  static final Path PACKAGING = Path.of("..", "packaging");
  static final Path RULES = PACKAGING.resolve("prometheus/imgcache-rules.yml");
  static final Path DASHBOARD = PACKAGING.resolve("grafana/imgcache.json");
  static final Path SCRAPE = Path.of("target", "monitoring", "metrics.txt");

  /**
   * A metric name where a query or annotation uses one: not part of a recorded name
   * ({@code job:imgcache_hit_ratio:ratio_rate5m}) nor of a path ({@code /_imgcache/metrics}).
   */
  private static final Pattern USED = Pattern.compile("(?<![\\w:])((?:imgcache|jvm|process)_[a-z0-9_]+)(?![\\w:])");
  private static final Duration TIMEOUT = Duration.ofSeconds(30);

  @RegisterExtension
  static final EtcdExtension etcd = EtcdExtension.single();

  @TempDir
  Path disk;
  private WireMockServer origin;
  private final List<Node> nodes = new ArrayList<>();
  private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(5)).build();

  @BeforeEach
  void startOrigin() {
    origin = new WireMockServer(wireMockConfig().bindAddress("127.0.0.1").dynamicPort());
    origin.start();
    origin.stubFor(get(urlPathMatching("/img/.*")).willReturn(aResponse().withStatus(200)
        .withHeader("Content-Type", "image/png").withHeader("Cache-Control", "max-age=3600")
        .withBody(new byte[2048])));
    origin.stubFor(get(urlPathEqualTo("/broken")).willReturn(aResponse().withStatus(500).withBody("down")));
    origin.stubFor(any(urlPathEqualTo("/upload")).willReturn(aResponse().withStatus(201)));
  }

  @AfterEach
  void stop() {
    nodes.forEach(Node::close);
    origin.stop();
  }

  @Test
  void everyMetricTheRulesAndTheDashboardNameIsExported() throws IOException, InterruptedException {
    Files.deleteIfExists(SCRAPE);
    Set<String> used = new TreeSet<>(usedNames(RULES));
    used.addAll(usedNames(DASHBOARD));
    assertTrue(used.containsAll(Set.of("imgcache_ready", "imgcache_peer_healthy", "imgcache_etcd_up",
        "imgcache_request_duration_seconds_bucket")), "the name pattern finds the names: " + used);

    // A member registered in etcd that never answers: held unhealthy (imgcache_peer_healthy 0, a
    // health transition).
    String dead = "http://127.0.0.1:" + freePort();
    etcd.cluster().etcdctl("put", "/imgcache2/nodes/" + dead.replace('/', '_'), dead).checkOk();
    Node a = start();
    Node b = start();
    awaitMembers(a, b);

    for (int round = 0; round < 2; round++) { // MISS and PEER (fetches from b), then HIT and HIT-HOT
      for (int i = 0; i < 30; i++) {
        send(a, HttpRequest.newBuilder(uri(a, "/img/" + i)).GET());
      }
    }
    for (int i = 0; i < 20; i++) { // some owned by a: imgcache_origin_errors_total{reason="status"}
      send(a, HttpRequest.newBuilder(uri(a, "/broken?i=" + i)).GET());
    }
    send(a, HttpRequest.newBuilder(uri(a, "/upload")).POST(HttpRequest.BodyPublishers.ofString("x")));
    refuseUnknownVersion(a); // imgcache_refused_requests_total{code="505"}

    long deadline = System.nanoTime() + TIMEOUT.toNanos();
    Set<String> missing;
    String scrape;
    do {
      scrape = scrape(a);
      missing = new TreeSet<>(used);
      missing.removeAll(exported(scrape));
      if (!missing.isEmpty()) {
        Thread.sleep(50); // a poll interval: the dead member's health transition comes within ~1 s
      }
    } while (!missing.isEmpty() && System.nanoTime() - deadline < 0);
    if (!missing.isEmpty()) {
      fail("named in " + RULES + " or " + DASHBOARD + " but not exported by a node: " + missing
          + "\nThe node's scrape:\n" + scrape);
    }
    assertTrue(a.ready(), "node a ready");
    assertTrue(scrape.contains("\nimgcache_ready 1.0\n"), "imgcache_ready follows /_imgcache/readyz");
    Files.createDirectories(SCRAPE.getParent());
    Files.writeString(SCRAPE, scrape);
  }

  /** Every metric name {@code file} uses, as {@link #USED} finds them. */
  static Set<String> usedNames(Path file) throws IOException {
    if (!Files.isRegularFile(file)) {
      fail(file.toAbsolutePath() + " not found (the test runs in sidecar/, next to packaging/)");
    }
    Set<String> names = new TreeSet<>();
    Matcher m = USED.matcher(Files.readString(file));
    while (m.find()) {
      names.add(m.group(1));
    }
    return names;
  }

  /** The sample names and the family names ({@code # TYPE} lines) of a scrape. */
  static Set<String> exported(String scrape) {
    Set<String> names = new TreeSet<>();
    for (String line : scrape.split("\n")) {
      if (line.startsWith("# TYPE ")) {
        names.add(line.split(" ")[2]);
      } else if (!line.isEmpty() && !line.startsWith("#")) {
        names.add(line.split("[{ ]", 2)[0]);
      }
    }
    return names;
  }

  private Node start() {
    int port = freePort();
    Map<String, Object> settings = new HashMap<>();
    settings.put("imgcache.listen.host", "127.0.0.1");
    settings.put("imgcache.listen.port", port);
    settings.put("imgcache.self-url", "http://127.0.0.1:" + port);
    settings.put("imgcache.origin.url", "http://127.0.0.1:" + origin.port());
    settings.put("imgcache.membership", "etcd");
    settings.put("imgcache.etcd.endpoints", etcd.cluster().endpoints());
    settings.put("imgcache.health.interval", "200ms");
    settings.put("imgcache.health.timeout", "200ms");
    settings.put("imgcache.shutdown.deregister-wait", "0s");
    settings.put("imgcache.shutdown.drain-timeout", "2s");
    // The disk tier on, so that its metrics (the dashboard's disk row) are exported too.
    settings.put("imgcache.cache.disk.path", disk.resolve(Integer.toString(port)).toString());
    Node node = Node.start(ImgcacheConfig.from(ConfigFactory.parseMap(settings)
        .withFallback(ConfigFactory.defaultReference()).resolve()));
    nodes.add(node);
    return node;
  }

  private static void awaitMembers(Node a, Node b) throws InterruptedException {
    long deadline = System.nanoTime() + TIMEOUT.toNanos();
    while (!(a.ready() && b.ready() && a.cluster().snapshot().members().contains(b.cluster().self()))) {
      if (System.nanoTime() - deadline > 0) {
        fail("a did not see b through etcd within " + TIMEOUT + ": " + a.cluster().snapshot().members());
      }
      Thread.sleep(20);
    }
  }

  private static URI uri(Node node, String target) {
    return URI.create(node.cluster().self() + target);
  }

  private String scrape(Node node) throws IOException, InterruptedException {
    HttpResponse<String> response = send(node, HttpRequest.newBuilder(uri(node, "/_imgcache/metrics")).GET());
    assertEquals(200, response.statusCode(), "/_imgcache/metrics");
    return response.body();
  }

  private HttpResponse<String> send(Node node, HttpRequest.Builder request) throws IOException, InterruptedException {
    return http.send(request.timeout(TIMEOUT).build(), HttpResponse.BodyHandlers.ofString());
  }

  private static void refuseUnknownVersion(Node node) throws IOException {
    try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), node.port())) {
      socket.setSoTimeout((int) TIMEOUT.toMillis());
      OutputStream out = socket.getOutputStream();
      out.write("GET /img/0 HTTP/3.0\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
      out.flush();
      String status = new String(socket.getInputStream().readNBytes(12), StandardCharsets.ISO_8859_1);
      assertEquals("HTTP/1.1 505", status, "HTTP/3.0 refused");
    }
  }

  private static int freePort() {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }
}
