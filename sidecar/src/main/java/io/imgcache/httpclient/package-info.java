/** An asynchronous HTTP/1.1 client over pooled keep-alive Undertow connections, shared by origin and peer calls. */
package io.imgcache.httpclient;
