package io.imgcache.peer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.imgcache.Main;
import io.imgcache.Node;
import io.imgcache.metrics.NodeReport;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * {@code imgcache status} end to end: the command line asks one node's {@code /_imgcache/cluster},
 * which asks every member's {@code /_groupcache/_status} and adds its own view of health and ring.
 */
class StatusTest extends ClusterTest {
  /** The exit status and what was printed, of one {@code imgcache status}. */
  private record Outcome(int status, String out, String err) {
    ClusterReport report() {
      return ClusterReport.parse(out);
    }

    String line(String member) {
      return out.lines().filter(l -> l.startsWith(member + " ")).findFirst()
          .orElseThrow(() -> new AssertionError("no line for " + member + " in:\n" + out));
    }
  }

  private static Outcome status(Node asked, String... more) {
    List<String> args = new ArrayList<>(List.of("status", "--url", LocalCluster.url(asked)));
    args.addAll(List.of(more));
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int status;
    try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
        PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
      status = Main.run(args.toArray(String[]::new), o, e);
    }
    return new Outcome(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  private static ClusterReport.Member member(ClusterReport report, Node node) {
    return report.members().stream().filter(m -> m.url().equals(LocalCluster.url(node))).findFirst()
        .orElseThrow(() -> new AssertionError("no member " + LocalCluster.url(node) + " in " + report));
  }

  @Test
  void everyMemberIsShownWithTheEntriesItHolds() {
    List<Node> nodes = cluster.start(3, Map.of());
    // 1, 2 and 3 keys owned by the first, second and third node, each loaded through its owner.
    for (int n = 0; n < nodes.size(); n++) {
      for (String target : LocalCluster.targetsOwnedBy(nodes.get(0), nodes.get(n), "/status/" + n + "?i=", n + 1)) {
        byte[] body = cluster.stub(target, target.hashCode(), 0);
        LocalCluster.assertAnswer(body, "MISS", cluster.get(nodes.get(n), target));
        LocalCluster.assertAnswer(body, "HIT", cluster.get(nodes.get(n), target));
      }
    }

    for (Node asked : nodes) {
      Outcome json = status(asked, "--json");
      assertEquals(0, json.status(), json.err() + json.out());
      assertEquals("", json.err());
      ClusterReport report = json.report();
      assertEquals(LocalCluster.url(asked), report.asked());
      assertEquals(3, report.members().size(), json.out());
      double shares = 0;
      for (int n = 0; n < nodes.size(); n++) {
        ClusterReport.Member member = member(report, nodes.get(n));
        NodeReport figures = member.status();
        assertNotNull(figures, member.error());
        assertNull(member.error());
        assertTrue(member.healthy());
        assertTrue(member.share() > 0.2 && member.share() < 0.5, "share of " + member);
        shares += member.share();
        assertEquals(n + 1, figures.main().entries(), "main entries of " + member.url());
        assertEquals(0, figures.hot().entries(), "hot entries of " + member.url());
        assertTrue(figures.main().bytes() > 1024L * (n + 1), "main bytes of " + member.url());
        assertEquals(n + 1, figures.originLoads(), "origin loads of " + member.url());
        assertTrue(figures.originLoadsPerSecond() > 0, "recent loads of " + member.url());
        assertEquals(2L * (n + 1), figures.cacheableRequests(), "requests of " + member.url());
        assertEquals(0.5, figures.hitRatio(), 1e-9, "hit ratio of " + member.url());
        assertEquals(0, figures.peerErrors());
        assertEquals(3, figures.ringMembers());
        assertTrue(figures.ready());
        assertTrue(figures.version().contains("commit"), figures.version());
        assertTrue(figures.uptimeSeconds() > 0 && figures.uptimeSeconds() < 600, "uptime " + figures.uptimeSeconds());
      }
      assertEquals(1.0, shares, 1e-9, "ring shares in " + json.out());
    }

    Outcome table = status(nodes.get(1));
    assertEquals(0, table.status(), table.err());
    assertTrue(table.out().startsWith("Cluster as " + LocalCluster.url(nodes.get(1)) + " sees it: 3 members, 3 in its ring\n"),
        table.out());
    for (int n = 0; n < nodes.size(); n++) {
      String line = table.line(LocalCluster.url(nodes.get(n)));
      assertTrue(line.matches("\\S+ +healthy +\\d+\\.\\d% +" + (n + 1) + " +\\d+\\.\\d KiB +- +50\\.0% +\\d+\\.\\d\\d +0 +\\d+s +0\\.1\\.0.*"),
          line);
    }
    assertTrue(table.out().contains("All 3 members healthy, answering and ready."), table.out());
  }

  @Test
  void aStoppedMemberIsShownUnreachableAndTheExitStatusIs1() {
    List<Node> nodes = cluster.start(3, Map.of());
    Node stopped = nodes.get(2);
    cluster.stop(stopped);

    Outcome table = status(nodes.get(0));
    assertEquals(1, table.status(), table.out() + table.err());
    // The health monitor is parked in these tests: the asked node still holds it healthy.
    assertTrue(table.line(LocalCluster.url(stopped)).matches("\\S+ +healthy +\\d+\\.\\d% +unreachable: .*"
        + LocalCluster.url(stopped) + ".*"), table.out());
    assertTrue(table.line(LocalCluster.url(nodes.get(1))).contains(" healthy "), table.out());
    assertTrue(table.out().contains("2 of 3 members healthy, answering and ready."), table.out());

    Outcome json = status(nodes.get(0), "--json");
    assertEquals(1, json.status());
    ClusterReport.Member gone = member(json.report(), stopped);
    assertNull(gone.status());
    assertNotNull(gone.error());
    assertFalse(gone.fine());
    assertTrue(member(json.report(), nodes.get(1)).fine());
  }

  @Test
  void anUnhealthyMemberHasNoShareAndTheExitStatusIs1EvenThoughItAnswers() {
    List<Node> nodes = cluster.start(3, Map.of());
    Node sick = nodes.get(1);
    nodes.get(0).cluster().markUnhealthy(LocalCluster.url(sick));

    Outcome json = status(nodes.get(0), "--json");
    assertEquals(1, json.status(), json.out());
    ClusterReport.Member member = member(json.report(), sick);
    assertFalse(member.healthy());
    assertEquals(0, member.share());
    assertNotNull(member.status(), "it still answers: " + member.error());
    assertEquals(1.0, json.report().members().stream().mapToDouble(ClusterReport.Member::share).sum(), 1e-9);
    assertTrue(status(nodes.get(0)).line(LocalCluster.url(sick)).contains(" unhealthy  0.0% "),
        status(nodes.get(0)).out());
    assertEquals(0, status(nodes.get(2)).status(), "the third node's view has no unhealthy member");
  }

  @Test
  void aMemberThatDoesNotAnswerIsReportedAfterItsTimeoutWithoutHoldingUpTheOthers() throws IOException {
    // Accepts connections (the kernel's backlog) and never answers: a hung process.
    try (ServerSocket hung = new ServerSocket()) {
      hung.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
      String hungUrl = LocalCluster.url(hung.getLocalPort());
      int[] ports = LocalCluster.freePorts(2);
      List<String> members = List.of(LocalCluster.url(ports[0]), LocalCluster.url(ports[1]), hungUrl);
      Node asked = cluster.startNode(ports[0], members, Map.of());
      Node other = cluster.startNode(ports[1], members, Map.of());

      long start = System.nanoTime();
      Outcome json = status(asked, "--json");
      long millis = (System.nanoTime() - start) / 1_000_000;
      assertEquals(1, json.status(), json.out() + json.err());
      ClusterReport.Member silent = json.report().members().stream().filter(m -> m.url().equals(hungUrl))
          .findFirst().orElseThrow();
      assertNull(silent.status());
      assertNotNull(silent.error());
      assertTrue(member(json.report(), other).fine(), json.out());
      assertTrue(member(json.report(), asked).fine(), json.out());
      // The member's deadline, not the command's 10 s: generous bounds, this is no timing test.
      assertTrue(millis >= ClusterStatus.MEMBER_TIMEOUT.toMillis() - 100 && millis < 8_000, millis + " ms");
    }
  }

  @Test
  void theAdminTokenIsNeededWhenOneIsSet() {
    String admin = "admin-s3cret";
    List<Node> nodes = cluster.start(3, Map.of("imgcache.admin.token", admin, "imgcache.peers.token", "peer-s3cret"));

    Outcome without = status(nodes.get(0));
    assertEquals(1, without.status());
    assertEquals("", without.out());
    assertEquals(1, without.err().lines().count(), without.err());
    assertTrue(without.err().contains("401") || without.err().contains("refused"), without.err());
    assertTrue(without.err().contains("missing or wrong admin token"), without.err());
    assertTrue(without.err().contains("--token"), without.err());

    Outcome wrong = status(nodes.get(0), "--token", "guess");
    assertEquals(1, wrong.status());
    assertTrue(wrong.err().contains("missing or wrong admin token"), wrong.err());
    assertFalse(wrong.err().contains("give the admin token"), wrong.err());

    Outcome right = status(nodes.get(0), "--token", admin, "--json");
    assertEquals(0, right.status(), right.err() + right.out());
    assertTrue(right.report().allFine(), right.out()); // the members took the peer token

    assertEquals(401, cluster.get(nodes.get(1), "/_imgcache/status").statusCode());
    assertEquals(401, cluster.get(nodes.get(1), PeerProtocol.STATUS_PATH).statusCode());
    assertEquals(200, cluster.get(nodes.get(1), "/_imgcache/status", "Authorization", "Bearer " + admin).statusCode());
  }
}
