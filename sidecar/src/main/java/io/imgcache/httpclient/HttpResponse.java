package io.imgcache.httpclient;

import java.util.List;

/**
 * A whole response: status, end-to-end headers (alternating name, value; hop-by-hop headers and
 * Content-Length removed) and the body. The body array belongs to the receiver.
 */
public record HttpResponse(int status, List<String> headers, byte[] body) {}
