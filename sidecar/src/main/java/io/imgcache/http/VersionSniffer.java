package io.imgcache.http;

import com.google.common.collect.MapMaker;
import io.undertow.server.AbstractServerConnection;
import io.undertow.server.HttpServerExchange;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.concurrent.ConcurrentMap;
import org.xnio.StreamConnection;
import org.xnio.conduits.AbstractStreamSourceConduit;
import org.xnio.conduits.StreamSourceConduit;

/**
 * Remembers request lines whose HTTP version Undertow's parser serves as HTTP/1.1 although this
 * server does not speak it — HTTP/3.0, HTTP/9.9, any major version but 0, 1 and 2.0, which the
 * parser keeps — so that they get RFC 9110 §15.6.6's 505 (RFC 9112 §2.6), as nginx gives them.
 * Undertow drops the version it did not know before any handler runs; the only place left to see
 * it is the bytes as they are read, so every connection's source gets a {@link #watch conduit}
 * that scans what is read for such a version at the end of a line.
 *
 * <p>A request line counts only when it lies within one read (a request's first bytes start a read
 * in practice; a line dribbled across reads is served as 1.1, as before). Lines are matched to
 * exchanges by method and target, so a header or body that happens to end like a request line
 * cannot refuse another request. A connection's lines are touched only on its IO thread (reads and
 * handlers both run there); the map is weak, so a closed connection's entry goes with it.
 */
final class VersionSniffer {
  private static final int MAX_PENDING = 16;
  private static final int MAX_LINE = 8192;

  /** Unsupported request lines ("METHOD target", then the version) per connection, oldest first. */
  private final ConcurrentMap<StreamConnection, ArrayDeque<String[]>> pending = new MapMaker().weakKeys().makeMap();

  /** Puts the scanning conduit under {@code connection}'s source; call before Undertow sees it. */
  void watch(StreamConnection connection) {
    var source = connection.getSourceChannel();
    source.setConduit(new Scanner(source.getConduit(), connection));
  }

  /**
   * On the exchange's IO thread: the unsupported version {@code exchange}'s request line was sent
   * with (it is forgotten then), or null. Costs one map check while no connection has any.
   */
  String unsupportedVersion(HttpServerExchange exchange) {
    if (pending.isEmpty() || !(exchange.getConnection() instanceof AbstractServerConnection connection)) {
      return null;
    }
    ArrayDeque<String[]> lines = pending.get(connection.getChannel());
    if (lines == null) {
      return null;
    }
    String query = exchange.getQueryString();
    String line = exchange.getRequestMethod() + " " + exchange.getRequestURI() + (query.isEmpty() ? "" : "?" + query);
    for (Iterator<String[]> it = lines.iterator(); it.hasNext(); ) {
      String[] seen = it.next();
      if (seen[0].equals(line)) {
        it.remove();
        if (lines.isEmpty()) {
          pending.remove(connection.getChannel());
        }
        return seen[1];
      }
    }
    return null;
  }

  private void found(StreamConnection connection, String line, String version) {
    ArrayDeque<String[]> lines = pending.computeIfAbsent(connection, c -> new ArrayDeque<>());
    if (lines.size() == MAX_PENDING) {
      lines.removeFirst();
    }
    lines.addLast(new String[] {line, version});
  }

  /** Passes reads through and looks at what they brought. */
  private final class Scanner extends AbstractStreamSourceConduit<StreamSourceConduit> {
    private final StreamConnection connection;

    Scanner(StreamSourceConduit next, StreamConnection connection) {
      super(next);
      this.connection = connection;
    }

    @Override
    public int read(ByteBuffer dst) throws IOException {
      int start = dst.position();
      int n = next.read(dst);
      if (n > 0) {
        scan(dst, start, start + n);
      }
      return n;
    }

    @Override
    public long read(ByteBuffer[] dsts, int offs, int len) throws IOException {
      int[] starts = new int[len];
      for (int i = 0; i < len; i++) {
        starts[i] = dsts[offs + i].position();
      }
      long n = next.read(dsts, offs, len);
      if (n > 0) {
        for (int i = 0; i < len; i++) {
          scan(dsts[offs + i], starts[i], dsts[offs + i].position());
        }
      }
      return n;
    }

    /**
     * Looks in {@code [from, to)} for "SP HTTP/d.d CRLF" with a major version Undertow would turn
     * into 1.1, and takes the line it ends.
     */
    private void scan(ByteBuffer buffer, int from, int to) {
      for (int i = from + 10; i < to; i++) {
        if (buffer.get(i) != '\n' || buffer.get(i - 1) != '\r' || buffer.get(i - 3) != '.' || buffer.get(i - 10) != ' '
            || buffer.get(i - 9) != 'H' || buffer.get(i - 8) != 'T' || buffer.get(i - 7) != 'T'
            || buffer.get(i - 6) != 'P' || buffer.get(i - 5) != '/') {
          continue;
        }
        byte major = buffer.get(i - 4);
        byte minor = buffer.get(i - 2);
        if (major < '2' || major > '9' || minor < '0' || minor > '9' || (major == '2' && minor == '0')) {
          continue;
        }
        int lineStart = i - 10;
        while (lineStart > from && buffer.get(lineStart - 1) != '\n' && i - lineStart < MAX_LINE) {
          lineStart--;
        }
        byte[] line = new byte[i - 10 - lineStart]; // "METHOD target"
        buffer.get(lineStart, line);
        found(connection, new String(line, StandardCharsets.ISO_8859_1), "HTTP/" + (char) major + '.' + (char) minor);
      }
    }
  }
}
