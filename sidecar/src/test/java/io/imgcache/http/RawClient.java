package io.imgcache.http;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * One request on a fresh loopback socket, written byte for byte, and the answer read with a deadline:
 * for requests no HTTP client library would send. Unlike {@link OneNode#raw} it does not wait for
 * the server to close: it reads one response head (and its body, when framed) or gives up at the
 * deadline, and says which of the two happened. Stateless and thread-safe.
 */
final class RawClient {
  /** Status of an {@link Answer} when the server closed (or reset) the connection without a status line. */
  static final int CLOSED = -1;
  /** Status of an {@link Answer} when nothing complete arrived before the deadline: a hang. */
  static final int TIMED_OUT = -2;

  private RawClient() {}

  /** Writes a request body that may be too large to hold in memory. */
  interface Body {
    void writeTo(OutputStream out) throws IOException;
  }

  /**
   * What came back. {@code status} is {@link #CLOSED} or {@link #TIMED_OUT} when there was no
   * status line; header names are lower-case; {@code body} is the decoded body when the response
   * was framed by Content-Length or chunked. {@code closedAfter} says whether the server closed the
   * connection after the response (only looked for when asked); {@code trailing} is anything it sent
   * after the first response (a second response would show there).
   */
  record Answer(int status, Map<String, List<String>> headers, byte[] body, String note, long millis,
      boolean closedAfter, byte[] trailing) {
    String header(String name) {
      List<String> values = headers.get(name.toLowerCase(Locale.ROOT));
      return values == null ? null : values.get(0);
    }

    /** The start of the body as text, or its length when it is not text. */
    String bodyText() {
      for (byte b : body) {
        if ((b < 0x20 && b != '\n' && b != '\r' && b != '\t') || b == 0x7f) {
          return "<" + body.length + " bytes>";
        }
      }
      return new String(body, 0, Math.min(body.length, 120), StandardCharsets.ISO_8859_1).strip();
    }

    /** One line for a table: "400 (text)" / "closed (EOF)" / "no answer in 5000 ms". */
    String summary() {
      return switch (status) {
        case CLOSED -> "closed without response (" + note + ")";
        case TIMED_OUT -> "NO ANSWER (" + note + ")";
        default -> status + (header("x-cache") != null ? " X-Cache=" + header("x-cache") : "")
            + (body.length > 0 ? " \"" + bodyText().replaceAll("\\s+", " ") + "\"" : "")
            + (closedAfter ? " +close" : "");
      };
    }
  }

  /** {@link #exchange(int, byte[], Body, Duration, boolean)} with no body and no wait for the close. */
  static Answer exchange(int port, byte[] request, Duration timeout) {
    return exchange(port, request, null, timeout, false);
  }

  /**
   * Writes {@code head} and then {@code body} (when not null, from another thread, so a server that
   * answers before reading everything is seen answering) and reads one response within {@code
   * timeout} of the start. With {@code awaitClose}, keeps reading after the response until the
   * server closes or {@code timeout} passes again, to see whether it closed and what else it sent.
   */
  static Answer exchange(int port, byte[] head, Body body, Duration timeout, boolean awaitClose) {
    long start = System.nanoTime();
    long deadline = start + timeout.toNanos();
    try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), port)) {
      String writeNote = "";
      Thread writer = null;
      try {
        OutputStream out = socket.getOutputStream();
        out.write(head);
        out.flush();
      } catch (IOException e) {
        // The server may answer and close before it has read everything (a huge header).
        writeNote = "write failed: " + e.getMessage() + "; ";
      }
      if (body != null && writeNote.isEmpty()) {
        writer = new Thread(() -> {
          try {
            body.writeTo(socket.getOutputStream());
            socket.getOutputStream().flush();
          } catch (IOException e) {
            // Expected when the server refuses the body: the answer tells what happened.
          }
        }, "raw-body-writer");
        writer.setDaemon(true);
        writer.start();
      }
      Reader reader = new Reader(socket, deadline);
      Answer answer;
      try {
        answer = reader.response(start, writeNote);
        if (answer.status() >= 0 && awaitClose) {
          answer = reader.awaitClose(answer, System.nanoTime() + timeout.toNanos());
        }
      } finally {
        if (writer != null) {
          socket.close(); // ends the writer if it is still sending
          writer.join(TimeUnit.SECONDS.toMillis(5));
        }
      }
      return answer;
    } catch (IOException e) {
      throw new AssertionError("cannot connect to 127.0.0.1:" + port, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted", e);
    }
  }

  static byte[] ascii(String s) {
    return s.getBytes(StandardCharsets.ISO_8859_1);
  }

  /** Reads from one socket against one deadline. */
  private static final class Reader {
    private final Socket socket;
    private final InputStream in;
    private final long deadline;
    private final ByteArrayOutputStream received = new ByteArrayOutputStream();
    private int position; // bytes of received already consumed
    private boolean eof;
    private String eofBecause = "";

    Reader(Socket socket, long deadline) throws IOException {
      this.socket = socket;
      this.in = socket.getInputStream();
      this.deadline = deadline;
    }

    /** Reads more bytes; false at EOF, reset or the deadline (then {@link #timedOut} says which). */
    private boolean more() {
      if (eof) {
        return false;
      }
      long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
      if (left <= 0) {
        return false;
      }
      byte[] buffer = new byte[16 * 1024];
      try {
        socket.setSoTimeout((int) left);
        int n = in.read(buffer);
        if (n < 0) {
          eof = true;
          eofBecause = "EOF";
          return false;
        }
        received.write(buffer, 0, n);
        return true;
      } catch (SocketTimeoutException e) {
        return false;
      } catch (IOException e) {
        eof = true;
        eofBecause = "read failed: " + e.getMessage();
        return false;
      }
    }

    private byte[] bytes() {
      return received.toByteArray();
    }

    Answer response(long start, String writeNote) {
      int end;
      while ((end = indexOf(bytes(), ascii("\r\n\r\n"), position)) < 0) {
        if (!more()) {
          long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
          String note = writeNote + (eof ? eofBecause : "no status line within " + millis + " ms") + ", "
              + received.size() + " bytes received";
          return new Answer(eof ? CLOSED : TIMED_OUT, Map.of(), bytes(), note, millis, eof, new byte[0]);
        }
      }
      byte[] all = bytes();
      String[] lines = new String(all, position, end - position, StandardCharsets.ISO_8859_1).split("\r\n");
      String[] statusLine = lines[0].split(" ", 3);
      if (statusLine.length < 2 || !statusLine[0].startsWith("HTTP/")) {
        throw new AssertionError("not an HTTP response: " + lines[0]);
      }
      Map<String, List<String>> headers = new LinkedHashMap<>();
      for (int i = 1; i < lines.length; i++) {
        int colon = lines[i].indexOf(':');
        headers.computeIfAbsent(lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT), k -> new ArrayList<>())
            .add(lines[i].substring(colon + 1).trim());
      }
      position = end + 4;
      int status = Integer.parseInt(statusLine[1]);
      byte[] body = body(headers);
      long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
      return new Answer(status, headers, body, writeNote + (eof ? eofBecause : ""), millis, eof, new byte[0]);
    }

    /** The framed body (what was read of it by the deadline), or nothing for an unframed one. */
    private byte[] body(Map<String, List<String>> headers) {
      List<String> length = headers.get("content-length");
      List<String> coding = headers.get("transfer-encoding");
      if (coding != null && coding.get(coding.size() - 1).equalsIgnoreCase("chunked")) {
        return chunked();
      }
      if (length == null) {
        return new byte[0];
      }
      int n = Integer.parseInt(length.get(0));
      while (received.size() - position < n && more()) {
        // reading
      }
      byte[] all = bytes();
      int have = Math.min(n, all.length - position);
      byte[] body = java.util.Arrays.copyOfRange(all, position, position + have);
      position += have;
      return body;
    }

    private byte[] chunked() {
      ByteArrayOutputStream body = new ByteArrayOutputStream();
      while (true) {
        int lineEnd;
        while ((lineEnd = indexOf(bytes(), ascii("\r\n"), position)) < 0) {
          if (!more()) {
            return body.toByteArray();
          }
        }
        String sizeLine = new String(bytes(), position, lineEnd - position, StandardCharsets.ISO_8859_1);
        int semicolon = sizeLine.indexOf(';');
        int size = Integer.parseInt((semicolon < 0 ? sizeLine : sizeLine.substring(0, semicolon)).trim(), 16);
        position = lineEnd + 2;
        if (size == 0) {
          // Trailers (none expected) end with an empty line.
          while (indexOf(bytes(), ascii("\r\n"), position) < 0 && more()) {
            // reading
          }
          int end = indexOf(bytes(), ascii("\r\n"), position);
          position = end < 0 ? received.size() : end + 2;
          return body.toByteArray();
        }
        while (received.size() - position < size + 2) {
          if (!more()) {
            return body.toByteArray();
          }
        }
        body.write(bytes(), position, size);
        position += size + 2;
      }
    }

    Answer awaitClose(Answer answer, long until) {
      Reader later = new Reader(socket, until, this);
      while (later.more()) {
        // reading until EOF or the deadline
      }
      byte[] all = later.bytes();
      byte[] trailing = java.util.Arrays.copyOfRange(all, position, all.length);
      return new Answer(answer.status(), answer.headers(), answer.body(),
          later.eof ? later.eofBecause : "still open after the response", answer.millis(), later.eof, trailing);
    }

    /** A reader that continues {@code from} with a later deadline. */
    private Reader(Socket socket, long deadline, Reader from) {
      this.socket = socket;
      this.in = from.in;
      this.deadline = deadline;
      this.received.writeBytes(from.bytes());
      this.position = from.position;
      this.eof = from.eof;
      this.eofBecause = from.eofBecause;
    }
  }

  static int indexOf(byte[] haystack, byte[] needle, int from) {
    outer:
    for (int i = from; i + needle.length <= haystack.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (haystack[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }
}
