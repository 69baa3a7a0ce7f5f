package io.imgcache.membership;

import static com.google.common.base.Preconditions.checkState;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Starts an {@link EtcdCluster} before all tests of a class and closes it after them:
 *
 * <pre>{@code
 * @RegisterExtension static final EtcdExtension etcd = EtcdExtension.single();
 * ... etcd.cluster().clientBuilder().build() ...
 * }</pre>
 *
 * <p>Must be registered on a static field (an instance field gets no before-all callback; every test
 * then fails saying so). The cluster is shared by the class's tests, including {@code @Nested} ones:
 * a test that kills members must restart them. Called by JUnit on one thread at a time.
 */
public final class EtcdExtension implements BeforeAllCallback, AfterAllCallback, BeforeEachCallback {
  private final EtcdOptions options;
  // Set in beforeAll and cleared in afterAll of the owning class; JUnit calls them sequentially.
  private EtcdCluster cluster;
  private String ownerId; // unique id of the class context that started the cluster

  private EtcdExtension(EtcdOptions options) {
    this.options = options;
  }

  /** One plain-http member. */
  public static EtcdExtension single() {
    return of(EtcdOptions.of(1));
  }

  /** Three plain-http members. */
  public static EtcdExtension threeMembers() {
    return of(EtcdOptions.of(3));
  }

  public static EtcdExtension of(EtcdOptions options) {
    return new EtcdExtension(options);
  }

  /** The same cluster with auth on (user root, random password). */
  public EtcdExtension withAuth() {
    return new EtcdExtension(options.withAuth());
  }

  /** The same cluster serving clients over TLS with client-certificate auth. */
  public EtcdExtension withTls() {
    return new EtcdExtension(options.withTls());
  }

  /**
   * The running cluster.
   *
   * @throws IllegalStateException outside the tests of the class that registered this extension
   */
  public EtcdCluster cluster() {
    checkState(cluster != null, "etcd cluster not started: register EtcdExtension on a static field"
        + " with @RegisterExtension and use it from that class's tests");
    return cluster;
  }

  @Override
  public void beforeAll(ExtensionContext context) {
    // @Nested classes inherit the registration and call beforeAll again: keep the outer cluster.
    if (cluster == null) {
      cluster = EtcdCluster.startWithOptions(options);
      ownerId = context.getUniqueId();
    }
  }

  @Override
  public void beforeEach(ExtensionContext context) {
    cluster();
  }

  @Override
  public void afterAll(ExtensionContext context) {
    if (cluster != null && context.getUniqueId().equals(ownerId)) {
      try {
        cluster.close();
      } finally {
        cluster = null;
        ownerId = null;
      }
    }
  }
}
