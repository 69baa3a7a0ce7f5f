package io.imgcache.http;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.any;
import static com.github.tomakehurst.wiremock.client.WireMock.anyUrl;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathMatching;
import static io.imgcache.http.RawClient.ascii;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.github.tomakehurst.wiremock.WireMockServer;
import com.github.tomakehurst.wiremock.client.WireMock;
import com.github.tomakehurst.wiremock.verification.LoggedRequest;
import com.google.common.io.BaseEncoding;
import com.sun.management.UnixOperatingSystemMXBean;
import com.typesafe.config.ConfigFactory;
import io.imgcache.Node;
import io.imgcache.config.ImgcacheConfig;
import io.imgcache.key.KeyPolicy;
import io.imgcache.peer.PeerProtocol;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Malformed and hostile requests against the front port and the peer endpoint of one node with
 * {@code peers.token} and {@code admin.token} set (the issue "hostile input"). Each request goes
 * byte for byte on a fresh socket; the node must answer within {@link #READ_TIMEOUT} with the 4xx
 * (or 501/505) the row allows, or close without answering where RFC 9112 lets it — never another
 * 5xx, never a hang — and then still serve exact bytes promptly. Then slowloris and thousands of
 * idle connections at once, and at the end the heap and the node's own 5xx count.
 *
 * <p>Decisions the rows encode (RFC 9112 unless said otherwise):
 * <ul>
 *   <li>Where the RFC lets a server either reject or repair (bare LF §2.2, bare CR §2.2, obs-fold
 *       §5.2, NUL in a value RFC 9110 §5.5, extra whitespace in the request line §3, a duplicated
 *       equal Content-Length RFC 9110 §8.6), the row accepts the 4xx or a 200 with the exact bytes.
 *   <li>Absolute-form and CONNECT get 400: DESIGN §3 (no open proxy) overrides §3.2.2's "MUST
 *       accept absolute-form" on purpose.
 *   <li>{@code ..} and {@code %2e%2e} are not resolved: the target goes to the configured origin
 *       verbatim (DESIGN §3, the key is the raw target), so the answer must be the origin's own —
 *       the node has nothing else to reach. (WireMock's Jetty refuses such paths itself with an HTML
 *       400 before its journal sees them; {@link #fromOrigin} tells that page from a node answer.)
 *   <li>{@code OPTIONS *} is passed through like every other non-GET (DESIGN §3): the origin's
 *       answer, whatever it is, counts as the origin's (WireMock answers it with its own 500).
 *   <li>A major version other than 1 gets 505, as from nginx: HTTP/0.9 and HTTP/2.0, which Undertow
 *       passes on, and HTTP/3.0 or HTTP/9.9, which it rewrites to HTTP/1.1 before a handler runs
 *       (found in the bytes read instead); HTTP/1.2 is served as HTTP/1.1 (RFC 9110 §6.2).
 *   <li>Bodies of pass-through requests are streamed; 100 MB gets 413 (Content-Length) or a close
 *       (chunked, past the 64 MiB cap), and the heap must not grow by the body.
 *   <li>Rows whose body is streamed record what the origin received; see
 *       {@link #aChunkedUploadCutShortNeverReachesTheOriginAsComplete} for what is wrong there.
 * </ul>
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class HostileInputIT {
  private static final Duration READ_TIMEOUT = Duration.ofSeconds(5);
  /** A good request answered slower than this, at any point, is a failure. */
  private static final Duration PROMPT = Duration.ofSeconds(1);
  private static final String PEER_TOKEN = "peer-secret-1";
  private static final String ADMIN_TOKEN = "admin-secret-1";
  private static final String GROUP = "imgcache2";
  private static final String GOOD = "/v2/image/png/good?w=850&h=200";
  /** GOOD's cache key: what a peer asks for (query sorted). */
  private static final String GOOD_KEY = "/v2/image/png/good?h=200&w=850";
  private static final String UPLOAD = "/v2/upload/pass";
  private static final long HEAP_SLACK = 256L << 20;
  private static final BaseEncoding BASE64URL = BaseEncoding.base64Url().omitPadding();

  private static WireMockServer origin;
  private static Node node;
  private static byte[] goodBody;
  private static long baselineHeap;
  /** 5xx answers the node made itself: must stay empty. */
  private static final ConcurrentLinkedQueue<String> fiveHundreds = new ConcurrentLinkedQueue<>();
  /** 5xx answers that were the origin's own, relayed (pass-through of what the origin said). */
  private static final ConcurrentLinkedQueue<String> relayed5xx = new ConcurrentLinkedQueue<>();
  /** Good requests that took longer than {@link #PROMPT} once (see {@link #prompt}). */
  private static final ConcurrentLinkedQueue<String> slowAnswers = new ConcurrentLinkedQueue<>();
  private static final List<String> table = Collections.synchronizedList(new ArrayList<>());
  private static final List<String> figures = Collections.synchronizedList(new ArrayList<>());

  @BeforeAll
  static void startNode() {
    origin = OneNode.startOrigin();
    goodBody = OneNode.randomBytes(4242, 20_000);
    // Anything else the node sends the origin is answered and marked, so an answer can be told apart.
    origin.stubFor(any(anyUrl()).willReturn(aResponse().withStatus(200)
        .withHeader("X-Origin", "wiremock").withBody("origin answered")));
    origin.stubFor(get(urlEqualTo(GOOD_KEY)).willReturn(aResponse().withStatus(200)
        .withHeader("Content-Type", "image/png").withHeader("ETag", "\"good\"").withBody(goodBody)));
    origin.stubFor(get(urlPathMatching("/v2/image/probe/.*")).willReturn(aResponse().withStatus(200)
        .withHeader("Content-Type", "image/png").withBody(probeBody())));
    node = Node.start(config("http://127.0.0.1:" + origin.port()));
    // Warm: the good key is a main-cache hit from now on, so rejected rows can be checked for
    // not reaching the origin.
    // The first requests of a fresh JVM are slow (class loading, JIT; more so on a busy build host):
    // they get the fixtures' generous timeout and are not timed.
    RawClient.Answer warm = RawClient.exchange(node.port(),
        ascii("GET " + GOOD + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"), OneNode.REQUEST_TIMEOUT);
    assertEquals(200, warm.status(), warm::summary);
    assertEquals("MISS", warm.header("X-Cache"), warm::summary);
    for (int i = 0; i < 20; i++) {
      RawClient.exchange(node.port(), ascii("GET " + GOOD + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"),
          OneNode.REQUEST_TIMEOUT);
    }
    assertEquals(GOOD_KEY, new KeyPolicy(true, List.of(), 2048).keyFor(GOOD.substring(0, GOOD.indexOf('?')),
        GOOD.substring(GOOD.indexOf('?') + 1)));
    baselineHeap = usedHeapAfterGc();
  }

  @AfterAll
  static void stopNode() {
    try {
      System.out.println("== HostileInputIT table (row | expected | got)");
      table.forEach(System.out::println);
      System.out.println("== figures");
      figures.forEach(System.out::println);
      if (node != null) {
        node.close();
      }
    } finally {
      origin.stop();
    }
  }

  // ---- the table ----

  /** A row: a request (head bytes, optionally a streamed body), the rule it exercises and what is allowed. */
  record Row(String name, String rule, byte[] head, RawClient.Body body, Expect expect, OriginCheck originCheck) {
    @Override
    public String toString() {
      return name + " [" + rule + "]";
    }
  }

  /**
   * What a row allows: one of {@code statuses} (a 200 must carry the good bytes when {@code
   * goodOn200}), a close without a response when {@code closeOk}, or — with {@code originAnswers} —
   * whatever the origin itself answered, relayed. {@code originOk} says whether the origin may be
   * contacted at all; {@code mustClose} that the node must close the connection after its answer.
   */
  record Expect(Set<Integer> statuses, boolean closeOk, boolean goodOn200, boolean originOk, boolean mustClose,
      boolean originAnswers, boolean streamed) {
    static Expect exactly(Integer... statuses) {
      return new Expect(Set.of(statuses), false, false, false, false, false, false);
    }

    static Expect orClose(Integer... statuses) {
      return new Expect(Set.of(statuses), true, false, false, false, false, false);
    }

    /** Rejected, or repaired and served: 200 with the exact good bytes. */
    static Expect rejectOrServe(Integer... statuses) {
      Set<Integer> all = new TreeSet<>(Set.of(statuses));
      all.add(200);
      return new Expect(all, false, true, false, false, false, false);
    }

    /** A pass-through the origin may answer (200 "origin answered") or the node may refuse. */
    static Expect passOr(Integer... statuses) {
      Set<Integer> all = new TreeSet<>(Set.of(statuses));
      all.add(200);
      return new Expect(all, true, false, true, false, false, false);
    }

    /** Sent on to the origin: its own answer, whatever it is, or one of {@code statuses} from the node. */
    static Expect originsAnswerOr(Integer... statuses) {
      return new Expect(Set.of(statuses), true, false, true, false, true, false);
    }

    Expect thenClose() {
      return new Expect(statuses, closeOk, goodOn200, originOk, true, originAnswers, streamed);
    }

    /** The body is streamed to the origin as it arrives, so the origin may see the request begin. */
    Expect bodyStreamed() {
      return new Expect(statuses, closeOk, goodOn200, true, mustClose, originAnswers, true);
    }

    Expect closeAllowed() {
      return new Expect(statuses, true, goodOn200, originOk, mustClose, originAnswers, streamed);
    }

    @Override
    public String toString() {
      return (originAnswers ? "origin's answer/" : "")
          + new TreeSet<>(statuses).stream().map(String::valueOf).collect(Collectors.joining("/"))
          + (closeOk ? "/close" : "") + (mustClose ? " +close" : "") + (goodOn200 && statuses.contains(200)
          ? " (200 = exact bytes)" : "");
    }
  }

  /** What the origin must (not) have seen for a row, given the requests it received during the row. */
  interface OriginCheck {
    void check(List<LoggedRequest> received);
  }

  private static Row row(String name, String rule, String request, Expect expect) {
    return new Row(name, rule, ascii(request), null, expect, null);
  }

  private static String goodGet(String headers) {
    return "GET " + GOOD + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + headers + "\r\n";
  }

  private static String post(String headers, String body) {
    return "POST " + UPLOAD + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + headers + "\r\n" + body;
  }

  private static String peerPath(String key) {
    return PeerProtocol.PREFIX + GROUP + "/" + BASE64URL.encode(key.getBytes(StandardCharsets.UTF_8));
  }

  static Stream<Row> rows() {
    String bearerPeer = "Authorization: Bearer " + PEER_TOKEN + "\r\n";
    String bearerAdmin = "Authorization: Bearer " + ADMIN_TOKEN + "\r\n";
    String goodPeer = peerPath(GOOD_KEY);
    String hidden1 = "GET /v2/image/smuggled-1 HTTP/1.1\r\nHost: x\r\n\r\n";
    String hidden2 = "GET /v2/image/smuggled-2 HTTP/1.1\r\nHost: x\r\n\r\n";
    List<Row> rows = new ArrayList<>(List.of(
        // -- request line: RFC 9112 §3, RFC 9110 §9.1 (method = token)
        row("non-token character in the method", "9110 §9.1 method = token; 9112 §3 invalid request-line",
            "G(T " + GOOD + " HTTP/1.1\r\nHost: x\r\n\r\n", Expect.orClose(400, 501)),
        row("empty method (line starts with SP)", "9112 §3 request-line = method SP target SP version",
            " " + GOOD + " HTTP/1.1\r\nHost: x\r\n\r\n", Expect.orClose(400)),
        row("missing HTTP version", "9112 §3 / §2.3: HTTP/0.9-style line is not HTTP/1.x",
            "GET " + GOOD + "\r\nHost: x\r\n\r\n", Expect.orClose(400, 505)),
        row("HTTP/2.0 in an HTTP/1 request line", "9110 §6.2, §15.6.6: unsupported major version -> 505",
            "GET " + GOOD + " HTTP/2.0\r\nHost: x\r\n\r\n", Expect.orClose(400, 505)),
        // Undertow turns any version it does not know (HTTP/9.9, HTTP/3.0, HTTP/1.2) into HTTP/1.1
        // before a handler runs; VersionSniffer finds the line in the bytes read (issue 10 item 7).
        row("HTTP/9.9", "9110 §6.2, §15.6.6: unsupported major version -> 505",
            "GET " + GOOD + " HTTP/9.9\r\nHost: x\r\n\r\n", Expect.orClose(505)),
        row("HTTP/3.0", "9110 §6.2, §15.6.6: unsupported major version -> 505",
            "GET " + GOOD + " HTTP/3.0\r\nHost: x\r\n\r\n", Expect.orClose(505)),
        row("HTTP/0.9 version token", "9110 §6.2: unsupported major version -> 505",
            "GET " + GOOD + " HTTP/0.9\r\nHost: x\r\n\r\n", Expect.orClose(400, 505)),
        row("HTTP/1.2 (higher minor)", "9110 §6.2: process as the highest 1.x minor (200) or refuse",
            "GET " + GOOD + " HTTP/1.2\r\nHost: x\r\n\r\n", Expect.rejectOrServe(400, 505)),
        row("lower-case http/1.1", "9112 §2.3: HTTP-name is case-sensitive",
            "GET " + GOOD + " http/1.1\r\nHost: x\r\n\r\n", Expect.orClose(400, 505)),
        row("junk after the version", "9112 §3: HTTP-version = HTTP-name / DIGIT . DIGIT",
            "GET " + GOOD + " HTTP/1.1x\r\nHost: x\r\n\r\n", Expect.orClose(400, 505)),
        row("a fourth request-line element", "9112 §3: exactly three elements",
            "GET " + GOOD + " HTTP/1.1 extra\r\nHost: x\r\n\r\n", Expect.orClose(400, 505)),
        row("two SPs after the method", "9112 §3: single SP; MAY parse on whitespace (then 200)",
            "GET  " + GOOD + " HTTP/1.1\r\nHost: x\r\n\r\n", Expect.rejectOrServe(400).closeAllowed()),
        row("HTAB as separator", "9112 §3: single SP; MAY treat HTAB as SP (then 200)",
            "GET\t" + GOOD + "\tHTTP/1.1\r\nHost: x\r\n\r\n", Expect.rejectOrServe(400).closeAllowed()),
        row("bare LF line endings", "9112 §2.2: MAY recognise a bare LF as line terminator (then 200)",
            "GET " + GOOD + " HTTP/1.1\nHost: x\n\n", Expect.rejectOrServe(400).closeAllowed()),
        row("empty line before the request line", "9112 §2.2: SHOULD ignore at least one empty line",
            "\r\n" + goodGet(""), Expect.rejectOrServe(400)),
        row("whitespace-led line before the first header", "9112 §2.2: MUST reject or ignore that line",
            "GET " + GOOD + " HTTP/1.1\r\n X-Sneaky: 1\r\nHost: x\r\n\r\n", Expect.rejectOrServe(400)),
        row("not HTTP at all (TLS ClientHello)", "9112 §2.2: not a request-line",
            "\u0016\u0003\u0001\u0002\u0000\u0001\u0000\u0001\u00fc\u0003\u0003garbage\r\n\r\n", Expect.orClose(400)),
        // -- header fields: RFC 9112 §5, RFC 9110 §5
        row("obs-fold continuation line", "9112 §5.2: MUST 400, or replace the fold by SP (then 200)",
            goodGet("X-Folded: a\r\n b\r\n"), Expect.rejectOrServe(400)),
        new Row("obs-fold on a pass-through", "9112 §5.2: if accepted, the fold is SP when forwarded",
            ascii(post("X-Folded: a\r\n b\r\nContent-Length: 4\r\n", "abcd")), null, Expect.passOr(400),
            received -> received.forEach(r -> assertEquals("a b", r.getHeader("X-Folded"),
                "the origin saw a folded (or CR/LF-carrying) header"))),
        row("SP between field name and colon", "9112 §5.1: MUST reject with 400",
            goodGet("X-Space : 1\r\n"), Expect.exactly(400)),
        row("HTAB between field name and colon", "9112 §5.1: MUST reject with 400",
            goodGet("X-Tab\t: 1\r\n"), Expect.exactly(400)),
        row("header line without a colon", "9112 §5: field-line = field-name \":\" ...",
            goodGet("X-No-Colon\r\n"), Expect.orClose(400)),
        row("empty field name", "9110 §5.1: field-name = token (1*tchar)",
            goodGet(": empty\r\n"), Expect.orClose(400)),
        row("non-token character in a field name", "9110 §5.1: field-name = token",
            goodGet("X(y): 1\r\n"), Expect.orClose(400)),
        row("NUL in a header value", "9110 §5.5: MUST reject or replace NUL by SP (then 200)",
            goodGet("X-Nul: a\0b\r\n"), Expect.rejectOrServe(400).closeAllowed()),
        row("bare CR in a header value", "9112 §2.2: bare CR MUST be invalid or replaced by SP (then 200)",
            goodGet("X-Cr: a\rb\r\n"), Expect.rejectOrServe(400).closeAllowed()),
        row("bare CR hiding a second Host", "9112 §2.2 + §3.2: never a line break; 2 Hosts -> 400",
            goodGet("X-Cr: a\rHost: evil\r\n"), Expect.rejectOrServe(400).closeAllowed()),
        // -- Host: RFC 9112 §3.2
        row("two Host headers", "9112 §3.2: MUST 400 on more than one Host",
            goodGet("Host: other\r\n"), Expect.exactly(400)),
        row("two Host headers on /_imgcache/healthz", "9112 §3.2: MUST 400, whatever the path",
            "GET /_imgcache/healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", Expect.exactly(400)),
        row("two Host headers on the peer path", "9112 §3.2: MUST 400, whatever the path",
            "GET " + goodPeer + " HTTP/1.1\r\nHost: a\r\nHost: b\r\n" + bearerPeer + "\r\n", Expect.exactly(400)),
        row("HTTP/1.1 without Host", "9112 §3.2: MUST 400 on an HTTP/1.1 request without Host",
            "GET " + GOOD + " HTTP/1.1\r\n\r\n", Expect.exactly(400)),
        row("HTTP/1.1 without Host on the peer path", "9112 §3.2: MUST 400, whatever the path",
            "GET " + goodPeer + " HTTP/1.1\r\n" + bearerPeer + "\r\n", Expect.exactly(400)),
        row("Host with userinfo", "9112 §3.2 + 9110 §7.2: Host = uri-host [:port]; invalid value MUST 400",
            "GET " + GOOD + " HTTP/1.1\r\nHost: user:pw@127.0.0.1\r\n\r\n", Expect.exactly(400)),
        row("Host with a space inside", "9112 §3.2: invalid Host value MUST 400",
            "GET " + GOOD + " HTTP/1.1\r\nHost: a b\r\n\r\n", Expect.exactly(400)),
        row("empty Host (control: valid)", "9112 §3.2: an empty Host is valid -> 200",
            "GET " + GOOD + " HTTP/1.1\r\nHost:\r\n\r\n", Expect.rejectOrServe()),
        row("HTTP/1.0 without Host (control: valid)", "9112 §3.2: Host is required in HTTP/1.1 only",
            "GET " + GOOD + " HTTP/1.0\r\n\r\n", Expect.rejectOrServe()),
        // -- message body framing: RFC 9112 §6, RFC 9110 §8.6
        row("two different Content-Lengths", "9112 §6.3(5): invalid CL, MUST 400 and close",
            post("Content-Length: 3\r\nContent-Length: 4\r\n", "abcd"), Expect.exactly(400).thenClose()),
        row("Content-Length list of different values", "9112 §6.3(5): invalid CL, MUST 400",
            post("Content-Length: 3, 4\r\n", "abcd"), Expect.exactly(400).thenClose()),
        row("the same Content-Length twice", "9110 §8.6: MAY reject or use the one value",
            post("Content-Length: 4\r\nContent-Length: 4\r\n", "abcd"), Expect.passOr(400)),
        row("Content-Length not digits", "9112 §6.3(5): invalid CL, MUST 400",
            post("Content-Length: abc\r\n", "abcd"), Expect.exactly(400).thenClose()),
        row("negative Content-Length", "9112 §6.3(5): invalid CL, MUST 400",
            post("Content-Length: -1\r\n", "abcd"), Expect.exactly(400).thenClose()),
        row("Content-Length with a plus sign", "9110 §8.6: Content-Length = 1*DIGIT; invalid MUST 400",
            post("Content-Length: +4\r\n", "abcd"), Expect.exactly(400).thenClose()),
        row("Content-Length beyond 2^63", "9112 §6.3(5): invalid CL, MUST 400 (413 also honest)",
            post("Content-Length: 99999999999999999999\r\n", "abcd"), Expect.exactly(400, 413).closeAllowed()),
        row("CL.TE smuggling: request hidden after the zero chunk", "9112 §6.1: TE wins over CL, MUST close after",
            post("Content-Length: " + ("0\r\n\r\n" + hidden1).length() + "\r\nTransfer-Encoding: chunked\r\n",
                "0\r\n\r\n" + hidden1),
            Expect.passOr(400).thenClose()),
        row("TE.CL smuggling: CL shorter than the chunked body", "9112 §6.1, §6.3(3): ignore CL, MUST close after",
            post("Content-Length: 4\r\nTransfer-Encoding: chunked\r\n",
                Integer.toHexString(hidden2.length()) + "\r\n" + hidden2 + "\r\n0\r\n\r\n"),
            Expect.passOr(400).thenClose()),
        row("Transfer-Encoding: gzip (chunked not final)", "9112 §6.3(4): MUST 400 and close",
            post("Transfer-Encoding: gzip\r\n", "abcd"), Expect.exactly(400).thenClose().closeAllowed()),
        row("Transfer-Encoding: chunked, gzip", "9112 §6.3(4): chunked not final, MUST 400 and close",
            post("Transfer-Encoding: chunked, gzip\r\n", "4\r\nabcd\r\n0\r\n\r\n"),
            Expect.exactly(400).thenClose().closeAllowed()),
        row("Transfer-Encoding: gzip, chunked", "9112 §6.1: coding not understood, SHOULD 501",
            post("Transfer-Encoding: gzip, chunked\r\n", "4\r\nabcd\r\n0\r\n\r\n"),
            Expect.exactly(400, 501).thenClose().closeAllowed()),
        new Row("Transfer-Encoding: CHUNKED (control: valid)", "9112 §7: coding names are case-insensitive",
            ascii(post("Transfer-Encoding: CHUNKED\r\n", "4\r\nabcd\r\n0\r\n\r\n")), null, Expect.passOr(),
            received -> {
              assertEquals(1, received.size(), "the origin gets the request once");
              assertEquals("abcd", received.get(0).getBodyAsString(), "the origin gets the body");
            }),
        row("Transfer-Encoding: chunked then identity", "9112 §6.3(4): final coding is not chunked -> 400",
            post("Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n", "4\r\nabcd\r\n0\r\n\r\n"),
            Expect.exactly(400, 501).thenClose().closeAllowed()),
        row("Transfer-Encoding: xchunked (unknown coding)", "9112 §6.1 SHOULD 501; §6.3(4) 400",
            post("Transfer-Encoding: xchunked\r\n", "abcd"), Expect.exactly(400, 501).thenClose().closeAllowed()),
        row("TE chunked in an HTTP/1.0 request", "9112 §6.1: faulty framing, close after processing",
            "POST " + UPLOAD + " HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n",
            Expect.passOr(400).thenClose()),
        row("chunk size not hex", "9112 §7.1: chunk-size = 1*HEXDIG",
            post("Transfer-Encoding: chunked\r\n", "zz\r\nabcd\r\n0\r\n\r\n"), Expect.orClose(400).bodyStreamed()),
        row("chunk size overflowing 64 bits", "9112 §7.1: MUST anticipate overflow",
            post("Transfer-Encoding: chunked\r\n", "ffffffffffffffffffff\r\nabcd\r\n0\r\n\r\n"),
            Expect.orClose(400, 413).bodyStreamed()),
        // -- request target: RFC 9112 §3.2, DESIGN §3
        row("absolute-form target", "DESIGN §3 (no open proxy) over 9112 §3.2.2 -> 400",
            "GET http://evil.example" + GOOD + " HTTP/1.1\r\nHost: evil.example\r\n\r\n", Expect.exactly(400)),
        row("absolute-form naming this node", "DESIGN §3 over 9112 §3.2.2 -> 400",
            "GET http://127.0.0.1:" + node.port() + GOOD + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", Expect.exactly(400)),
        row("CONNECT authority-form", "9110 §9.3.6 (a server may refuse tunnels); DESIGN §3 -> 400",
            "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", Expect.orClose(400, 405, 501)),
        row("OPTIONS * (asterisk-form)", "9112 §3.2.4: server-wide OPTIONS; origin's answer or 4xx",
            "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", Expect.originsAnswerOr(400, 404, 405, 501)),
        row("GET * (asterisk-form with GET)", "9112 §3.2.4: asterisk-form only for OPTIONS -> 400",
            "GET * HTTP/1.1\r\nHost: x\r\n\r\n", Expect.orClose(400)),
        row("target without a leading slash", "9112 §3.2.1: origin-form = absolute-path [ ? query ]",
            "GET v2/image/png/good HTTP/1.1\r\nHost: x\r\n\r\n", Expect.orClose(400)),
        row("10,000-byte path", "9112 §3: SHOULD 414 for a too-long target; key max-length 2048",
            "GET /" + "a".repeat(10_000) + " HTTP/1.1\r\nHost: x\r\n\r\n", Expect.exactly(414)),
        row("100 KB path (over the 32 KB head limit)", "9112 §3 414 / RFC 6585 431, or close",
            "GET /" + "a".repeat(100_000) + " HTTP/1.1\r\nHost: x\r\n\r\n", Expect.orClose(400, 414, 431)),
        row("64 KB header", "RFC 6585 §5: 431 (or 400, or close)",
            goodGet("X-Big: " + "b".repeat(64 * 1024) + "\r\n"), Expect.orClose(400, 431)),
        row("200 header fields", "RFC 6585 §5: 431 (or 400, or close)",
            goodGet(manyHeaders(200)), Expect.orClose(400, 431)),
        row("raw control character (0x01) in the path", "9112 §3.2: target is visible ASCII",
            "GET /v2/image/a\u0001b HTTP/1.1\r\nHost: x\r\n\r\n", Expect.orClose(400)),
        row("NUL in the path", "9112 §3.2: target is visible ASCII",
            "GET /v2/image/a\0b HTTP/1.1\r\nHost: x\r\n\r\n", Expect.orClose(400)),
        row("DEL in the path", "9112 §3.2: target is visible ASCII",
            "GET /v2/image/a\u007fb HTTP/1.1\r\nHost: x\r\n\r\n", Expect.orClose(400)),
        row("invalid percent-encoding %zz", "3986 §2.1: pct-encoded = % HEXDIG HEXDIG",
            "GET /v2/image/%zz HTTP/1.1\r\nHost: x\r\n\r\n", Expect.exactly(400)),
        row("% at the end of the path", "3986 §2.1: pct-encoded = % HEXDIG HEXDIG",
            "GET /v2/image/a% HTTP/1.1\r\nHost: x\r\n\r\n", Expect.exactly(400)),
        row("% at the end of the query", "3986 §2.1: pct-encoded = % HEXDIG HEXDIG",
            "GET /v2/image/a?w=1% HTTP/1.1\r\nHost: x\r\n\r\n", Expect.exactly(400)),
        row("encoded CRLF (%0d%0a) in the target", "DESIGN §3: no encoded control characters in a key",
            "GET /v2/image/a%0d%0aX-Injected:%20yes HTTP/1.1\r\nHost: x\r\n\r\n", Expect.exactly(400)),
        row("non-ASCII bytes in the target", "9112 §3.2 / 3986: target is ASCII",
            "GET /v2/image/caf\u00c3\u00a9 HTTP/1.1\r\nHost: x\r\n\r\n", Expect.orClose(400)),
        row("'..' segments", "3986 §5.2.4 not applied: goes verbatim to the origin only (DESIGN §3)",
            "GET /v2/../../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n", Expect.originsAnswerOr()),
        row("'%2e%2e' segments", "3986 §6.2.2.2 not applied: goes verbatim to the origin only",
            "GET /v2/%2e%2e/%2E%2E/etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n", Expect.originsAnswerOr()),
        // -- the peer protocol: DESIGN §6
        row("peer: bad base64url key", "DESIGN §6: key is unpadded base64url -> 400",
            "GET /_groupcache/" + GROUP + "/ab*c HTTP/1.1\r\nHost: x\r\n" + bearerPeer + "\r\n",
            Expect.exactly(400)),
        row("peer: padded base64 key", "DESIGN §6: unpadded -> 400",
            "GET /_groupcache/" + GROUP + "/L2E= HTTP/1.1\r\nHost: x\r\n" + bearerPeer + "\r\n", Expect.exactly(400)),
        row("peer: '..' as the key", "DESIGN §6: one base64url segment -> 400",
            "GET /_groupcache/" + GROUP + "/../_imgcache/stats HTTP/1.1\r\nHost: x\r\n" + bearerPeer + "\r\n",
            Expect.exactly(400)),
        row("peer: missing token", "DESIGN §6 peers.token -> 401",
            "GET " + goodPeer + " HTTP/1.1\r\nHost: x\r\n\r\n", Expect.exactly(401)),
        row("peer: wrong token", "DESIGN §6 peers.token -> 401",
            "GET " + goodPeer + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer nope\r\n\r\n", Expect.exactly(401)),
        row("peer: token with the Basic scheme", "DESIGN §6: Authorization: Bearer -> 401",
            "GET " + goodPeer + " HTTP/1.1\r\nHost: x\r\nAuthorization: Basic " + PEER_TOKEN + "\r\n\r\n",
            Expect.exactly(401)),
        row("peer: token prefix only", "DESIGN §6: the matching token -> 401",
            "GET " + goodPeer + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer peer-secret\r\n\r\n",
            Expect.exactly(401)),
        row("peer: unknown group (with token)", "DESIGN §6 -> 404",
            "GET /_groupcache/nosuchgroup/L2E HTTP/1.1\r\nHost: x\r\n" + bearerPeer + "\r\n", Expect.exactly(404)),
        row("peer: POST", "9110 §15.5.6: method not allowed -> 405",
            "POST " + goodPeer + " HTTP/1.1\r\nHost: x\r\n" + bearerPeer + "Content-Length: 0\r\n\r\n",
            Expect.exactly(405)),
        row("peer: DELETE (purge) without a token", "DESIGN §6 peers.token -> 401",
            "DELETE " + goodPeer + " HTTP/1.1\r\nHost: x\r\n\r\n", Expect.exactly(401)),
        row("peer: good key with the token (control)", "DESIGN §6 -> 200 with the exact bytes",
            "GET " + goodPeer + " HTTP/1.1\r\nHost: x\r\n" + bearerPeer + "\r\n", Expect.rejectOrServe()),
        // -- admin: DESIGN §4, §8
        row("PURGE without the admin token (loopback)", "DESIGN §8 admin.token set -> 401 even from loopback",
            "PURGE " + GOOD + " HTTP/1.1\r\nHost: x\r\n\r\n", Expect.exactly(401)),
        row("PURGE with a wrong admin token", "DESIGN §8 -> 401",
            "PURGE " + GOOD + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer nope\r\n\r\n", Expect.exactly(401)),
        row("PURGE with the peer token", "DESIGN §8: admin needs the admin token -> 401",
            "PURGE " + GOOD + " HTTP/1.1\r\nHost: x\r\n" + bearerPeer + "\r\n", Expect.exactly(401)),
        row("DELETE /_imgcache/cache without the token", "DESIGN §8 -> 401",
            "DELETE /_imgcache/cache?key=" + GOOD.replace("?", "%3F").replace("&", "%26")
                + " HTTP/1.1\r\nHost: x\r\n\r\n", Expect.exactly(401)),
        row("/_imgcache/stats without the token", "DESIGN §8 -> 401",
            "GET /_imgcache/stats HTTP/1.1\r\nHost: x\r\n\r\n", Expect.exactly(401)),
        row("/_imgcache/ring without the token", "DESIGN §8 -> 401",
            "GET /_imgcache/ring HTTP/1.1\r\nHost: x\r\n\r\n", Expect.exactly(401)),
        row("/_imgcache/ring with the admin token (control)", "DESIGN §8 -> 200",
            "GET /_imgcache/ring HTTP/1.1\r\nHost: x\r\n" + bearerAdmin + "\r\n",
            Expect.exactly(200))));
    // -- size: a 100 MB body to a pass-through path (HttpServer.MAX_REQUEST_BODY is 64 MiB)
    long hundredMb = 100L * 1000 * 1000;
    rows.add(new Row("100 MB upload with Content-Length", "9110 §15.5.14: 413, or close; never buffered",
        ascii(post("Content-Length: " + hundredMb + "\r\nContent-Type: application/octet-stream\r\n", "")),
        out -> writeZeros(out, hundredMb, false), Expect.passOr(413).thenClose().closeAllowed(), null));
    rows.add(new Row("100 MB chunked upload", "9110 §15.5.14: 413, or close; never buffered",
        ascii(post("Transfer-Encoding: chunked\r\nContent-Type: application/octet-stream\r\n", "")),
        out -> writeZeros(out, hundredMb, true), Expect.passOr(413).closeAllowed().bodyStreamed(), null));
    return rows.stream();
  }

  private static String manyHeaders(int n) {
    StringBuilder headers = new StringBuilder();
    for (int i = 0; i < n; i++) {
      headers.append("X-H").append(i).append(": ").append(i).append("\r\n");
    }
    return headers.toString();
  }

  /** Writes {@code n} zero bytes, plain or as 64 KiB chunks; allocates 64 KiB, whatever {@code n}. */
  private static void writeZeros(OutputStream out, long n, boolean chunked) throws IOException {
    byte[] block = new byte[64 * 1024];
    for (long left = n; left > 0; ) {
      int len = (int) Math.min(block.length, left);
      if (chunked) {
        out.write(ascii(Integer.toHexString(len) + "\r\n"));
      }
      out.write(block, 0, len);
      if (chunked) {
        out.write(ascii("\r\n"));
      }
      left -= len;
    }
    if (chunked) {
      out.write(ascii("0\r\n\r\n"));
    }
  }

  @Order(1)
  @ParameterizedTest(name = "{index}: {0}")
  @MethodSource("rows")
  void hostileRequestGetsA4xxOrAClose(Row row) {
    int originBefore = originRequests().size();
    RawClient.Answer answer = RawClient.exchange(node.port(), row.head(), row.body(), READ_TIMEOUT,
        row.expect().mustClose());
    boolean allowed5xx = row.expect().statuses().contains(answer.status())
        || (row.expect().originAnswers() && fromOrigin(answer));
    if (!allowed5xx) {
      record(answer, row.name());
    }
    table.add(String.format("%-52s | %-26s | %s", row.name(), row.expect(), answer.summary()));

    assertTrue(answer.status() != RawClient.TIMED_OUT, () -> row + ": hung: " + answer.summary());
    Expect expect = row.expect();
    if (answer.status() == RawClient.CLOSED) {
      assertTrue(expect.closeOk(), () -> row + ": expected " + expect + ", the node closed: " + answer.summary());
    } else if (expect.originAnswers() && fromOrigin(answer)) {
      // Relayed: the origin's own status, whatever it is (WireMock answers OPTIONS * with its own 500).
      if (answer.status() >= 500) {
        relayed5xx.add(row.name() + " -> " + answer.summary());
      }
    } else {
      assertTrue(answer.status() < 500 || expect.statuses().contains(answer.status()),
          () -> row + ": a 5xx: " + answer.summary());
      assertTrue(expect.statuses().contains(answer.status()),
          () -> row + ": expected " + expect + ", got " + answer.summary());
      if (answer.status() == 200 && expect.goodOn200()) {
        assertArrayEquals(goodBody, answer.body(), () -> row + ": 200 without the exact bytes: " + answer.summary());
      }
      if (answer.status() == 200 && expect.originOk()) {
        assertTrue(fromOrigin(answer), () -> row + ": a 200 not from the origin: " + answer.summary());
      }
      if (expect.mustClose()) {
        assertTrue(answer.closedAfter(), () -> row + ": the connection must be closed after the answer: "
            + answer.summary());
      }
      assertEquals(-1, RawClient.indexOf(answer.trailing(), ascii("HTTP/1."), 0),
          () -> row + ": a second response on the connection: " + new String(answer.trailing(),
              StandardCharsets.ISO_8859_1));
    }
    String originSaw = checkOrigin(row, answer, originBefore);
    table.set(table.size() - 1, table.get(table.size() - 1) + " | origin: " + originSaw);

    RawClient.Answer after = good();
    assertEquals("HIT", after.header("X-Cache"), () -> row + ": afterwards " + after.summary());
  }

  /**
   * Checks what the origin received during {@code row} (nothing smuggled, nothing when the row
   * allows no origin contact, the row's own check) and empties its journal, which keeps bodies.
   * Returns a summary for the table.
   */
  private static String checkOrigin(Row row, RawClient.Answer answer, int before) {
    if (row.expect().streamed()) {
      // A streamed body may reach the origin after the client has its answer (or its close).
      awaitQuiet(before, READ_TIMEOUT);
    } else if (fromOrigin(answer)) {
      awaitQuiet(before, Duration.ofSeconds(1));
    }
    List<LoggedRequest> all = originRequests();
    List<LoggedRequest> seen = all.subList(before, all.size());
    String summary = seen.isEmpty() ? "-" : seen.stream()
        .map(r -> r.getMethod() + " " + r.getUrl() + (r.getBody().length > 0 ? " body " + r.getBody().length + " B" : ""))
        .collect(Collectors.joining(", "));
    origin.resetRequests();
    for (LoggedRequest request : seen) {
      assertTrue(!request.getUrl().contains("smuggled"), () -> row + ": the origin saw a smuggled request: "
          + request.getMethod() + " " + request.getUrl());
    }
    if (row.originCheck() != null) {
      row.originCheck().check(seen);
    }
    if (!row.expect().originOk()) {
      assertEquals(List.of(), seen, () -> row + ": the origin was contacted: " + summary);
    }
    return summary;
  }

  /**
   * Polls until the origin's journal has grown past {@code before} and then stopped growing for a
   * moment, or {@code timeout} passes: a request the node sends on may land after the client's answer.
   */
  private static void awaitQuiet(int before, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    int seen = -1;
    long stableSince = System.nanoTime();
    while (System.nanoTime() - deadline < 0) {
      int now = originRequests().size();
      if (now != seen) {
        seen = now;
        stableSince = System.nanoTime();
      } else if (now > before && System.nanoTime() - stableSince > TimeUnit.MILLISECONDS.toNanos(200)) {
        return;
      }
      sleepMillis(20); // a poll interval
    }
  }

  private static void sleepMillis(long millis) {
    try {
      TimeUnit.MILLISECONDS.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted", e);
    }
  }

  // ---- load ----

  @Order(2)
  @Test
  void slowlorisAndThousandsOfIdleConnectionsDoNotStopService() throws Exception {
    UnixOperatingSystemMXBean os = (UnixOperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    long fdMax = os.getMaxFileDescriptorCount();
    long fdOpen = os.getOpenFileDescriptorCount();
    int slow = 300;
    // Each loopback connection costs two descriptors in this JVM (client and node side); keep 1,000 spare.
    int idle = (int) Math.min(3_000, (fdMax - fdOpen - 1_000) / 2 - 2 * slow);
    assertTrue(idle >= 1_000, "fd limit " + fdMax + " leaves room for only " + idle + " idle connections");
    figures.add("fd limit " + fdMax + ", open before " + fdOpen + " -> idle connections " + idle
        + ", slowloris connections " + slow);

    Duration attack = Duration.ofSeconds(30);
    long start = System.nanoTime();
    List<Long> probeMillis = new ArrayList<>();
    try (ConnectionFlood flood = ConnectionFlood.start(node.port(), idle, slow, Duration.ofSeconds(1), attack,
        Duration.ofSeconds(15))) {
      figures.add("opened " + idle + " idle connections in "
          + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start) + " ms");
      long attackEnd = System.nanoTime() + attack.toNanos();
      int probe = 0;
      while (System.nanoTime() - attackEnd < 0) {
        probeMillis.add(good().millis());
        if (probe % 4 == 0) {
          probeMillis.add(probeMiss(probe).millis());
        }
        if (probe % 4 == 2) {
          probeMillis.add(peerGood().millis());
        }
        probe++;
        TimeUnit.MILLISECONDS.sleep(200); // probe rate, not a wait for an event
      }
      int stillOpen = flood.awaitEnd();
      // Afterwards, with the idle connections still held.
      probeMillis.add(good().millis());
      List<ConnectionFlood.Ended> ended = flood.ended();
      List<Long> lifetimes = ended.stream().map(ConnectionFlood.Ended::millis).sorted().toList();
      Map<String, Long> how = ended.stream().collect(Collectors.groupingBy(ConnectionFlood.Ended::how,
          Collectors.counting()));
      int idleClosed = flood.idleClosedByServer();
      figures.add("slowloris: " + ended.size() + " slow connections ended (" + how + "), lifetimes ms min "
          + lifetimes.get(0) + " median " + lifetimes.get(lifetimes.size() / 2) + " max "
          + lifetimes.get(lifetimes.size() - 1) + "; bytes sent per connection max "
          + ended.stream().mapToInt(ConnectionFlood.Ended::bytesSent).max().orElse(0)
          + "; still open after the grace period: " + stillOpen);
      figures.add("idle: " + flood.idleCount() + " held for " + TimeUnit.NANOSECONDS.toSeconds(
          System.nanoTime() - start) + " s, closed by the node meanwhile: " + idleClosed);
      figures.add("good requests during the flood: " + probeMillis.size() + ", slowest "
          + Collections.max(probeMillis) + " ms, median " + probeMillis.stream().sorted().toList()
          .get(probeMillis.size() / 2) + " ms");

      assertEquals(0, stillOpen, "slow connections the node never let go of");
      for (ConnectionFlood.Ended end : ended) {
        assertTrue(end.how().equals("closed") || end.how().matches("HTTP/1\\.1 4\\d\\d.*"),
            () -> "a slow connection ended with " + end);
      }
      // The node's parse timeout is 10 s: nothing may live much longer than that.
      assertTrue(lifetimes.get(lifetimes.size() - 1) < 15_000, "a slow connection lived " + lifetimes);
    }
  }

  // ---- afterwards ----

  @Order(3)
  @Test
  void afterwardsTheNodeServesExactBytesWithinItsMemoryAndNeverAnswered5xx() {
    RawClient.Answer good = good();
    assertEquals(200, good.status());

    origin.resetRequests(); // the test's origin keeps every request body it saw; the node's heap is the point
    long used = usedHeapAfterGc();
    long maxHeap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getMax();
    figures.add(String.format("heap used after GC: baseline %d MiB, at the end %d MiB (+%d MiB; bound +%d MiB),"
        + " max heap %d MiB", baselineHeap >> 20, used >> 20, (used - baselineHeap) >> 20, HEAP_SLACK >> 20,
        maxHeap >> 20));
    assertTrue(used - baselineHeap < HEAP_SLACK,
        "heap grew by " + ((used - baselineHeap) >> 20) + " MiB over the baseline");

    RawClient.Answer scrape = RawClient.exchange(node.port(),
        ascii("GET /_imgcache/metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"), READ_TIMEOUT);
    assertEquals(200, scrape.status(), scrape::summary);
    String metrics = new String(scrape.body(), StandardCharsets.UTF_8);
    double node5xx = metrics.lines()
        .filter(l -> l.startsWith("imgcache_requests_total") && l.contains("code=\"5xx\""))
        .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1)))
        .sum();
    figures.add("good requests slower than " + PROMPT.toMillis() + " ms (each retried promptly): " + slowAnswers);
    figures.add("5xx: node-made seen by clients " + fiveHundreds + "; the origin's own, relayed " + relayed5xx
        + "; counted by the node (imgcache_requests_total code=5xx) " + node5xx);
    assertEquals(relayed5xx.size(), (int) node5xx, "the node counted 5xx answers beyond the origin's own");
    assertEquals(List.of(), List.copyOf(fiveHundreds), "5xx answers seen");
  }

  // ---- known bugs ----

  /**
   * A chunked pass-through body that breaks off — the client goes away mid-chunk, or a chunk header
   * is malformed, or it passes the 64 MiB cap — must not reach the origin as a complete request with
   * its body cut short: the origin would act on half an upload. Today it does: Undertow's proxy ends
   * the origin request with a clean last chunk ({@code 04 BBBB 02 CC 0}) when reading the client's
   * body fails. Content-Length bodies are not affected (the origin sees a short body and a close).
   */
  @Order(4)
  @Test
  void aChunkedUploadCutShortNeverReachesTheOriginAsComplete() throws IOException {
    origin.resetRequests();
    try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), node.port())) {
      OutputStream out = socket.getOutputStream();
      out.write(ascii("POST /v2/upload/cut-short HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n"
          + "4\r\nBBBB\r\n10\r\nCC"));
      out.flush();
    }
    awaitQuiet(0, READ_TIMEOUT);
    assertEquals(List.of(), originRequests().stream().map(r -> r.getMethod() + " " + r.getUrl() + " body \""
        + r.getBodyAsString() + "\"").toList(), "requests the origin took as complete");
  }

  // ---- helpers ----

  /**
   * {@link OneNode#config} without system-property overrides: failsafe sets {@code -Dimgcache.jar},
   * which typesafe-config's default overrides would turn into the unknown key {@code imgcache.jar}.
   */
  private static ImgcacheConfig config(String originUrl) {
    Map<String, Object> settings = new HashMap<>();
    settings.put("imgcache.origin.url", originUrl);
    settings.put("imgcache.listen.host", "127.0.0.1");
    settings.put("imgcache.listen.port", 0);
    settings.put("imgcache.shutdown.deregister-wait", "0s"); // tests close many nodes
    settings.put("imgcache.self-url", "http://127.0.0.1:19999");
    settings.put("imgcache.shutdown.drain-timeout", "2s");
    settings.put("imgcache.peers.token", PEER_TOKEN);
    settings.put("imgcache.admin.token", ADMIN_TOKEN);
    return ImgcacheConfig.from(ConfigFactory.parseMap(settings)
        .withFallback(ConfigFactory.defaultReferenceUnresolved()).resolve());
  }

  private static List<LoggedRequest> originRequests() {
    return origin.findAll(WireMock.anyRequestedFor(WireMock.anyUrl()));
  }

  /** The good key over a fresh connection: 200, the exact bytes, within {@link #PROMPT}. */
  private static RawClient.Answer good() {
    return prompt("GET " + GOOD, () -> RawClient.exchange(node.port(),
        ascii("GET " + GOOD + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"), READ_TIMEOUT),
        goodBody);
  }

  /** A key not cached yet: a MISS loaded from the origin, within {@link #PROMPT}. */
  private static RawClient.Answer probeMiss(int n) {
    String target = "/v2/image/probe/" + n + "?w=10";
    return prompt("GET " + target, () -> RawClient.exchange(node.port(),
        ascii("GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"), READ_TIMEOUT),
        probeBody());
  }

  /** The good key over the peer protocol, with the token. */
  private static RawClient.Answer peerGood() {
    return prompt("peer GET " + GOOD_KEY, () -> RawClient.exchange(node.port(), ascii("GET " + peerPath(GOOD_KEY)
        + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + PEER_TOKEN + "\r\nConnection: close\r\n\r\n"),
        READ_TIMEOUT), goodBody);
  }

  /**
   * Sends a good request: it must be answered 200 with {@code expected}, within {@link #PROMPT}.
   * One slow answer is tolerated when the next attempt is prompt — the build host is shared (load
   * average well above its 2 CPUs during a full build) and the test and node share one JVM — but
   * every slow one is reported, and two in a row fail.
   */
  private static RawClient.Answer prompt(String what, Supplier<RawClient.Answer> send, byte[] expected) {
    RawClient.Answer answer = checkGood(what, send.get(), expected);
    if (answer.millis() >= PROMPT.toMillis()) {
      slowAnswers.add(what + " took " + answer.millis() + " ms");
      answer = checkGood(what, send.get(), expected);
      assertTrue(answer.millis() < PROMPT.toMillis(), what + " took " + answer.millis() + " ms, twice in a row");
    }
    return answer;
  }

  private static RawClient.Answer checkGood(String what, RawClient.Answer answer, byte[] expected) {
    record(answer, what);
    if (answer.status() != 200) {
      fail(what + ": " + answer.summary());
    }
    assertArrayEquals(expected, answer.body(), what + ": not the exact bytes");
    return answer;
  }

  /**
   * Whether an answer is the origin's own: WireMock's stubs mark theirs, and WireMock's Jetty answers
   * what it refuses with an HTML page — the node never answers HTML.
   */
  private static boolean fromOrigin(RawClient.Answer answer) {
    String type = answer.header("Content-Type");
    return "wiremock".equals(answer.header("X-Origin")) || (type != null && type.startsWith("text/html"));
  }

  private static byte[] probeBody() {
    return OneNode.randomBytes(99, 5_000);
  }

  private static void record(RawClient.Answer answer, String what) {
    if (answer.status() >= 500) {
      fiveHundreds.add(what + " -> " + answer.summary());
    }
  }

  private static long usedHeapAfterGc() {
    MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
    for (int i = 0; i < 3; i++) {
      memory.gc();
    }
    return memory.getHeapMemoryUsage().getUsed();
  }
}
