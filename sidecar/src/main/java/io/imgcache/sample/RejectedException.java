package io.imgcache.sample;

/** A request the sample origin refuses; carries the HTTP status and a short plain-text reason. */
final class RejectedException extends Exception {
  private final int status;

  RejectedException(int status, String reason) {
    super(reason, null, false, false);
    this.status = status;
  }

  /** 400, 404 or 405. */
  int status() {
    return status;
  }
}
