package io.imgcache.membership;

import static java.nio.charset.StandardCharsets.UTF_8;
import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.kv.GetResponse;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntFunction;
import java.util.stream.Stream;
import javax.net.ssl.SSLHandshakeException;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Tests of the etcd test fixture itself, against real etcd processes. */
class EtcdClusterTest {
  /** Every jetcd future is awaited at most this long: a hang is a failure, not a stuck build. */
  private static final long TIMEOUT_SECONDS = 5;

  @Nested
  class SingleMember {
    @RegisterExtension
    static final EtcdExtension etcd = EtcdExtension.single();

    @Test
    void endpointIsAPlainHttpLoopbackUrl() {
      List<String> endpoints = etcd.cluster().endpoints();
      assertEquals(1, endpoints.size());
      assertTrue(endpoints.get(0).matches("http://127\\.0\\.0\\.1:\\d+"), endpoints.toString());
      assertEquals(endpoints.get(0), etcd.cluster().endpointsCsv());
    }

    @Test
    void etcdctlPutThenGetRoundTrips() {
      etcd.cluster().etcdctl("put", "/t/etcdctl", "v1").checkOk();
      EtcdctlResult get = etcd.cluster().etcdctl("get", "--print-value-only", "/t/etcdctl").checkOk();
      assertEquals("v1", get.stdout().strip());
    }

    @Test
    void jetcdClientPutsAndGets() throws Exception {
      try (Client client = Client.builder()
          .endpoints(etcd.cluster().endpoints().toArray(String[]::new))
          .build()) {
        put(client, "/t/jetcd", "v2");
        assertEquals("v2", get(client, "/t/jetcd"));
      }
    }

    @Test
    void theOnlyMemberLeads() {
      assertEquals(0, etcd.cluster().leader());
    }
  }

  @Nested
  class ThreeMembers {
    @RegisterExtension
    static final EtcdExtension etcd = EtcdExtension.threeMembers();

    @BeforeEach
    void everyMemberRunning() {
      etcd.cluster().restartAll(); // in case an earlier test failed between a kill and its restart
    }

    @Test
    void electsALeader() {
      int leader = etcd.cluster().leader();
      assertTrue(leader >= 0 && leader < 3, "leader " + leader);
      assertEquals(3, etcd.cluster().endpoints().stream().distinct().count());
    }

    @Test
    void killingTheLeaderLeavesAWorkingClusterAndRestartBringsItBack() throws Exception {
      EtcdCluster cluster = etcd.cluster();
      int oldLeader = cluster.leader();
      try (Client client = cluster.clientBuilder().build()) {
        put(client, "/t/before-kill", "1");

        cluster.kill(oldLeader);
        assertFalse(cluster.isRunning(oldLeader));
        putWithin(client, "/t/after-kill", "2", Duration.ofSeconds(10));
        assertNotEquals(oldLeader, cluster.leader());

        cluster.restart(oldLeader);
        assertTrue(cluster.isRunning(oldLeader));
        String restartedUrl = cluster.endpoints().get(oldLeader);
        try (Client restarted = Client.builder().endpoints(restartedUrl).build()) {
          // A linearizable read through it: it is back in the quorum.
          assertEquals("2", get(restarted, "/t/after-kill"));
        }
      }
    }

    @Test
    void killAllThenRestartAllKeepsTheData() {
      EtcdCluster cluster = etcd.cluster();
      cluster.etcdctl("put", "/t/durable", "kept").checkOk();

      cluster.killAll();
      for (int i = 0; i < 3; i++) {
        assertFalse(cluster.isRunning(i), "member " + i);
      }
      assertFalse(cluster.etcdctl("--command-timeout=500ms", "get", "/t/durable").ok());

      cluster.restartAll();
      assertEquals("kept",
          cluster.etcdctl("get", "--print-value-only", "/t/durable").checkOk().stdout().strip());
    }
  }

  @Nested
  class Auth {
    @RegisterExtension
    static final EtcdExtension etcd = EtcdExtension.single().withAuth();

