package io.imgcache.peer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.imgcache.Node;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 13 through nodes: the owner keeps its keys on disk, serves them after a restart without
 * asking the origin (X-Cache: HIT-DISK, then HIT from memory), answers peers from disk, and purge
 * and ban remove disk copies; hot copies never go to disk.
 */
class DiskTierTest extends ClusterTest {
  @TempDir
  Path root;

  private Map<String, Object> disk(String name) {
    Map<String, Object> settings = new HashMap<>();
    settings.put("imgcache.cache.disk.path", root.resolve(name).toString());
    return settings;
  }

  private List<String> stub(int count, String prefix, List<byte[]> bodies) {
    List<String> targets = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      String target = prefix + i + "?w=100";
      bodies.add(cluster.stub(target, 900 + i, 0));
      targets.add(target);
    }
    return targets;
  }

  private void awaitDiskWrites(Node node, int count) {
    LocalCluster.await(count + " disk writes", Duration.ofSeconds(10),
        () -> cluster.metric(node, "imgcache_disk_writes_total") >= count);
  }

  @Test
  void aRestartedNodeServesItsKeysFromDiskWithoutAskingTheOrigin() {
    int port = LocalCluster.freePorts(1)[0];
    List<String> members = List.of(LocalCluster.url(port));
    Node node = cluster.startNode(port, members, disk("a"));
    List<byte[]> bodies = new ArrayList<>();
    List<String> targets = stub(20, "/v2/image/png/disk-", bodies);
    for (int i = 0; i < targets.size(); i++) {
      LocalCluster.assertAnswer(bodies.get(i), "MISS", cluster.get(node, targets.get(i)));
    }
    awaitDiskWrites(node, targets.size());
    cluster.stop(node);
    int loads = cluster.originRequests();

    Node restarted = cluster.startNode(port, members, disk("a"));
    for (int i = 0; i < targets.size(); i++) {
      LocalCluster.assertAnswer(bodies.get(i), "HIT-DISK", cluster.get(restarted, targets.get(i)));
      LocalCluster.assertAnswer(bodies.get(i), "HIT", cluster.get(restarted, targets.get(i)));
    }
    assertEquals(loads, cluster.originRequests(), "no origin request after the restart");
    assertEquals(targets.size(), cluster.metric(restarted, "imgcache_cache_hits_total", "cache", "disk"));
  }

  @Test
  void theOwnerAnswersPeersFromDiskAndOnlyTheOwnerWritesToDisk() {
    int[] ports = LocalCluster.freePorts(2);
    List<String> members = List.of(LocalCluster.url(ports[0]), LocalCluster.url(ports[1]));
    List<Node> nodes = new ArrayList<>(List.of(cluster.startNode(ports[0], members, disk("n0")),
        cluster.startNode(ports[1], members, disk("n1"))));
    String target = LocalCluster.targetsOwnedBy(nodes.get(0), nodes.get(0), "/v2/image/png/owned-", 1).get(0);
    byte[] body = cluster.stub(target, 77, 0);
    LocalCluster.assertAnswer(body, "PEER", cluster.get(nodes.get(1), target)); // owner n0 loads and stores
    awaitDiskWrites(nodes.get(0), 1);
    assertEquals(0.0, cluster.metric(nodes.get(1), "imgcache_disk_writes_total"), "a hot copy stays in memory");

    cluster.stop(nodes.get(0));
    Node owner = cluster.startNode(ports[0], members, disk("n0"));
    cluster.stop(nodes.get(1));
    Node other = cluster.startNode(ports[1], members, disk("n1")); // an empty hot cache
    LocalCluster.assertAnswer(body, "PEER", cluster.get(other, target));
    assertEquals(1, cluster.originRequests(target), "the owner answered its peer from disk");
    assertEquals(1.0, cluster.metric(owner, "imgcache_cache_hits_total", "cache", "disk"));
  }

  /**
   * Disk hits lend views of mapped files, and each answer gives its view back once written — a
   * full body, a 304 to a conditional request — so that a ban, which drops every mapping, leaves
   * none mapped (a response never released would keep its file mapped).
   */
  @Test
  void diskHitsGiveTheirMappedBodiesBackOnceAnswered() throws Exception {
    int port = LocalCluster.freePorts(1)[0];
    Map<String, Object> settings = disk("lent");
    settings.put("imgcache.cache.max-bytes", "1MiB"); // room for 5 of the 12 bodies: the others come from disk
    settings.put("imgcache.cache.max-object-size", "256KiB");
    Node node = cluster.startNode(port, List.of(LocalCluster.url(port)), settings);
    List<String> targets = new ArrayList<>();
    List<byte[]> bodies = new ArrayList<>();
    for (int i = 0; i < 12; i++) {
      targets.add("/v2/image/png/lent-" + i + "?w=100");
      bodies.add(cluster.stub(targets.get(i), 500 + i, 0, 150_000));
      LocalCluster.assertAnswer(bodies.get(i), "MISS", cluster.get(node, targets.get(i)));
    }
    awaitDiskWrites(node, targets.size());

    for (int pass = 0; pass < 5; pass++) {
      for (int i = 0; i < targets.size(); i++) {
        HttpResponse<byte[]> full = cluster.get(node, targets.get(i));
        assertEquals(200, full.statusCode());
        assertArrayEquals(bodies.get(i), full.body(), targets.get(i));
        HttpResponse<byte[]> notModified = cluster.get(node, targets.get(i), "If-None-Match", "\"" + (500 + i) + "\"");
        assertEquals(304, notModified.statusCode(), targets.get(i));
      }
    }
    double diskHits = cluster.metric(node, "imgcache_cache_hits_total", "cache", "disk");
    assertTrue(diskHits >= 40, diskHits + " disk hits");
    assertTrue(cluster.metric(node, "imgcache_disk_mapped_files") > 0, "disk hits came from mappings");

    HttpResponse<String> banned = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(
        LocalCluster.url(node) + "/_imgcache/ban?prefix=%2Fv2%2Fimage%2Fpng%2Flent-")).POST(
        HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, banned.statusCode(), banned.body());
    LocalCluster.await("every mapping gone", Duration.ofSeconds(10),
        () -> cluster.metric(node, "imgcache_disk_mapped_files") == 0);
  }

  @Test
  void purgeAndBanRemoveDiskCopies() throws Exception {
    int port = LocalCluster.freePorts(1)[0];
    List<String> members = List.of(LocalCluster.url(port));
    Node node = cluster.startNode(port, members, disk("p"));
    List<byte[]> bodies = new ArrayList<>();
    List<String> targets = stub(3, "/v2/image/png/purge-", bodies);
    targets.forEach(t -> cluster.get(node, t));
    awaitDiskWrites(node, 3);
    HttpClient http = HttpClient.newHttpClient();
    HttpResponse<String> purged = http.send(HttpRequest.newBuilder(URI.create(LocalCluster.url(node) + targets.get(0)))
        .method("PURGE", HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, purged.statusCode(), purged.body());
    HttpResponse<String> banned = http.send(HttpRequest.newBuilder(URI.create(LocalCluster.url(node)
        + "/_imgcache/ban?prefix=%2Fv2%2Fimage%2Fpng%2Fpurge-1")).POST(HttpRequest.BodyPublishers.noBody()).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(200, banned.statusCode(), banned.body());
    LocalCluster.await("the purged file gone", Duration.ofSeconds(10), () -> files("p") == 1);
    cluster.stop(node);

    Node restarted = cluster.startNode(port, members, disk("p"));
    LocalCluster.assertAnswer(bodies.get(0), "MISS", cluster.get(restarted, targets.get(0)));
    LocalCluster.assertAnswer(bodies.get(1), "MISS", cluster.get(restarted, targets.get(1)));
    LocalCluster.assertAnswer(bodies.get(2), "HIT-DISK", cluster.get(restarted, targets.get(2)));
  }

  @Test
  void aDiskPathThatCannotBeWrittenStopsTheStartNamingTheKey() throws IOException {
    Path file = Files.writeString(root.resolve("not-a-dir"), "x");
    int port = LocalCluster.freePorts(1)[0];
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> cluster.startNode(port,
        List.of(LocalCluster.url(port)), Map.of("imgcache.cache.disk.path", file.resolve("cache").toString())));
    assertTrue(e.getMessage().startsWith("imgcache.cache.disk.path: "), e.getMessage());
  }

  private long files(String name) {
    try (Stream<Path> walk = Files.walk(root.resolve(name))) {
      return walk.filter(Files::isRegularFile).count();
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }
}
