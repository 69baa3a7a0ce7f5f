package io.imgcache.httpclient;

import java.io.IOException;

/** A request that got no usable response; {@link #kind()} says why. */
public final class HttpClientException extends IOException {
  /** Why a request failed. */
  public enum Kind {
    /** No connection: refused or connect timeout. */
    CONNECT,
    /** Every pooled connection to the target stayed busy for the borrow timeout. */
    POOL_EXHAUSTED,
    /** The response did not arrive in full within the request's timeout. */
    TIMEOUT,
    /** The connection broke during the exchange. */
    IO,
    /** The body is larger than the caller accepts (its Content-Length, or what arrived). */
    TOO_LARGE
  }

  private final Kind kind;

  public HttpClientException(Kind kind, String message, Throwable cause) {
    super(message, cause);
    this.kind = kind;
  }

  public Kind kind() {
    return kind;
  }
}