    @Test
    void jetcdClientWithoutCredentialsIsRefused() {
      try (Client client = Client.builder()
          .endpoints(etcd.cluster().endpoints().toArray(String[]::new))
          .build()) {
        ExecutionException e =
            assertThrows(ExecutionException.class, () -> put(client, "/t/anon", "x"));
        assertTrue(String.valueOf(e.getCause().getMessage()).contains("user name is empty"),
            e.getCause().toString());
      }
    }

    @Test
    void jetcdClientWithRootCredentialsPutsAndGets() throws Exception {
      EtcdCluster cluster = etcd.cluster();
      assertEquals("root", cluster.user());
      try (Client client = Client.builder()
          .endpoints(cluster.endpoints().toArray(String[]::new))
          .user(bytes(cluster.user()))
          .password(bytes(cluster.password()))
          .build()) {
        put(client, "/t/auth", "v3");
        assertEquals("v3", get(client, "/t/auth"));
      }
    }

    @Test
    void clientBuilderCarriesTheCredentials() throws Exception {
      try (Client client = etcd.cluster().clientBuilder().build()) {
        put(client, "/t/auth-builder", "v4");
        assertEquals("v4", get(client, "/t/auth-builder"));
      }
    }

    @Test
    void etcdctlSendsTheRootUserAndWithoutItIsRefused() {
      EtcdCluster cluster = etcd.cluster();
      cluster.etcdctl("put", "/t/auth-etcdctl", "v5").checkOk();
      assertEquals("v5",
          cluster.etcdctl("get", "--print-value-only", "/t/auth-etcdctl").checkOk().stdout().strip());

      EtcdctlResult anonymous = EtcdctlResult.run(
          List.of(EtcdCluster.ETCDCTL.toString(), "--endpoints=" + cluster.endpointsCsv(),
              "get", "/t/auth-etcdctl"),
          Map.of("ETCDCTL_API", "3"), Duration.ofSeconds(10));
      assertFalse(anonymous.ok(), anonymous.toString());
      assertTrue(anonymous.stderr().contains("user name is empty"), anonymous.toString());
    }
  }

  @Nested
  class Tls {
    @RegisterExtension
    static final EtcdExtension etcd = EtcdExtension.single().withTls();

    @Test
    void endpointIsAnHttpsLoopbackUrl() {
      assertTrue(etcd.cluster().endpointsCsv().matches("https://127\\.0\\.0\\.1:\\d+"),
          etcd.cluster().endpointsCsv());
    }

    @Test
    void jetcdClientWithCaAndClientCertificatePutsAndGets() throws Exception {
      EtcdCluster cluster = etcd.cluster();
      try (Client client = Client.builder()
          .endpoints(cluster.endpoints().toArray(String[]::new))
          .sslContext(ssl -> ssl
              .trustManager(cluster.caFile().toFile())
              .keyManager(cluster.certFile().toFile(), cluster.keyFile().toFile()))
          .build()) {
        put(client, "/t/tls", "v6");
        assertEquals("v6", get(client, "/t/tls"));
      }
    }

    @Test
    void clientBuilderCarriesTheCertificates() throws Exception {
      try (Client client = etcd.cluster().clientBuilder().build()) {
        put(client, "/t/tls-builder", "v7");
        assertEquals("v7", get(client, "/t/tls-builder"));
      }
    }

    @Test
    void jetcdClientWithoutClientCertificateIsRejected() throws Exception {
      EtcdCluster cluster = etcd.cluster();
      try (Client client = Client.builder()
          .endpoints(cluster.endpoints().toArray(String[]::new))
          .sslContext(ssl -> ssl.trustManager(cluster.caFile().toFile()))
          // jetcd waits for a ready channel by default: a failed handshake would be a 5 s timeout.
          .waitForReady(false)
          .build()) {
        ExecutionException e =
            assertThrows(ExecutionException.class, () -> put(client, "/t/no-client-cert", "x"));
        assertTrue(causes(e).anyMatch(SSLHandshakeException.class::isInstance), e.toString());
      }
    }

    @Test
    void etcdctlUsesTheCertificates() {
      EtcdCluster cluster = etcd.cluster();
      cluster.etcdctl("put", "/t/tls-etcdctl", "v8").checkOk();
      assertEquals("v8",
          cluster.etcdctl("get", "--print-value-only", "/t/tls-etcdctl").checkOk().stdout().strip());
    }
  }

