package io.imgcache.http;

import io.imgcache.group.Failures;
import io.imgcache.group.Group;
import io.imgcache.group.ObjectTooLargeException;
import io.imgcache.group.OriginException;
import io.imgcache.peer.PeerProtocol;
import java.util.concurrent.TimeoutException;

/**
 * The one table from a failed get to what the client (or peer) is told: the status, the peer
 * protocol's error kind and a short plain-text reason. Only failures without an origin answer
 * get here — an origin's own 5xx is a response, passed on as sent.
 */
record Failure(int status, String peerKind, String reason) {
  static Failure of(Throwable failure) {
    Throwable cause = Failures.cause(failure);
    if (cause instanceof ObjectTooLargeException) {
      return new Failure(413, PeerProtocol.ERROR_TOO_LARGE, "body larger than the object size limit");
    }
    if (cause instanceof OriginException e) {
      // 503: the origin's connection budget is exhausted — busy, not broken: a peer must not blame us.
      return new Failure(e.status(), e.status() == 503 ? PeerProtocol.ERROR_BUSY : PeerProtocol.ERROR_ORIGIN,
          e.getMessage());
    }
    if (cause instanceof TimeoutException) {
      return new Failure(504, PeerProtocol.ERROR_ORIGIN, "timed out waiting for the origin");
    }
    if (cause instanceof Group.NotCachedException e) {
      return new Failure(504, PeerProtocol.ERROR_NOT_CACHED, e.getMessage());
    }
    return new Failure(502, PeerProtocol.ERROR_ORIGIN, "load failed: " + cause);
  }
}
