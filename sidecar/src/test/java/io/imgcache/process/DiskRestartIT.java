package io.imgcache.process;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.imgcache.membership.EtcdCluster;
import io.imgcache.sample.SampleOrigin;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 13, restart with the disk tier, as a process: a node killed with SIGKILL after its writes
 * landed comes back on the same directory and serves every key from disk ({@code X-Cache:
 * HIT-DISK}, exact bytes) without a single origin load.
 */
class DiskRestartIT {
  private static final Pattern LOADS = Pattern.compile(
      "^imgcache_origin_requests_total\\{kind=\"load\"} (\\S+)$", Pattern.MULTILINE);
  private static final Pattern WRITES = Pattern.compile("^imgcache_disk_writes_total (\\S+)$", Pattern.MULTILINE);

  @TempDir
  Path work;
  private EtcdCluster etcd;
  private SampleOrigin origin;
  private final List<NodeProcess> nodes = new ArrayList<>();
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  @BeforeEach
  void start() {
    NodeProcess.jar();
    etcd = EtcdCluster.start(1);
    origin = SampleOrigin.start("127.0.0.1", 0, Duration.ZERO);
  }

  @AfterEach
  void stop() {
    nodes.forEach(NodeProcess::close);
    origin.close();
    etcd.close();
  }

  private NodeProcess node(Path disk) throws Exception {
    NodeProcess node = NodeProcess.start("disk", etcd.endpoints(), "http://127.0.0.1:" + origin.port(),
        Files.createDirectories(work.resolve("logs")), http, List.of("-Dimgcache.cache.disk.path=" + disk));
    nodes.add(node);
    return node;
  }

  @Test
  void aNodeKilledWithSigkillServesItsKeysFromDiskAfterTheRestartWithoutOriginLoads() throws Exception {
    Path disk = work.resolve("disk");
    List<String> targets = new ArrayList<>();
    List<byte[]> bodies = new ArrayList<>();
    for (int i = 0; i < 30; i++) {
      String target = "/v2/image/png/restart-" + i + "?w=" + (40 + i) + "&h=30";
      targets.add(target);
      bodies.add(get("http://127.0.0.1:" + origin.port() + target).body());
    }
    NodeProcess first = node(disk);
    for (int i = 0; i < targets.size(); i++) {
      HttpResponse<byte[]> answer = get(first.url() + targets.get(i));
      assertEquals("MISS", answer.headers().firstValue("X-Cache").orElse(null), targets.get(i));
    }
    await("30 disk writes", () -> metric(first, WRITES) >= 30);
    first.signal("KILL");
    first.waitForExit(Duration.ofSeconds(10));
    // A host's restart reuses its self-url; this one comes back on another port, so the dead
    // registration goes now instead of when its lease lapses (etcd.lease-ttl).
    etcd.etcdctl("del", first.etcdKey()).checkOk();

    NodeProcess restarted = node(disk);
    for (int i = 0; i < targets.size(); i++) {
      HttpResponse<byte[]> answer = get(restarted.url() + targets.get(i));
      assertEquals(200, answer.statusCode(), targets.get(i));
      assertEquals("HIT-DISK", answer.headers().firstValue("X-Cache").orElse(null), targets.get(i));
      assertArrayEquals(bodies.get(i), answer.body(), targets.get(i));
    }
    assertEquals(0.0, metric(restarted, LOADS), "origin loads after the restart");
  }

  private HttpResponse<byte[]> get(String url) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(20)).build(),
        HttpResponse.BodyHandlers.ofByteArray());
  }

  private double metric(NodeProcess node, Pattern series) {
    try {
      String text = new String(get(node.url() + "/_imgcache/metrics").body(), UTF_8);
      Matcher m = series.matcher(text);
      return m.find() ? Double.parseDouble(m.group(1)) : 0;
    } catch (Exception e) {
      return -1;
    }
  }

  private static void await(String what, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting for " + what);
      }
      Thread.sleep(20);
    }
  }
}