  @Test
  void closeKillsEveryMemberAndDeletesItsFiles() {
    EtcdCluster cluster = EtcdCluster.start(1);
    List<Long> pids = cluster.pids();
    Path baseDir = cluster.baseDir();
    assertEquals(1, pids.size());
    assertTrue(Files.isDirectory(baseDir));

    cluster.close();

    for (long pid : pids) {
      assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "pid " + pid);
    }
    List<Long> leftovers = ProcessHandle.allProcesses()
        .filter(p -> p.info().commandLine().orElse("").contains(baseDir.toString()))
        .map(ProcessHandle::pid)
        .toList();
    assertEquals(List.of(), leftovers);
    assertFalse(Files.exists(baseDir), baseDir.toString());
    cluster.close(); // idempotent
  }

  @Test
  void missingEtcdBinaryIsAFailureSayingWhatToInstall() {
    EtcdOptions options = EtcdOptions.of(1)
        .withBinaries(Path.of("/nonexistent/etcd"), EtcdCluster.ETCDCTL);
    IllegalStateException e =
        assertThrows(IllegalStateException.class, () -> EtcdCluster.startWithOptions(options));
    assertEquals("etcd not found at /nonexistent/etcd: install the Debian package etcd-server"
        + " (./test.sh does)", e.getMessage());
  }

  @Test
  void startFailureCarriesTheMemberLogTail() {
    EtcdOptions options = EtcdOptions.of(1).withExtraArgs("--no-such-flag");
    IllegalStateException e =
        assertThrows(IllegalStateException.class, () -> EtcdCluster.startWithOptions(options));
    assertTrue(e.getMessage().contains("exited with code"), e.getMessage());
    assertTrue(e.getMessage().contains("flag provided but not defined: -no-such-flag"),
        e.getMessage());
  }

  @Test
  void aPortTakenBeforeEtcdBindsItMeansAnotherTryOnFreshPorts() throws Exception {
    try (ServerSocket squatter = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      AtomicInteger tries = new AtomicInteger();
      IntFunction<int[]> portPicker = count -> {
        int[] ports = EtcdClusterMember.freePorts(count);
        if (tries.getAndIncrement() == 0) {
          ports[0] = squatter.getLocalPort(); // member 0's client port
        }
        return ports;
      };
      try (EtcdCluster cluster = EtcdCluster.startWithOptions(EtcdOptions.of(1), portPicker)) {
        assertEquals(2, tries.get());
        assertFalse(cluster.endpointsCsv().endsWith(":" + squatter.getLocalPort()),
            cluster.endpointsCsv());
        cluster.etcdctl("put", "/t/fresh-ports", "v").checkOk();
      }
    }
  }

  private static Stream<Throwable> causes(Throwable t) {
    return Stream.iterate(t, Objects::nonNull, Throwable::getCause);
  }

  private static ByteSequence bytes(String s) {
    return ByteSequence.from(s, UTF_8);
  }

  private static void put(Client client, String key, String value) throws Exception {
    client.getKVClient().put(bytes(key), bytes(value)).get(TIMEOUT_SECONDS, SECONDS);
  }

  private static String get(Client client, String key) throws Exception {
    GetResponse response = client.getKVClient().get(bytes(key)).get(TIMEOUT_SECONDS, SECONDS);
    return response.getKvs().isEmpty() ? null : response.getKvs().get(0).getValue().toString(UTF_8);
  }

  /** Retries the put (each attempt bounded) until it succeeds or {@code within} has passed. */
  private static void putWithin(Client client, String key, String value, Duration within)
      throws Exception {
    long deadline = System.nanoTime() + within.toNanos();
    while (true) {
      try {
        client.getKVClient().put(bytes(key), bytes(value)).get(2, SECONDS);
        return;
      } catch (ExecutionException | TimeoutException e) {
        if (System.nanoTime() - deadline > 0) {
          throw new AssertionError("put of " + key + " did not succeed within " + within, e);
        }
        Thread.sleep(100); // retry interval of a poll with a deadline, not a wait for something
      }
    }
  }
}
