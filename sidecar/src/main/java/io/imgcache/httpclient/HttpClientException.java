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
  private final OpenResponse open; // TOO_LARGE only, and not always

  public HttpClientException(Kind kind, String message, Throwable cause) {
    this(kind, message, cause, null);
  }

  HttpClientException(Kind kind, String message, Throwable cause, OpenResponse open) {
    super(message, cause);
    this.kind = kind;
    this.open = open;
  }

  /**
   * For {@link Kind#TOO_LARGE}: the response itself, still arriving, for the caller to stream on
   * (claim it or leave it); null when there is none (a request without a body to hand on).
   */
  public OpenResponse open() {
    return open;
  }

  public Kind kind() {
    return kind;
  }
}
