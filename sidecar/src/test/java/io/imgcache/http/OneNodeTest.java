package io.imgcache.http;

import com.github.tomakehurst.wiremock.WireMockServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;

/**
 * The lifecycle the single-node tests share: one WireMock origin per class (reset before each
 * test); each test starts its own {@link OneNode} into {@link #one}, closed after it.
 */
abstract class OneNodeTest {
  static WireMockServer origin;
  OneNode one;

  @BeforeAll
  static void startOrigin() {
    origin = OneNode.startOrigin();
  }

  @AfterAll
  static void stopOrigin() {
    origin.stop();
  }

  @BeforeEach
  void resetOrigin() {
    origin.resetAll();
  }

  @AfterEach
  void stopNode() {
    if (one != null) {
      one.close();
    }
  }
}
