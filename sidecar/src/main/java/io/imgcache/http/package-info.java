/** The Undertow server of one node: front handler, admin endpoints, pass-through, lifecycle. */
package io.imgcache.http;
