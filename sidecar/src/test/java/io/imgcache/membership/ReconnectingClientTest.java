package io.imgcache.membership;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.etcd.jetcd.Client;
import io.etcd.jetcd.common.exception.ErrorCode;
import io.etcd.jetcd.common.exception.EtcdExceptionFactory;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The client swap's rules, on a fake clock and fake clients: when it replaces, what it closes. */
class ReconnectingClientTest {
  private static final Duration MIN_AGE = Duration.ofSeconds(2);

  private final AtomicLong now = new AtomicLong(1_000_000_000L); // fake nanoTime
  private final List<Client> built = new ArrayList<>();
  private final Set<Client> closed = new HashSet<>();
  private final ReconnectingClient client = new ReconnectingClient(this::fakeClient, MIN_AGE, now::get);

  @Test
  void buildsTheFirstClientOnFirstUseAndKeepsIt() {
    assertEquals(0, built.size(), "nothing built before it is needed");
    Client first = client.get();
    now.addAndGet(Duration.ofMinutes(5).toNanos());
    assertSame(first, client.get());
    assertEquals(1, built.size());
  }

  @Test
  void aClientYoungerThanTheMinimumAgeIsKeptAnOlderOneReplacedAndClosed() {
    Client first = client.get();
    now.addAndGet(MIN_AGE.toNanos() - 1);
    assertFalse(client.dueForReplacement(), "1 ns short of the minimum age");
    now.addAndGet(1);
    assertTrue(client.dueForReplacement(), "at the minimum age");

    client.replace();
    Client second = client.get();
    assertNotSame(first, second);
    assertEquals(Set.of(first), closed, "the old client is closed, the new one is not");
    assertFalse(client.dueForReplacement(), "the fresh client's age counts from its build");
    assertEquals(1, client.replacements());

    now.addAndGet(MIN_AGE.toNanos());
    client.replace();
    assertEquals(2, client.replacements());
    client.resetReplacements();
    assertEquals(0, client.replacements());
  }

  @Test
  void closeClosesTheCurrentClientOnceAndRefusesFurtherUse() {
    Client first = client.get();
    client.close();
    client.close();
    assertEquals(Set.of(first), closed);
    IllegalStateException e = assertThrows(IllegalStateException.class, client::get);
    assertEquals("etcd client closed", e.getMessage());
  }

  static Stream<Arguments> failures() {
    return Stream.of(
        // failure, counts as etcd unreachable
        Arguments.of(new TimeoutException(), true), // our own wait for the answer ran out
        Arguments.of(EtcdExceptionFactory.newEtcdException(ErrorCode.UNAVAILABLE, "io exception"), true),
        Arguments.of(EtcdExceptionFactory.newEtcdException(ErrorCode.DEADLINE_EXCEEDED, "deadline"), true),
        Arguments.of(EtcdExceptionFactory.newEtcdException(ErrorCode.PERMISSION_DENIED, "denied"), false),
        Arguments.of(EtcdExceptionFactory.newEtcdException(ErrorCode.INVALID_ARGUMENT, "no user"), false),
        Arguments.of(EtcdExceptionFactory.newEtcdException(ErrorCode.NOT_FOUND, "no lease"), false),
        Arguments.of(new IllegalStateException("bug"), false));
  }

  @ParameterizedTest(name = "{0}: unreachable {1}")
  @MethodSource("failures")
  void onlyFailuresToReachEtcdCallForAFreshClient(Throwable failure, boolean connectivity) {
    assertEquals(connectivity, ReconnectingClient.isConnectivityFailure(failure));
  }

  /** A client that only knows how to close; any other call is a test bug. */
  private Client fakeClient() {
    Client[] self = new Client[1];
    self[0] = (Client) Proxy.newProxyInstance(Client.class.getClassLoader(), new Class<?>[] {Client.class},
        (proxy, method, args) -> switch (method.getName()) {
          case "close" -> {
            closed.add(self[0]);
            yield null;
          }
          case "hashCode" -> System.identityHashCode(proxy);
          case "equals" -> proxy == args[0];
          case "toString" -> "fake client " + built.indexOf(self[0]);
          default -> throw new UnsupportedOperationException(method.getName());
        });
    built.add(self[0]);
    return self[0];
  }
}
